"""Run-size switches shared by every notebook and CLI command.

Quick mode shrinks epochs and sample counts so that the whole test suite runs in minutes
on a 2-core CPU; full mode is what learners run. ``AUGKIT_QUICK=1`` sets only the default
(:func:`env_quick`); ``quick`` is a value passed to every function whose size depends on it.
Introduced in ``notebooks/00_start_here.ipynb``.
"""

from __future__ import annotations

import logging
import os
import sys

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

QUICK_ENV = "AUGKIT_QUICK"
DATA_ENV = "AUGKIT_DATA_DIR"
OFFLINE_ENV = "AUGKIT_OFFLINE"


def parse_bool(value, name: str) -> bool:
    """``True``/``False`` from a true/false word (1/true/yes/on, 0/false/no/off or empty).

    Anything else is a ``ValueError`` naming ``name``: ``AUGKIT_QUICK=ture`` must not
    silently mean "off" and start a run that takes an hour instead of a minute.
    """
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"{name}={value!r} is not a true/false word; use 1/true/yes/on or "
                     "0/false/no/off")


def env_quick() -> bool:
    """Quick mode as ``AUGKIT_QUICK`` asks for it: the *default* only.

    Read once, by a notebook's parameters cell and by the CLI; from there ``quick`` is
    passed on as an argument, so ``QUICK = True`` set by hand (or injected by papermill)
    reaches every size-dependent call.
    """
    return parse_bool(os.environ.get(QUICK_ENV, ""), QUICK_ENV)


def offline() -> bool:
    """True when ``AUGKIT_OFFLINE`` forbids network downloads (tests set it)."""
    return parse_bool(os.environ.get(OFFLINE_ENV, ""), OFFLINE_ENV)


def pin_data_dir() -> None:
    """Make a relative ``AUGKIT_DATA_DIR`` absolute, from the current directory.

    Notebook kernels start in ``notebooks/`` and inherit this process's environment, so
    ``AUGKIT_DATA_DIR=../shared/data`` given in the repository root would point elsewhere
    there. Called before a kernel starts (``augkit run``, the test suite's conftest).
    """
    folder = os.environ.get(DATA_ENV)
    if folder and not os.path.isabs(folder):
        os.environ[DATA_ENV] = os.path.abspath(folder)


def preset(full, quick_value, *, quick: bool):
    """Pick the full-mode or the quick-mode value of a setting.

    >>> preset(full=30, quick_value=1, quick=True)
    1
    """
    return quick_value if quick else full


def get_logger(name: str) -> logging.Logger:
    """A logger under ``augkit`` that prints ``augkit.<module>: message``.

    A teaching kit wants its data-resolution steps visible in a notebook, so the
    ``augkit`` logger gets handlers at INFO unless logging is already configured: routine
    INFO lines go to stdout (Jupyter paints stderr red, and "loading from ..." is not an
    error), warnings and errors to stderr, where they should stand out.
    """
    root = logging.getLogger("augkit")
    if not root.handlers and not logging.getLogger().handlers:
        fmt = logging.Formatter("%(name)s: %(message)s")
        info = logging.StreamHandler(sys.stdout)
        info.addFilter(lambda record: record.levelno < logging.WARNING)
        problems = logging.StreamHandler(sys.stderr)
        problems.setLevel(logging.WARNING)
        for handler in (info, problems):
            handler.setFormatter(fmt)
            root.addHandler(handler)
    if root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return logging.getLogger(f"augkit.{name}")

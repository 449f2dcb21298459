"""Run-size switches shared by every notebook and CLI command.

Quick mode (``AUGKIT_QUICK=1``) shrinks epochs and sample counts so that the whole
test suite runs in minutes on a 2-core CPU; full mode is what learners run.
Introduced in ``notebooks/00_start_here.ipynb``.
"""

from __future__ import annotations

import logging
import os
import sys

_TRUE = {"1", "true", "yes", "on"}

QUICK_ENV = "AUGKIT_QUICK"
DATA_ENV = "AUGKIT_DATA_DIR"
OFFLINE_ENV = "AUGKIT_OFFLINE"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def quick() -> bool:
    """True when ``AUGKIT_QUICK`` is set to 1/true/yes/on (read at call time)."""
    return _flag(QUICK_ENV)


def offline() -> bool:
    """True when ``AUGKIT_OFFLINE`` forbids network downloads (tests set it)."""
    return _flag(OFFLINE_ENV)


def pin_data_dir() -> None:
    """Make a relative ``AUGKIT_DATA_DIR`` absolute, from the current directory.

    Notebook kernels start in ``notebooks/`` and inherit this process's environment, so
    ``AUGKIT_DATA_DIR=../shared/data`` given in the repository root would point elsewhere
    there. Called before a kernel starts (``augkit run``, the test suite's conftest).
    """
    folder = os.environ.get(DATA_ENV)
    if folder and not os.path.isabs(folder):
        os.environ[DATA_ENV] = os.path.abspath(folder)


def preset(full, quick_value, *, is_quick: bool | None = None):
    """Pick the full-mode or the quick-mode value of a setting.

    >>> preset(full=30, quick_value=1, is_quick=True)
    1
    """
    return quick_value if (quick() if is_quick is None else is_quick) else full


def get_logger(name: str) -> logging.Logger:
    """A logger under ``augkit`` that prints ``augkit.<module>: message`` to stderr.

    A teaching kit wants its data-resolution steps visible in a notebook, so the
    ``augkit`` logger gets one stderr handler at INFO unless logging is already configured.
    """
    root = logging.getLogger("augkit")
    if not root.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        root.addHandler(handler)
    if root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return logging.getLogger(f"augkit.{name}")

"""Pytest set-up shared by the unit tests and the nbval notebook runs."""

import os
import sys
import tempfile

import matplotlib
import pytest

from augkit import config

# Test support that notebook kernels import too (tests/support: the blank-panel check).
SUPPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests", "support")
sys.path.insert(0, SUPPORT)

matplotlib.use("Agg")

# Notebook kernels start in notebooks/, so a relative AUGKIT_DATA_DIR such as
# ../shared/data (relative to the repository root) is made absolute before nbval
# starts them; kernels inherit this process's environment.
config.pin_data_dir()

# Models that tests and notebook retrain cells write go to a throw-away folder, never into
# the project's runs/models (or the package): kernels inherit this too.
_models = os.environ.setdefault("AUGKIT_MODELS_DIR", tempfile.mkdtemp(prefix="augkit-test-models-"))
# The two test workers (pytest-xdist) get a folder each: a model a notebook trains in quick
# mode on one worker must not replace a shipped model that a test on the other measures.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["AUGKIT_MODELS_DIR"] = os.path.join(_models, os.environ["PYTEST_XDIST_WORKER"])

# Every notebook kernel checks each figure it renders for blank image panels
# (tests/support/figcheck.py): an IPython start-up file installs the check, the kernel logs what
# it finds, and the hook below fails the cell that drew it. Kernels inherit IPYTHONDIR.
_FIGURE_LOG = os.path.join(tempfile.mkdtemp(prefix="augkit-figcheck-"), "blank-panels.jsonl")
os.environ["AUGKIT_FIGURE_LOG"] = _FIGURE_LOG
_ipython_dir = tempfile.mkdtemp(prefix="augkit-ipython-")
os.makedirs(os.path.join(_ipython_dir, "profile_default", "startup"))
with open(os.path.join(_ipython_dir, "profile_default", "startup", "00-augkit-figcheck.py"),
          "w", encoding="utf-8") as _f:
    _f.write(f"import sys\nsys.path.insert(0, {SUPPORT!r})\nimport figcheck\nfigcheck.install()\n")
os.environ["IPYTHONDIR"] = _ipython_dir


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    import figcheck

    start = os.path.getsize(_FIGURE_LOG) if os.path.exists(_FIGURE_LOG) else 0
    result = yield
    problems, _ = figcheck.read_log(_FIGURE_LOG, start)  # only notebook kernels write it
    if problems:
        raise AssertionError("blank figure panels (tests/support/figcheck.py): " + "; ".join(problems))
    return result

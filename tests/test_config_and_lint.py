"""Quick-mode switch, and ruff over the whole repository."""

import subprocess
import sys
from pathlib import Path

import pytest

from augkit import config

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("ON", True),
                                             ("0", False), ("", False), ("no", False)])
def test_quick_flag(monkeypatch, value, expected):
    monkeypatch.setenv("AUGKIT_QUICK", value)
    assert config.quick() is expected
    assert config.preset(full=30, quick_value=1) == (1 if expected else 30)


def test_ruff_is_clean():
    res = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr

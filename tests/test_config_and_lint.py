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
    assert config.env_quick() is expected
    assert config.preset(full=30, quick_value=1, quick=expected) == (1 if expected else 30)


@pytest.mark.parametrize("value", ["ture", "2", "quick", "y e s"])
def test_unrecognised_quick_word_is_an_error_not_off(monkeypatch, value):
    monkeypatch.setenv("AUGKIT_QUICK", value)
    with pytest.raises(ValueError, match="AUGKIT_QUICK.*not a true/false word"):
        config.env_quick()


def test_cli_reports_a_bad_quick_word_in_one_line(monkeypatch, capsys):
    from augkit import cli

    monkeypatch.setenv("AUGKIT_QUICK", "ture")
    assert cli.main(["info"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "AUGKIT_QUICK='ture'" in err


def test_ruff_is_clean():
    res = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr

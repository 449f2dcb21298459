"""The README's two commands are the ones CI and users run."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks():
    return re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)


def test_ci_runs_exactly_the_readme_test_command():
    test_cmd = next(b for b in _bash_blocks() if "pytest" in b).strip()
    ci_lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_cmd in ci_lines


def test_main_command_runs_the_quick_study():
    """The README's first command is the quick study (tests/test_study.py runs that preset
    end to end through the same CLI)."""
    main_cmd = _bash_blocks()[0]
    assert main_cmd.strip().endswith(".venv/bin/augkit study --preset quick")
    assert "pip install -e ." in main_cmd


def test_every_notebook_is_listed_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert f"`{nb.stem}`" in readme, nb.name

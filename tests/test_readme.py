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


def test_main_command_uses_existing_cli_and_notebook():
    main_cmd = _bash_blocks()[0]
    assert "augkit info" in main_cmd and "augkit run 00" in main_cmd
    assert (ROOT / "notebooks" / "00_start_here.ipynb").is_file()


def test_every_notebook_is_listed_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert f"`{nb.stem}`" in readme, nb.name

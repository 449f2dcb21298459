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


def test_ci_requires_the_browser_tests_and_installs_chromium():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "export AUGKIT_BROWSER=required" in ci
    assert "apt-get install -y -qq chromium" in ci
    assert '".[dev,browser]"' in ci


def _browser_session(tmp_path, **env):
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if k != "AUGKIT_BROWSER"}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
         "tests/browser/test_browser_explore.py::test_start_page_links_every_explorer",
         f"--basetemp={tmp_path / 'pt'}"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)


def test_a_missing_browser_fails_when_required_and_skips_otherwise(tmp_path):
    """CI must not go green by skipping the browser tests on a machine without Chromium."""
    required = _browser_session(tmp_path, AUGKIT_BROWSER="required",
                                AUGKIT_CHROMIUM=str(tmp_path / "no-chromium"))
    assert required.returncode == 1, required.stdout[-2000:]
    assert "no Chromium found" in required.stdout and "AUGKIT_BROWSER=required" in required.stdout
    optional = _browser_session(tmp_path, AUGKIT_CHROMIUM=str(tmp_path / "no-chromium"))
    assert optional.returncode == 0 and "1 skipped" in optional.stdout, optional.stdout[-2000:]
    off = _browser_session(tmp_path, AUGKIT_BROWSER="off")
    assert off.returncode == 0 and "1 skipped" in off.stdout, off.stdout[-2000:]

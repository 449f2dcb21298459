"""One-line messages for the command line's faults: a missing or corrupt notebook, a cell past
its time limit or interrupted, a negative seed, a data set too small, a study without presets."""

import os
import shlex
import signal
import subprocess
import sys
import time

import nbformat
import numpy as np
import pytest

from augkit import cli, data


def _write(path, *sources):
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources]),
                   path)
    return path


def test_a_missing_absolute_notebook_path_is_named(tmp_path, capsys):
    missing = tmp_path / "missing.ipynb"
    assert cli.main(["run", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"augkit run: error: no such notebook: {missing}\n"


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"cells": 3}'])
def test_a_corrupt_notebook_is_named(tmp_path, capsys, text):
    bad = tmp_path / "broken.ipynb"
    bad.write_text(text)
    assert cli.main(["run", str(bad), "--out-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "not a valid notebook" in err and err.count("\n") == 1
    assert not (tmp_path / "out" / "broken.ipynb").exists()


def test_a_cell_past_its_timeout_is_one_line_without_the_kernels_traceback(tmp_path, capfd):
    """The kernel's own stderr (its zmq traceback when it is shut down mid-cell) is not ours
    to show; the learner gets the notebook, the cell and the limit."""
    nb = _write(tmp_path / "slow.ipynb", "x = 1", "import time\ntime.sleep(30)", "y = 2")
    assert cli.main(["run", str(nb), "--timeout", "1", "--out-dir", str(tmp_path / "out")]) == 2
    err = capfd.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert "slow.ipynb" in err and "cell 2" in err and "timeout of 1 s" in err
    assert not (tmp_path / "out" / "slow.ipynb").exists()  # no partial copy left behind


def test_ctrl_c_during_a_run_is_one_line_naming_the_cell(tmp_path):
    """Ctrl-C reaches the whole process group (the command and its kernel), as in a terminal."""
    nb = _write(tmp_path / "long.ipynb", "x = 1",
                "import time\nopen('started', 'w').close()\ntime.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-m", "augkit.cli", "run", str(nb),
                             "--out-dir", str(tmp_path / "out")], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not (tmp_path / "started").exists() and time.time() < deadline:
            time.sleep(0.2)
        assert (tmp_path / "started").exists(), "the kernel never reached the cell"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert "long.ipynb" in err and "cell 2" in err and "interrupted" in err
    assert not (tmp_path / "out" / "long.ipynb").exists()


@pytest.mark.parametrize("argv", [["train", "gan", "--epochs", "0"],
                                  ["sample", "--model", "nope", "--n", "1", "--out", "x.npz"]])
def test_a_negative_seed_names_the_option(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([*argv, "--seed", "-1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "must be >= 0, got -1" in err


def test_a_data_set_too_small_says_what_it_has_and_what_was_asked():
    y = np.repeat(np.arange(10), 5)
    y[:2] = 1  # class 0 keeps 3 images
    with pytest.raises(ValueError) as exc:
        data.stratified_indices(y, 204)
    text = str(exc.value)
    assert "3 images of class 0" in text and "204 per class" in text
    assert "n_per_class" not in text  # a parameter name the learner never set


def test_study_offers_only_datasets_with_presets(capsys):
    from augkit.study import PRESETS

    with pytest.raises(SystemExit):
        cli.main(["study", "--dataset", "fashion_mnist"])
    assert "invalid choice: 'fashion_mnist'" in capsys.readouterr().err
    study = cli.build_parser()._subparsers._group_actions[0].choices["study"]
    choices = next(a.choices for a in study._actions if a.dest == "dataset")
    assert sorted(choices) == sorted({d for d, _ in PRESETS})


def test_the_browser_hint_quotes_the_report_path(tmp_path, monkeypatch, capsys):
    from augkit import study

    report = tmp_path / "my study" / "report.html"
    monkeypatch.setattr(study, "run_study", lambda *a, **k: {
        "done": 1, "total": 1, "new": 0, "results": tmp_path / "r.jsonl"})
    monkeypatch.setattr(study, "write_study_report", lambda out: {
        "html": report, "markdown": tmp_path / "s.md"})
    assert cli.main(["study", "--out", str(tmp_path)]) == 0
    assert f"python -m webbrowser {shlex.quote(str(report))}" in capsys.readouterr().out

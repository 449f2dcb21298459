"""Faults of ``augkit models`` and ``augkit sample``: broken manifests, a file named as the
models folder, huge requests, two runs onto one --out, killed runs."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from augkit import cli, data, files, zoo

ROOT = Path(__file__).resolve().parent.parent
ARRAYS = {"x": ((6, 2), np.uint8), "y": ((6,), np.int64)}
FAKE = {"kind": "gan", "dataset": "mnist", "file": "fake.weights.h5", "sha256": "0" * 64,
        "conditional": True}


class FakeGAN:
    """Stands in for a conditional MNIST GAN: black images, no TensorFlow."""

    conditional, num_classes, latent_dim = True, 10, 4

    def generate(self, z, labels):
        return -np.ones((len(z), 28, 28, 1), np.float32)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A model ``fake`` in your models folder, sampled by :class:`FakeGAN`."""
    mine = tmp_path / "mine"
    files.write_json(mine / "manifest.json", {"fake": FAKE})
    monkeypatch.setenv("AUGKIT_MODELS_DIR", str(mine))
    monkeypatch.setattr(zoo, "load_generator_model", lambda name: FakeGAN())
    return mine


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def _env():
    env = {k: v for k, v in os.environ.items() if k != "AUGKIT_QUICK"}
    env.update(PYTHONPATH=str(ROOT))
    return env


# --------------------------------------------------------------------------- manifests

def test_a_missing_shipped_manifest_is_a_broken_installation(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path / "weights")
    (tmp_path / "weights").mkdir()
    monkeypatch.setenv("AUGKIT_MODELS_DIR", str(tmp_path / "mine"))
    assert cli.main(["models"]) == 2
    err = _one_line_error(capsys)
    assert "broken" in err and "manifest.json" in err and "reinstall" in err


@pytest.mark.parametrize("bad, missing", [
    ({k: v for k, v in FAKE.items() if k != "kind"}, "kind"),
    ({k: v for k, v in FAKE.items() if k != "dataset"}, "dataset"),
    ({k: v for k, v in FAKE.items() if k != "sha256"}, "sha256"),
    ("not an entry", "not an object"),
])
def test_a_manifest_entry_without_a_required_key_is_named(bad, missing, tmp_path, monkeypatch, capsys):
    mine = tmp_path / "mine"
    files.write_json(mine / "manifest.json", {"good": FAKE, "broken_one": bad})
    monkeypatch.setenv("AUGKIT_MODELS_DIR", str(mine))
    with pytest.raises(ValueError, match=missing):
        zoo.manifest(mine)
    for argv in (["models"], ["sample", "--model", "good", "--n", "2",
                              "--out", str(tmp_path / "s.npz")]):
        assert cli.main(argv) == 2
        err = _one_line_error(capsys)
        assert str(mine / "manifest.json") in err and "'broken_one'" in err and missing in err


def test_a_models_dir_that_is_a_file_is_refused(tmp_path, monkeypatch, capsys):
    not_a_folder = tmp_path / "models.txt"
    not_a_folder.write_text("x")
    monkeypatch.setenv("AUGKIT_MODELS_DIR", str(not_a_folder))
    with pytest.raises(NotADirectoryError, match="AUGKIT_MODELS_DIR"):
        zoo.user_dir()
    assert cli.main(["models"]) == 2
    err = _one_line_error(capsys)
    assert "AUGKIT_MODELS_DIR" in err and "not a folder" in err


# --------------------------------------------------------------------------- huge requests

def test_labels_are_streamed_chunk_by_chunk(fake, tmp_path, monkeypatch):
    writes, asked = [], []
    write, class_labels = files.NpzStreamWriter.write, data.class_labels

    def spy_write(self, key, rows):
        writes.append((key, len(rows)))
        return write(self, key, rows)

    def spy_labels(n, *args, **kwargs):
        asked.append(n)
        return class_labels(n, *args, **kwargs)

    monkeypatch.setattr(files.NpzStreamWriter, "write", spy_write)
    monkeypatch.setattr(data, "class_labels", spy_labels)
    for label, want in ((None, np.arange(23) % 10), (7, np.full(23, 7))):
        writes.clear()
        out = tmp_path / f"s{label}.npz"
        assert zoo.sample_to_file("fake", 23, label, 0, out, chunk=10) == ((23, 28, 28, 1), (23,))
        with np.load(out) as f:
            assert f["x"].shape == (23, 28, 28, 1) and f["y"].tolist() == want.tolist()
        assert {k for k, _ in writes} == {"x", "y"} and max(n for _, n in writes) <= 10
    assert max(asked, default=0) <= 10


def test_a_huge_n_is_refused_before_anything_is_allocated(fake, tmp_path, monkeypatch, capsys):
    def never(*args, **kwargs):
        raise AssertionError("allocated before refusing")

    monkeypatch.setattr(zoo, "load_generator_model", never)
    monkeypatch.setattr(data, "class_labels", never)
    out = tmp_path / "huge.npz"
    assert cli.main(["sample", "--model", "fake", "--n", "1000000000", "--out", str(out)]) == 2
    err = _one_line_error(capsys)
    assert "--n" in err and f"{zoo.MAX_SAMPLES:,}" in err
    with pytest.raises(ValueError, match="at most"):
        zoo.sample_to_file("fake", zoo.MAX_SAMPLES + 1, None, 0, out)
    assert list(tmp_path.iterdir()) == [fake]


# --------------------------------------------------------------------------- one --out, two runs

def test_a_second_writer_on_the_same_new_path_fails(tmp_path):
    path = tmp_path / "x.npz"
    first = files.NpzStreamWriter(path, ARRAYS)
    with pytest.raises(FileExistsError, match="exists"):  # replacing needs no other writer either
        files.NpzStreamWriter(path, ARRAYS)
    with pytest.raises(FileExistsError, match="exists"):
        files.NpzStreamWriter(path, ARRAYS, overwrite=False)
    with first as w:
        w.write("x", np.ones((6, 2), np.uint8))
        w.write("y", np.arange(6))
    with pytest.raises(FileExistsError, match="exists"):
        files.NpzStreamWriter(path, ARRAYS, overwrite=False)
    with np.load(path) as f:
        assert f["y"].tolist() == list(range(6))
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]


def test_an_exclusive_writer_never_replaces_a_file_that_appeared_meanwhile(tmp_path):
    path = tmp_path / "x.npz"
    w = files.NpzStreamWriter(path, ARRAYS, overwrite=False)
    w.write("x", np.ones((6, 2), np.uint8))
    w.write("y", np.arange(6))
    path.write_bytes(b"theirs")
    with pytest.raises(FileExistsError, match="exists"):
        w.close()
    assert path.read_bytes() == b"theirs" and [p.name for p in tmp_path.iterdir()] == ["x.npz"]


def test_sample_onto_an_out_another_run_is_writing_fails(fake, tmp_path, capsys):
    out = tmp_path / "s.npz"
    other = files.NpzStreamWriter(out, ARRAYS)
    try:
        assert cli.main(["sample", "--model", "fake", "--n", "5", "--out", str(out)]) == 2
        assert f"--out {out} exists" in _one_line_error(capsys)
        assert "wrote" not in capsys.readouterr().out
    finally:
        other.abort()
    assert cli.main(["sample", "--model", "fake", "--n", "5", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out


# --------------------------------------------------------------------------- killed runs

_WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from augkit import files
    w = files.NpzStreamWriter(sys.argv[1], {"x": ((6, 2), np.uint8), "y": ((6,), np.int64)})
    w.write("x", np.ones((3, 2), np.uint8))
    print("ready", flush=True)
    time.sleep(120)
""")

_SAMPLER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from augkit import cli, zoo

    class Slow:
        conditional, num_classes, latent_dim = True, 10, 4

        def generate(self, z, labels):
            print("ready", flush=True)
            time.sleep(120)

    zoo.load_generator_model = lambda name: Slow()
    sys.exit(cli.main(["sample", "--model", "fake", "--n", "50", "--out", sys.argv[1]]))
""")


def _start(tmp_path, script, out, **env):
    (tmp_path / "script.py").write_text(script)
    proc = subprocess.Popen([sys.executable, str(tmp_path / "script.py"), str(out)],
                            env={**_env(), **env}, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_a_killed_writer_does_not_block_the_next_run_nor_leave_its_part_file(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "x.npz"
    proc = _start(tmp_path, _WRITER, out)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert len(list(out_dir.iterdir())) == 1  # the dead writer's part file, nothing at out
    with files.NpzStreamWriter(out, ARRAYS) as w:
        w.write("x", np.zeros((6, 2), np.uint8))
        w.write("y", np.arange(6))
    assert [p.name for p in out_dir.iterdir()] == ["x.npz"]


def test_sigterm_during_sample_removes_the_part_file(fake, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = _start(tmp_path, _SAMPLER, out_dir / "s.npz", AUGKIT_MODELS_DIR=str(fake))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    assert list(out_dir.iterdir()) == []
    assert json.loads((fake / "manifest.json").read_text()) == {"fake": FAKE}

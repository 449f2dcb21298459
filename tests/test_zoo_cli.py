"""Shipped weights (hashes, metrics) and the train / models / sample commands."""

import json

import numpy as np
import pytest

from augkit import cli, metrics, zoo

SHIPPED = zoo.manifest()


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_weights_match_their_hashes(name):
    assert zoo.verify(name)
    assert "augkit train" in SHIPPED[name]["command"] and SHIPPED[name]["train_seconds"] > 0
    assert not SHIPPED[name]["quick"]


@pytest.mark.parametrize("name", [n for n in sorted(SHIPPED) if SHIPPED[n]["kind"] == "classifier"])
def test_domain_classifiers_reach_their_manifest_accuracy(name, shared_data):
    from augkit import data

    dataset = SHIPPED[name]["dataset"]
    _, (xt, yt) = data.load(dataset, shared_data)
    _, pred = metrics.features_and_predictions(dataset, xt)
    acc = float(np.mean(pred == yt))
    assert acc == pytest.approx(SHIPPED[name]["metrics"]["test_accuracy"], abs=0.002)


@pytest.mark.parametrize("name", [n for n in sorted(SHIPPED) if SHIPPED[n]["kind"] == "gan"])
def test_shipped_gans_reach_their_manifest_metrics(name, shared_data):
    from augkit import data, train

    _, (xt, _) = data.load(SHIPPED[name]["dataset"], shared_data)
    model = zoo.load_generator_model(name)
    got = train.evaluate_generator(model, SHIPPED[name]["dataset"], xt, n=5000, seed=0)
    want = SHIPPED[name]["metrics"]
    assert got["domain_fid"] == pytest.approx(want["domain_fid"], rel=0.02)
    if "label_consistency" in want:
        assert got["label_consistency"] == pytest.approx(want["label_consistency"], abs=0.005)


def test_domain_fid_is_zero_for_identical_sets_and_grows_with_noise(shared_data):
    from augkit import data

    _, (xt, _) = data.load("mnist", shared_data)
    ref, other = xt[:2000], xt[2000:4000]
    assert metrics.domain_fid("mnist", ref, ref) == pytest.approx(0.0, abs=1e-6)
    rng = np.random.default_rng(0)
    fids = [metrics.domain_fid("mnist", np.clip(other + rng.normal(0, s, other.shape), 0, 255)
                               .astype(np.uint8), ref) for s in (0, 16, 48, 96)]
    assert fids == sorted(fids) and fids[0] < fids[-1] / 5


def test_models_lists_the_manifest(capsys):
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    for name in SHIPPED:
        assert name in out


def test_sample_writes_npz(tmp_path, capsys):
    out = tmp_path / "synthetic.npz"
    assert cli.main(["sample", "--model", "cgan_mnist", "--n", "25", "--label", "3", "--seed", "1",
                     "--out", str(out)]) == 0
    with np.load(out) as f:
        assert f["x"].shape == (25, 28, 28, 1) and f["x"].dtype == np.uint8
        assert (f["y"] == 3).all()
    again = tmp_path / "again.npz"
    cli.main(["sample", "--model", "cgan_mnist", "--n", "25", "--label", "3", "--seed", "1",
              "--out", str(again)])
    assert np.array_equal(np.load(out)["x"], np.load(again)["x"])


@pytest.mark.parametrize("argv, message", [
    (["--model", "nope", "--n", "3"], "unknown model 'nope'"),
    (["--model", "cgan_mnist", "--n", "0"], "--n must be positive"),
    (["--model", "cgan_mnist", "--n", "3", "--label", "12"], "--label must be a class in 0..9"),
    (["--model", "cgan_mnist", "--n", "3", "--out", "/nonexistent/dir/x.npz"], "not writable"),
    (["--model", "cgan_mnist", "--n", "3", "--out", "x.txt"], "must end in .npz"),
])
def test_sample_bad_arguments_are_one_line(argv, message, capsys, tmp_path):
    if "--out" not in argv:
        argv = [*argv, "--out", str(tmp_path / "x.npz")]
    assert cli.main(["sample", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_train_gan_quick_writes_weights_history_and_manifest(tmp_path, shared_data, monkeypatch, capsys):
    monkeypatch.setenv("AUGKIT_QUICK", "1")
    assert cli.main(["train", "gan", "--dataset", "mnist", "--conditional", "--name", "tiny",
                     "--data-dir", str(shared_data), "--out-dir", str(tmp_path)]) == 0
    entry = json.loads((tmp_path / "manifest.json").read_text())["tiny"]
    assert entry["quick"] and entry["conditional"] and (tmp_path / "tiny.weights.h5").is_file()
    assert 0.0 <= entry["metrics"]["label_consistency"] <= 1.0
    with np.load(tmp_path / "tiny.history.npz") as f:
        assert f["frames"].shape[0] == 1 and len(f["steps"]) >= 1
    assert "saved" in capsys.readouterr().out


def test_train_bad_arguments(capsys):
    assert cli.main(["train", "gan", "--epochs", "0"]) == 2
    assert "must be positive" in capsys.readouterr().err
    assert cli.main(["train", "gan", "--loss", "nonsense", "--out-dir", "/tmp/augkit-x"]) == 2
    assert "unknown GAN loss" in capsys.readouterr().err

"""Mode collapse and its remedies (notebook 04 §4): the minibatch-std layer, the histogram
distances, the experiment's command end to end, and the shipped table's integrity."""

import numpy as np
import pytest

from augkit import collapse, metrics, nets, stats


def test_minibatch_std_appends_the_mean_spread_across_the_batch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5)).astype(np.float32)
    out = np.asarray(nets.MinibatchStdDev()(x))
    assert out.shape == (8, 6)
    np.testing.assert_allclose(out[:, :5], x)
    np.testing.assert_allclose(out[:, 5], np.sqrt(x.var(axis=0) + 1e-8).mean(), rtol=1e-5)
    # A collapsed batch (every example the same) has no spread: D sees it at once.
    same = np.asarray(nets.MinibatchStdDev()(np.repeat(x[:1], 8, axis=0)))
    assert np.allclose(same[:, 5], 1e-4, atol=1e-5)


def test_discriminator_with_minibatch_std_saves_and_loads(tmp_path):
    d = nets.build_discriminator((28, 28, 1), width=8, minibatch_std=True)
    assert "minibatch_std" in [layer.name for layer in d.layers]
    x = np.random.default_rng(1).uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
    path = tmp_path / "d.weights.h5"
    d.save_weights(path)
    again = nets.build_discriminator((28, 28, 1), width=8, minibatch_std=True)
    again.load_weights(path)
    np.testing.assert_allclose(again(x, training=False), d(x, training=False), rtol=1e-5)


def test_total_variation_known_answers():
    u = np.full(10, 0.1)
    assert metrics.total_variation(u, u) == 0.0
    assert metrics.total_variation([1, 0], [0, 1]) == 1.0
    assert collapse.tv_to_uniform(np.eye(10)[3]) == pytest.approx(0.9)  # one class only
    assert collapse.tv_to_uniform([0.2, 0.2, 0.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.0]) == \
        pytest.approx(0.2)
    with pytest.raises(ValueError, match="different lengths"):
        metrics.total_variation([0.5, 0.5], [1.0, 0.0, 0.0])


def test_confusion_counts_and_its_largest_off_diagonal_cells():
    labels = [4, 4, 4, 9, 9, 1, 7]
    read_as = [9, 9, 4, 9, 4, 1, 1]
    m = metrics.confusion(labels, read_as, 10)
    assert m.sum() == 7 and m[4, 9] == 2 and m[9, 4] == 1 and m[4, 4] == 1
    top = metrics.top_confusions(m, 2)
    assert top[0] == (2, 4, 9) and top[1][0] == 1


def test_error_bars_are_distances_to_the_interval_ends_in_points():
    a = stats.Interval(0.5, 0.4, 0.7, 5)
    b = stats.Interval(-0.01, -0.03, 0.0, 5)
    np.testing.assert_allclose(stats.error_bars([a, b]), [[10, 2], [20, 1]], atol=1e-9)
    assert stats.error_bars([]).shape == (2, 0)


def test_unknown_setting_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown setting 'nope'.*collapse, conditional"):
        collapse.train_setting("nope", None, None, steps=1)


def test_the_experiment_runs_end_to_end_and_writes_table_and_pictures(tmp_path, shared_data):
    out = tmp_path / "mc.json"
    assert collapse.main(["--steps", "2", "--seeds", "0", "--data-dir", str(shared_data),
                          "--out", str(out)]) == 0
    import json

    table = json.loads(out.read_text())
    assert [r["setting"] for r in table["rows"]] == list(collapse.SETTINGS)
    for r in table["rows"]:
        assert r["tv"] == pytest.approx(collapse.tv_to_uniform(r["histogram"]), abs=1e-3)
        assert 0 <= r["rare_classes"] <= 10 and r["seconds"] > 0
    with np.load(out.with_suffix(".samples.npz")) as f:
        assert sorted(f.files) == sorted(collapse.SETTINGS)
        assert all(f[k].shape == (40, 28, 28, 1) and f[k].dtype == np.uint8 for k in f.files)
    assert table["command"].startswith("python -m augkit.collapse --steps 2")


def test_shipped_table_is_whole_and_its_distances_follow_from_its_histograms():
    table, pictures = collapse.load_shipped()
    assert table["command"].startswith("python -m augkit.collapse")
    assert table["steps"] >= 1000 and len(table["seeds"]) >= 3
    cells = {(r["setting"], r["seed"]) for r in table["rows"]}
    assert cells == {(k, s) for k in collapse.SETTINGS for s in table["seeds"]}
    for r in table["rows"]:
        assert sum(r["histogram"]) == pytest.approx(1.0, abs=2e-3)
        assert r["tv"] == pytest.approx(collapse.tv_to_uniform(r["histogram"]), abs=1e-3)
    assert sorted(pictures) == sorted(collapse.SETTINGS)
    fig = collapse.plot(table, floor=0.01)
    assert len(fig.axes[0].patches) == len(collapse.SETTINGS)

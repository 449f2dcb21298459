"""augkit.classify: the shared small CNN, budgets and the accuracy grid."""

import numpy as np
import pytest

from augkit import augment, classify, data


@pytest.fixture(scope="module")
def digits():
    # A learnable toy task: class c is a bright square at position c.
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 20).astype(np.uint8)
    x = rng.integers(0, 40, (200, 28, 28)).astype(np.uint8)
    for i, c in enumerate(y):
        r, col = divmod(int(c), 5)
        x[i, 4 + 10 * r: 10 + 10 * r, 2 + 5 * col: 6 + 5 * col] = 255
    return x, y


def test_classifier_shapes_and_seeded_init():
    a = classify.build_classifier((28, 28), 10, seed=1)
    b = classify.build_classifier((28, 28), 10, seed=1)
    assert a.output_shape == (None, 10) and a.input_shape == (None, 28, 28, 1)
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights(), strict=True))
    assert classify.build_classifier((32, 32, 3), 10).count_params() < 60_000


# The default network as shipped: the domain classifiers' weights (augkit/zoo.py) load into
# exactly this layer list, so adding recipe options must not change it.
_DEFAULT_LAYERS = ["InputLayer", "Rescaling", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D",
                   "Conv2D", "MaxPooling2D", "GlobalAveragePooling2D", "Dropout", "Dense", "Dense"]


@pytest.mark.parametrize("shape,width,params", [((28, 28), 16, 32_906), ((32, 32, 3), 32, 128_842)])
def test_default_architecture_unchanged(shape, width, params):
    m = classify.build_classifier(shape, 10, width=width)
    assert [type(layer).__name__ for layer in m.layers] == _DEFAULT_LAYERS
    assert m.count_params() == params
    convs = [layer for layer in m.layers if type(layer).__name__ == "Conv2D"]
    assert all(c.use_bias and c.activation.__name__ == "relu" for c in convs)


def test_batch_norm_option():
    m = classify.build_classifier((28, 28), 10, batch_norm=True)
    names = [type(layer).__name__ for layer in m.layers]
    assert names.count("BatchNormalization") == 3
    assert not any(layer.use_bias for layer in m.layers if type(layer).__name__ == "Conv2D")


def test_depth_stacks_convolutions_per_block():
    m = classify.build_classifier((32, 32, 3), 10, width=8, batch_norm=True, depth=2)
    names = [type(layer).__name__ for layer in m.layers]
    assert names.count("Conv2D") == 6 and names.count("BatchNormalization") == 6
    assert names.count("MaxPooling2D") == 3 and m.output_shape == (None, 10)
    with pytest.raises(ValueError, match="depth"):
        classify.build_classifier((28, 28), 10, depth=0)


def test_cosine_schedule_warms_up_then_decays():
    lr = classify.Budget(steps=100, lr=1e-2, schedule="cosine", warmup=0.1).learning_rate()
    assert float(lr(0)) == pytest.approx(1e-3)
    assert float(lr(10)) == pytest.approx(1e-2)
    assert float(lr(55)) == pytest.approx(5e-3, rel=1e-3)
    assert float(lr(100)) == pytest.approx(0.0, abs=1e-9)
    assert classify.Budget(steps=5).learning_rate() == 1e-3
    with pytest.raises(ValueError, match="schedule"):
        classify.Budget(steps=5, schedule="step").learning_rate()


def test_train_classifier_applies_the_recipe(digits):
    x, y = digits
    budget = classify.Budget(steps=20, lr=3e-3, schedule="cosine", warmup=0.1, batch_norm=True)
    res = classify.train_classifier(x, y, x[:50], y[:50], budget=budget)
    model = res["model"]
    assert any(type(layer).__name__ == "BatchNormalization" for layer in model.layers)
    # After the last step the cosine has brought the learning rate to (nearly) zero.
    assert int(model.optimizer.iterations) == 20
    assert float(model.optimizer.learning_rate) < 3e-3 / 100


def test_training_learns_a_simple_task(digits):
    x, y = digits
    res = classify.train_classifier(x, y, x, y, budget=classify.Budget(steps=60, lr=3e-3),
                                    augmenter=augment.Augmenter(augment.AugmentConfig(noise=0.02)),
                                    eval_every=30)
    assert res["test_acc"] > 0.5 and [s for s, _ in res["history"]] == [30, 60]


def test_budget_quick_and_full(monkeypatch):
    # quick is a value passed in: the environment does not override it either way.
    monkeypatch.setenv("AUGKIT_QUICK", "0")
    assert classify.budget_for("mnist", quick=True) == classify.QUICK_BUDGET
    # Quick mode (what CI runs) stays the short plain budget.
    assert classify.QUICK_BUDGET == classify.Budget(steps=80, lr=2e-3)
    assert classify.QUICK_BUDGET.schedule == "constant" and not classify.QUICK_BUDGET.batch_norm
    monkeypatch.setenv("AUGKIT_QUICK", "1")
    full = {name: classify.budget_for(name, quick=False) for name in ("mnist", "cifar10")}
    assert full["cifar10"].steps > full["mnist"].steps > 100
    # The tuned recipe is what the standard budget carries, for every dataset.
    for b in full.values():
        assert {k: getattr(b, k) for k in classify.STANDARD_RECIPE} == classify.STANDARD_RECIPE


def test_accuracy_grid_rows_and_summary(digits):
    x, y = digits
    rows = classify.accuracy_grid("mnist", x, y, x[:50], y[:50], sizes=[3], strengths=[0.0, 1.0],
                                  seeds=[0, 1], budget=classify.Budget(steps=5), progress=False,
                                  mixer_method="mixup")
    assert [(r["n_per_class"], r["strength"], r["seed"]) for r in rows] == [
        (3, 0.0, 0), (3, 0.0, 1), (3, 1.0, 0), (3, 1.0, 1)]
    summary = classify.summarize(rows)
    assert set(summary) == {(3, 0.0), (3, 1.0)}
    mean, std, count = summary[(3, 0.0)]
    accs = [r["test_acc"] for r in rows[:2]]
    assert count == 2 and mean == pytest.approx(np.mean(accs)) and std == pytest.approx(np.std(accs, ddof=1))


def test_mean_std_single_value():
    assert classify.mean_std([0.5]) == (0.5, 0.0)


def test_gallery_widget_headless():
    from augkit.widgets import data as widgets

    imgs = data.from_unit(np.random.default_rng(0).random((2, 28, 28)))
    g = widgets.AugmentGallery(imgs, "mnist", strength=1.0, copies=3)
    assert g.state["images"].shape == (6, 28, 28) and g.state["mean_abs_change"] > 0
    g.strength.value = 0.0
    assert g.config().is_identity and g.state["mean_abs_change"] == 0.0
    g.params["zoom"].value = 0.3
    assert g.config().zoom == pytest.approx(0.3) and g.state["mean_abs_change"] > 0


def test_paired_gains_match_scipy_paired_t_and_ignore_subset_difficulty():
    from scipy import stats as sps

    rng = np.random.default_rng(0)
    difficulty = rng.normal(0.0, 0.05, size=5)  # each seed's subset: easy or hard
    rows = []
    for seed, d in enumerate(difficulty):
        rows.append({"n_per_class": 10, "strength": 0.0, "seed": seed, "test_acc": 0.80 + d})
        rows.append({"n_per_class": 10, "strength": 1.0, "seed": seed,
                     "test_acc": 0.85 + d + rng.normal(0, 0.002)})
    rows.reverse()  # pairing is by seed, not by position
    g = classify.paired_gains(rows)[1.0]
    diffs = np.array([a["test_acc"] - b["test_acc"] for a in rows for b in rows
                      if a["seed"] == b["seed"] and a["strength"] == 1.0 and b["strength"] == 0.0])
    assert g.mean == pytest.approx(diffs.mean())
    assert g.low > 0.04 and g.high < 0.06  # the subsets' spread (0.05) cancels
    t = sps.t.ppf(0.975, 4) * diffs.std(ddof=1) / np.sqrt(5)
    assert g.high - g.mean == pytest.approx(t)
    two_sizes = rows + [dict(r, n_per_class=50) for r in rows]
    assert set(classify.paired_gains(two_sizes)) == {(10, 1.0), (50, 1.0)}
    with pytest.raises(ValueError, match="pair against"):
        classify.paired_gains(rows, baseline=2.0)


def test_paired_sweep_draws_every_seed_and_the_interval():
    import matplotlib

    matplotlib.use("Agg")
    import figcheck

    from augkit import plots

    rows = [{"n_per_class": 10, "strength": s, "seed": seed, "test_acc": 0.8 + 0.01 * s + 0.01 * seed}
            for s in (0.0, 1.0, 2.0) for seed in range(3)]
    fig = plots.paired_sweep(rows, classify.paired_gains(rows), title="t")
    left, right = fig.axes
    assert len(left.get_lines()) == 3 and figcheck.blank_panels(fig) == []
    assert right.get_ylabel().startswith("paired gain")


def test_gain_bars_colour_each_bar_by_what_its_interval_supports():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.colors import to_rgba

    from augkit import plots
    from augkit.stats import Interval

    iv = {"up": Interval(0.05, 0.02, 0.08, 5), "down": Interval(-0.01, -0.02, -0.005, 5),
          "flat": Interval(0.001, -0.01, 0.012, 5)}
    fig = plots.gain_bars(iv, title="t")
    bars = fig.axes[0].patches
    assert [round(b.get_height(), 6) for b in bars] == [5.0, -1.0, 0.1]
    assert [b.get_facecolor() for b in bars] == [to_rgba(c) for c in ("tab:green", "tab:red", "0.6")]

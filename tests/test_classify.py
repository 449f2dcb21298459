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
    monkeypatch.setenv("AUGKIT_QUICK", "1")
    full = {name: classify.budget_for(name, quick=False).steps for name in ("mnist", "cifar10")}
    assert full["cifar10"] > full["mnist"] > 100


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

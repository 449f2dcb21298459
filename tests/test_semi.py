"""The pool setting's semi-supervised runs (augkit.study.semisupervised): the grid, pseudo-labelling against a
judge whose answers are known, and a small study that trains, keeps and reuses an SSGAN."""

import dataclasses

import numpy as np
import pytest

from augkit import study
from augkit.study import semisupervised as semi


class _Judge:
    """A judge whose logits are given: image i's logits are ``table[i]`` (the image holds i)."""

    def __init__(self, table):
        self.table = np.asarray(table, np.float32)

    def predict(self, x, batch_size=None, verbose=0):
        return self.table[np.asarray(x).reshape(len(x), -1)[:, 0].astype(int)]


def test_grid_runs_semi_strategies_only_in_the_pool_setting():
    p = study.Preset((10, 100), (1.0,), (0, 1), 500, True, (), semi=semi.STRATEGIES,
                     semi_sizes=(10,), generator_steps=10)
    pool = study.grid("mnist", "pool", p)
    semi_runs = [r for r in pool if r.strategy in semi.STRATEGIES]
    # the semi-supervised models only where semi_sizes says, pseudo-labels everywhere
    assert {(r.strategy, r.n_per_class, r.ratio) for r in semi_runs} == {
        ("ssgan", 10, 0.0), ("ssvae", 10, 0.0), ("pseudo_label", 10, float(semi.PSEUDO_RATIO)),
        ("pseudo_label", 100, float(semi.PSEUDO_RATIO))}
    assert len(semi_runs) == 8  # (2 + 2 sizes) x two seeds
    # semi_seeds: the costly models at the first seeds only, pseudo-labels at every seed
    few = study.grid("mnist", "pool", dataclasses.replace(p, semi_seeds=(1,)))
    assert {(r.strategy, r.seed) for r in few if r.strategy in semi.MODELS} == {
        ("ssgan", 1), ("ssvae", 1)}
    assert {r.seed for r in few if r.strategy == "pseudo_label"} == {0, 1}
    for setting in ("fair", "leaky"):
        assert not {r.strategy for r in study.grid("mnist", setting, p)} & set(semi.STRATEGIES)
    assert {"ssgan", "ssvae", "pseudo_label"} <= set(study.PRESETS[("mnist", "full")].semi)
    assert semi.CONFIDENCE == study.SCREEN_CONFIDENCE  # one threshold, fixed in advance


def test_pseudo_label_keeps_confident_images_class_balanced():
    # 3 classes; images 0-5 are confident class 0, 6-7 confident class 1, 8-9 unsure.
    table = np.full((10, 3), -5.0)
    table[:6, 0] = 5.0
    table[6:8, 1] = 5.0
    table[8:, :] = 0.0  # probability 1/3 < the 0.5 threshold
    images = np.arange(10).reshape(10, 1, 1, 1).astype(np.uint8)
    idx, labels, passed = semi.pseudo_label(_Judge(table), images, need=6, num_classes=3,
                                            batch=4)
    # quota 2 per class: the first two confident images of class 0 and of class 1; none of 2
    assert idx.tolist() == [0, 1, 6, 7] and labels.tolist() == [0, 0, 1, 1]
    assert passed == pytest.approx(8 / 10)
    none = semi.pseudo_label(_Judge(np.zeros((10, 3))), images, need=6, num_classes=3)
    assert len(none[0]) == 0 and none[2] == 0.0


def test_pool_study_trains_an_ssgan_once_and_pseudo_labels(tmp_path, monkeypatch, shared_data):
    monkeypatch.setitem(study.PRESETS, ("mnist", "tiny_semi"),
                        study.Preset((3,), (1.0,), (0,), 500, True, (),
                                     semi=semi.STRATEGIES, generator_steps=10))
    out = tmp_path / "study"
    kw = dict(out_dir=out, data_dir=shared_data, progress=False, report=False)
    with pytest.raises(ValueError, match="unknown strategy ssgn"):
        study.run_study("mnist", "tiny_semi", "pool", only=("ssgn",), **kw)
    res = study.run_study("mnist", "tiny_semi", "pool", only=semi.STRATEGIES, **kw)
    assert res["new"] == 3 and res["done"] == 3
    rows = {r["strategy"]: r for r in study.all_results(out)}
    assert set(rows) == {"ssgan", "ssvae", "pseudo_label"}
    sv = rows["ssvae"]  # M1 + M2, trained by the study with `augkit train ssvae` settings
    assert 0 <= sv["test_acc"] <= 1 and sv["train_images"] > 0
    assert sv["model"]["command"] == "augkit study --dataset mnist --setting pool --preset tiny_semi"
    assert len(sv["model"]["curve"]["val_accuracy"]) == 1
    assert (out / "semi" / (semi.model_name("mnist", 3, 0, 1, "ssvae") + ".weights.h5")).is_file()
    ss, pl = rows["ssgan"], rows["pseudo_label"]
    assert 0 <= ss["test_acc"] <= 1 and 0 <= ss["train_acc"] <= 1
    assert ss["model"]["command"] == "augkit study --dataset mnist --setting pool --preset tiny_semi"
    assert ss["model"]["train_seconds"] > 0
    curve = ss["model"]["curve"]  # the training curve travels with the result
    assert len(curve["val_ema_accuracy"]) == 1 and 0 <= curve["val_accuracy"][0] <= 1
    # pseudo-labelling: 30 labeled + up to 10 per labeled image from the pool, balanced
    kept = pl["train_images"] - 30
    assert 0 < kept <= 30 * semi.PSEUDO_RATIO and 0 < pl["kept_share"] <= 1
    assert 0 <= pl["pseudo_label_accuracy"] <= 1 and 0 <= pl["test_acc"] <= 1
    assert pl["labeller"]["strategy"] == "classic"  # the best subset-only classifier labels
    assert not (out / "judges").exists()  # no real-only judge is needed for either route
    model = out / "semi" / (semi.model_name("mnist", 3, 0, 1) + ".weights.h5")
    assert model.is_file()
    stamp = model.stat().st_mtime_ns
    # The rest of the grid later: the SSGAN is not trained again, its file is reused.
    (out / "results.pool.jsonl").write_text(
        "".join(line for line in (out / "results.pool.jsonl").read_text().splitlines(True)
                if '"strategy": "ssgan"' not in line))
    again = study.run_study("mnist", "tiny_semi", "pool", resume=True,
                            only=("ssgan",), **kw)
    assert again["new"] == 1 and model.stat().st_mtime_ns == stamp
    redo = {r["strategy"]: r for r in study.all_results(out)}["ssgan"]
    assert redo["test_acc"] == ss["test_acc"]  # the same model, measured again


def test_comparison_pairs_routes_with_their_seeds_and_draws_every_bar():
    rows = []
    for setting, strategy, ratio, accs in (("fair", "real", 0.0, [0.80, 0.84, 0.82]),
                                           ("fair", "classic", 0.0, [0.90, 0.91, 0.93]),
                                           ("pool", "ssgan", 0.0, [0.97, 0.98, 0.96])):
        rows += [{"dataset": "mnist", "setting": setting, "n_per_class": 10,
                  "strategy": strategy, "ratio": ratio, "seed": s, "test_acc": a,
                  "kept_share": None} for s, a in enumerate(accs)]
    rows += [{**r, "setting": "pool"} for r in rows if r["strategy"] == "real"]
    lines = semi.comparison(rows)
    assert [ln["strategy"] for ln in lines] == ["real", "classic", "ssgan"]
    ss = lines[-1]
    assert ss["acc"].mean == pytest.approx(0.97) and ss["n_seeds"] == 3
    assert ss["gain"].mean == pytest.approx(0.97 - 0.82)  # paired with the pool's real rows
    fig = semi.fig_routes(rows)
    ax = fig.axes[0]
    widths = sorted(round(p.get_width(), 6) for p in ax.patches)
    assert widths == pytest.approx([82.0, 91.333333, 97.0], abs=1e-4)  # one bar per route
    assert len(ax.get_lines()) >= 2  # the two published anchors
    with pytest.raises(ValueError, match="no results"):
        semi.fig_routes(rows, n_per_class=100)


def test_routes_slider_redraws_the_size_it_is_set_to():
    from augkit.widgets.study import RoutesByLabels

    rows = []
    for n, accs in ((10, [0.80, 0.84]), (100, [0.95, 0.96])):
        for strategy, shift in (("real", 0.0), ("pseudo_label", 0.03)):
            rows += [{"dataset": "mnist", "setting": "fair" if strategy == "real" else "pool",
                      "n_per_class": n, "strategy": strategy,
                      "ratio": semi.RATIOS.get(strategy, 0.0), "seed": s, "test_acc": a + shift,
                      "kept_share": None} for s, a in enumerate(accs)]
    rows += [{**r, "setting": "pool"} for r in rows if r["strategy"] == "real"]
    w = RoutesByLabels(rows)
    assert w.controls["n_per_class"].options == (10, 100) and w.n_updates == 1
    assert [round(p.get_width(), 3) for p in w.figure.axes[0].patches] == [82.0, 85.0]
    w.controls["n_per_class"].value = 100
    assert w.n_updates == 2 and w.state["n_per_class"] == 100
    assert [round(p.get_width(), 3) for p in w.figure.axes[0].patches] == [95.5, 98.5]
    assert "pool images pseudo-labelled" in w.readout.value and "98.5 %" in w.readout.value
    with pytest.raises(ValueError, match="no mnist results"):
        RoutesByLabels([r for r in rows if r["dataset"] == "cifar10"])


def test_routes_without_anchors_end_where_the_bars_end():
    rows = [{"dataset": "cifar10", "setting": setting, "n_per_class": 100, "strategy": strategy,
             "ratio": 0.0, "seed": s, "test_acc": a, "kept_share": None}
            for setting, strategy, accs in (("fair", "real", [0.52, 0.54, 0.55]),
                                            ("pool", "real", [0.52, 0.54, 0.55]),
                                            ("pool", "ssgan", [0.34, 0.35, 0.36]))
            for s, a in enumerate(accs)]
    ax = semi.fig_routes(rows, "cifar10", 100).axes[0]
    left, right = ax.get_xlim()
    assert 55 < right < 65 and left < 34  # no empty stretch to 100 %, every bar's start shown
    assert not ax.figure.legends  # MNIST's published anchors (and their legend) stay off CIFAR-10

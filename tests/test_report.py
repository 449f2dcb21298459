"""The study report on synthetic rows whose paired gains are known exactly."""

import base64
import re

import numpy as np
import pytest
from matplotlib.image import imread

from augkit import stats
from augkit.study import report

SIZES = [10, 100]
SEEDS = [0, 1, 2]
BASE = {10: 0.80, 100: 0.93}  # real-only accuracy on an average draw
LUCK = {0: -0.03, 1: 0.0, 2: 0.04}  # how good each seed's labeled subset happens to be
NOISE = {0: 0.002, 1: -0.003, 2: 0.001}  # treated runs' own wobble; sums to 0 over the seeds
EFFECT = {"classic": 0.02, "gan": 0.01, "classic+gan": 0.025, "gan_screened": 0.015,
          "synthetic_only": -0.2}
RATIOS = [0.5, 1.0, 2.0]


def effect(strategy, ratio, n):
    """The known accuracy change over real-only: smaller with more real images, and for mixed
    strategies it grows with the synthetic ratio."""
    e = EFFECT[strategy] * (10 / n) ** 0.5
    return e + (0.004 * np.log2(ratio) if strategy in report._MIXED else 0.0)


def _row(strategy, ratio, n, seed, dataset="mnist", setting="fair"):
    acc = BASE[n] + LUCK[seed]
    if strategy != "real":
        acc += effect(strategy, ratio, n) + NOISE[seed]
    return {"run_id": f"{dataset}-{setting}-{n}-{strategy}-{ratio}-{seed}", "dataset": dataset,
            "setting": setting, "n_per_class": n, "strategy": strategy, "ratio": ratio,
            "seed": seed, "test_acc": acc, "val_acc": None,
            "kept_share": 0.6 + 0.01 * seed if strategy == "gan_screened" else None,
            "seconds": 10.0, "config": {}, "versions": {}, "finished": "2025-01-01T00:00:00"}


def make_rows(strategies=("real", "classic", "gan", "classic+gan", "gan_screened",
                          "synthetic_only"), **where):
    rows = []
    for n in SIZES:
        for strategy in strategies:
            ratios = ([0.0] if strategy in ("real", "classic")
                      else [1.0] if strategy == "synthetic_only" else RATIOS)
            rows += [_row(strategy, r, n, s, **where) for r in ratios for s in SEEDS]
    return rows


@pytest.fixture(scope="module")
def rows():
    return make_rows()


@pytest.fixture(scope="module")
def written(rows, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, report.write_report(rows, out)


def test_summarize_intervals_match_stats_on_the_raw_values(rows):
    cells = report.summarize(rows)
    assert len(cells) == 2 * (2 + 3 * 3 + 1)  # sizes x (real, classic, 3 mixed x 3 ratios, CAS)
    for c in cells:
        raw = [r["test_acc"] for r in rows if (r["n_per_class"], r["strategy"], r["ratio"])
               == (c["n_per_class"], c["strategy"], c["ratio"])]
        assert c["n_seeds"] == len(raw) == 3
        assert c["acc"] == stats.mean_ci(raw)
        assert (c["gain"] is None) == (c["strategy"] == "real")
        assert (c["kept_share"] is None) == (c["strategy"] != "gan_screened")
    screened = next(c for c in cells if c["strategy"] == "gan_screened")
    assert screened["kept_share"] == pytest.approx(0.61)


def test_paired_gain_is_the_known_effect(rows):
    for n in SIZES:
        for strategy, ratio in [("classic", 0.0), ("gan", 0.5), ("classic+gan", 2.0),
                                ("gan_screened", 1.0), ("synthetic_only", 1.0)]:
            gain = report.paired_gain(rows, "mnist", "fair", n, strategy, ratio)
            # Luck cancels in the pairing: what is left is the effect plus the known noise.
            assert gain.mean == pytest.approx(effect(strategy, ratio, n), abs=1e-12)
            expected = stats.mean_ci([effect(strategy, ratio, n) + NOISE[s] for s in SEEDS])
            assert (gain.low, gain.high) == pytest.approx((expected.low, expected.high), abs=1e-12)
            # ...so it is far tighter than the accuracy intervals, which carry the luck.
            acc = stats.mean_ci([r["test_acc"] for r in rows if (r["n_per_class"],
                                 r["strategy"], r["ratio"]) == (n, strategy, ratio)])
            assert gain.half_width < acc.half_width / 5
    assert report.paired_gain(rows, "mnist", "fair", 10, "real", 0.0) is None
    assert report.paired_gain(rows, "cifar10", "fair", 10, "gan", 1.0) is None


def test_gain_pairs_matching_seeds_only_and_reruns_replace(rows):
    no_seed_2 = [r for r in rows if not (r["strategy"] == "real" and r["seed"] == 2)]
    gain = report.paired_gain(no_seed_2, "mnist", "fair", 10, "gan", 1.0)
    assert gain.n == 2 and gain.mean == pytest.approx(effect("gan", 1.0, 10) + 0.5 * (
        NOISE[0] + NOISE[1]), abs=1e-12)
    no_baseline = [r for r in rows if not (r["strategy"] == "real" and r["n_per_class"] == 10)]
    cell = next(c for c in report.summarize(no_baseline)
                if (c["n_per_class"], c["strategy"]) == (10, "gan"))
    assert cell["gain"] is None and cell["n_seeds"] == 3
    rerun = dict(rows[0], test_acc=rows[0]["test_acc"] + 0.5)  # a resumed study's second try
    first = next(c for c in report.summarize(rows + [rerun]) if c["strategy"] == "real")
    assert first["n_seeds"] == 3 and first["acc"].mean == pytest.approx(
        np.mean([r["test_acc"] for r in rows[1:3]] + [rerun["test_acc"]]))


def _has_data(ax):
    return bool(ax.lines or ax.collections or ax.patches)


@pytest.mark.parametrize("name", list(report.FIGURES))
def test_each_figure_draws_data_with_labels_and_says_what_it_shows(rows, name):
    fig = report.FIGURES[name](rows, "mnist", "fair")
    assert fig is not None
    text = " ".join([fig.get_suptitle()] + [ax.get_title() for ax in fig.axes])
    assert "mnist" in text and "fair" in text and "3 seeds" in text
    for ax in fig.axes:
        assert _has_data(ax) and ax.get_xlabel()
    assert fig.axes[0].get_ylabel()
    if name == "gain_vs_ratio":
        assert len(fig.axes) == len(SIZES) and fig.axes[0].get_xscale() == "log"
        assert any(list(line.get_ydata()) == [0, 0] for line in fig.axes[0].lines)  # the 0 line
    if name == "screening":
        notes = [t.get_text() for t in fig.axes[0].texts]
        assert any("kept 61%" in t for t in notes) and len(notes) == len(SIZES)  # ratio 1 only


def test_missing_strategies_skip_their_figures():
    only_real = make_rows(("real", "classic"))
    assert report.fig_accuracy_vs_size(only_real, "mnist", "fair") is not None
    for draw in (report.fig_gain_vs_ratio, report.fig_cas, report.fig_screening):
        assert draw(only_real, "mnist", "fair") is None
    assert report.fig_screening(make_rows(("real", "gan")), "mnist", "fair") is None
    assert report.fig_cas(make_rows(("real", "synthetic_only")), "mnist", "fair") is not None
    for draw in report.FIGURES.values():  # another dataset or setting has nothing to draw
        assert draw(make_rows(), "cifar10", "fair") is None
        assert draw(make_rows(), "mnist", "leaky") is None


def test_write_report_writes_every_file(written):
    out, paths = written
    figures = sorted(p for k, p in paths.items() if k not in ("html", "markdown"))
    assert len(figures) == len(report.FIGURES)
    assert sorted((out / "figures").glob("*.png")) == figures
    assert paths["html"] == out / "report.html" and paths["markdown"] == out / "summary.md"
    assert all(p.is_file() for p in paths.values())
    assert not list(out.rglob("*.part*"))  # no temporary files left behind
    for png in figures:
        pixels = imread(png)
        assert pixels.std() > 0.01, f"{png.name} looks blank"


def test_html_is_self_contained(written):
    out, paths = written
    page = paths["html"].read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "<script" not in page
    srcs = re.findall(r"<img[^>]*\ssrc='([^']*)'", page)
    assert len(srcs) == page.count("<img") == len(report.FIGURES)
    embedded = sorted(base64.b64decode(s.removeprefix("data:image/png;base64,")) for s in srcs)
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert embedded == sorted(p.read_bytes() for p in (out / "figures").glob("*.png"))
    assert "How to read this" in page and "excludes 0" in page
    assert page.count("<tr>") == len(report.summarize(make_rows())) + 1  # + the header row


def test_markdown_has_one_row_per_cell(rows, written):
    _, paths = written
    md = paths["markdown"].read_text(encoding="utf-8")
    table = [line for line in md.splitlines() if line.startswith("|")]
    body = [line for line in table[2:] if not line.startswith("| n per class")]
    cells = report.summarize(rows)
    assert len(body) == len(cells) and "## mnist, fair setting" in md
    assert f"{len(rows)} runs, {10.0 * len(rows):.0f} s" in md
    gan = next(c for c in cells if (c["n_per_class"], c["strategy"], c["ratio"]) == (10, "gan", 2.0))
    expect = (f"| 10 | gan | 2 | 3 | {gan['acc'].mean * 100:.2f} ± {gan['acc'].half_width * 100:.2f}"
              f" | {effect('gan', 2.0, 10) * 100:+.2f} ± {gan['gain'].half_width * 100:.2f} |  |")
    assert expect in body
    assert "| 10 | real | 0 | 3 |" in md and "| — |" in md


def test_paired_gain_against_another_baseline_is_the_difference_of_known_effects(rows):
    gain = report.paired_gain(rows, "mnist", "fair", 10, "classic+gan", 1.0,
                              baseline=("classic", 0.0))
    known = effect("classic+gan", 1.0, 10) - effect("classic", 0.0, 10)
    # classic carries the same per-seed noise as classic+gan, so the difference is exact
    assert gain.mean == pytest.approx(known) and gain.half_width == pytest.approx(0, abs=1e-12)
    assert report.paired_gain(rows, "mnist", "fair", 10, "classic", 0.0,
                              baseline=("classic", 0.0)) is None


def test_settings_figure_needs_two_settings_and_shows_each_known_gain():
    fair = make_rows(("real", "gan"))
    leaky = [{**r, "setting": "leaky", "run_id": r["run_id"] + "-leaky",
              "test_acc": r["test_acc"] + (0.05 if r["strategy"] == "gan" else 0.0)}
             for r in fair]
    assert report.fig_settings(fair, "mnist") is None
    fig = report.fig_settings(fair + leaky, "mnist")
    assert len(fig.axes) == len(SIZES) and "leaky" in fig._suptitle.get_text()
    for ax, n in zip(fig.axes, SIZES, strict=True):
        points = {c.get_label(): c.lines[0].get_ydata()[0] for c in ax.containers}
        want = 100 * (effect("gan", 1.0, n) + np.mean(list(NOISE.values())))
        assert points["fair"] == pytest.approx(want)
        assert points["leaky"] == pytest.approx(want + 5.0)


def test_runs_with_nothing_to_train_on_are_left_out():
    rows = make_rows(("real", "gan"))
    skipped = {**rows[-1], "run_id": "skipped", "seed": 9, "test_acc": None,
               "skipped": "screening kept no generated image"}
    cells = report.summarize(rows + [skipped])
    assert cells == report.summarize(rows)


def test_table_markdown_has_a_row_per_cell(rows):
    table = report.table_markdown(rows, "mnist", "fair").splitlines()
    assert len(table) == 2 + len(report.summarize(rows))
    assert table[0].startswith("| n per class | strategy")


# ----------------------------------------------- plotted values against summarize's cells
# Hand-made rows in which every cell has its own mean and its own spread (so its own
# interval and paired gain): a figure that drew another strategy's, ratio's or size's
# numbers, or a mean where an interval end belongs, fails these tests.

VALUE_STRATEGIES = {"real": [0.0], "classic": [0.0], "gan": [0.5, 1.0, 2.0], "vae": [1.0, 2.0],
                    "classic+gan": [2.0, 4.0],  # no ratio 1: the size figure picks ratio 2
                    "gan_screened": [1.0], "synthetic_only": [1.0]}
DEVIATION = {0: -1.0, 1: 0.0, 2: 2.0}  # each seed's draw, times its cell's spread


def _jitter(sizes):
    """A mean offset and a spread for every cell, drawn once by a seeded generator so that no
    two cells (and no two paired gains) share a mean or an interval width."""
    rng = np.random.default_rng(8)
    return {(n, s, r): (0.02 * rng.uniform(), 0.002 + 0.01 * rng.uniform())
            for n in sizes for s, ratios in VALUE_STRATEGIES.items() for r in ratios}


def _value_row(strategy, ratio, n, seed, sizes=(10, 100)):
    offset, spread = _jitter(sizes)[(n, strategy, ratio)]
    acc = (0.5 + 0.03 * list(VALUE_STRATEGIES).index(strategy) + 0.15 * sizes.index(n)
           + 0.01 * ratio + offset + spread * DEVIATION[seed])
    return {"run_id": f"mnist-fair-{n}-{strategy}-{ratio}-{seed}", "dataset": "mnist",
            "setting": "fair", "n_per_class": n, "strategy": strategy, "ratio": ratio,
            "seed": seed, "test_acc": acc, "train_acc": min(1.0, acc + 0.1), "val_acc": None,
            "kept_share": 0.5 + 0.1 * seed if strategy == "gan_screened" else None,
            "seconds": 1.0, "config": {"epochs": 1}}


def value_rows(sizes=(10, 100)):
    return [_value_row(s, r, n, seed, sizes) for n in sizes for s, ratios in
            VALUE_STRATEGIES.items() for r in ratios for seed in DEVIATION]


def _cell(rows, n, strategy, ratio):
    (cell,) = [c for c in report.summarize(rows) if (c["n_per_class"], c["strategy"],
                                                     c["ratio"]) == (n, strategy, ratio)]
    return cell


def _y(line):
    """A line's y data as floats (an errorbar's data line holds an object array)."""
    return np.asarray(line.get_ydata(), dtype=float)


def _errorbar_ends(container):
    """The (low, high) y of each error bar of an ErrorbarContainer, in drawing order."""
    (bars,) = container.lines[2]
    return [tuple(sorted(seg[:, 1])) for seg in bars.get_segments()]


def test_value_rows_give_every_cell_its_own_interval():
    cells = report.summarize(value_rows())
    accs = [(c["acc"].mean, c["acc"].half_width) for c in cells]
    gains = [(c["gain"].mean, c["gain"].half_width) for c in cells if c["gain"]]
    for values in (accs, gains):  # no two cells share a mean, nor an interval width
        for i in (0, 1):
            assert len({round(v[i], 9) for v in values}) == len(values)


def test_accuracy_vs_size_plots_each_strategys_means_and_interval_band():
    rows = value_rows()
    ax = report.fig_accuracy_vs_size(rows, "mnist", "fair").axes[0]
    lines, bands = ax.get_lines(), ax.collections
    picked = {"real": 0.0, "classic": 0.0, "gan": 1.0, "vae": 1.0, "classic+gan": 2.0,
              "gan_screened": 1.0, "synthetic_only": 1.0}
    assert [line.get_label() for line in lines] == [
        "real", "classic", "gan", "vae", "classic+gan (ratio 2)", "gan_screened",
        "synthetic_only"]
    assert len(bands) == len(lines)
    for line, band, (strategy, ratio) in zip(lines, bands, picked.items(), strict=True):
        accs = [_cell(rows, n, strategy, ratio)["acc"] for n in (10, 100)]
        assert list(line.get_xdata()) == [10, 100]
        np.testing.assert_allclose(_y(line), [a.mean * 100 for a in accs], rtol=1e-12)
        vertices = band.get_paths()[0].vertices
        for n, a in zip((10, 100), accs, strict=True):
            ys = vertices[vertices[:, 0] == n, 1]
            assert (ys.min(), ys.max()) == pytest.approx((a.low * 100, a.high * 100), rel=1e-12)


def test_accuracy_vs_size_with_one_size_draws_each_interval_as_an_error_bar():
    rows = value_rows(sizes=(10,))
    ax = report.fig_accuracy_vs_size(rows, "mnist", "fair").axes[0]
    assert len(ax.containers) == len(VALUE_STRATEGIES)
    for container, (strategy, ratio) in zip(ax.containers, [
            ("real", 0.0), ("classic", 0.0), ("gan", 1.0), ("vae", 1.0), ("classic+gan", 2.0),
            ("gan_screened", 1.0), ("synthetic_only", 1.0)], strict=True):
        acc = _cell(rows, 10, strategy, ratio)["acc"]
        assert list(_y(container.lines[0])) == pytest.approx([acc.mean * 100])
        assert _errorbar_ends(container) == [pytest.approx((acc.low * 100, acc.high * 100))]


def test_gain_vs_ratio_plots_each_strategys_paired_gain_and_interval():
    rows = value_rows()
    fig = report.fig_gain_vs_ratio(rows, "mnist", "fair")
    mixed = {"gan": [0.5, 1.0, 2.0], "vae": [1.0, 2.0], "classic+gan": [2.0, 4.0],
             "gan_screened": [1.0]}
    assert len(fig.axes) == 2
    for ax, n in zip(fig.axes, (10, 100), strict=True):
        assert ax.get_title() == f"{n} labeled per class"
        curves = {c.get_label(): c for c in ax.containers}
        assert list(curves) == list(mixed)  # display order; real, classic and CAS left out
        for strategy, ratios in mixed.items():
            gains = [_cell(rows, n, strategy, r)["gain"] for r in ratios]
            line = curves[strategy].lines[0]
            np.testing.assert_allclose(_y(line), [g.mean * 100 for g in gains],
                                       rtol=1e-12)
            # x is the ratio, nudged sideways by one factor per strategy
            shift = np.asarray(line.get_xdata(), dtype=float) / ratios
            assert np.allclose(shift, shift[0]) and 0.8 < shift[0] < 1.25
            assert _errorbar_ends(curves[strategy]) == [
                pytest.approx((g.low * 100, g.high * 100)) for g in gains]
        classic = _cell(rows, n, "classic", 0.0)["gain"]
        (bar,) = [line for line in ax.get_lines() if line.get_label().startswith("classic alone")]
        assert list(bar.get_ydata()) == pytest.approx([classic.mean * 100] * 2)


def test_cas_bars_are_the_real_and_synthetic_only_accuracies_with_their_intervals():
    from matplotlib.container import BarContainer

    rows = value_rows()
    ax = report.fig_cas(rows, "mnist", "fair").axes[0]
    series = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [c.get_label() for c in series] == ["real", "synthetic_only"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10", "100"]
    notes = [t.get_text() for t in ax.texts]
    for container, (strategy, ratio) in zip(series, [("real", 0.0), ("synthetic_only", 1.0)],
                                            strict=True):
        accs = [_cell(rows, n, strategy, ratio)["acc"] for n in (10, 100)]
        heights = [p.get_height() for p in container.patches]
        np.testing.assert_allclose(heights, [a.mean * 100 for a in accs], rtol=1e-12)
        assert _errorbar_ends(container.errorbar) == [
            pytest.approx((a.low * 100, a.high * 100)) for a in accs]
        assert all(f"{a.mean * 100:.1f}" in notes for a in accs)
    # Real bars left of their group's centre, synthetic-only bars right of it.
    centres = [[p.get_x() + p.get_width() / 2 for p in c.patches] for c in series]
    assert all(r < i < s for r, s, i in zip(centres[0], centres[1], (0.0, 1.0), strict=True))


def test_screening_points_and_notes_are_each_strategys_accuracy_and_the_paired_difference():
    rows = value_rows()
    ax = report.fig_screening(rows, "mnist", "fair").axes[0]
    points = {c.get_label(): c for c in ax.containers}
    assert list(points) == ["gan", "gan_screened"]
    for strategy, container in points.items():
        accs = [_cell(rows, n, strategy, 1.0)["acc"] for n in (10, 100)]
        np.testing.assert_allclose(_y(container.lines[0]),
                                   [a.mean * 100 for a in accs], rtol=1e-12)
        assert _errorbar_ends(container) == [
            pytest.approx((a.low * 100, a.high * 100)) for a in accs]
    for n, note in zip((10, 100), [t.get_text() for t in ax.texts], strict=True):
        diff = report.paired_gain(rows, "mnist", "fair", n, "gan_screened", 1.0,
                                  baseline=("gan", 1.0))
        assert note == (f"kept 60%\nΔ {diff.mean * 100:+.1f} ± {diff.half_width * 100:.1f} pt")


def test_settings_points_are_each_settings_paired_gain_with_its_interval():
    fair = value_rows()
    leaky = [{**r, "setting": "leaky", "run_id": r["run_id"] + "-leaky",
              "test_acc": r["test_acc"] + (0.003 * (1 + r["seed"] ** 2)
                                           if r["strategy"] != "real" else 0.0)}
             for r in fair]
    rows = fair + leaky
    fig = report.fig_settings(rows, "mnist", strategies=("gan", "vae", "gan_screened"))
    cells = {(c["setting"], c["n_per_class"], c["strategy"]): c["gain"]
             for c in report.summarize(rows) if c["ratio"] == 1.0}
    for ax, n in zip(fig.axes, (10, 100), strict=True):
        points = {c.get_label(): c for c in ax.containers}
        assert list(points) == ["fair", "leaky"]
        for setting, container in points.items():
            gains = [cells[(setting, n, s)] for s in ("gan", "vae", "gan_screened")]
            np.testing.assert_allclose(_y(container.lines[0]),
                                       [g.mean * 100 for g in gains], rtol=1e-12)
            assert _errorbar_ends(container) == [
                pytest.approx((g.low * 100, g.high * 100)) for g in gains]


def test_table_markdown_shows_summarizes_numbers_for_each_cell():
    rows = value_rows()
    body = report.table_markdown(rows, "mnist", "fair").splitlines()[2:]
    cells = report.summarize(rows)
    assert len(body) == len(cells)
    for line, c in zip(body, cells, strict=True):
        fields = [f.strip() for f in line.strip("|").split("|")]
        assert fields[:4] == [str(c["n_per_class"]), c["strategy"], f"{c['ratio']:g}", "3"]
        assert fields[4] == f"{c['acc'].mean * 100:.2f} ± {c['acc'].half_width * 100:.2f}"
        gain = c["gain"]
        assert fields[5] == ("—" if gain is None else
                             f"{gain.mean * 100:+.2f} ± {gain.half_width * 100:.2f}")
        assert fields[6] == ("" if c["kept_share"] is None else f"{c['kept_share']:.0%}")

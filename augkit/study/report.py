"""The downstream study's report: summary tables, figures, a self-contained HTML page, Markdown.

``augkit study`` appends one JSON row per finished run to ``results.<setting>.jsonl`` (one small
classifier trained on one labeled subset with one augmentation strategy). This module turns
those rows into what the study is for: does augmenting with generated images help a
classifier trained on few real images, and by how much? Introduced in
``notebooks/08_downstream_generalization.ipynb``.

Error bars come from :mod:`augkit.stats`: a Student-t interval over seeds for accuracies,
and for a strategy's gain over real-only training the **paired** difference on matching
seeds (same subset), which cancels the luck of the draw. Figures are plain Agg-canvas
:class:`~matplotlib.figure.Figure` objects: pyplot would keep every figure of a report alive.
"""

from __future__ import annotations

import base64
import html
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from augkit import families
from augkit.files import atomic_path, write_text
from augkit.stats import Interval, error_bars, mean_ci, paired_diff_ci

# Display order and one colour per strategy, so a strategy looks the same in every figure.
STRATEGIES = ["real", "classic", "gan", "vae", "classic+gan", "classic+vae", "gan_screened",
              "synthetic_only", "pseudo_label", "ssvae", "ssgan"]
_COLORS = dict(zip(STRATEGIES, ["black", "tab:gray", "tab:blue", "tab:orange", "tab:cyan",
                                "tab:olive", "tab:purple", "tab:red", "tab:brown", "tab:pink",
                                "tab:green"],
                   strict=True))
# Strategies whose ratio is "synthetic per real image" (F, classic+F, F_screened of every
# study family): the ones a gain-vs-ratio plot can show. A family's Classification Accuracy
# Score run is left out: its ratio means something else and it has its own figure.
_MIXED = {s for f in families.in_study() for s in f.strategies()[:3]}
DPI = 110


def _order(strategy: str) -> tuple[int, str]:
    return (STRATEGIES.index(strategy) if strategy in STRATEGIES else len(STRATEGIES), strategy)


def _index(rows) -> dict[tuple, dict[int, dict]]:
    """Rows by cell (dataset, setting, n_per_class, strategy, ratio), then by seed. A rerun of
    a seed (a resumed study appends it again) replaces the earlier row instead of counting
    twice, which would shrink the interval with a run that is not independent."""
    cells: dict[tuple, dict[int, dict]] = defaultdict(dict)
    for r in rows:
        if r.get("test_acc") is None:  # a run with nothing to train on (see augkit.study)
            continue
        # Ratios come back from JSON as floats; rounding makes 1.0 and 0.9999999999 one cell.
        key = (r["dataset"], r["setting"], r["n_per_class"], r["strategy"], round(r["ratio"], 6))
        before = cells[key].get(r["seed"])
        if before is not None and before["run_id"] != r["run_id"]:
            raise ValueError(f"two configurations of one run: {before['run_id']} and "
                             f"{r['run_id']}; report each study folder on its own")
        cells[key][r["seed"]] = r
    return cells


def _paired(treated: dict[int, dict], baseline: dict[int, dict]) -> Interval | None:
    seeds = sorted(set(treated) & set(baseline))  # only seeds that drew the same subset
    if not seeds:
        return None
    return paired_diff_ci([treated[s]["test_acc"] for s in seeds],
                          [baseline[s]["test_acc"] for s in seeds])


def _gain(index, dataset, setting, n_per_class, strategy, ratio) -> Interval | None:
    if strategy == "real":
        return None
    treated = index.get((dataset, setting, n_per_class, strategy, round(ratio, 6)), {})
    return _paired(treated, index.get((dataset, setting, n_per_class, "real", 0.0), {}))


def paired_gain(rows, dataset, setting, n_per_class, strategy, ratio, *,
                baseline: tuple[str, float] = ("real", 0.0)) -> Interval | None:
    """Paired accuracy gain of one cell over ``baseline`` (a strategy and ratio; real-only by
    default) on the same seeds, as a fraction, not points; ``None`` when no seed has both."""
    index = _index(rows)
    if (strategy, round(ratio, 6)) == (baseline[0], round(baseline[1], 6)):
        return None
    return _paired(index.get((dataset, setting, n_per_class, strategy, round(ratio, 6)), {}),
                   index.get((dataset, setting, n_per_class, baseline[0],
                              round(baseline[1], 6)), {}))


def summarize(rows) -> list[dict]:
    """One dict per (dataset, setting, n_per_class, strategy, ratio) cell, in display order:
    ``n_seeds``, ``acc`` (Interval of test accuracy), ``gain`` (paired Interval vs real-only,
    or None) and ``kept_share`` (mean over seeds, None where screening did not run)."""
    index = _index(rows)
    out = []
    for key in sorted(index, key=lambda k: (k[0], k[1], k[2], _order(k[3]), k[4])):
        by_seed = index[key]
        kept = [r["kept_share"] for r in by_seed.values() if r["kept_share"] is not None]
        out.append({
            **dict(zip(("dataset", "setting", "n_per_class", "strategy", "ratio"), key, strict=True)),
            "n_seeds": len(by_seed),
            "acc": mean_ci([r["test_acc"] for r in by_seed.values()]),
            "gain": _gain(index, *key),
            "kept_share": float(np.mean(kept)) if kept else None,
        })
    return out


# ----------------------------------------------------------------------------- figures

def _figure(width: float, height: float, ncols: int = 1):
    """A figure on the Agg canvas and its row of ``ncols`` axes (sharing the y axis)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, ncols, sharey=True, squeeze=False)[0]


def _finish(fig, title: str, *handles_labels) -> Figure:
    """Title the figure and put the legend below the axes, outside them: there it never covers
    data, nor the title (a legend at the right runs into a figure-wide title)."""
    fig.suptitle(title, fontsize=10)
    handles, labels = handles_labels or fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 4), fontsize=8)
    return fig


def _seeds(cells) -> str:
    n = sorted({c["n_seeds"] for c in cells})
    return f"{n[0]} seed{'s' * (n[0] != 1)}" if len(n) == 1 else f"{n[0]}–{n[-1]} seeds"


def _cells(rows, dataset, setting, strategies=None) -> list[dict]:
    return [c for c in summarize(rows) if c["dataset"] == dataset and c["setting"] == setting
            and (strategies is None or c["strategy"] in strategies)]


def _pick_ratio(ratios) -> float:
    """Ratio 1 where it ran, else the one closest to 1 on a log scale (the only one, usually)."""
    ratios = sorted(set(ratios))
    return 1.0 if 1.0 in ratios else min(ratios, key=lambda r: abs(math.log2(r)))


def fig_accuracy_vs_size(rows, dataset, setting) -> Figure | None:
    """Test accuracy vs labeled images per class, one line per strategy with a 95 % CI band.
    Synthetic strategies are drawn at ratio 1 (or the ratio nearest it when 1 did not run)."""
    cells = _cells(rows, dataset, setting)
    if not cells:
        return None
    fig, (ax,) = _figure(7.5, 4.2)
    for strategy in sorted({c["strategy"] for c in cells}, key=_order):
        mine = [c for c in cells if c["strategy"] == strategy]
        ratio = _pick_ratio([c["ratio"] for c in mine]) if mine[0]["ratio"] > 0 else 0.0
        mine = [c for c in mine if c["ratio"] == ratio]
        x, acc = [c["n_per_class"] for c in mine], [c["acc"] for c in mine]
        label = strategy if ratio in (0.0, 1.0) else f"{strategy} (ratio {ratio:g})"
        color = _COLORS.get(strategy)
        ax.plot(x, [a.mean * 100 for a in acc], "o-", color=color, label=label, lw=1.5, ms=4)
        if len(x) > 1:
            ax.fill_between(x, [a.low * 100 for a in acc], [a.high * 100 for a in acc],
                            color=color, alpha=0.1, lw=0)
        else:  # a band over one size would be invisible: show its interval as an error bar
            ax.errorbar(x, [acc[0].mean * 100], yerr=error_bars(acc), color=color, capsize=3)
    ax.set_xscale("log")
    sizes = sorted({c["n_per_class"] for c in cells})
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("labeled images per class (log scale)")
    ax.set_ylabel("test accuracy (%)")
    low, high = ax.get_ylim()  # a t interval can pass 0 or 100 %; accuracy cannot
    ax.set_ylim(max(low, 0.0), min(high, 100.0))
    ax.grid(alpha=0.3)
    return _finish(fig, f"{dataset}, {setting} setting: test accuracy vs labeled set size "
                   f"(mean and 95 % CI over {_seeds(cells)})")


def fig_gain_vs_ratio(rows, dataset, setting) -> Figure | None:
    """Paired gain over real-only (points) vs synthetic ratio, one panel per labeled set size."""
    cells = [c for c in _cells(rows, dataset, setting, _MIXED) if c["gain"] and c["ratio"] > 0]
    sizes = sorted({c["n_per_class"] for c in cells})  # only sizes with something to show
    if not cells:
        return None
    fig, axes = _figure(3.6 * len(sizes) + 1.8, 3.8, len(sizes))
    strategies = sorted({c["strategy"] for c in cells}, key=_order)
    ratios = sorted({c["ratio"] for c in cells})
    classic = {c["n_per_class"]: c["gain"] for c in _cells(rows, dataset, setting, {"classic"})
               if c["gain"]}
    for ax, n in zip(axes, sizes, strict=True):
        ax.axhline(0, color="black", lw=0.8)
        if n in classic:  # the bar every generator strategy has to clear
            ax.axhline(classic[n].mean * 100, color=_COLORS["classic"], ls="--", lw=1.2,
                       label="classic alone (no generated images)")
        for k, strategy in enumerate(strategies):
            mine = [c for c in cells if c["n_per_class"] == n and c["strategy"] == strategy]
            if not mine:
                continue
            # Nudge each strategy sideways so that overlapping error bars stay readable.
            shift = 2 ** (0.06 * (k - (len(strategies) - 1) / 2))
            gains = [c["gain"] for c in mine]
            ax.errorbar([c["ratio"] * shift for c in mine], [g.mean * 100 for g in gains],
                        yerr=error_bars(gains), fmt="o-", ms=4, capsize=3, lw=1.2,
                        color=_COLORS.get(strategy), label=strategy)
        ax.set_xscale("log", base=2)
        ax.set_xticks(ratios, [f"{r:g}" for r in ratios])
        ax.minorticks_off()
        ax.set_xlabel("synthetic : real ratio (log2 scale)")
        ax.set_title(f"{n} labeled per class", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("gain over real-only (points)")
    entries = {}  # from every panel: a strategy may be missing from the first one
    for ax in axes:
        entries.update(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    return _finish(fig, f"{dataset}, {setting} setting: paired gain over real-only "
                   f"(95 % CI over {_seeds(cells)})", list(entries.values()), list(entries))


def _bars(ax, groups, series, width=0.38):
    """Grouped bars of accuracy (%) with CI error bars; ``series`` is [(label, [Interval|None])]."""
    x = np.arange(len(groups))
    for k, (label, intervals) in enumerate(series):
        pos = [x[i] + (k - (len(series) - 1) / 2) * width for i, v in enumerate(intervals) if v]
        ivs = [v for v in intervals if v]
        ax.bar(pos, [v.mean * 100 for v in ivs], width * 0.95, yerr=error_bars(ivs), capsize=3,
               color=_COLORS.get(label.split(" ")[0]), alpha=0.85, label=label)
        for p, v in zip(pos, ivs, strict=True):
            ax.annotate(f"{v.mean * 100:.1f}", (p, v.high * 100), ha="center", va="bottom",
                        fontsize=7, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(x, groups)


def fig_cas(rows, dataset, setting) -> Figure | None:
    """Classification accuracy score: a classifier trained on generated images only ("synthetic_only")
    tested on real ones, beside the same classifier trained on the real images, per set size."""
    cells = _cells(rows, dataset, setting, {"real", "synthetic_only"})
    synth = [c for c in cells if c["strategy"] == "synthetic_only"]
    if not synth:
        return None
    ratio = _pick_ratio([c["ratio"] for c in synth])
    sizes = sorted({c["n_per_class"] for c in synth if c["ratio"] == ratio})
    look = {(c["strategy"], c["n_per_class"], c["ratio"]): c["acc"] for c in cells}
    fig, (ax,) = _figure(max(4.5, 1.4 * len(sizes) + 3), 3.8)
    series = [
        ("real", [look.get(("real", n, 0.0)) for n in sizes]),
        ("synthetic_only" + ("" if ratio == 1 else f" (ratio {ratio:g})"),
         [look.get(("synthetic_only", n, ratio)) for n in sizes])]
    _bars(ax, [str(n) for n in sizes], series)
    top = max(v.high for _, ivs in series for v in ivs if v) * 100
    ax.set_ylim(0, max(105, top + 8))  # room for the value labels above the error bars
    ax.set_xlabel("labeled (real) images per class")
    ax.set_ylabel("test accuracy on real images (%)")
    return _finish(fig, f"{dataset}, {setting} setting: trained on generated only vs real\n"
                   f"(CAS; mean and 95 % CI over {_seeds(cells)})")


def fig_screening(rows, dataset, setting, family: str = "gan") -> Figure | None:
    """``family``'s strategy vs ``family_screened`` accuracy per set size at ratio 1 (else
    every ratio both ran), each screened point annotated with its kept share and its paired
    difference to the unscreened one."""
    plain, screened_name = family, f"{family}_screened"
    cells = _cells(rows, dataset, setting, {plain, screened_name})
    look = {(c["strategy"], c["n_per_class"], c["ratio"]): c for c in cells}
    common = sorted({k[1:] for k in look if k[0] == plain} & {k[1:] for k in look if k[0] != plain})
    if any(r == 1.0 for _, r in common):
        common = [k for k in common if k[1] == 1.0]
    if not common:
        return None
    index = _index(rows)
    fig, (ax,) = _figure(max(5.0, 1.6 * len(common) + 3), 3.9)
    x = np.arange(len(common))
    for k, strategy in enumerate((plain, screened_name)):
        accs = [look[(strategy, n, r)]["acc"] for n, r in common]
        # Points, not bars: the differences are a point or two, so the y axis is zoomed in,
        # and a bar cut off at a zoomed baseline would exaggerate them.
        ax.errorbar(x + (k - 0.5) * 0.2, [a.mean * 100 for a in accs], yerr=error_bars(accs),
                    fmt="o", ms=6, capsize=4, color=_COLORS.get(strategy), label=strategy)
    for i, (n, r) in enumerate(common):
        screened = look[(screened_name, n, r)]
        diff = _paired(index.get((dataset, setting, n, screened_name, r), {}),
                       index.get((dataset, setting, n, plain, r), {}))
        text = [] if screened["kept_share"] is None else [f"kept {screened['kept_share']:.0%}"]
        if diff is not None:
            text.append(f"Δ {diff.mean * 100:+.1f} ± {diff.half_width * 100:.1f} pt")
        ax.annotate("\n".join(text), (x[i] + 0.1, screened["acc"].high * 100), ha="center",
                    va="bottom", fontsize=7, xytext=(0, 3), textcoords="offset points")
    ax.margins(x=0.25, y=0.25)  # room for the annotations above the highest error bar
    ax.set_xticks(x, [f"{n}" if len(common) == len({n for n, _ in common}) else f"{n}, ratio {r:g}"
                      for n, r in common])
    ax.set_xlabel("labeled images per class" + (" (ratio 1)" if common[0][1] == 1.0 else ""))
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3, axis="y")
    return _finish(fig, f"{dataset}, {setting} setting: {family.upper()} augmentation with and without "
                   f"screening\n(mean and 95 % CI over {_seeds(cells)}; Δ = paired screened − "
                   "unscreened)")


SETTING_COLORS = {"fair": "tab:green", "pool": "tab:blue", "leaky": "tab:red"}


def fig_settings(rows, dataset, strategies=("gan", "vae", "classic+gan")) -> Figure | None:
    """Leakage at a glance: the paired gain over real-only of each generator strategy (ratio 1)
    per setting (fair / pool / leaky), one panel per labeled set size. ``None`` unless at least
    two settings ran."""
    cells = [c for c in summarize(rows) if c["dataset"] == dataset and c["gain"]
             and c["strategy"] in strategies and c["ratio"] == 1.0]
    settings = [s for s in SETTING_COLORS if any(c["setting"] == s for c in cells)]
    if len(settings) < 2:
        return None
    sizes = sorted({c["n_per_class"] for c in cells})
    look = {(c["setting"], c["n_per_class"], c["strategy"]): c["gain"] for c in cells}
    fig, axes = _figure(min(13.0, 3.2 + 3.3 * len(sizes)), 3.9, len(sizes))
    x = np.arange(len(strategies))
    for ax, n in zip(axes, sizes, strict=True):
        for k, setting in enumerate(settings):
            pos = x + (k - (len(settings) - 1) / 2) * 0.22
            gains = [look.get((setting, n, s)) for s in strategies]
            keep = [i for i, g in enumerate(gains) if g]
            ivs = [gains[i] for i in keep]
            ax.errorbar(pos[keep], [g.mean * 100 for g in ivs], yerr=error_bars(ivs), fmt="o", ms=5,
                        capsize=3, color=SETTING_COLORS[setting], label=setting)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(x, strategies, fontsize=8)
        ax.set_title(f"{n} labeled per class", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel("paired gain over real-only (points)")
    return _finish(fig, f"{dataset}: where the generator's data came from (ratio 1; mean and "
                   "95 % CI of the paired gain)\nfair: the labeled subset only; pool: + unlabeled "
                   "images; leaky: every labeled training image")


FIGURES = {"accuracy_vs_size": fig_accuracy_vs_size, "gain_vs_ratio": fig_gain_vs_ratio,
           "cas": fig_cas, "screening": fig_screening}


# ----------------------------------------------------------------------------- report files

def _table(cells) -> tuple[list[str], list[list[str]]]:
    head = ["n per class", "strategy", "ratio", "seeds", "test accuracy % (± 95 % CI)",
            "gain over real-only, points (± 95 % CI)", "kept share"]
    body = [[str(c["n_per_class"]), c["strategy"], f"{c['ratio']:g}", str(c["n_seeds"]),
             f"{c['acc'].mean * 100:.2f} ± {c['acc'].half_width * 100:.2f}",
             "—" if c["gain"] is None else
             f"{c['gain'].mean * 100:+.2f} ± {c['gain'].half_width * 100:.2f}",
             "" if c["kept_share"] is None else f"{c['kept_share']:.0%}"] for c in cells]
    return head, body


def table_markdown(rows, dataset: str, setting: str) -> str:
    """The report's table of one dataset and setting, as Markdown (notebook 08 shows it)."""
    return "\n".join(_md_table(*_table([c for c in summarize(rows)
                                         if (c["dataset"], c["setting"]) == (dataset, setting)])))


def _md_table(head, body) -> list[str]:
    return (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(b) + " |" for b in body])


def _save_png(fig, out_dir: Path, key: str) -> tuple[Path, str]:
    """Write ``figures/<key>.png`` atomically; return its path and an ``<img>`` tag that
    embeds it (base64), so the HTML page needs no other file."""
    path = out_dir / "figures" / f"{key}.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return path, f"<img alt='{html.escape(key)}' src='data:image/png;base64,{data}'>"


_HOW_TO_READ = (
    "Each cell is one strategy trained with several seeds; each seed draws its own labeled "
    "subset. Accuracy is the mean over seeds with a 95 % Student-t interval. The paired gain "
    "is the mean of the per-seed differences to real-only training on the same subset and "
    "seed, in percentage points: seed luck cancels in the difference, so its interval is much "
    "narrower than the accuracies'. A gain interval that excludes 0 is a difference the seeds "
    "support; one that contains 0 is not evidence either way.")

_CSS = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th{background:#f0f0f0}"
        "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}td:nth-child(2){text-align:left}"
        "img{max-width:100%;display:block;margin:1em 0}.note{background:#f7f7f7;padding:0.6em 1em}")


def write_report(rows, out_dir, title: str = "Downstream study: does generated data help?"
                 ) -> dict[str, Path]:
    """Write the figures (``figures/*.png``), ``report.html`` (self-contained: figures as
    base64 data URIs, inline CSS, no external links) and ``summary.md`` into ``out_dir``.
    Returns every path written, keyed ``html``, ``markdown`` and ``<dataset>_<setting>_<figure>``."""
    out_dir = Path(out_dir)
    cells = summarize(rows)
    groups = sorted({(c["dataset"], c["setting"]) for c in cells})
    seconds = sum(float(r["seconds"] or 0) for r in rows if not r.get("copied_from"))
    runs_line = f"{len(rows)} runs, {seconds:.0f} s of compute in total ({seconds / 3600:.1f} h)."
    written: dict[str, Path] = {}
    md = [f"# {title}", "", runs_line, ""]
    page = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>",
            f"<p>{html.escape(runs_line)}</p>",
            f"<div class='note'><h3>How to read this</h3><p>{html.escape(_HOW_TO_READ)}</p></div>"]
    for dataset, setting in groups:
        head, body = _table([c for c in cells if (c["dataset"], c["setting"]) == (dataset, setting)])
        md += [f"## {dataset}, {setting} setting", "", *_md_table(head, body), ""]
        page.append(f"<h2>{html.escape(dataset)}, {html.escape(setting)} setting</h2><table><tr>"
                    + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
                    + "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in b) + "</tr>"
                              for b in body) + "</table>")
        for name, draw in FIGURES.items():
            fig = draw(rows, dataset, setting)
            if fig is None:
                continue
            key = f"{dataset}_{setting}_{name}"
            path, img = _save_png(fig, out_dir, key)
            page.append(img)
            md.append(f"![{key}](figures/{key}.png)\n")
            written[key] = path
    for dataset in sorted({d for d, _ in groups}):
        fig = fig_settings(rows, dataset)
        if fig is None:
            continue
        key = f"{dataset}_settings"
        path, img = _save_png(fig, out_dir, key)
        page.append(f"<h2>{html.escape(dataset)}: fair, pool and leaky side by side</h2>{img}")
        md += [f"## {dataset}: fair, pool and leaky side by side", "",
               f"![{key}](figures/{key}.png)", ""]
        written[key] = path
    page.append("</body></html>")
    written["html"], written["markdown"] = out_dir / "report.html", out_dir / "summary.md"
    write_text(written["html"], "\n".join(page) + "\n")
    write_text(written["markdown"], "\n".join(md) + "\n")
    return written

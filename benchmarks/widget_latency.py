"""Redraw latency of every interactive widget the notebooks and ``augkit explore`` display: the
wall time from one control moving to the new picture being ready, against the kit's budget of
300 ms per slider update.

Usage:
    python benchmarks/widget_latency.py                  # every widget, full-mode inputs
    python benchmarks/widget_latency.py 05 explore       # some notebooks, or the explore pages
    python benchmarks/widget_latency.py --quick          # smoke run: quick-mode inputs, 2 moves
    python benchmarks/widget_latency.py --readme         # and rewrite the README's table

Each widget is built the way its notebook builds it in full mode (the same arguments; shipped
models from ``augkit.zoo``, shipped study results, full MNIST via ``augkit.data.load``), and the
five pages of ``augkit explore`` as ``explore.build`` builds them. Then every control is moved,
starting each time from the widget's first values: one warm-up move, then 5 timed ones along
its range (sliders, number boxes) or to other options (menus, buttons). A move is the assignment
``control.value = x``, which fires the same callback as a drag in the browser: compute, draw and
PNG encoding (:class:`augkit.widgets.base.LiveFigure`), what the kernel spends before the
picture is sent; the transfer and the browser's drawing are not counted. The rows go to
``benchmarks/widget_latency.json`` (merged with what is there; ``--quick`` writes only with
``--out``) and, with ``--readme``, to the README between the ``widget-latency`` markers.
This is a benchmark, not a test: the times depend on the CPU and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import date
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import ipywidgets as W  # noqa: E402
import numpy as np  # noqa: E402

from augkit import data, datasets, files  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("widget_latency.json")
README = ROOT / "README.md"
MARKERS = ("<!-- widget-latency:start -->", "<!-- widget-latency:end -->")
BUDGET_MS = 300.0
# Where slider moves land, as a share of the range: spread out, so that a redraw whose cost
# depends on the value (a larger subset, a stronger transform) is seen at both ends.
FRACTIONS = (0.25, 0.75, 0.1, 0.9, 0.5, 0.0, 1.0, 0.35, 0.65, 0.2, 0.8, 0.45)


# --------------------------------------------------------------------------- inputs

@cache
def mnist():
    return data.load("mnist")


@cache
def model(name: str):
    from augkit import zoo

    return zoo.load_generator_model(name)


def names(dataset: str):
    return datasets.get(dataset).class_names


# --------------------------------------------------------------------------- the notebooks' widgets
# Each builder repeats its notebook's cells (cell numbers as of this writing), full mode unless
# ``quick``; it returns the widgets in the order the notebook displays them.

def nb00(quick):
    from augkit.widgets import data as widgets

    (mx_train, my_train), _ = mnist()
    return [widgets.SubsetPreview(mx_train, my_train, names("mnist"), max_per_class=100, value=5)]


def nb01(quick):
    from augkit.widgets import theory as theory_widgets

    return [theory_widgets.GanValueWidget(data="one Gaussian", g_mean=-1.5, g_std=1.0),
            theory_widgets.GeneratorGradientWidget(d=0.01)]


def nb02(quick):
    from augkit.widgets import theory as theory_widgets

    return [theory_widgets.GaussianKLWidget(mu=1.0, sigma=0.5),
            theory_widgets.BetaRateDistortionWidget(beta=1.0, variances=(4.0, 1.0),
                                                    noise_var=0.25)]


def nb03(quick):
    from augkit.widgets import data as widgets

    (x_train, y_train), _ = mnist()
    samples = x_train[[np.flatnonzero(y_train == c)[0] for c in (1, 6, 7)]]
    return [widgets.AugmentGallery(samples, "mnist", strength=1.0, copies=8)]


def nb04(quick):
    from augkit import zoo
    from augkit.widgets import gan as gan_widgets

    cgan = model("cgan_mnist")
    return [gan_widgets.TrainingPlayback(zoo.load_history("cgan_mnist")),
            gan_widgets.ConditionalExplorer(cgan, names("mnist")),
            gan_widgets.LatentInterpolation(cgan, label=3)]


def nb05(quick):
    from augkit.widgets import vae as vae_widgets

    n_eval = 500 if quick else 5000  # the notebook's N_EVAL
    _, (x_test, y_test) = mnist()
    vae2, vae16, cvae = model("vae2d_mnist"), model("vae_mnist"), model("cvae_mnist")
    mu2, _ = vae2.encode(x_test[:n_eval])
    a, b = int(np.flatnonzero(y_test == 4)[0]), int(np.flatnonzero(y_test == 9)[1])
    picks = np.array([int(np.flatnonzero(y_test == c)[0]) for c in (0, 2, 4, 7, 1, 8)])
    return [vae_widgets.LatentSliders(vae2, dims=2, background=(mu2, y_test[:n_eval]),
                                      class_names=names("mnist")),
            vae_widgets.TestInterpolation(vae16, x_test, a=a, b=b),
            vae_widgets.StyleExplorer(cvae, x_test, y_test, names("mnist"), n_sliders=4,
                                      index=int(picks[1]))]


def nb06(quick):
    from augkit import zoo
    from augkit.widgets import gan as gan_widgets

    return [gan_widgets.TrainingPlayback(zoo.load_history("cgan_cifar10")),
            gan_widgets.ConditionalExplorer(model("cgan_cifar10"), names("cifar10"))]


def nb07(quick):
    from augkit.widgets import fidelity as fidelity_widgets

    return [fidelity_widgets.PrecisionRecallSlider(n=1000, mix=0.0)]  # N_TOY, either mode


def nb08(quick):
    from augkit import study
    from augkit.widgets.study import ResultsExplorer

    return [ResultsExplorer(study.shipped_results("mnist") + study.shipped_results("cifar10"))]


def nb09(quick):
    from augkit import study
    from augkit.widgets.study import RoutesByLabels

    return [RoutesByLabels(study.shipped_results("mnist"))]


NOTEBOOKS = {"00_start_here": nb00, "01_gan_objective": nb01, "02_vae_elbo": nb02,
             "03_classic_augmentation": nb03, "04_gan_mnist": nb04, "05_vae_mnist": nb05,
             "06_cifar10": nb06, "07_measuring_generators": nb07,
             "08_downstream_generalization": nb08, "09_semi_supervised": nb09}


def sources(selected=()) -> dict:
    """{label: builder} for every notebook and explore page, or those ``selected`` (a notebook's
    number or name, ``explore``, or an explore page's name)."""
    from augkit import explore

    found = dict(NOTEBOOKS)
    # The explore pages build from the full data and shipped models whatever the mode.
    found.update({f"explore: {page}": lambda quick, page=page: explore.build(page)
                  for page in explore.NAMES})
    if selected:
        found = {k: v for k, v in found.items()
                 if k[:2] in selected or k in selected or k.removeprefix("explore: ") in selected
                 or ("explore" in selected and k.startswith("explore: "))}
    return found


def widget_name(widget) -> str:
    """The class, and for a generative model's widget the dataset its model draws (an explore
    page shows the MNIST and the CIFAR-10 conditional GAN side by side)."""
    name = type(widget).__name__
    model_ = getattr(widget, "model", None)
    net = getattr(model_, "generator", getattr(model_, "decoder", None))  # a GAN's, a VAE's
    if net is None:
        return name
    # The zoo ships generators for these two (Fashion-MNIST has MNIST's shape).
    shipped = {datasets.get(d).image_shape: d for d in ("mnist", "cifar10")}
    return f"{name} ({shipped.get(tuple(net.output_shape[1:]), 'other data')})"


# --------------------------------------------------------------------------- moving the controls

def targets(control, n: int) -> list:
    """``n`` valid values for ``control``, each different from the one before it (setting the
    value a control already has fires no redraw); fewer when it has nothing else to offer."""
    if isinstance(control, W.Checkbox):
        candidates = [not control.value, control.value]
    elif hasattr(control, "options"):  # dropdowns, toggle buttons, selection sliders
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
        i = values.index(control.value)
        candidates = values[i + 1:] + values[:i + 1]
    else:  # int and float sliders, bounded int boxes; a log slider's range is in exponents
        lo, hi = control.min, control.max
        step = getattr(control, "step", None) or 1
        snapped = [min(lo + round(f * (hi - lo) / step) * step, hi) for f in FRACTIONS]
        if isinstance(control, W.FloatLogSlider):
            candidates = [round(control.base ** e, 12) for e in snapped]
        elif isinstance(control.value, int):
            candidates = [int(v) for v in snapped]
        else:
            candidates = [round(v, 10) for v in snapped]  # 0.30000000000000004 -> 0.3
    if all(np.isclose(c, control.value) if not isinstance(c, str) else c == control.value
           for c in candidates):
        return []
    out, previous = [], control.value
    for value in candidates * n:
        same = value == previous if isinstance(value, str) else np.isclose(value, previous)
        if not same:
            out.append(value)
            previous = value
    return out[:n]


def unlock(widget, control, n: int) -> list:
    """Targets for a control that has a single option in the widget's first state (notebook 08
    opens on CIFAR-10: one labeled-set size, one ratio): move another control, untimed, until
    it has ``n``; none when no other value of another control gives it any."""
    for other in widget.controls.values():
        for value in ([] if other is control else targets(other, 3)):
            other.value = value
            if found := targets(control, n):
                return found
    return []


def reset(widget, start: dict) -> None:
    """Put every control back to the widget's first values (not timed)."""
    with widget.hold():
        for name, value in start.items():
            if widget.controls[name].value != value:
                widget.controls[name].value = value


def time_moves(widget, moves: int) -> dict:
    """{control: [ms per timed move]}, each control moved from the widget's first values (or,
    for one with nothing to move to there, from the nearest state where it has)."""
    start = widget.values()
    times = {}
    for name, control in widget.controls.items():
        reset(widget, start)
        values = targets(control, moves + 1) or unlock(widget, control, moves + 1)
        times[name] = []
        for k, value in enumerate(values):
            before = widget.n_updates
            t0 = time.perf_counter()
            control.value = value
            ms = 1000 * (time.perf_counter() - t0)
            if widget.n_updates == before:
                raise RuntimeError(f"{type(widget).__name__}.{name} = {value!r} did not redraw")
            if k:  # the first move warms up (first-call tracing, caches)
                times[name].append(ms)
    reset(widget, start)
    return times


def row(source: str, widget, times: dict, mode: str) -> dict:
    every = [ms for ms_list in times.values() for ms in ms_list]
    if not every:
        raise RuntimeError(f"{source}: no control of {widget_name(widget)} could be moved")
    medians = {name: statistics.median(ms) for name, ms in times.items() if ms}
    return {"notebook": source, "widget": widget_name(widget), "controls": list(widget.controls),
            "median_ms": round(statistics.median(every), 1), "max_ms": round(max(every), 1),
            "within_budget": max(every) <= BUDGET_MS,
            "slowest_control": max(medians, key=medians.get),
            "per_control": {name: {"median_ms": round(medians[name], 1),
                                   "max_ms": round(max(ms), 1), "moves": len(ms)}
                            for name, ms in times.items() if ms},
            "moves": len(every), "mode": mode, "date": date.today().isoformat(),
            "machine": f"{processor()}, {os.cpu_count()} CPUs"}


def processor() -> str:
    """The CPU's name: ``platform.processor()`` is empty on Linux, /proc/cpuinfo has it."""
    if platform.processor():
        return platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    names = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")]
    return names[0] if names else platform.machine()


# --------------------------------------------------------------------------- reporting

def table(rows: list[dict]) -> str:
    lines = ["| notebook | widget | slowest control (median) | moves | median | max "
             f"| within {BUDGET_MS:.0f} ms |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        slow = r["slowest_control"]
        lines.append(f"| `{r['notebook']}` | {r['widget']} | `{slow}` "
                     f"({r['per_control'][slow]['median_ms']:.0f} ms) | {r['moves']} "
                     f"| {r['median_ms']:.0f} ms | {r['max_ms']:.0f} ms "
                     f"| {'yes' if r['within_budget'] else '**no**'} |")
    return "\n".join(lines)


def merge(old: list[dict], new: list[dict]) -> list[dict]:
    """``new`` replaces the rows of the same widget in ``old``; notebook order, then explore."""
    fresh = {(r["notebook"], r["widget"]) for r in new}
    order = list(sources())
    rows = [r for r in old if (r["notebook"], r["widget"]) not in fresh] + new
    return sorted(rows, key=lambda r: order.index(r["notebook"]) if r["notebook"] in order
                  else len(order))


def write_readme(rows: list[dict]) -> bool:
    """Rewrite the table between the README's markers; True when it changed. The markers are
    the README's to place: without them, nothing is written."""
    text = README.read_text(encoding="utf-8")
    if MARKERS[0] not in text or MARKERS[1] not in text:
        print(f"README.md has no {MARKERS[0]} ... {MARKERS[1]} block: not rewritten")
        return False
    measured = sorted({f"{r['date']} ({r['machine']}, {r['mode']} mode)" for r in rows})
    block = (table(rows) + "\n\nRedraw after one control moves (compute, draw, PNG), "
             f"measured {'; '.join(measured)} by `benchmarks/widget_latency.py`.")
    start, end = text.index(MARKERS[0]) + len(MARKERS[0]), text.index(MARKERS[1])
    new = text[:start] + "\n" + block + "\n" + text[end:]
    if new != text:
        files.write_text(README, new)
    return new != text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("which", nargs="*", help="notebook numbers or names, explore or an explore "
                                             "page (default: all)")
    ap.add_argument("--quick", action="store_true",
                    help="quick-mode inputs and 2 moves per control (a smoke run)")
    ap.add_argument("--moves", type=int, help="timed moves per control (default 5, quick 2)")
    ap.add_argument("--out", type=Path, help=f"JSON to merge the rows into (default: {RESULTS.name}"
                                             "; none with --quick)")
    ap.add_argument("--readme", action="store_true", help="also rewrite the README's table")
    args = ap.parse_args(argv)
    if args.readme and (args.quick or (args.out and args.out.resolve() != RESULTS)):
        ap.error(f"--readme shows the full-mode numbers of {RESULTS.name}: drop --quick / --out")
    moves = args.moves or (2 if args.quick else 5)
    mode = "quick" if args.quick else "full"
    found = sources(args.which)
    if not found:
        ap.error(f"nothing matches {args.which}; try 05, explore or 4-vae-latent-space")
    rows = []
    for source, build in found.items():
        t0 = time.perf_counter()
        shown = [w for w in build(args.quick) if hasattr(w, "controls")]  # not HTML notes
        built = time.perf_counter() - t0
        for widget in shown:
            rows.append(row(source, widget, time_moves(widget, moves), mode))
            r = rows[-1]
            print(f"{source:32s} {r['widget']:34s} median {r['median_ms']:7.1f} ms  "
                  f"max {r['max_ms']:7.1f} ms  ({r['moves']} moves; built in {built:.1f} s)",
                  flush=True)
    print()
    print(table(rows))
    out = args.out or (None if args.quick else RESULTS)
    if out is not None:
        merged = merge(json.loads(out.read_text(encoding="utf-8")) if out.is_file() else [], rows)
        files.write_json(out, merged)
        print(f"\n{len(rows)} rows written to {out}")
        if args.readme and write_readme(merged):
            print("README table updated")


if __name__ == "__main__":
    main()

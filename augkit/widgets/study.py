"""Explore the downstream study's results with dropdowns: dataset, setting, labeled set size,
strategy and synthetic ratio. Introduced in ``notebooks/08_downstream_generalization.ipynb``.

The left panel shows every seed of the chosen cell next to real-only training on the same
subset (one line per seed: the paired comparison the report's intervals are built on); the
right panel shows the paired gain of every strategy at that size and setting, the chosen one
highlighted. Nothing is recomputed: the widget reads the rows of ``results.*.jsonl``.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np

from augkit.study import report
from augkit.widgets.base import LiveFigure


def _ok(rows):
    return [r for r in rows if r.get("test_acc") is not None]


class ResultsExplorer(LiveFigure):
    """Pick a cell of the study; see its seeds against real-only, and every strategy's gain."""

    figsize = (10.5, 3.9)

    def __init__(self, rows):
        self.rows = _ok(rows)
        if not self.rows:
            raise ValueError("no finished runs to explore: run `augkit study` first")
        self.cells = report.summarize(self.rows)
        first = self.cells[0]
        dd = dict(continuous_update=False, style={"description_width": "110px"})
        controls = {
            "dataset": W.Dropdown(options=self._options("dataset"), value=first["dataset"],
                                  description="dataset", **dd),
            "setting": W.Dropdown(description="setting", **dd),
            "n_per_class": W.Dropdown(description="labeled / class", **dd),
            "strategy": W.Dropdown(description="strategy", **dd),
            "ratio": W.Dropdown(description="synthetic : real", **dd),
        }
        self.controls = controls
        self._busy = False
        self._cascade("dataset", controls, initial=True)
        super().__init__(controls)

    def _options(self, key, **fixed):
        values = {c[key] for c in self.cells if all(c[k] == v for k, v in fixed.items())}
        if key == "strategy":
            return sorted(values, key=report._order)
        if key == "setting":
            return [s for s in ("fair", "pool", "leaky") if s in values] + sorted(
                values - {"fair", "pool", "leaky"})
        return sorted(values)

    def _cascade(self, changed: str, controls=None, initial: bool = False) -> None:
        """Narrow the controls after ``changed`` to the cells that exist, keeping a value
        where it is still valid (the same strategy at another size, say)."""
        controls = controls or self.controls
        order = ["dataset", "setting", "n_per_class", "strategy", "ratio"]
        fixed = {}
        for key in order:
            if key != "dataset" and (initial or order.index(key) > order.index(changed)):
                options = self._options(key, **fixed)
                control = controls[key]
                keep = control.value if control.value in options else None
                if key == "strategy" and keep is None:
                    keep = "gan" if "gan" in options else options[0]
                if key == "ratio" and keep is None:
                    keep = 1.0 if 1.0 in options else options[0]
                control.options = [(f"{o:g}" if isinstance(o, float) else str(o), o)
                                   for o in options]
                control.value = keep if keep is not None else options[0]
            fixed[key] = controls[key].value

    def _on_change(self, change) -> None:
        if self._busy:  # a control the cascade itself is narrowing
            return
        name = next(k for k, c in self.controls.items() if c is change["owner"])
        self._busy = True
        try:
            self._cascade(name)
        finally:
            self._busy = False
        self.update()

    def compute(self, dataset, setting, n_per_class, strategy, ratio) -> dict:
        same = [r for r in self.rows if r["dataset"] == dataset and r["setting"] == setting
                and r["n_per_class"] == n_per_class]
        mine = {r["seed"]: r["test_acc"] for r in same
                if r["strategy"] == strategy and abs(r["ratio"] - ratio) < 1e-9}
        real = {r["seed"]: r["test_acc"] for r in same if r["strategy"] == "real"}
        cells = [c for c in self.cells if (c["dataset"], c["setting"], c["n_per_class"])
                 == (dataset, setting, n_per_class)]
        chosen = next((c for c in cells if c["strategy"] == strategy
                       and abs(c["ratio"] - ratio) < 1e-9), None)
        gains = [(c["strategy"], c["ratio"], c["gain"]) for c in cells if c["gain"]]
        return {"seeds": sorted(set(mine) & set(real)), "acc": mine, "real": real,
                "cell": chosen, "gains": gains, "strategy": strategy, "ratio": ratio,
                "n_per_class": n_per_class, "setting": setting, "dataset": dataset}

    def describe(self, state) -> str:
        c = state["cell"]
        if c is None:
            return "no runs for this choice"
        ratio = "" if c["ratio"] == 0 else f", ratio {c['ratio']:g}"
        text = (f"<b>{c['strategy']}</b> at {c['n_per_class']} labeled per class{ratio} "
                f"({c['setting']}): "
                f"test accuracy {c['acc'].mean * 100:.2f} % ± {c['acc'].half_width * 100:.2f} "
                f"over {c['n_seeds']} seeds")
        if c["gain"] is not None:
            g = c["gain"]
            verdict = ("helps" if g.low > 0 else "hurts" if g.high < 0
                       else "no difference the seeds can support")
            text += (f"; paired gain over real-only {g.mean * 100:+.2f} ± "
                     f"{g.half_width * 100:.2f} points: <b>{verdict}</b>")
        if c["kept_share"] is not None:
            text += f"; screening kept {c['kept_share']:.0%} of the drawn images"
        return text

    def draw(self, fig, state) -> None:
        left, right = fig.subplots(1, 2, width_ratios=[1, 1.6])
        seeds = state["seeds"]
        if state["strategy"] != "real" and seeds:
            for s in seeds:
                left.plot([0, 1], [state["real"][s] * 100, state["acc"][s] * 100], "o-",
                          color="0.5", lw=1)
            left.set_xticks([0, 1], ["real only", state["strategy"]])
            left.set_xlim(-0.4, 1.4)
        else:
            values = [v * 100 for v in state["real"].values()]
            left.plot(np.zeros(len(values)), values, "o", color="black")
            left.set_xticks([0], ["real only"])
        left.set_ylabel("test accuracy (%)")
        left.set_title(f"each seed (its own labeled subset), {state['n_per_class']} per class",
                       fontsize=9)
        left.grid(alpha=0.3, axis="y")
        gains = state["gains"]
        if gains:
            labels = [s if r in (0.0, 1.0) else f"{s} ×{r:g}" for s, r, _ in gains]
            y = np.arange(len(gains))[::-1]
            for yi, (s, r, g) in zip(y, gains, strict=True):
                picked = s == state["strategy"] and abs(r - state["ratio"]) < 1e-9
                right.errorbar(g.mean * 100, yi, xerr=[[(g.mean - g.low) * 100],
                                                       [(g.high - g.mean) * 100]],
                               fmt="o", capsize=3, ms=7 if picked else 4,
                               color="tab:red" if picked else "0.3")
            right.set_yticks(y, labels, fontsize=8)
            right.axvline(0, color="black", lw=0.8)
        right.set_xlabel("paired gain over real-only (points, 95 % CI)")
        right.set_title(f"every strategy, {state['setting']} setting", fontsize=9)
        right.grid(alpha=0.3, axis="x")


class RoutesByLabels(LiveFigure):
    """A slider over the labeled images per class of the shipped results: every route to a
    better classifier at that size (:func:`augkit.study.semisupervised.comparison`), one bar each.
    Introduced in ``notebooks/09_semi_supervised.ipynb``."""

    figsize = (9.0, 4.2)

    def __init__(self, rows, dataset: str = "mnist"):
        from augkit.study import semisupervised as semi

        self.rows, self.dataset = _ok(rows), dataset
        sizes = sorted({r["n_per_class"] for r in self.rows if r["dataset"] == dataset
                        and semi.comparison(self.rows, dataset, r["n_per_class"])})
        if not sizes:
            raise ValueError(f"no {dataset} results to show: run `augkit study` first")
        slider = W.SelectionSlider(options=sizes, value=sizes[0], description="labels / class",
                                   continuous_update=False, style={"description_width": "110px"})
        super().__init__({"n_per_class": slider})

    def compute(self, n_per_class):
        from augkit.study import semisupervised as semi

        return {"n_per_class": n_per_class,
                "lines": semi.comparison(self.rows, self.dataset, n_per_class)}

    def draw(self, fig, state):
        from augkit.study import semisupervised as semi

        semi.draw_routes(fig.subplots(), state["lines"], self.dataset, state["n_per_class"])

    def describe(self, state):
        best = max(state["lines"], key=lambda ln: ln["acc"].mean)
        return (f"{state['n_per_class']} labels per class: best route <b>{best['label']}</b>, "
                f"{100 * best['acc'].mean:.1f} % ({best['n_seeds']} seeds)")

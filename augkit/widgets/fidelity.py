"""Widgets and figures for the fidelity metrics of :mod:`augkit.fidelity`, on the toy 2-D
generators of :mod:`augkit.toy2d`. Introduced in ``notebooks/07_measuring_generators.ipynb``.

* :func:`ball_panel`: the k-nearest-neighbour balls behind precision and recall, drawn;
* :func:`metric_bars`: precision, recall, density and coverage as a bar chart;
* :class:`PrecisionRecallSlider`: a ``mix`` slider from the mode-dropping generator (0) to the
  over-dispersed one (1), redrawing the scatter and the four numbers.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.patches import Circle

from augkit import fidelity, toy2d
from augkit.widgets.base import LiveFigure

METRICS = ("precision", "recall", "density", "coverage")
REAL_COLOUR, FAKE_COLOUR = "0.35", "C1"


def four_metrics(real, fake) -> dict:
    """Precision and recall (k = 3) and density and coverage (k = 5) of ``fake`` against ``real``."""
    pr = fidelity.precision_recall(real, fake, k=3)
    dc = fidelity.density_coverage(real, fake, k=5)
    return {name: (pr | dc)[name] for name in METRICS}


def ball_panel(ax, centres, points, k: int = 3, centre_label: str = "real",
               point_label: str = "generated", centre_colour: str = REAL_COLOUR,
               point_colour: str = FAKE_COLOUR) -> float:
    """Draw a ball around every row of ``centres`` reaching its k-th nearest neighbour among
    ``centres``, and mark which ``points`` fall inside some ball (filled) or outside all of
    them (crosses). Returns the share inside: precision when the centres are real and the
    points generated, recall the other way round."""
    centres, points = np.asarray(centres), np.asarray(points)
    radii = fidelity.knn_radii(centres, k)
    d = np.sqrt(((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1))  # small sets only
    inside = (d <= radii[None, :]).any(axis=1)
    balls = PatchCollection([Circle(c, r) for c, r in zip(centres, radii, strict=True)],
                            facecolor=centre_colour, alpha=0.12, edgecolor="none")
    ax.add_collection(balls)
    ax.scatter(*centres.T, s=4, color=centre_colour, label=f"{centre_label} (ball centres)")
    ax.scatter(*points[inside].T, s=10, color=point_colour,
               label=f"{point_label}: inside a ball ({inside.mean():.0%})")
    ax.scatter(*points[~inside].T, s=22, marker="x", color="C3", linewidths=1.0,
               label=f"{point_label}: outside every ball")
    _square(ax)
    return float(inside.mean())


def _square(ax, lim: float = toy2d.RADIUS + 1.2) -> None:
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def metric_bars(ax, named: dict, title: str = "") -> None:
    """Grouped bars: one group per metric, one bar per entry of ``named`` ({label: metrics})."""
    width = 0.8 / len(named)
    x = np.arange(len(METRICS))
    for i, (label, m) in enumerate(named.items()):
        values = [m[name] for name in METRICS]
        bars = ax.bar(x + (i - (len(named) - 1) / 2) * width, values, width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set_xticks(x, METRICS)
    ax.set_ylim(0, 1.35)
    ax.set_ylabel("value (ideal about 1)")
    if len(named) > 1:
        ax.legend(fontsize=8, loc="upper right", ncols=len(named))
    if title:
        ax.set_title(title, fontsize=10)


class PrecisionRecallSlider(LiveFigure):
    """A ``mix`` slider between two flawed toy generators (:func:`augkit.toy2d.blend`).

    At 0 the generator keeps 4 of the 8 real modes (high precision, low recall); at 1 it has
    all 8 at twice the real spread (low precision, high recall); in between, the missing
    modes fade in while the spread widens. Each move resamples the generator (same seed),
    recomputes the four metrics and redraws the scatter and a bar chart.

    ``state``: ``mix``, ``modes`` (effective number of modes), ``std``, ``real``, ``fake``,
    ``n`` and ``precision``, ``recall``, ``density``, ``coverage``.
    Introduced in ``notebooks/07_measuring_generators.ipynb``.
    """

    figsize = (10.0, 4.2)
    dpi = 90

    def __init__(self, n: int = 1000, mix: float = 0.0, seed: int = 0):
        self.n, self.seed = int(n), seed
        self.real = toy2d.real(self.n, seed=seed)
        self.mix = W.FloatSlider(value=mix, min=0.0, max=1.0, step=0.05, description="mix",
                                 readout_format=".2f", continuous_update=False,
                                 layout=W.Layout(width="420px"))
        super().__init__({"mix": self.mix})

    def compute(self, mix: float) -> dict:
        settings = toy2d.blend_settings(mix)
        fake = toy2d.blend(self.n, mix, seed=self.seed + 1)
        return {"mix": float(mix), "modes": settings["modes"], "std": settings["std"],
                "real": self.real, "fake": fake, "n": self.n,
                **four_metrics(self.real, fake)}

    def describe(self, s: dict) -> str:
        numbers = " &nbsp; ".join(f"{name} <b>{s[name]:.2f}</b>" for name in METRICS)
        return (f"mix {s['mix']:.2f}: {s['modes']:.1f} effective modes, spread "
                f"{s['std'] / toy2d.STD:.2f}x the real one &nbsp;|&nbsp; {numbers}")

    def draw(self, fig, s: dict) -> None:
        ax, ax_bars = fig.subplots(1, 2, width_ratios=[1.0, 1.15])
        ax.scatter(*s["real"].T, s=4, color=REAL_COLOUR, alpha=0.6, label="real (8 modes)")
        ax.scatter(*s["fake"].T, s=4, color=FAKE_COLOUR, alpha=0.6, label="generated")
        ax.legend(fontsize=8, loc="center", markerscale=3)  # the ring is empty inside
        _square(ax)
        ax.set_title(f"mix {s['mix']:.2f}: {s['modes']:.1f} modes, spread x{s['std'] / toy2d.STD:.2f}",
                     fontsize=10)
        metric_bars(ax_bars, {"generated": s}, title=f"{s['n']} real, {s['n']} generated points")

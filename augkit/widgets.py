"""Interactive views for the data notebooks (ipywidgets 8, JupyterLab 4).

Each builder returns a small object holding its sliders, an ``Output`` it draws
into, the assembled ``widget`` to display, and a ``state`` dict with what the last
redraw computed, so tests can set ``slider.value`` headlessly and check the result.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from augkit import data, plots


class SubsetPreview:
    """Slider for the number of labeled examples per class; redraws the subset grid.

    Introduced in ``notebooks/00_start_here.ipynb``: it shows what a "small labeled
    training set" of n per class looks like before later notebooks try to augment it.
    """

    def __init__(self, x, y, class_names, max_per_class: int = 20, value: int = 5,
                 seed: int = 0, show: int = 10):
        self.x, self.y, self.class_names = x, np.asarray(y).reshape(-1), class_names
        self.show = show
        self.state: dict = {}
        self.n = W.IntSlider(value=value, min=1, max=max_per_class, step=1,
                             description="n per class", continuous_update=False)
        self.seed = W.IntSlider(value=seed, min=0, max=20, description="seed",
                                continuous_update=False)
        self.info = W.HTML()
        self.out = W.Output()
        self.widget = W.VBox([W.HBox([self.n, self.seed]), self.info, self.out])
        for s in (self.n, self.seed):
            s.observe(self._redraw, names="value")
        self._redraw()

    def _redraw(self, _change=None):
        n, seed = self.n.value, self.seed.value
        xs, ys = data.labeled_subset(self.x, self.y, n, seed=seed)
        counts = np.bincount(ys, minlength=len(self.class_names))
        self.state = {"n_per_class": n, "seed": seed, "size": len(ys), "counts": counts,
                      "labels": ys}
        self.info.value = (f"<b>{len(ys)}</b> labeled images ({n} per class, seed {seed}); "
                           f"showing up to {self.show} per class")
        # Show the first few of each class, one row per class.
        order = np.argsort(ys, kind="stable")
        keep = np.concatenate([order[ys[order] == c][: self.show] for c in np.unique(ys)])
        self.state["drawn"] = len(keep)
        with self.out:
            self.out.clear_output(wait=True)
            fig = plots.class_grid(xs[keep], ys[keep], self.class_names,
                                   per_class=min(n, self.show), size=0.6)
            display(fig)
            plt.close(fig)

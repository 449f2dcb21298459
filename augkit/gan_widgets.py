"""Widgets for watching and probing GANs (notebooks 04 and 06).

Each builder holds its controls, an ``Output`` it draws into, the assembled ``widget``
and a ``state`` dict with what the last redraw computed, so tests can drive the
controls headlessly. Introduced in ``notebooks/04_gan_mnist.ipynb``.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from augkit import data, plots
from augkit.widgets import class_buttons, render_into


def _grid_into(ax_grid, images, ncols=10):
    """Tile (N, H, W, C) uint8 images into one array for a single imshow."""
    images = np.asarray(images)
    n, h, w, c = images.shape
    rows = int(np.ceil(n / ncols))
    canvas = np.zeros((rows * h, ncols * w, c), np.uint8)
    for i, img in enumerate(images):
        r, col = divmod(i, ncols)
        canvas[r * h:(r + 1) * h, col * w:(col + 1) * w] = img
    ax_grid.imshow(canvas[..., 0] if c == 1 else canvas, cmap="gray" if c == 1 else None,
                   vmin=0, vmax=255)
    ax_grid.axis("off")


class TrainingPlayback:
    """An epoch slider over a training record: the fixed-noise grid and the losses so far."""

    def __init__(self, record: dict):
        self.frames, self.record = np.asarray(record["frames"]), record
        self.state: dict = {}
        self.steps_per_epoch = max(1, int(record["steps"][-1]) // len(self.frames)) if len(record["steps"]) else 1
        self.epoch = W.IntSlider(value=len(self.frames), min=1, max=len(self.frames),
                                 description="epoch", continuous_update=True)
        self.out = W.Output()
        self.widget = W.VBox([self.epoch, self.out])
        self.epoch.observe(self._redraw, names="value")
        self._redraw()

    def _redraw(self, _change=None):
        e = self.epoch.value
        steps = np.asarray(self.record["steps"])
        upto = steps <= e * self.steps_per_epoch
        self.state = {"epoch": e, "frame": self.frames[e - 1], "steps_shown": int(upto.sum())}
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1.3, 1]})
        _grid_into(a, self.frames[e - 1])
        a.set_title(f"same noise after epoch {e}")
        for key, colour in (("log_d_loss", "tab:red"), ("log_g_loss", "tab:blue")):
            if key in self.record:
                b.plot(steps, self.record[key], color=colour, alpha=0.25)
                b.plot(steps[upto], np.asarray(self.record[key])[upto], color=colour, label=key[4:])
        b.axvline(e * self.steps_per_epoch, color="k", lw=0.8, ls="--")
        b.set_xlabel("training step")
        b.set_title("losses (running mean within each epoch)")
        b.legend(fontsize=8)
        fig.tight_layout()
        render_into(self.out, fig)


class ConditionalExplorer:
    """Class buttons and a seed slider: a grid of digits of the chosen class."""

    def __init__(self, model, class_names, n: int = 20):
        self.model, self.n, self.state = model, n, {}
        self.label = class_buttons(class_names)
        self.seed = W.IntSlider(value=0, min=0, max=100, description="seed", continuous_update=False)
        self.out = W.Output()
        self.widget = W.VBox([self.label, self.seed, self.out])
        for w in (self.label, self.seed):
            w.observe(self._redraw, names="value")
        self._redraw()

    def _redraw(self, _change=None):
        images, labels = self.model.sample(self.n, labels=self.label.value, seed=self.seed.value)
        self.state = {"images": images, "labels": labels}
        render_into(self.out, plots.image_grid(images, ncols=10, size=0.9))


class LatentInterpolation:
    """A slider t in [0, 1] walking from noise z0 to z1 (same class): one image per t."""

    def __init__(self, model, label: int = 3, seeds=(1, 2), steps: int = 9):
        self.model, self.state = model, {}
        rng0, rng1 = (np.random.default_rng(s) for s in seeds)
        self.z0 = rng0.standard_normal(model.latent_dim).astype(np.float32)
        self.z1 = rng1.standard_normal(model.latent_dim).astype(np.float32)
        self.label = W.BoundedIntText(value=label, min=0, max=model.num_classes - 1, description="class")
        self.t = W.FloatSlider(value=0.0, min=0.0, max=1.0, step=1.0 / (steps - 1), description="t")
        self.out = W.Output()
        self.widget = W.VBox([W.HBox([self.label, self.t]), self.out])
        for w in (self.label, self.t):
            w.observe(self._redraw, names="value")
        self._redraw()

    def strip(self, steps: int = 9):
        """Images along the straight line between z0 and z1, as uint8."""
        ts = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
        z = (1 - ts) * self.z0 + ts * self.z1
        labels = np.full(steps, self.label.value) if self.model.conditional else None
        return data.from_minus1_1(self.model.generate(z, labels))

    def _redraw(self, _change=None):
        z = ((1 - self.t.value) * self.z0 + self.t.value * self.z1)[None]
        labels = np.array([self.label.value]) if self.model.conditional else None
        self.state = {"t": self.t.value, "image": data.from_minus1_1(self.model.generate(z, labels))[0]}
        render_into(self.out, plots.image_grid(self.state["image"][None], size=2.0))

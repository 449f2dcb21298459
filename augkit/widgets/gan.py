"""Widgets for watching and probing GANs, introduced in ``notebooks/04_gan_mnist.ipynb`` and
used again on CIFAR-10 in ``notebooks/06_cifar10.ipynb``.

Each is a :class:`augkit.widgets.base.LiveFigure`; a model is anything with the sampling
interface of :class:`augkit.gan.GAN` (``sample``, ``generate``, ``latent_dim``,
``num_classes``, ``conditional``), which :class:`augkit.vae.VAE` has as well.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np

from augkit import data, plots
from augkit.widgets.base import LiveFigure, class_buttons


class TrainingPlayback(LiveFigure):
    """An epoch slider over a training record: the fixed-noise grid and the losses so far.
    Introduced in ``notebooks/04_gan_mnist.ipynb``, replayed for CIFAR-10 in notebook 06.

    ``record`` is what :func:`augkit.zoo.load_history` returns (``frames``: one grid of
    samples from the same noise after each epoch; ``steps`` and ``log_*`` loss curves).
    ``state``: ``epoch``, ``frame`` (that epoch's grid, uint8) and ``steps_shown`` (how many
    logged steps lie at or before the end of that epoch).
    """

    figsize = (11.0, 3.6)

    def __init__(self, record: dict):
        self.frames, self.record = np.asarray(record["frames"]), record
        self.steps = np.asarray(record["steps"])
        # The record logs steps, the slider counts epochs: assume equal epochs. Not rounded
        # down, or the last epoch would leave out the last logged steps.
        self.steps_per_epoch = float(self.steps[-1]) / len(self.frames) if len(self.steps) else 1.0
        # Cheap to redraw (one imshow), so the picture can follow the drag.
        self.epoch = W.IntSlider(value=len(self.frames), min=1, max=len(self.frames),
                                 description="epoch", continuous_update=True)
        super().__init__({"epoch": self.epoch})

    def arrange(self) -> W.Widget:
        return W.VBox([self.epoch, self.output])

    def compute(self, epoch: int) -> dict:
        upto = self.steps <= epoch * self.steps_per_epoch
        return {"epoch": epoch, "frame": self.frames[epoch - 1], "steps_shown": int(upto.sum()),
                "upto": upto}

    def draw(self, fig, s: dict) -> None:
        a, b = fig.subplots(1, 2, width_ratios=[1.3, 1])
        plots.grid_into(a, s["frame"])
        a.set_title(f"same noise after epoch {s['epoch']}")
        for key, colour in (("log_d_loss", "tab:red"), ("log_g_loss", "tab:blue")):
            if key in self.record:
                values = np.asarray(self.record[key])
                b.plot(self.steps, values, color=colour, alpha=0.25)  # the whole run, faint
                b.plot(self.steps[s["upto"]], values[s["upto"]], color=colour, label=key[4:])
        b.axvline(s["epoch"] * self.steps_per_epoch, color="k", lw=0.8, ls="--")
        b.set_xlabel("training step")
        b.set_title("losses (running mean within each epoch)")
        b.legend(fontsize=8)


class ConditionalExplorer(LiveFigure):
    """Class buttons and a seed slider: a grid of ``n`` samples of the chosen class.
    Introduced in ``notebooks/04_gan_mnist.ipynb``, used on CIFAR-10 in notebook 06.

    ``state``: ``images`` (uint8) and ``labels`` (all equal to the chosen class).
    """

    layout = None

    def __init__(self, model, class_names, n: int = 20):
        self.model, self.n = model, n
        self.label = class_buttons(class_names)
        self.seed = W.IntSlider(value=0, min=0, max=100, description="seed", continuous_update=False)
        super().__init__({"label": self.label, "seed": self.seed})

    def arrange(self) -> W.Widget:
        return W.VBox([self.label, self.seed, self.output])

    def compute(self, label: int, seed: int) -> dict:
        images, labels = self.model.sample(self.n, labels=label, seed=seed)
        return {"images": images, "labels": labels}

    def draw(self, fig, s: dict) -> None:
        # one tiled image on one axes: 20 axes cost most of a redraw
        rows = int(np.ceil(len(s["images"]) / 10))
        fig.set_size_inches(10 * 0.9, rows * 0.9)
        plots.grid_into(fig.add_axes((0.0, 0.0, 1.0, 1.0)), s["images"], ncols=10, gap=3)


class LatentInterpolation(LiveFigure):
    """A slider t in [0, 1] walking from noise z0 to z1 (same class): one image per t.
    Introduced in ``notebooks/04_gan_mnist.ipynb``.

    ``z0`` and ``z1`` are fixed by ``seeds``; the class box changes the label, not the noise, so
    the walk shows what the noise alone decides. ``state``: ``t``, ``label``, ``z`` and
    ``image`` (uint8).
    """

    layout = None

    def __init__(self, model, label: int = 3, seeds=(1, 2), steps: int = 9):
        self.model = model
        rng0, rng1 = (np.random.default_rng(s) for s in seeds)
        self.z0 = rng0.standard_normal(model.latent_dim).astype(np.float32)
        self.z1 = rng1.standard_normal(model.latent_dim).astype(np.float32)
        self.label = W.BoundedIntText(value=label, min=0, max=model.num_classes - 1, description="class")
        self.t = W.FloatSlider(value=0.0, min=0.0, max=1.0, step=1.0 / (steps - 1), description="t")
        super().__init__({"label": self.label, "t": self.t})

    def arrange(self) -> W.Widget:
        return W.VBox([W.HBox([self.label, self.t]), self.output])

    def strip(self, steps: int = 9) -> np.ndarray:
        """Images along the straight line between z0 and z1, as uint8."""
        ts = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
        z = (1 - ts) * self.z0 + ts * self.z1
        labels = np.full(steps, self.label.value) if self.model.conditional else None
        return data.from_minus1_1(self.model.generate(z, labels))

    def compute(self, label: int, t: float) -> dict:
        z = (1 - t) * self.z0 + t * self.z1
        labels = np.array([label]) if self.model.conditional else None
        image = data.from_minus1_1(self.model.generate(z[None], labels))[0]
        return {"t": t, "label": label, "z": z, "image": image}

    def draw(self, fig, s: dict) -> None:
        plots.image_grid(s["image"][None], size=2.0, fig=fig)

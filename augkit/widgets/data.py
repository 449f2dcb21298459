"""Widgets for the data notebooks: what a small labeled set looks like, and what augmentation
does to it. Both follow :class:`augkit.widgets.base.LiveFigure` and draw with
:mod:`augkit.plots`, so the pictures match the static figures around them.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np

from augkit import augment, data, plots
from augkit.widgets.base import LiveFigure


class SubsetPreview(LiveFigure):
    """Slider for the number of labeled examples per class; redraws the subset grid.

    Introduced in ``notebooks/00_start_here.ipynb``: it shows what a "small labeled
    training set" of n per class looks like before later notebooks try to augment it.
    ``state``: ``n_per_class``, ``seed``, ``size``, ``counts`` (per class), ``labels`` (of the
    whole subset) and ``drawn`` (how many of them the grid shows).
    """

    layout = None

    def __init__(self, x, y, class_names, max_per_class: int = 20, value: int = 5,
                 seed: int = 0, show: int = 10):
        self.x, self.y, self.class_names = x, np.asarray(y).reshape(-1), class_names
        self.show = show
        self.n = W.IntSlider(value=value, min=1, max=max_per_class, step=1,
                             description="n per class", continuous_update=False)
        self.seed = W.IntSlider(value=seed, min=0, max=20, description="seed",
                                continuous_update=False)
        super().__init__({"n": self.n, "seed": self.seed})

    def arrange(self) -> W.Widget:
        return W.VBox([W.HBox([self.n, self.seed]), self.readout, self.output])

    def compute(self, n: int, seed: int) -> dict:
        xs, ys = data.labeled_subset(self.x, self.y, n, seed=seed)
        counts = np.bincount(ys, minlength=len(self.class_names))
        # A grid of all 20 x 10 images would be unreadable: the first few of each class.
        order = np.argsort(ys, kind="stable")
        keep = np.concatenate([order[ys[order] == c][: self.show] for c in np.unique(ys)])
        return {"n_per_class": n, "seed": seed, "size": len(ys), "counts": counts,
                "labels": ys, "drawn": len(keep), "shown_x": xs[keep], "shown_y": ys[keep]}

    def describe(self, s: dict) -> str:
        return (f"<b>{s['size']}</b> labeled images ({s['n_per_class']} per class, seed "
                f"{s['seed']}); showing up to {self.show} per class")

    def draw(self, fig, s: dict) -> None:
        rows = {self.class_names[int(c)]: s["shown_x"][s["shown_y"] == c]
                for c in np.unique(s["shown_y"])}
        plots.rows_into(fig, rows, size=0.6)


class AugmentGallery(LiveFigure):
    """A strength slider plus one slider per transform; redraws a grid of augmented images.

    Moving ``strength`` resets every transform slider to the dataset's default set
    scaled by that strength (:func:`augkit.augment.default_config`); moving a single
    transform slider overrides just that parameter. Introduced in
    ``notebooks/03_classic_augmentation.ipynb``.
    ``state``: ``config`` (the :class:`~augkit.augment.AugmentConfig` drawn), ``images`` (every
    augmented copy, image by image) and ``mean_abs_change`` (mean absolute pixel change).
    """

    layout = None
    _SPECS = {  # name: (max, step)
        "rotation": (180.0, 1.0), "translation": (0.5, 0.01), "zoom": (0.5, 0.01),
        "contrast": (0.9, 0.05), "brightness": (0.5, 0.02), "noise": (0.3, 0.01),
        "erasing": (1.0, 0.05), "elastic": (1.0, 0.05),
    }

    def __init__(self, images, dataset: str, strength: float = 1.0, copies: int = 8, seed: int = 0):
        self.images, self.dataset, self.copies = np.asarray(images), dataset, copies
        self.seed = seed
        self.strength = W.FloatSlider(value=strength, min=0.0, max=3.0, step=0.1,
                                      description="strength", continuous_update=False)
        self.params = {name: W.FloatSlider(min=0.0, max=mx, step=st, description=name,
                                           continuous_update=False)
                       for name, (mx, st) in self._SPECS.items()}
        self.flip = W.Checkbox(description="horizontal flip")
        self._set_from_strength()
        super().__init__({"strength": self.strength, **self.params, "flip": self.flip})

    def arrange(self) -> W.Widget:
        sliders = W.VBox(list(self.controls.values()))
        return W.VBox([W.HBox([sliders, self.output]), self.readout])

    def _set_from_strength(self):
        cfg = augment.default_config(self.dataset, self.strength.value)
        for name, slider in self.params.items():
            slider.value = min(getattr(cfg, name), slider.max)
        self.flip.value = cfg.flip

    def _on_change(self, change) -> None:
        if change.owner is self.strength:
            with self.hold():  # eight slider moves, one redraw
                self._set_from_strength()
        else:
            self.update()

    def config(self) -> augment.AugmentConfig:
        """The :class:`AugmentConfig` the sliders describe now."""
        return augment.AugmentConfig(flip=self.flip.value,
                                     **{k: float(s.value) for k, s in self.params.items()})

    def compute(self, strength: float, flip: bool, **params) -> dict:
        cfg = augment.AugmentConfig(flip=flip, **{k: float(v) for k, v in params.items()})
        batch = np.repeat(self.images[:, None], self.copies, axis=1)
        flat = batch.reshape(-1, *self.images.shape[1:])
        out = np.asarray(augment.Augmenter(cfg, seed=self.seed)(flat))
        return {"config": cfg, "images": out,
                "mean_abs_change": float(np.abs(out - flat.astype(np.float32)).mean())}

    def describe(self, s: dict) -> str:
        active = ", ".join(s["config"].active()) or "none (identity)"
        return (f"active transforms: <b>{active}</b>; mean |pixel change| "
                f"{s['mean_abs_change']:.1f} / 255")

    def draw(self, fig, s: dict) -> None:
        out = s["images"]
        rows = {f"image {i}": out[i * self.copies:(i + 1) * self.copies]
                for i in range(len(self.images))}
        plots.rows_into(fig, rows, size=0.8)

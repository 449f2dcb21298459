"""Interactive views for the data notebooks (ipywidgets 8, JupyterLab 4).

Each builder returns a small object holding its sliders, an ``Output`` it draws
into, the assembled ``widget`` to display, and a ``state`` dict with what the last
redraw computed, so tests can set ``slider.value`` headlessly and check the result.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from augkit import augment, data, plots


def render_into(output: W.Output, fig, dpi: int = 80) -> None:
    """Show ``fig`` as a PNG in ``output`` by setting the widget's state, then close it.

    Why not ``with output: display(fig)``: capturing output while a cell executes (the
    first draw, or a slider set from code) intermittently hangs nbclient, which runs
    these notebooks in the tests and in ``augkit run``. A state update never does, it
    replaces the old picture in one message (no flicker), and it works headless, so
    tests can check that a picture was drawn.
    """
    import base64
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    output.outputs = ({"output_type": "display_data", "metadata": {},
                       "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                                "text/plain": "<Figure>"}},)


def class_buttons(class_names, value: int = 0) -> W.ToggleButtons:
    """One toggle button per class, wide enough for the longest name ("automobile" as well
    as "7"): a fixed width cut CIFAR-10's names to "ai..." in JupyterLab. Used by the class
    selectors of notebooks 04-06."""
    width = max(40, 8 * max(len(str(c)) for c in class_names) + 16)
    return W.ToggleButtons(options=[(str(c), i) for i, c in enumerate(class_names)], value=value,
                           description="class", style={"button_width": f"{width}px"})


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
        render_into(self.out, plots.class_grid(xs[keep], ys[keep], self.class_names,
                                               per_class=min(n, self.show), size=0.6))


class AugmentGallery:
    """A strength slider plus one slider per transform; redraws a grid of augmented images.

    Moving ``strength`` resets every transform slider to the dataset's default set
    scaled by that strength (:func:`augkit.augment.default_config`); moving a single
    transform slider overrides just that parameter. Introduced in
    ``notebooks/03_classic_augmentation.ipynb``.
    """

    _SPECS = {  # name: (max, step)
        "rotation": (180.0, 1.0), "translation": (0.5, 0.01), "zoom": (0.5, 0.01),
        "contrast": (0.9, 0.05), "brightness": (0.5, 0.02), "noise": (0.3, 0.01),
        "erasing": (1.0, 0.05), "elastic": (1.0, 0.05),
    }

    def __init__(self, images, dataset: str, strength: float = 1.0, copies: int = 8, seed: int = 0):
        self.images, self.dataset, self.copies = np.asarray(images), dataset, copies
        self.seed = seed
        self.state: dict = {}
        self._syncing = False
        self.strength = W.FloatSlider(value=strength, min=0.0, max=3.0, step=0.1,
                                      description="strength", continuous_update=False)
        self.params = {name: W.FloatSlider(min=0.0, max=mx, step=st, description=name,
                                           continuous_update=False)
                       for name, (mx, st) in self._SPECS.items()}
        self.flip = W.Checkbox(description="horizontal flip")
        self.out = W.Output()
        self.info = W.HTML()
        self._set_from_strength()
        self.strength.observe(self._on_strength, names="value")
        for w in (*self.params.values(), self.flip):
            w.observe(self._redraw, names="value")
        sliders = W.VBox([self.strength, *self.params.values(), self.flip])
        self.widget = W.VBox([W.HBox([sliders, self.out]), self.info])
        self._redraw()

    def _set_from_strength(self):
        cfg = augment.default_config(self.dataset, self.strength.value)
        self._syncing = True
        for name, slider in self.params.items():
            slider.value = min(getattr(cfg, name), slider.max)
        self.flip.value = cfg.flip
        self._syncing = False

    def _on_strength(self, _change):
        self._set_from_strength()
        self._redraw()

    def config(self):
        """The :class:`AugmentConfig` the sliders describe now."""
        return augment.AugmentConfig(flip=self.flip.value,
                                     **{k: float(s.value) for k, s in self.params.items()})

    def _redraw(self, _change=None):
        if self._syncing:
            return
        cfg = self.config()
        aug = augment.Augmenter(cfg, seed=self.seed)
        batch = np.repeat(self.images[:, None], self.copies, axis=1)
        flat = batch.reshape(-1, *self.images.shape[1:])
        out = np.asarray(aug(flat))
        self.state = {"config": cfg, "images": out,
                      "mean_abs_change": float(np.abs(out - flat.astype(np.float32)).mean())}
        active = ", ".join(cfg.active()) or "none (identity)"
        self.info.value = (f"active transforms: <b>{active}</b>; mean |pixel change| "
                           f"{self.state['mean_abs_change']:.1f} / 255")
        rows = {f"image {i}": out[i * self.copies:(i + 1) * self.copies]
                for i in range(len(self.images))}
        render_into(self.out, plots.transform_rows(rows, size=0.8))

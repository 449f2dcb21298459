"""Widgets and figures for walking a VAE's latent space (notebooks 05 and 06).

Like :mod:`augkit.gan_widgets`, each builder holds its controls, an ``Output`` it draws
into, the assembled ``widget`` and a ``state`` dict with what the last redraw computed, so
tests can drive the controls headlessly. Introduced in ``notebooks/05_vae_mnist.ipynb``.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from augkit import plots, vae
from augkit.gan_widgets import _grid_into
from augkit.widgets import class_buttons, render_into


def _show_image(ax, image, title=""):
    image = np.asarray(image)
    grey = image.shape[-1] == 1
    ax.imshow(image[..., 0] if grey else image, cmap="gray" if grey else None, vmin=0, vmax=255)
    ax.set_title(title, fontsize=9)
    ax.axis("off")


class LatentSliders:
    """One slider per latent coordinate (the first ``dims``; the rest stay 0) -> the decoded image.

    With ``background=(codes, labels)`` for a 2-D model, the left panel shows the encoded
    test set and a cross where the sliders point, so you see which class region you are in.
    """

    def __init__(self, model, dims: int = 2, label: int | None = None, background=None,
                 class_names=None, limit: float = 3.0):
        dims = min(dims, model.latent_dim)
        self.model, self.label, self.background, self.state = model, label, background, {}
        self.names = class_names
        self.sliders = [W.FloatSlider(value=0.0, min=-limit, max=limit, step=0.1,
                                      description=f"z{i + 1}", continuous_update=True)
                        for i in range(dims)]
        self.out = W.Output()
        self.widget = W.VBox([W.HBox(self.sliders[:4]), *([W.HBox(self.sliders[4:])] if dims > 4 else []),
                              self.out])
        for s in self.sliders:
            s.observe(self._redraw, names="value")
        self._redraw()

    def z(self) -> np.ndarray:
        z = np.zeros((1, self.model.latent_dim), np.float32)
        z[0, :len(self.sliders)] = [s.value for s in self.sliders]
        return z

    def _redraw(self, _change=None):
        z = self.z()
        labels = None if self.label is None else np.array([self.label])
        image = vae.to_uint8(self.model.decode(z, labels))[0]
        self.state = {"z": z[0], "image": image}
        if self.background is None:
            fig, ax = plt.subplots(figsize=(2.6, 2.6))
            _show_image(ax, image, "decoded z")
        else:
            codes, classes = self.background
            fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.8), gridspec_kw={"width_ratios": [1.6, 1]})
            sc = a.scatter(codes[:, 0], codes[:, 1], c=classes, cmap="tab10", s=3, alpha=0.5)
            a.plot(z[0, 0], z[0, 1], "k+", ms=18, mew=2.5)
            a.set_xlim(self.sliders[0].min, self.sliders[0].max)
            a.set_ylim(self.sliders[1].min, self.sliders[1].max)
            a.set_xlabel("z1")
            a.set_ylabel("z2")
            a.set_title("encoded test digits (posterior means)", fontsize=9)
            handles = sc.legend_elements()[0]
            a.legend(handles, self.names or range(10), fontsize=7, loc="upper right", ncol=2,
                     markerscale=0.8)
            _show_image(b, image, f"decoded z = ({z[0, 0]:.1f}, {z[0, 1]:.1f})")
        fig.tight_layout()
        render_into(self.out, fig)


class TestInterpolation:
    """Pick two test images by index; a slider t walks the straight line between their
    posterior means, z(t) = (1 - t) mu_a + t mu_b, and decodes it (unconditional VAEs)."""

    def __init__(self, model, images, a: int = 0, b: int = 1, steps: int = 9):
        if model.conditional:
            raise ValueError("TestInterpolation takes an unconditional VAE")
        self.model, self.images, self.steps, self.state = model, np.asarray(images), steps, {}
        top = len(self.images) - 1
        self.a = W.BoundedIntText(value=a, min=0, max=top, description="image A")
        self.b = W.BoundedIntText(value=b, min=0, max=top, description="image B")
        self.t = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=1.0 / (steps - 1), description="t")
        self.out = W.Output()
        self.widget = W.VBox([W.HBox([self.a, self.b]), self.t, self.out])
        for w in (self.a, self.b, self.t):
            w.observe(self._redraw, names="value")
        self._redraw()

    def strip(self) -> np.ndarray:
        """Decoded images along the line from A to B, ``steps`` of them, uint8."""
        mu, _ = self.model.encode(self.images[[self.a.value, self.b.value]])
        ts = np.linspace(0.0, 1.0, self.steps, dtype=np.float32)[:, None]
        return vae.to_uint8(self.model.decode((1 - ts) * mu[0] + ts * mu[1]))

    def _redraw(self, _change=None):
        strip = self.strip()
        k = int(round(self.t.value * (self.steps - 1)))
        self.state = {"strip": strip, "index": k, "image": strip[k]}
        ends = self.images[[self.a.value, self.b.value]]
        fig, axes = plt.subplots(1, self.steps + 2, figsize=(1.1 * (self.steps + 2), 1.6))
        _show_image(axes[0], ends[0][..., None] if ends.ndim == 3 else ends[0], "A (real)")
        _show_image(axes[-1], ends[1][..., None] if ends.ndim == 3 else ends[1], "B (real)")
        for i, ax in enumerate(axes[1:-1]):
            _show_image(ax, strip[i], f"t={i / (self.steps - 1):.2f}")
            if i == k:
                ax.axis("on")
                ax.set_xticks([])
                ax.set_yticks([])
                for side in ax.spines.values():
                    side.set_color("tab:red")
                    side.set_linewidth(3)
        fig.tight_layout()
        render_into(self.out, fig)


class StyleExplorer:
    """Conditional VAE: a class selector plus style sliders, and the same style in every class.

    The style starts from a chosen test image's posterior mean (its slant, thickness);
    the sliders then move the first ``n_sliders`` latent coordinates.
    """

    def __init__(self, model, images, labels, class_names, n_sliders: int = 4, index: int = 0):
        if not model.conditional:
            raise ValueError("StyleExplorer takes a conditional VAE")
        self.model, self.images, self.labels = model, np.asarray(images), np.asarray(labels)
        self.state: dict = {}
        self.label = class_buttons(class_names, int(self.labels[index]))
        self.index = W.BoundedIntText(value=index, min=0, max=len(self.images) - 1,
                                      description="style of #")
        self.sliders = [W.FloatSlider(value=0.0, min=-3.0, max=3.0, step=0.1,
                                      description=f"z{i + 1}", continuous_update=True)
                        for i in range(min(n_sliders, model.latent_dim))]
        self.out = W.Output()
        self.widget = W.VBox([self.label, W.HBox([self.index]), W.HBox(self.sliders), self.out])
        self._style = None
        self.index.observe(self._new_style, names="value")
        for w in (self.label, *self.sliders):
            w.observe(self._redraw, names="value")
        self._new_style()

    def _new_style(self, _change=None):
        i = self.index.value
        mu, _ = self.model.encode(self.images[i:i + 1], self.labels[i:i + 1])
        self._style = mu[0]
        # Moving the sliders onto the new style fires _redraw once per slider; hold it off.
        self._hold = True
        for s, v in zip(self.sliders, self._style, strict=False):
            s.value = float(np.clip(round(float(v), 1), s.min, s.max))
        self._hold = False
        self._redraw()

    def z(self) -> np.ndarray:
        z = self._style.copy()
        z[:len(self.sliders)] = [s.value for s in self.sliders]
        return z

    def _redraw(self, _change=None):
        if getattr(self, "_hold", False):
            return
        z = np.repeat(self.z()[None], self.model.num_classes, axis=0)
        row = vae.to_uint8(self.model.decode(z, np.arange(self.model.num_classes)))
        chosen = row[self.label.value]
        self.state = {"z": z[0], "image": chosen, "row": row}
        fig, (a, b, c) = plt.subplots(1, 3, figsize=(11, 2.4),
                                      gridspec_kw={"width_ratios": [1, 1, 6]})
        real = self.images[self.index.value]
        _show_image(a, real[..., None] if real.ndim == 2 else real, f"style from #{self.index.value}")
        _show_image(b, chosen, f"class {self.label.value}")
        _grid_into(c, row, ncols=self.model.num_classes)
        c.set_title("same z, every class", fontsize=9)
        fig.tight_layout()
        render_into(self.out, fig)


def manifold_grid(model, n: int = 15, limit: float = 0.97) -> tuple[np.ndarray, np.ndarray]:
    """Decode an n x n grid over a 2-D latent space, spaced by Gaussian quantiles.

    Quantile spacing (rather than an even grid) gives every row the same prior mass, so
    the picture shows the space where the prior actually puts samples. Returns the
    ``n * n`` images (row by row, z2 decreasing downwards) and the ``n`` coordinates used.
    """
    from scipy.stats import norm

    if model.latent_dim != 2:
        raise ValueError(f"manifold_grid needs a 2-D latent space, this one has {model.latent_dim}")
    q = norm.ppf(np.linspace(1 - limit, limit, n))
    zz = np.array([[x, y] for y in q[::-1] for x in q], np.float32)
    return vae.to_uint8(model.decode(zz)), q


def show_pairs(originals, reconstructions, title: str = "", n: int = 10):
    """Two rows: originals on top, their reconstructions below."""
    originals = np.asarray(originals[:n])
    if originals.ndim == 3:
        originals = originals[..., None]
    pairs = np.concatenate([originals, np.asarray(reconstructions[:n])])
    return plots.image_grid(pairs, ncols=n, size=0.9, suptitle=title or None)


def same_style_every_class(model, images, labels) -> np.ndarray:
    """For each (image, label): encode the style z = mu(x, y), decode it with every class.

    Returns ``(len(images) * num_classes, H, W, C)`` uint8, one row per input image.
    Introduced in ``notebooks/05_vae_mnist.ipynb``.
    """
    if not model.conditional:
        raise ValueError("same_style_every_class needs a conditional VAE")
    mu, _ = model.encode(images, labels)
    k = model.num_classes
    z = np.repeat(mu, k, axis=0)
    return vae.to_uint8(model.decode(z, np.tile(np.arange(k), len(mu))))


def traversal(model, dim: int, values, label: int | None = None, base=None) -> np.ndarray:
    """Decode ``base`` (default: the origin) with latent coordinate ``dim`` set to each of
    ``values``: what one coordinate does on its own. uint8, one image per value.
    Introduced in ``notebooks/05_vae_mnist.ipynb``."""
    if not 0 <= dim < model.latent_dim:
        raise ValueError(f"dim must be in 0..{model.latent_dim - 1}, got {dim}")
    values = np.asarray(values, np.float32)
    z = np.tile(np.zeros(model.latent_dim, np.float32) if base is None else np.asarray(base, np.float32),
                (len(values), 1))
    z[:, dim] = values
    labels = None if label is None else np.full(len(values), label)
    return vae.to_uint8(model.decode(z, labels))

"""Widgets and figures for walking a VAE's latent space, introduced in
``notebooks/05_vae_mnist.ipynb`` and used again on CIFAR-10 in ``notebooks/06_cifar10.ipynb``.

The widgets are :class:`augkit.widgets.base.LiveFigure` s; the functions below them compute the
image grids that the notebooks show as static figures.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np

from augkit import plots, vae
from augkit.widgets.base import LiveFigure, class_buttons


def _coordinate_sliders(n: int, limit: float = 3.0) -> list[W.FloatSlider]:
    # A decode is cheap, so the picture follows the drag (continuous_update).
    return [W.FloatSlider(value=0.0, min=-limit, max=limit, step=0.1, description=f"z{i + 1}",
                          continuous_update=True) for i in range(n)]


def _as_image(image: np.ndarray) -> np.ndarray:
    """Test images come as (H, W) for MNIST; decoded ones as (H, W, C)."""
    return image[..., None] if image.ndim == 2 else image


class LatentSliders(LiveFigure):
    """One slider per latent coordinate (the first ``dims``; the rest stay 0) -> the decoded image.

    With ``background=(codes, labels)`` for a 2-D model, the left panel shows the encoded
    test set and a cross where the sliders point, so you see which class region you are in.
    Introduced in ``notebooks/05_vae_mnist.ipynb``.
    ``.sliders``: the coordinate sliders in order. ``state``: ``z`` and ``image`` (uint8).
    """

    def __init__(self, model, dims: int = 2, label: int | None = None, background=None,
                 class_names=None, limit: float = 3.0):
        dims = min(dims, model.latent_dim)
        self.model, self.label, self.background = model, label, background
        self.names = class_names
        self.sliders = _coordinate_sliders(dims, limit)
        self.figsize = (2.6, 2.6) if background is None else (8.0, 3.8)
        super().__init__({s.description: s for s in self.sliders})

    def arrange(self) -> W.Widget:
        rows = [W.HBox(self.sliders[i:i + 4]) for i in range(0, len(self.sliders), 4)]
        return W.VBox([*rows, self.output])

    def z(self) -> np.ndarray:
        """The latent code the sliders point at, shape (1, latent_dim)."""
        z = np.zeros((1, self.model.latent_dim), np.float32)
        z[0, :len(self.sliders)] = [s.value for s in self.sliders]
        return z

    def compute(self, **_coordinates) -> dict:
        z = self.z()
        labels = None if self.label is None else np.array([self.label])
        return {"z": z[0], "image": vae.to_uint8(self.model.decode(z, labels))[0]}

    def draw(self, fig, s: dict) -> None:
        z, image = s["z"], s["image"]
        if self.background is None:
            plots.show_image(fig.subplots(), image, "decoded z", frame=False)
            return
        codes, classes = self.background
        a, b = fig.subplots(1, 2, width_ratios=[1.6, 1])
        sc = a.scatter(codes[:, 0], codes[:, 1], c=classes, cmap="tab10", s=3, alpha=0.5)
        a.plot(z[0], z[1], "k+", ms=18, mew=2.5)
        a.set_xlim(self.sliders[0].min, self.sliders[0].max)
        a.set_ylim(self.sliders[1].min, self.sliders[1].max)
        a.set_xlabel("z1")
        a.set_ylabel("z2")
        a.set_title("encoded test digits (posterior means)", fontsize=9)
        handles = sc.legend_elements()[0]
        a.legend(handles, self.names or range(len(handles)), fontsize=7, loc="upper right", ncol=2,
                 markerscale=0.8)
        plots.show_image(b, image, f"decoded z = ({z[0]:.1f}, {z[1]:.1f})", frame=False)


class TestInterpolation(LiveFigure):
    """Pick two test images by index; a slider t walks the straight line between their
    posterior means, z(t) = (1 - t) mu_a + t mu_b, and decodes it (unconditional VAEs).
    Introduced in ``notebooks/05_vae_mnist.ipynb``.

    ``state``: ``strip`` (every decoded step, uint8), ``index`` (the step t points at) and
    ``image`` (that step's image).
    """

    __test__ = False  # a widget, not a pytest test class, despite its name

    def __init__(self, model, images, a: int = 0, b: int = 1, steps: int = 9):
        if model.conditional:
            raise ValueError("TestInterpolation takes an unconditional VAE")
        self.model, self.images, self.steps = model, np.asarray(images), steps
        top = len(self.images) - 1
        self.a = W.BoundedIntText(value=a, min=0, max=top, description="image A")
        self.b = W.BoundedIntText(value=b, min=0, max=top, description="image B")
        self.t = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=1.0 / (steps - 1), description="t")
        self.figsize = (1.1 * (steps + 2), 1.6)
        super().__init__({"a": self.a, "b": self.b, "t": self.t})

    def arrange(self) -> W.Widget:
        return W.VBox([W.HBox([self.a, self.b]), self.t, self.output])

    def strip(self) -> np.ndarray:
        """Decoded images along the line from A to B, ``steps`` of them, uint8."""
        mu, _ = self.model.encode(self.images[[self.a.value, self.b.value]])
        ts = np.linspace(0.0, 1.0, self.steps, dtype=np.float32)[:, None]
        return vae.to_uint8(self.model.decode((1 - ts) * mu[0] + ts * mu[1]))

    def compute(self, a: int, b: int, t: float) -> dict:
        strip = self.strip()
        k = int(round(t * (self.steps - 1)))
        return {"strip": strip, "index": k, "image": strip[k]}

    def draw(self, fig, s: dict) -> None:
        axes = fig.subplots(1, self.steps + 2)
        plots.show_image(axes[0], _as_image(self.images[self.a.value]), "A (real)", frame=False)
        plots.show_image(axes[-1], _as_image(self.images[self.b.value]), "B (real)", frame=False)
        for i, ax in enumerate(axes[1:-1]):
            picked = i == s["index"]
            plots.show_image(ax, s["strip"][i], f"t={i / (self.steps - 1):.2f}", frame=picked)
            if picked:
                for side in ax.spines.values():
                    side.set_color("tab:red")
                    side.set_linewidth(3)


class StyleExplorer(LiveFigure):
    """Conditional VAE: a class selector plus style sliders, and the same style in every class.

    The style starts from a chosen test image's posterior mean (its slant, thickness);
    the sliders then move the first ``n_sliders`` latent coordinates.
    Introduced in ``notebooks/05_vae_mnist.ipynb``.
    ``.sliders``: those sliders in order. ``state``: ``z``, ``row`` (z decoded with every class)
    and ``image`` (the chosen class's image in that row).
    """

    figsize = (11.0, 2.4)

    def __init__(self, model, images, labels, class_names, n_sliders: int = 4, index: int = 0):
        if not model.conditional:
            raise ValueError("StyleExplorer takes a conditional VAE")
        self.model, self.images, self.labels = model, np.asarray(images), np.asarray(labels)
        self.label = class_buttons(class_names, int(self.labels[index]))
        self.index = W.BoundedIntText(value=index, min=0, max=len(self.images) - 1,
                                      description="style of #")
        self.sliders = _coordinate_sliders(min(n_sliders, model.latent_dim))
        self._take_style()
        super().__init__({"label": self.label, "index": self.index,
                          **{s.description: s for s in self.sliders}})

    def arrange(self) -> W.Widget:
        return W.VBox([self.label, W.HBox([self.index]), W.HBox(self.sliders), self.output])

    def _take_style(self) -> None:
        """Encode the chosen test image and move the sliders onto its first coordinates."""
        i = self.index.value
        mu, _ = self.model.encode(self.images[i:i + 1], self.labels[i:i + 1])
        self._style = mu[0]
        for s, v in zip(self.sliders, self._style, strict=False):
            s.value = float(np.clip(round(float(v), 1), s.min, s.max))

    def _on_change(self, change) -> None:
        if change.owner is self.index:
            with self.hold():  # one redraw for the new style, not one per slider moved
                self._take_style()
        else:
            self.update()

    def z(self) -> np.ndarray:
        """The style code: the encoded image with the slider coordinates replaced."""
        z = self._style.copy()
        z[:len(self.sliders)] = [s.value for s in self.sliders]
        return z

    def compute(self, label: int, index: int, **_coordinates) -> dict:
        k = self.model.num_classes
        z = np.repeat(self.z()[None], k, axis=0)
        row = vae.to_uint8(self.model.decode(z, np.arange(k)))
        return {"z": z[0], "image": row[label], "row": row}

    def draw(self, fig, s: dict) -> None:
        a, b, c = fig.subplots(1, 3, width_ratios=[1, 1, 6])
        i = self.index.value
        plots.show_image(a, _as_image(self.images[i]), f"style from #{i}", frame=False)
        plots.show_image(b, s["image"], f"class {self.label.value}", frame=False)
        plots.grid_into(c, s["row"], ncols=self.model.num_classes)
        c.set_title("same z, every class", fontsize=9)


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
    """Two rows: originals on top, their reconstructions below; returns the figure.
    Introduced in ``notebooks/05_vae_mnist.ipynb``, used on CIFAR-10 in notebook 06."""
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

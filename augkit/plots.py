"""Figures shared by the notebooks: image grids and class-balance charts.

Introduced in ``notebooks/00_start_here.ipynb``. Every function draws into a
matplotlib figure and returns it, so notebooks show it and tests can inspect it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from augkit.stats import error_bars


def show_image(ax, img, title: str = "", frame: bool = True):
    """Draw one image (H, W), (H, W, 1) or (H, W, 3) on ``ax`` on the fixed 0..255 scale.

    The fixed scale matters: letting imshow stretch each image to its own range would make a
    faint sample look as crisp as a real digit. Ticks are removed but the axes stay on, so a
    caller can still label a row with ``set_ylabel`` (:func:`class_grid`) or colour the frame to
    mark a pick; ``frame=False`` hides the frame for free-standing images. Used by every image
    figure from ``notebooks/00_start_here.ipynb`` on.
    """
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.dtype != np.uint8:
        # imshow ignores vmin/vmax for colour images and clips float RGB to [0, 1], so float
        # pixels on the 0..255 scale (MixUp and CutMix outputs) came out as white panels.
        # Floats are taken as 0..255, or as 0..1 when none exceeds 1.
        x = img.astype(np.float64)
        x = x * 255.0 if x.size and np.nanmax(x) <= 1.0 else x
        img = np.clip(np.rint(np.nan_to_num(x)), 0, 255).astype(np.uint8)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    for side in ax.spines.values():
        side.set_visible(frame)


def _tile(rows, gap: int, empty: int) -> np.ndarray:
    """One canvas of image rows (each (N, H, W, C) uint8), ``gap`` white pixels between
    cells; cells a short row leaves free are filled with ``empty``."""
    h, w, c = next(imgs for imgs in rows if len(imgs)).shape[1:]
    ncols = max(len(imgs) for imgs in rows)
    canvas = np.full((len(rows) * (h + gap) - gap, ncols * (w + gap) - gap, c), 255, np.uint8)
    for r, imgs in enumerate(rows):
        for k in range(ncols):
            cell = canvas[r * (h + gap):r * (h + gap) + h, k * (w + gap):k * (w + gap) + w]
            cell[...] = imgs[k] if k < len(imgs) else empty
    return canvas


def _show_canvas(ax, canvas, **kwargs) -> None:
    """A tiled canvas on the fixed 0..255 scale, pixels as :func:`show_image` draws them."""
    grey = canvas.shape[-1] == 1
    ax.imshow(canvas[..., 0] if grey else canvas, cmap="gray" if grey else None, vmin=0,
              vmax=255, interpolation="nearest", **kwargs)


def grid_into(ax, images, ncols: int = 10, gap: int = 0):
    """Tile (N, H, W, C) uint8 images into one canvas and draw it on ``ax`` with one imshow.

    One imshow instead of one axes per image keeps a redraw cheap, which matters for widgets
    that redraw a whole grid on every slider move (``notebooks/04_gan_mnist.ipynb``).
    Unfilled cells of the last row stay black; ``gap`` pixels of white separate the images.
    """
    images = np.asarray(images)
    _show_canvas(ax, _tile([images[i:i + ncols] for i in range(0, len(images), ncols)],
                           gap, empty=0))
    ax.axis("off")


def rows_into(fig, images_by_row: dict, size: float = 0.8, gap: int = 2):
    """Rows of images (``label -> (N, H, W[, C])`` in [0, 255]), labelled on the left, tiled
    into one canvas and drawn with one imshow on one axes filling ``fig``.

    What :func:`class_grid` and :func:`transform_rows` show, for widgets: a grid of 100 axes
    took 0.8 s to redraw, one axes takes a tenth of that (``benchmarks/widget_latency.py``).
    Introduced with :class:`augkit.widgets.data.SubsetPreview` (``notebooks/00_start_here.ipynb``).
    """
    labels = [str(label) for label in images_by_row]
    rows = [np.clip(np.asarray(imgs), 0, 255).astype(np.uint8) for imgs in images_by_row.values()]
    rows = [imgs[..., None] if imgs.ndim == 3 else imgs for imgs in rows]  # (N, H, W) -> C = 1
    if not any(len(imgs) for imgs in rows):
        raise ValueError("rows_into needs at least one image")
    canvas = _tile(rows, gap, empty=255)  # free cells white, as the figure around them
    h = next(imgs for imgs in rows if len(imgs)).shape[1]
    ncols = max(len(imgs) for imgs in rows)
    label_inches = 0.15 + 0.065 * max(len(label) for label in labels)
    width, height = ncols * size + label_inches, len(rows) * size
    fig.set_size_inches(width, height)
    ax = fig.add_axes((label_inches / width, 0.0, 1 - label_inches / width, 1.0))
    _show_canvas(ax, canvas, aspect="auto")
    ax.set_xticks([])
    ax.set_yticks([r * (h + gap) + h / 2 for r in range(len(rows))], labels, fontsize=8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def _axes(fig, nrows: int, ncols: int, figsize):
    """A grid of axes in ``fig`` (a widget passes the figure it renders), else in a new figure."""
    if fig is None:
        fig = plt.figure(figsize=figsize)
    else:
        fig.set_size_inches(*figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def image_grid(images, titles=None, ncols: int = 10, size: float = 1.0, suptitle: str | None = None,
               fig=None):
    """Show uint8 images (N, H, W) or (N, H, W, C) in a grid; returns the figure (``fig`` if given)."""
    images = np.asarray(images)
    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = _axes(fig, nrows, ncols, (ncols * size, nrows * size))
    for i, ax in enumerate(axes.flat):
        if i < n:
            show_image(ax, images[i])
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
        else:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def class_grid(x, y, class_names, per_class: int = 8, seed: int = 0, size: float = 0.9,
               title: str | None = None, fig=None):
    """One row per class with ``per_class`` random examples; the class name labels each row."""
    y = np.asarray(y).reshape(-1)
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    fig, axes = _axes(fig, len(classes), per_class, (per_class * size + 1.0, len(classes) * size))
    for row, c in enumerate(classes):
        idx = np.flatnonzero(y == c)
        pick = rng.choice(idx, size=min(per_class, idx.size), replace=False)
        for col in range(per_class):
            ax = axes[row, col]
            if col < pick.size:
                show_image(ax, x[pick[col]])
            else:
                ax.axis("off")
        axes[row, 0].set_ylabel(class_names[int(c)], rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def class_balance(splits: dict, class_names, title: str | None = None):
    """Grouped bar chart of class counts, one bar group per class and one colour per split.

    ``splits`` maps a split name (e.g. "train") to its label array. Counts are shown as
    shares of the split, so a 60k train set and a 10k test set can be compared.
    """
    fig, ax = plt.subplots(figsize=(9, 3))
    k = len(class_names)
    width = 0.8 / max(1, len(splits))
    for i, (name, labels) in enumerate(splits.items()):
        counts = np.bincount(np.asarray(labels).reshape(-1), minlength=k)
        share = counts / counts.sum()
        ax.bar(np.arange(k) + i * width, share, width, label=f"{name} (n={counts.sum():,})")
    ax.axhline(1 / k, color="k", lw=0.8, ls="--", label="perfect balance")
    ax.set_xticks(np.arange(k) + width * (len(splits) - 1) / 2)
    ax.set_xticklabels(class_names, rotation=30, ha="right")
    ax.set_ylabel("share of split")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def errorbar_lines(summary: dict, x_index: int = 1, xlabel: str = "strength",
                   line_name: str = "n per class", ylabel: str = "test accuracy", title=None,
                   ax=None):
    """Lines with ±1 std error bars from :func:`augkit.classify.summarize` output.

    ``summary`` maps 2-tuples of keys to ``(mean, std, count)``; key ``x_index`` goes on
    the x axis and the other key picks the line.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    lines: dict = {}
    for key, (mean, std, count) in summary.items():
        lines.setdefault(key[1 - x_index], []).append((key[x_index], mean, std, count))
    for name, pts in sorted(lines.items()):
        pts.sort()
        xs, means, stds, counts = zip(*pts, strict=True)
        ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3,
                    label=f"{line_name} = {name} ({counts[0]} seeds)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


def transform_rows(images_by_row: dict, size: float = 0.9, title=None, fig=None):
    """One row per named transform, showing several augmented copies of one image.

    ``images_by_row`` maps a row label to an array of images (N, H, W[, C]) in [0, 255].
    """
    rows = list(images_by_row.items())
    ncols = max(len(v) for _, v in rows)
    fig, axes = _axes(fig, len(rows), ncols, (ncols * size + 1.2, len(rows) * size))
    for r, (label, imgs) in enumerate(rows):
        imgs = np.clip(np.asarray(imgs), 0, 255).astype(np.uint8)
        for c in range(ncols):
            if c < len(imgs):
                show_image(axes[r, c], imgs[c])
            else:
                axes[r, c].axis("off")
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def latent_scatter(codes, labels, class_names, ax=None, title: str | None = None):
    """2-D latent codes (N, 2) as dots coloured by class. Introduced in notebook 05."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"latent_scatter needs (N, 2) codes, got shape {codes.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    sc = ax.scatter(codes[:, 0], codes[:, 1], c=np.asarray(labels), cmap="tab10", vmin=-0.5,
                    vmax=9.5, s=4, alpha=0.6)
    ax.legend(sc.legend_elements()[0], class_names, fontsize=7, ncol=2, markerscale=0.9)
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_title(title or "encoded test images (posterior means)")
    ax.figure.tight_layout()
    return ax.figure


def training_curves(records: dict, keys=("neg_elbo", "reconstruction", "kl"),
                    skip_fraction: float = 0.05):
    """One panel per logged quantity; one line per training record (``{name: record}``).

    A record is what :func:`augkit.zoo.load_history` returns: step logs ``log_<key>`` at
    ``steps`` (running means within each epoch, solid) and, when present, held-out
    ``epoch_val_<key>`` after each epoch (dots). The y range leaves out the first
    ``skip_fraction`` of training, whose huge initial losses would flatten everything else.
    Introduced in notebook 05.
    """
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
    shown: dict = {key: [] for key in keys}
    for (name, rec), colour in zip(records.items(), plt.cm.tab10.colors, strict=False):
        steps = np.asarray(rec["steps"])
        n_epochs = len(rec["frames"]) if "frames" in rec else 1
        per_epoch = steps[-1] / n_epochs if len(steps) else 1
        for ax, key in zip(axes[0], keys, strict=True):
            if f"log_{key}" in rec:
                ax.plot(steps, rec[f"log_{key}"], color=colour, lw=1, label=name)
                later = steps >= skip_fraction * steps[-1]
                shown[key].extend(np.asarray(rec[f"log_{key}"])[later])
            if f"epoch_val_{key}" in rec:
                val = np.asarray(rec[f"epoch_val_{key}"])
                ax.plot(per_epoch * np.arange(1, len(val) + 1), val, "o", color=colour, ms=4)
    for ax, key in zip(axes[0], keys, strict=True):
        if shown[key]:
            lo, hi = min(shown[key]), max(shown[key])
            pad = 0.08 * (hi - lo) + 1e-6
            ax.set_ylim(lo - pad, hi + pad)
        ax.set_title(key.replace("_", " ") + " (nats per image)")
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8, title="lines: train, dots: held-out", title_fontsize=7)
    fig.tight_layout()
    return fig


def spectra(named_images: dict, title: str | None = None):
    """Radial power spectra (:func:`augkit.metrics.radial_spectrum`) of named image sets.

    Left: power on a log scale. Right: each set's power divided by the *first* set's (the
    reference, e.g. real images): 1 means "as much detail at this frequency as the real
    thing". Blur shows as a ratio falling towards 0 at high frequencies. The lowest bin
    (the image mean, removed before the FFT) is left out. Introduced in notebook 06.
    """
    from augkit import metrics

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.6))
    reference = None
    for name, images in named_images.items():
        f, power = metrics.radial_spectrum(images)
        f, power = f[1:], power[1:]
        reference = power if reference is None else reference
        a.semilogy(f, power, marker=".", label=name)
        b.plot(f, power / reference, marker=".", label=name)
    a.set_ylabel("mean power")
    b.set_ylabel(f"power / power of {next(iter(named_images))}")
    b.axhline(1.0, color="k", lw=0.7, ls="--")
    for ax in (a, b):
        ax.set_xlabel("spatial frequency (cycles per pixel)")
        ax.grid(alpha=0.3, which="both")
    a.legend(fontsize=8)
    fig.suptitle(title or "power spectrum: where the detail is")
    fig.tight_layout()
    return fig


def saturation(probes):
    """Two panels from :func:`augkit.gan.saturation_probe` runs (one per seed): the mean
    D(G(z)) as the discriminator trains alone, and the measured minimax / non-saturating
    gradient-norm ratio against D(G(z)) beside the predicted D/(1-D). Notebook 04 §3."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.6))
    for i, p in enumerate(probes):
        colour = f"C{i}"
        a.semilogy(np.arange(1, len(p["d_fake_trace"]) + 1), p["d_fake_trace"], color=colour,
                   lw=1, label=f"seed {p['seed']}")
        pts = p["points"]
        a.semilogy([q["step"] for q in pts], [q["d_fake"] for q in pts], "o", color=colour, ms=5)
        ratio = [q["grad_norm"]["minimax"] / q["grad_norm"]["non_saturating"] for q in pts]
        b.loglog([q["d_fake"] for q in pts], ratio, "o", color=colour, ms=6,
                 label=f"measured, seed {p['seed']}")
    grid = np.logspace(-2.3, np.log10(0.6), 50)
    b.loglog(grid, grid / (1 - grid), "k--", lw=1, label="predicted D / (1 - D)")
    a.set_xlabel("discriminator-only steps (generator frozen)")
    a.set_ylabel("mean D(G(z)) on the batch")
    a.set_title("the discriminator gets ahead (dots: where G's gradient is measured)", fontsize=9)
    a.legend(fontsize=8)
    b.set_xlabel("mean D(G(z))")
    b.set_ylabel("|grad minimax| / |grad non-saturating|")
    b.set_title("the minimax gradient vanishes as D(G(z)) -> 0", fontsize=9)
    b.legend(fontsize=8)
    for ax in (a, b):
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def paired_sweep(rows, gains: dict, key: str = "strength", title: str | None = None):
    """Left: accuracy against ``key``, one line per seed (lines that all rise are an effect
    the seeds agree on). Right: the paired gain over the baseline with its 95 % interval
    (:func:`augkit.classify.paired_gains`), in points. Notebook 03 §5."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    for seed in sorted({r["seed"] for r in rows}):
        mine = sorted((r[key], 100 * r["test_acc"]) for r in rows if r["seed"] == seed)
        left.plot(*zip(*mine, strict=True), marker="o", alpha=0.8, label=f"seed {seed}")
    left.set_xlabel(key)
    left.set_ylabel("test accuracy (%)")
    left.set_title("each seed: same subset, same initial weights")
    left.legend(fontsize=8)
    ks = sorted(gains)
    means = np.array([100 * gains[k].mean for k in ks])
    right.errorbar(ks, means, yerr=error_bars([gains[k] for k in ks]), fmt="o-", capsize=5, color="tab:blue")
    right.axhline(0.0, color="0.4", lw=1, ls="--")
    right.set_xlabel(key)
    right.set_ylabel("paired gain over strength 0 (points)")
    right.set_title("mean paired gain, 95 % interval")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def gain_bars(intervals: dict, title: str | None = None, ylabel: str = "paired gain (points)"):
    """One bar per named :class:`augkit.stats.Interval` (a fraction, drawn in points) with its
    95 % interval and a zero line: green where the interval is above zero, red below, grey
    across it. Notebook 03 §5."""
    names = list(intervals)
    means = np.array([100 * intervals[k].mean for k in names])
    colours = ["tab:green" if intervals[k].low > 0 else "tab:red" if intervals[k].high < 0
               else "0.6" for k in names]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.8 * len(names) + 2.5), 3.2))
    ax.bar(names, means, yerr=error_bars([intervals[k] for k in names]), capsize=6, color=colours, width=0.5)
    ax.axhline(0.0, color="0.3", lw=1)
    for i, m in enumerate(means):  # beside the bar, clear of the error bar
        ax.annotate(f"{m:+.2f}", (i + 0.27, m), ha="left", va="center", fontsize=9)
    ax.set_xlim(-0.5, len(names) - 0.15)  # room for the last bar's label
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig

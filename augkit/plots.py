"""Figures shared by the notebooks: image grids and class-balance charts.

Introduced in ``notebooks/00_start_here.ipynb``. Every function draws into a
matplotlib figure and returns it, so notebooks show it and tests can inspect it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def _show(ax, img):
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def image_grid(images, titles=None, ncols: int = 10, size: float = 1.0, suptitle: str | None = None):
    """Show uint8 images (N, H, W) or (N, H, W, C) in a grid; returns the figure."""
    images = np.asarray(images)
    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            _show(ax, images[i])
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
        else:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def class_grid(x, y, class_names, per_class: int = 8, seed: int = 0, size: float = 0.9,
               title: str | None = None):
    """One row per class with ``per_class`` random examples; the class name labels each row."""
    y = np.asarray(y).reshape(-1)
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    fig, axes = plt.subplots(len(classes), per_class, squeeze=False,
                             figsize=(per_class * size + 1.0, len(classes) * size))
    for row, c in enumerate(classes):
        idx = np.flatnonzero(y == c)
        pick = rng.choice(idx, size=min(per_class, idx.size), replace=False)
        for col in range(per_class):
            ax = axes[row, col]
            if col < pick.size:
                _show(ax, x[pick[col]])
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


def transform_rows(images_by_row: dict, size: float = 0.9, title=None):
    """One row per named transform, showing several augmented copies of one image.

    ``images_by_row`` maps a row label to an array of images (N, H, W[, C]) in [0, 255].
    """
    rows = list(images_by_row.items())
    ncols = max(len(v) for _, v in rows)
    fig, axes = plt.subplots(len(rows), ncols, squeeze=False,
                             figsize=(ncols * size + 1.2, len(rows) * size))
    for r, (label, imgs) in enumerate(rows):
        imgs = np.clip(np.asarray(imgs), 0, 255).astype(np.uint8)
        for c in range(ncols):
            if c < len(imgs):
                _show(axes[r, c], imgs[c])
            else:
                axes[r, c].axis("off")
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig

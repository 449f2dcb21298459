"""Find image panels that a learner would see as blank, in any figure the notebooks draw.

A panel is *blank* when (nearly) every pixel it puts on screen has the same colour: a white
square where a MixUp grid should be (float pixels on the 0..255 scale given to
``imshow``, which clips colour floats to [0, 1]), or a black one from an image that
was never filled in. The check reads what ``imshow`` will actually paint: float
colour images clipped to [0, 1], grey images through the panel's own colour map and
limits, so a dark-but-varied sample passes and a saturated one fails.

The test suite installs :func:`install` in every notebook kernel that nbval starts
(``conftest.py``): each figure is checked as it is rendered, and a cell whose
figure holds a blank panel fails with the panel named. A panel that is meant to be
uniform (a flat colour swatch, say) says so with ``image.set_gid(UNIFORM_OK)``.
Test support, not part of the package: ``conftest.py`` puts this folder on the path of the
tests and of every notebook kernel they start.
"""

from __future__ import annotations

import json
import os

import numpy as np

UNIFORM_OK = "augkit-uniform-ok"
LOG_ENV = "AUGKIT_FIGURE_LOG"


def shown_pixels(image) -> np.ndarray:
    """The RGB values in [0, 1] that ``image`` (a matplotlib ``AxesImage``) paints."""
    a = np.ma.getdata(image.get_array())
    a = np.asarray(a)
    if a.ndim == 3:  # colour: imshow clips floats to [0, 1] and scales integers from 0..255
        rgb = a[..., :3]
        if np.issubdtype(rgb.dtype, np.integer):
            return rgb.astype(np.float64) / 255.0
        return np.clip(np.nan_to_num(rgb.astype(np.float64)), 0.0, 1.0)
    return np.asarray(image.to_rgba(a, bytes=False))[..., :3]


def blank_panels(fig, tol: float = 2.0 / 255, share: float = 0.98) -> list[str]:
    """Describe every image panel of ``fig`` in which at least ``share`` of the painted
    pixels are one colour (within ``tol`` of the panel's median colour); an empty list when
    there is none. Nearly, not exactly: a clipped photo keeps a few dark pixels that nobody
    sees in a white square."""
    found = []
    for i, ax in enumerate(fig.axes):
        for image in ax.get_images():
            if image.get_gid() == UNIFORM_OK or image.get_array() is None:
                continue
            px = shown_pixels(image).reshape(-1, 3)
            if not px.size:
                continue
            off = np.abs(px - np.median(px, axis=0)).max(axis=1) > tol
            if off.mean() < 1.0 - share:
                label = ax.get_title() or ax.get_ylabel() or f"axes {i}"
                colour = "white" if px.mean() > 0.99 else "black" if px.mean() < 0.01 else "uniform"
                found.append(f"{colour} image panel '{label}' in figure '{_name(fig)}'")
    return found


def _name(fig) -> str:
    suptitle = getattr(fig, "_suptitle", None)  # matplotlib keeps no public getter
    if suptitle is not None and suptitle.get_text():
        return suptitle.get_text()
    return next((ax.get_title() for ax in fig.axes if ax.get_title()), "untitled")


def install(log_path=None) -> None:
    """Check every figure as it is rendered; append what :func:`blank_panels` finds to
    ``log_path`` (default: ``$AUGKIT_FIGURE_LOG``), one JSON line per figure."""
    from matplotlib.backend_bases import FigureCanvasBase

    log_path = log_path or os.environ.get(LOG_ENV)
    if not log_path or getattr(FigureCanvasBase.print_figure, "_augkit_checked", False):
        return
    original = FigureCanvasBase.print_figure

    def print_figure(self, *args, **kwargs):
        problems = blank_panels(self.figure)
        if problems:
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(problems) + "\n")
        return original(self, *args, **kwargs)

    print_figure._augkit_checked = True
    FigureCanvasBase.print_figure = print_figure


def read_log(log_path, start: int = 0) -> tuple[list[str], int]:
    """Problems logged since byte ``start`` of ``log_path``, and the new end offset."""
    try:
        with open(log_path, "rb") as f:
            f.seek(start)
            chunk = f.read()
    except FileNotFoundError:
        return [], start
    problems = [p for line in chunk.decode("utf-8").splitlines() if line.strip()
                for p in json.loads(line)]
    return problems, start + len(chunk)

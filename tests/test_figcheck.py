"""The blank-panel check that every notebook figure goes through (tests/support/figcheck.py)."""

import subprocess
import sys
from pathlib import Path

import figcheck
import matplotlib.pyplot as plt
import nbformat
import numpy as np

from augkit import plots

ROOT = Path(__file__).resolve().parents[1]


def _fig(image, **kw):
    fig, ax = plt.subplots()
    ax.imshow(image, **kw)
    ax.set_title("panel")
    return fig


def test_float_pixels_on_the_0_255_scale_paint_a_white_panel_and_are_caught():
    rgb = np.random.default_rng(0).uniform(0, 255, (32, 32, 3))
    fig = _fig(rgb)  # what notebook 03's MixUp grid did before the fix
    assert figcheck.blank_panels(fig) == ["white image panel 'panel' in figure 'panel'"]
    fixed, ax = plt.subplots()
    plots.show_image(ax, rgb)  # the helper that draws every grid now
    assert figcheck.blank_panels(fixed) == []
    plt.close("all")


def test_grey_panels_are_read_through_their_own_limits():
    zeros = np.zeros((8, 8), np.uint8)
    assert figcheck.blank_panels(_fig(zeros, cmap="gray", vmin=0, vmax=255))[0].startswith("black")
    faint = np.arange(64, dtype=np.uint8).reshape(8, 8) % 7  # dark but varied: a real sample
    assert figcheck.blank_panels(_fig(faint, cmap="gray", vmin=0, vmax=255)) == []
    fig = _fig(np.full((4, 4, 3), 128, np.uint8))
    fig.axes[0].get_images()[0].set_gid(figcheck.UNIFORM_OK)  # a swatch meant to be flat
    assert figcheck.blank_panels(fig) == []
    plt.close("all")


def test_a_notebook_cell_that_shows_a_blank_panel_fails_under_nbval(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt, numpy as np\n"
                                  "plt.imshow(np.arange(48.0).reshape(4, 4, 3) / 48)\nplt.show()"),
        nbformat.v4.new_code_cell("plt.imshow(np.full((4, 4, 3), 200.0))\nplt.title('MixUp')\n"
                                  "plt.show()"),
    ])
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    path = tmp_path / "blank.ipynb"
    nbformat.write(nb, path)
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "conftest", "--rootdir", str(ROOT),
                          "-c", str(ROOT / "pyproject.toml"), str(path), "-q", "-n", "0"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "1 failed, 1 passed" in out and "white image panel 'MixUp'" in out, out

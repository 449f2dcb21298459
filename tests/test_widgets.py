"""Widgets and figures driven headlessly: set a slider, check what was recomputed."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from augkit import data, plots, widgets


@pytest.fixture
def digits():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 30).astype(np.uint8)
    x = rng.integers(0, 256, size=(300, 28, 28), dtype=np.uint8)
    return x, y


def test_subset_preview_follows_its_sliders(digits):
    x, y = digits
    view = widgets.SubsetPreview(x, y, data.CLASS_NAMES["mnist"], max_per_class=20, value=5)
    assert view.state["size"] == 50 and view.n.max == 20
    first = view.state["labels"].copy()
    view.n.value = 12
    assert view.state["n_per_class"] == 12 and view.state["size"] == 120
    assert (view.state["counts"] == 12).all()
    assert "120" in view.info.value
    view.seed.value = 7
    assert view.state["seed"] == 7 and view.state["size"] == 120
    assert len(first) == 50
    assert view.state["drawn"] == 100  # the grid caps each class at show=10 images
    assert "image/png" in view.out.outputs[0]["data"]  # a picture is in the Output widget


def test_class_grid_and_balance_figures(digits):
    x, y = digits
    fig = plots.class_grid(x, y, data.CLASS_NAMES["mnist"], per_class=4)
    assert len(fig.axes) == 40 and fig.axes[0].get_ylabel() == "0"
    plt.close(fig)
    fig = plots.class_balance({"train": y, "test": y[:100]}, data.CLASS_NAMES["mnist"])
    bars = [p.get_height() for p in fig.axes[0].patches]
    assert len(bars) == 20 and np.isclose(sum(bars[:10]), 1.0)
    plt.close(fig)


def test_image_grid_handles_color_and_channels():
    imgs = np.zeros((5, 8, 8, 3), np.uint8)
    fig = plots.image_grid(imgs, titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 6 and fig.axes[0].get_title() == "a"
    plt.close(fig)
    fig = plots.image_grid(np.zeros((2, 8, 8, 1), np.uint8))
    plt.close(fig)
    with pytest.raises(ValueError):
        plots.image_grid(np.zeros((0, 8, 8), np.uint8))


def test_class_buttons_fit_the_longest_name():
    digits = widgets.class_buttons(data.CLASS_NAMES["mnist"], value=3)
    photos = widgets.class_buttons(data.CLASS_NAMES["cifar10"])
    assert digits.value == 3 and digits.options[3] == ("3", 3)
    assert photos.options[1] == ("automobile", 1)
    width = int(photos.style.button_width.removesuffix("px"))
    # about 7 px per character in JupyterLab's 13 px UI font, plus the button's padding
    assert width >= 7 * len("automobile") + 16 and int(digits.style.button_width[:-2]) < width


def test_jupyterlab_has_the_widget_front_end_that_matches_ipywidgets():
    """JupyterLab shows "Error displaying widget: model not found" when its widget front-end
    does not match the kernel's ipywidgets; the install must bring the matching pair.
    (Sliders moved in a real JupyterLab: tests/browser/lab_widgets.py.)"""
    import json
    import sys
    from pathlib import Path

    import ipywidgets

    package = (Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter-widgets"
               / "jupyterlab-manager" / "package.json")
    assert package.is_file(), f"no JupyterLab widget front-end in {sys.prefix}"
    front_end = json.loads(package.read_text())["version"]
    # ipywidgets 8 speaks widget protocol 2, which the front-end's 5.x releases implement.
    assert ipywidgets.__version__.startswith("8.") and front_end.startswith("5."), (ipywidgets.__version__, front_end)

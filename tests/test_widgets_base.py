"""The contract every widget follows (augkit.widgets.base), checked on a tiny subclass:
controls -> compute(**values) -> draw(fig, state) -> .state and a PNG in the Output."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from augkit import datasets
from augkit.widgets import base

ROOT = Path(__file__).resolve().parents[1]


class Line(base.LiveFigure):
    """y = slope * x, with a log of every compute and draw call."""

    def __init__(self, slope: float = 1.0):
        self.calls: list = []
        self.slope = W.FloatSlider(value=slope, min=-3.0, max=3.0, continuous_update=False)
        self.offset = W.IntSlider(value=0, min=-5, max=5)
        super().__init__({"slope": self.slope, "offset": self.offset})

    def compute(self, slope, offset):
        self.calls.append(("compute", slope, offset))
        x = np.linspace(0.0, 1.0, 5)
        return {"slope": slope, "offset": offset, "y": slope * x + offset}

    def describe(self, s):
        return f"slope <b>{s['slope']:g}</b>"

    def draw(self, fig, s):
        self.calls.append(("draw", s["slope"], s["offset"]))
        fig.subplots().plot(s["y"])


def _png(widget) -> bytes:
    (shown,) = widget.output.outputs  # exactly one picture: each redraw replaces the last
    return base64.b64decode(shown["data"]["image/png"])


def test_first_draw_happens_on_construction():
    w = Line(slope=2.0)
    assert w.calls == [("compute", 2.0, 0), ("draw", 2.0, 0)]
    assert w.n_updates == 1 and w.state["y"][-1] == 2.0
    assert _png(w)[:8] == b"\x89PNG\r\n\x1a\n"
    assert w.readout.value == "slope <b>2</b>" and len(w.figure.axes) == 1
    assert set(w.values()) == {"slope", "offset"}


def test_setting_a_control_recomputes_and_redraws():
    w = Line()
    before = _png(w)
    w.slope.value = -1.5  # what a drag in the browser does, without a kernel
    assert w.calls[-2:] == [("compute", -1.5, 0), ("draw", -1.5, 0)]
    assert w.n_updates == 2 and np.allclose(w.state["y"], -1.5 * np.linspace(0, 1, 5))
    assert _png(w) != before and "-1.5" in w.readout.value
    w.controls["offset"].value = 3
    assert w.state["offset"] == 3 and w.state["y"][0] == 3.0 and w.n_updates == 3


def test_hold_moves_several_controls_with_one_redraw():
    w = Line()
    with w.hold():
        w.slope.value = 0.5
        w.offset.value = -2
        assert w.n_updates == 1  # nothing redrawn while held
    assert w.n_updates == 2 and w.calls[-1] == ("draw", 0.5, -2)


def test_widget_displays_its_box(monkeypatch):
    shown = []
    monkeypatch.setattr(base, "display", shown.append)
    w = Line()
    w._ipython_display_()
    assert shown == [w.widget] and w.output in w.widget.children


def test_render_into_replaces_the_output_and_closes_the_figure():
    out = W.Output()
    for colour in ("red", "blue"):
        fig, ax = plt.subplots()
        ax.plot([0, 1], color=colour)
        base.render_into(out, fig)
        assert not plt.fignum_exists(fig.number)  # no pile-up of open pyplot figures
        assert len(out.outputs) == 1 and out.outputs[0]["output_type"] == "display_data"
    assert base64.b64decode(out.outputs[0]["data"]["image/png"])[:4] == b"\x89PNG"


def test_importing_widgets_and_the_light_families_does_not_start_tensorflow():
    code = ("import sys, augkit.widgets, augkit.widgets.data, augkit.widgets.theory; "
            "assert augkit.widgets.__file__.startswith(sys.argv[1]), augkit.widgets.__file__; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True,
                         env=env, cwd=ROOT)
    assert res.returncode == 0, res.stderr


def test_class_buttons_fit_the_longest_name():
    digits = base.class_buttons(datasets.get("mnist").class_names, value=3)
    photos = base.class_buttons(datasets.get("cifar10").class_names)
    assert digits.value == 3 and digits.options[3] == ("3", 3)
    assert photos.options[1] == ("automobile", 1)
    width = int(photos.style.button_width.removesuffix("px"))
    # about 7 px per character in JupyterLab's 13 px UI font, plus the button's padding
    assert width >= 7 * len("automobile") + 16 and int(digits.style.button_width[:-2]) < width


def test_jupyterlab_has_the_widget_front_end_that_matches_ipywidgets():
    """JupyterLab shows "Error displaying widget: model not found" when its widget front-end
    does not match the kernel's ipywidgets; the install must bring the matching pair.
    (Sliders moved in a real JupyterLab: tests/browser/test_browser_lab.py.)"""
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


class Panels(Line):
    """One or two panels with long labels, laid out by the constrained engine."""

    def draw(self, fig, s):
        axes = fig.subplots(1, 1 if s["offset"] == 0 else 2, squeeze=False)[0]
        for ax in axes:
            ax.plot(s["y"])
            ax.set_ylabel("a long label the layout must make room for")
            if s["offset"] == 2:  # named ticks, as a bar chart of strategies has
                ax.set_yticks([1.0, 2.0], ["classic", "semi-supervised GAN (labels + pool)"])


def test_layout_runs_once_and_is_reused_until_the_panels_or_their_labels_change():
    """Constrained layout cost up to half of a redraw; later draws reuse its positions."""
    w = Panels()
    first = [ax.get_position().bounds for ax in w.figure.axes]
    # the layout engine placed it (matplotlib's fixed default would be figure.subplot.left)
    assert abs(first[0][0] - plt.rcParams["figure.subplot.left"]) > 0.01
    w.slope.value = 2.5
    assert w.figure.get_layout_engine() is None  # no layout pass on this redraw
    assert [ax.get_position().bounds for ax in w.figure.axes] == first
    w.offset.value = 1  # two panels now: laid out afresh, and those positions kept
    assert w.figure.get_layout_engine() is not None and len(w.figure.axes) == 2
    two = [ax.get_position().bounds for ax in w.figure.axes]
    assert two[1][0] > two[0][0] + two[0][2]  # side by side, not on top of each other
    w.slope.value = -1.0
    assert [ax.get_position().bounds for ax in w.figure.axes] == two
    w.offset.value = 2  # the same two panels, but long tick names: they need a wider margin
    assert w.figure.get_layout_engine() is not None
    assert w.figure.axes[0].get_position().x0 > two[0][0] + 0.05


def test_building_a_widget_freezes_what_exists_so_moves_skip_long_collections():
    import gc

    gc.unfreeze()
    Line()
    assert gc.get_freeze_count() > 0

"""The one contract every interactive widget of the kit follows.

controls -> :meth:`LiveFigure.compute` ``(**values)`` -> ``.state`` -> :meth:`LiveFigure.draw`
``(fig, state)`` -> a PNG in an ``Output`` (:func:`render_into`).

A widget is a small object holding

* ``.controls``: its ``ipywidgets`` controls by name (sliders, dropdowns, class buttons),
* ``.state``: a dict of what the last redraw computed,
* ``.figure``: the last matplotlib ``Figure`` drawn, ``.readout``: an HTML line under the
  controls, ``.output``: the ``Output`` the picture lives in,
* ``.widget``: the assembled box to display (the object displays itself in a notebook too).

Setting ``control.value = x`` in Python fires the same callback as a drag in the browser, with
no kernel or front-end; the tests and the notebooks' check cells drive the widgets that way and
read ``.state``. Controls use ``continuous_update=False`` where a redraw is costly, so the
picture follows the release of a slider, not every pixel of the drag.
Introduced with :class:`augkit.widgets.data.SubsetPreview` in ``notebooks/00_start_here.ipynb``.
"""

from __future__ import annotations

import base64
import gc
import io
from contextlib import contextmanager

import ipywidgets as W
from IPython.display import display
from matplotlib.figure import Figure


def render_into(output: W.Output, fig, dpi: int = 80) -> None:
    """Show ``fig`` as a PNG in ``output`` by setting the widget's state, then close it.

    Why not ``with output: display(fig)``: capturing output while a cell executes (the
    first draw, or a slider set from code) intermittently hangs nbclient, which runs
    these notebooks in the tests and in ``augkit run``. A state update never does, it
    replaces the old picture in one message (no flicker), and it works headless, so
    tests can check that a picture was drawn.
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)  # a no-op for a bare Figure; frees a pyplot one
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


def _frame(fig) -> list:
    """What decides the margins a layout engine leaves around the panels: how many axes,
    their axis labels, named ticks (the strategies of a bar chart, say), legends and title
    lines. A redraw with the same frame can reuse the last layout: a number in a title or
    on a numeric axis may change, the room it takes hardly does."""
    from matplotlib.ticker import FixedLocator

    def named(axis):  # ticks placed by hand: their labels, read without drawing
        locator, formatter = axis.get_major_locator(), axis.get_major_formatter()
        if not isinstance(locator, FixedLocator):
            return None
        return tuple(str(formatter(x, i)) for i, x in enumerate(locator.locs))

    frame = [(fig._suptitle.get_text() if fig._suptitle else "", len(fig.legends))]
    for ax in fig.axes:
        frame.append((ax.get_xlabel(), ax.get_ylabel(), ax.get_title().count("\n"),
                      ax.get_legend() is not None, named(ax.xaxis), named(ax.yaxis)))
    return frame


class LiveFigure:
    """Base class: controls -> :meth:`compute` -> ``.state`` -> :meth:`draw` -> figure.

    A subclass builds its controls, sets any attributes ``compute`` needs, then calls
    ``super().__init__(controls)``, which draws the first picture. It fills in
    :meth:`compute` and :meth:`draw`, and may override :meth:`describe` (the readout line),
    :meth:`arrange` (the layout) and :meth:`_on_change` (controls that move other controls).
    """

    figsize: tuple[float, float] = (10.0, 3.4)
    dpi = 80
    # Widgets that draw with augkit.plots helpers set None: those call tight_layout themselves.
    layout: str | None = "constrained"

    def __init__(self, controls: dict[str, W.ValueWidget]):
        self.controls = controls
        self.state: dict = {}
        self.figure: Figure | None = None
        self.n_updates = 0
        self._held = False
        self._positions = None  # where the layout engine put the axes on the first draw
        self._frame: list = []  # ... and the text around them then (see _frame)
        self.readout = W.HTML()
        self.output = W.Output()
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self.widget = self.arrange()
        self.update()
        # Once TensorFlow and the models are loaded, Python tracks about half a million
        # objects, and a full garbage collection in the middle of a slider move took 300 ms
        # (benchmarks/widget_latency.py). Collect once now and move what exists to the
        # permanent generation, so later collections only look at new objects.
        gc.collect()
        gc.freeze()

    # Subclasses fill these in.
    def compute(self, **values) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self, fig: Figure, state: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self, state: dict) -> str:
        """The HTML readout under the controls; empty by default."""
        return ""

    def arrange(self) -> W.Widget:
        """The box to display: controls stacked, then the readout and the picture."""
        return W.VBox([W.VBox(list(self.controls.values())), self.readout, self.output])

    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    @contextmanager
    def hold(self):
        """Move several controls without a redraw per move; one redraw follows at the end."""
        self._held = True
        try:
            yield
        finally:
            self._held = False
        self.update()

    def _on_change(self, change) -> None:
        self.update()

    def update(self) -> None:
        """Recompute ``.state`` and redraw (called on every control change)."""
        if self._held:
            return
        self.state = self.compute(**self.values())
        self.readout.value = self.describe(self.state)
        # A bare Figure, not pyplot: redraws never pile up open figures or show inline.
        # The layout engine (constrained layout measures every tick label) cost up to half
        # of a redraw, so it runs on the first draw only; later draws
        # reuse the axes' positions it found while the text around the panels is the same.
        reuse = self._positions is not None
        fig = Figure(figsize=self.figsize, layout=None if reuse else self.layout)
        self.draw(fig, self.state)
        frame = _frame(fig) if self.layout is not None else None
        if reuse and frame == self._frame:
            for ax, position in zip(fig.axes, self._positions, strict=True):
                ax.set_position(position)
        elif reuse:  # other panels, labels or legends this time: lay it out afresh
            fig.set_layout_engine(self.layout)
        self.figure = fig
        self.n_updates += 1
        render_into(self.output, fig, dpi=self.dpi)
        if self.layout is not None and fig.get_layout_engine() is not None:
            self._positions = [ax.get_position() for ax in fig.axes]
            self._frame = frame

    def _ipython_display_(self) -> None:
        display(self.widget)

"""The precision/recall slider of notebook 07 and its toy generators, driven headlessly."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from augkit import toy2d  # noqa: E402
from augkit.widgets import fidelity as fidelity_widgets  # noqa: E402


def test_blend_moves_from_four_modes_to_eight_wide_ones():
    assert toy2d.blend_settings(0.0)["modes"] == 4.0 and toy2d.blend_settings(1.0)["modes"] == 8.0
    assert toy2d.blend_settings(1.0)["std"] == pytest.approx(2 * toy2d.STD)
    centres = toy2d.mode_centres()
    nearest = np.argmin(((toy2d.mode_dropping(400)[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert set(nearest.tolist()) == {0, 2, 4, 6}
    spread = np.linalg.norm(toy2d.over_dispersed(4000) - centres[np.argmin(
        ((toy2d.over_dispersed(4000)[:, None] - centres[None]) ** 2).sum(-1), axis=1)], axis=1)
    assert spread.std() > 1.5 * np.linalg.norm(toy2d.real(4000) - centres[np.argmin(
        ((toy2d.real(4000)[:, None] - centres[None]) ** 2).sum(-1), axis=1)], axis=1).std()
    with pytest.raises(ValueError):
        toy2d.blend(10, 1.5)


def test_slider_redraws_and_ends_behave_as_the_notebook_says():
    w = fidelity_widgets.PrecisionRecallSlider(n=600)
    assert set(w.controls) == {"mix"} and w.controls["mix"] is w.mix
    start, updates = dict(w.state), w.n_updates
    # Mode dropping: realistic samples, half of the variety.
    assert start["precision"] > 0.85 and start["recall"] < 0.6 and start["coverage"] < 0.6
    w.mix.value = 1.0
    assert w.n_updates == updates + 1 and w.state["mix"] == 1.0
    assert not np.array_equal(w.state["fake"], start["fake"])
    end = w.state
    # Over-dispersed: all of the variety, many samples off the data.
    assert end["recall"] > 0.9 and end["precision"] < 0.8
    assert end["precision"] < start["precision"] - 0.15 and end["recall"] > start["recall"] + 0.3
    assert end["density"] < start["density"]
    assert w.figure is not None and len(w.figure.axes) == 2
    assert "precision" in w.readout.value and w.output.outputs[0]["data"]["image/png"]
    w.mix.value = 0.5
    assert 4.0 < w.state["modes"] < 8.0 and w.state["precision"] < start["precision"]


def test_ball_panel_counts_what_precision_counts():
    import matplotlib.pyplot as plt

    from augkit import fidelity

    real, fake = toy2d.real(300), toy2d.over_dispersed(300)
    fig, ax = plt.subplots()
    share = fidelity_widgets.ball_panel(ax, real, fake, k=3)
    assert share == pytest.approx(fidelity.precision_recall(real, fake, k=3)["precision"])
    plt.close(fig)

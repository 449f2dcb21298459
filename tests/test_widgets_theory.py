"""The derivation widgets (notebooks 01 and 02) driven headlessly: set a control's value,
check what was recomputed (setting ``.value`` fires the observe callbacks without a kernel)."""

import base64

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from augkit import theory  # noqa: E402
from augkit.widgets import base  # noqa: E402
from augkit.widgets import theory as theory_widgets  # noqa: E402


def test_gan_value_widget_jsd_vanishes_when_generator_matches_data():
    w = theory_widgets.GanValueWidget(data="one Gaussian", g_mean=-1.5, g_std=1.0)
    assert set(w.controls) == {"data", "g_mean", "g_std"}
    before, updates = w.state["jsd"], w.n_updates
    assert before > 0.3
    w.controls["g_mean"].value = 1.0  # the data density is N(1, 1)
    assert w.n_updates == updates + 1
    assert w.state["jsd"] == pytest.approx(0.0, abs=1e-10)
    assert w.state["value"] == pytest.approx(-np.log(4.0), abs=1e-9)
    np.testing.assert_allclose(w.state["d_star"], 0.5)
    w.controls["g_std"].value = 2.0
    assert w.state["jsd"] > 0.01
    assert w.state["value"] == pytest.approx(w.state["value_from_jsd"], abs=1e-6)
    assert w.state["best_mean"] == pytest.approx(1.0, abs=0.15)
    assert "V(D*, G)" in w.readout.value
    assert w.figure is not None and len(w.figure.axes) == 3


def test_gan_value_widget_two_modes_cannot_be_matched_by_one_gaussian():
    w = theory_widgets.GanValueWidget()
    w.controls["data"].value = "two modes"
    assert w.state["p_data"] is not None
    w.controls["g_std"].value = 0.6
    # The best single narrow Gaussian sits on one mode (JSD minima at -2 and 2), not between.
    assert abs(w.state["best_mean"]) == pytest.approx(2.0, abs=0.2)
    assert w.state["sweep_jsd"].min() > 0.1
    w.controls["g_mean"].value = 2.0
    on_mode = w.state["jsd"]
    w.controls["g_mean"].value = 0.0
    assert w.state["jsd"] > on_mode
    assert w.state["value"] == pytest.approx(w.state["value_from_jsd"], abs=1e-6)


def test_generator_gradient_widget():
    w = theory_widgets.GeneratorGradientWidget(d=0.5)
    assert w.state["ratio"] == pytest.approx(1.0)
    w.controls["d"].value = 1e-3
    assert w.state["d"] == pytest.approx(1e-3)
    assert abs(w.state["saturating"]) == pytest.approx(1e-3)
    assert abs(w.state["non_saturating"]) == pytest.approx(0.999)
    assert w.state["ratio"] == pytest.approx(999.0, rel=1e-6)
    w.controls["d"].value = 0.9
    assert abs(w.state["saturating"]) > abs(w.state["non_saturating"])
    assert w.state["loss_non_saturating"] == pytest.approx(-np.log(0.9))


def test_gaussian_kl_widget():
    w = theory_widgets.GaussianKLWidget(mu=1.0, sigma=0.5)
    assert w.state["kl"] == pytest.approx(theory.gaussian_kl_terms(1.0, 0.5)["kl"])
    assert w.state["kl_grid"] == pytest.approx(w.state["kl"], abs=1e-8)
    w.controls["mu"].value = 0.0
    w.controls["sigma"].value = 1.0
    assert w.state["kl"] == pytest.approx(0.0, abs=1e-12)
    w.controls["mu"].value = 2.0
    assert w.state["kl"] == pytest.approx(2.0)  # mu^2 / 2 with sigma = 1
    assert w.state["kl"] == pytest.approx(w.state["cross_entropy"] - w.state["entropy"])
    assert "KL(q || p)" in w.readout.value


def test_beta_widget_trades_rate_for_distortion():
    w = theory_widgets.BetaRateDistortionWidget(beta=1.0)
    assert w.state["active"].tolist() == [True, True]
    rate, mse = w.state["total_rate"], w.state["total_mse"]
    w.controls["beta"].value = 8.0  # water level 2: between the variances 1 and 4
    assert w.state["total_rate"] < rate and w.state["total_mse"] > mse
    assert w.state["active"].tolist() == [True, False]
    assert w.state["shrink"][1] == 0.0
    w.controls["beta"].value = 100.0
    assert w.state["total_rate"] == 0.0
    assert w.state["total_mse"] == pytest.approx(5.0)  # everything reconstructed as 0
    assert "latent dimensions in use: 0 of 2" in w.readout.value


def test_widget_renders_png_into_output_state(monkeypatch):
    shown = []
    monkeypatch.setattr(base, "display", lambda obj: shown.append(obj))
    w = theory_widgets.GeneratorGradientWidget()
    # Every draw replaces the Output's state with one PNG (no output capture while a cell runs).
    (first,) = w.output.outputs
    assert base64.b64decode(first["data"]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    w.controls["d"].value = 0.2
    (second,) = w.output.outputs
    assert second["data"]["image/png"] != first["data"]["image/png"]  # the picture changed
    w._ipython_display_()
    assert shown[-1] is w.widget

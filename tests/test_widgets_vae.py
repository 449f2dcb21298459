"""The VAE widgets (notebooks 05 and 06) driven headlessly: move a control, check what was decoded and drawn."""

import numpy as np
import pytest

from augkit import datasets, vae
from augkit.widgets import vae as vae_widgets


@pytest.fixture(scope="module")
def digits():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (40, 28, 28), dtype=np.uint8), (np.arange(40) % 10).astype(np.uint8)


def _drawn(widget) -> bool:
    return "image/png" in widget.output.outputs[0]["data"]


def test_latent_sliders_decode_where_they_point(digits):
    model = vae.build_vae("mnist", False, latent_dim=2, width=8, seed=0)
    codes = np.random.default_rng(0).standard_normal((40, 2))
    view = vae_widgets.LatentSliders(model, background=(codes, digits[1]),
                                     class_names=datasets.get("mnist").class_names)
    assert _drawn(view) and np.allclose(view.state["z"], 0.0)
    view.sliders[0].value, view.sliders[1].value = 2.0, -1.5
    assert np.allclose(view.state["z"], [2.0, -1.5])
    want = vae.to_uint8(model.decode(np.array([[2.0, -1.5]], np.float32)))[0]
    assert np.array_equal(view.state["image"], want) and _drawn(view)


def test_latent_sliders_on_a_larger_conditional_space_fix_the_other_coordinates():
    model = vae.build_vae("mnist", True, latent_dim=6, width=8, seed=0)
    view = vae_widgets.LatentSliders(model, dims=4, label=3)
    assert len(view.sliders) == 4
    view.sliders[3].value = 1.0
    assert view.state["z"].tolist() == [0, 0, 0, 1.0, 0, 0]
    want = vae.to_uint8(model.decode(view.state["z"][None], [3]))[0]
    assert np.array_equal(view.state["image"], want)


def test_interpolation_between_two_test_images(digits):
    x, _ = digits
    model = vae.build_vae("mnist", False, latent_dim=3, width=8, seed=0)
    view = vae_widgets.TestInterpolation(model, x, a=0, b=5, steps=5)
    mu, _ = model.encode(x[[0, 5]])
    strip = view.state["strip"]
    assert strip.shape == (5, 28, 28, 1)
    assert np.array_equal(strip[0], vae.to_uint8(model.decode(mu[:1]))[0])
    assert np.array_equal(strip[-1], vae.to_uint8(model.decode(mu[1:]))[0])
    view.t.value = 1.0
    assert view.state["index"] == 4 and np.array_equal(view.state["image"], strip[-1])
    view.b.value = 7
    assert not np.array_equal(view.state["strip"][-1], strip[-1]) and _drawn(view)
    with pytest.raises(ValueError, match="unconditional"):
        vae_widgets.TestInterpolation(vae.build_vae("mnist", True, latent_dim=2, width=8), x)


def test_style_explorer_keeps_the_style_and_changes_the_class(digits):
    x, y = digits
    model = vae.build_vae("mnist", True, latent_dim=6, width=8, seed=0)
    view = vae_widgets.StyleExplorer(model, x, y, datasets.get("mnist").class_names, n_sliders=4, index=3)
    assert view.label.value == 3 and view.state["row"].shape == (10, 28, 28, 1)
    mu, _ = model.encode(x[3:4], y[3:4])
    assert np.allclose(view.state["z"][4:], mu[0, 4:])  # coordinates without a slider: the style
    view.label.value = 8
    assert np.array_equal(view.state["image"], view.state["row"][8])
    z_before = view.state["z"].copy()
    view.sliders[0].value = -2.5
    assert view.state["z"][0] == pytest.approx(-2.5) and np.allclose(view.state["z"][1:], z_before[1:])
    view.index.value = 11
    mu, _ = model.encode(x[11:12], y[11:12])
    assert np.allclose(view.state["z"][4:], mu[0, 4:]) and _drawn(view)
    with pytest.raises(ValueError, match="conditional"):
        vae_widgets.StyleExplorer(vae.build_vae("mnist", False, latent_dim=2, width=8), x, y, "0123456789")


def test_manifold_grid_and_pairs(digits):
    model = vae.build_vae("mnist", False, latent_dim=2, width=8, seed=0)
    images, q = vae_widgets.manifold_grid(model, n=5)
    assert images.shape == (25, 28, 28, 1) and np.allclose(q, -q[::-1])
    with pytest.raises(ValueError, match="2-D"):
        vae_widgets.manifold_grid(vae.build_vae("mnist", False, latent_dim=3, width=8))
    fig = vae_widgets.show_pairs(digits[0], model.reconstruct(digits[0]), n=6)
    assert len(fig.axes) == 12


def test_same_style_every_class_rows(digits):
    x, y = digits
    model = vae.build_vae("mnist", True, latent_dim=4, width=8, seed=0)
    grid = vae_widgets.same_style_every_class(model, x[:3], y[:3])
    assert grid.shape == (30, 28, 28, 1)
    mu, _ = model.encode(x[1:2], y[1:2])
    assert np.array_equal(grid[10 + 6], vae.to_uint8(model.decode(mu, [6]))[0])


def test_vae_figures():
    import matplotlib.pyplot as plt

    from augkit import plots

    rng = np.random.default_rng(0)
    fig = plots.latent_scatter(rng.standard_normal((50, 2)), np.arange(50) % 10, list("0123456789"))
    assert len(fig.axes[0].collections) == 1
    with pytest.raises(ValueError, match="2\\) codes"):
        plots.latent_scatter(rng.standard_normal((5, 3)), np.arange(5), list("0123456789"))
    rec = {"steps": np.arange(10, 110, 10), "frames": np.zeros((2, 1, 28, 28, 1)),
           "log_neg_elbo": np.linspace(200, 100, 10), "log_kl": np.linspace(1, 20, 10),
           "epoch_val_neg_elbo": np.array([150.0, 110.0])}
    fig = plots.training_curves({"a": rec, "b": rec}, keys=("neg_elbo", "kl"))
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 4 and len(fig.axes[1].lines) == 2
    noise = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    fig = plots.spectra({"noise": noise, "flat": np.full_like(noise, 9)})
    assert len(fig.axes[0].lines) == 2
    ratio = fig.axes[1].lines[0].get_ydata()
    assert np.allclose(ratio, 1.0)  # the reference divided by itself
    plt.close("all")


def test_traversal_moves_one_coordinate():
    model = vae.build_vae("mnist", True, latent_dim=4, width=8, seed=0)
    row = vae_widgets.traversal(model, 2, [-1.0, 0.0, 1.0], label=5)
    z = np.zeros((1, 4), np.float32)
    z[0, 2] = 1.0
    assert row.shape == (3, 28, 28, 1) and np.array_equal(row[2], vae.to_uint8(model.decode(z, [5]))[0])
    with pytest.raises(ValueError, match="dim must be"):
        vae_widgets.traversal(model, 4, [0.0], label=1)

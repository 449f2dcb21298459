"""The GAN widgets (notebooks 04 and 06) driven headlessly: move a control, check what was
sampled and drawn. Small untrained GANs where the weights do not matter; the shipped record and
conditional GAN where they do."""

import base64

import numpy as np
import pytest

from augkit import data, datasets, gan, zoo
from augkit.widgets import gan as gan_widgets


@pytest.fixture(scope="module")
def small_cgan():
    return gan.build_gan("mnist", conditional=True, latent_dim=8, width=8, seed=0)


def _png(widget) -> bytes:
    (shown,) = widget.output.outputs
    png = base64.b64decode(shown["data"]["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return png


def test_playback_slider_walks_the_shipped_training_record():
    record = zoo.load_history("cgan_mnist")
    frames, steps = record["frames"], record["steps"]
    view = gan_widgets.TrainingPlayback(record)
    # It opens on the last epoch, with every logged step drawn.
    assert view.epoch.max == len(frames) and view.state["epoch"] == len(frames)
    assert view.state["steps_shown"] == len(steps)
    assert np.array_equal(view.state["frame"], frames[-1])
    last = _png(view)
    view.epoch.value = 1
    assert np.array_equal(view.state["frame"], frames[0])
    early = view.state["steps_shown"]
    assert 0 < early < len(steps) and steps[early - 1] <= view.steps_per_epoch < steps[early]
    assert _png(view) != last
    grid, losses = view.figure.axes
    assert grid.get_title() == "same noise after epoch 1"
    assert losses.lines[-1].get_xdata()[0] == view.steps_per_epoch  # the epoch marker moved


def test_playback_shows_only_the_losses_logged_so_far():
    record = {"frames": np.zeros((4, 6, 8, 8, 1), np.uint8), "steps": np.arange(1, 41),
              "log_d_loss": np.linspace(1.0, 0.5, 40), "log_g_loss": np.linspace(2.0, 1.0, 40)}
    record["frames"][2] = 200  # epoch 3 is a bright frame
    view = gan_widgets.TrainingPlayback(record)
    assert view.steps_per_epoch == 10
    view.epoch.value = 3
    assert view.state["steps_shown"] == 30 and (view.state["frame"] == 200).all()
    losses = view.figure.axes[1]
    solid = [line for line in losses.lines if line.get_label() in ("d_loss", "g_loss")]
    assert [len(line.get_xdata()) for line in solid] == [30, 30]


def test_class_buttons_choose_the_explorers_class(small_cgan):
    view = gan_widgets.ConditionalExplorer(small_cgan, datasets.get("mnist").class_names, n=12)
    assert (view.state["labels"] == 0).all() and view.state["images"].shape == (12, 28, 28, 1)
    first = _png(view)
    view.label.value = 7
    assert (view.state["labels"] == 7).all()
    want, _ = small_cgan.sample(12, labels=7, seed=0)
    assert np.array_equal(view.state["images"], want)
    assert _png(view) != first
    # one tiled picture, two rows of up to ten, 3 white pixels between images
    (ax,) = view.figure.axes
    canvas = np.asarray(ax.images[0].get_array())
    assert canvas.shape == (2 * 31 - 3, 10 * 31 - 3)
    assert np.array_equal(canvas[31:59, 31:59], view.state["images"][11, ..., 0])
    assert (canvas[28:31] == 255).all() and (canvas[31:59, 62:90] == 0).all()  # gap, empty cell
    sevens = view.state["images"].copy()
    view.seed.value = 5
    assert (view.state["labels"] == 7).all() and not np.array_equal(view.state["images"], sevens)


def test_explorer_on_the_shipped_conditional_gan():
    cgan = zoo.load_generator_model("cgan_mnist")
    view = gan_widgets.ConditionalExplorer(cgan, datasets.get("mnist").class_names)
    view.label.value = 3
    assert (view.state["labels"] == 3).all() and view.state["images"].shape == (20, 28, 28, 1)
    # A trained generator draws strokes on a dark background, not noise around mid-grey.
    images = view.state["images"]
    assert np.median(images) < 40 and images.max() > 200


def _decode(model, z, label):
    labels = np.array([label]) if model.conditional else None
    return data.from_minus1_1(model.generate(z[None], labels))[0]


def test_interpolation_endpoints_are_the_two_noises(small_cgan):
    view = gan_widgets.LatentInterpolation(small_cgan, label=3, seeds=(1, 2), steps=5)
    assert view.state["t"] == 0.0 and view.t.step == pytest.approx(0.25)
    assert np.array_equal(view.state["image"], _decode(small_cgan, view.z0, 3))
    start = _png(view)
    view.t.value = 1.0
    assert np.allclose(view.state["z"], view.z1)
    assert np.array_equal(view.state["image"], _decode(small_cgan, view.z1, 3))
    assert _png(view) != start
    strip = view.strip(5)
    assert strip.shape == (5, 28, 28, 1) and np.array_equal(strip[-1], view.state["image"])
    assert np.array_equal(strip[0], _decode(small_cgan, view.z0, 3))
    view.label.value = 8  # same noise, another class
    assert view.state["label"] == 8
    assert np.array_equal(view.state["image"], _decode(small_cgan, view.z1, 8))


def test_interpolation_on_an_unconditional_gan():
    model = gan.build_gan("mnist", conditional=False, latent_dim=8, width=8, seed=0)
    view = gan_widgets.LatentInterpolation(model, seeds=(3, 4))
    view.t.value = 0.5
    mid = 0.5 * view.z0 + 0.5 * view.z1
    assert np.allclose(view.state["z"], mid)
    assert np.array_equal(view.state["image"], _decode(model, mid, None))

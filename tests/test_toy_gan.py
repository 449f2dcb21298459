"""The toy GAN: each network is updated by its own optimizer only, every registered
loss trains with finite values, and the training helper records what notebook 01 plots."""

import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from augkit import losses, toy_gan  # noqa: E402

DATA = toy_gan.ring_data(2048, std=0.05, seed=0)


def weights(model):
    return [w.numpy().copy() for w in model.trainable_weights]


def changed(before, model, kernels_only=False):
    """Per weight: did it change? (Output biases can legitimately stay put: the Wasserstein
    and hinge losses' gradients w.r.t. the critic's last bias can cancel to exactly 0.)"""
    return [not np.array_equal(b, a.numpy())
            for b, a in zip(before, model.trainable_weights, strict=True)
            if not kernels_only or b.ndim == 2]


def test_ring_data_and_mode_coverage():
    centers = toy_gan.ring_centers(8, 2.0)
    assert DATA.shape == (2048, 2) and DATA.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 2.0)
    full = toy_gan.mode_coverage(DATA, centers, std=0.05)
    assert full["covered"] == 8 and full["high_quality"] > 0.98
    collapsed = np.repeat(centers[:1], 500, axis=0) + 0.01
    one = toy_gan.mode_coverage(collapsed, centers, std=0.05)
    assert one["covered"] == 1 and one["counts"][0] == 500
    far = toy_gan.mode_coverage(np.zeros((100, 2)), centers, std=0.05)
    assert far["covered"] == 0 and far["high_quality"] == 0.0


@pytest.mark.parametrize("loss_name", sorted(losses.GAN_LOSSES))
def test_train_step_updates_both_networks_with_finite_losses(loss_name):
    gan = toy_gan.build(loss_name, hidden=16, seed=1)
    d_before, g_before = weights(gan.discriminator), weights(gan.generator)
    out = gan.train_step(tf.constant(DATA[:64]))
    assert set(out) == {"d_loss", "g_loss"}
    assert all(np.isfinite(float(v)) for v in out.values())
    assert all(changed(d_before, gan.discriminator, kernels_only=True))
    assert all(changed(g_before, gan.generator, kernels_only=True))


def test_each_optimizer_touches_only_its_own_network():
    gan = toy_gan.build("non_saturating", hidden=16, seed=2)
    gan.g_optimizer.learning_rate = 0.0
    d_before, g_before = weights(gan.discriminator), weights(gan.generator)
    gan.train_step(tf.constant(DATA[:64]))
    assert all(changed(d_before, gan.discriminator)) and not any(changed(g_before, gan.generator))
    gan = toy_gan.build("non_saturating", hidden=16, seed=2)
    gan.d_optimizer.learning_rate = 0.0
    d_before, g_before = weights(gan.discriminator), weights(gan.generator)
    gan.train_step(tf.constant(DATA[:64]))
    assert not any(changed(d_before, gan.discriminator)) and all(changed(g_before, gan.generator))


def test_fit_uses_the_custom_train_step_and_metrics():
    gan = toy_gan.build("hinge", hidden=16, seed=3)
    assert [m.name for m in gan.metrics] == ["d_loss", "g_loss"]
    ds = tf.data.Dataset.from_tensor_slices(DATA).batch(64, drop_remainder=True)
    d_before = weights(gan.discriminator)
    history = gan.fit(ds, epochs=2, steps_per_epoch=3, verbose=0, shuffle=False)
    assert set(history.history) == {"d_loss", "g_loss"}
    assert all(np.isfinite(history.history["d_loss"]))
    assert all(changed(d_before, gan.discriminator, kernels_only=True))
    assert gan(np.zeros((5, 2), "float32")).shape == (5, 2)


def test_unknown_loss_name_is_rejected_at_compile():
    gan = toy_gan.ToyGAN(hidden=8)
    with pytest.raises(ValueError, match="valid names"):
        gan.compile(loss="vanilla")


def test_train_helper_records_losses_and_snapshots():
    gan = toy_gan.build("wgan_gp", hidden=16, seed=4)
    history = toy_gan.train(gan, DATA, steps=20, batch_size=64, n_snapshots=3, n_samples=50)
    assert history.loss == "wgan_gp"
    assert history.d_loss.shape == (20,) and history.g_loss.shape == (20,)
    assert np.all(np.isfinite(history.d_loss)) and np.all(np.isfinite(history.g_loss))
    assert history.snapshot_steps == [0, 10, 20]
    assert [s.shape for s in history.snapshots] == [(50, 2)] * 3
    assert not np.array_equal(history.snapshots[0], history.snapshots[-1])
    # Per-step values, not a running mean: the recorded loss varies from step to step.
    assert np.unique(history.d_loss).size > 10
    fig = toy_gan.plot_history(history, DATA, toy_gan.ring_centers())
    assert len(fig.axes) == 4
    assert not any("equilibrium" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    import matplotlib.pyplot as plt

    plt.close(fig)
    # Cross-entropy losses draw where they settle at D = 1/2: log 4 for D, log 2 for G.
    history.loss = "non_saturating"
    fig = toy_gan.plot_history(history, DATA)
    levels = sorted(round(float(line.get_ydata()[0]), 4) for line in fig.axes[0].get_lines()
                    if line.get_linestyle() == ":")
    assert levels == [round(np.log(2), 4), round(np.log(4), 4)]
    plt.close(fig)


def test_training_is_reproducible_with_a_seed():
    runs = []
    for _ in range(2):
        gan = toy_gan.build("non_saturating", hidden=16, seed=5)
        runs.append(toy_gan.train(gan, DATA, steps=5, batch_size=32, n_snapshots=2))
    np.testing.assert_array_equal(runs[0].d_loss, runs[1].d_loss)
    assert keras.config.floatx() == "float32"

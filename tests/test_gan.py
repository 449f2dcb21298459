"""GAN / ConditionalGAN train_step, callbacks (guard, resume), sampling, metrics."""

import numpy as np
import pytest
import tensorflow as tf

from augkit import callbacks, checkpoints, gan, losses, metrics, nets


def _batch(x, y):
    from augkit import data

    return tf.constant(data.to_minus1_1(x[:16])[..., None]), tf.constant(y[:16].astype(np.int32))


@pytest.mark.parametrize("conditional", [False, True])
def test_train_step_updates_both_networks_each_with_its_own_optimizer(tiny_data, conditional):
    model = gan.build_gan("mnist", conditional, latent_dim=8, width=8)
    xb, yb = _batch(*tiny_data)
    batch = (xb, yb) if conditional else xb
    model.train_step(batch)  # builds both optimizers
    g0 = [w.numpy().copy() for w in model.generator.trainable_weights]
    d0 = [w.numpy().copy() for w in model.discriminator.trainable_weights]
    d_iters, g_iters = int(model.d_optimizer.iterations), int(model.g_optimizer.iterations)
    logs = model.train_step(batch)
    assert all(not np.allclose(a, b.numpy()) for a, b in zip(g0, model.generator.trainable_weights, strict=True)
               if a.ndim > 1)
    assert all(not np.allclose(a, b.numpy()) for a, b in zip(d0, model.discriminator.trainable_weights, strict=True)
               if a.ndim > 1)
    assert int(model.d_optimizer.iterations) == d_iters + 1 and int(model.g_optimizer.iterations) == g_iters + 1
    # Each optimizer's slots belong to its own network only.
    g_ids = {id(v) for v in model.generator.trainable_weights}
    d_ids = {id(v) for v in model.discriminator.trainable_weights}
    assert {id(v) for v in model.g_optimizer._trainable_variables} == g_ids
    assert {id(v) for v in model.d_optimizer._trainable_variables} == d_ids
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}


@pytest.mark.parametrize("loss", sorted(losses.GAN_LOSSES))
def test_every_loss_trains_with_finite_losses(tiny_data, loss):
    model = gan.build_gan("mnist", True, latent_dim=8, width=8, loss=loss)
    history, _, guard = gan.train_gan(model, *tiny_data, epochs=2, batch_size=32, progress=False,
                                      sample_every=False)
    assert guard.message is None
    for values in history.history.values():
        assert np.isfinite(values).all()


def test_guard_fires_on_nan_and_restores_weights(tiny_data):
    model = gan.build_gan("mnist", False, latent_dim=8, width=8)
    x, _ = tiny_data

    import keras

    class Poison(keras.callbacks.Callback):
        """From epoch 2 on, corrupt a generator weight with NaN before each step."""

        def on_train_batch_begin(self, batch, logs=None):
            if self.model._poison:
                w = self.model.generator.trainable_weights[0]
                w.assign(tf.fill(w.shape, np.nan))

        def on_epoch_end(self, epoch, logs=None):
            self.model._poison = True

    model._poison = False
    history, _, guard = gan.train_gan(model, x, epochs=4, batch_size=32, progress=False,
                                      sample_every=False, extra_callbacks=[Poison()])
    assert guard.message and "non-finite" in guard.message
    assert len(history.history["d_loss"]) < 4  # stopped early
    assert all(np.isfinite(w.numpy()).all() for w in model.weights)  # last good weights back


def test_guard_fires_on_collapsed_discriminator():
    import keras

    guard = callbacks.DivergenceGuard(patience=3, verbose=False)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    guard.set_model(model)
    guard.on_train_begin()
    good = [w.numpy().copy() for w in model.weights]
    model.weights[0].assign(tf.zeros_like(model.weights[0]) + 5.0)
    for step in range(3):
        guard.on_train_batch_end(step, {"d_loss": 0.001, "d_real": 0.999, "d_fake": 0.001})
    assert model.stop_training and "discriminator won" in guard.message
    assert np.allclose(model.weights[0].numpy(), good[0])


def test_checkpoint_resume_continues_where_it_stopped(tiny_data, tmp_path):
    x, y = tiny_data
    first = gan.build_gan("mnist", True, latent_dim=8, width=8, seed=3)
    h1, _, _ = gan.train_gan(first, x, y, epochs=2, batch_size=32, progress=False,
                             sample_every=False, checkpoint_dir=tmp_path)
    # "Interrupted" after epoch 2: a fresh process builds a new model and resumes.
    second = gan.build_gan("mnist", True, latent_dim=8, width=8, seed=99)
    epoch, _, record = checkpoints.restore(second, tmp_path)
    assert epoch == 2 and list(record["epoch_d_loss"]) == h1.history["d_loss"]
    for a, b in zip(first.weights, second.weights, strict=True):
        assert np.allclose(a.numpy(), b.numpy())
    assert int(second.g_optimizer.iterations) == int(first.g_optimizer.iterations) == 8
    history, _, _ = gan.train_gan(second, x, y, epochs=3, batch_size=32, progress=False,
                                  sample_every=False, checkpoint_dir=tmp_path, resume=True)
    # The record is continuous: epochs 1-2 from the checkpoint, then epoch 3.
    assert history.history["d_loss"][:2] == h1.history["d_loss"]
    assert len(history.history["d_loss"]) == 3
    assert int(second.g_optimizer.iterations) == 12
    assert checkpoints.restore(gan.build_gan("mnist", True, latent_dim=8, width=8),
                               tmp_path / "none")[0] == 0


def test_sampling_is_deterministic_and_uint8(tiny_data, sampling_contract):
    model = gan.build_gan("mnist", True, latent_dim=8, width=8)
    sampling_contract(model)
    with pytest.raises(ValueError, match="labels must be integers"):
        model.sample(3, labels=10)
    with pytest.raises(ValueError, match="positive integer"):
        model.sample(0)
    plain = gan.build_gan("mnist", False, latent_dim=8, width=8)
    assert plain.sample(3, seed=1).shape == (3, 28, 28, 1)


def test_recorder_keeps_one_frame_per_epoch(tiny_data):
    model = gan.build_gan("mnist", True, latent_dim=8, width=8)
    _, recorder, _ = gan.train_gan(model, *tiny_data, epochs=2, batch_size=64, progress=False)
    assert len(recorder.frames) == 2 and recorder.frames[0].shape == (40, 28, 28, 1)


def test_cifar_shapes():
    g = nets.build_generator(16, (32, 32, 3), 10, width=8)
    d = nets.build_discriminator((32, 32, 3), 10, width=8)
    z, y = tf.zeros((2, 16)), tf.constant([1, 2])
    assert g([z, y]).shape == (2, 32, 32, 3) and d([g([z, y]), y]).shape == (2, 1)
    with pytest.raises(ValueError, match="image_shape"):
        nets.build_generator(16, (64, 64, 3))


def test_frechet_distance_against_closed_form():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20000, 3))
    b = rng.standard_normal((20000, 3)) * 2.0 + 1.0
    # N(0, I) vs N(1, 4I): |mu|^2 = 3, trace term = 3 * (1 + 4 - 2*2) = 3.
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert metrics.frechet_distance(a, b) == pytest.approx(6.0, rel=0.05)


def test_saturation_probe_measures_the_predicted_gradient_ratio(tiny_data):
    x, _ = tiny_data
    probe = gan.saturation_probe(x, seed=0, levels=(0.5, 0.1), max_d_steps=200, width=8,
                                 batch_size=32, lr=1e-3)
    first, last = probe["points"][0], probe["points"][-1]
    assert len(probe["points"]) == 2 and last["d_fake"] < 0.1 <= first["d_fake"]
    for q in probe["points"]:
        ratio = q["grad_norm"]["minimax"] / q["grad_norm"]["non_saturating"]
        # |dL/da| is D for minimax and 1 - D for non-saturating, sample by sample.
        assert ratio == pytest.approx(q["predicted_ratio"], rel=0.1)
    assert last["grad_norm"]["minimax"] < 0.2 * last["grad_norm"]["non_saturating"]
    assert probe["d_fake_trace"][-1] < 0.1 and len(probe["d_fake_trace"]) == last["step"]

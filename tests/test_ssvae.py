"""The semi-supervised VAE (M2 on M1 features): its per-class bound written out with numpy,
the unlabeled bound built from it, learning from unlabeled rows, resume."""

import numpy as np
import pytest
import tensorflow as tf

from augkit import checkpoints, losses, ssvae

K, D, LATENT = 3, 4, 2


def _rows(n, seed=0):
    """Three tight, well-separated clusters in D dims, as M1 rows [mu, log_var]."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    centres = np.eye(K, D) * 6.0
    mu = centres[y] + rng.normal(0, 0.3, (n, D))
    return np.concatenate([mu, np.full((n, D), -4.0)], 1).astype(np.float32), y


def _model(alpha=5.0, seed=0):
    rows, y = _rows(K)
    return ssvae.build_m2(rows, y, K, latent_dim=LATENT, hidden=16, alpha=alpha, lr=3e-3,
                          seed=seed)


def _dense(x, layer, act=None):
    w, b = (v.numpy() for v in layer.weights)
    h = x @ w + b
    return np.logaddexp(0, h) if act == "softplus" else h


def test_class_loss_is_the_negative_elbo_plus_log_k_written_out():
    model = _model()
    rng = np.random.default_rng(1)
    z1 = rng.normal(size=(5, D)).astype(np.float32)
    onehot = np.eye(K, dtype=np.float32)[[0, 1, 2, 0, 1]]
    eps = rng.normal(size=(5, LATENT)).astype(np.float32)
    got = model.class_loss(z1, onehot, eps=eps).numpy()

    enc = model.encoder.layers
    h = _dense(_dense(np.concatenate([z1, onehot], 1), enc[0], "softplus"), enc[1])
    mu, log_var = h[:, :LATENT], h[:, LATENT:]
    z2 = mu + np.exp(0.5 * log_var) * eps
    dec = model.decoder.layers
    out = _dense(_dense(np.concatenate([z2, onehot], 1), dec[0], "softplus"), dec[1])
    mean, out_log_var = out[:, :D], np.clip(out[:, D:], -6, 4)
    nll = 0.5 * np.sum(np.log(2 * np.pi) + out_log_var + (z1 - mean) ** 2 / np.exp(out_log_var),
                       axis=1)
    kl = 0.5 * np.sum(mu ** 2 + np.exp(log_var) - 1 - log_var, axis=1)
    np.testing.assert_allclose(got, nll + kl + np.log(K), rtol=1e-4)


def test_per_class_loss_puts_every_class_in_turn():
    model = _model()
    z1 = np.random.default_rng(2).normal(size=(4, D)).astype(np.float32)
    eps = np.random.default_rng(3).normal(size=(4 * K, LATENT)).astype(np.float32)
    table = model.per_class_loss(z1, eps=eps).numpy()
    assert table.shape == (4, K)
    for k in range(K):
        want = model.class_loss(z1, np.eye(K, dtype=np.float32)[[k] * 4], eps=eps[k::K])
        np.testing.assert_allclose(table[:, k], want.numpy(), rtol=1e-5)


def test_objective_is_the_sum_of_its_three_stated_parts():
    model = _model(alpha=7.0)
    rows, y = _rows(6, seed=3)
    z = rows[:, :D]
    tf.random.set_seed(0)
    loss, parts, logits = model.objective(z, y.astype(np.int32), z)
    assert float(loss) == pytest.approx(sum(float(v) for v in parts.values()), rel=1e-6)
    ce = losses.m2_classification_loss(logits, y, 7.0)
    assert float(parts["classification"]) == pytest.approx(float(np.mean(ce)), rel=1e-6)


def test_learns_the_clusters_from_three_labels_and_unlabeled_rows():
    model = _model()
    rows, y = _rows(600, seed=4)
    run = ssvae.train_m2(model, rows, epochs=4, batch_size=50, validation=(rows, y),
                         progress=False)
    assert run.history.history["val_accuracy"][-1] > 0.95
    assert np.mean(model.predict_classes(rows) == y) > 0.95
    assert all(np.isfinite(v[-1]) for v in run.history.history.values())


def test_resume_restores_the_classifier_encoder_and_decoder(tmp_path):
    rows, _ = _rows(200)
    first = _model(seed=1)
    ssvae.train_m2(first, rows, epochs=1, batch_size=50, progress=False,
                   checkpoint_dir=tmp_path)
    second = _model(seed=5)
    assert checkpoints.restore(second, tmp_path)[0] == 1
    for a, b in zip(first.weights, second.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(second.optimizer.iterations) == 4


def test_m1_is_a_dense_vae_whose_rows_are_its_posterior(tiny_data):
    x, _ = tiny_data
    m1 = ssvae.build_m1(latent_dim=5, hidden=16, seed=0)
    rows = ssvae.m1_rows(m1, x[:7])
    assert rows.shape == (7, 10) and np.isfinite(rows).all()
    # log_var starts at 0 (the prior's scale) because its layer is zero-initialised
    assert np.allclose(rows[:, 5:], 0.0)
    from augkit import vae

    history, _, _ = vae.train_vae(m1, x[:256], epochs=3, batch_size=32, progress=False,
                                  sample_every=False)
    loss = history.history["loss"]
    assert loss[-1] < loss[0]  # it learns: the negative ELBO falls


class _RowsM1:
    """Stands in for M1: the "images" are already rows [mu, log_var]."""

    def encode(self, images):
        return images[:, :D], images[:, D:]


def test_generative_posterior_is_the_softmax_of_minus_the_per_class_bound():
    model = ssvae.SemiSupervisedVAE(_RowsM1(), _model())
    rows, _ = _rows(5, seed=6)
    w = np.random.default_rng(7).normal(size=(D, K))
    table = rows[:, :D] @ w  # a known per-class bound for each image
    seen = []

    def per_class_loss(z1):
        seen.append(np.asarray(z1))
        return tf.constant(np.asarray(z1) @ w)

    model.m2.per_class_loss = per_class_loss
    got = model.generative_posterior(rows, draws=3, batch_size=2)
    want = np.exp(-table) / np.exp(-table).sum(1, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert len(seen) == 3 * 3  # 3 draws for each of 3 batches (2 + 2 + 1 images)
    np.testing.assert_array_equal(seen[0], rows[:2, :D])  # M1's posterior mean, not a sample

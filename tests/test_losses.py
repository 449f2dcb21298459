"""augkit.losses against independent references: Keras' own cross-entropy, closed forms
in numpy/scipy, and central finite differences for every gradient."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from augkit import losses, theory

RNG = np.random.default_rng(1234)


def np_sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def logits(shape, scale=2.0, avoid_hinges=False):
    """float64 logits; optionally kept away from the hinge kinks at -1, 0 and 1."""
    a = RNG.normal(0.0, scale, shape)
    if avoid_hinges:
        for kink in (-1.0, 0.0, 1.0):
            close = np.abs(a - kink) < 0.05
            a[close] += 0.2
    return a


def tape_gradient(fn, *args):
    """Gradient of fn(*args) (a scalar) w.r.t. each argument, with tf.GradientTape."""
    tensors = [tf.Variable(a, dtype=tf.float64) for a in args]
    with tf.GradientTape() as tape:
        value = fn(*tensors)
    return [g.numpy() for g in tape.gradient(value, tensors)]


def central_difference(fn, *args, h=1e-6):
    """Central finite differences of the scalar fn(*args) w.r.t. each argument (float64)."""
    grads = []
    for i, a in enumerate(args):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus, minus = [x.copy() for x in args], [x.copy() for x in args]
            plus[i][idx] += h
            minus[i][idx] -= h
            g[idx] = (float(fn(*plus)) - float(fn(*minus))) / (2 * h)
        grads.append(g)
    return grads


# --------------------------------------------------------------------------- GAN values

def test_discriminator_loss_matches_keras_binary_crossentropy():
    real = RNG.normal(0, 3, (64, 1)).astype("float32")
    fake = RNG.normal(0, 3, (64, 1)).astype("float32")
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    expected = float(bce(np.ones_like(real), real)) + float(bce(np.zeros_like(fake), fake))
    got = float(losses.discriminator_cross_entropy(real, fake))
    assert got == pytest.approx(expected, rel=1e-5)


def test_generator_losses_match_keras_and_closed_forms():
    fake = RNG.normal(0, 3, (64, 1)).astype("float32")
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    # -log D(G(z)) is the cross-entropy with the "real" label.
    assert float(losses.generator_non_saturating_loss(fake)) == pytest.approx(
        float(bce(np.ones_like(fake), fake)), rel=1e-5)
    # log(1 - D(G(z))) is minus the cross-entropy with the "fake" label.
    assert float(losses.generator_minimax_loss(fake)) == pytest.approx(
        -float(bce(np.zeros_like(fake), fake)), rel=1e-5)
    f64 = fake.astype(np.float64)
    assert float(losses.generator_minimax_loss(f64)) == pytest.approx(
        np.mean(np.log(1.0 - np_sigmoid(f64))), rel=1e-10)


def test_cross_entropy_reductions():
    real, fake = logits((10,)), logits((10,))
    none = losses.discriminator_cross_entropy(real, fake, reduction="none").numpy()
    expected = -np.log(np_sigmoid(real)) - np.log(1.0 - np_sigmoid(fake))
    np.testing.assert_allclose(none, expected, rtol=1e-10)
    assert float(losses.discriminator_cross_entropy(real, fake, "sum")) == pytest.approx(
        expected.sum(), rel=1e-10)
    assert float(losses.discriminator_cross_entropy(real, fake, "mean")) == pytest.approx(
        expected.mean(), rel=1e-10)
    for name in ("generator_minimax_loss", "generator_non_saturating_loss",
                 "least_squares_generator_loss", "hinge_generator_loss",
                 "wasserstein_generator_loss"):
        fn = getattr(losses, name)
        assert fn(fake, reduction="none").shape == (10,)
        assert float(fn(fake, "sum")) == pytest.approx(10 * float(fn(fake, "mean")), rel=1e-10)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_alternative_gan_losses_closed_forms(reduction):
    real, fake = logits((12,)), logits((12,))
    red = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]

    def pair(r_term, f_term):
        return r_term + f_term if reduction == "none" else red(r_term) + red(f_term)

    cases = [
        (losses.least_squares_discriminator_loss(real, fake, reduction),
         pair(0.5 * (real - 1) ** 2, 0.5 * fake ** 2)),
        (losses.least_squares_generator_loss(fake, reduction), red(0.5 * (fake - 1) ** 2)),
        (losses.hinge_discriminator_loss(real, fake, reduction),
         pair(np.maximum(0, 1 - real), np.maximum(0, 1 + fake))),
        (losses.hinge_generator_loss(fake, reduction), red(-fake)),
        (losses.wasserstein_critic_loss(real, fake, reduction),
         fake - real if reduction == "none" else red(fake) - red(real)),
        (losses.wasserstein_generator_loss(fake, reduction), red(-fake)),
    ]
    for got, expected in cases:
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12)


def test_invalid_reduction_is_rejected():
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.discriminator_cross_entropy([1.0], [0.0], reduction="avg")
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.hinge_generator_loss([1.0], reduction="batch")


def test_inputs_numpy_lists_ints_and_dtypes():
    assert losses.generator_non_saturating_loss(np.zeros(3)).dtype == tf.float64
    assert losses.generator_non_saturating_loss([0.0, 1.0]).dtype == tf.float32
    assert losses.generator_non_saturating_loss(np.array([0, 1])).dtype == tf.float32
    # Mixed dtypes follow the first argument.
    out = losses.discriminator_cross_entropy(np.zeros(3), np.zeros(3, np.float32))
    assert out.dtype == tf.float64
    assert float(out) == pytest.approx(2 * np.log(2.0))


# --------------------------------------------------------------------------- GAN gradients

@pytest.mark.parametrize("name", sorted(losses.GAN_LOSSES))
def test_registered_loss_gradients_match_finite_differences(name):
    d_loss, g_loss = losses.get_gan_loss(name)
    real = logits((5, 1), avoid_hinges=True)
    fake = logits((5, 1), avoid_hinges=True)
    for fn, args in ((d_loss, (real, fake)), (g_loss, (fake,))):
        analytic = tape_gradient(fn, *args)
        numeric = central_difference(lambda *a, fn=fn: fn(*a).numpy(), *args)
        for ga, gn in zip(analytic, numeric, strict=True):
            np.testing.assert_allclose(ga, gn, rtol=1e-6, atol=1e-8)


def test_generator_gradients_match_theory():
    a = np.linspace(-8, 8, 33)
    d = np_sigmoid(a)
    (g_sat,) = tape_gradient(lambda t: losses.generator_minimax_loss(t, "sum"), a)
    (g_ns,) = tape_gradient(lambda t: losses.generator_non_saturating_loss(t, "sum"), a)
    np.testing.assert_allclose(g_sat, theory.saturating_generator_gradient(d), rtol=1e-10)
    np.testing.assert_allclose(g_ns, theory.non_saturating_generator_gradient(d), rtol=1e-10)
    # Where the discriminator rejects the fakes (D small), the non-saturating gradient wins.
    rejected = d < 0.5
    assert np.all(np.abs(g_ns[rejected]) > np.abs(g_sat[rejected]))


@pytest.mark.parametrize("name", sorted(losses.GAN_LOSSES))
def test_losses_stable_for_huge_logits(name):
    d_loss, g_loss = losses.get_gan_loss(name)
    extremes = tf.constant([[-100.0], [100.0], [-1e4], [1e4]], tf.float32)
    for r in (extremes, -extremes):
        real = tf.Variable(r)
        fake = tf.Variable(-r)
        with tf.GradientTape() as tape:
            values = [d_loss(real, fake), g_loss(fake)]
        grads = tape.gradient(values, [real, fake])
        for t in values + grads:
            assert np.all(np.isfinite(t.numpy())), (name, t)


def test_cross_entropy_values_at_extremes():
    # A perfect discriminator has loss ~0; the fooled generator's -log D is ~100.
    assert float(losses.discriminator_cross_entropy([100.0], [-100.0])) == pytest.approx(
        0.0, abs=1e-30)
    assert float(losses.generator_non_saturating_loss([-100.0])) == pytest.approx(100.0)
    assert float(losses.generator_minimax_loss([-100.0])) == pytest.approx(0.0, abs=1e-30)


# --------------------------------------------------------------------------- registry

def test_registry_names_and_pairs():
    assert set(losses.GAN_LOSSES) == {"non_saturating", "minimax", "least_squares", "hinge",
                                      "wgan_gp"}
    for name, (d_loss, g_loss) in losses.GAN_LOSSES.items():
        assert losses.get_gan_loss(name) == (d_loss, g_loss)
        assert np.isfinite(float(d_loss([0.3], [-0.2]))) and np.isfinite(float(g_loss([0.1])))
    assert losses.GRADIENT_PENALTY_LOSSES == {"wgan_gp"}


def test_unknown_loss_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        losses.get_gan_loss("wasserstain")
    message = str(info.value)
    assert "wasserstain" in message
    for name in losses.GAN_LOSSES:
        assert name in message
    with pytest.raises(ValueError):
        losses.get_gan_loss(["hinge"])


# --------------------------------------------------------------------------- gradient penalty

def test_gradient_penalty_linear_critic_has_analytic_value():
    w = RNG.normal(size=(6, 1))
    critic = lambda x: tf.matmul(x, w)  # noqa: E731 - its input gradient is w everywhere
    real, fake = RNG.normal(size=(8, 6)), RNG.normal(size=(8, 6))
    got = float(losses.gradient_penalty(critic, real, fake, weight=10.0, eps=0.0))
    assert got == pytest.approx(10.0 * (np.linalg.norm(w) - 1.0) ** 2, rel=1e-12)
    # With eps the norm is sqrt(||w||^2 + eps): a negligible shift for eps = 1e-12.
    got_eps = float(losses.gradient_penalty(critic, real, fake, weight=10.0))
    assert got_eps == pytest.approx(got, rel=1e-9)


def test_gradient_penalty_on_image_shaped_inputs():
    w = RNG.normal(size=(1, 4, 4, 1))
    critic = lambda x: tf.reduce_sum(x * w, axis=[1, 2, 3])  # noqa: E731
    real, fake = RNG.normal(size=(3, 4, 4, 1)), RNG.normal(size=(3, 4, 4, 1))
    per_example = losses.gradient_penalty(critic, real, fake, weight=1.0, reduction="none")
    assert per_example.shape == (3,)
    np.testing.assert_allclose(per_example, (np.linalg.norm(w) - 1.0) ** 2, rtol=1e-9)
    total = losses.gradient_penalty(critic, real, fake, weight=1.0, reduction="sum")
    assert float(total) == pytest.approx(3 * (np.linalg.norm(w) - 1.0) ** 2, rel=1e-9)


def test_gradient_penalty_gradient_wrt_critic_weights():
    w0 = RNG.normal(size=(3, 1))
    w = tf.Variable(w0)
    real, fake = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
    with tf.GradientTape() as tape:
        gp = losses.gradient_penalty(lambda x: tf.matmul(x, w), real, fake, weight=10.0,
                                     eps=0.0)
    n = np.linalg.norm(w0)
    np.testing.assert_allclose(tape.gradient(gp, w), 20.0 * (n - 1.0) * w0 / n, rtol=1e-10)


def test_gradient_penalty_zero_gradient_is_finite():
    # A critic whose input gradient is exactly zero (zero weights, dead ReLUs).
    w = tf.Variable(tf.zeros((2, 1)))
    real, fake = tf.ones((5, 2)), tf.zeros((5, 2))
    with tf.GradientTape() as tape:
        gp = losses.gradient_penalty(lambda x: tf.matmul(x, w), real, fake, weight=10.0)
    grad = tape.gradient(gp, w)
    assert np.all(np.isfinite(grad.numpy()))
    np.testing.assert_allclose(grad.numpy(), 0.0)
    assert float(gp) == pytest.approx(10.0 * (np.sqrt(1e-12) - 1.0) ** 2, rel=1e-6)
    # The reason for the eps: tf.norm's gradient at 0 is NaN.
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            inner.watch(real)
            out = tf.matmul(real, w)
        naive = tf.reduce_mean((tf.norm(inner.gradient(out, real), axis=1) - 1.0) ** 2)
    assert np.all(np.isnan(outer.gradient(naive, w).numpy()))


def test_gradient_penalty_alpha_is_uniform_and_per_example():
    seen = []

    def critic(x):
        seen.append(x.numpy())
        return tf.reduce_sum(x, axis=[1, 2, 3])

    real = np.zeros((4000, 2, 2, 1))
    fake = np.ones((4000, 2, 2, 1))
    losses.gradient_penalty(critic, real, fake, seed=keras.random.SeedGenerator(3))
    x_hat = seen[0]
    alpha = x_hat[:, 0, 0, 0]
    # One alpha per example, the same for all its pixels.
    np.testing.assert_array_equal(x_hat, np.broadcast_to(alpha[:, None, None, None],
                                                         x_hat.shape))
    # U(0, 1): inside [0, 1], mean 1/2, variance 1/12 (a N(0, 1) draw fails all three).
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert alpha.mean() == pytest.approx(0.5, abs=0.03)
    assert alpha.var() == pytest.approx(1.0 / 12.0, abs=0.01)
    # Without a seed generator the draw is tf.random.uniform; an explicit alpha is used as is.
    seen.clear()
    losses.gradient_penalty(critic, real[:10], fake[:10])
    assert 0.0 <= seen[0].min() and seen[0].max() <= 1.0
    seen.clear()
    losses.gradient_penalty(critic, real[:3], fake[:3], alpha=[0.0, 0.25, 1.0])
    np.testing.assert_allclose(seen[0][:, 0, 0, 0], [0.0, 0.25, 1.0])


# --------------------------------------------------------------------------- VAE

def test_bernoulli_reconstruction_matches_keras_and_closed_form():
    x = (RNG.uniform(size=(5, 28, 28)) > 0.5).astype("float32")
    lg = RNG.normal(0, 3, (5, 28, 28)).astype("float32")
    got = losses.bernoulli_reconstruction(x, lg).numpy()
    assert got.shape == (5,)
    keras_mean = keras.losses.binary_crossentropy(x.reshape(5, -1), lg.reshape(5, -1),
                                                  from_logits=True).numpy()
    np.testing.assert_allclose(got, keras_mean * 784, rtol=1e-5)
    p = np_sigmoid(lg.astype(np.float64))
    closed = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=(1, 2))
    np.testing.assert_allclose(got, closed, rtol=1e-5)
    # Stable at saturated logits.
    extreme = losses.bernoulli_reconstruction([[1.0, 0.0]], [[-100.0, 100.0]])
    assert float(extreme[0]) == pytest.approx(200.0)


def test_gaussian_reconstruction_matches_scipy():
    x = RNG.normal(size=(4, 10))
    mean = RNG.normal(size=(4, 10))
    for sigma in (0.1, 1.0, 2.5):
        got = losses.gaussian_reconstruction(x, mean, sigma).numpy()
        expected = -stats.norm.logpdf(x, loc=mean, scale=sigma).sum(axis=1)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    # A scalar prediction broadcasts, and the constant is still counted per pixel.
    got = losses.gaussian_reconstruction(x, 0.0, 1.0).numpy()
    np.testing.assert_allclose(got, -stats.norm.logpdf(x).sum(axis=1), rtol=1e-12)


def test_gaussian_kl_closed_form_theory_and_gradient():
    mu = RNG.normal(size=(6, 3))
    log_var = RNG.normal(size=(6, 3))
    got = losses.gaussian_kl(mu, log_var).numpy()
    np.testing.assert_allclose(got, theory.gaussian_kl(mu, log_var), rtol=1e-12)
    var = np.exp(log_var)
    per_dim = np.log(1.0 / np.sqrt(var)) + (var + mu ** 2) / 2.0 - 0.5  # textbook 1-D KL
    np.testing.assert_allclose(got, per_dim.sum(axis=1), rtol=1e-12)
    assert float(losses.gaussian_kl(np.zeros((1, 4)), np.zeros((1, 4)))[0]) == 0.0
    fn = lambda m, lv: tf.reduce_sum(losses.gaussian_kl(m, lv))  # noqa: E731
    analytic = tape_gradient(fn, mu, log_var)
    numeric = central_difference(lambda m, lv: fn(m, lv).numpy(), mu, log_var)
    for ga, gn in zip(analytic, numeric, strict=True):
        np.testing.assert_allclose(ga, gn, rtol=1e-6, atol=1e-9)


def test_reparameterize_value_gradients_and_statistics():
    mu, log_var, eps = RNG.normal(size=(3, 2)), RNG.normal(size=(3, 2)), RNG.normal(size=(3, 2))
    z = losses.reparameterize(mu, log_var, eps=eps).numpy()
    np.testing.assert_allclose(z, mu + np.exp(0.5 * log_var) * eps, rtol=1e-12)
    g_mu, g_lv = tape_gradient(
        lambda m, lv: tf.reduce_sum(losses.reparameterize(m, lv, eps=eps)), mu, log_var)
    np.testing.assert_allclose(g_mu, 1.0)
    np.testing.assert_allclose(g_lv, 0.5 * np.exp(0.5 * log_var) * eps, rtol=1e-12)
    samples = losses.reparameterize(np.full((20000, 1), 2.0), np.full((20000, 1), np.log(0.25)),
                                    seed=keras.random.SeedGenerator(0)).numpy()
    assert samples.mean() == pytest.approx(2.0, abs=0.02)
    assert samples.std() == pytest.approx(0.5, abs=0.02)
    unseeded = losses.reparameterize(np.zeros((5000, 1)), np.zeros((5000, 1))).numpy()
    assert unseeded.std() == pytest.approx(1.0, abs=0.05)


def test_elbo_terms_neg_elbo_has_no_beta_and_loss_has_it():
    x = (RNG.uniform(size=(4, 8)) > 0.5).astype(np.float64)
    out, mu, lv = RNG.normal(size=(4, 8)), RNG.normal(size=(4, 2)), RNG.normal(size=(4, 2))
    terms = losses.elbo_terms(x, out, mu, lv, beta=4.0)
    np.testing.assert_allclose(terms["loss"],
                               terms["reconstruction"] + 4.0 * terms["kl"], rtol=1e-12)
    # neg_elbo means one quantity everywhere: the negative ELBO proper, beta or not.
    np.testing.assert_allclose(terms["neg_elbo"], terms["reconstruction"] + terms["kl"],
                               rtol=1e-12)
    np.testing.assert_allclose(terms["reconstruction"], losses.bernoulli_reconstruction(x, out))
    np.testing.assert_allclose(terms["kl"], losses.gaussian_kl(mu, lv))
    neg = losses.vae_loss(x, out, mu, lv, likelihood="gaussian", sigma=0.5)
    assert neg.shape == (4,)
    np.testing.assert_allclose(neg, losses.gaussian_reconstruction(x, out, 0.5)
                               + losses.gaussian_kl(mu, lv), rtol=1e-12)
    with pytest.raises(ValueError, match="likelihood"):
        losses.elbo_terms(x, out, mu, lv, likelihood="poisson")


def test_effective_beta_explains_mixed_reductions():
    assert losses.effective_beta(1.0, 784, 16) == 1.0
    assert losses.effective_beta(1.0, 784, 16, recon_reduction="mean") == 784.0
    assert losses.effective_beta(1.0, 784, 16, recon_reduction="mean",
                                 kl_reduction="mean") == pytest.approx(49.0)
    with pytest.raises(ValueError):
        losses.effective_beta(1.0, 784, 16, kl_reduction="max")
    # Numerically: a per-pixel mean reconstruction + summed KL is, times 784, the ELBO
    # with beta = 784.
    x = (RNG.uniform(size=(3, 784)) > 0.5).astype(np.float64)
    out, mu, lv = RNG.normal(size=(3, 784)), RNG.normal(size=(3, 16)), RNG.normal(size=(3, 16))
    mixed = losses.bernoulli_reconstruction(x, out) / 784 + losses.gaussian_kl(mu, lv)
    np.testing.assert_allclose(784 * mixed, losses.vae_loss(x, out, mu, lv, beta=784.0),
                               rtol=1e-12)

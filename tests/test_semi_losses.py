"""Semi-supervised losses against an explicit (K+1)-way softmax, finite differences and the
M2 bounds written out term by term."""

import numpy as np
import pytest
import tensorflow as tf

from augkit import losses

RNG = np.random.default_rng(0)
K = 10


def _explicit_k_plus_1(logits):
    """p(y | x) over K real classes and the fake class, its logit fixed at 0."""
    full = np.concatenate([logits, np.zeros((len(logits), 1))], axis=1)
    p = np.exp(full - full.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def test_semi_supervised_losses_are_reached_through_augkit_losses():
    from augkit import semi_losses

    for name in losses.SEMI_SUPERVISED:
        assert getattr(losses, name) is getattr(semi_losses, name)


def test_real_fake_logit_is_the_logit_of_one_minus_the_fake_class_probability():
    logits = RNG.normal(size=(6, K)) * 3
    d = 1 - _explicit_k_plus_1(logits)[:, K]
    np.testing.assert_allclose(tf.sigmoid(losses.real_fake_logit(logits)), d, rtol=1e-12)


def test_supervised_term_against_the_explicit_k_plus_1_softmax_and_keras():
    logits = RNG.normal(size=(6, K)) * 2
    y = RNG.integers(0, K, 6)
    p = _explicit_k_plus_1(logits)
    want = -np.log(p[np.arange(6), y] / (1 - p[:, K]))  # -log p(y | x, y <= K)
    got = losses.ssgan_supervised_loss(logits, y, reduction="none")
    np.testing.assert_allclose(got, want, rtol=1e-10)
    keras_ce = tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
    np.testing.assert_allclose(losses.ssgan_supervised_loss(logits, y), np.mean(keras_ce),
                               rtol=1e-6)


def test_unsupervised_term_against_the_explicit_softmax_and_finite_at_extreme_logits():
    real, fake = RNG.normal(size=(5, K)), RNG.normal(size=(7, K)) - 1
    d_real = 1 - _explicit_k_plus_1(real)[:, K]
    d_fake = 1 - _explicit_k_plus_1(fake)[:, K]
    want = -np.log(d_real).mean() - np.log(1 - d_fake).mean()
    np.testing.assert_allclose(losses.ssgan_unsupervised_loss(real, fake), want, rtol=1e-10)
    per = losses.ssgan_unsupervised_loss(real, fake, reduction="none")
    assert per.shape == (12,)
    np.testing.assert_allclose(np.sum(per), -np.log(d_real).sum() - np.log(1 - d_fake).sum(),
                               rtol=1e-10)
    extreme = np.full((2, K), 100.0)
    assert np.isfinite(losses.ssgan_unsupervised_loss(-extreme, extreme).numpy())


def _numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        g[i] = (f(up) - f(down)) / (2 * eps)
    return g


@pytest.mark.parametrize("term", ["supervised", "unsupervised_real", "unsupervised_fake"])
def test_gradients_match_finite_differences(term):
    x0 = RNG.normal(size=(3, 4))
    y = np.array([0, 3, 1])
    other = RNG.normal(size=(3, 4))

    def loss(x):
        if term == "supervised":
            return losses.ssgan_supervised_loss(x, y)
        if term == "unsupervised_real":
            return losses.ssgan_unsupervised_loss(x, other)
        return losses.ssgan_unsupervised_loss(other, x)

    var = tf.Variable(x0)
    with tf.GradientTape() as tape:
        value = loss(var)
    analytic = tape.gradient(value, var).numpy()
    numeric = _numeric_grad(lambda x: float(loss(tf.constant(x))), x0)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_feature_matching_known_answer_and_its_gradient():
    real = np.array([[1.0, 2.0], [3.0, 4.0]])  # means (2, 3)
    fake = np.array([[0.0, 0.0], [0.0, 2.0]])  # means (0, 1)
    assert float(losses.feature_matching_loss(real, fake)) == pytest.approx(8.0)
    assert float(losses.feature_matching_loss(real, real[::-1])) == 0.0  # order is free
    var = tf.Variable(fake)
    with tf.GradientTape() as tape:
        value = losses.feature_matching_loss(real, var)
    # d/d fake_i = -2 (mean_real - mean_fake) / batch
    np.testing.assert_allclose(tape.gradient(value, var), [[-2.0, -2.0], [-2.0, -2.0]])


def test_m2_labeled_bound_term_by_term():
    neg_log_px, kl = np.array([80.0, 95.5]), np.array([12.0, 3.25])
    got = losses.m2_labeled_loss(neg_log_px, kl, K)
    np.testing.assert_allclose(got, neg_log_px + kl + np.log(K))  # -log p(y) = log K


def test_m2_unlabeled_bound_term_by_term():
    per_class = RNG.uniform(80, 120, size=(4, K))
    logits = RNG.normal(size=(4, K))
    q = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    want = (q * per_class).sum(1) + (q * np.log(q)).sum(1)  # E_q[L] - H(q)
    np.testing.assert_allclose(losses.m2_unlabeled_loss(per_class, logits), want, rtol=1e-10)
    # A certain classifier reduces U(x) to L(x, y) of its class; an undecided one to the
    # mean of L(x, y) minus log K.
    sure = np.where(np.arange(K) == 2, 50.0, -50.0)[None].repeat(4, 0)
    np.testing.assert_allclose(losses.m2_unlabeled_loss(per_class, sure), per_class[:, 2],
                               rtol=1e-8)
    np.testing.assert_allclose(losses.m2_unlabeled_loss(per_class, np.zeros((4, K))),
                               per_class.mean(1) - np.log(K), rtol=1e-10)


def test_m2_classification_term_is_weighted_cross_entropy():
    logits = RNG.normal(size=(3, K))
    y = np.array([1, 5, 9])
    q = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(losses.m2_classification_loss(logits, y, weight=6.0),
                               -6.0 * np.log(q[np.arange(3), y]), rtol=1e-10)

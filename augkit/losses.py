"""GAN and VAE losses, written once and used by every model in the kit.

Every function takes TensorFlow tensors or numpy arrays and returns a TensorFlow tensor,
so it can sit inside a ``train_step`` under ``tf.GradientTape``. Two conventions hold
throughout:

* **GAN losses take logits** (the discriminator's pre-sigmoid output ``a``, with
  :math:`D = \\sigma(a)`), never probabilities: ``log(sigmoid(a))`` computed as
  ``-softplus(-a)`` stays finite at ``a = -100``, while ``log(0.0)`` does not.
  Each GAN loss has a ``reduction`` argument (``"mean"``, ``"sum"`` or ``"none"``).
* **VAE terms are per example**: every VAE function returns shape ``(batch,)``, summed
  over pixels or latent dimensions. The first axis is always the batch axis. The batch
  *mean* is left to the caller, so that the one place where a reduction happens is
  visible (see :func:`effective_beta` for what a mismatched reduction does to beta).

Derived in ``notebooks/01_gan_objective.ipynb`` (GAN) and ``notebooks/02_vae_elbo.ipynb``
(VAE).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import tensorflow as tf

# The semi-supervised losses are written in augkit.semi_losses (notebook 09) and reached
# here like every other loss.
from augkit.semi_losses import (  # noqa: F401
    feature_matching_loss,
    m2_classification_loss,
    m2_labeled_loss,
    m2_unlabeled_loss,
    real_fake_logit,
    ssgan_supervised_loss,
    ssgan_unsupervised_loss,
)
from augkit.tensors import REDUCTIONS, as_float, check_reduction, reduce_values  # noqa: F401

SEMI_SUPERVISED = ("real_fake_logit", "ssgan_supervised_loss", "ssgan_unsupervised_loss",
                   "feature_matching_loss", "m2_labeled_loss", "m2_unlabeled_loss",
                   "m2_classification_loss")
"""The losses of :mod:`augkit.semi_losses`, re-exported here."""


# --------------------------------------------------------------------------- helpers

def _sum_per_example(values: tf.Tensor) -> tf.Tensor:
    """Sum over every axis but the first (batch) axis; a rank-1 input is returned as is."""
    return tf.reduce_sum(values, axis=tf.range(1, tf.rank(values)))


# --------------------------------------------------------------------------- GAN: cross-entropy

def discriminator_cross_entropy(real_logits, fake_logits, reduction: str = "mean") -> tf.Tensor:
    r"""The discriminator's loss, :math:`-V(D, G)`: cross-entropy with real = 1, fake = 0.

    .. math::
        L_D = -\mathbb{E}_{x}\big[\log D(x)\big] - \mathbb{E}_{z}\big[\log(1 - D(G(z)))\big]
            = \mathbb{E}\,\mathrm{softplus}(-a_{\text{real}})
              + \mathbb{E}\,\mathrm{softplus}(a_{\text{fake}})

    using :math:`-\log\sigma(a) = \mathrm{softplus}(-a)` and
    :math:`-\log(1-\sigma(a)) = \mathrm{softplus}(a)`.

    Reduction: ``"mean"`` averages each term over its own batch and adds the two means
    (the two expectations of the value function); ``"sum"`` sums each term; ``"none"``
    returns ``softplus(-real) + softplus(fake)`` element-wise (the batches must pair up).
    With ``"mean"`` this equals Keras' ``BinaryCrossentropy(from_logits=True)`` applied
    to (ones, real) plus (zeros, fake). Derived in ``notebooks/01_gan_objective.ipynb``.
    """
    check_reduction(reduction)
    real = as_float(real_logits)
    fake = as_float(fake_logits, like=real)
    real_term = tf.nn.softplus(-real)
    fake_term = tf.nn.softplus(fake)
    if reduction == "none":
        return real_term + fake_term
    return reduce_values(real_term, reduction) + reduce_values(fake_term, reduction)


def generator_minimax_loss(fake_logits, reduction: str = "mean") -> tf.Tensor:
    r"""The generator's side of the minimax game (the *saturating* loss), to be minimized.

    .. math::
        L_G^{\text{minimax}} = \mathbb{E}_z\big[\log(1 - D(G(z)))\big]
                             = -\mathbb{E}_z\,\mathrm{softplus}(a_{\text{fake}})

    Its gradient with respect to the fake logit is :math:`-D(G(z))`, which vanishes when
    the discriminator confidently rejects the fakes (early training): the loss
    *saturates*. Kept for teaching; use :func:`generator_non_saturating_loss` to train.
    Reduction as in :func:`discriminator_cross_entropy`.
    Derived in ``notebooks/01_gan_objective.ipynb``.
    """
    check_reduction(reduction)
    return reduce_values(-tf.nn.softplus(as_float(fake_logits)), reduction)


def generator_non_saturating_loss(fake_logits, reduction: str = "mean") -> tf.Tensor:
    r"""The non-saturating generator loss of Goodfellow et al. (2014), to be minimized.

    .. math::
        L_G^{\text{NS}} = -\mathbb{E}_z\big[\log D(G(z))\big]
                        = \mathbb{E}_z\,\mathrm{softplus}(-a_{\text{fake}})

    Same fixed point as the minimax loss, but its gradient with respect to the fake logit
    is :math:`-(1 - D(G(z)))`, largest exactly when the fakes are rejected.
    Reduction as in :func:`discriminator_cross_entropy`.
    Derived in ``notebooks/01_gan_objective.ipynb``.
    """
    check_reduction(reduction)
    return reduce_values(tf.nn.softplus(-as_float(fake_logits)), reduction)


# --------------------------------------------------------------------------- GAN: alternatives

def least_squares_discriminator_loss(real_logits, fake_logits,
                                     reduction: str = "mean") -> tf.Tensor:
    r"""LSGAN discriminator loss (Mao et al., 2017) with targets real = 1, fake = 0.

    .. math::
        L_D = \tfrac12\,\mathbb{E}_x\big[(a_{\text{real}} - 1)^2\big]
            + \tfrac12\,\mathbb{E}_z\big[a_{\text{fake}}^2\big]

    ``a`` is the discriminator's raw (linear) output: no sigmoid in least squares.
    Reduction as in :func:`discriminator_cross_entropy`.
    Discussed in ``notebooks/01_gan_objective.ipynb``.
    """
    check_reduction(reduction)
    real = as_float(real_logits)
    fake = as_float(fake_logits, like=real)
    real_term = 0.5 * tf.square(real - 1.0)
    fake_term = 0.5 * tf.square(fake)
    if reduction == "none":
        return real_term + fake_term
    return reduce_values(real_term, reduction) + reduce_values(fake_term, reduction)


def least_squares_generator_loss(fake_logits, reduction: str = "mean") -> tf.Tensor:
    r"""LSGAN generator loss: :math:`L_G = \tfrac12\,\mathbb{E}_z[(a_{\text{fake}} - 1)^2]`.

    Its gradient grows linearly with the distance of the fake's score from the "real"
    target, instead of vanishing like a sigmoid's. Reduction as in
    :func:`discriminator_cross_entropy`. Discussed in ``notebooks/01_gan_objective.ipynb``.
    """
    check_reduction(reduction)
    return reduce_values(0.5 * tf.square(as_float(fake_logits) - 1.0), reduction)


def hinge_discriminator_loss(real_logits, fake_logits, reduction: str = "mean") -> tf.Tensor:
    r"""Hinge discriminator loss (Lim & Ye 2017; used by SNGAN, BigGAN).

    .. math::
        L_D = \mathbb{E}_x\big[\max(0, 1 - a_{\text{real}})\big]
            + \mathbb{E}_z\big[\max(0, 1 + a_{\text{fake}})\big]

    Examples already beyond the margin contribute nothing. Reduction as in
    :func:`discriminator_cross_entropy`. Discussed in ``notebooks/01_gan_objective.ipynb``.
    """
    check_reduction(reduction)
    real = as_float(real_logits)
    fake = as_float(fake_logits, like=real)
    real_term = tf.nn.relu(1.0 - real)
    fake_term = tf.nn.relu(1.0 + fake)
    if reduction == "none":
        return real_term + fake_term
    return reduce_values(real_term, reduction) + reduce_values(fake_term, reduction)


def hinge_generator_loss(fake_logits, reduction: str = "mean") -> tf.Tensor:
    r"""Hinge generator loss: :math:`L_G = -\mathbb{E}_z[a_{\text{fake}}]` (no margin).

    Reduction as in :func:`discriminator_cross_entropy`.
    Discussed in ``notebooks/01_gan_objective.ipynb``.
    """
    check_reduction(reduction)
    return reduce_values(-as_float(fake_logits), reduction)


def wasserstein_critic_loss(real_logits, fake_logits, reduction: str = "mean") -> tf.Tensor:
    r"""Wasserstein critic loss (Arjovsky et al., 2017), to be minimized by the critic.

    .. math::
        L_C = \mathbb{E}_z\big[f(G(z))\big] - \mathbb{E}_x\big[f(x)\big]

    By Kantorovich-Rubinstein duality, :math:`-\min L_C` over 1-Lipschitz critics ``f`` is
    the Wasserstein-1 distance; the Lipschitz constraint is imposed softly by
    :func:`gradient_penalty` (WGAN-GP). ``f`` is the raw critic output (no sigmoid).
    Reduction: ``"mean"``/``"sum"`` reduce each term; ``"none"`` returns
    ``fake - real`` element-wise. Discussed in ``notebooks/01_gan_objective.ipynb``.
    """
    check_reduction(reduction)
    real = as_float(real_logits)
    fake = as_float(fake_logits, like=real)
    if reduction == "none":
        return fake - real
    return reduce_values(fake, reduction) - reduce_values(real, reduction)


def wasserstein_generator_loss(fake_logits, reduction: str = "mean") -> tf.Tensor:
    r"""Wasserstein generator loss: :math:`L_G = -\mathbb{E}_z[f(G(z))]`.

    Reduction as in :func:`discriminator_cross_entropy`.
    Discussed in ``notebooks/01_gan_objective.ipynb``.
    """
    check_reduction(reduction)
    return reduce_values(-as_float(fake_logits), reduction)


def gradient_penalty(critic: Callable, real, fake, *, weight: float = 10.0, alpha=None,
                     seed=None, eps: float = 1e-12, reduction: str = "mean") -> tf.Tensor:
    r"""WGAN-GP gradient penalty (Gulrajani et al., 2017).

    .. math::
        \hat x = x + \alpha\,(\tilde x - x),\quad \alpha \sim U(0, 1)\ \text{per example},
        \qquad
        \mathrm{GP} = \lambda\,\mathbb{E}\Big[\big(\sqrt{\lVert\nabla_{\hat x} f(\hat x)
                      \rVert_2^2 + \epsilon} - 1\big)^2\Big]

    ``alpha`` is drawn uniformly in [0, 1] (the paper's choice; a normal draw leaves the
    segment between real and fake) once per example and broadcast over the other axes.
    Pass ``alpha`` to fix it (tests) and ``seed`` (a ``keras.random.SeedGenerator``) to make
    the draw reproducible inside a ``tf.function``; with neither, ``tf.random.uniform`` is
    used. The norm is :math:`\sqrt{\text{sum} + \epsilon}`, not ``tf.norm``: the derivative
    of :math:`\sqrt{s}` at 0 is infinite, and ``0 * inf`` gives NaN gradients whenever a
    critic's input gradient is exactly zero (dead ReLUs, a fresh zero-initialized layer).

    The critic must treat examples independently (no batch normalization), because the
    per-example gradient is read off the gradient of the summed output. Add the result to
    :func:`wasserstein_critic_loss` inside the critic's tape. Reduction over examples:
    ``"mean"`` (the expectation above), ``"sum"`` or ``"none"`` (shape ``(batch,)``).
    Discussed in ``notebooks/01_gan_objective.ipynb``.
    """
    check_reduction(reduction)
    real = as_float(real)
    fake = as_float(fake, like=real)
    batch = tf.shape(real)[0]
    if alpha is None:
        # One alpha per example, broadcast over every other axis of the input.
        shape = tf.concat([[batch], tf.ones([tf.rank(real) - 1], tf.int32)], axis=0)
        if seed is None:
            alpha = tf.random.uniform(shape, 0.0, 1.0, dtype=real.dtype)
        else:
            alpha = keras.random.uniform(shape, 0.0, 1.0, dtype=real.dtype.name, seed=seed)
    else:
        alpha = as_float(alpha, like=real)
        alpha = tf.reshape(alpha, tf.concat([[-1], tf.ones([tf.rank(real) - 1], tf.int32)], 0))
    x_hat = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat)
    grads = tape.gradient(scores, x_hat)
    norms = tf.sqrt(_sum_per_example(tf.square(grads)) + tf.cast(eps, real.dtype))
    return tf.cast(weight, real.dtype) * reduce_values(tf.square(norms - 1.0), reduction)


# --------------------------------------------------------------------------- GAN: registry

GanLoss = tuple[Callable, Callable]

GAN_LOSSES: dict[str, GanLoss] = {
    "non_saturating": (discriminator_cross_entropy, generator_non_saturating_loss),
    "minimax": (discriminator_cross_entropy, generator_minimax_loss),
    "least_squares": (least_squares_discriminator_loss, least_squares_generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
    "wgan_gp": (wasserstein_critic_loss, wasserstein_generator_loss),
}
"""Name -> ``(d_loss(real_logits, fake_logits), g_loss(fake_logits))``, both "mean"."""

GRADIENT_PENALTY_LOSSES = frozenset({"wgan_gp"})
"""Names whose critic loss needs :func:`gradient_penalty` added in the train step."""


def get_gan_loss(name: str) -> GanLoss:
    """Look up a ``(d_loss, g_loss)`` pair in :data:`GAN_LOSSES` by name.

    >>> d_loss, g_loss = get_gan_loss("hinge")
    """
    try:
        return GAN_LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown GAN loss {name!r}; valid names: "
                         f"{', '.join(sorted(GAN_LOSSES))}") from None


# --------------------------------------------------------------------------- VAE

def bernoulli_reconstruction(x, logits) -> tf.Tensor:
    r"""Bernoulli decoder's negative log-likelihood, per example, summed over pixels.

    .. math::
        -\log p(x \mid z) = -\sum_i \big[x_i \log \sigma(\ell_i)
                            + (1 - x_i)\log(1 - \sigma(\ell_i))\big]
                          = \sum_i \big[\mathrm{softplus}(\ell_i) - x_i \ell_i\big]

    ``logits`` are the decoder's pre-sigmoid outputs. ``x`` must lie in [0, 1]; for grey
    values strictly between 0 and 1 this is a cross-entropy, not a normalized likelihood
    (its minimum is the pixels' entropy, not 0). Returns shape ``(batch,)``.
    Derived in ``notebooks/02_vae_elbo.ipynb``.
    """
    logits = as_float(logits)
    x = as_float(x, like=logits)
    return _sum_per_example(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits))


def gaussian_reconstruction(x, mean, sigma: float = 1.0) -> tf.Tensor:
    r"""Gaussian decoder's negative log-likelihood with a stated variance, per example.

    .. math::
        -\log \mathcal N(x \mid \hat x, \sigma^2 I)
          = \sum_i \Big[\frac{(x_i - \hat x_i)^2}{2\sigma^2}
            + \log\sigma + \tfrac12 \log 2\pi\Big]

    Summed over pixels, shape ``(batch,)``. The log-normalizer is included so the value
    is a real negative log-likelihood; it is a constant for fixed ``sigma`` but it is
    what makes Bernoulli and Gaussian numbers comparable. Note that ``sigma`` sets the
    weight of reconstruction against the KL term exactly as ``1 / beta`` would: a
    "mean squared error" VAE silently chose one. Derived in ``notebooks/02_vae_elbo.ipynb``.
    """
    x = as_float(x)
    mean = as_float(mean, like=x)
    sigma = as_float(sigma, like=x)
    per_pixel = (0.5 * tf.square((x - mean) / sigma) + tf.math.log(sigma)
                 + 0.5 * math.log(2.0 * math.pi))
    # Broadcast first so that the constant is counted once per pixel.
    per_pixel = per_pixel + tf.zeros_like(x - mean)
    return _sum_per_example(per_pixel)


def gaussian_kl(mu, log_var) -> tf.Tensor:
    r"""Analytic :math:`\mathrm{KL}(\mathcal N(\mu, \mathrm{diag}\,\sigma^2)\,\|\,\mathcal N(0, I))`.

    .. math::
        \mathrm{KL} = \tfrac12 \sum_j \big(\mu_j^2 + \sigma_j^2 - 1 - \log\sigma_j^2\big),
        \qquad \log\sigma_j^2 = \texttt{log\_var}_j

    Summed over latent dimensions, shape ``(batch,)``; always :math:`\ge 0`.
    Derived term by term in ``notebooks/02_vae_elbo.ipynb``.
    """
    mu = as_float(mu)
    log_var = as_float(log_var, like=mu)
    return _sum_per_example(0.5 * (tf.square(mu) + tf.exp(log_var) - 1.0 - log_var))


def reparameterize(mu, log_var, eps=None, seed=None) -> tf.Tensor:
    r"""Draw :math:`z = \mu + \exp(\tfrac12 \log\sigma^2) \odot \epsilon`,
    :math:`\epsilon \sim \mathcal N(0, I)`.

    The randomness lives in ``eps``, which does not depend on the encoder, so gradients
    flow to ``mu`` and ``log_var``. Pass ``eps`` to fix the noise, or ``seed`` (an int or
    a ``keras.random.SeedGenerator``). Same shape as ``mu``.
    Derived in ``notebooks/02_vae_elbo.ipynb``.
    """
    mu = as_float(mu)
    log_var = as_float(log_var, like=mu)
    if eps is None:
        if seed is None:
            eps = tf.random.normal(tf.shape(mu), dtype=mu.dtype)
        else:
            eps = keras.random.normal(tf.shape(mu), dtype=mu.dtype.name, seed=seed)
    eps = as_float(eps, like=mu)
    return mu + tf.exp(0.5 * log_var) * eps


LIKELIHOODS = ("bernoulli", "gaussian")


def elbo_terms(x, decoder_output, mu, log_var, *, beta: float = 1.0,
               likelihood: str = "bernoulli", sigma: float = 1.0) -> dict[str, tf.Tensor]:
    r"""The two parts of the (beta-)ELBO and their total, each per example (shape ``(batch,)``).

    .. math::
        -\mathrm{ELBO}_\beta(x) = \underbrace{-\log p(x \mid z)}_{\text{reconstruction}}
            + \beta\,\underbrace{\mathrm{KL}(q(z \mid x)\,\|\,p(z))}_{\text{rate}},
        \qquad z = \mu + \sigma \odot \epsilon

    ``decoder_output`` is the decoder's output for one reparameterized sample ``z``:
    logits for ``likelihood="bernoulli"`` (:func:`bernoulli_reconstruction`), means for
    ``"gaussian"`` (:func:`gaussian_reconstruction` with standard deviation ``sigma``).
    Returns ``{"reconstruction", "kl", "neg_elbo", "loss"}``: ``neg_elbo == reconstruction
    + kl`` is the negative ELBO proper (no beta: the bound on :math:`-\log p(x)`, the same
    quantity everywhere in augkit), and ``loss == reconstruction + beta * kl`` exactly, the
    beta-weighted training objective, so that a displayed total is the sum of its
    displayed parts. Train on the batch mean of ``loss``: a mean
    over examples keeps beta's meaning; a mean over pixels does not (:func:`effective_beta`).
    Derived in ``notebooks/02_vae_elbo.ipynb``.
    """
    if likelihood == "bernoulli":
        recon = bernoulli_reconstruction(x, decoder_output)
    elif likelihood == "gaussian":
        recon = gaussian_reconstruction(x, decoder_output, sigma)
    else:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    kl = gaussian_kl(mu, log_var)
    kl = tf.cast(kl, recon.dtype)
    return {"reconstruction": recon, "kl": kl, "neg_elbo": recon + kl,
            "loss": recon + tf.cast(beta, recon.dtype) * kl}


def vae_loss(x, decoder_output, mu, log_var, *, beta: float = 1.0,
                  likelihood: str = "bernoulli", sigma: float = 1.0) -> tf.Tensor:
    r"""Per-example beta-VAE objective, shape ``(batch,)``; see :func:`elbo_terms`.

    .. math::
        -\mathrm{ELBO}_\beta(x) = -\log p(x \mid z) + \beta\,\mathrm{KL}(q(z \mid x)\,\|\,p(z))

    Reduction: none over the batch (take ``tf.reduce_mean`` yourself); summed over pixels
    and over latent dimensions. ``beta = 1`` is the ELBO proper, a lower bound on
    :math:`\log p(x)`. Derived in ``notebooks/02_vae_elbo.ipynb``.
    """
    return elbo_terms(x, decoder_output, mu, log_var, beta=beta, likelihood=likelihood,
                      sigma=sigma)["loss"]


def effective_beta(beta: float, n_pixels: int, n_latent: int, *,
                   recon_reduction: str = "sum", kl_reduction: str = "sum") -> float:
    r"""The beta you actually trained with when pixels or latents are *averaged*.

    A loss :math:`s_r \cdot \text{recon} + \beta\, s_k \cdot \text{KL}` (with
    :math:`s = 1` for a sum and :math:`1/n` for a mean) is, up to the overall factor
    :math:`s_r`, the ELBO with

    .. math::
        \beta_{\text{eff}} = \beta\,\frac{s_k}{s_r}

    e.g. a per-pixel mean reconstruction on 784 pixels with a summed KL multiplies beta
    by 784. Demonstrated in ``notebooks/02_vae_elbo.ipynb``.
    """
    def divisor(reduction: str, n: int) -> int:
        if reduction == "sum":
            return 1
        if reduction == "mean":
            return n
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")

    # beta * s_k / s_r with s = 1 / divisor, written with integers to keep 784 exact.
    return beta * divisor(recon_reduction, n_pixels) / divisor(kl_reduction, n_latent)

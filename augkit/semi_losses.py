"""Semi-supervised losses: the (K+1)-class GAN discriminator, feature matching, and the M2
VAE's bounds with the label as a latent variable. Reached as ``augkit.losses.<name>``.

Conventions as in :mod:`augkit.losses`: logits in, per-example values (``reduction="none"``)
or their batch mean / sum out. Derived in ``notebooks/09_semi_supervised.ipynb``.

**The semi-supervised GAN** (Salimans et al. 2016). The discriminator outputs K class logits
:math:`l_1..l_K`; a (K+1)-th class "generated" has its logit fixed at 0, which loses nothing
(a softmax is unchanged by subtracting one logit from all of them). With
:math:`Z(x) = \\sum_k e^{l_k(x)}`,

.. math::
    p(y = k \\mid x) = \\frac{e^{l_k}}{Z + 1}, \\qquad
    D(x) = 1 - p(y = K{+}1 \\mid x) = \\frac{Z(x)}{Z(x) + 1} = \\sigma\\big(\\log Z(x)\\big),

so :math:`\\log Z = \\operatorname{logsumexp}(l)` is an ordinary real/fake logit and every
term below is a cross-entropy on it, computed with ``softplus`` to stay finite.
"""

from __future__ import annotations

import tensorflow as tf

from augkit.tensors import as_float, check_reduction, reduce_values


def real_fake_logit(class_logits) -> tf.Tensor:
    r""":math:`\log Z(x) = \operatorname{logsumexp}_k l_k(x)`: the logit of :math:`D(x)`."""
    return tf.reduce_logsumexp(as_float(class_logits), axis=-1)


def ssgan_supervised_loss(class_logits, labels, reduction: str = "mean") -> tf.Tensor:
    r"""The supervised term on labeled images, a K-way cross-entropy:

    .. math::
        L_{\text{sup}} = -\log p(y \mid x, y \le K) = \log Z(x) - l_y(x).

    Conditioning on "real" removes the fake class, so this is the ordinary softmax
    cross-entropy over the K logits (the fixed fake logit drops out).
    """
    check_reduction(reduction)
    logits = as_float(class_logits)
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    picked = tf.gather(logits, labels, axis=-1, batch_dims=1)
    return reduce_values(real_fake_logit(logits) - picked, reduction)


def ssgan_unsupervised_loss(real_logits, fake_logits, reduction: str = "mean") -> tf.Tensor:
    r"""The unsupervised term: unlabeled real images are "not class K+1", generated ones are.

    .. math::
        L_{\text{unsup}} = -\mathbb{E}_{x}\log D(x) - \mathbb{E}_z\log\big(1 - D(G(z))\big)
        = \mathbb{E}_x\,\mathrm{softplus}(-\log Z(x)) + \mathbb{E}_z\,\mathrm{softplus}(\log Z(G(z))),

    using :math:`\log\sigma(a) = -\mathrm{softplus}(-a)` and
    :math:`\log(1 - \sigma(a)) = -\mathrm{softplus}(a)` with :math:`a = \log Z`. Both
    arguments are ``(batch, K)`` class logits; with ``"none"`` the two per-example vectors
    are concatenated (real first).
    """
    check_reduction(reduction)
    real = tf.nn.softplus(-real_fake_logit(real_logits))
    fake = tf.nn.softplus(real_fake_logit(fake_logits))
    if reduction == "none":
        return tf.concat([real, fake], axis=0)
    return reduce_values(real, reduction) + reduce_values(fake, reduction)


def feature_matching_loss(real_features, fake_features) -> tf.Tensor:
    r"""The generator's loss under feature matching: match the mean of an intermediate layer
    :math:`f` of the discriminator on real and generated batches,

    .. math::
        L_G = \big\lVert \mathbb{E}_x f(x) - \mathbb{E}_z f(G(z)) \big\rVert_2^2 .

    The generator no longer chases whatever D rates most real (the root of mode collapse);
    it matches statistics D found useful for classifying. Means are taken over the batch
    axis, the squared norm over all others.
    """
    real = tf.reduce_mean(as_float(real_features), axis=0)
    fake = tf.reduce_mean(as_float(fake_features, like=real), axis=0)
    return tf.reduce_sum(tf.square(real - fake))


def m2_labeled_loss(neg_log_px, kl_z, num_classes: int) -> tf.Tensor:
    r"""Per example: :math:`\mathcal{L}(x, y)`, the negative ELBO of the M2 model (Kingma et al.
    2014) for an image whose label is known, with a uniform prior :math:`p(y) = 1/K`:

    .. math::
        \mathcal{L}(x, y) = -\mathbb{E}_{q(z \mid x, y)}\big[\log p(x \mid y, z)\big]
        + \mathrm{KL}\big(q(z \mid x, y)\,\|\,p(z)\big) - \log p(y)
        = \text{neg\_log\_px} + \text{kl\_z} + \log K .

    ``neg_log_px`` and ``kl_z`` are per-example terms (e.g. from
    :func:`augkit.losses.bernoulli_reconstruction` and :func:`augkit.losses.gaussian_kl`).
    Shape ``(batch,)`` for ``(batch,)`` inputs, ``(batch, K)`` for one per class.
    """
    neg_log_px = as_float(neg_log_px)
    return neg_log_px + as_float(kl_z, like=neg_log_px) + tf.math.log(
        tf.cast(num_classes, neg_log_px.dtype))


def m2_unlabeled_loss(per_class_loss, class_logits) -> tf.Tensor:
    r"""Per example: :math:`\mathcal{U}(x)`, the M2 negative ELBO of an unlabeled image, the
    unknown label summed out under the classifier :math:`q(y \mid x)`:

    .. math::
        \mathcal{U}(x) = \sum_y q(y \mid x)\,\mathcal{L}(x, y) - \mathcal{H}\big(q(y \mid x)\big).

    ``per_class_loss`` is ``(batch, K)``: :func:`m2_labeled_loss` with every class put in
    turn; ``class_logits`` is ``(batch, K)``. The entropy term keeps :math:`q(y \mid x)`
    from collapsing onto whichever class happens to reconstruct best.
    """
    per_class = as_float(per_class_loss)
    logits = as_float(class_logits, like=per_class)
    log_q = tf.nn.log_softmax(logits, axis=-1)
    q = tf.exp(log_q)
    return tf.reduce_sum(q * per_class, axis=-1) + tf.reduce_sum(q * log_q, axis=-1)


def m2_classification_loss(class_logits, labels, weight: float) -> tf.Tensor:
    r"""Per example: the explicit classification term M2 adds on labeled images,
    :math:`\alpha \cdot (-\log q(y \mid x))`. Without it the classifier
    :math:`q(y \mid x)` would learn only through unlabeled images; Kingma et al. set
    :math:`\alpha = 0.1 \cdot N` (N: the number of images), here it is ``weight``.
    """
    logits = as_float(class_logits)
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.cast(weight, ce.dtype) * ce

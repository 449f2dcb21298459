"""Generator and discriminator builders for 28x28x1 and 32x32x3 images.

Sized for *time to quality on a 2-core CPU*, not for parameter count: two strided
(transposed) convolutions each way, batch norm in G only, LeakyReLU in D. Conditional
variants put the label into G by concatenating a learned label embedding with z,
and into D by a projection (Miyato & Koyama 2018): the logit gains a term
:math:`\\langle e_y, h(x)\\rangle`, which asks D "is this a real image *of class y*"
at almost no cost. Introduced in ``notebooks/04_gan_mnist.ipynb``.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


def _check_shape(image_shape):
    image_shape = tuple(image_shape)
    if image_shape not in ((28, 28, 1), (32, 32, 3)):
        raise ValueError(f"image_shape must be (28, 28, 1) or (32, 32, 3), got {image_shape}")
    return image_shape


def _with_label(x, num_classes: int):
    """A label input, and ``x`` with a learned 16-D embedding of the label appended."""
    y = keras.Input((), dtype="int32", name="label")
    return y, layers.Concatenate()([x, layers.Embedding(num_classes, 16, name="label_embedding")(y)])


def _latent_inputs(latent_dim: int, num_classes: int | None):
    """The z input, the list of model inputs (z and maybe a label) and the tensor to build on."""
    z = keras.Input((latent_dim,), name="z")
    if not num_classes:
        return z, [z], z
    y, x = _with_label(z, num_classes)
    return z, [z, y], x


def build_generator(latent_dim: int = 64, image_shape=(28, 28, 1), num_classes: int | None = None,
                    width: int = 64) -> keras.Model:
    """z (and a label) -> image in [-1, 1] via tanh.

    Dense to a (s/4, s/4, 2*width) map, then two stride-2 transposed convolutions.
    Batch norm keeps the generator's early updates stable; tanh matches data scaled
    with :func:`augkit.data.to_minus1_1`.
    """
    h, w, c = _check_shape(image_shape)
    z, inputs, x = _latent_inputs(latent_dim, num_classes)
    x = layers.Dense((h // 4) * (w // 4) * 2 * width, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Reshape((h // 4, w // 4, 2 * width))(x)
    x = layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.2)(x)
    out = layers.Conv2DTranspose(c, 4, strides=2, padding="same", activation="tanh")(x)
    name = "conditional_generator" if num_classes else "generator"
    return keras.Model(inputs if num_classes else z, out, name=name)


class _Projection(layers.Layer):
    """Projection-discriminator term: :math:`\\langle \\mathrm{embed}(y), h \\rangle`."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def build(self, input_shape):
        features_shape, _ = input_shape
        self.embed = self.add_weight(shape=(self.num_classes, features_shape[-1]),
                                     initializer="glorot_uniform", name="class_embedding")

    def call(self, inputs):
        features, labels = inputs
        e = keras.ops.take(self.embed, keras.ops.cast(labels, "int32"), axis=0)
        return keras.ops.sum(e * features, axis=-1, keepdims=True)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


class MinibatchStdDev(layers.Layer):
    r"""Minibatch standard deviation (Karras et al. 2018), one of notebook 04's remedies for
    mode collapse: appends to every example's features one number shared by the batch,

    .. math::
        s = \frac{1}{F}\sum_{f=1}^{F} \sqrt{\operatorname{Var}_{i \in \text{batch}}
        \big[h_{i,f}\big] + \epsilon},

    the mean over features of their spread across the batch. A collapsed generator's
    batch has almost no spread, so D can tell it from a real batch by ``s`` alone, and
    G is pushed back towards variety.
    """

    def __init__(self, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, x):
        ops = keras.ops
        spread = ops.sqrt(ops.var(x, axis=0) + self.epsilon)
        s = ops.mean(spread) * ops.ones_like(x[:, :1])
        return ops.concatenate([x, s], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], None if input_shape[-1] is None else input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


def build_discriminator(image_shape=(28, 28, 1), num_classes: int | None = None,
                        width: int = 64, dropout: float = 0.3,
                        minibatch_std: bool = False) -> keras.Model:
    """Image (and a label) -> one real/fake *logit* (no sigmoid: losses take logits).

    No batch norm: it couples the examples in a batch, which breaks the gradient
    penalty of WGAN-GP and lets D tell real and fake batches apart by statistics.
    ``minibatch_std`` couples them on purpose, through one number (:class:`MinibatchStdDev`).
    """
    image_shape = _check_shape(image_shape)
    img = keras.Input(image_shape, name="image")
    x = layers.Conv2D(width, 4, strides=2, padding="same")(img)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(2 * width, 4, strides=2, padding="same")(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    if minibatch_std:
        x = MinibatchStdDev(name="minibatch_std")(x)
    x = layers.Dropout(dropout)(x)
    logit = layers.Dense(1)(x)
    if not num_classes:
        return keras.Model(img, logit, name="discriminator")
    y = keras.Input((), dtype="int32", name="label")
    logit = layers.Add()([logit, _Projection(num_classes, name="projection")([x, y])])
    return keras.Model([img, y], logit, name="conditional_discriminator")


def build_encoder(image_shape=(28, 28, 1), latent_dim: int = 16, num_classes: int | None = None,
                  width: int = 32, hidden: int = 128) -> keras.Model:
    """Image in [0, 1] (and a label) -> ``[mu, log_var]`` of :math:`q(z \\mid x[, y])`.

    Two stride-2 convolutions, then a dense layer. ``log_var`` rather than sigma is the
    output because it is unconstrained: any real number is a valid log-variance, and
    :func:`augkit.losses.gaussian_kl` takes it directly. A conditional encoder sees the
    label's embedding next to the image features, so z need not encode the class.
    Introduced in ``notebooks/05_vae_mnist.ipynb``.
    """
    image_shape = _check_shape(image_shape)
    img = keras.Input(image_shape, name="image")
    x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(img)
    x = layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    inputs = [img]
    if num_classes:
        y, x = _with_label(x, num_classes)
        inputs.append(y)
    x = layers.Dense(hidden, activation="relu")(x)
    mu = layers.Dense(latent_dim, name="mu")(x)
    # Zero-initialised so that training starts at sigma = 1, the prior's scale.
    log_var = layers.Dense(latent_dim, kernel_initializer="zeros", name="log_var")(x)
    name = "conditional_encoder" if num_classes else "encoder"
    return keras.Model(inputs if num_classes else img, [mu, log_var], name=name)


def build_decoder(latent_dim: int = 16, image_shape=(28, 28, 1), num_classes: int | None = None,
                  width: int = 32, hidden: int = 128) -> keras.Model:
    """z (and a label) -> per-pixel *logits*, shape ``image_shape`` (no output activation).

    The VAE turns logits into what its likelihood needs: Bernoulli probabilities or
    Gaussian means, both via a sigmoid (:class:`augkit.vae.VAE`). The mirror image of
    :func:`build_encoder`. Introduced in ``notebooks/05_vae_mnist.ipynb``.
    """
    h, w, c = _check_shape(image_shape)
    z, inputs, x = _latent_inputs(latent_dim, num_classes)
    x = layers.Dense(hidden, activation="relu")(x)
    x = layers.Dense((h // 4) * (w // 4) * 2 * width, activation="relu")(x)
    x = layers.Reshape((h // 4, w // 4, 2 * width))(x)
    x = layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu")(x)
    # The last layer maps straight to pixels: a full-resolution hidden layer would cost
    # five times the compute of the whole rest of the decoder on a CPU.
    logits = layers.Conv2DTranspose(c, 3, strides=2, padding="same", name="logits")(x)
    name = "conditional_decoder" if num_classes else "decoder"
    return keras.Model(inputs if num_classes else z, logits, name=name)


class Holder(keras.Model):
    """A container for a model's networks, so a ``.weights.h5`` holds them and no optimizer
    state (for shipping). The attribute names are the keys in the file: keep them stable,
    or shipped files stop loading (VAE: ``encoder``, ``decoder``; semi-supervised GAN:
    ``generator``, ``ema_discriminator``)."""

    def __init__(self, **networks):
        super().__init__()
        for name, net in networks.items():
            setattr(self, name, net)
        self.built = True


class WeightNormDense(keras.layers.Layer):
    r"""A dense layer with weight normalisation (Salimans & Kingma 2016):

    .. math::
        y = \phi\Big(g \odot \frac{x\,V}{\lVert V \rVert_{\text{col}}} + b\Big)

    Each unit's direction :math:`V_{:,j}` and length :math:`g_j` are separate weights.
    :meth:`initialize_from` sets :math:`g` and :math:`b` so that a batch's
    pre-activations have mean 0 and standard deviation ``init_scale`` per unit;
    with ``train_scale=False`` the lengths then stay as set.
    """

    def __init__(self, units: int, activation=None, train_scale: bool = False,
                 init_scale: float = 1.0, direction_init=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.train_scale, self.init_scale = units, train_scale, init_scale
        # The directions' initial length matters although only their direction is used: Adam
        # moves every entry by about the learning rate, so a direction of longer vectors turns
        # more slowly. N(0, 0.1) as the authors' D (Glorot for the generator's output layer).
        self.direction_init = (keras.initializers.get(direction_init) if direction_init
                               else keras.initializers.RandomNormal(0.0, 0.1))
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.v = self.add_weight(name="v", shape=(input_shape[-1], self.units),
                                 initializer=self.direction_init)
        self.g = self.add_weight(name="g", shape=(self.units,), initializer="ones",
                                 trainable=self.train_scale)
        self.b = self.add_weight(name="b", shape=(self.units,), initializer="zeros")

    def _direction(self):
        return self.v / tf.norm(self.v, axis=0, keepdims=True)

    def call(self, x):
        return self.activation(tf.matmul(x, self._direction()) * self.g + self.b)

    def initialize_from(self, x) -> tf.Tensor:
        """Data-dependent init from batch ``x``; returns this layer's output on it."""
        if not self.built:
            self.build(x.shape)
        t = tf.matmul(x, self._direction())
        mean, var = tf.nn.moments(t, axes=[0])
        g = self.init_scale / tf.sqrt(var + 1e-6)
        self.g.assign(g)
        self.b.assign(-mean * g)
        return self(x)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "train_scale": self.train_scale,
                "init_scale": self.init_scale,
                "activation": keras.activations.serialize(self.activation)}

"""Variational autoencoder and conditional VAE as ``keras.Model`` subclasses.

One training step maximizes the (beta-)ELBO of notebook 02 with one reparameterized
sample per image; the loss terms come from :mod:`augkit.losses`:

.. math::
    \\mathcal L_\\beta(x) = \\underbrace{-\\log p_\\theta(x \\mid z)}_{\\text{reconstruction}}
      + \\beta\\, \\underbrace{\\mathrm{KL}\\big(q_\\phi(z \\mid x)\\,\\|\\,\\mathcal N(0, I)\\big)}_{\\text{kl}},
    \\qquad z = \\mu_\\phi(x) + \\sigma_\\phi(x) \\odot \\epsilon

Reductions, stated once: each term is **summed** over pixels and over latent dimensions
(so beta keeps the meaning it has in the ELBO, see :func:`augkit.losses.effective_beta`)
and **averaged** over the images of a batch. The trackers show

* ``reconstruction`` and ``kl``: the batch means of the two terms,
* ``neg_elbo`` = reconstruction + kl: the negative ELBO proper, an upper bound on
  :math:`-\\log p(x)` whatever beta was trained with, and
* ``loss`` = reconstruction + beta * kl: the objective the optimizer actually descends.

The conditional VAE gives the label to both networks, :math:`q(z \\mid x, y)` and
:math:`p(x \\mid z, y)`: z is then free to hold *style* (slant, thickness) while y holds
the class. Introduced in ``notebooks/05_vae_mnist.ipynb``.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from augkit import data, losses, nets


def to_unit_float(images) -> np.ndarray:
    """uint8 images (N, H, W[, C]) -> float32 in [0, 1] with a channel axis (the VAE's input)."""
    x = np.asarray(images)
    if x.dtype != np.uint8:
        raise ValueError(f"expected uint8 images in [0, 255], got dtype {x.dtype}")
    x = data.to_unit(x)
    return x[..., None] if x.ndim == 3 else x


# Decoder means in [0, 1] -> uint8 images, rounded and clipped.
to_uint8 = data.from_unit


class VAE(keras.Model):
    """Unconditional VAE: ``fit`` on batches of images in [0, 1] with a channel axis."""

    conditional = False

    def __init__(self, encoder: keras.Model, decoder: keras.Model, latent_dim: int, *,
                 beta: float = 1.0, likelihood: str = "bernoulli", sigma: float = 0.1,
                 num_classes: int, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        if likelihood not in losses.LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {losses.LIKELIHOODS}, got {likelihood!r}")
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta!r}")
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.beta, self.likelihood, self.sigma = float(beta), likelihood, float(sigma)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.neg_elbo_tracker = keras.metrics.Mean(name="neg_elbo")
        self.recon_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.built = True  # both networks are built functional models

    def compile(self, optimizer=None, **kwargs):
        """Adam(1e-3) by default: a VAE is one network pair with one objective, so the
        GAN's damped beta_1 = 0.5 is not needed here."""
        super().compile(optimizer=optimizer or keras.optimizers.Adam(1e-3), **kwargs)

    @property
    def metrics(self):
        return [self.loss_tracker, self.neg_elbo_tracker, self.recon_tracker, self.kl_tracker]

    # The hooks the conditional VAE overrides.
    def _split(self, data):
        return (data[0] if isinstance(data, tuple) else data), None

    def _encode(self, x, labels, training):
        return self.encoder(x, training=training)

    def _decode(self, z, labels, training):
        return self.decoder(z, training=training)

    def _decoder_output(self, logits):
        """What the likelihood takes: logits (Bernoulli) or means in (0, 1) (Gaussian)."""
        return logits if self.likelihood == "bernoulli" else tf.sigmoid(logits)

    def terms(self, x, labels=None, training=False):
        """Per-example ``{"reconstruction", "kl", "neg_elbo", "loss"}`` for one sample of z.

        ``neg_elbo`` = reconstruction + kl; ``loss`` = reconstruction + beta * kl, the
        objective (:func:`augkit.losses.elbo_terms`).
        """
        mu, log_var = self._encode(x, labels, training)
        z = losses.reparameterize(mu, log_var, seed=self.seed_generator)
        logits = self._decode(z, labels, training)
        return losses.elbo_terms(x, self._decoder_output(logits), mu, log_var, beta=self.beta,
                                 likelihood=self.likelihood, sigma=self.sigma)

    def _update(self, t):
        recon, kl = tf.reduce_mean(t["reconstruction"]), tf.reduce_mean(t["kl"])
        loss = tf.reduce_mean(t["loss"])
        self.loss_tracker.update_state(loss)
        self.neg_elbo_tracker.update_state(tf.reduce_mean(t["neg_elbo"]))
        self.recon_tracker.update_state(recon)
        self.kl_tracker.update_state(kl)
        return loss

    def train_step(self, data):
        x, labels = self._split(data)
        with tf.GradientTape() as tape:
            t = self.terms(x, labels, training=True)
            loss = tf.reduce_mean(t["loss"])
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        self._update(t)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, labels = self._split(data)
        self._update(self.terms(x, labels, training=False))
        return {m.name: m.result() for m in self.metrics}

    def call(self, x, training=False):
        mu, _ = self.encoder(x, training=training)
        return self.decoder(mu, training=training)

    # ---- the public, numpy-in numpy-out API -------------------------------------------
    def _labels(self, labels, n):
        if not self.conditional:
            if labels is not None:
                raise ValueError("this VAE is unconditional; do not pass labels")
            return None
        if labels is None:
            raise ValueError("a conditional VAE needs the labels of the images")
        return data.class_labels(n, labels, num_classes=self.num_classes)

    def _batched(self, fn, n, *arrays, batch: int = 500):
        outs = [fn(*(None if a is None else a[i:i + batch] for a in arrays))
                for i in range(0, n, batch)]
        if isinstance(outs[0], (tuple, list)):  # the encoder returns [mu, log_var]
            return tuple(np.concatenate([np.asarray(o[k]) for o in outs]) for k in range(len(outs[0])))
        return np.concatenate([np.asarray(o) for o in outs])

    def encode(self, images, labels=None):
        """uint8 images (and labels) -> ``(mu, log_var)`` arrays of shape (N, latent_dim)."""
        x = to_unit_float(images)
        y = self._labels(labels, len(x))
        return self._batched(lambda a, b: self._encode(a, b, False), len(x), x, y)

    def decode(self, z, labels=None) -> np.ndarray:
        """Latent codes (N, latent_dim) (and labels) -> decoder means in [0, 1], (N, H, W, C)."""
        z = np.asarray(z, np.float32).reshape(-1, self.latent_dim)
        y = self._labels(labels, len(z))
        return self._batched(lambda a, b: tf.sigmoid(self._decode(a, b, False)), len(z), z, y)

    def generate(self, z, labels=None):
        """Decoder means scaled to [-1, 1]: the same contract as :meth:`augkit.gan.GAN.generate`,
        so the GAN widgets work on VAEs too."""
        return 2.0 * self.decode(z, labels) - 1.0

    def reconstruct(self, images, labels=None, *, sample: bool = False, seed=None) -> np.ndarray:
        """uint8 images -> uint8 reconstructions: decode the posterior mean (``sample=False``)
        or one draw :math:`z \\sim q(z \\mid x)` (deterministic under ``seed``)."""
        mu, log_var = self.encode(images, labels)
        z = mu
        if sample:
            eps = np.random.default_rng(seed).standard_normal(mu.shape).astype(np.float32)
            z = mu + np.exp(0.5 * log_var) * eps
        return to_uint8(self.decode(z, labels))

    def sample(self, n: int, labels=None, seed: int | None = None):
        """``n`` new images from the *prior* :math:`z \\sim \\mathcal N(0, I)`, uint8, (n, H, W, C).

        Not reconstructions: no image goes in. Deterministic under ``seed``. A conditional
        VAE also returns the labels (``None`` cycles through the classes; an int asks for
        one class; an array gives one label per image), like :meth:`augkit.gan.GAN.sample`.
        """
        if int(n) != n or n <= 0:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        z = np.random.default_rng(seed).standard_normal((int(n), self.latent_dim)).astype(np.float32)
        if not self.conditional:
            if labels is not None:
                raise ValueError("this VAE is unconditional; do not pass labels")
            return to_uint8(self.decode(z))
        y = data.class_labels(int(n), labels, num_classes=self.num_classes)
        return to_uint8(self.decode(z, y)), y

    def save_networks(self, path) -> None:
        """Encoder and decoder weights into one ``.weights.h5`` (no optimizer state: for shipping)."""
        nets.Holder(encoder=self.encoder, decoder=self.decoder).save_weights(path)

    def load_networks(self, path) -> None:
        """Load a file written by :meth:`save_networks`."""
        nets.Holder(encoder=self.encoder, decoder=self.decoder).load_weights(path)

    def kl_per_dimension(self, images, labels=None) -> np.ndarray:
        """Mean KL of each latent dimension over ``images`` (nats). A dimension near 0 is
        *inactive*: its posterior equals the prior for every image, it carries no information
        (posterior collapse, notebook 05)."""
        mu, log_var = self.encode(images, labels)
        return (0.5 * (mu ** 2 + np.exp(log_var) - 1.0 - log_var)).mean(axis=0)


class ConditionalVAE(VAE):
    """VAE whose encoder and decoder both see the class: ``fit`` on ``(images, labels)``."""

    conditional = True

    def _split(self, data):
        return data[0], tf.cast(tf.reshape(data[1], [-1]), tf.int32)

    def _encode(self, x, labels, training):
        return self.encoder([x, labels], training=training)

    def _decode(self, z, labels, training):
        return self.decoder([z, labels], training=training)

    def call(self, inputs, training=False):
        x, labels = inputs
        mu, _ = self._encode(x, labels, training)
        return self._decode(mu, labels, training)


def build_vae(dataset: str = "mnist", conditional: bool = False, latent_dim: int = 16, *,
              beta: float = 1.0, likelihood: str | None = None, sigma: float = 0.1,
              width: int = 32, seed: int = 0, lr: float = 1e-3) -> VAE:
    """A compiled (conditional) VAE for ``dataset`` with :mod:`augkit.nets` networks.

    ``sigma`` is the Gaussian decoder's fixed standard deviation on the [0, 1] pixel scale
    (ignored by the Bernoulli decoder): a smaller sigma weighs reconstruction more, exactly
    like a smaller beta (notebook 02).
    """
    from augkit import datasets, nets

    if int(latent_dim) != latent_dim or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    spec = datasets.get(dataset)
    keras.utils.set_random_seed(seed)
    shape, k = spec.image_shape, (spec.num_classes if conditional else None)
    cls = ConditionalVAE if conditional else VAE
    model = cls(nets.build_encoder(shape, latent_dim, k, width=width),
                nets.build_decoder(latent_dim, shape, k, width=width), latent_dim, beta=beta,
                likelihood=likelihood or spec.likelihood, sigma=sigma,
                num_classes=spec.num_classes, seed=seed)
    model.compile(keras.optimizers.Adam(lr))
    # Build the optimizer now so that checkpoints and saved weights line up from the start.
    model.optimizer.build(model.trainable_weights)
    return model


def train_vae(model: VAE, x, y=None, *, epochs: int, batch_size: int = 64, steps_per_epoch=None,
              checkpoint_dir=None, resume: bool = False, progress: bool = True,
              sample_every: bool = True, seed: int = 0, extra_callbacks=(), validation=None,
              meta=None):
    """Fit ``model`` on uint8 images ``x`` (and labels ``y``) with the standard callbacks.

    Returns ``(history, recorder, guard)`` exactly like :func:`augkit.gan.train_gan`.
    ``validation=(x_val, y_val)`` (uint8) adds ``val_*`` curves: a train/test gap in the
    negative ELBO is overfitting, which a sample grid cannot show.
    """
    from augkit import loop

    run = loop.fit(model, x, y, scale="unit", epochs=epochs, batch_size=batch_size,
                   steps_per_epoch=steps_per_epoch, checkpoint_dir=checkpoint_dir, resume=resume,
                   progress=progress, sample_every=sample_every, seed=seed,
                   extra_callbacks=extra_callbacks, validation=validation, meta=meta)
    return run.history, run.recorder, run.guard


# --------------------------------------------------------------------------- family hooks
# How augkit.families trains, saves, loads, samples and measures a VAE.

def fit(job):
    """Build a VAE from ``job.options`` and train it (:func:`augkit.train.fit`); a run of
    ``augkit train`` logs the bound on held-out test images too (overfitting shows there)."""
    from augkit import budgets, loop, train

    o = job.options
    model = build_vae(job.dataset, o["conditional"], o["latent_dim"], beta=o["beta"],
                      likelihood=o["likelihood"], sigma=o["sigma"], width=o["width"],
                      seed=job.seed)
    validation = None
    if job.measure:
        n = budgets.curve_images(job.quick)
        validation = (job.x_test[-n:], job.y_test[-n:])
    run = loop.fit(model, job.x, job.y, scale="unit", checkpoint_dir=job.checkpoint_dir,
                   resume=job.resume, meta=job.meta, progress=job.progress, seed=job.seed,
                   sample_every=not job.steps, validation=validation, **train.schedule(job))
    return train.fitted_generator(model, run, job, "vae")


def save(model: VAE, path) -> None:
    from augkit import files

    with files.atomic_path(path, suffix=".weights.h5") as tmp:
        model.save_networks(tmp)


def load(entry: dict, path) -> VAE:
    model = build_vae(entry["dataset"], entry["conditional"], entry["latent_dim"],
                      beta=entry.get("beta", 1.0), likelihood=entry.get("likelihood"),
                      sigma=entry.get("sigma", 0.1), width=entry["width"])
    model.load_networks(path)
    return model


def images_from_noise(model: VAE, z, labels) -> np.ndarray:
    """uint8 images for prior draws ``z`` exactly as :meth:`VAE.sample` makes them."""
    return data.from_unit(model.decode(z, labels))


def measure(model: VAE, dataset: str, x_test, y_test, n: int = 5000, seed: int = 0) -> dict:
    """What only a VAE has: test negative ELBO and its terms (nats per image), how much
    better reconstructions are than the mean image, and how many latent dimensions are used."""
    from augkit import metrics

    n = min(n, len(x_test))
    x, y = x_test[:n], (y_test[:n] if model.conditional else None)
    unit = to_unit_float(x)
    logs = model.evaluate(unit, y, batch_size=500, verbose=0, return_dict=True)
    recon = to_unit_float(model.reconstruct(x, y))
    mean_image = unit.mean(axis=0, keepdims=True)
    kl_dims = model.kl_per_dimension(x, y)
    m = min(n, 1000)
    z = np.random.default_rng(seed).standard_normal((m, model.latent_dim)).astype(np.float32)
    prior = model.decode(z, (np.arange(m) % model.num_classes) if model.conditional else None)
    return {"test_neg_elbo": round(logs["neg_elbo"], 2),
            "test_reconstruction": round(logs["reconstruction"], 2),
            "test_kl": round(logs["kl"], 2),
            "reconstruction_mse": round(float(np.mean((recon - unit) ** 2)), 5),
            "mean_image_mse": round(float(np.mean((mean_image - unit) ** 2)), 5),
            # 0.01 nats: the usual threshold for an "active" unit (Burda et al. use a variance test).
            "active_units": int((kl_dims > 0.01).sum()),
            "sharpness": round(metrics.sharpness(to_uint8(prior)), 2)}

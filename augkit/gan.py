"""DCGAN and conditional GAN as ``keras.Model`` subclasses with their own ``train_step``.

Why a subclass: the old Keras recipe (``D.trainable = False`` plus a combined model)
silently stops training D under Keras 3, because ``trainable`` is read once when the
step is traced. Here each step opens two gradient tapes and each optimizer updates
only its own network's weights. Introduced in ``notebooks/04_gan_mnist.ipynb``.

One training step, for a loss pair :math:`(L_D, L_G)` from :mod:`augkit.losses`:

.. math::
    \\theta_D \\leftarrow \\theta_D - \\eta_D \\nabla_{\\theta_D} L_D\\big(D(x), D(G(z))\\big),
    \\qquad
    \\theta_G \\leftarrow \\theta_G - \\eta_G \\nabla_{\\theta_G} L_G\\big(D(G(z'))\\big)

with fresh noise :math:`z'` for the generator update.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from augkit import data, losses


class GAN(keras.Model):
    """Unconditional GAN: ``fit`` on batches of images scaled to [-1, 1]."""

    conditional = False

    def __init__(self, generator: keras.Model, discriminator: keras.Model, latent_dim: int,
                 num_classes: int, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")  # mean D(x) = sigmoid(logit)
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")  # mean D(G(z))

    def compile(self, d_optimizer=None, g_optimizer=None, loss: str = "non_saturating",
                gp_weight: float = 10.0, **kwargs):
        """Set both optimizers and the loss by name (see :data:`augkit.losses.GAN_LOSSES`).

        Default optimizers are Adam(2e-4, beta_1=0.5): the DCGAN paper's beta_1 = 0.5
        damps the momentum that otherwise makes the two players oscillate.
        """
        super().compile(**kwargs)
        self.d_loss_fn, self.g_loss_fn = losses.get_gan_loss(loss)
        self.loss_name, self.gp_weight = loss, gp_weight
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)

    @property
    def metrics(self):
        # Listed here so Keras resets them at each epoch start.
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    # The two hooks a conditional GAN overrides.
    def _split(self, data):
        return (data[0] if isinstance(data, tuple) else data), None

    def _generate(self, z, labels, training):
        return self.generator(z, training=training)

    def _discriminate(self, images, labels, training):
        return self.discriminator(images, training=training)

    def _noise(self, batch):
        return keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)

    def train_step(self, data):
        real, labels = self._split(data)
        batch = tf.shape(real)[0]
        # A conditional fake batch reuses the real batch's labels (None when unconditional).
        fake_labels = labels

        with tf.GradientTape() as tape:
            fake = self._generate(self._noise(batch), fake_labels, training=True)
            real_logits = self._discriminate(real, labels, training=True)
            fake_logits = self._discriminate(fake, fake_labels, training=True)
            d_loss = self.d_loss_fn(real_logits, fake_logits)
            if self.loss_name in losses.GRADIENT_PENALTY_LOSSES:
                d_loss += losses.gradient_penalty(
                    lambda x: self._discriminate(x, labels, training=True), real, fake,
                    weight=self.gp_weight, seed=self.seed_generator)
        d_vars = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars, strict=True))

        with tf.GradientTape() as tape:
            fake = self._generate(self._noise(batch), fake_labels, training=True)
            g_logits = self._discriminate(fake, fake_labels, training=True)
            g_loss = self.g_loss_fn(g_logits)
        g_vars = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars, strict=True))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        return {m.name: m.result() for m in self.metrics}

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def generate(self, z, labels=None):
        """Raw generator output in [-1, 1] for given noise (and labels)."""
        if labels is not None:
            labels = tf.convert_to_tensor(labels, tf.int32)
        return self._generate(tf.convert_to_tensor(z, tf.float32), labels, training=False)

    def sample(self, n: int, labels=None, seed: int | None = None):
        """``n`` images as uint8 in [0, 255], shape (n, H, W, C); deterministic under ``seed``.

        A conditional GAN also returns the labels it generated (``labels=None`` cycles
        through every class; an int asks for one class; an array gives one per image).
        """
        if int(n) != n or n <= 0:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((int(n), self.latent_dim)).astype(np.float32)
        y = data.class_labels(int(n), labels, num_classes=self.num_classes) if self.conditional else None
        out = []
        for i in range(0, int(n), 500):
            batch = self.generate(z[i:i + 500], None if y is None else y[i:i + 500])
            out.append(np.asarray(batch))
        images = data.from_minus1_1(np.concatenate(out))
        return (images, y) if self.conditional else images


class ConditionalGAN(GAN):
    """GAN whose G and D both see the class label: ``fit`` on ``(images, labels)`` batches.

    Generated images are labeled by construction, which is what augmentation of a
    *labeled* training set needs. The fake batch reuses the real batch's labels, so
    D compares real and fake images of the same classes.
    """

    conditional = True

    def _split(self, data):
        images, labels = data[0], data[1]
        return images, tf.cast(tf.reshape(labels, [-1]), tf.int32)

    def _generate(self, z, labels, training):
        return self.generator([z, labels], training=training)

    def _discriminate(self, images, labels, training):
        return self.discriminator([images, labels], training=training)


def build_gan(dataset: str = "mnist", conditional: bool = True, latent_dim: int = 64,
              loss: str = "non_saturating", width: int = 64, seed: int = 0,
              lr: float = 2e-4, minibatch_std: bool = False) -> GAN:
    """A compiled (conditional) DCGAN for ``dataset`` with :mod:`augkit.nets` networks
    (``minibatch_std``: D sees the batch's spread, :class:`augkit.nets.MinibatchStdDev`)."""
    from augkit import datasets, nets

    spec = datasets.get(dataset)
    keras.utils.set_random_seed(seed)
    k = spec.num_classes if conditional else None
    cls = ConditionalGAN if conditional else GAN
    model = cls(nets.build_generator(latent_dim, spec.image_shape, k, width=width),
                nets.build_discriminator(spec.image_shape, k, width=width,
                                         minibatch_std=minibatch_std), latent_dim,
                num_classes=spec.num_classes, seed=seed)
    # Adam beta_1 = 0.5 (DCGAN paper): less momentum, less oscillation between the players.
    model.compile(keras.optimizers.Adam(lr, beta_1=0.5), keras.optimizers.Adam(lr, beta_1=0.5),
                  loss=loss)
    return model


def train_gan(model: GAN, x, y=None, *, epochs: int, batch_size: int = 64, steps_per_epoch=None,
              checkpoint_dir=None, resume: bool = False, progress: bool = True, sample_every=True,
              seed: int = 0, extra_callbacks=(), meta=None):
    """Fit ``model`` on uint8 images ``x`` (and labels ``y``) with the standard callbacks.

    Returns ``(history, recorder, guard)``: the per-epoch logs (``history.history``), the
    :class:`~augkit.callbacks.SampleRecorder` with one frame per epoch, and the
    :class:`~augkit.callbacks.DivergenceGuard` (its ``message`` says why it stopped, if it did).
    With ``checkpoint_dir`` every epoch is saved; ``resume=True`` continues from there
    (:func:`augkit.loop.fit`).
    """
    from augkit import loop

    run = loop.fit(model, x, y, scale="minus1_1", epochs=epochs, batch_size=batch_size,
                   steps_per_epoch=steps_per_epoch, checkpoint_dir=checkpoint_dir, resume=resume,
                   progress=progress, sample_every=sample_every, seed=seed,
                   extra_callbacks=extra_callbacks, meta=meta)
    return run.history, run.recorder, run.guard


def saturation_probe(x_real, *, dataset: str = "mnist", seed: int = 0,
                     levels=(0.5, 0.2, 0.05, 0.01), max_d_steps: int = 400, batch_size: int = 64,
                     width: int = 32, lr: float = 2e-4) -> dict:
    r"""Build the state the saturation argument is about, then measure it (notebook 04 §3).

    A fresh unconditional GAN's discriminator is trained alone, the generator frozen, so
    that the mean :math:`D(G(z))` of its batches falls (a discriminator that has got ahead,
    as it does early in real training). Each time it first drops below one of ``levels``,
    the generator's gradient is taken on one fixed noise batch under both losses. Per
    sample, with fake logit :math:`a` and :math:`D = \sigma(a)`:

    .. math::
        \frac{\partial}{\partial a}\log(1 - D) = -D, \qquad
        \frac{\partial}{\partial a}\big(-\log D\big) = -(1 - D),

    so every minimax gradient is the non-saturating one scaled by :math:`D/(1-D)`: about
    1/100 at :math:`D = 0.01`. Returns ``d_fake_trace`` (mean D(G(z)) per discriminator
    step) and ``points``, one per level reached: ``step``, ``d_fake`` on the fixed batch,
    ``grad_norm`` per loss (global norm over the generator's weights) and
    ``predicted_ratio``, the batch mean of :math:`D/(1-D)`.
    """
    model = build_gan(dataset, conditional=False, width=width, seed=seed)
    g, d = model.generator, model.discriminator
    # beta_1 = 0.5 as in every augkit GAN: a shorter momentum memory follows a moving target.
    opt = keras.optimizers.Adam(lr, beta_1=0.5)
    x = data.to_minus1_1(x_real)
    if x.ndim == 3:
        x = x[..., None]
    rng = np.random.default_rng(seed)
    z_fixed = tf.constant(rng.standard_normal((batch_size, model.latent_dim)).astype(np.float32))

    @tf.function
    def d_step(real, z):
        with tf.GradientTape() as tape:
            fake_logits = d(g(z, training=False), training=True)
            loss = losses.discriminator_cross_entropy(d(real, training=True), fake_logits)
        d_vars = d.trainable_variables
        opt.apply_gradients(zip(tape.gradient(loss, d_vars), d_vars, strict=True))
        return tf.reduce_mean(tf.sigmoid(fake_logits))

    def measure(step):
        norms = {}
        for name, fn in (("minimax", losses.generator_minimax_loss),
                         ("non_saturating", losses.generator_non_saturating_loss)):
            with tf.GradientTape() as tape:
                logits = d(g(z_fixed, training=False), training=False)
                loss = fn(logits)
            norms[name] = float(tf.linalg.global_norm(tape.gradient(loss, g.trainable_variables)))
        p = tf.sigmoid(logits).numpy().ravel()
        return {"step": step, "d_fake": float(p.mean()), "grad_norm": norms,
                "predicted_ratio": float(np.mean(p / (1.0 - p)))}

    todo = sorted(levels, reverse=True)
    trace, points = [], []
    for step in range(max_d_steps + 1):
        # Step 0 is measured once, on the fixed batch; later steps read the training trace
        # and measure only when a level is crossed.
        point = measure(step) if step == 0 else None
        current = point["d_fake"] if point else trace[-1]
        if todo and current < todo[0]:
            points.append(point or measure(step))
            while todo and current < todo[0]:
                todo.pop(0)
        if not todo or step == max_d_steps:
            break
        real = x[rng.integers(0, len(x), batch_size)]
        z = rng.standard_normal((batch_size, model.latent_dim)).astype(np.float32)
        trace.append(float(d_step(real, z)))
    return {"seed": seed, "d_fake_trace": np.array(trace), "points": points}


# --------------------------------------------------------------------------- family hooks
# How augkit.families trains, saves, loads and samples a GAN (``augkit train gan``, the study).

def fit(job):
    """Build a GAN from ``job.options`` and train it (:func:`augkit.train.fit`)."""
    from augkit import loop, train

    o = job.options
    model = build_gan(job.dataset, o["conditional"], o["latent_dim"], loss=o["loss"],
                      width=o["width"], seed=job.seed)
    run = loop.fit(model, job.x, job.y, scale="minus1_1", checkpoint_dir=job.checkpoint_dir,
                   resume=job.resume, meta=job.meta, progress=job.progress, seed=job.seed,
                   sample_every=not job.steps, **train.schedule(job))
    return train.fitted_generator(model, run, job, "gan")


def save(model: GAN, path) -> None:
    """The generator alone: it is what samples are made of."""
    from augkit import files

    files.save_weights(model.generator, path)


def load(entry: dict, path) -> GAN:
    model = build_gan(entry["dataset"], entry["conditional"], entry["latent_dim"],
                      width=entry["width"])
    model.generator.load_weights(path)
    return model


def images_from_noise(model: GAN, z, labels) -> np.ndarray:
    """uint8 images for noise ``z`` (and labels) exactly as :meth:`GAN.sample` makes them."""
    return data.from_minus1_1(np.asarray(model.generate(z, labels)))

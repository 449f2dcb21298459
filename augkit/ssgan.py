"""The semi-supervised GAN (Salimans et al. 2016): a discriminator that is also the classifier.

With K classes the discriminator outputs K logits; the "generated" class K+1 has its
logit fixed at 0, so :math:`D(x) = Z(x) / (Z(x) + 1)` with :math:`Z = \\sum_k e^{l_k}`
(:mod:`augkit.semi_losses`). Per step, on a labeled batch :math:`(x_l, y)`, an unlabeled
batch :math:`x_u` and a generated batch :math:`G(z)`:

.. math::
    L_D = L_{\\text{sup}}(x_l, y) + \\tfrac12 L_{\\text{unsup}}(x_u, G(z)), \\qquad
    L_G = \\big\\lVert \\mathbb{E}\\, f(x'_u) - \\mathbb{E}\\, f(G(z')) \\big\\rVert_2^2

where :math:`f` is D's last hidden layer (feature matching) and :math:`x'_u` a second
unlabeled batch. The factor 1/2 weighs the unlabeled real and fake halves as the
authors do. Why it helps a classifier: the unlabeled images teach D what digits look
like (they must score "real", generated near-misses "fake"), so its class boundaries
fall where the data is sparse; 100 labels then only name the clusters.

The details that decide whether it trains at all (measured here, and as the authors'
public code has them): every dense layer of D is weight-normalised with its scales set
from the data at initialisation and then *frozen* (only the output layer's scales
train); Gaussian noise is added to the input (sigma 0.3) and after every hidden layer
(0.5); G's output layer is weight-normalised but *not* data-initialised (doing so let D
overpower G by epoch 2: test accuracy stalled at 78-81 %). A moving average of D's
weights (:attr:`SemiSupervisedGAN.ema_discriminator`) is what gets evaluated.
Introduced in ``notebooks/09_semi_supervised.ipynb``.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from augkit import data, losses, nets


def adam(lr: float) -> keras.optimizers.Adam:
    """Adam as the authors ran it (:class:`PaperAdam`): beta_1 = 0.5 (less momentum, less
    oscillation between the players), epsilon 1e-8 inside the square root."""
    return PaperAdam(lr, beta_1=0.5, epsilon=1e-8)


class PaperAdam(keras.optimizers.Adam):
    r"""Adam with the authors' update, :math:`\theta \leftarrow \theta - \eta\,\hat m /
    \sqrt{\hat v + \epsilon}`, where Keras computes
    :math:`\eta\,\hat m / (\sqrt{\hat v} + \epsilon / \sqrt{1 - \beta_2^t})`.

    Not a detail: the generator's feature-matching gradients are tiny (a mean of squared
    feature differences), and Keras' epsilon, inflated by :math:`1/\sqrt{1-\beta_2^t}` in
    the first thousand steps, shrank G's early steps far more than D's. D then ran away
    (D(G(z)) about 0.005 by epoch 2) and G never caught up: seeds 1-3 stalled at 84 %.
    """

    def update_step(self, gradient, variable, learning_rate):
        from keras import ops

        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        t = ops.cast(self.iterations + 1, variable.dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        m_hat = ops.divide(m, 1 - ops.power(ops.cast(self.beta_1, variable.dtype), t))
        v_hat = ops.divide(v, 1 - ops.power(ops.cast(self.beta_2, variable.dtype), t))
        self.assign_sub(variable, ops.divide(ops.multiply(lr, m_hat),
                                             ops.sqrt(ops.add(v_hat, self.epsilon))))


class SemiDiscriminator(keras.Model):
    """The K-class discriminator: flattened image -> noisy weight-normalised MLP -> K logits.

    ``features(x)`` is the last hidden layer, the statistic the generator matches.
    """

    def __init__(self, num_classes: int, hidden=(1000, 500, 250, 250, 250),
                 input_noise: float = 0.3, hidden_noise: float = 0.5, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.hidden = num_classes, tuple(hidden)
        self.flatten = keras.layers.Flatten()
        self.noise = [keras.layers.GaussianNoise(input_noise, seed=seed)]
        self.dense = []
        for i, units in enumerate(self.hidden):
            self.dense.append(nets.WeightNormDense(units, "relu"))
            self.noise.append(keras.layers.GaussianNoise(hidden_noise, seed=seed + 1 + i))
        self.out = nets.WeightNormDense(num_classes, train_scale=True)

    def features_and_logits(self, x, training=False):
        h = self.noise[0](self.flatten(x), training=training)
        for dense, noise in zip(self.dense, self.noise[1:], strict=True):
            f = dense(h)
            h = noise(f, training=training)
        return f, self.out(h)

    def call(self, x, training=False):
        return self.features_and_logits(x, training=training)[1]

    def initialize_from(self, x) -> None:
        """Data-dependent init of every layer, one after the other, on batch ``x``, with the
        noise on: the scales standardise the pre-activations D will see in training."""
        h = self.noise[0](self.flatten(tf.convert_to_tensor(x, tf.float32)), training=True)
        for dense, noise in zip(self.dense, self.noise[1:], strict=True):
            h = noise(dense.initialize_from(h), training=True)
        self.out.initialize_from(h)


def build_semi_generator(latent_dim: int, image_shape, hidden=(500, 500)) -> keras.Model:
    """G: uniform noise -> [dense, batch norm (shift only), softplus] x 2 -> weight-normalised
    sigmoid layer, so images are in [0, 1] like D's input."""
    z = keras.Input((latent_dim,))
    h = z
    for units in hidden:
        # No BN scale: softplus is followed by a dense layer that can rescale anyway.
        h = keras.layers.Dense(units, use_bias=False)(h)
        h = keras.layers.BatchNormalization(scale=False)(h)
        h = keras.layers.Activation("softplus")(h)
    h = nets.WeightNormDense(int(np.prod(image_shape)), "sigmoid", train_scale=True,
                        direction_init="glorot_uniform")(h)
    return keras.Model(z, keras.layers.Reshape(tuple(image_shape))(h), name="generator")


class SemiSupervisedGAN(keras.Model):
    """``fit`` on unlabeled images in [0, 1] (batches of 2B: one half for D, one for G);
    the labeled subset lives in the model and a batch of B is drawn from it every step.

    ``conditional = False``: the training loop feeds images only. Evaluate with
    :meth:`predict_classes` (the weight average by default).
    """

    # The divergence guard's "D has won" test does not apply: G learns by feature matching,
    # whose gradient does not pass through D's verdict, so a D that calls every sample fake
    # still leaves G a signal. Measured: seeds 1-3 were stopped at epochs 2-4 with D(G(z))
    # near 0.005 while D(x) was 0.99. Non-finite losses still stop training.
    collapse_gap = None

    conditional = False
    classifies = True  # the training loop passes validation labels to test_step

    def __init__(self, generator, discriminator, ema_discriminator, x_labeled, y_labeled,
                 latent_dim: int, num_classes: int, ema_decay: float = 0.9999, seed: int = 0,
                 unsup_weight: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.ema_discriminator = ema_discriminator
        self.latent_dim, self.num_classes, self.ema_decay = latent_dim, num_classes, ema_decay
        # 0.5: the authors' weight on the unlabeled terms; 0 trains D on the labels alone
        # (the supervised-only ablation: same network, same steps, no unlabeled images).
        self.unsup_weight = unsup_weight
        self.x_labeled = tf.constant(data.to_unit(x_labeled).reshape(len(x_labeled), -1))
        self.y_labeled = tf.constant(np.asarray(y_labeled).reshape(-1).astype(np.int32))
        self.n_labeled = len(x_labeled)
        self.seed_generator = keras.random.SeedGenerator(seed)
        names = ("sup_loss", "unsup_loss", "fm_loss", "d_real", "d_fake", "label_acc")
        self.trackers = {n: keras.metrics.Mean(name=n) for n in names}
        self.acc_tracker = keras.metrics.Mean(name="accuracy")
        self.ema_acc_tracker = keras.metrics.Mean(name="ema_accuracy")

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Adam(3e-3, beta_1 = 0.5) for both players, the authors' MNIST setting; beta_1 = 0.5
        for the same reason as every augkit GAN (less momentum, less oscillation)."""
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer or adam(3e-3)
        self.g_optimizer = g_optimizer or adam(3e-3)

    @property
    def metrics(self):
        return [*self.trackers.values(), self.acc_tracker, self.ema_acc_tracker]

    def _noise(self, batch):
        return keras.random.uniform((batch, self.latent_dim), seed=self.seed_generator)

    def average_decay(self):
        r"""The weight average's decay after step :math:`t` of D's optimizer:
        :math:`\min\big(\text{ema\_decay}, \frac{1 + t}{10 + t}\big)`."""
        t = tf.cast(self.d_optimizer.iterations, tf.float32)
        return tf.minimum(tf.cast(self.ema_decay, tf.float32), (1.0 + t) / (10.0 + t))

    def initialize_from(self, x_unlabeled, data_init: bool = True) -> None:
        """Data-dependent init of D from unlabeled images (uint8), copied to the average
        (``data_init=False`` only builds the networks)."""
        x = data.to_unit(np.asarray(x_unlabeled))
        if data_init:
            self.discriminator.initialize_from(x)
        self.discriminator(x[:2])  # marks it built (the init calls its layers one by one)
        self.generator(self._noise(2))
        self.ema_discriminator(x[:2])
        for avg, w in zip(self.ema_discriminator.weights, self.discriminator.weights,
                          strict=True):
            avg.assign(w)

    def train_step(self, batch):
        images = batch[0] if isinstance(batch, tuple) else batch
        # The loop drops the last partial batch, so the batch size is static.
        half = images.shape[0] // 2 if images.shape[0] is not None else tf.shape(images)[0] // 2
        images = tf.reshape(images, [2 * half, -1])
        x_unl, x_unl2 = images[:half], images[half:]
        idx = keras.random.randint((half,), 0, self.n_labeled, seed=self.seed_generator)
        x_lab, y_lab = tf.gather(self.x_labeled, idx), tf.gather(self.y_labeled, idx)
        d, g = self.discriminator, self.generator

        fake = tf.reshape(g(self._noise(half), training=True), [half, -1])
        with tf.GradientTape() as tape:
            # One pass over all three batches: D has no batch norm, so this changes nothing
            # but the speed.
            logits = d(tf.concat([x_lab, x_unl, fake], axis=0), training=True)
            l_lab, l_unl, l_fake = tf.split(logits, 3, axis=0)
            sup = losses.ssgan_supervised_loss(l_lab, y_lab)
            unsup = losses.ssgan_unsupervised_loss(l_unl, l_fake)
            d_loss = sup + self.unsup_weight * unsup
        d_vars = d.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars, strict=True))
        # The average follows every weight (frozen scales never move). Early on it is close
        # to a plain mean of all steps so far, later an exponential one: the authors' average
        # (decay 0.9999, started at 0) also weighs nearly every step of a run of this length.
        decay = self.average_decay()
        for avg, w in zip(self.ema_discriminator.weights, d.weights, strict=True):
            avg.assign(decay * avg + (1.0 - decay) * w)

        real_features, _ = d.features_and_logits(x_unl2, training=True)
        with tf.GradientTape() as tape:
            fake2 = tf.reshape(g(self._noise(half), training=True), [half, -1])
            fake_features, _ = d.features_and_logits(fake2, training=True)
            # The authors' mean over features, not the sum: with Adam's epsilon of 1e-4 the
            # loss scale sets how far G moves where its gradients are small. With the sum
            # (250x larger), G outran D and then lost (seed 0: D won at epoch 11).
            fm = losses.feature_matching_loss(real_features, fake_features) / tf.cast(
                tf.shape(fake_features)[-1], fake_features.dtype)
        g_vars = g.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(fm, g_vars), g_vars, strict=True))

        t = self.trackers
        t["sup_loss"].update_state(sup)
        t["unsup_loss"].update_state(unsup)
        t["fm_loss"].update_state(fm)
        t["d_real"].update_state(tf.reduce_mean(tf.sigmoid(losses.real_fake_logit(l_unl))))
        t["d_fake"].update_state(tf.reduce_mean(tf.sigmoid(losses.real_fake_logit(l_fake))))
        hit = tf.equal(tf.argmax(l_lab, axis=-1, output_type=tf.int32), y_lab)
        t["label_acc"].update_state(tf.reduce_mean(tf.cast(hit, tf.float32)))
        return {name: m.result() for name, m in t.items()}

    def test_step(self, batch):
        images, labels = batch
        labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
        for net, tracker in ((self.discriminator, self.acc_tracker),
                             (self.ema_discriminator, self.ema_acc_tracker)):
            pred = tf.argmax(net(images, training=False), axis=-1, output_type=tf.int32)
            tracker.update_state(tf.reduce_mean(tf.cast(tf.equal(pred, labels), tf.float32)),
                                 sample_weight=tf.cast(tf.shape(labels)[0], tf.float32))
        return {"accuracy": self.acc_tracker.result(),
                "ema_accuracy": self.ema_acc_tracker.result()}

    def call(self, x, training=False):
        return self.ema_discriminator(x, training=training)

    def predict_classes(self, x, average: bool = True, batch_size: int = 1000) -> np.ndarray:
        """Class predictions for uint8 images: D's weight average, or D itself with
        ``average=False`` (not in a shipped model, which keeps only the average)."""
        net = self.ema_discriminator if average else self.discriminator
        x = data.to_unit(np.asarray(x))
        out = [np.argmax(np.asarray(net(x[i:i + batch_size], training=False)), axis=-1)
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros(0, int)

    def accuracy(self, x, y, average: bool = True) -> float:
        return float(np.mean(self.predict_classes(x, average) == np.asarray(y).reshape(-1)))

    def save_networks(self, path) -> None:
        """G and D's weight average into one ``.weights.h5``: what a shipped model needs to
        classify and to sample (D itself and the optimizers stay in checkpoints)."""
        nets.Holder(generator=self.generator, ema_discriminator=self.ema_discriminator).save_weights(path)

    def load_networks(self, path) -> None:
        """Load a file written by :meth:`save_networks`."""
        nets.Holder(generator=self.generator, ema_discriminator=self.ema_discriminator).load_weights(path)

    def sample(self, n: int, labels=None, seed: int | None = None) -> np.ndarray:
        """``n`` generated images, uint8 (n, H, W, C), deterministic under ``seed``."""
        if int(n) != n or n <= 0:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        z = np.random.default_rng(seed).uniform(size=(int(n), self.latent_dim))
        out = self.generator(z.astype(np.float32), training=False)
        return data.from_unit(out)


def build_ssgan(dataset: str, x_labeled=None, y_labeled=None, x_unlabeled=None, *,
                latent_dim: int = 100, seed: int = 0, lr: float = 3e-3, ema_decay: float = 0.9999,
                hidden=(1000, 500, 250, 250, 250), unsup_weight: float = 0.5) -> SemiSupervisedGAN:
    """A compiled semi-supervised GAN for ``dataset`` (uint8 inputs), data-initialised from
    ``x_unlabeled``. Without data it is only built, ready for ``load_weights``."""
    from augkit import datasets

    spec = datasets.get(dataset)
    keras.utils.set_random_seed(seed)
    k = spec.num_classes
    if x_labeled is None:
        x_labeled = np.zeros((1, *spec.image_shape), np.uint8)
        y_labeled = np.zeros(1, np.int32)
    model = SemiSupervisedGAN(
        build_semi_generator(latent_dim, spec.image_shape),
        SemiDiscriminator(k, hidden, seed=seed, name="discriminator"),
        SemiDiscriminator(k, hidden, seed=seed, name="ema_discriminator"),
        x_labeled, y_labeled, latent_dim, k, ema_decay=ema_decay, seed=seed,
        unsup_weight=unsup_weight)
    if x_unlabeled is None:
        model.initialize_from(np.zeros((2, *spec.image_shape), np.uint8), data_init=False)
    else:
        # The authors initialise from 500 images; a seeded draw keeps it reproducible.
        pick = np.random.default_rng(seed).choice(len(x_unlabeled), 500)
        model.initialize_from(np.asarray(x_unlabeled)[pick])
    model.compile(adam(lr), adam(lr))
    return model


def train_ssgan(model: SemiSupervisedGAN, x_unlabeled, *, epochs: int, batch_size: int = 100,
                steps_per_epoch: int | None = None, validation=None, checkpoint_dir=None,
                resume: bool = False, progress=True, seed: int = 0, meta=None,
                extra_callbacks=()):
    """Train through the shared loop (:func:`augkit.loop.fit`); returns its ``Run``.

    An epoch is one pass of D and one of G over the unlabeled images: each step takes
    2 x ``batch_size`` of them (half for D, half for G's feature matching) and a labeled
    batch of ``batch_size``. ``validation=(x, y)`` logs ``val_accuracy`` (D) and
    ``val_ema_accuracy`` (its weight average) after every epoch.
    """
    from augkit import loop

    steps = steps_per_epoch or max(1, len(x_unlabeled) // batch_size)
    return loop.fit(model, x_unlabeled, None, scale="unit", epochs=epochs,
                    batch_size=2 * batch_size, steps_per_epoch=steps, validation=validation,
                    checkpoint_dir=checkpoint_dir, resume=resume, progress=progress, seed=seed,
                    meta=meta, extra_callbacks=extra_callbacks)


# --------------------------------------------------------------------------- family hooks
# How augkit.families trains, saves, loads and samples a semi-supervised GAN.

def fit(job):
    """``labels_per_class`` labeled images drawn by the seed from ``job.x``, every image of
    ``job.x`` unlabeled. The curve is measured on the last test images after every epoch
    (reported only: nothing is chosen on it); the accuracy is the final weight average's
    on the whole test set."""
    from augkit import budgets, train
    from augkit.families import Fitted

    o = job.options
    xl, yl = data.labeled_subset(job.x, job.y, o["labels_per_class"], job.seed)
    model = build_ssgan(job.dataset, xl, yl, job.x, latent_dim=o["latent_dim"], seed=job.seed)
    x_curve, y_curve, where = train.curve_images(job)
    sizes = train.schedule(job)
    run = train_ssgan(model, job.x, epochs=sizes["epochs"], batch_size=job.batch_size,
                      steps_per_epoch=sizes["steps_per_epoch"], validation=(x_curve, y_curve),
                      checkpoint_dir=job.checkpoint_dir, resume=job.resume, meta=job.meta,
                      progress=job.progress, seed=job.seed)
    train.check_guard(run)
    xt, yt = job.x_test, job.y_test
    measured = {"test_accuracy": round(model.accuracy(xt, yt), 4),
                "test_accuracy_no_average": round(model.accuracy(xt, yt, average=False), 4)}
    if job.measure:
        measured.update(train.evaluate_generator(model, job.dataset, xt, seed=job.seed,
                                                 n=budgets.measure_images(job.quick)))
    return Fitted(model, run.seconds, measured, run.record(),
                  {"final_logs": train.final_logs(run), "labeled_images": len(xl),
                   "curve_images": where})


def save(model: SemiSupervisedGAN, path) -> None:
    from augkit import files

    with files.atomic_path(path, suffix=".weights.h5") as tmp:
        model.save_networks(tmp)


def load(entry: dict, path) -> SemiSupervisedGAN:
    model = build_ssgan(entry["dataset"], latent_dim=entry.get("latent_dim", 100))
    model.load_networks(path)
    return model


def images_from_noise(model: SemiSupervisedGAN, z, labels) -> np.ndarray:
    """uint8 images for uniform noise ``z`` exactly as :meth:`SemiSupervisedGAN.sample`."""
    return data.from_unit(model.generator(np.asarray(z, np.float32), training=False))


def noise(model: SemiSupervisedGAN, rng, n: int) -> np.ndarray:
    """G's input: uniform noise, as the authors draw it."""
    return rng.uniform(size=(n, model.latent_dim))

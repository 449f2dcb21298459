"""The semi-supervised VAE of Kingma et al. 2014: M2 on the features of an unsupervised VAE (M1).

**M1** is an ordinary VAE (:mod:`augkit.vae`) trained on every image without labels; each
image becomes its posterior :math:`q(z_1 \\mid x) = \\mathcal N(\\mu(x), \\sigma^2(x))`.
**M2** is a generative model of :math:`z_1` in which the class is a second latent variable:

.. math::
    p(y) = \\mathrm{Cat}(1/K), \\quad p(z_2) = \\mathcal N(0, I), \\quad
    p(z_1 \\mid y, z_2) = \\mathcal N\\big(m(y, z_2), \\operatorname{diag} s^2(y, z_2)\\big),

with the encoder :math:`q(z_2 \\mid z_1, y)` and the classifier :math:`q(y \\mid z_1)`.
Per step, on a labeled batch and an unlabeled batch (batch means):

.. math::
    J = \\mathbb E_{\\text{lab}}\\big[\\mathcal L(z_1, y) - \\alpha \\log q(y \\mid z_1)\\big]
        + \\mathbb E_{\\text{unl}}\\big[\\mathcal U(z_1)\\big]

(:func:`augkit.semi_losses.m2_labeled_loss`, ``m2_unlabeled_loss``,
``m2_classification_loss``). In :math:`\\mathcal U` the unknown label is summed out under
the classifier, so the classifier learns from unlabeled images: a class guess that
explains :math:`z_1` well costs less. Every step draws a fresh :math:`z_1 \\sim q(z_1 \\mid x)`
for every image, as the authors did; the noise keeps the classifier from memorising 100
points. Introduced in ``notebooks/09_semi_supervised.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from augkit import losses, nets


def _mlp(hidden: int, out: int, name: str, layers: int = 1) -> keras.Sequential:
    return keras.Sequential([*(keras.layers.Dense(hidden, activation="softplus")
                               for _ in range(layers)), keras.layers.Dense(out)], name=name)


class M2(keras.Model):
    """``fit`` on rows ``[mu, log_var]`` of M1's posterior for unlabeled images; the labeled
    rows live in the model and a batch of the same size is drawn from them every step."""

    conditional = False
    classifies = True  # the training loop passes validation labels to test_step

    def __init__(self, feature_dim: int, num_classes: int, rows_labeled, y_labeled, *,
                 latent_dim: int = 50, hidden: int = 500, alpha: float = 10.0, seed: int = 0,
                 **kwargs):
        super().__init__(**kwargs)
        self.feature_dim, self.num_classes, self.latent_dim = feature_dim, num_classes, latent_dim
        self.alpha = alpha
        self.classifier = _mlp(hidden, num_classes, "classifier", layers=2)
        self.encoder = _mlp(hidden, 2 * latent_dim, "encoder")
        self.decoder = _mlp(hidden, 2 * feature_dim, "decoder")
        self.rows_labeled = tf.constant(np.asarray(rows_labeled, np.float32))
        self.y_labeled = tf.constant(np.asarray(y_labeled).reshape(-1).astype(np.int32))
        self.n_labeled = len(self.y_labeled)
        self.seed_generator = keras.random.SeedGenerator(seed)
        names = ("loss", "labeled", "unlabeled", "classification", "label_acc")
        self.trackers = {n: keras.metrics.Mean(name=n) for n in names}
        self.acc_tracker = keras.metrics.Mean(name="accuracy")

    @property
    def metrics(self):
        return [*self.trackers.values(), self.acc_tracker]

    def build(self, input_shape=None):
        k = self.num_classes
        self.classifier.build((None, self.feature_dim))
        self.encoder.build((None, self.feature_dim + k))
        self.decoder.build((None, self.latent_dim + k))
        self.built = True

    def _draw(self, rows):
        """z1 ~ q(z1 | x) from rows [mu, log_var]."""
        mu, log_var = tf.split(rows, 2, axis=-1)
        return losses.reparameterize(mu, log_var, seed=self.seed_generator)

    def class_loss(self, z1, onehot, training=False, eps=None):
        r""":math:`\mathcal L(z_1, y)` per example for one sample of :math:`z_2` (noise ``eps``
        if given), shape (batch,)."""
        h = self.encoder(tf.concat([z1, onehot], -1), training=training)
        mu, log_var = tf.split(h, 2, axis=-1)
        z2 = losses.reparameterize(mu, log_var, eps=eps, seed=self.seed_generator)
        mean, out_log_var = tf.split(self.decoder(tf.concat([z2, onehot], -1),
                                                  training=training), 2, axis=-1)
        # Bounded variance: an unbounded learned variance lets the density of one
        # feature grow without limit and swamp the class term.
        sigma = tf.exp(0.5 * tf.clip_by_value(out_log_var, -6.0, 4.0))
        nll = losses.gaussian_reconstruction(z1, mean, sigma)
        return losses.m2_labeled_loss(nll, losses.gaussian_kl(mu, log_var), self.num_classes)

    def per_class_loss(self, z1, training=False, eps=None):
        """:math:`\\mathcal L(z_1, y)` for every class y in turn, shape (batch, K) (``eps``:
        the z2 noise, shape (batch x K, latent_dim), image-major)."""
        k, batch = self.num_classes, tf.shape(z1)[0]
        tiled = tf.repeat(z1, k, axis=0)
        onehot = tf.tile(tf.eye(k), [batch, 1])
        return tf.reshape(self.class_loss(tiled, onehot, training, eps=eps), [batch, k])

    def objective(self, z_lab, y_lab, z_unl, training=False):
        labeled = self.class_loss(z_lab, tf.one_hot(y_lab, self.num_classes), training)
        logits_lab = self.classifier(z_lab, training=training)
        classification = losses.m2_classification_loss(logits_lab, y_lab, self.alpha)
        unlabeled = losses.m2_unlabeled_loss(self.per_class_loss(z_unl, training),
                                             self.classifier(z_unl, training=training))
        parts = {"labeled": tf.reduce_mean(labeled), "unlabeled": tf.reduce_mean(unlabeled),
                 "classification": tf.reduce_mean(classification)}
        return parts["labeled"] + parts["unlabeled"] + parts["classification"], parts, logits_lab

    def train_step(self, batch):
        rows = batch[0] if isinstance(batch, tuple) else batch
        idx = keras.random.randint((tf.shape(rows)[0],), 0, self.n_labeled,
                                   seed=self.seed_generator)
        y_lab = tf.gather(self.y_labeled, idx)
        z_lab, z_unl = self._draw(tf.gather(self.rows_labeled, idx)), self._draw(rows)
        with tf.GradientTape() as tape:
            loss, parts, logits = self.objective(z_lab, y_lab, z_unl, training=True)
        self.optimizer.apply_gradients(zip(tape.gradient(loss, self.trainable_weights),
                                           self.trainable_weights, strict=True))
        self.trackers["loss"].update_state(loss)
        for name, value in parts.items():
            self.trackers[name].update_state(value)
        hit = tf.equal(tf.argmax(logits, -1, output_type=tf.int32), y_lab)
        self.trackers["label_acc"].update_state(tf.reduce_mean(tf.cast(hit, tf.float32)))
        return {name: m.result() for name, m in self.trackers.items()}

    def test_step(self, batch):
        rows, labels = batch
        mu, _ = tf.split(rows, 2, axis=-1)
        pred = tf.argmax(self.classifier(mu), -1, output_type=tf.int32)
        labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
        self.acc_tracker.update_state(tf.reduce_mean(tf.cast(tf.equal(pred, labels), tf.float32)),
                                      sample_weight=tf.cast(tf.shape(labels)[0], tf.float32))
        return {"accuracy": self.acc_tracker.result()}

    def call(self, rows, training=False):
        mu, _ = tf.split(rows, 2, axis=-1)
        return self.classifier(mu, training=training)

    def predict_classes(self, rows, batch_size: int = 2000) -> np.ndarray:
        """Classes for M1 rows ``[mu, log_var]`` (the classifier reads the posterior mean)."""
        rows = np.asarray(rows, np.float32)
        out = [np.argmax(np.asarray(self(rows[i:i + batch_size])), -1)
               for i in range(0, len(rows), batch_size)]
        return np.concatenate(out) if out else np.zeros(0, int)


def build_m1(image_shape=(28, 28, 1), latent_dim: int = 50, hidden: int = 600, *,
             seed: int = 0, lr: float = 1e-3):
    """M1 as Kingma et al. ran it on MNIST: a VAE with two dense softplus layers of 600 units
    each way and a 50-D latent, Bernoulli pixels (an :class:`augkit.vae.VAE`, compiled).

    Dense rather than the kit's convolutional VAE (notebook 05): M2 needs a code in which
    the classes are easy to separate, and a wide code of a dense VAE, trained on every
    unlabeled image, gives that at a few seconds per epoch on a CPU."""
    from augkit import vae

    keras.utils.set_random_seed(seed)
    size = int(np.prod(image_shape))
    img = keras.Input(tuple(image_shape), name="image")
    h = keras.layers.Flatten()(img)
    for _ in range(2):
        h = keras.layers.Dense(hidden, activation="softplus")(h)
    mu = keras.layers.Dense(latent_dim, name="mu")(h)
    # Zero-initialised: training starts at the prior's scale, as in augkit.nets.
    log_var = keras.layers.Dense(latent_dim, kernel_initializer="zeros", name="log_var")(h)
    encoder = keras.Model(img, [mu, log_var], name="encoder")
    z = keras.Input((latent_dim,), name="z")
    h = z
    for _ in range(2):
        h = keras.layers.Dense(hidden, activation="softplus")(h)
    logits = keras.layers.Reshape(tuple(image_shape))(keras.layers.Dense(size)(h))
    decoder = keras.Model(z, logits, name="decoder")
    model = vae.VAE(encoder, decoder, latent_dim, likelihood="bernoulli", num_classes=10,
                    seed=seed)
    model.compile(keras.optimizers.Adam(lr))
    model.optimizer.build(model.trainable_weights)
    return model


def m1_rows(vae_model, images) -> np.ndarray:
    """M1's posterior for uint8 ``images`` as rows ``[mu, log_var]`` (what M2 trains on)."""
    mu, log_var = vae_model.encode(images)
    return np.concatenate([mu, log_var], axis=1).astype(np.float32)


def build_m2(rows_labeled, y_labeled, num_classes: int, *, latent_dim: int = 50,
             hidden: int = 500, alpha: float = 10.0, lr: float = 3e-4, seed: int = 0) -> M2:
    """A compiled M2 for M1 rows of width 2 x feature_dim."""
    keras.utils.set_random_seed(seed)
    rows_labeled = np.asarray(rows_labeled, np.float32)
    model = M2(rows_labeled.shape[1] // 2, num_classes, rows_labeled, y_labeled,
               latent_dim=latent_dim, hidden=hidden, alpha=alpha, seed=seed)
    model.build()
    model.compile(keras.optimizers.Adam(lr))
    model.optimizer.build(model.trainable_weights)
    return model


def train_m2(model: M2, rows_unlabeled, *, epochs: int, batch_size: int = 100,
             validation=None, seed: int = 0, progress=True, checkpoint_dir=None,
             resume: bool = False, meta=None, extra_callbacks=(), steps_per_epoch=None):
    """Train through the shared loop on unlabeled M1 rows; ``validation=(rows, y)`` logs
    ``val_accuracy``. Returns the loop's ``Run``."""
    from augkit import loop

    return loop.fit(model, np.asarray(rows_unlabeled, np.float32), None, scale=None,
                    epochs=epochs, batch_size=batch_size, validation=validation, seed=seed,
                    progress=progress, sample_every=False, checkpoint_dir=checkpoint_dir,
                    resume=resume, meta=meta, extra_callbacks=extra_callbacks,
                    steps_per_epoch=steps_per_epoch)


class SemiSupervisedVAE:
    """M1 and M2 as one model: uint8 images in, classes out (M2's classifier on M1's
    posterior means), and images out (M2 draws a code for a class, M1 decodes it).
    What ``augkit train ssvae`` ships; introduced in ``notebooks/09_semi_supervised.ipynb``."""

    conditional = True

    def __init__(self, m1, m2: M2):
        self.m1, self.m2 = m1, m2
        self.num_classes = m2.num_classes

    def _holder(self):
        # The keys in the file: keep them stable, or shipped files stop loading.
        return nets.Holder(m1_encoder=self.m1.encoder, m1_decoder=self.m1.decoder,
                           classifier=self.m2.classifier, encoder=self.m2.encoder,
                           decoder=self.m2.decoder)

    def save_networks(self, path) -> None:
        """Both models' networks in one ``.weights.h5`` (no optimizer state)."""
        self._holder().save_weights(path)

    def load_networks(self, path) -> None:
        """Load a file written by :meth:`save_networks`."""
        self._holder().load_weights(path)

    def predict_classes(self, images, batch_size: int = 2000) -> np.ndarray:
        return self.m2.predict_classes(m1_rows(self.m1, images), batch_size)

    def accuracy(self, images, labels) -> float:
        return float(np.mean(self.predict_classes(images) == np.asarray(labels).reshape(-1)))

    def generative_posterior(self, images, draws: int = 4, batch_size: int = 1000) -> np.ndarray:
        r"""The class probabilities of M2's *generative* model for each image,
        :math:`p(y \mid z_1) \propto \exp(-\mathcal L(z_1, y))` at M1's posterior mean
        (:math:`\mathcal L` averaged over ``draws`` samples of :math:`z_2`), shape (N, K).
        The unlabeled term pulls the classifier toward exactly these (section 4 of notebook
        09): they bound what the unlabeled images can teach it."""
        mu = np.split(m1_rows(self.m1, images), 2, axis=1)[0]
        out = []
        for i in range(0, len(mu), batch_size):
            z1 = tf.constant(mu[i:i + batch_size])
            loss = np.mean([self.m2.per_class_loss(z1).numpy() for _ in range(draws)], axis=0)
            e = np.exp(-(loss - loss.min(axis=1, keepdims=True)))
            out.append(e / e.sum(axis=1, keepdims=True))
        return np.concatenate(out) if out else np.zeros((0, self.num_classes))

    def sample(self, n: int, labels=None, seed: int | None = None):
        r"""``(images, labels)``: for each label (0, 1, ..., K-1 in turn unless given),
        :math:`z_2 \sim \mathcal N(0, I)`, :math:`z_1` = the mean of
        :math:`p(z_1 \mid y, z_2)`, the image = M1's pixel means for :math:`z_1`, as uint8."""
        if int(n) != n or n <= 0:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        labels = (np.arange(int(n)) % self.num_classes if labels is None
                  else np.asarray(labels).reshape(-1).astype(int))
        z2 = noise(self, np.random.default_rng(seed), len(labels))
        return images_from_noise(self, z2, labels), labels


def build_ssvae(image_shape, num_classes: int, rows_labeled=None,
                y_labeled=None, *, m1_latent: int = 50, latent_dim: int = 50,
                alpha: float = 10.0, seed: int = 0) -> SemiSupervisedVAE:
    """M1 (:func:`build_m1`) and M2 (:func:`build_m2`) for loading or training; without
    labeled rows M2 can classify and sample but not train."""
    m1 = build_m1(image_shape, m1_latent, seed=seed)
    if rows_labeled is None:
        rows_labeled, y_labeled = np.zeros((0, 2 * m1_latent), np.float32), np.zeros(0, int)
    m2 = build_m2(rows_labeled, y_labeled, num_classes, latent_dim=latent_dim, alpha=alpha,
                  seed=seed)
    return SemiSupervisedVAE(m1, m2)


# --------------------------------------------------------------------------- family hooks
# How augkit.families trains, saves, loads and samples a semi-supervised VAE. It trains in
# two stages, each checkpointed in its own folder (``m1/`` and ``m2/``).

def _stage_dirs(checkpoint_dir) -> tuple:
    if checkpoint_dir is None:
        return None, None
    return Path(checkpoint_dir) / "m1", Path(checkpoint_dir) / "m2"


def _has_checkpoint(folder) -> bool:
    from augkit import checkpoints

    return folder is not None and folder.is_dir() and checkpoints.latest(folder) is not None


def check_start(checkpoint_dir, resume: bool, meta: dict) -> None:
    """:func:`augkit.checkpoints.check_start` for both stages: a resume needs a checkpoint of
    at least the first, a fresh start must not overwrite either."""
    from augkit import checkpoints

    stages = _stage_dirs(checkpoint_dir)
    if resume and not any(_has_checkpoint(d) for d in stages):
        checkpoints.check_start(checkpoint_dir, True, meta)  # raises the usual message
    for folder, stage in zip(stages, ("m1", "m2"), strict=True):
        if folder is not None:
            checkpoints.check_start(folder, resume and _has_checkpoint(folder),
                                    {**meta, "stage": stage})


def fit(job):
    """M1 on every image of ``job.x`` (no labels), then M2 on M1's posteriors with
    ``labels_per_class`` labels drawn by the seed. The curve (M2's accuracy on the last test
    images after every epoch) is reported only; nothing is chosen on it."""
    from augkit import budgets, data, datasets, loop, train
    from augkit.families import Fitted

    o, quick = job.options, job.quick
    m1_dir, m2_dir = _stage_dirs(job.checkpoint_dir)
    idx = data.stratified_indices(job.y, o["labels_per_class"], job.seed)
    spec = datasets.get(job.dataset)
    model = build_ssvae(spec.image_shape, spec.num_classes, m1_latent=50,
                        latent_dim=o["latent_dim"], alpha=o["alpha"], seed=job.seed)
    m1_epochs = budgets.QUICK_TRAINING.epochs if quick else o["m1_epochs"]
    sizes = train.schedule(job)
    run1 = loop.fit(model.m1, job.x, None, scale="unit", epochs=m1_epochs,
                    batch_size=job.batch_size, steps_per_epoch=sizes["steps_per_epoch"],
                    checkpoint_dir=m1_dir, resume=job.resume and _has_checkpoint(m1_dir),
                    meta={**job.meta, "stage": "m1"}, progress=job.progress,
                    sample_every=False, seed=job.seed)
    train.check_guard(run1)
    rows = m1_rows(model.m1, job.x)
    model.m2 = build_m2(rows[idx], job.y[idx], model.num_classes, latent_dim=o["latent_dim"],
                        alpha=o["alpha"], seed=job.seed)
    x_curve, y_curve, where = train.curve_images(job)
    run2 = train_m2(model.m2, rows, epochs=sizes["epochs"], batch_size=job.batch_size,
                    steps_per_epoch=sizes["steps_per_epoch"],
                    validation=(m1_rows(model.m1, x_curve), y_curve), seed=job.seed,
                    progress=job.progress, checkpoint_dir=m2_dir,
                    resume=job.resume and _has_checkpoint(m2_dir),
                    meta={**job.meta, "stage": "m2"})
    train.check_guard(run2)
    measured = {"test_accuracy": round(model.accuracy(job.x_test, job.y_test), 4),
                "m1_seconds": round(run1.seconds, 1)}
    if job.measure:
        measured.update(train.evaluate_generator(model, job.dataset, job.x_test, seed=job.seed,
                                                 n=budgets.measure_images(quick)))
    return Fitted(model, run1.seconds + run2.seconds, measured, run2.record(),
                  {"final_logs": train.final_logs(run2), "labeled_images": len(idx),
                   "m1_epochs": m1_epochs, "curve_images": where})


def save(model: SemiSupervisedVAE, path) -> None:
    from augkit import files

    with files.atomic_path(path, suffix=".weights.h5") as tmp:
        model.save_networks(tmp)


def load(entry: dict, path) -> SemiSupervisedVAE:
    from augkit import datasets

    spec = datasets.get(entry["dataset"])
    model = build_ssvae(spec.image_shape, spec.num_classes, latent_dim=entry["latent_dim"])
    model.load_networks(path)
    return model


def noise(model: SemiSupervisedVAE, rng, n: int) -> np.ndarray:
    """M2's prior draws :math:`z_2 \\sim \\mathcal N(0, I)`."""
    return rng.standard_normal((n, model.m2.latent_dim))


def images_from_noise(model: SemiSupervisedVAE, z2, labels) -> np.ndarray:
    """uint8 images for codes ``z2`` and labels: M2 decodes the mean of
    :math:`p(z_1 \\mid y, z_2)`, M1 decodes its pixel means."""
    onehot = np.eye(model.num_classes, dtype=np.float32)[np.asarray(labels, int)]
    out = np.asarray(model.m2.decoder(np.concatenate([np.asarray(z2, np.float32), onehot], 1)))
    images = model.m1.decode(out[:, :model.m2.feature_dim])
    return np.clip(np.round(images * 255), 0, 255).astype(np.uint8)

"""A tiny GAN on a 2-D mixture of Gaussians, small enough to train live on a CPU.

The model is the pattern every GAN in the kit follows: a ``keras.Model`` subclass whose
``train_step`` opens one ``tf.GradientTape`` for the discriminator and one for the
generator, and applies each optimizer to its own network's ``trainable_weights`` only.
(The older recipe, ``D.trainable = False`` and a combined model, silently stops training
D under Keras 3: ``trainable`` is read once, when the step is first traced.) The losses
come from :mod:`augkit.losses` by name, so the same model compares the minimax,
non-saturating, least-squares, hinge and WGAN-GP objectives.

The data is the classic ring of eight Gaussians: easy to plot, and a GAN that covers only
some of the modes (mode collapse) is visible at a glance. Introduced in
``notebooks/01_gan_objective.ipynb``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from augkit import losses

# --------------------------------------------------------------------------- data

def ring_centers(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """The ``(n_modes, 2)`` centres of a ring of Gaussians."""
    angles = 2.0 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def ring_data(n: int, *, n_modes: int = 8, radius: float = 2.0, std: float = 0.1,
              seed: int = 0) -> np.ndarray:
    """``n`` float32 points from an equal-weight ring of ``n_modes`` Gaussians."""
    rng = np.random.default_rng(seed)
    centers = ring_centers(n_modes, radius)
    points = centers[rng.integers(n_modes, size=n)] + std * rng.standard_normal((n, 2))
    return points.astype(np.float32)


def mode_coverage(samples, centers, std: float = 0.1, *, threshold: float = 3.0,
                  min_fraction: float = 0.25) -> dict:
    """How many modes the samples cover, the usual 2-D mode-collapse measure.

    A sample belongs to the nearest centre if it lies within ``threshold * std`` of it
    ("high quality"); a mode counts as covered if it received at least ``min_fraction``
    of the samples it would get under the data distribution (1 / n_modes of them).
    Returns ``covered`` (int), ``counts`` per mode and ``high_quality`` (fraction).
    """
    samples = np.asarray(samples, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    dist = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    nearest = dist.argmin(axis=1)
    close = dist.min(axis=1) <= threshold * std
    counts = np.bincount(nearest[close], minlength=len(centers))
    expected = len(samples) / len(centers)
    return {"covered": int(np.sum(counts >= min_fraction * expected)), "counts": counts,
            "high_quality": float(close.mean())}


# --------------------------------------------------------------------------- model

def _mlp(input_dim: int, output_dim: int, hidden: int, depth: int, name: str) -> keras.Model:
    layers = [keras.Input((input_dim,))]
    for _ in range(depth):
        layers.append(keras.layers.Dense(hidden, activation="relu"))
    layers.append(keras.layers.Dense(output_dim))
    return keras.Sequential(layers, name=name)


class ToyGAN(keras.Model):
    """A 2-D GAN: MLP generator (noise -> point) and MLP discriminator (point -> logit).

    ``compile(d_optimizer, g_optimizer, loss)`` picks the loss pair from
    :data:`augkit.losses.GAN_LOSSES`; for ``"wgan_gp"`` the gradient penalty is added to
    the critic's loss inside its tape. ``fit`` works (one D step and one G step per
    batch); :func:`train` drives it step by step and records snapshots.
    """

    def __init__(self, latent_dim: int = 2, data_dim: int = 2, hidden: int = 64,
                 depth: int = 2, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim
        self.generator = _mlp(latent_dim, data_dim, hidden, depth, "generator")
        self.discriminator = _mlp(data_dim, 1, hidden, depth, "discriminator")
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer=None, g_optimizer=None, loss: str = "non_saturating",
                gp_weight: float = 10.0, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(1e-3, beta_1=0.5)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(1e-3, beta_1=0.5)
        self.loss_name = loss
        self.d_loss_fn, self.g_loss_fn = losses.get_gan_loss(loss)
        self.gp_weight = gp_weight
        self.uses_gradient_penalty = loss in losses.GRADIENT_PENALTY_LOSSES
        # Building the optimizers now means their slots exist before the first traced step.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        # Listed here so that Keras resets them at the start of every epoch.
        return [self.d_loss_tracker, self.g_loss_tracker]

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` generated points for fixed noise (``seed``), as numpy."""
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")
        return keras.ops.convert_to_numpy(self.generator(z, training=False))

    def train_step(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        batch = tf.shape(real)[0]

        # Discriminator (critic) step: only D's weights are updated.
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = self.d_loss_fn(real_logits, fake_logits)
            if self.uses_gradient_penalty:
                d_loss += losses.gradient_penalty(self.discriminator, real, fake,
                                                  weight=self.gp_weight,
                                                  seed=self.seed_generator)
        d_weights = self.discriminator.trainable_weights
        d_grads = tape.gradient(d_loss, d_weights)
        self.d_optimizer.apply_gradients(zip(d_grads, d_weights, strict=True))

        # Generator step with fresh noise: only G's weights are updated.
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = self.g_loss_fn(fake_logits)
        g_weights = self.generator.trainable_weights
        g_grads = tape.gradient(g_loss, g_weights)
        self.g_optimizer.apply_gradients(zip(g_grads, g_weights, strict=True))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}


# --------------------------------------------------------------------------- training helper

@dataclass
class History:
    """What :func:`train` records: per-step losses and generator snapshots."""

    loss: str
    d_loss: np.ndarray
    g_loss: np.ndarray
    snapshot_steps: list[int] = field(default_factory=list)
    snapshots: list[np.ndarray] = field(default_factory=list)
    seconds: float = 0.0


def build(loss: str = "non_saturating", *, lr: float = 1e-3,
          d_lr: float | None = None, seed: int = 0, **model_kwargs) -> ToyGAN:
    """A compiled :class:`ToyGAN` with Adam(beta_1=0.5) for both networks.

    ``lr`` is the generator's, and the discriminator's unless
    ``d_lr`` is given. ``model_kwargs`` go to :class:`ToyGAN`.
    """
    keras.utils.set_random_seed(seed)
    gan = ToyGAN(seed=seed, **model_kwargs)
    d_lr = lr if d_lr is None else d_lr
    gan.compile(keras.optimizers.Adam(d_lr, beta_1=0.5),
                keras.optimizers.Adam(lr, beta_1=0.5), loss=loss)
    return gan


def train(gan: ToyGAN, data: np.ndarray, steps: int, *, batch_size: int = 256,
          n_snapshots: int = 6, n_samples: int = 1000, seed: int = 0) -> History:
    """Train ``gan`` for ``steps`` steps on ``data``; return losses and snapshots.

    One step = one discriminator update and one generator update on a batch drawn
    (with replacement) from ``data``. The loss of every step is recorded; snapshots of
    ``n_samples`` generated points (always from the same noise) are taken at
    ``n_snapshots`` evenly spaced steps, the first one before any training.
    """
    step_fn = tf.function(gan.train_step)
    rng = np.random.default_rng(seed)
    data = np.asarray(data, dtype=np.float32)
    take = set(np.linspace(0, steps, n_snapshots).round().astype(int).tolist())
    history = History(gan.loss_name, np.zeros(steps), np.zeros(steps))
    start = time.perf_counter()
    for step in range(steps + 1):
        if step in take:
            history.snapshot_steps.append(step)
            history.snapshots.append(gan.sample(n_samples, seed=seed))
        if step == steps:
            break
        for metric in gan.metrics:  # so that result() is this step's loss, not a running mean
            metric.reset_state()
        batch = data[rng.integers(len(data), size=batch_size)]
        out = step_fn(tf.constant(batch))
        history.d_loss[step] = float(out["d_loss"])
        history.g_loss[step] = float(out["g_loss"])
    history.seconds = time.perf_counter() - start
    return history


def plot_history(history: History, data: np.ndarray | None = None, centers=None,
                 *, max_points: int = 1000):
    """Figure: the two losses against steps (top) and the snapshots (bottom row)."""
    import matplotlib.pyplot as plt

    n = len(history.snapshots)
    fig = plt.figure(figsize=(2.4 * n, 5.4), layout="constrained")
    sub = fig.subfigures(2, 1, height_ratios=[1.0, 1.1])
    ax = sub[0].subplots()
    steps = np.arange(1, len(history.d_loss) + 1)
    ax.plot(steps, history.d_loss, lw=0.8, label="discriminator loss")
    ax.plot(steps, history.g_loss, lw=0.8, label="generator loss")
    # Where the cross-entropy losses sit at the equilibrium D = 1/2 (notebook 01, section 3):
    # the discriminator's -V = log 4; the generator's -log(1/2) = log 2 (non-saturating) or
    # log(1 - 1/2) = -log 2 (minimax). Other losses have other equilibrium values.
    g_eq = {"non_saturating": (np.log(2.0), "log 2"), "minimax": (-np.log(2.0), "-log 2")}
    if history.loss in g_eq:
        ax.axhline(np.log(4.0), color="C0", ls=":", lw=1, label="D at equilibrium: log 4")
        ax.axhline(g_eq[history.loss][0], color="C1", ls=":", lw=1,
                   label=f"G at equilibrium: {g_eq[history.loss][1]}")
    ax.set_xlabel("step")
    ax.set_title(f"losses ({history.loss})")
    ax.legend(loc="upper right")
    axes = np.atleast_1d(sub[1].subplots(1, n, sharex=True, sharey=True))
    for axi, step, points in zip(axes, history.snapshot_steps, history.snapshots, strict=True):
        if data is not None:
            axi.scatter(*data[:max_points].T, s=2, c="0.75")
        axi.scatter(*points[:max_points].T, s=2, c="C3")
        if centers is not None:
            axi.scatter(*np.asarray(centers).T, marker="x", c="k", s=20)
        axi.set_title(f"step {step}")
        axi.set_aspect("equal")
        axi.set_xlim(-3.5, 3.5)
        axi.set_ylim(-3.5, 3.5)
    return fig

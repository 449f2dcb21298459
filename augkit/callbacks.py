"""Training callbacks shared by the GANs and VAEs.

* :class:`SampleRecorder`: a fixed-noise sample grid after every epoch (for playback),
* :class:`StepHistory`: the logged metrics every few steps (finer than Keras' History),
* :class:`DivergenceGuard`: stops on a non-finite loss or a collapsed discriminator and
  restores the last good weights, with a message that says what happened,
* :class:`Checkpointer`: weights, optimizer state and epoch after every epoch, for resume,
* :class:`ProgressBar`: one tqdm bar over epochs with the latest losses.

Introduced in ``notebooks/04_gan_mnist.ipynb``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import keras
import numpy as np


class SampleRecorder(keras.callbacks.Callback):
    """Sample the same noise (and labels) after every epoch: ``frames[i]`` is epoch i+1."""

    def __init__(self, n: int = 40, seed: int = 1234):
        super().__init__()
        self.n, self.seed = n, seed
        self.frames: list[np.ndarray] = []
        self.labels = None

    def on_train_begin(self, logs=None):
        if not self.frames and getattr(self.model, "conditional", False):
            self.labels = np.arange(self.n) % self.model.num_classes

    def on_epoch_end(self, epoch, logs=None):
        out = self.model.sample(self.n, labels=self.labels, seed=self.seed)
        self.frames.append(out[0] if isinstance(out, tuple) else out)


class StepHistory(keras.callbacks.Callback):
    """Record the running metrics every ``every`` training steps across epochs."""

    def __init__(self, every: int = 10):
        super().__init__()
        self.every, self.step = every, 0
        self.steps: list[int] = []
        self.logs: dict[str, list[float]] = {}

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0 and logs:
            self.steps.append(self.step)
            for k, v in logs.items():
                self.logs.setdefault(k, []).append(float(v))


class DivergenceGuard(keras.callbacks.Callback):
    """Stop training when it has diverged, and put back the last good weights.

    Fires when any logged metric is NaN/inf, or when the discriminator has *won*:
    mean D(x) - mean D(G(z)) above ``collapse_gap`` for ``patience`` consecutive steps.
    Then D's gradient to G vanishes (notebook 01) and training cannot recover. Good
    weights are snapshotted at the start and after every healthy epoch.
    """

    def __init__(self, patience: int = 200, collapse_gap: float = 0.98, verbose: bool = True):
        super().__init__()
        self.patience, self.collapse_gap, self.verbose = patience, collapse_gap, verbose
        self.message: str | None = None
        self._bad = 0
        self._good = None

    def _snapshot(self):
        self._good = [w.numpy().copy() for w in self.model.weights]

    def on_train_begin(self, logs=None):
        self._snapshot()

    def on_epoch_end(self, epoch, logs=None):
        if self.message is None:
            self._snapshot()

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        bad = [k for k, v in logs.items() if not math.isfinite(float(v))]
        if bad:
            return self._stop(f"non-finite {', '.join(bad)} at step {batch + 1} of this epoch")
        gap = float(logs.get("d_real", 0.5)) - float(logs.get("d_fake", 0.5))
        self._bad = self._bad + 1 if gap > self.collapse_gap else 0
        if self._bad >= self.patience:
            self._stop(f"the discriminator won for {self.patience} steps "
                       f"(D(x) - D(G(z)) = {gap:.3f}): the generator gets no gradient")

    def _stop(self, reason: str):
        for w, value in zip(self.model.weights, self._good, strict=True):
            w.assign(value)
        self.model.stop_training = True
        self.message = (f"Training stopped: {reason}. Restored the weights from the last healthy "
                        "epoch. Try a lower learning rate, the non-saturating loss, or a new seed.")
        if self.verbose:
            print(self.message)


class Checkpointer(keras.callbacks.Callback):
    """After every epoch write each network's ``.weights.h5``, ``optimizers.npz`` and ``state.json``.

    :func:`restore` loads all three, so an interrupted run resumes at the next epoch
    with the same weights *and* Adam moments.
    """

    def __init__(self, directory, meta: dict | None = None):
        super().__init__()
        self.dir = Path(directory)
        self.meta = meta or {}
        self.initial_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        self.dir.mkdir(parents=True, exist_ok=True)
        for name, net in _networks(self.model).items():
            net.save_weights(self.dir / f"{name}.weights.h5")
        np.savez(self.dir / "optimizers.npz", **_optimizer_arrays(self.model))
        state = {"epoch": epoch + 1, "logs": {k: float(v) for k, v in (logs or {}).items()},
                 **self.meta}
        (self.dir / "state.json").write_text(json.dumps(state, indent=1))


_NETWORK_NAMES = ("generator", "discriminator", "encoder", "decoder")


def _networks(model) -> dict:
    """The sub-networks a composite model trains (each saved on its own), or the model itself."""
    nets = {n: getattr(model, n) for n in _NETWORK_NAMES if getattr(model, n, None) is not None}
    return nets or {"model": model}


def _optimizers(model):
    return {name: getattr(model, name) for name in ("d_optimizer", "g_optimizer", "optimizer")
            if getattr(model, name, None) is not None}


def _optimizer_arrays(model) -> dict:
    arrays = {}
    for name, opt in _optimizers(model).items():
        for i, v in enumerate(opt.variables):
            arrays[f"{name}/{i}"] = np.asarray(v)
    return arrays


def restore(model, directory) -> int:
    """Load a :class:`Checkpointer` directory into a compiled model; return the epoch to resume at.

    Returns 0 when there is no checkpoint. Optimizer variables are created first by
    building each optimizer on its network's weights, then overwritten.
    """
    directory = Path(directory)
    if not (directory / "state.json").is_file():
        return 0
    for name, net in _networks(model).items():
        net.load_weights(directory / f"{name}.weights.h5")
    saved = np.load(directory / "optimizers.npz")
    nets = {"d_optimizer": "discriminator", "g_optimizer": "generator"}
    for name, opt in _optimizers(model).items():
        if not opt.built:
            net = getattr(model, nets.get(name, ""), model)
            opt.build(net.trainable_weights)
        for i, v in enumerate(opt.variables):
            key = f"{name}/{i}"
            if key in saved.files:
                v.assign(saved[key])
    return int(json.loads((directory / "state.json").read_text())["epoch"])


class ProgressBar(keras.callbacks.Callback):
    """One tqdm bar over epochs, showing the latest epoch's metrics."""

    def __init__(self, epochs: int, initial_epoch: int = 0, desc: str = "training"):
        super().__init__()
        self.epochs, self.initial_epoch, self.desc = epochs, initial_epoch, desc
        self.bar = None

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.epochs, initial=self.initial_epoch, desc=self.desc, unit="epoch")

    def on_epoch_end(self, epoch, logs=None):
        self.bar.set_postfix({k: f"{float(v):.3f}" for k, v in (logs or {}).items()})
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.bar.close()


def fit_generative(model, images, labels=None, *, epochs: int, batch_size: int = 64,
                   steps_per_epoch=None, checkpoint_dir=None, resume: bool = False,
                   progress: bool = True, sample_every: bool = True, seed: int = 0,
                   extra_callbacks=(), validation_data=None):
    """``model.fit`` on float ``images`` (already scaled for the model) with the standard callbacks.

    Shared by :func:`augkit.gan.train_gan` and :func:`augkit.vae.train_vae`. Returns
    ``(history, recorder, guard)``. Labels are fed only to conditional models.
    ``validation_data`` (images, labels) is evaluated after each epoch (``val_*`` logs).
    """
    import tensorflow as tf

    def dataset(x, y):
        return tf.data.Dataset.from_tensor_slices((x, np.asarray(y)) if model.conditional else x)

    # cache before shuffle, so each epoch is reshuffled; drop_remainder keeps one traced shape.
    ds = dataset(images, labels).cache().shuffle(len(images), seed=seed)
    ds = ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    val = None
    if validation_data is not None:
        val = dataset(*validation_data).batch(500)
    initial_epoch = restore(model, checkpoint_dir) if (resume and checkpoint_dir) else 0
    recorder, guard = SampleRecorder(), DivergenceGuard()
    cbs = [guard, *([recorder] if sample_every else []), *extra_callbacks]
    if checkpoint_dir:
        cbs.append(Checkpointer(checkpoint_dir))
    if progress:
        cbs.append(ProgressBar(epochs, initial_epoch, desc=model.name))
    history = model.fit(ds, epochs=epochs, initial_epoch=initial_epoch, shuffle=False,
                        steps_per_epoch=steps_per_epoch, callbacks=cbs, verbose=0,
                        validation_data=val)
    return history, recorder, guard

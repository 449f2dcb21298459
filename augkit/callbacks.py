"""Training callbacks shared by the GANs and VAEs.

* :class:`SampleRecorder`: a fixed-noise sample grid after every epoch (for playback),
* :class:`StepHistory`: the logged metrics every few steps (finer than Keras' History),
* :class:`EpochLog`: the per-epoch logs, continuous across a resume (Keras' History is not),
* :class:`DivergenceGuard`: stops on a non-finite loss or a collapsed discriminator and
  restores the last good state (weights, optimizer slots, random generators),
* :class:`Checkpointer`: a complete checkpoint after every healthy epoch
  (:mod:`augkit.checkpoints`), for resume,
* :class:`ProgressBar`: one tqdm bar over epochs with the latest losses.

Each recording callback can ``load`` a saved record and report ``record()``, so that a
resumed run's record continues the interrupted one. The loop that wires them together
is :func:`augkit.loop.fit`.

Introduced in ``notebooks/04_gan_mnist.ipynb``.
"""

from __future__ import annotations

import math
import time

import keras
import numpy as np

from augkit import checkpoints


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

    def load(self, record: dict) -> None:
        self.frames = list(record.get("frames", []))
        labels = record.get("frame_labels")
        self.labels = labels if labels is not None and len(labels) else None

    def record(self) -> dict:
        out = {"frame_labels": np.asarray(self.labels if self.labels is not None else [])}
        if self.frames:
            out["frames"] = np.stack(self.frames)
        return out


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

    def load(self, record: dict) -> None:
        self.steps = [int(v) for v in record.get("steps", [])]
        self.step = self.steps[-1] if self.steps else 0
        self.logs = {k[4:]: list(map(float, v)) for k, v in record.items() if k.startswith("log_")}

    def record(self) -> dict:
        return {"steps": np.asarray(self.steps), **{f"log_{k}": np.asarray(v)
                                                    for k, v in self.logs.items()}}


class EpochLog(keras.callbacks.Callback):
    """Per-epoch logs in ``history`` (like Keras' History), continuous across a resume."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch, logs=None):
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(float(v))

    def load(self, record: dict) -> None:
        self.history = {k[6:]: list(map(float, v)) for k, v in record.items()
                        if k.startswith("epoch_")}

    def record(self) -> dict:
        return {f"epoch_{k}": np.asarray(v) for k, v in self.history.items()}


class DivergenceGuard(keras.callbacks.Callback):
    """Stop training when it has diverged, and put back the last healthy state.

    Fires when any logged metric is NaN/inf, or when the discriminator has *won*:
    mean D(x) - mean D(G(z)) above ``collapse_gap`` for ``patience`` consecutive steps.
    Then D's gradient to G vanishes (notebook 01) and training cannot recover. The state
    is snapshotted at the start and after every healthy epoch: the weights, the
    optimizer's slots (Adam's moments hold the NaN too, and would re-poison restored
    weights at the next step) and the random generators. The :class:`Checkpointer` never
    writes an epoch on which the guard fired. ``collapse_gap=None`` keeps only the
    non-finite check: for a generator trained by feature matching (the semi-supervised
    GAN), whose gradient does not pass through D's verdict, a winning D is no dead end.
    """

    def __init__(self, patience: int = 200, collapse_gap: float | None = 0.98,
                 verbose: bool = True):
        super().__init__()
        self.patience, self.collapse_gap, self.verbose = patience, collapse_gap, verbose
        self.message: str | None = None
        self._bad = 0
        self._good = None

    def _variables(self):
        return [*self.model.weights, *checkpoints.optimizer_variables(self.model).values(),
                *checkpoints.seed_states(self.model)]

    def _snapshot(self):
        self._good = [np.asarray(v).copy() for v in self._variables()]

    def on_train_begin(self, logs=None):
        checkpoints.build_optimizers(self.model)
        self._snapshot()

    def on_epoch_end(self, epoch, logs=None):
        if self.message is None:
            self._snapshot()

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        bad = [k for k, v in logs.items() if not math.isfinite(float(v))]
        if bad:
            return self._stop(f"non-finite {', '.join(bad)} at step {batch + 1} of this epoch")
        if self.collapse_gap is None:
            return
        gap = float(logs.get("d_real", 0.5)) - float(logs.get("d_fake", 0.5))
        self._bad = self._bad + 1 if gap > self.collapse_gap else 0
        if self._bad >= self.patience:
            self._stop(f"the discriminator won for {self.patience} steps "
                       f"(D(x) - D(G(z)) = {gap:.3f}): the generator gets no gradient")

    def _stop(self, reason: str):
        for v, value in zip(self._variables(), self._good, strict=True):
            v.assign(value)
        self.model.stop_training = True
        self.message = (f"Training stopped: {reason}. Restored the weights and optimizer state "
                        "of the last healthy epoch. Try a lower learning rate, the "
                        "non-saturating loss, or a new seed.")
        if self.verbose:
            print(self.message)


class Checkpointer(keras.callbacks.Callback):
    """After every healthy epoch, a complete checkpoint (:func:`augkit.checkpoints.save`).

    ``recorders`` are the callbacks whose ``record()`` makes up the training record;
    ``seconds`` is the training time already spent before this run (a resumed run).
    """

    def __init__(self, directory, *, guard: DivergenceGuard, recorders=(), meta=None,
                 seconds: float = 0.0):
        super().__init__()
        self.dir, self.guard, self.recorders = directory, guard, recorders
        self.meta, self.seconds = meta or {}, seconds
        self._start = None

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.message is not None:
            return  # a diverged epoch is never a good checkpoint
        record = {}
        for cb in self.recorders:
            record.update(cb.record())
        checkpoints.save(self.model, self.dir, epoch=epoch + 1,
                         seconds=self.seconds + time.perf_counter() - self._start,
                         meta=self.meta, record=record)


class ProgressBar(keras.callbacks.Callback):
    """One tqdm bar over epochs, showing the latest epoch's metrics; with ``steps_per_epoch``
    it counts optimizer steps instead (a classifier's whole budget is one long epoch).
    ``leave=False`` clears the bar when training ends (the study's bar per run)."""

    def __init__(self, epochs: int, initial_epoch: int = 0, desc: str = "training",
                 steps_per_epoch: int | None = None, leave: bool = True):
        super().__init__()
        self.epochs, self.initial_epoch, self.desc = epochs, initial_epoch, desc
        self.steps, self.leave = steps_per_epoch, leave
        self.redraw_every = 10  # steps between two updates of a step-counting bar
        self.bar = None

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        scale = self.steps or 1
        self.bar = tqdm(total=self.epochs * scale, initial=self.initial_epoch * scale,
                        desc=self.desc, unit="step" if self.steps else "epoch", leave=self.leave)

    def on_train_batch_end(self, batch, logs=None):
        if self.steps and (batch + 1) % self.redraw_every == 0:  # a redraw per step costs time
            self.bar.update(self.redraw_every)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.set_postfix({k: f"{float(v):.3f}" for k, v in (logs or {}).items()})
        if self.steps:
            self.bar.update((epoch + 1) * self.steps - self.bar.n)
        else:
            self.bar.update(1)

    def on_train_end(self, logs=None):
        self.bar.close()

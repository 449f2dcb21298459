"""The one training loop of augkit: ``model.fit`` over :func:`augkit.data.make_dataset` with
the standard callbacks, checkpoints and resume.

GANs (:func:`augkit.gan.train_gan`), VAEs (:func:`augkit.vae.train_vae`) and the CLI's
``augkit train`` all come through :func:`fit`. A run resumed from a checkpoint continues
the same run: the weights, optimizer slots and random generators come back, the input
pipeline starts at the next epoch's permutation (it depends on ``(seed, epoch)`` only),
and the training record (sample frames, step and epoch logs, seconds) is continuous.
Introduced in ``notebooks/04_gan_mnist.ipynb``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from augkit import callbacks, checkpoints, data


@dataclass
class TrainingRecord:
    """What :func:`fit` returns: the record of one training run."""

    history: callbacks.EpochLog  # .history: {metric: [one value per epoch]}, resume included
    recorder: callbacks.SampleRecorder  # .frames: one fixed-noise sample grid per epoch
    guard: callbacks.DivergenceGuard  # .message says why training stopped early, if it did
    steps: callbacks.StepHistory  # logs every few steps
    seconds: float = 0.0  # training time, the interrupted part of a resumed run included

    def record(self) -> dict:
        """The arrays notebooks play back (``augkit/weights/NAME.history.npz`` holds these)."""
        return {**self.recorder.record(), **self.steps.record(), **self.history.record()}


def fit(model, x, y=None, *, scale: str, epochs: int, batch_size: int = 64,
        steps_per_epoch: int | None = None, checkpoint_dir=None, resume: bool = False,
        meta: dict | None = None, progress: bool = True, sample_every: bool = True,
        seed: int = 0, extra_callbacks=(), validation=None, step_every: int = 10,
        drop_remainder: bool = True, onehot: int | None = None, transform=None) -> TrainingRecord:
    """Train ``model`` on uint8 images ``x`` (and labels ``y``, fed to conditional models).

    ``scale`` is the model's pixel range (``"minus1_1"`` for tanh generators, ``"unit"``
    for VAEs). ``validation=(x_val, y_val)`` (uint8) adds ``val_*`` logs after each epoch.
    With ``checkpoint_dir`` every healthy epoch is saved; ``resume=True`` continues from
    the newest one (at the batch of the data stream it stopped at) and refuses a missing
    checkpoint or one whose ``meta`` (architecture)
    differs, before any step. Without ``steps_per_epoch`` an epoch is one pass over ``x``.
    ``progress`` is a bar over epochs, or over steps with ``progress="steps"``.
    ``onehot``, ``transform`` and ``drop_remainder`` go to :func:`augkit.data.make_dataset`
    (the classifier of :func:`augkit.classify.train_classifier` uses them).
    """
    # GANs and VAEs say whether they take labels; any other model (a classifier) does.
    conditional = getattr(model, "conditional", y is not None)
    labels = np.asarray(y) if conditional else None
    meta = meta or {}
    initial_epoch, seconds, record = 0, 0.0, {}
    checkpoints.check_start(checkpoint_dir, resume, meta)
    if resume:
        initial_epoch, seconds, record = checkpoints.restore(model, checkpoint_dir)
    per_epoch = len(x) // batch_size if drop_remainder else -(-len(x) // batch_size)
    if per_epoch == 0:
        raise ValueError(f"{len(x)} images make no full batch of {batch_size}")
    # An endless stream of per-epoch permutations, cut into epochs of `steps` batches: a
    # resumed run starts at the permutation the interrupted run would have used next.
    # Keras keeps one iterator across epochs: with "epochs" shorter (or longer) than a pass,
    # epoch e starts at batch e * steps of the stream, not at permutation e.
    steps = steps_per_epoch or per_epoch
    whole = steps == per_epoch
    ds = data.make_dataset(x, labels, batch_size=batch_size, seed=seed, scale=scale,
                           drop_remainder=drop_remainder, repeat=True,
                           first_epoch=initial_epoch if whole else 0,
                           first_batch=0 if whole else initial_epoch * steps,
                           onehot=onehot, transform=transform)
    val = None
    if validation is not None:
        # A model that classifies (the semi-supervised GAN) is validated on labels too.
        with_labels = conditional or getattr(model, "classifies", False)
        val = data.make_dataset(validation[0], validation[1] if with_labels else None,
                                batch_size=500, shuffle=False, scale=scale)
    # A model may say when its discriminator has "won" (None: never a dead end for it).
    guard = callbacks.DivergenceGuard(collapse_gap=getattr(model, "collapse_gap", 0.98))
    run = TrainingRecord(callbacks.EpochLog(), callbacks.SampleRecorder(), guard,
              callbacks.StepHistory(every=step_every))
    recorders = [run.recorder, run.steps, run.history]
    for cb in recorders:
        cb.load(record)
    cbs = [run.guard, run.steps, run.history, *([run.recorder] if sample_every else []),
           *extra_callbacks]
    if checkpoint_dir:
        Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
        cbs.append(callbacks.Checkpointer(checkpoint_dir, guard=run.guard, recorders=recorders,
                                          meta=meta, seconds=seconds))
    if progress:  # "steps": count optimizer steps, and clear the bar at the end
        per_step = progress == "steps"
        cbs.append(callbacks.ProgressBar(
            epochs, initial_epoch, desc=model.name, leave=not per_step,
            steps_per_epoch=(steps_per_epoch or per_epoch) if per_step else None))
    start = time.perf_counter()
    model.fit(ds, epochs=epochs, initial_epoch=initial_epoch, shuffle=False,
              steps_per_epoch=steps_per_epoch or per_epoch, callbacks=cbs, verbose=0,
              validation_data=val)
    run.seconds = seconds + time.perf_counter() - start
    return run

"""Checkpoints that survive a kill at any moment, and resume that continues the same run.

Layout of a checkpoint folder::

    latest.json          which epoch folder is complete (written last, atomically)
    epoch-0003/          one complete epoch: every network's .weights.h5, optimizers.npz,
                         record.npz (the training record so far) and state.json

An epoch is written into its own folder first; only when every file is on disk does
``latest.json`` move to it (an atomic rename), and only then is the previous epoch's
folder removed. A kill while writing leaves ``latest.json`` on the previous complete
epoch. ``state.json`` holds the epoch, the seconds trained so far, the random-number
generators' states (noise, dropout) and the architecture the weights belong to, so a
resume into another architecture is refused before any training step.
Introduced in ``notebooks/04_gan_mnist.ipynb``.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np

from augkit import files

_NETWORK_NAMES = ("generator", "discriminator", "ema_discriminator", "encoder", "decoder",
                  "classifier")
# Tests set this to a number of seconds to pause after each file of a checkpoint, so that
# a kill can land in the middle of writing one.
PAUSE_ENV = "AUGKIT_CHECKPOINT_PAUSE"


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, or belongs to another architecture."""


def networks(model) -> dict:
    """The sub-networks a composite model trains (each saved on its own), or the model itself."""
    nets = {n: getattr(model, n) for n in _NETWORK_NAMES if getattr(model, n, None) is not None}
    return nets or {"model": model}


def optimizers(model) -> dict:
    return {name: getattr(model, name) for name in ("d_optimizer", "g_optimizer", "optimizer")
            if getattr(model, name, None) is not None}


def optimizer_variables(model) -> dict:
    """``{"<optimizer>/<i>": variable}`` for every optimizer slot (Adam moments, step count)."""
    return {f"{name}/{i}": v for name, opt in optimizers(model).items()
            for i, v in enumerate(opt.variables)}


def seed_states(model) -> list:
    """The state variables of every random-number generator in the model (noise, dropout)."""
    return [g.state for layer in model._flatten_layers(include_self=True)
            for g in getattr(layer, "_seed_generators", [])]


def build_optimizers(model) -> None:
    """Create optimizer slots now, so they can be snapshotted or overwritten before step 1."""
    owner = {"d_optimizer": "discriminator", "g_optimizer": "generator"}
    for name, opt in optimizers(model).items():
        if not opt.built:
            opt.build(getattr(model, owner.get(name, ""), model).trainable_weights)


def _pause() -> None:
    seconds = float(os.environ.get(PAUSE_ENV, "0") or 0)
    if seconds > 0:
        time.sleep(seconds)


def latest(directory) -> Path | None:
    """The newest complete epoch folder of a checkpoint directory, or None."""
    pointer = Path(directory) / "latest.json"
    if not pointer.is_file():
        return None
    folder = Path(directory) / files.read_json(pointer, "checkpoint pointer")["folder"]
    if not (folder / "state.json").is_file():
        raise CheckpointError(f"{pointer} points to {folder}, which is incomplete; delete the "
                              "checkpoint folder to start afresh")
    return folder


def save(model, directory, *, epoch: int, seconds: float, meta: dict, record: dict) -> Path:
    """Write epoch ``epoch`` (1-based: epochs done) as a complete folder, then point to it."""
    directory = Path(directory)
    folder = directory / f"epoch-{epoch:04d}"
    if folder.exists():  # left over from a run killed while writing this epoch
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, net in networks(model).items():
        files.save_weights(net, folder / f"{name}.weights.h5")
        _pause()
    files.save_npz(folder / "optimizers.npz",
                   **{k: np.asarray(v) for k, v in optimizer_variables(model).items()})
    _pause()
    files.save_npz(folder / "record.npz", **record)
    state = {"epoch": epoch, "seconds": round(seconds, 3), "architecture": meta,
             "seed_states": [np.asarray(s).tolist() for s in seed_states(model)]}
    files.write_json(folder / "state.json", state)
    files.write_json(directory / "latest.json", {"folder": folder.name, "epoch": epoch})
    # Now that the pointer has moved, every other epoch folder is an older epoch or the
    # remains of a killed write.
    for old in directory.glob("epoch-*"):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def check(directory, meta: dict) -> dict:
    """The state of the newest checkpoint, after checking it fits ``meta``; errors say why not."""
    folder = latest(directory)
    if folder is None:
        raise CheckpointError(f"--resume: no checkpoint in {directory} (no latest.json); train "
                              "without --resume first, or point --checkpoint-dir at one")
    state = files.read_json(folder / "state.json", "checkpoint state")
    saved = state.get("architecture", {})
    diff = {k: (saved.get(k), v) for k, v in meta.items() if saved.get(k) != v}
    if diff:
        shown = ", ".join(f"{k}: checkpoint {a!r} vs now {b!r}" for k, (a, b) in diff.items())
        raise CheckpointError(f"{directory} holds a checkpoint of another model ({shown}); use "
                              "the same options or another --checkpoint-dir")
    return state


def check_start(directory, resume: bool, meta: dict) -> None:
    """Refuse a start that would go wrong, before any data is loaded or any step taken:
    ``resume`` without a folder, or without a fitting checkpoint in it, and a fresh start
    into a folder that already holds a checkpoint (it would be overwritten)."""
    if resume:
        if not directory:
            raise CheckpointError("--resume needs --checkpoint-dir")
        check(directory, meta)
    elif directory and latest(directory) is not None:
        raise CheckpointError(f"{directory} already holds a checkpoint; add --resume to continue "
                              "it or choose another --checkpoint-dir")


def restore(model, directory) -> tuple[int, float, dict]:
    """Load the newest checkpoint into a compiled model.

    Returns ``(epoch, seconds, record)``: the epoch to resume at, the training seconds
    already spent and the training record so far; ``(0, 0.0, {})`` when there is none.
    """
    folder = latest(directory) if Path(directory).is_dir() else None
    if folder is None:
        return 0, 0.0, {}
    try:
        for name, net in networks(model).items():
            net.load_weights(folder / f"{name}.weights.h5")
        build_optimizers(model)
        with np.load(folder / "optimizers.npz") as saved:
            for key, v in optimizer_variables(model).items():
                if key in saved.files:
                    v.assign(saved[key])
        with np.load(folder / "record.npz") as f:
            record = {k: f[k] for k in f.files}
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{folder}: cannot be loaded into this model ({exc})") from exc
    state = files.read_json(folder / "state.json", "checkpoint state")
    for var, value in zip(seed_states(model), state.get("seed_states", []), strict=False):
        var.assign(np.asarray(value, dtype=var.dtype))
    return int(state["epoch"]), float(state.get("seconds", 0.0)), record

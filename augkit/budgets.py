"""Run sizes in one place: how long every model trains and how much is measured, per budget
level (``quick`` for CI and the notebooks' quick mode, ``standard`` for what learners and
the shipped results run) and device (``cpu`` or ``gpu``).

``augkit train``'s quick-mode sizes, how many images a model is measured on, the budget
level and the device live here. Two budgets live with what they size: the classifier's
(:func:`augkit.classify.budget_for`) and each family's study steps
(:attr:`augkit.families.Family.study_steps`, read per level and device from here).
Introduced in ``notebooks/00_start_here.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class QuickTraining:
    """``augkit train`` in quick mode: a stratified slice, one epoch of a few steps."""

    images: int = 2048
    epochs: int = 1
    steps_per_epoch: int = 10


QUICK_TRAINING = QuickTraining()


def level(quick: bool) -> str:
    return "quick" if quick else "standard"


@lru_cache(maxsize=1)
def device() -> str:
    """``"gpu"`` when TensorFlow sees a GPU, else ``"cpu"``: budgets may differ per device."""
    import tensorflow as tf

    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def train_slice(x, y, quick: bool):
    """The training images ``augkit train`` uses: all, or a class-balanced slice in quick mode."""
    if not quick:
        return x, y
    from augkit import data

    per_class = QUICK_TRAINING.images // len(np.unique(y))
    idx = data.stratified_indices(y, per_class, seed=0)
    return x[idx], y[idx]


def measure_images(quick: bool) -> int:
    """How many samples a trained generator is measured on (domain-FID, consistency)."""
    return 500 if quick else 5000


def curve_images(quick: bool) -> int:
    """How many of the last test images a model's reported curve is measured on."""
    return 500 if quick else 2000

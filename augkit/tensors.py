"""Small tensor helpers shared by the loss modules (:mod:`augkit.losses`,
:mod:`augkit.semi_losses`): dtype handling and the ``reduction`` argument."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

REDUCTIONS = ("mean", "sum", "none")


def as_float(x, like: tf.Tensor | None = None) -> tf.Tensor:
    """A floating tensor (or variable, so that gradients still flow to it).

    With ``like``, the result has ``like``'s dtype; a Python number or numpy array is
    converted straight to it (0.1 must not pass through float32 on its way to float64).
    Otherwise tensors and numpy arrays keep a floating dtype (float64 tests stay float64),
    and Python numbers, lists and integer arrays become Keras' float type.
    """
    if tf.is_tensor(x):
        if like is not None:
            dtype = like.dtype
        elif x.dtype.is_floating:
            return x
        else:
            dtype = tf.as_dtype(keras.config.floatx())
        return x if x.dtype == dtype else tf.cast(x, dtype)
    if like is not None:
        return tf.constant(np.asarray(x, dtype=like.dtype.as_numpy_dtype))
    arr = np.asarray(x)
    if isinstance(x, (np.ndarray, np.generic)) and np.issubdtype(arr.dtype, np.floating):
        return tf.constant(arr)
    return tf.constant(arr.astype(keras.config.floatx()))


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def reduce_values(values: tf.Tensor, reduction: str) -> tf.Tensor:
    if reduction == "mean":
        return tf.reduce_mean(values)
    if reduction == "sum":
        return tf.reduce_sum(values)
    return values

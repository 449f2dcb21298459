"""Toy 2-D "generators" whose failures are known, to see what each fidelity metric measures.

The real distribution is a mixture of Gaussians placed evenly on a circle (8 modes by
default). Two deliberately imperfect generators sit on either side of it:

* :func:`mode_dropping`: only half of the modes, each exactly right (realistic samples,
  missing variety: high precision, low recall);
* :func:`over_dispersed`: every mode, each twice as wide (all the variety, plus samples
  off the data: low precision, high recall).

:func:`blend` moves continuously from the first (``mix = 0``) to the second (``mix = 1``).
Plain numpy, no TensorFlow, so a slider over it redraws at once. Introduced in
``notebooks/07_measuring_generators.ipynb`` with
:class:`augkit.widgets.fidelity.PrecisionRecallSlider`.
"""

from __future__ import annotations

import numpy as np

MODES = 8
RADIUS = 2.0
STD = 0.15


def mode_centres(modes: int = MODES, radius: float = RADIUS) -> np.ndarray:
    """``(modes, 2)`` centres evenly spaced on a circle, the first at angle 0."""
    angles = 2.0 * np.pi * np.arange(modes) / modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def mixture(n: int, weights, std: float = STD, radius: float = RADIUS,
            seed: int | None = 0) -> np.ndarray:
    """``n`` points of a ring mixture: mode ``i`` is picked with probability ``weights[i]``
    (normalized), then an isotropic Gaussian of standard deviation ``std`` around it."""
    w = np.asarray(weights, float)
    if w.ndim != 1 or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {weights!r}")
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    rng = np.random.default_rng(seed)
    which = rng.choice(len(w), size=int(n), p=w / w.sum())
    return mode_centres(len(w), radius)[which] + rng.normal(0.0, std, (int(n), 2))


def real(n: int, seed: int | None = 0) -> np.ndarray:
    """The real data: all 8 modes, equally likely, standard deviation :data:`STD`."""
    return mixture(n, np.ones(MODES), seed=seed)


def blend_settings(mix: float) -> dict:
    """Mode weights and spread of the generator at ``mix`` in [0, 1].

    Modes 0, 2, 4, 6 always have weight 1; the other four have weight ``mix`` (absent at 0,
    equal at 1): the *effective* number of modes, ``4 + 4 * mix``, grows linearly. The
    spread grows linearly from :data:`STD` to ``2 * STD``.
    """
    if not 0.0 <= mix <= 1.0:
        raise ValueError(f"mix must be in [0, 1], got {mix}")
    weights = np.where(np.arange(MODES) % 2 == 0, 1.0, float(mix))
    return {"weights": weights, "std": STD * (1.0 + mix), "modes": 4.0 + 4.0 * mix}


def blend(n: int, mix: float, seed: int | None = 1) -> np.ndarray:
    """The generator at ``mix``: :func:`mode_dropping` at 0, :func:`over_dispersed` at 1."""
    s = blend_settings(mix)
    return mixture(n, s["weights"], std=s["std"], seed=seed)


def mode_dropping(n: int, seed: int | None = 1) -> np.ndarray:
    """Every other mode (4 of 8), each exactly like the real one."""
    return blend(n, 0.0, seed)


def over_dispersed(n: int, seed: int | None = 1) -> np.ndarray:
    """All 8 modes, each with twice the real spread."""
    return blend(n, 1.0, seed)

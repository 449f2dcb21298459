"""Error bars for accuracy comparisons: means with confidence intervals, and paired differences.

Each study cell is run with several seeds; each seed draws its own labeled subset. Two
strategies run on the same subset and seed share most of their luck (which images were
drawn), so their **paired** difference, seed by seed, varies far less than either
accuracy does: its interval is the honest error bar for "does B beat A?".

Intervals use Student's t with n - 1 degrees of freedom, the right choice for 3 to 5
seeds (a normal 1.96 would make them too narrow). Introduced in
``notebooks/08_downstream_generalization.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A mean and its two-sided confidence interval ``[low, high]`` over ``n`` values."""

    mean: float
    low: float
    high: float
    n: int
    level: float = 0.95

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.half_width:.4f}"


def error_bars(intervals, scale: float = 100.0) -> np.ndarray:
    """The ``(2, n)`` array matplotlib's ``errorbar(yerr=...)`` wants for ``intervals``:
    distances from each mean down to its low and up to its high end, times ``scale``
    (100: fractions drawn in points)."""
    return np.array([[(i.mean - i.low) * scale for i in intervals],
                     [(i.high - i.mean) * scale for i in intervals]]).reshape(2, -1)


def mean_ci(values, level: float = 0.95) -> Interval:
    r"""Mean of ``values`` with a Student-t confidence interval.

    .. math::
        \bar x \pm t_{1-\alpha/2,\,n-1}\, \frac{s}{\sqrt n}, \qquad
        s^2 = \frac{1}{n-1} \sum_i (x_i - \bar x)^2

    One value gives a zero-width interval (there is nothing to estimate a spread from);
    callers should show ``n`` beside it.
    """
    from scipy import stats

    v = np.asarray(values, np.float64).reshape(-1)
    if v.size == 0 or not np.isfinite(v).all():
        raise ValueError(f"need at least one finite value, got {v.tolist()}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    mean = float(v.mean())
    if v.size == 1:
        return Interval(mean, mean, mean, 1, level)
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return Interval(mean, mean - half, mean + half, int(v.size), level)


def paired_diff_ci(treated, baseline, level: float = 0.95) -> Interval:
    r"""Mean paired difference ``treated - baseline`` (matched by position) with its interval.

    With ``a = treated`` and ``b = baseline``:

    .. math::
        d_i = a_i - b_i, \qquad \bar d \pm t_{1-\alpha/2,\,n-1}\, \frac{s_d}{\sqrt n}

    so a positive difference means the treated values are higher.

    The interval excludes 0 exactly when a two-sided paired t-test rejects "no
    difference" at ``1 - level``.
    """
    a = np.asarray(treated, np.float64).reshape(-1)
    b = np.asarray(baseline, np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal lengths, got {a.size} and {b.size}")
    return mean_ci(a - b, level)

"""Fidelity, diversity and copying of generated samples, in a feature space.

Domain-FID (:mod:`augkit.metrics`) folds quality and variety into one number. These
k-nearest-neighbour measures pull them apart. Each takes two feature sets, real ``X``
(N rows) and generated ``Y`` (M rows), usually the domain classifier's penultimate
features (:func:`augkit.metrics.features_and_predictions`); report the sample sizes
beside every figure, since all of them depend on N, M and k.

* :func:`precision_recall` (Kynkäänniemi et al. 2019, k = 3): a ball around every real
  point reaching its k-th nearest real neighbour; **precision** is the share of
  generated points inside some real ball (are samples realistic?), **recall** the
  share of real points inside some generated ball (is the data's variety covered?).
* :func:`density_coverage` (Naeem et al. 2020, k = 5): **density** counts how many real
  balls hold each sample (1 on average when Y is distributed like X, and robust to
  real outliers that inflate precision); **coverage** is the share of real balls that
  hold at least one sample.
* :func:`copying` (in the spirit of Meehan et al. 2020): each sample's distance to its
  nearest *training* image against the same distance for held-out real images. A
  generator that copies its training data sits closer to it than fresh real data does.

Plain numpy with distances computed in row blocks (no extra dependency: the authors'
``prdc`` package computes the same quantities with a full N x M matrix in memory).
``notebooks/07_measuring_generators.ipynb`` uses them on the shipped generators' samples, and
:mod:`augkit.widgets.fidelity` on toy 2-D data; the downstream study (:mod:`augkit.study`)
does not use them.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

_BLOCK = 1024  # rows per block of a distance matrix: 1024 x 10,000 float64 is 80 MB


def _as_features(a, name: str) -> np.ndarray:
    a = np.asarray(a, np.float64)
    if a.ndim != 2 or len(a) < 2:
        raise ValueError(f"{name} must be a (n, d) array of at least 2 rows, got shape {a.shape}")
    return a


def _distance_blocks(a: np.ndarray, b: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """Euclidean distances from blocks of rows of ``a`` to all of ``b``."""
    b_sq = (b * b).sum(1)
    for start in range(0, len(a), _BLOCK):
        rows = slice(start, start + _BLOCK)
        block = a[rows]
        d2 = (block * block).sum(1)[:, None] + b_sq[None, :] - 2.0 * block @ b.T
        yield rows, np.sqrt(np.maximum(d2, 0.0))


def nearest_distances(query, reference, k: int = 1) -> np.ndarray:
    """Distance from each row of ``query`` to its k-th nearest row of ``reference``."""
    query, reference = _as_features(query, "query"), _as_features(reference, "reference")
    out = np.empty(len(query))
    for rows, d in _distance_blocks(query, reference):
        out[rows] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return out


def knn_radii(x, k: int) -> np.ndarray:
    """Distance from each row of ``x`` to its k-th nearest *other* row (its ball's radius)."""
    x = _as_features(x, "features")
    if not 1 <= k < len(x):
        raise ValueError(f"k must be in 1..{len(x) - 1} for {len(x)} points, got {k}")
    # The nearest row of x to itself is itself at distance 0: take the (k+1)-th.
    return nearest_distances(x, x, k + 1)


def _ball_counts(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each point, how many of the balls ``(centres, radii)`` contain it."""
    counts = np.zeros(len(points), np.int64)
    for rows, d in _distance_blocks(points, centres):
        counts[rows] = (d <= radii[None, :]).sum(1)
    return counts


def precision_recall(real, fake, k: int = 3) -> dict:
    r"""Improved precision and recall (Kynkäänniemi et al. 2019).

    .. math::
        \mathrm{precision} = \frac1M \sum_j \mathbb 1\big[\exists i:\ \lVert y_j - x_i\rVert
            \le \mathrm{NND}_k(x_i)\big], \qquad
        \mathrm{recall} = \frac1N \sum_i \mathbb 1\big[\exists j:\ \lVert x_i - y_j\rVert
            \le \mathrm{NND}_k(y_j)\big]
    """
    real, fake = _as_features(real, "real"), _as_features(fake, "fake")
    precision = (_ball_counts(fake, real, knn_radii(real, k)) > 0).mean()
    recall = (_ball_counts(real, fake, knn_radii(fake, k)) > 0).mean()
    return {"precision": float(precision), "recall": float(recall), "k": k,
            "n_real": len(real), "n_fake": len(fake)}


def density_coverage(real, fake, k: int = 5) -> dict:
    r"""Density and coverage (Naeem et al. 2020).

    .. math::
        \mathrm{density} = \frac{1}{kM} \sum_j \sum_i \mathbb 1\big[y_j \in B(x_i,
            \mathrm{NND}_k(x_i))\big], \qquad
        \mathrm{coverage} = \frac1N \sum_i \mathbb 1\big[\exists j:\ y_j \in B(x_i,
            \mathrm{NND}_k(x_i))\big]

    For Y drawn like X, E[density] = 1 and E[coverage] = 1 - C(N-1, k) / C(N+M-1, k)
    (about 0.97 for M = N, k = 5): :func:`expected_coverage`.
    """
    real, fake = _as_features(real, "real"), _as_features(fake, "fake")
    radii = knn_radii(real, k)
    density = _ball_counts(fake, real, radii).sum() / (k * len(fake))
    covered = np.zeros(len(real), bool)
    for rows, d in _distance_blocks(real, fake):
        covered[rows] = d.min(1) <= radii[rows]
    return {"density": float(density), "coverage": float(covered.mean()), "k": k,
            "n_real": len(real), "n_fake": len(fake)}


def expected_coverage(n_real: int, n_fake: int, k: int = 5) -> float:
    """Coverage expected when the samples are distributed exactly like the real data."""
    from scipy.special import gammaln

    def log_comb(n, r):
        return gammaln(n + 1) - gammaln(r + 1) - gammaln(n - r + 1)

    return float(1.0 - np.exp(log_comb(n_real - 1, k) - log_comb(n_real + n_fake - 1, k)))


def copying(samples, train, heldout, quantile: float = 0.01) -> dict:
    """Does a generator copy its training data? Distances to the nearest training image.

    Held-out real images (never trained on) give the distances that fresh data has; a
    sample closer to the training set than the ``quantile`` of those distances is
    **flagged** as a likely copy (by construction about ``quantile`` of fresh images
    would be). The Mann-Whitney U test compares the two distance distributions:
    ``z`` well below 0 (samples systematically closer than fresh data) is copying; a
    generator that underfits gives ``z`` above 0. Any feature space works; raw pixels
    (flattened) catch pixel-exact copies.
    """
    from scipy.stats import mannwhitneyu

    s = _as_features(np.asarray(samples).reshape(len(samples), -1), "samples")
    t = _as_features(np.asarray(train).reshape(len(train), -1), "train")
    h = _as_features(np.asarray(heldout).reshape(len(heldout), -1), "heldout")
    d_samples, d_heldout = nearest_distances(s, t), nearest_distances(h, t)
    threshold = float(np.quantile(d_heldout, quantile))
    flagged = d_samples < threshold
    u = mannwhitneyu(d_samples, d_heldout, alternative="two-sided")
    n1, n2 = len(d_samples), len(d_heldout)
    z = (u.statistic - n1 * n2 / 2) / np.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    return {"flagged": flagged, "flagged_share": float(flagged.mean()), "threshold": threshold,
            "z": float(z), "p_value": float(u.pvalue), "sample_distances": d_samples,
            "heldout_distances": d_heldout, "quantile": quantile}

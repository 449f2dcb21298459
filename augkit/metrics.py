"""Quality of generated images, measured with a per-dataset *domain classifier*.

Measurement only: every function takes its *judge*, a classifier with a ``features``
layer (:func:`augkit.classify.build_classifier`); the usual one is a dataset's domain
classifier trained on its full training set, loaded (hash-checked) by
:func:`augkit.zoo.domain_classifier`. This module loads no model itself. From it:

* :func:`frechet_distance` of its penultimate-layer features, samples vs real test
  images: a **domain-specific FID**. It is *not* Inception FID: the numbers are on
  another scale and only comparable within augkit, for the same dataset.
* :func:`class_histogram` of what the classifier thinks unconditional samples are:
  a missing bar is a dropped mode.
* :func:`label_consistency`: the share of samples generated for class c that the
  classifier labels c (conditional models).

Introduced in ``notebooks/04_gan_mnist.ipynb``.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
from scipy import linalg


@lru_cache(maxsize=8)
def _feature_model(judge):
    """Features and logits in one pass; built once per judge, so predict is traced once.
    ``judge``: a classifier with a ``features`` layer (a dataset's is
    :func:`augkit.zoo.domain_classifier`)."""
    import keras

    if isinstance(judge, str):
        raise TypeError(f"a judge is a classifier, not {judge!r}: pass "
                        f"augkit.zoo.domain_classifier({judge!r})")
    return keras.Model(judge.input, [judge.get_layer("features").output, judge.output])


def _pixels(images) -> np.ndarray:
    x = np.asarray(images)
    if x.dtype != np.uint8:
        raise ValueError(f"expected uint8 images in [0, 255], got dtype {x.dtype}")
    return x[..., None].astype(np.float32) if x.ndim == 3 else x.astype(np.float32)


def features_and_predictions(judge, images, batch_size: int = 500):
    """Penultimate features (N, F) and predicted classes (N,) of uint8 images."""
    feats, logits = _feature_model(judge).predict(_pixels(images), batch_size=batch_size,
                                                    verbose=0)
    return feats.astype(np.float64), logits.argmax(axis=1)


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets.

    .. math::
        d^2 = \\lVert \\mu_a - \\mu_b \\rVert^2
              + \\operatorname{Tr}\\big(\\Sigma_a + \\Sigma_b - 2(\\Sigma_a \\Sigma_b)^{1/2}\\big)
    """
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        # Dead ReLU units make both covariances singular; sqrtm warns, the result is still
        # usable, and the check below regularizes when it is not.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean, _ = linalg.sqrtm(cov_a @ cov_b, disp=False)
    if not np.isfinite(covmean).all():  # near-singular product: regularize slightly
        offset = np.eye(len(cov_a)) * 1e-6
        covmean = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    covmean = covmean.real  # tiny imaginary parts are numerical noise
    d2 = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2.0 * covmean)
    return float(max(d2, 0.0))


def domain_fid(judge, samples, real) -> float:
    """Domain-specific FID between generated ``samples`` and ``real`` uint8 images."""
    fa, _ = features_and_predictions(judge, samples)
    fb, _ = features_and_predictions(judge, real)
    return frechet_distance(fa, fb)


def fid_by_sample_size(judge, images, sizes, seed: int = 0) -> dict[int, float]:
    """Real-vs-real domain-FID between two disjoint random halves of ``images``, at each
    sample size in ``sizes`` (per half): the floor a perfect generator would score.

    FID is a distance between *estimated* means and covariances, and the estimation error
    adds a positive bias that shrinks roughly like 1/n, so two numbers are comparable only
    at the same sample size. Notebook 06 draws this curve.
    """
    sizes = sorted(int(n) for n in sizes)
    if sizes[0] < 2 or 2 * sizes[-1] > len(images):
        raise ValueError(f"sizes must be >= 2 and at most half of the {len(images)} images")
    order = np.random.default_rng(seed).permutation(len(images))
    feats, _ = features_and_predictions(judge, np.asarray(images)[order[:2 * sizes[-1]]])
    a, b = feats[:sizes[-1]], feats[sizes[-1]:]
    return {n: frechet_distance(a[:n], b[:n]) for n in sizes}


def class_histogram(judge, samples) -> np.ndarray:
    """Share of samples the domain classifier assigns to each class (sums to 1)."""
    feats, pred = features_and_predictions(judge, samples)
    classes = int(_feature_model(judge).output[1].shape[-1])
    return np.bincount(pred, minlength=classes) / len(pred)


def total_variation(p, q) -> float:
    r"""Total-variation distance between two class histograms (notebook 04):
    :math:`\mathrm{TV}(p, q) = \tfrac12 \sum_c |p_c - q_c|`, the share of mass that would
    have to move to turn one into the other (0: equal, 1: disjoint)."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    if p.shape != q.shape:
        raise ValueError(f"histograms of different lengths: {p.shape} and {q.shape}")
    return float(0.5 * np.abs(p - q).sum())


def confusion(labels, predicted, num_classes: int) -> np.ndarray:
    """``(num_classes, num_classes)`` counts: row = true class, column = class read as."""
    m = np.zeros((num_classes, num_classes), int)
    np.add.at(m, (np.asarray(labels).ravel(), np.asarray(predicted).ravel()), 1)
    return m


def top_confusions(matrix, k: int = 3) -> list[tuple[int, int, int]]:
    """The ``k`` largest off-diagonal cells of a :func:`confusion` matrix as
    ``(count, true class, read as)``, largest first (notebook 04: 4 read as 9)."""
    off = np.array(matrix, copy=True)
    np.fill_diagonal(off, -1)
    order = np.argsort(off, axis=None, kind="stable")[::-1][:k]
    return [(int(off.flat[i]), *map(int, np.unravel_index(i, off.shape))) for i in order]


def label_consistency(judge, samples, labels) -> float:
    """Share of conditional samples classified as the class they were generated for."""
    _, pred = features_and_predictions(judge, samples)
    return float(np.mean(pred == np.asarray(labels).reshape(-1)))


def _grey(images) -> np.ndarray:
    x = _pixels(images) / 255.0
    return x.mean(axis=-1)  # (N, H, W): luminance-like average of the channels


def sharpness(images) -> float:
    r"""Mean variance of the discrete Laplacian over uint8 images (pixel scale 0..1, x 1000).

    .. math::
        \mathrm{sharpness} = 1000 \cdot \operatorname{mean}_n \operatorname{Var}_{ij}
        \big(x_{i+1,j} + x_{i-1,j} + x_{i,j+1} + x_{i,j-1} - 4x_{ij}\big)

    The Laplacian responds to edges and fine texture; a blurred image has little of either,
    so its score drops. Compare samples with real images of the same dataset, never across
    datasets. Introduced in ``notebooks/06_cifar10.ipynb``.
    """
    g = _grey(images)
    lap = (g[:, 2:, 1:-1] + g[:, :-2, 1:-1] + g[:, 1:-1, 2:] + g[:, 1:-1, :-2]
           - 4.0 * g[:, 1:-1, 1:-1])
    return float(1000.0 * lap.reshape(len(lap), -1).var(axis=1).mean())


def radial_spectrum(images) -> tuple[np.ndarray, np.ndarray]:
    """Mean power spectrum of uint8 images by spatial frequency: ``(frequency, power)``.

    Frequencies in cycles per pixel (0 to 0.5); power averaged over rings of the 2-D FFT
    of each mean-subtracted grey image. Blur shows as power falling off early at high
    frequencies. Introduced in ``notebooks/06_cifar10.ipynb``.
    """
    g = _grey(images)
    g = g - g.mean(axis=(1, 2), keepdims=True)
    power = (np.abs(np.fft.fftshift(np.fft.fft2(g), axes=(1, 2))) ** 2).mean(axis=0)
    h, w = power.shape
    yy, xx = np.indices(power.shape)
    r = np.hypot((yy - h // 2) / h, (xx - w // 2) / w)
    bins = np.linspace(0, 0.5, min(h, w) // 2 + 1)
    which = np.digitize(r.ravel(), bins) - 1
    keep = (which >= 0) & (which < len(bins) - 1)
    sums = np.bincount(which[keep], power.ravel()[keep], minlength=len(bins) - 1)
    counts = np.bincount(which[keep], minlength=len(bins) - 1)
    return 0.5 * (bins[1:] + bins[:-1]), sums / np.maximum(counts, 1)

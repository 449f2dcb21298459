"""Precision/recall, density/coverage and the copying check against known answers."""

import numpy as np
import pytest

from augkit import fidelity

RNG = np.random.default_rng(0)


def _gauss(n, mean=0.0, scale=1.0, d=8, seed=0):
    return np.random.default_rng(seed).normal(mean, scale, (n, d))


def test_nearest_distances_against_brute_force():
    a, b = RNG.normal(size=(30, 4)), RNG.normal(size=(50, 4))
    full = np.linalg.norm(a[:, None] - b[None], axis=-1)
    np.testing.assert_allclose(fidelity.nearest_distances(a, b), full.min(1), atol=1e-9)
    np.testing.assert_allclose(fidelity.nearest_distances(a, b, k=3), np.sort(full, 1)[:, 2],
                               atol=1e-9)
    self_d = np.linalg.norm(a[:, None] - a[None], axis=-1)
    np.testing.assert_allclose(fidelity.knn_radii(a, 2), np.sort(self_d, 1)[:, 2], atol=1e-9)


def test_same_distribution_scores_high_everywhere():
    real, fake = _gauss(2000, seed=1), _gauss(2000, seed=2)
    pr = fidelity.precision_recall(real, fake)
    dc = fidelity.density_coverage(real, fake)
    assert pr["precision"] > 0.85 and pr["recall"] > 0.85  # measured 0.897 / 0.906
    assert dc["density"] == pytest.approx(1.0, abs=0.1)
    expected = fidelity.expected_coverage(2000, 2000, 5)
    assert expected == pytest.approx(1 - 0.5 ** 5, abs=0.002)  # Naeem et al.: about 0.969
    assert dc["coverage"] == pytest.approx(expected, abs=0.02)


def test_mode_dropping_keeps_precision_and_loses_recall():
    """Real data: two modes. A generator that makes only one of them."""
    real = np.concatenate([_gauss(1000, -4, seed=3), _gauss(1000, 4, seed=4)])
    dropped = _gauss(2000, -4, seed=5)
    pr = fidelity.precision_recall(real, dropped)
    dc = fidelity.density_coverage(real, dropped)
    assert pr["precision"] > 0.85 and pr["recall"] < 0.5  # measured 0.888 / 0.457
    assert dc["coverage"] == pytest.approx(0.5, abs=0.05)


def test_over_dispersed_generator_loses_precision_and_keeps_recall():
    real, wide = _gauss(2000, seed=6), _gauss(2000, scale=2.0, seed=7)
    pr = fidelity.precision_recall(real, wide)
    assert pr["precision"] < 0.3 and pr["recall"] > 0.95  # measured 0.200 / 0.996
    assert fidelity.density_coverage(real, wide)["density"] < 0.3


def test_bad_inputs_are_clear():
    with pytest.raises(ValueError, match="must be a"):
        fidelity.precision_recall(np.zeros(5), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="k must be in"):
        fidelity.knn_radii(np.zeros((3, 2)), 3)


def test_copying_flags_planted_training_copies_and_passes_heldout_images():
    train = RNG.integers(0, 256, (600, 8, 8)).astype(np.uint8)
    heldout = RNG.integers(0, 256, (300, 8, 8)).astype(np.uint8)
    fresh = RNG.integers(0, 256, (300, 8, 8)).astype(np.uint8)
    honest = fidelity.copying(fresh, train, heldout)
    assert honest["flagged_share"] < 0.05 and abs(honest["z"]) < 3
    planted = fresh.copy()
    planted[:30] = train[:30]  # 10 % exact copies of training images
    report = fidelity.copying(planted, train, heldout)
    assert report["flagged"][:30].all() and report["flagged_share"] >= 0.1
    copier = fidelity.copying(train[100:400], train, heldout)  # a pure copier
    assert copier["flagged_share"] == 1.0 and copier["z"] < -10

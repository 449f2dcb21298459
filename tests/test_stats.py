"""Confidence intervals against scipy, and why paired intervals are tighter."""

import numpy as np
import pytest
from scipy import stats as sps

from augkit import stats


def test_mean_ci_matches_scipy():
    v = [0.91, 0.93, 0.92, 0.95, 0.90]
    got = stats.mean_ci(v)
    low, high = sps.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=sps.sem(v))
    assert got.mean == pytest.approx(np.mean(v)) and got.n == 5
    assert (got.low, got.high) == pytest.approx((low, high), rel=1e-12)
    assert stats.mean_ci(v, level=0.99).half_width > got.half_width


def test_paired_interval_matches_a_paired_t_test_and_is_tighter():
    rng = np.random.default_rng(0)
    luck = rng.normal(0.9, 0.03, 5)  # how good each seed's subset happens to be
    base, treated = luck + rng.normal(0, 0.002, 5), luck + 0.01 + rng.normal(0, 0.002, 5)
    diff = stats.paired_diff_ci(treated, base)
    test = sps.ttest_rel(treated, base)
    assert (diff.low > 0) == (test.pvalue < 0.05)
    separate = stats.mean_ci(treated).half_width + stats.mean_ci(base).half_width
    assert diff.half_width < separate / 5


def test_edge_cases():
    one = stats.mean_ci([0.5])
    assert one.low == one.high == 0.5 and one.n == 1
    with pytest.raises(ValueError, match="finite"):
        stats.mean_ci([])
    with pytest.raises(ValueError, match="equal lengths"):
        stats.paired_diff_ci([1, 2], [1])
    assert str(stats.mean_ci([1.0, 3.0])).startswith("2.0000 ±")

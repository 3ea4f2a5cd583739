"""Tests for helpers.splits: the fixed, stratified held-out test split."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import splits


def test_holdout_is_stratified_disjoint_and_complete():
    y = np.array([0] * 500 + [1] * 500)
    keep, test = splits.holdout(y)
    assert len(keep) == len(test) == 500
    assert np.bincount(y[test]).tolist() == [250, 250]
    assert np.intersect1d(keep, test).size == 0
    assert np.array_equal(np.sort(np.concatenate([keep, test])), np.arange(1000))


def test_holdout_is_fixed_by_its_seed_not_the_run():
    y = np.array([0, 1] * 50)
    a, b = splits.holdout(y, 0.3), splits.holdout(y, 0.3)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(splits.holdout(y, 0.3, seed=1)[1], a[1])
    assert np.bincount(y[a[1]]).tolist() == [15, 15]


def test_holdout_small_classes_keep_one_on_each_side():
    keep, test = splits.holdout([0, 0, 1, 1, 1], 0.9)
    assert sorted(np.array([0, 0, 1, 1, 1])[keep].tolist()) == [0, 1]


@pytest.mark.parametrize("bad, message", [({"test_fraction": 1.0}, "between 0 and 1"),
                                          ({"labels": [0, 1, 1]}, "class 0 has 1 item")])
def test_holdout_errors_name_the_problem(bad, message):
    args = {"labels": [0, 0, 1, 1], **bad}
    with pytest.raises(ValueError, match=message):
        splits.holdout(**args)

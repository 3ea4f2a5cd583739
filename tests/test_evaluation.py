"""helpers.evaluation: AUC, bootstrap intervals, permutation tests, grouped splits (known answers)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.evaluation import auc, bootstrap_auc, group_labels, grouped_splits, permutation_test, time_split


def test_auc_known_values() -> None:
    assert auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert auc([0, 0, 1, 1], [0.4, 0.3, 0.2, 0.1]) == 0.0
    # one of four pairs misordered -> 0.75; a tie counts one half
    assert auc([0, 0, 1, 1], [0.1, 0.35, 0.3, 0.4]) == 0.75
    assert auc([0, 1], [0.5, 0.5]) == 0.5
    assert np.isnan(auc([1, 1], [0.1, 0.2]))


def test_auc_matches_sklearn() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + y, 1)  # with ties
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s))


def test_bootstrap_interval() -> None:
    y = np.array([0] * 20 + [1] * 20)
    perfect = bootstrap_auc(y, np.arange(40), n_boot=200)
    assert perfect == (1.0, 1.0, 1.0)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    s = rng.normal(size=400) + 0.5 * y
    iv = bootstrap_auc(y, s, n_boot=500, seed=3)
    assert iv.low < iv.value < iv.high
    # the normal-approximation standard error of AUC here is about 0.028 -> width ~0.11
    assert 0.07 < iv.high - iv.low < 0.16
    small = bootstrap_auc(y[:60], s[:60], n_boot=500, seed=3)
    assert small.high - small.low > iv.high - iv.low  # fewer samples, wider interval


def test_cluster_bootstrap_is_wider_for_duplicated_groups() -> None:
    rng = np.random.default_rng(0)
    y1 = rng.integers(0, 2, 30)
    s1 = rng.normal(size=30) + y1
    y, s, g = np.repeat(y1, 10), np.repeat(s1, 10), np.repeat(np.arange(30), 10)  # 10 copies each
    naive = bootstrap_auc(y, s, n_boot=400, seed=1)
    grouped = bootstrap_auc(y, s, n_boot=400, groups=g, seed=1)
    assert naive.value == grouped.value
    assert grouped.high - grouped.low > 2 * (naive.high - naive.low)


def test_permutation_test_exact_p_value() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    score = np.arange(6.0)
    res = permutation_test(lambda lab: auc(lab, score), y, n_permutations=2000, seed=0)
    assert res.observed == 1.0
    # exactly 1 of the C(6,3)=20 labellings reaches AUC 1 -> p close to 1/20
    assert res.p_value == pytest.approx(1 / 20, abs=0.015)
    assert res.null.shape == (2000,)


def test_permutation_keeps_labels_constant_within_groups() -> None:
    groups = np.repeat(np.arange(6), 3)
    y = np.repeat([0, 0, 0, 0, 1, 1], 3)
    seen = []

    def stat(lab: np.ndarray) -> float:
        for g in range(6):
            assert len(set(lab[groups == g])) == 1
        seen.append(lab.sum())
        return 0.0

    permutation_test(stat, y, n_permutations=30, groups=groups)
    assert set(seen) == {6}  # two positive groups of three photos each, every time


def test_grouped_splits_keep_groups_apart_and_stratify() -> None:
    groups = np.repeat(np.arange(30), 10)
    y = np.repeat((np.arange(30) < 10).astype(int), 10)  # 10 positive people, 20 negative
    splits = grouped_splits(groups, y, n_splits=5, test_size=0.3, seed=0)
    assert len(splits) == 5
    tests = []
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
        assert len(train) + len(test) == 300
        assert len(set(groups[test])) == 9  # 3 positive + 6 negative people
        assert y[test].sum() == 30
        tests.append(tuple(sorted(set(groups[test]))))
    assert len(set(tests)) > 1  # different splits
    with pytest.raises(ValueError, match="more than one label"):
        grouped_splits(np.array([0, 0]), np.array([0, 1]))


def test_time_split_tests_later_dates_of_each_class() -> None:
    dates = np.array(["2022-05-01", "2022-06-01", "2022-06-01", "2022-08-01",
                      "2023-03-01", "2023-04-01", "2023-05-01", "2023-06-01"], dtype="datetime64[D]")
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    train, test = time_split(dates, y, test_size=0.3)
    # class 1 has 3 dates -> round(0.9) = 1 tested; class 0 has 4 -> round(1.2) = 1
    assert test.tolist() == [3, 7]
    assert train.tolist() == [0, 1, 2, 4, 5, 6]
    train, test = time_split(dates, y, test_size=0.5)
    assert test.tolist() == [1, 2, 3, 6, 7]  # the two photos of 2022-06-01 stay together


def test_permutation_p_value_ignores_nan_scores() -> None:
    calls = iter([1.0, np.nan, 0.2, np.nan, 1.0])
    res = permutation_test(lambda lab: next(calls), np.array([0, 1]), n_permutations=4)
    assert res.p_value == pytest.approx((1 + 1) / (1 + 2))


def test_group_labels_gives_each_groups_one_label_and_names_a_mixed_group():
    uniq, labels = group_labels(["b", "a", "b", "c"], [1, 0, 1, 0])
    assert uniq.tolist() == ["a", "b", "c"] and labels.tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match="group 'a' has more than one label"):
        group_labels(["a", "a"], [0, 1])

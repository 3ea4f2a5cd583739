"""Honest evaluation: bootstrap intervals of AUC, permutation tests, grouped splits.

Small, dependency-light helpers for notebook 06 (and any notebook that needs
them). Groups are the unit that must not be split: a person, a press event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

__all__ = [
    "Interval", "auc", "bootstrap_auc", "PermutationResult", "permutation_test", "group_labels", "grouped_splits",
    "time_split",
]


class Interval(NamedTuple):
    """A point estimate with a confidence interval."""

    value: float
    low: float
    high: float


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney, ties count one half); NaN if only one class is present."""
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=np.float64)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(score)  # average ranks for ties
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def bootstrap_auc(y: np.ndarray, score: np.ndarray, n_boot: int = 1000, level: float = 0.95,
                  groups: np.ndarray | None = None, seed: int = 0) -> Interval:
    """AUC with a percentile bootstrap interval.

    With ``groups`` the bootstrap resamples whole groups (cluster bootstrap), the
    honest choice when photos of one person or event are not independent.
    Resamples that contain only one class are drawn again.
    """
    y, score = np.asarray(y), np.asarray(score)
    rng = np.random.default_rng(seed)
    if groups is None:
        units = [np.array([i]) for i in range(len(y))]
    else:
        groups = np.asarray(groups)
        units = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    stats: list[float] = []
    tries = 0
    while len(stats) < n_boot and tries < 20 * n_boot:
        tries += 1
        pick = rng.integers(0, len(units), len(units))
        idx = np.concatenate([units[k] for k in pick])
        value = auc(y[idx], score[idx])
        if not np.isnan(value):
            stats.append(value)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha]) if stats else (np.nan, np.nan)
    return Interval(auc(y, score), float(low), float(high))


class PermutationResult(NamedTuple):
    """Observed statistic, the null distribution and the permutation p-value."""

    observed: float
    null: np.ndarray
    p_value: float


def permutation_test(statistic: Callable[[np.ndarray], float], y: np.ndarray, n_permutations: int = 100,
                     groups: np.ndarray | None = None, seed: int = 0) -> PermutationResult:
    """One-sided label-permutation test: how often is a shuffled-label score as high?

    ``statistic(labels)`` returns the score (for example the test AUC after
    training on those labels). With ``groups`` whole groups swap labels, so the
    label stays constant within a group as in the data. The p-value is
    ``(1 + #{null >= observed}) / (1 + n_valid)``, where NaN scores (for
    example a shuffle that leaves one class out of a test set) are not counted.
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    observed = float(statistic(y))
    null = np.empty(n_permutations)
    if groups is not None:
        groups = np.asarray(groups)
        uniq, inverse = np.unique(groups, return_inverse=True)
        group_label = np.array([y[groups == g][0] for g in uniq])
    for k in range(n_permutations):
        if groups is None:
            perm = rng.permutation(y)
        else:
            perm = rng.permutation(group_label)[inverse]
        null[k] = statistic(perm)
    valid = null[~np.isnan(null)]  # a shuffle may leave one class out of a test set
    p = (1.0 + float(np.sum(valid >= observed))) / (1.0 + len(valid))
    return PermutationResult(observed, null, p)


def group_labels(groups, y) -> tuple[np.ndarray, np.ndarray]:
    """``(unique groups, the one label of each)``; a group with two labels is an error naming it."""
    groups, y = np.asarray(groups), np.asarray(y)
    uniq = np.unique(groups)
    glabel = []
    for g in uniq:
        labels = np.unique(y[groups == g])
        if len(labels) != 1:
            raise ValueError(f"group {g.item()!r} has more than one label: {labels.tolist()}")
        glabel.append(labels[0])
    return uniq, np.asarray(glabel)


def grouped_splits(groups: np.ndarray, y: np.ndarray, n_splits: int = 5, test_size: float = 0.3,
                   seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test index pairs in which no group is on both sides.

    Groups are drawn stratified by their label (each group must carry a single
    label), so every test set holds both classes in about the overall ratio.
    """
    uniq, glabel = group_labels(groups, y)
    groups, y = np.asarray(groups), np.asarray(y)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_splits):
        test_groups = []
        for c in np.unique(glabel):
            members = uniq[glabel == c]
            k = max(1, int(round(test_size * len(members))))
            test_groups.extend(rng.choice(members, size=k, replace=False).tolist())
        in_test = np.isin(groups, test_groups)
        out.append((np.flatnonzero(~in_test), np.flatnonzero(in_test)))
    return out


def time_split(dates: np.ndarray, y: np.ndarray, test_size: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Train on the earlier, test on the later photos of each class.

    When the label is a function of the date (raising, then holding), a plain
    "test on the last 30 %" split would hold one class only; cutting each
    class at its own date quantile keeps both classes in the test set while
    every test photo is later than every training photo of its class.
    Photos sharing a date stay on one side.
    """
    dates, y = np.asarray(dates), np.asarray(y)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        days = np.unique(dates[members])
        k = max(1, int(round(test_size * len(days))))
        test[members] = np.isin(dates[members], days[-k:])
    return np.flatnonzero(~test), np.flatnonzero(test)

"""Held-out splits: carve a fixed test set out of a labelled set, once.

Chapters 04 and 05 split the 1,000 images of ``cats_and_dogs_filtered``'s
validation folder in two with :func:`holdout`: one half to watch training and
make every choice on (validation), the other half scored once, at the end
(test). The split's seed is fixed, not the run's ``SEED``, so that every run
and both chapters score on the same test images.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TEST_SEED", "holdout"]

TEST_SEED = 0   # the seed of the course's held-out test split (independent of the run's SEED)


def holdout(labels, test_fraction: float = 0.5, seed: int = TEST_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded split of ``range(len(labels))`` into ``(keep, test)`` index arrays.

    Each class gives ``round(test_fraction * count)`` of its items to ``test``
    (at least one, and at least one left to ``keep``); both arrays are sorted.
    The same labels and seed always give the same split.
    """
    y = np.asarray(labels).ravel()
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), not {test_fraction!r}")
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) < 2:
            raise ValueError(f"class {c.item()!r} has {len(members)} item(s); a held-out split needs at least 2 per class")
        n = int(np.clip(round(test_fraction * len(members)), 1, len(members) - 1))
        test.append(rng.choice(members, n, replace=False))
    test_idx = np.sort(np.concatenate(test))
    keep_idx = np.setdiff1d(np.arange(len(y)), test_idx)
    return keep_idx, test_idx

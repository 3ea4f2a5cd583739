"""Batches of in-memory arrays for ``fit``, ``evaluate`` and ``predict``, one slice at a time.

Given NumPy arrays, Keras 3 turns the whole of each array into a TensorFlow
tensor inside its input pipeline, for every ``fit``, ``evaluate`` and
``predict`` call: chapter 05's 346 MB of cached feature maps were copied that
way for each fine-tuning run, and the copies, not the model, made its peak
memory. :class:`ArrayBatches` hands Keras one batch at a time instead.
"""

from __future__ import annotations

import math

import keras
import numpy as np

__all__ = ["ArrayBatches"]


class ArrayBatches(keras.utils.PyDataset):
    """``x`` (and ``y``) in batches of ``batch_size``, sliced when Keras asks for them.

    ``shuffle=True`` draws a new order every epoch from ``seed`` (the first
    order too), so two runs with the same seed see the same batches. ``x`` keeps
    its dtype (float16 maps stay float16; the model casts them). Without ``y``
    each item is ``x`` alone, as ``predict`` wants it.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray | None = None, batch_size: int = 32,
                 shuffle: bool = False, seed: int = 0) -> None:
        super().__init__()
        if y is not None and len(y) != len(x):
            raise ValueError(f"ArrayBatches: x has {len(x)} rows but y has {len(y)}; pass the labels of the same rows")
        if batch_size < 1:
            raise ValueError(f"ArrayBatches: batch_size={batch_size!r} must be at least 1")
        self.x, self.y, self.batch_size, self.shuffle = x, y, int(batch_size), shuffle
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(len(x)) if shuffle else np.arange(len(x))

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"ArrayBatches: batch {index} of {len(self)}")
        rows = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        if self.shuffle:
            rows = np.sort(rows)  # the same rows, read in memory order; the model sees a batch as a set
        xb = self.x[rows]
        return xb if self.y is None else (xb, self.y[rows])

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._order = self._rng.permutation(len(self.x))

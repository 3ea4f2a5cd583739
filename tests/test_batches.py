"""helpers.batches.ArrayBatches: every row once per epoch, reproducible order, and Keras trains on it."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.batches import ArrayBatches


def test_every_row_once_per_epoch_in_batches_of_the_size_asked():
    x, y = np.arange(50, dtype="float16").reshape(25, 2), np.arange(25)
    b = ArrayBatches(x, y, batch_size=10, shuffle=True, seed=3)
    assert len(b) == 3
    for _ in range(2):
        parts = [b[i] for i in range(len(b))]
        assert [len(p[1]) for p in parts] == [10, 10, 5]
        seen = np.concatenate([p[1] for p in parts])
        assert sorted(seen.tolist()) == list(range(25))
        for xb, yb in parts:  # rows stay paired with their labels, dtype kept
            assert xb.dtype == np.float16 and np.array_equal(xb[:, 0], 2 * yb)
        b.on_epoch_end()
    with pytest.raises(IndexError):
        b[3]


def test_order_is_reproducible_from_the_seed_and_changes_each_epoch():
    x = np.arange(40).reshape(40, 1)
    order = lambda b: np.concatenate([b[i][1] for i in range(len(b))])  # noqa: E731
    a, c = ArrayBatches(x, x[:, 0], 8, shuffle=True, seed=1), ArrayBatches(x, x[:, 0], 8, shuffle=True, seed=1)
    first = order(a)
    assert np.array_equal(first, order(c)) and not np.array_equal(first, np.arange(40))
    a.on_epoch_end()
    assert not np.array_equal(order(a), first)
    plain = ArrayBatches(x, batch_size=16)
    assert np.array_equal(np.concatenate([plain[i] for i in range(len(plain))])[:, 0], np.arange(40))


def test_bad_arguments_name_what_is_wrong():
    with pytest.raises(ValueError, match="x has 4 rows but y has 3"):
        ArrayBatches(np.zeros((4, 1)), np.zeros(3))
    with pytest.raises(ValueError, match="batch_size=0 must be at least 1"):
        ArrayBatches(np.zeros((4, 1)), batch_size=0)


def test_keras_fits_evaluates_and_predicts_on_it():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(ArrayBatches(x, y, 20, shuffle=True, seed=0), epochs=5, verbose=0)
    acc = model.evaluate(ArrayBatches(x, y, 50), verbose=0)[1]
    assert acc >= 0.95
    pred = model.predict(ArrayBatches(x, batch_size=64), verbose=0)
    assert pred.shape == (200, 1) and np.allclose(pred, model.predict(x, verbose=0), atol=1e-6)

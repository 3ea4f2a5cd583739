"""helpers.fused_adam.FusedAdam makes the same updates as keras.optimizers.Adam."""

from __future__ import annotations

import keras
import numpy as np

from helpers.fused_adam import FusedAdam


def _train(optimizer, steps: int = 60) -> list[np.ndarray]:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 20)).astype("float32")
    y = (x[:, :3].sum(axis=1) > 0).astype("float32")
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    model.fit(x, y, epochs=steps // 4, batch_size=16, shuffle=False, verbose=0)
    return model.get_weights()


def test_same_weights_as_keras_adam_after_many_steps():
    ref = _train(keras.optimizers.Adam(1e-2))
    fused = _train(FusedAdam(1e-2))
    start = _train(keras.optimizers.SGD(0.0), steps=4)
    for a, b, w0 in zip(ref, fused, start, strict=True):
        assert np.abs(a - w0).max() > 1e-3  # the weights did move ...
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)  # ... and the same way


def test_arguments_and_config_are_keras_adams():
    opt = FusedAdam(learning_rate=3e-4, beta_1=0.8, epsilon=1e-6)
    cfg = opt.get_config()
    assert isinstance(opt, keras.optimizers.Adam)
    assert np.isclose(cfg["learning_rate"], 3e-4) and cfg["beta_1"] == 0.8 and cfg["epsilon"] == 1e-6


def test_amsgrad_uses_keras_update():
    ref = _train(keras.optimizers.Adam(1e-2, amsgrad=True), steps=8)
    fused = _train(FusedAdam(1e-2, amsgrad=True), steps=8)
    for a, b in zip(ref, fused, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)

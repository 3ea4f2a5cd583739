"""Training callbacks the chapters share: epoch timing and early stopping with a minimum."""

from __future__ import annotations

import time

import numpy as np

from helpers.config import quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402

__all__ = ["epoch_timer", "MinEpochsEarlyStopping"]


def epoch_timer():
    """A Keras callback that records each epoch's wall time in ``.times`` (seconds)."""
    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._t0)

    return EpochTimer()


class MinEpochsEarlyStopping(keras.callbacks.Callback):
    """Early stopping that never stops before ``min_epochs`` but keeps the best epoch overall.

    Keras's ``EarlyStopping(start_from_epoch=n)`` also ignores the first ``n``
    epochs when it picks the weights to restore, which penalises a model that is
    best early (a transferred one). Here the best ``monitor`` value is tracked
    from the first epoch; training stops once at least ``min_epochs`` epochs ran
    and ``patience`` epochs passed without improvement; the best weights are
    restored at the end.
    """

    def __init__(self, monitor: str = "val_loss", min_epochs: int = 1, patience: int = 3,
                 mode: str = "min") -> None:
        super().__init__()
        self.monitor, self.min_epochs, self.patience = monitor, int(min_epochs), int(patience)
        self.sign = 1.0 if mode == "min" else -1.0
        self.best, self.best_epoch, self.best_weights = np.inf, -1, None

    def on_train_begin(self, logs=None) -> None:
        self.best, self.best_epoch, self.best_weights = np.inf, -1, None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        if self.sign * float(value) < self.best:
            self.best, self.best_epoch = self.sign * float(value), epoch
            self.best_weights = self.model.get_weights()
        if epoch + 1 >= self.min_epochs and epoch - self.best_epoch >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)

"""helpers.callbacks: early stopping with a minimum number of epochs, and the epoch timer."""

import numpy as np

from helpers.callbacks import MinEpochsEarlyStopping, epoch_timer


class _FakeModel:
    def __init__(self):
        self.stop_training, self.epoch, self.restored = False, 0, None

    def get_weights(self):
        return [self.epoch]

    def set_weights(self, w):
        self.restored = w[0]


def _simulate(losses, **kw):
    cb, fake = MinEpochsEarlyStopping(**kw), _FakeModel()
    cb.set_model(fake)
    cb.on_train_begin()
    ran = 0
    for epoch, loss in enumerate(losses):
        fake.epoch = epoch
        cb.on_epoch_end(epoch, {"val_loss": loss})
        ran += 1
        if fake.stop_training:
            break
    cb.on_train_end()
    return ran, fake.restored


def test_min_epochs_early_stopping_keeps_best_epoch_overall():
    # best at epoch 0 (a transferred model), but training must run at least 6 epochs
    assert _simulate([0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1], min_epochs=6, patience=2) == (6, 0)
    # a slow starter: improves late, stops `patience` epochs after its best
    assert _simulate([0.7, 0.7, 0.69, 0.5, 0.4, 0.45, 0.46, 0.47, 0.3], min_epochs=2, patience=3) == (8, 4)


def test_epoch_timer_records_one_time_per_epoch():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    timer = epoch_timer()
    model.fit(np.zeros((8, 2)), np.zeros(8), epochs=3, verbose=0, callbacks=[timer])
    assert len(timer.times) == 3 and all(t > 0 for t in timer.times)

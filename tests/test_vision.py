"""Tests for helpers.vision: pipelines, image and feature caches, Grad-CAM."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import vision

# --------------------------------------------------------------------------- pipelines and caches

@pytest.fixture
def tiny_folder(tmp_path):
    from helpers import synthetic

    return synthetic.cats_dogs_folder(tmp_path, n_per_class=10, size=48)


def test_pipelines_yield_same_shapes(tiny_folder):
    gen = vision.generator_pipeline(tiny_folder / "train", (32, 32), batch_size=4)
    x, y = next(gen)
    assert x.shape == (4, 32, 32, 3) and 0.0 <= x.min() and x.max() <= 1.0
    ds = vision.dataset_pipeline(tiny_folder / "train", (32, 32), batch_size=4)
    xb, yb = next(iter(ds))
    assert tuple(xb.shape) == (4, 32, 32, 3) and tuple(yb.shape) == (4, 1)
    assert float(np.min(xb)) >= 0.0 and float(np.max(xb)) <= 1.0


def test_dataset_pipeline_reshuffles_every_epoch(tiny_folder):
    """The cache holds single images, so epoch 2 has new batches of the same images (not a replay of epoch 1)."""
    ds = vision.dataset_pipeline(tiny_folder / "train", (16, 16), batch_size=4, augment=False, seed=3)

    def epoch():
        xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
        return np.concatenate(xs), np.concatenate(ys)

    (x1, y1), (x2, y2) = epoch(), epoch()
    assert x1.shape == x2.shape == (20, 16, 16, 3) and 0 < y1.sum() < 20 and y1.sum() == y2.sum()
    assert not np.array_equal(x1, x2), "the second epoch replayed the first epoch's order"
    key = lambda a: sorted(map(bytes, a.reshape(len(a), -1).round(4)))  # noqa: E731
    assert key(x1) == key(x2), "both epochs must hold the same images"
    taken = vision.dataset_pipeline(tiny_folder / "train", (16, 16), batch_size=4, augment=False, take_batches=2)
    assert sum(int(x.shape[0]) for x, _ in taken) == 8


def test_pipeline_throughput_rows(tiny_folder):
    rows = vision.pipeline_throughput(tiny_folder / "train", (32, 32), batch_size=4, n_images=8)
    assert [r["pipeline"] for r in rows] == ["ImageDataGenerator (source)", "tf.data + 5 Keras augmentation layers",
                                            "tf.data + one combined affine transform"]
    assert all(r["images"] == 8 and r["images_per_s"] > 0 for r in rows)


def test_feature_and_image_caches(tiny_folder, tmp_path):
    import keras

    paths = sorted((tiny_folder / "train" / "cats").glob("*.jpg"))[:5]
    imgs, hit = vision.cached_images(paths, (16, 16), "t", tmp_path / "img")
    assert imgs.shape == (5, 16, 16, 3) and imgs.dtype == np.uint8 and not hit
    again, hit = vision.cached_images(paths, (16, 16), "t", tmp_path / "img")
    assert hit and np.array_equal(imgs, again)
    inp = keras.Input((16, 16, 3))
    base = keras.Model(inp, keras.layers.Conv2D(3, 1, use_bias=False, kernel_initializer="ones")(inp))
    feats, hit = vision.cached_features(base, lambda x: x / 255.0, paths, "tiny", tmp_path / "f")
    assert feats.shape == (5, 3) and not hit
    # 1x1 conv with all-ones kernel: every channel is the mean of R+G+B over the image
    np.testing.assert_allclose(feats[:, 0], imgs.astype("float32").sum(-1).mean((1, 2)) / 255.0, rtol=1e-2)
    feats2, hit = vision.cached_features(base, lambda x: x / 255.0, paths, "tiny", tmp_path / "f")
    assert hit and np.array_equal(feats, feats2)
    _, hit = vision.cached_features(base, lambda x: x / 255.0, paths[:4], "tiny", tmp_path / "f")
    assert not hit  # a different list of images is not served from the cache


def test_source_augment_identity_and_flip():
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(0).random((6, 10, 12, 3)).astype("float32"))
    same = vision.source_augment(x, 0, rotation=0, shift=0, shear=0, zoom=0, flip=False)
    np.testing.assert_allclose(np.asarray(same), np.asarray(x), atol=1e-6)
    flipped = np.asarray(vision.source_augment(x, 0, rotation=0, shift=0, shear=0, zoom=0, flip=True))
    xs = np.asarray(x)
    for i in range(6):  # each image is either unchanged or mirrored left-right, exactly
        assert np.allclose(flipped[i], xs[i], atol=1e-6) or np.allclose(flipped[i], xs[i, :, ::-1], atol=1e-6)
    full = np.asarray(vision.source_augment(x, 1))
    assert full.shape == xs.shape and not np.allclose(full, xs)

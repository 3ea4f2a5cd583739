"""Tests for helpers.vision: pipelines, image and feature caches, Grad-CAM."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from helpers import vision

WEIGHTS_NAME = "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5"


def _weights_file() -> Path | None:
    env = os.environ.get("TLBOOK_DATA_DIR")
    if not env:
        return None
    path = Path(env) / "models" / WEIGHTS_NAME
    return path if path.is_file() else None


needs_weights = pytest.mark.skipif(_weights_file() is None,
                                   reason=f"needs $TLBOOK_DATA_DIR/models/{WEIGHTS_NAME}")


def _fixed_image(size: int = 227) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    img = np.stack([xx / (size - 1) * 255, yy / (size - 1) * 255, (xx + yy) % 64 * 4], -1)
    return img.astype("float32")[None]


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


# --------------------------------------------------------------------------- Grad-CAM

def _half_model(weights=(1.0, 0.0), nested: bool = False, activation=None):
    """Channel 0 fires on bright pixels, channel 1 on dark ones; the head reads ``weights``."""
    import keras

    inp = keras.Input((8, 8, 1))
    conv = keras.layers.Conv2D(2, 1, activation="relu", name="feat")
    feat = conv(inp)
    conv.set_weights([np.array([[[[1.0, -1.0]]]], "float32"), np.array([0.0, 1.0], "float32")])
    if nested:
        backbone = keras.Model(inp, feat, name="backbone")
        outer_in = keras.Input((8, 8, 1))
        feat = backbone(outer_in)
        inp = outer_in
    pooled = keras.layers.GlobalAveragePooling2D()(feat)
    dense = keras.layers.Dense(1, activation=activation, name="head")
    out = dense(pooled)
    dense.set_weights([np.array([[weights[0]], [weights[1]]], "float32"), np.zeros(1, "float32")])
    return keras.Model(inp, out)


def _left_bright() -> np.ndarray:
    img = np.zeros((8, 8, 1), "float32")
    img[:, :4] = 1.0
    return img


@pytest.mark.parametrize("nested", [False, True])
def test_grad_cam_left_half(nested):
    heat = vision.grad_cam(_half_model((1.0, 0.0), nested), _left_bright(), "feat")
    assert heat.shape == (8, 8)
    np.testing.assert_allclose(heat[:, :4], 1.0, atol=1e-6)
    np.testing.assert_allclose(heat[:, 4:], 0.0, atol=1e-6)


def test_grad_cam_follows_the_evidence():
    # the same image, but the output now reads the "dark" channel: the map moves right
    heat = vision.grad_cam(_half_model((0.0, 1.0)), _left_bright(), "feat")
    np.testing.assert_allclose(heat[:, 4:], 1.0, atol=1e-6)
    np.testing.assert_allclose(heat[:, :4], 0.0, atol=1e-6)
    # class_index=0 explains 1 - p: evidence against the output is the bright left channel
    heat0 = vision.grad_cam(_half_model((0.0, 1.0)), _left_bright(), "feat", class_index=0)
    assert heat0[:, :4].mean() == 0.0 or heat0[:, 4:].mean() == 0.0


def test_grad_cam_unknown_layer():
    with pytest.raises(ValueError, match="no layer named"):
        vision.grad_cam(_half_model(), _left_bright(), "nope")


def test_overlay_heatmap_shape_and_range():
    img = np.full((20, 30, 3), 128, "uint8")
    out = vision.overlay_heatmap(img, np.eye(4))
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8


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


def test_grad_cam_survives_a_saturated_sigmoid():
    # a sigmoid head with huge weights: p == 1.0 exactly in float32, so d p / d features == 0
    sat = _half_model((500.0, 0.0), activation="sigmoid")
    assert float(sat(_left_bright()[None])[0, 0]) == 1.0
    heat = vision.grad_cam(sat, _left_bright(), "feat")
    np.testing.assert_allclose(heat[:, :4], 1.0, atol=1e-6)
    np.testing.assert_allclose(heat[:, 4:], 0.0, atol=1e-6)
    assert sat.get_layer("head").activation.__name__ == "sigmoid"  # restored afterwards

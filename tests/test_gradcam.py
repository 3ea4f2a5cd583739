"""Known-answer tests for helpers.gradcam (and the overlay in helpers.plots)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import gradcam, plots

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
    heat = gradcam.grad_cam(_half_model((1.0, 0.0), nested), _left_bright(), "feat")
    assert heat.shape == (8, 8)
    np.testing.assert_allclose(heat[:, :4], 1.0, atol=1e-6)
    np.testing.assert_allclose(heat[:, 4:], 0.0, atol=1e-6)


def test_grad_cam_follows_the_evidence():
    # the same image, but the output now reads the "dark" channel: the map moves right
    heat = gradcam.grad_cam(_half_model((0.0, 1.0)), _left_bright(), "feat")
    np.testing.assert_allclose(heat[:, 4:], 1.0, atol=1e-6)
    np.testing.assert_allclose(heat[:, :4], 0.0, atol=1e-6)
    # class_index=0 explains 1 - p: evidence against the output is the bright left channel
    heat0 = gradcam.grad_cam(_half_model((0.0, 1.0)), _left_bright(), "feat", class_index=0)
    assert heat0[:, :4].mean() == 0.0 or heat0[:, 4:].mean() == 0.0


def test_grad_cam_unknown_layer():
    with pytest.raises(ValueError, match="no layer named"):
        gradcam.grad_cam(_half_model(), _left_bright(), "nope")


def test_overlay_heatmap_shape_and_range():
    img = np.full((20, 30, 3), 128, "uint8")
    out = plots.overlay_heatmap(img, np.eye(4))
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8


def test_grad_cam_survives_a_saturated_sigmoid():
    # a sigmoid head with huge weights: p == 1.0 exactly in float32, so d p / d features == 0
    sat = _half_model((500.0, 0.0), activation="sigmoid")
    assert float(sat(_left_bright()[None])[0, 0]) == 1.0
    heat = gradcam.grad_cam(sat, _left_bright(), "feat")
    np.testing.assert_allclose(heat[:, :4], 1.0, atol=1e-6)
    np.testing.assert_allclose(heat[:, 4:], 0.0, atol=1e-6)
    assert sat.get_layer("head").activation.__name__ == "sigmoid"  # restored afterwards

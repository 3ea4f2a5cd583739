"""Grad-CAM (Selvaraju et al., 2017): where a CNN looked when it decided.

:func:`grad_cam` works on a model or on a backbone nested inside one as a
layer; the overlay and the figure are in :mod:`helpers.plots`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["grad_cam"]


def _find_layer(model, layer_name: str):
    """Return ``(outer_layer_index or None, container_model)`` holding ``layer_name``."""
    names = [layer.name for layer in model.layers]
    if layer_name in names:
        return None, model
    for i, layer in enumerate(model.layers):
        if hasattr(layer, "layers") and layer_name in [sub.name for sub in layer.layers]:
            return i, layer
    raise ValueError(f"no layer named {layer_name!r} in {model.name} or its sub-models")


def _output_activation_layer(model):
    """The last layer (searching nested models) with a sigmoid or softmax activation, or None."""
    for layer in reversed(model.layers):
        if hasattr(layer, "layers"):
            found = _output_activation_layer(layer)
            if found is not None:
                return found
        act = getattr(layer, "activation", None)
        if act is not None and getattr(act, "__name__", "") in ("sigmoid", "softmax"):
            return layer
        if layer.weights:
            return None
    return None


def grad_cam(model, image: np.ndarray, layer_name: str, class_index: int | None = None) -> np.ndarray:
    """Grad-CAM heat map (Selvaraju et al., 2017) of ``model`` for one image, in [0, 1].

    ``image`` is one input as the model expects it (no batch axis).
    ``layer_name`` is a convolutional layer, in the model or in one nested
    sub-model (e.g. a backbone used as a layer; the layers after it must form
    a chain). As in the paper, gradients are taken of the score *before* the
    final sigmoid/softmax (a saturated probability has no gradient). For a
    single output the map explains class 1 (``class_index=0`` explains class
    0, i.e. the negative logit); for softmax outputs ``class_index`` defaults
    to the top class. Returns an ``(h, w)`` map at the layer's resolution.
    """
    import keras
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(image, dtype="float32")[None])
    outer, container = _find_layer(model, layer_name)
    last = _output_activation_layer(model)
    saved = last.activation if last is not None else None
    if last is not None:
        last.activation = keras.activations.linear
    try:
        if outer is None:
            grad_model = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.outputs[0]])
            with tf.GradientTape() as tape:
                conv, preds = grad_model(x, training=False)
                tape.watch(conv)
                score = _score(preds, class_index)
        else:
            inner = keras.Model(container.inputs,
                                [container.get_layer(layer_name).output, container.outputs[0]])
            with tf.GradientTape() as tape:
                h = x
                for layer in model.layers[:outer]:
                    if layer.__class__.__name__ != "InputLayer":
                        h = layer(h, training=False)
                conv, h = inner(h, training=False)
                tape.watch(conv)
                for layer in model.layers[outer + 1:]:
                    h = layer(h, training=False)
                score = _score(h, class_index)
        grads = tape.gradient(score, conv)[0]
    finally:
        if last is not None:
            last.activation = saved
    weights = tf.reduce_mean(grads, axis=(0, 1))
    cam = tf.nn.relu(tf.reduce_sum(conv[0] * weights, axis=-1)).numpy()
    top = cam.max()
    return (cam / top if top > 0 else cam).astype("float32")


def _score(preds, class_index):
    import tensorflow as tf

    preds = tf.reshape(preds, (tf.shape(preds)[0], -1))
    if preds.shape[-1] == 1:
        return preds[:, 0] if class_index in (None, 1) else -preds[:, 0]
    idx = int(tf.argmax(preds[0])) if class_index is None else class_index
    return preds[:, idx]



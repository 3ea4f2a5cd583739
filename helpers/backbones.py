"""Image backbones: one record per backbone, SqueezeNet v1.1, and the choice between them.

* :data:`BACKBONES` - one :class:`Backbone` record per model: how to build it,
  its weight entry in the registry, its preprocessing, its native input size
  and the size ``lab`` uses, where fine-tuning cuts it, which layers the
  chapters probe, and what stands in for it offline. Adding a backbone is one row.
* :func:`choose_backbone` - the real backbone when its ImageNet weights can be
  had (downloaded on first use in ``lab``/``full``), else its substitute with a
  banner, through the one policy of :mod:`helpers.pretrained`.
* :func:`load_backbone` - build what a choice names: ``(base, preprocess)``.
* :func:`squeezenet` - SqueezeNet v1.1 without top (Keras 3), loading the
  DeepCognition/keras-squeezenet ImageNet weight file by hand.
* :func:`split_backbone` - cut a base into a frozen bottom and a trainable top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers import config
from helpers.chapter import ModelChoice
from helpers.pretrained import RANDOM_SUFFIX, ModelUnavailableError, Weights, resolve, timing_only

__all__ = [
    "Backbone", "BACKBONES", "backbone", "choose_backbone", "load_backbone", "ladder_backbones",
    "split_backbone", "squeezenet", "load_squeezenet_weights", "squeezenet_layer_name",
    "caffe_preprocess", "SQUEEZENET_FIRES", "BackboneUnavailableError",
]

BackboneUnavailableError = ModelUnavailableError  # the name chapters 04-05 catch


# (fire id, squeeze filters, expand filters) of SqueezeNet v1.1
SQUEEZENET_FIRES: tuple[tuple[int, int, int], ...] = (
    (2, 16, 64), (3, 16, 64), (4, 32, 128), (5, 32, 128),
    (6, 48, 192), (7, 48, 192), (8, 64, 256), (9, 64, 256),
)
SQUEEZENET_POOL_AFTER = {3: "pool3", 5: "pool5"}


# --------------------------------------------------------------------------- SqueezeNet

def squeezenet_layer_name(h5_name: str) -> str:
    """Keras 3 layer name for an HDF5 group name (``fire2/squeeze1x1`` -> ``fire2_squeeze1x1``)."""
    return h5_name.replace("/", "_")


def _fire(x, fire_id: int, squeeze: int, expand: int):
    import keras

    p = f"fire{fire_id}_"
    x = keras.layers.Conv2D(squeeze, 1, padding="valid", name=p + "squeeze1x1")(x)
    x = keras.layers.Activation("relu", name=p + "relu_squeeze1x1")(x)
    left = keras.layers.Conv2D(expand, 1, padding="valid", name=p + "expand1x1")(x)
    left = keras.layers.Activation("relu", name=p + "relu_expand1x1")(left)
    right = keras.layers.Conv2D(expand, 3, padding="same", name=p + "expand3x3")(x)
    right = keras.layers.Activation("relu", name=p + "relu_expand3x3")(right)
    return keras.layers.Concatenate(axis=-1, name=p + "concat")([left, right])


def squeezenet(input_shape: tuple[int, int, int] = (227, 227, 3), weights: str | Path | None = None,
               name: str = "squeezenet_v1_1"):
    """SqueezeNet v1.1 without its classifier, as a Keras 3 functional model.

    Layer names follow the weight file with ``/`` replaced by ``_``. For a
    227x227 input the output is a ``(13, 13, 512)`` feature map. ``weights``
    is the path of ``squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5``
    (``fetch("squeezenet_weights")``); ``None`` leaves the weights random.
    Inputs are Caffe-preprocessed images (:func:`caffe_preprocess`).
    """
    import keras

    inputs = keras.Input(shape=input_shape, name="image")
    x = keras.layers.Conv2D(64, 3, strides=2, padding="valid", name="conv1")(inputs)
    x = keras.layers.Activation("relu", name="relu_conv1")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for fire_id, squeeze, expand in SQUEEZENET_FIRES:
        x = _fire(x, fire_id, squeeze, expand)
        if fire_id in SQUEEZENET_POOL_AFTER:
            x = keras.layers.MaxPooling2D(3, strides=2, name=SQUEEZENET_POOL_AFTER[fire_id])(x)
    model = keras.Model(inputs, x, name=name)
    if weights is not None:
        load_squeezenet_weights(model, weights)
    return model


def _collect_into(arrays: list) -> Callable:
    import h5py

    def visit(_name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset):
            arrays.append(np.asarray(obj))

    return visit


def load_squeezenet_weights(model, path: str | Path) -> list[str]:
    """Copy every conv kernel/bias from the HDF5 file into ``model``; check each shape.

    Returns the names of the layers loaded. Raises ``ValueError`` on a missing
    group or a shape mismatch.
    """
    import h5py

    loaded = []
    with h5py.File(path, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f.attrs["layer_names"]]
        for h5_name in names:
            group = f[h5_name] if h5_name in f else None
            if group is None:
                continue
            arrays: list[np.ndarray] = []
            group.visititems(_collect_into(arrays))
            if not arrays:
                continue
            kernel = next(a for a in arrays if a.ndim == 4)
            bias = next(a for a in arrays if a.ndim == 1)
            try:
                layer = model.get_layer(squeezenet_layer_name(h5_name))
            except ValueError as exc:
                raise ValueError(f"weight file group {h5_name!r} has no layer in the model") from exc
            k_shape, b_shape = tuple(layer.kernel.shape), tuple(layer.bias.shape)
            if kernel.shape != k_shape or bias.shape != b_shape:
                raise ValueError(f"{h5_name}: file kernel {kernel.shape} / bias {bias.shape} vs "
                                 f"layer {k_shape} / {b_shape}")
            layer.set_weights([kernel, bias])
            loaded.append(layer.name)
    convs = [layer.name for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    missing = sorted(set(convs) - set(loaded))
    if missing:
        raise ValueError(f"no weights in {path} for layers {missing}")
    return loaded


def caffe_preprocess(x):
    """Caffe-style ImageNet preprocessing (RGB->BGR, mean subtraction) for SqueezeNet and VGG16."""
    from keras.applications import imagenet_utils

    return imagenet_utils.preprocess_input(x, mode="caffe")


# --------------------------------------------------------------------------- one record per backbone

@dataclass(frozen=True)
class Backbone:
    """Everything the chapters need to know about one backbone."""

    key: str  # "vgg16"
    title: str  # "VGG16"
    constructor: str  # a keras.applications name, or "squeezenet"
    weights: str  # the registry entry of its ImageNet weights (no top)
    preprocess: str  # "caffe", or the keras.applications module with preprocess_input
    native: int  # the input size it was trained at
    lab_size: int  # the input size the lab profile uses (smaller where the model is slow on a CPU)
    fine_tune_split: str  # layer after which the top (unfrozen for fine-tuning) begins
    probe_layers: tuple[str, str]  # an early and a late layer to look at (the late one for Grad-CAM)
    head_input: str  # "flatten" (the source's VGG16 head) or "avg" (global average pooling)
    substitute: str = ""  # key of the backbone that stands in offline in lab/smoke
    smoke_size: int = 99
    lab_fine_tune_split: str = ""  # a later cut for lab and smoke, where the full top block is slow on a CPU

    def size(self, profile: str) -> int:
        """Input size in ``profile``."""
        return {"smoke": self.smoke_size, "lab": self.lab_size, "full": self.native}[config.resolve_profile(profile)]

    def fine_tune_split_for(self, profile: str) -> str:
        """The layer after which fine-tuning unfreezes, in ``profile``.

        ``full`` always uses :attr:`fine_tune_split` (the source's top block);
        ``lab`` and ``smoke`` use :attr:`lab_fine_tune_split` where one is set.
        """
        if config.resolve_profile(profile) == "full" or not self.lab_fine_tune_split:
            return self.fine_tune_split
        return self.lab_fine_tune_split

    def preprocess_fn(self) -> Callable:
        """Maps float RGB pixels in [0, 255] to the backbone's input."""
        if self.preprocess == "caffe":
            return caffe_preprocess
        import keras

        return getattr(keras.applications, self.preprocess).preprocess_input

    def preprocessing_layer(self, name: str = "preprocessing"):
        """A built-in Keras layer doing :meth:`preprocess_fn` inside a model (raw RGB in [0, 255] in).

        With it, a saved model takes the pixels of a photo file as they are, and
        needs no course code to load (only built-in layers): Caffe-style (VGG16,
        SqueezeNet) is a fixed 1x1 convolution that swaps RGB to BGR and
        subtracts the ImageNet means; MobileNetV2 rescales to [-1, 1];
        EfficientNet preprocesses inside its own layers, so its layer passes
        pixels through.
        """
        import keras
        import numpy as np

        mode = "caffe" if self.preprocess in ("caffe", "vgg16") else self.preprocess
        if mode == "caffe":
            layer = keras.layers.Conv2D(3, 1, trainable=False, name=name)
            layer.build((None, None, None, 3))
            kernel = np.zeros((1, 1, 3, 3), "float32")
            for out_channel, in_channel in enumerate((2, 1, 0)):   # BGR out of RGB
                kernel[0, 0, in_channel, out_channel] = 1.0
            layer.set_weights([kernel, -np.array([103.939, 116.779, 123.68], "float32")])
            return layer
        if mode == "mobilenet_v2":
            return keras.layers.Rescaling(1 / 127.5, offset=-1.0, name=name)
        if mode == "efficientnet":
            return keras.layers.Identity(name=name)
        raise ValueError(f"{self.key}: no preprocessing layer for {self.preprocess!r}")

    def as_weights(self) -> Weights:
        """The record as :func:`helpers.pretrained.resolve` sees it."""
        return Weights(f"{self.title} (ImageNet)", (self.weights,), key=self.key)


BACKBONES: dict[str, Backbone] = {b.key: b for b in [
    Backbone("vgg16", "VGG16", "VGG16", "vgg16_notop", "vgg16", native=224, lab_size=80,
             fine_tune_split="block4_pool", probe_layers=("block1_conv2", "block5_conv3"),
             head_input="flatten", substitute="squeezenet", smoke_size=64,
             lab_fine_tune_split="block5_conv2"),   # lab: fine-tune block5_conv3 only (a third of block 5's work)
    Backbone("squeezenet", "SqueezeNet v1.1", "squeezenet", "squeezenet_weights", "caffe", native=227,
             lab_size=227, fine_tune_split="fire8_concat", probe_layers=("relu_conv1", "fire9_concat"),
             head_input="avg"),
    Backbone("efficientnetb0", "EfficientNetB0", "EfficientNetB0", "efficientnetb0_notop", "efficientnet",
             native=224, lab_size=224, fine_tune_split="block6d_add",
             probe_layers=("block1a_activation", "top_activation"), head_input="avg"),
    Backbone("mobilenetv2", "MobileNetV2", "MobileNetV2", "mobilenetv2_notop", "mobilenet_v2", native=224,
             lab_size=224, fine_tune_split="block_15_add", probe_layers=("block_1_expand_relu", "out_relu"),
             head_input="avg"),
]}


def backbone(key_or_choice: str | ModelChoice) -> Backbone:
    """The record of a backbone key (``"vgg16"``, ``"vgg16-random"``) or of the model a choice uses."""
    key = key_or_choice.key if isinstance(key_or_choice, ModelChoice) else key_or_choice
    key = key.lower().removesuffix(RANDOM_SUFFIX)
    try:
        return BACKBONES[key]
    except KeyError:
        raise KeyError(f"unknown backbone {key!r}; known: {', '.join(BACKBONES)} "
                       f"(add {RANDOM_SUFFIX!r} for random weights, timing only)") from None


def choose_backbone(requested: str = "vgg16", profile: str = "lab", data_dir: str | Path | None = None,
                    role: str = "backbone") -> ModelChoice:
    """Which backbone a notebook uses, by the one substitution policy (:func:`helpers.pretrained.resolve`).

    ``requested="vgg16-random"`` builds VGG16 with random weights and a TIMING
    ONLY banner (the benchmark measures run time with it).
    """
    record = backbone(requested)
    if requested.lower().endswith(RANDOM_SUFFIX):
        return timing_only(role, record.as_weights())
    sub = BACKBONES[record.substitute].as_weights() if record.substitute else None
    return resolve(role, record.as_weights(), sub, profile, data_dir)


def load_backbone(choice: ModelChoice, input_shape: tuple[int, int, int] | None = None) -> tuple[object, Callable]:
    """Build the backbone a :class:`ModelChoice` names: ``(base_model, preprocess_fn)``.

    The base is returned trainable; freeze it in the notebook.
    """
    import keras

    record = backbone(choice)
    shape = input_shape or (record.native, record.native, 3)
    weights = None if choice.random_weights else str(choice.paths[0])
    if not choice.random_weights and not choice.paths:
        raise ValueError(f"{choice.used}: the choice names no weight file")
    if record.constructor == "squeezenet":
        if choice.random_weights:
            keras.utils.set_random_seed(0)  # random, but the same every run
        return squeezenet(shape, weights=weights), record.preprocess_fn()
    ctor = getattr(keras.applications, record.constructor)
    return ctor(include_top=False, weights=weights, input_shape=shape), record.preprocess_fn()


def ladder_backbones(names: tuple[str, ...], profile: str, data_dir: str | Path | None = None,
                     ) -> dict[str, ModelChoice | str]:
    """The stronger backbones of chapter 05's ladder: ``{key: ModelChoice}``, or the reason it is skipped.

    They have no substitute: a rung whose weights cannot be had is skipped and says why.
    """
    out: dict[str, ModelChoice | str] = {}
    for key in names:
        try:
            out[key] = resolve("ladder", BACKBONES[key].as_weights(), None, profile, data_dir)
        except ModelUnavailableError as exc:
            out[key] = str(exc).splitlines()[0]
    return out


def split_backbone(base, layer_name: str):
    """Cut ``base`` after ``layer_name``: ``(bottom, top)`` with ``top(bottom(x)) == base(x)``.

    ``top`` shares its layers (and weights) with ``base``, so fine-tuning ``top``
    fine-tunes the backbone's top block.
    """
    import keras

    cut = base.get_layer(layer_name).output
    return (keras.Model(base.input, cut, name=f"{base.name}_bottom"),
            keras.Model(cut, base.output, name=f"{base.name}_top"))

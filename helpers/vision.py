"""Image backbones, input pipelines, feature caching and Grad-CAM for Part II.

* :func:`squeezenet` - SqueezeNet v1.1 without top (Keras 3), loading the
  DeepCognition/keras-squeezenet ImageNet weight file by hand.
* :func:`choose_backbone` / :func:`load_backbone` - VGG16 when its ImageNet
  weights can be had, else a visible SqueezeNet substitute (never in ``full``).
* :func:`generator_pipeline` (the source's ``ImageDataGenerator``) and
  :func:`dataset_pipeline` (``image_dataset_from_directory`` + Keras
  augmentation layers + ``tf.data``), and :func:`pipeline_throughput`.
* :func:`cached_features` - run a frozen base once, keep the features on disk.
* :func:`grad_cam` and :func:`plot_grad_cam` - where a CNN looked.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from helpers import config
from helpers.run import ModelChoice

__all__ = [
    "SQUEEZENET_FIRES", "squeezenet", "load_squeezenet_weights", "squeezenet_layer_name",
    "caffe_preprocess", "weights_available", "vgg16_available", "choose_backbone",
    "load_backbone", "BACKBONES", "ladder_backbones", "SOURCE_AUGMENTATION",
    "generator_pipeline", "augmentation_layers", "source_augment", "dataset_pipeline", "pipeline_throughput",
    "load_images", "cached_images", "cached_features", "FINE_TUNE_SPLIT", "split_backbone", "grad_cam", "overlay_heatmap", "plot_grad_cam",
    "BackboneUnavailableError", "epoch_timer", "PROBE_LAYERS", "backbone_key",
]

# (fire id, squeeze filters, expand filters) of SqueezeNet v1.1
SQUEEZENET_FIRES: tuple[tuple[int, int, int], ...] = (
    (2, 16, 64), (3, 16, 64), (4, 32, 128), (5, 32, 128),
    (6, 48, 192), (7, 48, 192), (8, 64, 256), (9, 64, 256),
)
SQUEEZENET_POOL_AFTER = {3: "pool3", 5: "pool5"}


class BackboneUnavailableError(RuntimeError):
    """Raised when a requested backbone's weights cannot be had and no substitute is allowed."""


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


# --------------------------------------------------------------------------- backbone choice

# name -> (keras.applications constructor, notop weight file name, preprocess module, default size)
BACKBONES: dict[str, tuple[str, str, str, int]] = {
    "vgg16": ("VGG16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg16", 224),
    "mobilenetv2": ("MobileNetV2", "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
                    "mobilenet_v2", 224),
    "efficientnetb0": ("EfficientNetB0", "efficientnetb0_notop.h5", "efficientnet", 224),
}
_WEIGHT_URLS = {
    "vgg16": "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/",
    "mobilenetv2": "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/",
    "efficientnetb0": "https://storage.googleapis.com/keras-applications/",
}


def _keras_models_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def weights_available(name: str, download: bool = True, timeout: float = 5.0) -> tuple[bool, str]:
    """Whether ``keras.applications`` ImageNet weights of ``name`` can be had.

    Looks in ``~/.keras/models`` first; else (``download=True``) tries to fetch
    the file with a ``timeout``-second socket timeout, so an offline machine
    answers in seconds. Returns ``(available, reason)``.
    """
    name = name.lower()
    if name not in BACKBONES:
        raise KeyError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}")
    fname = BACKBONES[name][1]
    if (_keras_models_dir() / fname).is_file():
        return True, f"weights cached in {_keras_models_dir()}"
    if not download:
        return False, f"{fname} is not in {_keras_models_dir()}"
    import keras

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # keras prints "Downloading data from ..."
            keras.utils.get_file(fname, _WEIGHT_URLS[name] + fname, cache_subdir="models")
        return True, "weights downloaded"
    except Exception as exc:  # offline: URLError, timeout, DNS failure...
        partial = _keras_models_dir() / fname
        if partial.is_file() and partial.stat().st_size < 1000:
            partial.unlink()
        detail = str(exc).splitlines()[0].split(" on http")[0][:80] if str(exc) else exc.__class__.__name__
        return False, f"{BACKBONES[name][0]} ImageNet weights could not be downloaded ({detail})"
    finally:
        socket.setdefaulttimeout(old)


def vgg16_available(timeout: float = 5.0) -> tuple[bool, str]:
    """``weights_available("vgg16")`` (a separate name so tests can monkeypatch it)."""
    return weights_available("vgg16", timeout=timeout)


def choose_backbone(requested: str = "vgg16", profile: str = "lab", data_dir: str | Path | None = None,
                    role: str = "backbone") -> ModelChoice:
    """Decide which backbone a notebook uses.

    ``vgg16`` (and the other ``keras.applications`` names) are used when their
    ImageNet weights can be had. Otherwise ``smoke``/``lab`` substitute
    SqueezeNet v1.1 with the ImageNet weights from the data dir; ``smoke``
    without that file uses a randomly initialised SqueezeNet. ``full`` never
    substitutes: it raises :class:`BackboneUnavailableError`.
    ``requested="squeezenet"`` asks for SqueezeNet directly.
    """
    requested = requested.lower()
    profile = config.resolve_profile(profile)
    if requested == "squeezenet":
        path = _squeezenet_file(data_dir)
        if path is not None:
            return ModelChoice(role, requested, "squeezenet", f"ImageNet weights from {path}")
        if profile == "smoke":
            return ModelChoice(role, requested, "squeezenet (random init)",
                               "The SqueezeNet weight file is not in the data dir: smoke uses random weights.")
        raise BackboneUnavailableError(_squeezenet_missing(data_dir))
    ok, why = vgg16_available() if requested == "vgg16" else weights_available(requested)
    if ok:
        return ModelChoice(role, requested, requested, why)
    if profile == "full":
        raise BackboneUnavailableError(
            f"{requested}: {why}. The full profile never substitutes a backbone: connect to the "
            f"internet once (the weights land in {_keras_models_dir()}) or copy the file there.")
    path = _squeezenet_file(data_dir)
    if path is not None:
        return ModelChoice(role, requested, "squeezenet",
                           f"{why}; SqueezeNet v1.1 with ImageNet weights (data dir) stands in. "
                           "Numbers differ from the source's VGG16.")
    if profile == "smoke":
        return ModelChoice(role, requested, "squeezenet (random init)",
                           f"{why} and no SqueezeNet weight file in the data dir: a RANDOMLY "
                           "INITIALISED SqueezeNet stands in (smoke tests the code only).")
    raise BackboneUnavailableError(f"{requested}: {why}. {_squeezenet_missing(data_dir)}")


def _squeezenet_file(data_dir: str | Path | None) -> Path | None:
    from helpers.datasets import DatasetError, fetch

    try:
        return fetch("squeezenet_weights", Path(data_dir) if data_dir else None,
                     download_missing=False, progressbar=False)
    except DatasetError:
        return None


def _squeezenet_missing(data_dir) -> str:
    return ("The SqueezeNet v1.1 weight file is not in the data dir either "
            f"({data_dir or config.data_dir()}/models/): run `python -m helpers.datasets fetch "
            "squeezenet_weights` on a connected machine.")


def load_backbone(choice: ModelChoice, input_shape: tuple[int, int, int] | None = None,
                  data_dir: str | Path | None = None) -> tuple[object, Callable]:
    """Build the backbone a :class:`ModelChoice` names: ``(base_model, preprocess_fn)``.

    ``preprocess_fn`` maps float RGB pixels in [0, 255] to the backbone's input.
    The base is returned trainable; freeze it in the notebook.
    """
    import keras

    used = choice.used
    if used.startswith("squeezenet"):
        shape = input_shape or (227, 227, 3)
        weights = None if "random" in used else _squeezenet_file(data_dir)
        return squeezenet(shape, weights=weights), caffe_preprocess
    ctor, _f, module, size = BACKBONES[used]
    shape = input_shape or (size, size, 3)
    base = getattr(keras.applications, ctor)(include_top=False, weights="imagenet", input_shape=shape)
    return base, getattr(keras.applications, module).preprocess_input


def ladder_backbones(names: Sequence[str] = ("efficientnetb0", "mobilenetv2"),
                     timeout: float = 5.0) -> dict[str, tuple[bool, str]]:
    """Availability of the stronger backbones for the ladder: ``{name: (ok, reason)}``."""
    return {n: weights_available(n, timeout=timeout) for n in names}


# --------------------------------------------------------------------------- input pipelines

# The source's training augmentation (ImageDataGenerator arguments).
SOURCE_AUGMENTATION: dict = dict(rescale=1.0 / 255, rotation_range=30, width_shift_range=0.1,
                                 height_shift_range=0.1, shear_range=0.2, zoom_range=0.2,
                                 horizontal_flip=True, fill_mode="nearest")


def generator_pipeline(directory: str | Path, image_size: tuple[int, int] = (224, 224),
                       batch_size: int = 20, augment: bool = True, shuffle: bool = True,
                       seed: int = 42, rescale: bool = True):
    """The source's way: ``ImageDataGenerator(...).flow_from_directory`` (binary labels).

    ``ImageDataGenerator`` survives in TF 2.21 only as the legacy shim
    ``tensorflow.keras.preprocessing.image``. ``rescale=False`` keeps [0, 255].
    """
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    kwargs = dict(SOURCE_AUGMENTATION) if augment else {"rescale": 1.0 / 255}
    if not rescale:
        kwargs.pop("rescale")
    gen = ImageDataGenerator(**kwargs)
    return gen.flow_from_directory(str(directory), target_size=tuple(image_size), batch_size=batch_size,
                                   class_mode="binary", shuffle=shuffle, seed=seed)


def augmentation_layers(seed: int = 42, source_shear: bool = True):
    """Keras augmentation layers that mirror :data:`SOURCE_AUGMENTATION`.

    ``ImageDataGenerator``'s ``shear_range=0.2`` is an angle in *degrees*
    (a shift of tan(0.2 deg) = 0.35 % of the width), so the faithful
    ``RandomShear`` factor is 0.0035; ``source_shear=False`` drops it.
    """
    import keras

    layers = [
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(30 / 360, fill_mode="nearest", seed=seed),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed),
        keras.layers.RandomZoom(0.2, 0.2, fill_mode="nearest", seed=seed),
    ]
    if source_shear:
        layers.append(keras.layers.RandomShear(x_factor=math.tan(math.radians(0.2)),
                                               fill_mode="nearest", seed=seed))
    return keras.Sequential(layers, name="augmentation")


def source_augment(images, seed: int | None = None, rotation: float = 30.0, shift: float = 0.1,
                   shear: float = 0.2, zoom: float = 0.2, flip: bool = True):
    """The source's augmentation as ONE random affine transform per image (``tf`` ops).

    Like ``ImageDataGenerator``, rotation (degrees), width/height shift
    (fraction), shear (degrees), zoom (``[1-zoom, 1+zoom]`` per axis) and a
    horizontal flip are combined into a single matrix and the image is
    resampled once (bilinear, ``nearest`` fill), instead of once per Keras
    layer. ``images``: float ``(batch, h, w, c)``.
    """
    import tensorflow as tf

    shape = tf.shape(images)
    b = shape[0]
    h, w = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)

    def u(lo, hi, k):
        return tf.random.uniform([b], lo, hi, seed=None if seed is None else seed + k)

    theta = u(-rotation, rotation, 1) * (math.pi / 180)
    tx, ty = u(-shift, shift, 2) * w, u(-shift, shift, 3) * h
    sh = u(-shear, shear, 4) * (math.pi / 180)
    zx, zy = u(1 - zoom, 1 + zoom, 5), u(1 - zoom, 1 + zoom, 6)
    fx = tf.where(u(0.0, 1.0, 7) < 0.5, -1.0, 1.0) if flip else tf.ones([b])
    cos, sin = tf.cos(theta), tf.sin(theta)
    # output (x, y) -> input coordinates: rotation . shear . zoom . flip about the centre, plus shift
    # A = R(theta) . Shear . diag(zx, zy) . diag(fx, 1)
    a0 = fx * zx * cos
    a1 = zy * (cos * tf.tan(sh) - sin)
    b0 = fx * zx * sin
    b1 = zy * (sin * tf.tan(sh) + cos)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    a2 = cx - a0 * cx - a1 * cy + tx
    b2 = cy - b0 * cx - b1 * cy + ty
    zeros = tf.zeros([b])
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=shape[1:3], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="NEAREST")


def dataset_pipeline(directory: str | Path, image_size: tuple[int, int] = (224, 224),
                     batch_size: int = 20, augment: bool = True, shuffle: bool = True,
                     seed: int = 42, rescale: bool = True, cache: bool = True,
                     take_batches: int | None = None, augmentation: str = "affine"):
    """The modern way: ``image_dataset_from_directory`` -> cache -> augment -> prefetch.

    Decoded, resized images are cached (in memory) after the first full pass,
    so later epochs skip JPEG decoding; augmentation runs in ``tf.data`` in
    parallel; ``prefetch`` overlaps input with training. Labels are float 0/1.
    ``take_batches`` keeps only the first batches (before the cache, so that
    a pass over them completes the cache). ``augmentation="affine"`` applies
    :func:`source_augment` (one resampling per image); ``"layers"`` the
    Keras layers of :func:`augmentation_layers` (one resampling per layer).
    """
    import keras
    import tensorflow as tf

    ds = keras.utils.image_dataset_from_directory(
        str(directory), image_size=tuple(image_size), batch_size=batch_size, label_mode="binary",
        shuffle=shuffle, seed=seed, verbose=False)
    if take_batches is not None:
        ds = ds.take(take_batches)
    if cache:
        ds = ds.cache()
    if augment and augmentation == "layers":
        aug = augmentation_layers(seed)
        ds = ds.map(lambda x, y: (aug(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    elif augment:
        ds = ds.map(lambda x, y: (source_augment(x, seed), y), num_parallel_calls=tf.data.AUTOTUNE)
    if rescale:
        ds = ds.map(lambda x, y: (x / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def pipeline_throughput(directory: str | Path, image_size: tuple[int, int] = (224, 224),
                        batch_size: int = 20, n_images: int = 400, epochs: int = 2,
                        seed: int = 42) -> list[dict]:
    """Images per second of both pipelines with the source's augmentation.

    Reads ``n_images`` images per epoch from ``directory`` (each pipeline sees
    the same folder) for ``epochs`` epochs and reports the last epoch (the
    ``tf.data`` cache is warm by then, as it is in training). Rows, in order:
    ``ImageDataGenerator``, ``tf.data`` with the Keras layers, ``tf.data``
    with :func:`source_augment`; each ``{"pipeline", "images_per_s",
    "seconds", "images"}``.
    """
    steps = max(1, n_images // batch_size)
    rows = []
    gen = generator_pipeline(directory, image_size, batch_size, seed=seed)
    for _ in range(epochs):
        t0 = time.perf_counter()
        for _ in range(steps):
            next(gen)
        secs = time.perf_counter() - t0
    rows.append({"pipeline": "ImageDataGenerator (source)", "images_per_s": steps * batch_size / secs,
                 "seconds": secs, "images": steps * batch_size})
    for kind, label in (("layers", "tf.data + 5 Keras augmentation layers"),
                        ("affine", "tf.data + one combined affine transform")):
        ds = dataset_pipeline(directory, image_size, batch_size, seed=seed, take_batches=steps,
                              augmentation=kind)
        for _ in range(epochs):
            t0 = time.perf_counter()
            n = sum(int(x.shape[0]) for x, _y in ds)
            secs = time.perf_counter() - t0
        rows.append({"pipeline": label, "images_per_s": n / secs, "seconds": secs, "images": n})
    return rows


def load_images(paths: Sequence[str | Path], image_size: tuple[int, int] = (227, 227)) -> np.ndarray:
    """Decode and resize image files into a uint8 ``(n, h, w, 3)`` array (bilinear)."""
    from PIL import Image

    out = np.empty((len(paths), image_size[0], image_size[1], 3), dtype=np.uint8)
    for i, p in enumerate(paths):
        with Image.open(p) as img:
            out[i] = np.asarray(img.convert("RGB").resize((image_size[1], image_size[0]), Image.BILINEAR))
    return out


# --------------------------------------------------------------------------- caches and splits

def cached_images(paths: Sequence[str | Path], image_size: tuple[int, int], key: str,
                  cache_dir: str | Path | None = None) -> tuple[np.ndarray, bool]:
    """:func:`load_images` once, then reuse ``<cache_dir>/<key>_<h>x<w>.npy`` (uint8).

    ``cache_dir`` defaults to ``<data dir>/cache/images``; the cache is reused
    only when the list of paths matches. Returns ``(images, from_cache)``.
    """
    cache_dir = Path(cache_dir) if cache_dir else config.data_dir() / "cache" / "images"
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = cache_dir / f"{key}_{image_size[0]}x{image_size[1]}"
    fname, index = stem.with_suffix(".npy"), stem.with_suffix(".paths.txt")
    listing = "\n".join(str(p) for p in paths)
    if fname.is_file() and index.is_file() and index.read_text() == listing:
        return np.load(fname), True
    images = load_images(paths, image_size)
    np.save(fname, images)
    index.write_text(listing)
    return images, False


# Layer after which a backbone is cut for fine-tuning: everything above it is unfrozen.
FINE_TUNE_SPLIT: dict[str, str] = {"vgg16": "block4_pool", "squeezenet": "fire8_concat",
                                   "mobilenetv2": "block_15_add", "efficientnetb0": "block6d_add"}


def split_backbone(base, layer_name: str):
    """Cut ``base`` after ``layer_name``: ``(bottom, top)`` with ``top(bottom(x)) == base(x)``.

    ``top`` shares its layers (and weights) with ``base``, so fine-tuning ``top``
    fine-tunes the backbone's top block.
    """
    import keras

    cut = base.get_layer(layer_name).output
    return (keras.Model(base.input, cut, name=f"{base.name}_bottom"),
            keras.Model(cut, base.output, name=f"{base.name}_top"))


# --------------------------------------------------------------------------- feature cache

def cached_features(base, preprocess: Callable, paths: Sequence[str | Path], key: str,
                    cache_dir: str | Path | None = None, batch_size: int = 50,
                    pooling: str | None = "avg", images: np.ndarray | None = None,
                    ) -> tuple[np.ndarray, bool]:
    """Run a frozen ``base`` once over ``paths`` and cache the features as ``.npy``.

    ``key`` names the cache file (use backbone + size + split, e.g.
    ``squeezenet_227_train``); the file lives in ``cache_dir`` (default
    ``<data dir>/cache/features``) together with the list of paths, and is
    reused only when the paths match. ``pooling="avg"`` stores the
    global-average-pooled vector, ``None`` the full feature map (float16).
    ``images`` may pass already-decoded uint8 images in the order of ``paths``.
    Returns ``(features, from_cache)``.
    """
    cache_dir = Path(cache_dir) if cache_dir else config.data_dir() / "cache" / "features"
    cache_dir.mkdir(parents=True, exist_ok=True)
    fname = cache_dir / f"{key}_{pooling or 'map'}.npy"
    index = cache_dir / f"{key}_{pooling or 'map'}.paths.txt"
    listing = "\n".join(str(p) for p in paths)
    if fname.is_file() and index.is_file() and index.read_text() == listing:
        return np.load(fname), True
    size = tuple(base.input_shape[1:3])
    chunks = []
    for start in range(0, len(paths), batch_size):
        batch = (images[start:start + batch_size] if images is not None
                 else load_images(paths[start:start + batch_size], size))
        feats = np.asarray(base(preprocess(batch.astype("float32")), training=False))
        if pooling == "avg":
            feats = feats.mean(axis=(1, 2))
        elif pooling == "max":
            feats = feats.max(axis=(1, 2))
        chunks.append(feats.astype("float32" if pooling else "float16"))
    features = np.concatenate(chunks)
    np.save(fname, features)
    index.write_text(listing)
    return features, False


def epoch_timer():
    """A Keras callback that records each epoch's wall time in ``.times`` (seconds)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._t0)

    return EpochTimer()


# Layers shown as "early" and "late" features, and the Grad-CAM layer, per backbone.
PROBE_LAYERS: dict[str, tuple[str, str]] = {
    "squeezenet": ("relu_conv1", "fire9_concat"),
    "vgg16": ("block1_conv2", "block5_conv3"),
    "mobilenetv2": ("block_1_expand_relu", "out_relu"),
    "efficientnetb0": ("block1a_activation", "top_activation"),
}


def backbone_key(choice: ModelChoice) -> str:
    """Short name of the backbone used: ``squeezenet``, ``squeezenet_random``, ``vgg16``..."""
    if choice.used.startswith("squeezenet"):
        return "squeezenet_random" if "random" in choice.used else "squeezenet"
    return choice.used


# --------------------------------------------------------------------------- Grad-CAM

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


def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45,
                    cmap: str = "jet") -> np.ndarray:
    """Blend a [0, 1] heat map (resized bilinearly) over a uint8/[0, 255] RGB image."""
    import matplotlib
    import tensorflow as tf

    img = np.asarray(image, dtype="float32")
    if img.max() <= 1.0:
        img = img * 255.0
    h, w = img.shape[:2]
    heat = tf.image.resize(np.asarray(heatmap, "float32")[..., None], (h, w)).numpy()[..., 0]
    colour = matplotlib.colormaps[cmap](np.clip(heat, 0, 1))[..., :3] * 255.0
    return np.clip((1 - alpha) * img + alpha * colour, 0, 255).astype("uint8")


def plot_grad_cam(images: Sequence[np.ndarray], heatmaps: Sequence[np.ndarray],
                  titles: Sequence[str] | None = None, ncols: int = 4, suptitle: str = ""):
    """A grid of Grad-CAM overlays (image + heat map). Returns the figure."""
    from helpers import plots

    overlays = [overlay_heatmap(img, hm) for img, hm in zip(images, heatmaps, strict=True)]
    return plots.show_images(overlays, titles, ncols=ncols, size=2.2, suptitle=suptitle)

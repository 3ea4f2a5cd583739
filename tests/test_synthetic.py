"""helpers.synthetic: deterministic stand-ins with the real datasets' shapes."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import synthetic as syn
from helpers.datasets import load_amazon, load_cifar10, load_imdb


def test_images_deterministic_shapes_dtypes():
    x, y = syn.images(50, size=16, n_classes=4, seed=3)
    x2, y2 = syn.images(50, size=16, n_classes=4, seed=3)
    x3, _ = syn.images(50, size=16, n_classes=4, seed=4)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, x3)
    assert x.shape == (50, 16, 16, 3) and x.dtype == np.uint8
    assert y.shape == (50,) and y.dtype == np.int64
    assert set(y.tolist()) <= set(range(4))
    grey, _ = syn.images(5, size=8, channels=1)
    assert grey.shape == (5, 8, 8, 1)


def test_images_labels_roughly_balanced_and_learnable():
    x, y = syn.images(1000, size=32, n_classes=10, seed=0)
    counts = np.bincount(y, minlength=10)
    assert counts.min() >= 60 and counts.max() <= 140
    # class means differ clearly: the nearest class mean classifies most images
    flat = x.reshape(len(x), -1).astype(np.float32)
    means = np.stack([flat[y == k].mean(axis=0) for k in range(10)])
    pred = np.argmin(((flat[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (pred == y).mean() > 0.9


def test_reviews_deterministic_balanced_and_signal():
    texts, labels = syn.reviews(400, seed=1)
    again, labels2 = syn.reviews(400, seed=1)
    other, _ = syn.reviews(400, seed=2)
    assert texts == again and np.array_equal(labels, labels2)
    assert texts != other
    assert len(texts) == 400 and labels.dtype == np.int64 and set(labels.tolist()) == {0, 1}
    assert 0.4 < labels.mean() < 0.6
    assert all(isinstance(t, str) and t.endswith(".") and t[0].isupper() for t in texts)
    assert not any(" ." in t for t in texts)  # no space before a full stop
    lengths = [len(t.split()) for t in texts]
    assert min(lengths) >= 20 and max(lengths) < 120

    def score(text: str) -> int:
        words = text.lower().replace(".", "").split()
        return sum(w in syn.POSITIVE for w in words) - sum(w in syn.NEGATIVE for w in words)

    accuracy = np.mean([(score(t) > 0) == bool(lbl) for t, lbl in zip(texts, labels, strict=True)])
    assert accuracy > 0.8


def test_faces_deterministic_shapes_range():
    x, ids = syn.faces(n_people=3, per_person=4, height=20, width=16, seed=2)
    x2, ids2 = syn.faces(n_people=3, per_person=4, height=20, width=16, seed=2)
    np.testing.assert_array_equal(x, x2)
    assert x.shape == (12, 20, 16) and x.dtype == np.float32
    assert ids.tolist() == [0] * 4 + [1] * 4 + [2] * 4 and ids.dtype == np.int64
    assert 0.0 <= x.min() and x.max() <= 1.0
    full, full_ids = syn.faces()
    assert full.shape == (400, 112, 92) and np.bincount(full_ids).tolist() == [10] * 40


def test_cats_dogs_folder_tree_and_idempotent(tmp_path):
    from PIL import Image

    base = syn.cats_dogs_folder(tmp_path, n_per_class=6, size=24)
    assert base == tmp_path / "cats_dogs_synthetic_6_24"
    assert (base / ".complete").exists()
    files = {p.relative_to(base).as_posix(): p.stat().st_mtime_ns for p in base.rglob("*.jpg")}
    train = [f for f in files if f.startswith("train/")]
    val = [f for f in files if f.startswith("validation/")]
    assert len(train) == 12 and len(val) == 8  # 2 * n per split; validation n = max(n // 2, 4)
    for split in ("train", "validation"):
        assert {(base / split / c).is_dir() for c in ("cats", "dogs")} == {True}
        assert len(list((base / split / "cats").glob("*.jpg"))) >= 1
        assert len(list((base / split / "dogs").glob("*.jpg"))) >= 1
    with Image.open(base / train[0]) as img:
        assert img.size == (24, 24) and img.mode == "RGB"
    again = syn.cats_dogs_folder(tmp_path, n_per_class=6, size=24)
    assert again == base
    assert {p.relative_to(base).as_posix(): p.stat().st_mtime_ns for p in base.rglob("*.jpg")} == files
    other = tmp_path / "second"
    copy = syn.cats_dogs_folder(other, n_per_class=6, size=24)
    for rel in files:  # deterministic content
        assert (copy / rel).read_bytes() == (base / rel).read_bytes()


def test_cats_dogs_folder_rebuilds_an_incomplete_tree(tmp_path):
    base = syn.cats_dogs_folder(tmp_path, n_per_class=4, size=16)
    (base / ".complete").unlink()
    victim = next(base.rglob("*.jpg"))
    victim.unlink()
    assert syn.cats_dogs_folder(tmp_path, n_per_class=4, size=16) == base
    assert victim.exists() and (base / ".complete").exists()


@pytest.mark.parametrize("split", ["train", "test"])
def test_loaders_synthetic_need_no_data_dir(tmp_path, monkeypatch, split):
    monkeypatch.setenv("TLBOOK_DATA_DIR", str(tmp_path / "never"))
    (x_tr, y_tr), (x_te, y_te) = load_cifar10(synthetic=True, n_train=30, n_test=12)
    assert x_tr.shape == (30, 32, 32, 3) and x_te.shape == (12, 32, 32, 3) and y_tr.shape == (30,)
    imdb = load_imdb(split, synthetic=True, n_synthetic=20)
    amazon = load_amazon(split, synthetic=True, n_synthetic=20)
    assert len(imdb[0]) == len(amazon[0]) == 20
    assert imdb[0] != amazon[0]  # different seeds per dataset
    assert load_imdb(split, synthetic=True, n_synthetic=20)[0] == imdb[0]
    assert load_imdb("train", synthetic=True, n_synthetic=20)[0] != load_imdb(
        "test", synthetic=True, n_synthetic=20)[0]
    assert not (tmp_path / "never").exists()

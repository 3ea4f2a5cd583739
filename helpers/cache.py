"""The one on-disk cache: where it lives, content keys, atomic writes and checked reads.

Every cache in the course (decoded images, a frozen base's features, face
vectors, chapter 07's encoded reviews) goes through these functions:

* :func:`cache_dir` - ``TLBOOK_CACHE_DIR`` if set (useful when the data
  directory is read-only, e.g. a shared classroom copy), else ``<data dir>/cache``;
* :func:`content_key` - a short hash of what a cached result depends on: file
  paths *with* their sizes and modification times (a changed image at the same
  path is a new key), model names, library versions, arrays, settings;
* :func:`atomic_write` / :func:`save_array` - a temporary file and ``os.replace``,
  so a killed run or a full disk never leaves a truncated entry;
* :func:`load_array` - reads an entry and checks shape, dtype and finite
  values; anything wrong is a miss, with a :class:`CacheWarning` naming the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["CACHE_DIR_ENV", "CacheWarning", "cache_dir", "content_key", "atomic_write", "save_array",
           "load_array"]

CACHE_DIR_ENV = "TLBOOK_CACHE_DIR"


class CacheWarning(UserWarning):
    """A cache entry that cannot be used (damaged, wrong shape, non-finite): it is recomputed."""


def cache_dir(kind: str = "") -> Path:
    """``$TLBOOK_CACHE_DIR/<kind>`` or ``<data dir>/cache/<kind>``, created."""
    from helpers import config

    env = os.environ.get(CACHE_DIR_ENV, "").strip()
    root = Path(env).expanduser() if env else config.data_dir() / "cache"
    path = root / kind if kind else root
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"The cache folder {path} cannot be created ({exc.strerror or exc}). If the data directory "
                      f"is read-only, set {CACHE_DIR_ENV} to a writable folder.") from exc
    return path


def _feed(h: Any, part: Any) -> None:
    if isinstance(part, Path):
        try:
            st = part.stat()
            h.update(f"{part}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{part}|missing\n".encode())
    elif isinstance(part, np.ndarray):
        arr = np.ascontiguousarray(part)
        h.update(f"{arr.shape}|{arr.dtype}|".encode())
        h.update(arr.tobytes())
    elif isinstance(part, (list, tuple)):
        h.update(f"[{len(part)}]".encode())
        for p in part:
            _feed(h, p)
    else:
        h.update(f"{part!r}\n".encode())


def content_key(*parts: Any, length: int = 16) -> str:
    """A hex key of ``parts``; a :class:`~pathlib.Path` counts with its size and modification time."""
    h = hashlib.sha256()
    for part in parts:
        _feed(h, part)
    return h.hexdigest()[:length]


def atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write ``path`` through a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_array(path: Path, array: np.ndarray) -> None:
    """``np.save`` atomically; refuses arrays with non-finite values (they would poison later runs)."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ValueError(f"refusing to cache non-finite values in {path}")
    atomic_write(path, lambda fh: np.save(fh, array, allow_pickle=False))


def load_array(path: Path, shape: Iterable[int | None] | None = None, dtype: Any = None,
               mmap: bool = False) -> np.ndarray | None:
    """The array at ``path``, or None when it is missing or unusable (then with a :class:`CacheWarning`).

    ``shape`` may hold ``None`` for any length along an axis.
    """
    if not path.is_file():
        return None
    try:
        arr = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except Exception as exc:  # truncated, not an .npy file, unreadable: all mean "compute it again"
        problem = f"cannot be read ({exc.__class__.__name__}: {str(exc)[:120]})"
    else:
        want = tuple(shape) if shape is not None else None
        if want is not None and (len(want) != arr.ndim or any(w is not None and w != a
                                                               for w, a in zip(want, arr.shape, strict=True))):
            problem = f"holds shape {arr.shape}, expected {want}"
        elif dtype is not None and arr.dtype != np.dtype(dtype):
            problem = f"holds {arr.dtype}, expected {np.dtype(dtype)}"
        elif np.issubdtype(arr.dtype, np.floating) and not mmap and not np.isfinite(arr).all():
            problem = "holds non-finite values"
        else:
            return arr
    warnings.warn(f"{path}: the cache entry {problem}; it is ignored and recomputed.", CacheWarning, stacklevel=2)
    return None

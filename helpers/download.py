"""Safe downloading and extraction.

Downloads go through pooch (progress bar, hash check, retries) into
``<data dir>/.downloads``; archives are checked member by member before
anything is extracted, extracted into a temporary folder inside the data
directory and only then moved into place with an atomic rename, so a broken
download or a half-extracted archive never counts as present.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath


class DatasetError(RuntimeError):
    """Base class of the data errors the course raises."""


class DatasetMissingError(DatasetError):
    """A dataset is not in the data directory and cannot be downloaded."""


class DatasetChecksumError(DatasetError):
    """A downloaded file does not match its known hash."""


class CorruptArchiveError(DatasetError):
    """An archive cannot be read (truncated or not an archive)."""


class UnsafeArchiveError(DatasetError):
    """An archive has a member that would be written outside its target."""


def _check_member(name: str, archive: Path) -> None:
    """Reject absolute paths, drive letters and ``..`` components."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or (pure.parts and ":" in pure.parts[0]) or ".." in pure.parts:
        raise UnsafeArchiveError(
            f"Refusing to extract {archive.name}: member {name!r} would be written "
            "outside the data directory. The archive is damaged or malicious; "
            "nothing was extracted."
        )


def archive_members(archive: Path) -> list[str]:
    """List the member names of a ``.zip`` or tar archive, checking readability."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise CorruptArchiveError(f"{archive.name}: member {bad!r} is corrupt")
                return zf.namelist()
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for m in members:
                if m.issym() or m.islnk():
                    _check_member(m.linkname, archive)
            return [m.name for m in members]
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CorruptArchiveError(
            f"{archive.name} cannot be read as an archive ({exc.__class__.__name__}: {exc}). "
            "It is probably truncated: delete it and download again."
        ) from exc


def safe_extract(archive: Path, target: Path) -> None:
    """Extract ``archive`` into ``target`` after checking every member name."""
    for name in archive_members(archive):
        _check_member(name, archive)
    target.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(target)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(target, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise CorruptArchiveError(f"{archive.name} failed while extracting: {exc}") from exc


def install_extracted(archive: Path, data_dir: Path, folder: str) -> Path:
    """Extract ``archive`` and move its top folder ``folder`` into ``data_dir``.

    Extraction happens in a temporary folder inside ``data_dir``; the final
    ``os.replace`` is atomic, so ``data_dir/folder`` either appears complete or
    not at all.
    """
    final = data_dir / folder
    tmp = Path(tempfile.mkdtemp(prefix=f".extract-{Path(folder).name}-", dir=data_dir))
    try:
        safe_extract(archive, tmp)
        produced = tmp / folder
        if not produced.is_dir():
            found = sorted(p.name for p in tmp.iterdir())
            raise CorruptArchiveError(
                f"{archive.name} does not contain the expected folder {folder!r} "
                f"(found: {', '.join(found) or 'nothing'})."
            )
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(produced, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def install_file(downloaded: Path, destination: Path) -> Path:
    """Copy a downloaded file to ``destination`` atomically."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{destination.name}-", dir=destination.parent)
    os.close(fd)
    try:
        shutil.copyfile(downloaded, tmp_name)
        os.replace(tmp_name, destination)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return destination


def file_hash(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    import hashlib

    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(url: str, known_hash: str | None, fname: str, cache: Path,
             progressbar: bool = True, retries: int = 2, timeout: float = 60) -> Path:
    """Download ``url`` into ``cache/fname`` with pooch and check its hash.

    Raises :class:`DatasetChecksumError` on a hash mismatch (pooch keeps no
    bad file) and lets network errors through for the caller to explain.
    """
    import pooch

    cache.mkdir(parents=True, exist_ok=True)
    fetcher = pooch.create(
        path=cache,
        base_url="",
        registry={fname: known_hash},
        urls={fname: url},
        retry_if_failed=retries,
    )
    downloader = pooch.HTTPDownloader(progressbar=progressbar, timeout=timeout)
    try:
        return Path(fetcher.fetch(fname, downloader=downloader))
    except ValueError as exc:
        if "hash" in str(exc).lower():
            raise DatasetChecksumError(
                f"The file downloaded from {url} does not match its known hash "
                f"({known_hash}); it was discarded. The download was corrupted or the "
                "file changed upstream. Try again, or fetch it by hand and check it."
            ) from exc
        raise

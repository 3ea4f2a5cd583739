"""Safe downloading and extraction.

Downloads go through pooch (progress bar, hash check, retries) into
``<data dir>/.downloads``; archives are checked member by member before
anything is extracted, extracted into a temporary folder inside the data
directory and only then moved into place with an atomic rename, so a broken
download or a half-extracted archive never counts as present.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

__all__ = [
    "DatasetError", "DatasetMissingError", "DatasetChecksumError", "CorruptArchiveError",
    "UnsafeArchiveError", "archive_members", "MAX_EXTRACTED_BYTES", "MAX_RATIO", "RATIO_FROM_BYTES",
    "check_extraction_size", "safe_extract", "install_extracted", "install_file", "file_hash",
    "download",
]


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


def _check_tar_complete(tf: tarfile.TarFile, archive: Path) -> None:
    """Make sure a tar archive was read to its real end.

    ``tarfile`` stops listing silently at a truncated header and never checks a
    gzip stream's CRC; read a compressed stream to its end (which verifies its
    checksum and length) and require the end-of-archive block of a plain tar.
    """
    fileobj = tf.fileobj
    if isinstance(fileobj, (gzip.GzipFile, bz2.BZ2File, lzma.LZMAFile)):
        while fileobj.read(1 << 20):
            pass
        return
    fileobj.seek(tf.offset)
    if len(fileobj.read(tarfile.BLOCKSIZE)) < tarfile.BLOCKSIZE:
        raise CorruptArchiveError(
            f"{archive.name} ends before its end-of-archive marker. It is probably "
            "truncated: delete it and download again."
        )


def archive_members(archive: Path) -> list[str]:
    """List the member names of a ``.zip`` or tar archive, checking readability.

    The whole archive is read once: a truncated or corrupted download raises
    :class:`CorruptArchiveError`; a link pointing outside raises
    :class:`UnsafeArchiveError`.
    """
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
            _check_tar_complete(tf, archive)
            return [m.name for m in members]
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
        raise CorruptArchiveError(
            f"{archive.name} cannot be read as an archive ({exc.__class__.__name__}: {exc}). "
            "It is probably truncated: delete it and download again."
        ) from exc


MAX_EXTRACTED_BYTES = 20 * 2**30  # no course archive comes near this
MAX_RATIO = 100.0  # extracted size / archive size; text archives reach about 10
RATIO_FROM_BYTES = 256 * 2**20  # the ratio is judged only above this extracted size (tiny archives vary)


def _extracted_size(archive: Path) -> int:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            return sum(i.file_size for i in zf.infolist())
    with tarfile.open(archive) as tf:
        return sum(m.size for m in tf.getmembers() if m.isfile())


def check_extraction_size(archive: Path, max_bytes: int | None = None, max_ratio: float | None = None) -> int:
    """Refuse an archive that would extract to more than ``max_bytes`` or ``max_ratio`` times its size."""
    max_bytes = MAX_EXTRACTED_BYTES if max_bytes is None else max_bytes
    max_ratio = MAX_RATIO if max_ratio is None else max_ratio
    total = _extracted_size(archive)
    packed = max(archive.stat().st_size, 1)
    if total > max_bytes or (total > RATIO_FROM_BYTES and total / packed > max_ratio):
        raise UnsafeArchiveError(
            f"Refusing to extract {archive.name}: it would write {total / 2**20:,.0f} MiB from "
            f"{packed / 2**20:,.1f} MiB (limits: {max_bytes / 2**30:.0f} GiB, {max_ratio:.0f}x). It is not "
            "the archive the course expects (a decompression bomb?); nothing was extracted.")
    return total


def safe_extract(archive: Path, target: Path) -> None:
    """Extract ``archive`` into ``target`` after checking every member name and the total size.

    An ``OSError`` while writing (a full disk, a name too long) becomes a
    :class:`DatasetError` that names the archive and the folder.
    """
    for name in archive_members(archive):
        _check_member(name, archive)
    check_extraction_size(archive)
    target.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(target)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(target, filter="data")
    except tarfile.FilterError as exc:  # the "data" filter is a second line of defence
        raise UnsafeArchiveError(
            f"Refusing to extract {archive.name}: {exc}. The archive is damaged or malicious."
        ) from exc
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise CorruptArchiveError(f"{archive.name} failed while extracting: {exc}") from exc
    except OSError as exc:
        raise DatasetError(
            f"Extracting {archive.name} into {target} failed: {exc.strerror or exc} "
            f"({exc.__class__.__name__}). Free disk space or choose another data directory "
            "(TLBOOK_DATA_DIR), then fetch again; the partial files were removed.") from exc


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
        if produced.is_symlink() or not produced.is_dir():
            found = sorted(p.name for p in tmp.iterdir())
            raise CorruptArchiveError(
                f"{archive.name} does not contain the expected folder {folder!r} "
                f"(found: {', '.join(found) or 'nothing'})."
            )
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(produced, final)
        except OSError:
            if not final.is_dir():
                raise
            # another process installed the same folder meanwhile: keep the first one
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
    import importlib.util

    import pooch

    if progressbar and importlib.util.find_spec("tqdm") is None:
        progressbar = False  # pooch raises for a progress bar without tqdm
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

"""Downloads against a real HTTP server on 127.0.0.1, and safe extraction.

Every test serves archives it builds itself from ``tmp_path/www`` and fetches
them into ``tmp_path/data`` through :func:`helpers.registry.fetch`.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from helpers.download import (
    CorruptArchiveError,
    DatasetChecksumError,
    DatasetError,
    DatasetMissingError,
    UnsafeArchiveError,
    archive_members,
    install_extracted,
)
from helpers.registry import Entry, fetch

pytestmark = pytest.mark.usefixtures("fast_downloads")

FILES = {"toy/README.txt": b"a toy dataset\n", "toy/train/a.txt": b"alpha\n", "toy/train/b.txt": b"beta\n"}


def make_tar(path: Path, files: dict[str, bytes], mode: str = "w:gz", links: dict[str, str] | None = None,
             ) -> Path:
    """A tar archive with ``files`` (name -> content) and symlinks ``links`` (name -> target)."""
    with tarfile.open(path, mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return path


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return path


def toy_entry(url: str, known_hash: str | None = None, folder: str = "toy") -> Entry:
    return Entry("toy", "Toy dataset", (url,), known_hash, "archive", folder)


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def assert_clean(data_dir: Path, folder: str = "toy") -> None:
    """No target folder, no temporary extraction folder, no download left behind."""
    assert not (data_dir / folder).exists()
    assert list(data_dir.glob(".extract-*")) == []
    downloads = data_dir / ".downloads"
    assert not downloads.exists() or [p.name for p in downloads.iterdir()] == []


# --------------------------------------------------------------------------- success

@pytest.mark.parametrize("fmt", ["tar.gz", "zip", "tar"])
def test_download_and_extract(http_server, data_dir, fmt):
    name = f"toy.{fmt}"
    archive = http_server.root / name
    if fmt == "zip":
        make_zip(archive, FILES)
    else:
        make_tar(archive, FILES, "w:gz" if fmt == "tar.gz" else "w")
    for known_hash in (sha256(archive), None):
        path = fetch(toy_entry(http_server.file_url(name), known_hash), progressbar=False)
        assert path == data_dir / "toy"
        assert (path / "train" / "a.txt").read_bytes() == b"alpha\n"
        assert sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()) == [
            "README.txt", "train/a.txt", "train/b.txt"]
        assert not (data_dir / ".downloads" / name).exists()  # the archive is removed
        assert list(data_dir.glob(".extract-*")) == []
        if known_hash:
            import shutil

            shutil.rmtree(path)  # the second round downloads again, without a hash
    assert http_server.requests == [f"/{name}", f"/{name}"]


def test_present_folder_is_not_downloaded_again(http_server, data_dir):
    make_tar(http_server.root / "toy.tar.gz", FILES)
    entry = toy_entry(http_server.file_url("toy.tar.gz"))
    fetch(entry, progressbar=False)
    fetch(entry, progressbar=False)
    assert http_server.requests == ["/toy.tar.gz"]


def test_download_file_entry(http_server, data_dir):
    payload = b"\x89HDF weights" * 50
    (http_server.root / "w.h5").write_bytes(payload)
    digest = "md5:" + hashlib.md5(payload).hexdigest()
    entry = Entry("toy_w", "Toy weights", (http_server.file_url("w.h5"),), digest, "file", "models", "toy.h5")
    path = fetch(entry)  # with the default progress bar
    assert path == data_dir / "models" / "toy.h5"
    assert path.read_bytes() == payload
    assert not (data_dir / ".downloads" / "w.h5").exists()
    assert fetch(entry) == path and http_server.requests == ["/w.h5"]


# --------------------------------------------------------------------------- failures

def test_hash_mismatch(http_server, data_dir):
    make_tar(http_server.root / "toy.tar.gz", FILES)
    wrong = "sha256:" + "0" * 64
    with pytest.raises(DatasetChecksumError, match="does not match its known hash"):
        fetch(toy_entry(http_server.file_url("toy.tar.gz"), wrong), progressbar=False)
    assert_clean(data_dir)


def test_file_entry_hash_mismatch(http_server, data_dir):
    (http_server.root / "w.h5").write_bytes(b"tampered")
    entry = Entry("toy_w", "Toy weights", (http_server.file_url("w.h5"),), "md5:" + "f" * 32,
                  "file", "models", "toy.h5")
    with pytest.raises(DatasetChecksumError):
        fetch(entry, progressbar=False)
    assert not (data_dir / "models" / "toy.h5").exists()
    assert_clean(data_dir)


@pytest.mark.parametrize("fmt", ["tar.gz", "zip", "tar"])
def test_truncated_archive(http_server, data_dir, fmt):
    name = f"toy.{fmt}"
    big = {**FILES, **{f"toy/blob{i}.bin": bytes(range(256)) * 200 for i in range(4)}}
    full = http_server.root / "full"
    if fmt == "zip":
        make_zip(full, big)
    else:
        make_tar(full, big, "w:gz" if fmt == "tar.gz" else "w")
    data = full.read_bytes()
    (http_server.root / name).write_bytes(data[: len(data) // 2])
    entry = toy_entry(http_server.file_url(name))
    with pytest.raises(CorruptArchiveError, match="truncated"):
        fetch(entry, progressbar=False)
    assert_clean(data_dir)  # archive deleted, so a retry downloads again
    (http_server.root / name).write_bytes(data)  # the server is fixed
    assert fetch(entry, progressbar=False) == data_dir / "toy"
    assert http_server.requests == [f"/{name}", f"/{name}"]


def test_connection_dropped_mid_download(http_server, data_dir):
    archive = make_tar(http_server.root / "toy.tar.gz",
                       {**FILES, "toy/blob.bin": bytes(range(256)) * 400})
    entry = toy_entry(http_server.url + "/cut/toy.tar.gz", sha256(archive))
    with pytest.raises(DatasetMissingError, match="downloading it failed"):
        fetch(entry)  # with the default progress bar
    assert_clean(data_dir)
    assert http_server.requests == ["/cut/toy.tar.gz"]


def test_truncated_plain_tar_at_a_header_boundary(tmp_path):
    """tarfile lists such a tar without complaint; the archive check must not."""
    full = make_tar(tmp_path / "full.tar", FILES, "w")
    data = full.read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[: 512 * 2])  # header + data block of the first member only
    with tarfile.open(cut) as tf:
        assert tf.getnames() == ["toy/README.txt"]
    with pytest.raises(CorruptArchiveError):
        archive_members(cut)


def test_gzip_corrupted_in_the_middle(tmp_path):
    """A flipped byte in stored data passes tarfile's listing; the gzip CRC catches it."""
    archive = make_tar(tmp_path / "t.tar.gz", {"toy/x.bin": bytes(range(256)) * 400}, "w:gz")
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(CorruptArchiveError):
        archive_members(archive)


def test_not_an_archive(http_server, data_dir):
    (http_server.root / "toy.tar.gz").write_bytes(b"<html>Service unavailable</html>")
    with pytest.raises(CorruptArchiveError):
        fetch(toy_entry(http_server.file_url("toy.tar.gz")), progressbar=False)
    assert_clean(data_dir)


def test_404(http_server, data_dir):
    url = http_server.file_url("nothing-here.tar.gz")
    with pytest.raises(DatasetMissingError) as info:
        fetch(toy_entry(url), progressbar=False)
    msg = str(info.value)
    assert "'toy'" in msg and url in msg and str(data_dir / "toy") in msg
    assert "404" in msg
    assert "Get it from" in msg and "TLBOOK_DATA_DIR" in msg
    assert_clean(data_dir)


def test_server_down(dead_url, data_dir):
    with pytest.raises(DatasetMissingError) as info:
        fetch(toy_entry(dead_url), progressbar=False)
    msg = str(info.value)
    assert "downloading it failed" in msg and "ConnectionError" in msg
    assert dead_url in msg and str(data_dir / "toy") in msg
    assert "python -m helpers.datasets fetch toy" in msg
    assert_clean(data_dir)


def test_archive_without_expected_folder(http_server, data_dir):
    make_tar(http_server.root / "toy.tar.gz", {"other/a.txt": b"a", "loose.txt": b"b"})
    with pytest.raises(CorruptArchiveError, match=r"expected folder 'toy'.*loose.txt, other"):
        fetch(toy_entry(http_server.file_url("toy.tar.gz")), progressbar=False)
    assert_clean(data_dir)
    assert not (data_dir / "other").exists()


# --------------------------------------------------------------------------- unsafe archives

def _escape_targets(tmp_path: Path, name: str) -> list[Path]:
    return [tmp_path / name, tmp_path.parent / name, tmp_path / "data" / name, Path("/tmp") / name]


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
@pytest.mark.parametrize("kind", ["dotdot", "absolute"])
def test_unsafe_member_is_rejected(http_server, data_dir, tmp_path, fmt, kind):
    name = f"escaped_{kind}_{fmt.replace('.', '_')}_{tmp_path.name}.txt"
    if kind == "dotdot":
        member = f"toy/../../../{name}"
        outside = _escape_targets(tmp_path, name)
    else:
        absolute = tmp_path / "abs" / name
        member = str(absolute)
        outside = [absolute, tmp_path / "data" / "toy" / str(absolute).lstrip("/")]
    files = {**FILES, member: b"owned"}
    archive = http_server.root / f"toy.{fmt}"
    make_zip(archive, files) if fmt == "zip" else make_tar(archive, files)
    with pytest.raises(UnsafeArchiveError, match="outside the data directory"):
        fetch(toy_entry(http_server.file_url(archive.name)), progressbar=False)
    for path in outside:
        assert not path.exists(), path
    assert_clean(data_dir)  # the unsafe archive is not kept either
    assert not list(tmp_path.rglob(name))


@pytest.mark.parametrize("target", ["../../../outside", "/etc/passwd", "ABS"])
def test_tar_symlink_pointing_outside(http_server, data_dir, tmp_path, target):
    if target == "ABS":
        target = str(tmp_path / "secret")
    archive = make_tar(http_server.root / "toy.tar.gz", FILES, links={"toy/link": target})
    with pytest.raises(UnsafeArchiveError):
        fetch(toy_entry(http_server.file_url(archive.name)), progressbar=False)
    assert_clean(data_dir)
    assert not (tmp_path / "secret").exists()


def test_tar_hardlink_pointing_outside(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    archive = tmp_path / "t.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("toy/passwd")
        info.type, info.linkname = tarfile.LNKTYPE, "/etc/passwd"
        tf.addfile(info)
    with pytest.raises(UnsafeArchiveError):
        install_extracted(archive, data_dir, "toy")
    assert list(data_dir.iterdir()) == []


def test_expected_folder_that_is_a_symlink(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    archive = make_tar(tmp_path / "t.tar.gz", {"real/a.txt": b"a"}, links={"toy": "real"})
    with pytest.raises(CorruptArchiveError, match="expected folder"):
        install_extracted(archive, data_dir, "toy")
    assert list(data_dir.iterdir()) == []


def test_tar_symlink_inside_is_fine(http_server, data_dir):
    archive = make_tar(http_server.root / "toy.tar.gz", FILES, links={"toy/latest": "train/a.txt"})
    path = fetch(toy_entry(http_server.file_url(archive.name)), progressbar=False)
    assert (path / "latest").read_bytes() == b"alpha\n"


def test_symlink_then_write_through_it(tmp_path):
    """A relative link that stays inside, then a member written through it, is allowed."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    archive = tmp_path / "t.tar"
    with tarfile.open(archive, "w") as tf:
        link = tarfile.TarInfo("toy/up")
        link.type, link.linkname = tarfile.SYMTYPE, "."
        tf.addfile(link)
        info = tarfile.TarInfo("toy/up/ok.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"ok"))
    install_extracted(archive, data_dir, "toy")
    assert (data_dir / "toy" / "ok.txt").read_bytes() == b"ok"


# --------------------------------------------------------------------------- atomicity

def test_failed_extraction_leaves_nothing(tmp_path, monkeypatch):
    """An error in the middle of extraction: no partial target, no temporary folder."""
    import helpers.download as dl

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    archive = make_tar(tmp_path / "t.tar.gz", FILES)
    real = tarfile.TarFile.extractall

    def half_then_fail(self, path, *args, **kwargs):
        members = self.getmembers()
        real(self, path, members=members[:1], filter="data")
        assert any(Path(path).rglob("README.txt"))  # something was written ...
        raise tarfile.ReadError("unexpected end of data")  # ... then the archive broke

    monkeypatch.setattr(tarfile.TarFile, "extractall", half_then_fail)
    with pytest.raises(CorruptArchiveError, match="failed while extracting"):
        dl.install_extracted(archive, data_dir, "toy")
    assert list(data_dir.iterdir()) == []


def test_concurrent_install_keeps_the_first(tmp_path, monkeypatch):
    """Two processes extracting the same archive: the loser finds the folder and uses it."""
    import helpers.download as dl

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    archive = make_tar(tmp_path / "t.tar.gz", FILES)
    real = dl.safe_extract

    def racing(archive: Path, target: Path) -> None:
        real(archive, target)
        (data_dir / "toy").mkdir()  # the other process finished first
        (data_dir / "toy" / "first.txt").write_text("first")

    monkeypatch.setattr(dl, "safe_extract", racing)
    assert install_extracted(archive, data_dir, "toy") == data_dir / "toy"
    assert [p.name for p in data_dir.iterdir()] == ["toy"]
    assert (data_dir / "toy" / "first.txt").read_text() == "first"


def test_unsafe_archive_leaves_nothing(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    archive = make_tar(tmp_path / "t.tar.gz", {**FILES, "toy/../../x.txt": b"x"})
    with pytest.raises(UnsafeArchiveError):
        install_extracted(archive, data_dir, "toy")
    assert list(data_dir.iterdir()) == []
    assert not (tmp_path / "x.txt").exists()


# --------------------------------------------------------------------------- size limits and faults

def test_decompression_bomb_is_refused_before_writing(http_server, data_dir, monkeypatch):
    from helpers import download

    monkeypatch.setattr(download, "RATIO_FROM_BYTES", 1 << 20)   # judge the ratio from 1 MiB (real: 256 MiB)
    make_tar(http_server.root / "bomb.tar.gz", {"toy/zeros.bin": b"\0" * (8 << 20)})  # 8 MiB of zeros, ~8 KB
    with pytest.raises(UnsafeArchiveError, match="decompression bomb") as err:
        fetch(toy_entry(http_server.file_url("bomb.tar.gz")), data_dir)
    assert "bomb.tar.gz" in str(err.value)
    assert not (data_dir / "toy").exists()
    assert not list((data_dir / ".downloads").glob("*.tar.gz"))        # the archive is discarded


def test_an_os_error_while_extracting_names_the_archive_and_discards_it(http_server, data_dir, monkeypatch):
    import errno

    make_tar(http_server.root / "toy.tar.gz", FILES)

    def full_disk(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tarfile.TarFile, "extractall", full_disk)
    with pytest.raises(DatasetError, match="No space left on device") as err:
        fetch(toy_entry(http_server.file_url("toy.tar.gz")), data_dir)
    msg = str(err.value)
    assert "toy.tar.gz" in msg and "TLBOOK_DATA_DIR" in msg
    assert not (data_dir / "toy").exists() and not list((data_dir / ".downloads").glob("*.tar.gz"))
    monkeypatch.undo()
    assert fetch(toy_entry(http_server.file_url("toy.tar.gz")), data_dir).is_dir()   # a retry works


@pytest.mark.parametrize("blocker", ["file", "dangling link"])
def test_a_target_in_the_way_is_reported_before_the_download(http_server, data_dir, blocker):
    make_tar(http_server.root / "toy.tar.gz", FILES)
    if blocker == "file":
        (data_dir / "toy").write_text("not a folder")
    else:
        (data_dir / "toy").symlink_to(data_dir / "nowhere")
    with pytest.raises(DatasetError, match=f"exists as a {blocker}") as err:
        fetch(toy_entry(http_server.file_url("toy.tar.gz")), data_dir)
    assert str(data_dir / "toy") in str(err.value) and "Remove it" in str(err.value)
    assert http_server.requests == []

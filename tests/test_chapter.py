"""helpers.chapter: the chapter start (its summary), banners, per-profile knobs and glue values."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.chapter import FULL, SYNTHETIC, Chapter, ModelChoice, banner, start_chapter, to_python

SUB = ModelChoice("backbone", "SqueezeNet v1.1", "MobileNetV2", reason="The original weights are offline.")
SAME = ModelChoice("classifier", "logistic regression", "logistic regression")


@pytest.fixture
def smoke_run(data_dir, monkeypatch):
    monkeypatch.delenv("TLBOOK_PROFILE", raising=False)
    return start_chapter("2", "smoke", seed=3, data={"cifar10": FULL, "imdb": "sample"},
                     models=[SUB, SAME], quiet=True)


def test_smoke_marks_every_dataset_synthetic(smoke_run, data_dir):
    assert smoke_run.profile == "smoke" and smoke_run.smoke
    assert smoke_run.data == {"cifar10": SYNTHETIC, "imdb": SYNTHETIC}
    assert smoke_run.nb == "02"
    assert smoke_run.seed == 3
    assert smoke_run.data_dir == data_dir.resolve()
    assert "SYNTHETIC DATA" in smoke_run.summary()


def test_lab_keeps_data_kinds(data_dir, monkeypatch):
    monkeypatch.delenv("TLBOOK_PROFILE", raising=False)
    chapter = start_chapter("11", None, data={"cifar10": FULL}, quiet=True)
    assert chapter.profile == "lab" and not chapter.smoke
    assert chapter.data == {"cifar10": FULL}
    assert "SYNTHETIC DATA" not in chapter.summary()
    assert not chapter.fallback


def test_start_chapter_prints_summary_with_banner(data_dir, monkeypatch, capsys):
    monkeypatch.delenv("TLBOOK_PROFILE", raising=False)
    start_chapter("5", "lab", models=[SUB, SAME])
    out = capsys.readouterr().out
    assert "profile     : lab" in out
    assert f"data dir    : {data_dir.resolve()}" in out
    assert "MobileNetV2 (instead of SqueezeNet v1.1)" in out
    assert "classifier  : logistic regression" in out
    assert "SUBSTITUTE MODEL for backbone: MobileNetV2 instead of SqueezeNet v1.1." in out
    assert "SUBSTITUTE MODEL for classifier" not in out


def test_banner_text_and_bars():
    text = banner(SUB)
    lines = text.splitlines()
    assert lines[1] == ("SUBSTITUTE MODEL for backbone: MobileNetV2 instead of SqueezeNet v1.1. "
                        "The original weights are offline.")
    assert lines[0] == lines[-1] == "!" * min(len(lines[1]), 78)
    short = banner(ModelChoice("x", "A", "B"))
    assert short.splitlines() == ["!" * len("SUBSTITUTE MODEL for x: B instead of A."),
                                  "SUBSTITUTE MODEL for x: B instead of A.",
                                  "!" * len("SUBSTITUTE MODEL for x: B instead of A.")]


def test_model_choice_substituted():
    assert SUB.substituted
    assert not SAME.substituted


def test_fallback_follows_substitutes(tmp_path):
    assert Chapter("01", "lab", 0, tmp_path, models=[SUB]).fallback
    assert not Chapter("01", "lab", 0, tmp_path, models=[SAME]).fallback


@pytest.mark.parametrize("profile,expected", [("smoke", 1), ("lab", 20), ("full", 300)])
def test_pick(tmp_path, profile, expected):
    chapter = Chapter("03", profile, 0, tmp_path)
    assert chapter.pick(smoke=1, lab=20, full=300) == expected


def test_key(tmp_path):
    assert Chapter("03", "lab", 0, tmp_path).key("test_acc") == "nb03_test_acc"


def test_start_chapter_pads_notebook_number(data_dir):
    assert start_chapter("7", "smoke", quiet=True).key("auc") == "nb07_auc"
    assert start_chapter("12", "smoke", quiet=True).nb == "12"


def test_start_chapter_rejects_bad_profile(data_dir):
    from helpers.config import ProfileError

    with pytest.raises(ProfileError):
        start_chapter("1", "tiny", quiet=True)


def test_to_python_scalars():
    for value, expected, kind in [(np.float32(0.5), 0.5, float), (np.int64(3), 3, int),
                                  (np.bool_(True), True, bool), (np.array(2.5), 2.5, float)]:
        out = to_python(value)
        assert out == expected and type(out) is kind


def test_to_python_arrays_and_containers():
    assert to_python(np.arange(3)) == [0, 1, 2]
    assert to_python(np.array([[1.5, 2.0]], dtype=np.float32)) == [[1.5, 2.0]]
    nested = to_python({"acc": np.float64(0.25), "hist": (np.int32(1), np.int32(2)), "s": "x"})
    assert nested == {"acc": 0.25, "hist": [1, 2], "s": "x"}
    assert type(nested["acc"]) is float and type(nested["hist"][0]) is int
    assert to_python("text") == "text" and to_python(None) is None


def test_glue_returns_python_value(tmp_path):
    chapter = Chapter("04", "smoke", 0, tmp_path)
    value = chapter.glue("test_acc", np.float32(0.75))
    assert value == 0.75 and type(value) is float

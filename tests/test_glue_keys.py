"""The glue-key contract, and that every chapter start glues the standard keys."""

from __future__ import annotations

import pytest

from helpers import glue_keys
from helpers.chapter import start_chapter


def test_key_and_chapter() -> None:
    assert glue_keys.key("04_transfer_learning_vgg16", "feature_val_acc") == "nb04_feature_val_acc"
    assert glue_keys.key(4, "x") == glue_keys.key("04", "x") == "nb04_x"
    assert glue_keys.chapter_of("notebooks/07_glove_amazon_to_imdb.ipynb") == "07"
    with pytest.raises(ValueError, match="not a chapter"):
        glue_keys.chapter_of("results")
    with pytest.raises(ValueError, match="not a valid glue key"):
        glue_keys.key("04", "Bad Name")


def test_chapter_start_glues_the_standard_keys_and_glue_many(monkeypatch, data_dir) -> None:
    glued = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda k, v, display=False: glued.__setitem__(k, v))
    chapter = start_chapter("05", "smoke", quiet=True)
    assert {glue_keys.key("05", n) for n in glue_keys.STANDARD} <= set(glued)
    out = chapter.glue_many(a=1, b=2.5)
    assert out == {"a": 1, "b": 2.5} and glued["nb05_a"] == 1 and glued["nb05_b"] == 2.5


def test_record_glues_a_key_of_its_own(monkeypatch, data_dir) -> None:
    glued = []
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda k, v, display=False: glued.append(k))
    chapter = start_chapter("07", "smoke", quiet=True)
    chapter.record("amazon reviews", "sample: 10 train / 5 test reviews")
    assert glued.count("nb07_data") == 1 and "nb07_data_amazon_reviews" in glued
    assert len(glued) == len(set(glued)), "a glue key was written twice (the book build warns and -W fails)"

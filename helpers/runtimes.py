"""Measured run times of each chapter, for the "Run time" line of its title cell.

``helpers/runtimes.json`` is written by the benchmark (``make bench``) from its
report: per chapter, the ``smoke`` seconds, the ``lab`` seconds with the real
model(s) and, where a chapter has an offline substitute, the ``lab`` seconds
with it, with the day and the machine. :func:`runtime_text` turns them into the
sentence a chapter glues as ``nbNN_runtime``; nothing is typed in by hand.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["RUNTIMES_FILE", "load_runtimes", "format_seconds", "runtime_text", "vector_isa", "NOT_MEASURED"]

RUNTIMES_FILE = "runtimes.json"
NOT_MEASURED = "not measured yet"


def load_runtimes() -> dict:
    """The contents of ``helpers/runtimes.json`` ({} when it is missing or unreadable)."""
    try:
        text = resources.files("helpers").joinpath(RUNTIMES_FILE).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def format_seconds(seconds: float) -> str:
    """``23 s`` under a minute, else minutes with one decimal (``4.6 min``)."""
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def _number(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 else None


def vector_isa(flags: str) -> str:
    """The widest vector instruction set among the CPU ``flags`` (``"avx2 avx512f"`` -> ``"AVX-512"``), or ``""``.

    A run time depends on the CPU's vector instructions as much as on its cores, so the line names them.
    """
    names = set(flags.split())
    return "AVX-512" if "avx512f" in names else "AVX2" if "avx2" in names else ""


def runtime_text(nb: str | int, data: dict | None = None) -> str:
    """The measured run times of chapter ``nb`` in one sentence, or ``"not measured yet"``.

    For example ``"smoke 23 s; lab 4.6 min with VGG16 / 1.6 min with the
    offline substitute (measured on 2 CPU cores, 2026-12-01)"``. ``data``
    defaults to :func:`load_runtimes`.
    """
    data = load_runtimes() if data is None else data
    try:
        key = f"{int(nb):02d}"
    except (TypeError, ValueError):
        return NOT_MEASURED
    chapter = (data.get("chapters") or {}).get(key)
    if not isinstance(chapter, dict):
        return NOT_MEASURED
    smoke, real, sub = (_number(chapter.get(k)) for k in ("smoke_s", "lab_real_s", "lab_substitute_s"))
    parts = []
    if smoke:
        parts.append(f"smoke {format_seconds(smoke)}")
    substitute = chapter.get("substitute") or "the offline substitute"
    if real and sub:
        parts.append(f"lab {format_seconds(real)} with {chapter.get('real') or 'the real model'} / "
                     f"{format_seconds(sub)} with {substitute}")
    elif real:
        parts.append(f"lab {format_seconds(real)}")
    elif sub:
        parts.append(f"lab {format_seconds(sub)} with {substitute}")
    if not parts:
        return NOT_MEASURED
    machine = data.get("machine") or {}
    cores = machine.get("cores")
    shared = "shared " if chapter.get("contended") else ""
    where = f"{cores} {shared}CPU cores" if cores else f"a {shared}CPU"
    isa = vector_isa(machine.get("vector_flags") or "")
    where += f" with {isa}" if isa else ""
    dates = sorted({d for d in (chapter.get("dates") or {}).values() if d}) or (
        [data["date"]] if data.get("date") else [])
    when = f", {' and '.join(dates) if len(dates) <= 2 else f'{dates[0]} to {dates[-1]}'}" if dates else ""
    return f"{'; '.join(parts)} (measured on {where}{when})"

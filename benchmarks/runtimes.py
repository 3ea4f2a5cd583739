"""``helpers/runtimes.json`` from a benchmark report: the figures each chapter's "Run time" line glues.

Per chapter prefix (``"00"``..``"07"``): ``smoke_s``; ``lab_real_s``, the lab
seconds with the real model(s) (for 04/05/06 the ``real-models`` timing-only
run, for the other chapters, which have no substitute, the ordinary lab run);
``lab_substitute_s``, the ordinary lab run of a chapter with an offline
substitute; the day each figure was measured, and ``contended`` when one of
them was measured now under a load above the core count. A figure the report
lacks keeps its previous value (and day). :func:`helpers.runtimes.runtime_text`
reads the file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from benchmarks.common import entry_date
from benchmarks.real_models import REAL_MODELS

ROOT = Path(__file__).resolve().parent.parent
RUNTIMES_PATH = ROOT / "helpers" / "runtimes.json"
SCHEMA = "tlbook-runtimes/1"
FIELDS = ("smoke_s", "lab_real_s", "lab_substitute_s")


def _ok(entries: list[dict] | None) -> dict[str, dict]:
    return {e["notebook"]: e for e in entries or [] if e.get("ok", True) and not e.get("used_substitute")}


def build_runtimes(report: dict, previous: dict | None = None) -> dict:
    """The runtimes mapping from ``report`` (a ``tlbook-bench`` report), over ``previous`` (the old file)."""
    nbs = report.get("notebooks") or {}
    smoke, lab = _ok(nbs.get("smoke")), _ok(nbs.get("lab"))
    real = _ok((report.get("real_models") or {}).get("entries"))
    contended = bool((report.get("machine") or {}).get("load_note"))
    old = (previous or {}).get("chapters") or {}
    every = [*(nbs.get("smoke") or []), *(nbs.get("lab") or []),
             *((report.get("real_models") or {}).get("entries") or [])]
    names = {e["notebook"][:2]: e["notebook"] for e in every}  # a failed run still names its chapter
    for prefix, ch in old.items():
        names.setdefault(prefix, ch.get("notebook", prefix))
    chapters: dict[str, dict] = {}
    for prefix in sorted(names):
        name = names[prefix]
        spec = REAL_MODELS.get(prefix)
        found: dict[str, dict] = {}
        if name in smoke:
            found["smoke_s"] = smoke[name]
        if spec:
            if name in real:
                found["lab_real_s"] = real[name]
            if name in lab:
                found["lab_substitute_s"] = lab[name]
        elif name in lab:
            found["lab_real_s"] = lab[name]
        before = old.get(prefix) or {}
        ch: dict = {"notebook": name}
        if spec:
            ch.update(real=spec["real"], substitute=spec["substitute"], lab_real_timing_only=True)
        dates: dict[str, str] = {}
        hot: list[str] = []
        for field in FIELDS:
            if field in found:
                e = found[field]
                ch[field] = e["wall_s"]["median"]
                dates[field] = entry_date(e, report)
                if contended and e.get("source", "executed") == "executed":
                    hot.append(field)
                elif ch[field] == before.get(field) and field in (before.get("contended_fields") or []):
                    hot.append(field)  # the same figure as before, kept from an earlier (contended) run
            elif isinstance(before.get(field), (int, float)):
                ch[field] = before[field]
                if (before.get("dates") or {}).get(field):
                    dates[field] = before["dates"][field]
                if field in (before.get("contended_fields") or []):
                    hot.append(field)
            else:
                ch[field] = None
        ch["dates"] = dates
        ch["contended_fields"] = hot
        ch["contended"] = bool(hot)
        chapters[prefix] = ch
    m = report.get("machine") or {}
    days = sorted({d for ch in chapters.values() for d in ch["dates"].values()})
    return {
        "schema": SCHEMA,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "source": f"benchmarks/results/latest.json ({report.get('started', '?')})",
        "date": days[-1] if days else str(report.get("started", ""))[:10],
        "machine": {"cores": m.get("usable_cores") or m.get("cpu_count"), "cpu": m.get("cpu_model"),
                    "tensorflow": m.get("tensorflow"), "load_note": m.get("load_note", ""),
                    "vector_flags": m.get("cpu_vector_flags", "")},
        "note": "Seconds of wall time per notebook run in a fresh kernel. lab_real_s of 04/05/06: the real "
                "architectures on random weights (timing only); lab_substitute_s: the ordinary offline lab run "
                "with the substitute models.",
        "chapters": chapters,
    }


def validate_runtimes(data: dict) -> list[str]:
    """Schema problems of a runtimes mapping (empty list = valid)."""
    problems = []
    if data.get("schema") != SCHEMA:
        problems.append(f"schema is {data.get('schema')!r}, expected {SCHEMA!r}")
    for key in ("date", "machine", "chapters"):
        if key not in data:
            problems.append(f"missing {key!r}")
    for prefix, ch in (data.get("chapters") or {}).items():
        if not (len(prefix) == 2 and prefix.isdigit()):
            problems.append(f"chapter key {prefix!r} is not a two-digit prefix")
        for field in FIELDS:
            v = ch.get(field, "absent")
            if v == "absent":
                problems.append(f"{prefix}: missing {field!r}")
            elif v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0):
                problems.append(f"{prefix}.{field}: {v!r} is not a positive number or null")
    return problems


def write_runtimes(report: dict, path: Path = RUNTIMES_PATH) -> Path:
    """Write ``path`` from ``report``, keeping what the report does not measure from the file there."""
    previous = None
    if path.is_file():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            previous = None
    data = build_runtimes(report, previous)
    problems = validate_runtimes(data)
    if problems:
        raise ValueError("runtimes: " + "; ".join(problems))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path

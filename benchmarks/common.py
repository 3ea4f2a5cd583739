"""Pieces every benchmark section shares: summaries of timed runs and the cells of an executed notebook."""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path


def summarize(values: Iterable[float], digits: int = 4) -> dict:
    """Median, min and max of timed runs (warm-up already excluded).

    Returns ``{"median", "min", "max", "n", "runs"}``; raises ``ValueError``
    for no values.
    """
    runs = [float(v) for v in values]
    if not runs:
        raise ValueError("summarize() needs at least one value")

    def r(x: float) -> float:
        return float(f"{x:.{digits}g}")

    return {"median": r(statistics.median(runs)), "min": r(min(runs)), "max": r(max(runs)),
            "n": len(runs), "runs": [r(x) for x in runs]}


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Run-by-run ratios ``numerators[i] / denominators[i]`` (same-run pairs)."""
    if len(numerators) != len(denominators):
        raise ValueError("ratios need paired runs of equal length")
    return [a / b for a, b in zip(numerators, denominators, strict=True)]


def cell_times(executed: Path) -> list[dict]:
    """Per-cell seconds that papermill recorded in an executed notebook."""
    try:
        nb = json.loads(Path(executed).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    cells = []
    for i, c in enumerate(nb.get("cells", [])):
        dur = (c.get("metadata", {}).get("papermill") or {}).get("duration")
        if c.get("cell_type") == "code" and isinstance(dur, (int, float)):
            src = "".join(c.get("source", "")).strip().splitlines()
            first = next((s for s in src if s.strip() and not s.lstrip().startswith("#")), src[0] if src else "")
            cells.append({"index": c.get("execution_count") or i, "seconds": round(dur, 1),
                          "first_line": first.strip()[:70]})
    return cells


def slowest(cells: Sequence[dict], k: int = 3) -> list[dict]:
    """The ``k`` slowest cells, slowest first."""
    return sorted(cells, key=lambda c: -c["seconds"])[:k]


def slow_cells_text(cells: Sequence[dict] | None, k: int = 2) -> str:
    """``slowest cells: In [9] 200 s `model.fit(...)`; ...`` (empty without cells)."""
    if not cells:
        return ""
    return "slowest cells: " + "; ".join(f"In [{c['index']}] {c['seconds']:.0f} s `{c['first_line']}`"
                                         for c in slowest(cells, k))


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def entry_date(entry: dict, report: dict) -> str:
    """The day a notebook entry was measured: the report's for ``executed``, else the one its source names."""
    source = str(entry.get("source", "executed"))
    if source == "executed":
        return str(report.get("started", ""))[:10]
    m = _DATE.search(source)
    return m.group(0) if m else str(report.get("started", ""))[:10]

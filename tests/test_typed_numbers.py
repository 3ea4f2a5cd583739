"""No typed results: every result number in a notebook's Markdown is glued, or is the source's.

A number typed into prose goes stale the moment the run changes, and can
contradict the glued number beside it. This test reads every Markdown cell and
flags result-like numbers (accuracies such as ``0.954``, percentages, seconds,
speed-ups such as ``3.5x``) that are neither inside a ``{glue:text}`` role (or
inline code or math) nor one of the source's numbers in ``COURSE.md`` (as
written there, as a fraction of its percentage, or rounded from it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT.parent / "shared" / "COURSE.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# accuracies (0.xx...), percentages, durations and speed-ups; not plain counts or sizes
RESULT = re.compile(r"(?<![\w.,-])(0\.\d{2,}|\d+(?:\.\d+)?\s?%|\d+(?:\.\d+)?\s?(?:s|ms|min)\b|\d+(?:\.\d+)?x\b)")
NOT_PROSE = [re.compile(p) for p in (
    r"\{glue(?::\w+)?\}`[^`]*`",       # glued from the run
    r"``[^`]*``|`[^`]*`",              # inline code (parameters, file names)
    r"\$[^$]*\$",                       # math
    r"\]\([^)]*\)",                     # link targets
)]
# a line may say it is an estimate (run times of the full profile); a confidence level is not a result
EXEMPT_LINE = re.compile(r"\(estimate\)")
CONFIDENCE = re.compile(r"(\d+\s?-\s?)?9[05]\s?%\s+(bootstrap|confidence|interval|CI|range)|5\s?-\s?95\s?%")


def source_numbers() -> list[float]:
    """Every number in COURSE.md, as a fraction when it is a percentage (86.3 % -> 0.863) and as written."""
    text = COURSE.read_text(encoding="utf-8")
    values = []
    for m in re.finditer(r"(\d[\d,]*(?:\.\d+)?)(\s?%)?", text):
        v = float(m.group(1).replace(",", ""))
        values.append(v)
        values.append(v / 100)
    return values


def is_source(token: str, values: list[float]) -> bool:
    """True when ``token`` equals a source number, or (with two or more decimals) rounds from one."""
    num = re.match(r"\d+(?:\.\d+)?", token).group(0)
    v = float(num)
    as_fraction = v / 100 if "%" in token else v
    digits = len(num.split(".")[1]) if "." in num else 0
    # 0.682 rounds from 0.6818 and "68 %" from 68.18 %; but 0.9 is not 0.92
    half = 0.5 * 10 ** -digits if digits >= 2 else 0.5 if "%" in token else 0.0
    candidates = {v, as_fraction}
    return any(abs(c - s) <= half + 1e-12 for c in candidates for s in values)


def typed_results(path: Path, values: list[float]) -> list[str]:
    """``"cell 12 line 3: '0.954' in: ..."`` for every typed result number of a notebook's Markdown."""
    hits = []
    for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for n, line in enumerate("".join(cell["source"]).splitlines()):
            if EXEMPT_LINE.search(line):
                continue
            prose = line
            for pattern in NOT_PROSE:
                prose = pattern.sub(" ", prose)
            prose = CONFIDENCE.sub(" ", prose)
            for m in RESULT.finditer(prose):
                if not is_source(m.group(1), values):
                    hits.append(f"cell {i} line {n}: {m.group(1)!r} in: {line.strip()[:100]}")
    return hits


@pytest.mark.skipif(not COURSE.exists(), reason="needs ../shared/COURSE.md (the source's numbers)")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:2] for p in NOTEBOOKS])
def test_markdown_states_no_typed_results(path: Path) -> None:
    hits = typed_results(path, source_numbers())
    assert not hits, (f"{path.name}: result numbers typed into Markdown (glue them from the run with run.glue and "
                      "{glue:text}, make them inline code if they are parameters, or quote the source's number from "
                      "COURSE.md):\n  " + "\n  ".join(hits))


def test_the_detector_flags_typed_results_and_passes_glued_and_source_numbers(tmp_path: Path) -> None:
    values = [0.863, 92.0, 0.92]
    cells = ["Measured 22 s vs 0.9 s, and 0.954 vs 0.976.",                       # typed: 4 hits
             "Ours: {glue:text}`nb04_acc:.3f`, the source's 0.863 and 92 %.",      # glued and source: none
             "Set `EPOCHS = 0.25` and see $\\ln 2 = 0.693$; a 95 % bootstrap interval.",  # code, math, level: none
             "**Run time** ~15 min on a GPU (estimate)."]                          # an estimate: none
    nb = {"cells": [{"cell_type": "markdown", "source": [c]} for c in cells], "metadata": {}, "nbformat": 4,
          "nbformat_minor": 5}
    path = tmp_path / "99_x.ipynb"
    path.write_text(json.dumps(nb))
    hits = typed_results(path, values)
    assert [h.split(":")[0] for h in hits] == ["cell 0 line 0"] * 4, hits
    assert is_source("0.92", values) and is_source("86.3 %", values) and not is_source("0.954", values)

"""The run-time budgets the benchmark judges, read from ``tests/budgets.yml``.

They sit beside the accuracy thresholds of ``make validate``
(``tests/thresholds.yml``), so that every number a run is judged against is in
one place. :func:`validate_budgets` checks the file's schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUDGETS_FILE = ROOT / "tests" / "budgets.yml"

# (section, key) -> what it must be; "prefixes" is a mapping of two-digit notebook prefixes to seconds.
SCHEMA: dict[str, dict[str, str]] = {
    "lab": {"total_s": "seconds", "each_s": "seconds", "notebooks": "prefixes", "peak_mb": "megabytes"},
    "smoke": {"total_s": "seconds"},
    "real_models": {"notebooks": "prefixes", "course_total_s": "seconds"},
    "micro": {"pipeline_min_ratio": "ratio", "head_min_ratio": "ratio"},
}


def _positive(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0


def validate_budgets(data: Any) -> list[str]:
    """Schema problems of a budgets mapping (empty list = valid)."""
    if not isinstance(data, dict):
        return ["budgets: not a mapping"]
    problems = [f"unknown section {k!r}" for k in data if k not in SCHEMA]
    for section, keys in SCHEMA.items():
        got = data.get(section)
        if not isinstance(got, dict):
            problems.append(f"{section}: missing or not a mapping")
            continue
        problems += [f"{section}: unknown key {k!r}" for k in got if k not in keys]
        for key, kind in keys.items():
            if key not in got:
                problems.append(f"{section}: missing {key!r}")
            elif kind == "prefixes":
                value = got[key]
                if not isinstance(value, dict):
                    problems.append(f"{section}.{key}: not a mapping of notebook prefixes to seconds")
                    continue
                for nb, secs in value.items():
                    if not (isinstance(nb, str) and len(nb) == 2 and nb.isdigit()):
                        problems.append(f"{section}.{key}: {nb!r} is not a two-digit notebook prefix (quote it)")
                    if not _positive(secs):
                        problems.append(f"{section}.{key}.{nb}: {secs!r} is not a positive number of seconds")
            elif not _positive(got[key]):
                problems.append(f"{section}.{key}: {got[key]!r} is not a positive number")
    return problems


def load_budgets(path: Path | None = None) -> dict:
    """The budgets file as a dict; raises ``ValueError`` listing its schema problems."""
    import yaml

    path = path or BUDGETS_FILE
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    problems = validate_budgets(data)
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return data

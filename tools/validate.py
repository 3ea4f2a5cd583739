"""``make validate``: execute every notebook in a profile and check its results.

For each notebook: execute it with papermill (``TLBOOK_PROFILE`` set, code
cells untouched), read the glued metrics, compare them with the thresholds in
``tests/thresholds.yml``, and seed the Jupyter Book cache with the executed
outputs so that ``make book`` does not execute the notebooks again. Writes
``_build/validation/report.json`` and ``report.md``; exits non-zero when any
notebook fails or any threshold is missed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import yaml

from helpers import glue_keys
from tools.execute import ROOT, cache_for_book, execute, notebook_paths

THRESHOLDS = ROOT / "tests" / "thresholds.yml"
REPORT_DIR = ROOT / "_build" / "validation"


class ThresholdsError(ValueError):
    """The thresholds file is malformed (checked before any notebook runs)."""


RULE_KEYS = {"min", "max", "source", "note", "kind"}
KINDS = {"calibrated", "floor"}


def load_thresholds(path: Path = THRESHOLDS) -> dict:
    """Notebook stem -> {glue key -> rule}, checked by :func:`check_thresholds`."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThresholdsError(f"{path}: cannot be read ({exc.strerror or exc}); it holds the validation rules "
                              "and belongs to the repository: restore it with `git checkout tests/thresholds.yml`") from exc
    except yaml.YAMLError as exc:
        raise ThresholdsError(f"{path}: not valid YAML ({exc})") from exc
    check_thresholds(data, path)
    return data


def _check_rule(rule, where: str) -> None:
    if not isinstance(rule, dict):
        raise ThresholdsError(f"{where}: a rule must be a mapping such as {{min: 0.9}}, not {rule!r}")
    unknown = set(rule) - RULE_KEYS
    if unknown:
        raise ThresholdsError(f"{where}: unknown fields {sorted(unknown)} (allowed: {sorted(RULE_KEYS)})")
    for bound in ("min", "max"):
        if bound in rule and (isinstance(rule[bound], bool) or not isinstance(rule[bound], (int, float))):
            raise ThresholdsError(f"{where}: {bound} must be a number, not {rule[bound]!r}")
    if "min" in rule and "max" in rule and rule["min"] > rule["max"]:
        raise ThresholdsError(f"{where}: min {rule['min']} is above max {rule['max']}: no value could pass")
    if "kind" in rule and rule["kind"] not in KINDS:
        raise ThresholdsError(f"{where}: kind must be one of {sorted(KINDS)}, not {rule['kind']!r}")


def check_thresholds(data, path: Path = THRESHOLDS) -> None:
    """Raise :class:`ThresholdsError` (naming the file and key) unless ``data`` is a valid thresholds file.

    A rule is ``{min, max, source, note, kind}``; a rule that depends on the
    model a run used is ``{role: backbone, per_model: {vgg16: rule, squeezenet: rule}}``,
    selected by the ``nbNN_model_keys`` the chapter glues.
    """
    if not isinstance(data, dict) or not data:
        raise ThresholdsError(f"{path}: empty, or not a mapping of notebook -> rules")
    for nb, rules in data.items():
        if rules is None:
            continue
        if not isinstance(rules, dict):
            raise ThresholdsError(f"{path}: {nb}: expected a mapping of glue key -> rule, not {rules!r}")
        for key, rule in rules.items():
            where = f"{path}: {nb}: {key}"
            if not glue_keys.KEY_PATTERN.match(str(key)) or str(key)[2:4] != str(nb)[:2]:
                raise ThresholdsError(f"{where}: the key must be a glue key of this chapter, nb{str(nb)[:2]}_name")
            if isinstance(rule, dict) and "per_model" in rule:
                if set(rule) - {"role", "per_model", "source", "note"} or not isinstance(rule["per_model"], dict):
                    raise ThresholdsError(f"{where}: a per-model rule is {{role, per_model: {{model: rule}}}}")
                for model, sub in rule["per_model"].items():
                    _check_rule(sub, f"{where}: {model}")
            else:
                _check_rule(rule, where)


def _select(metrics: dict, key: str, rule: dict) -> tuple[dict, str]:
    """The rule that applies to this run, and the model it was chosen for ("" for plain rules)."""
    if "per_model" not in rule:
        return rule, ""
    model = (metrics.get(glue_keys.key(key[2:4], "model_keys")) or {}).get(rule.get("role", "backbone"), "")
    chosen = rule["per_model"].get(model.removesuffix("-random"))
    if chosen is None:
        return {}, model or "(unknown model)"
    return {"source": rule.get("source"), **chosen}, model


def check(metrics: dict, rules: dict) -> list[dict]:
    """Compare glued ``metrics`` with ``rules``; one row per rule."""
    rows = []
    for key, rule in (rules or {}).items():
        rule, model = _select(metrics, key, rule or {})
        value = metrics.get(key)
        passed = isinstance(value, (int, float)) and not isinstance(value, bool)
        note = rule.get("note")
        if model.endswith("-random"):
            passed, note = True, "timing-only run (random weights): not checked"
        elif model and not rule:
            passed, note = False, f"no rule for model {model!r}: add one under per_model"
        else:
            if passed and "min" in rule:
                passed = value >= rule["min"]
            if passed and "max" in rule:
                passed = value <= rule["max"]
        rows.append({"key": key, "value": value, "min": rule.get("min"), "max": rule.get("max"),
                     "source": rule.get("source"), "note": note, "model": model,
                     "kind": rule.get("kind", "calibrated" if rule else ""),
                     "pass": bool(passed), "missing": value is None})
    return rows


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def markdown(report: dict) -> str:
    """A readable table of the report."""
    lines = [f"# Validation report ({report['profile']} profile)", "",
             f"Machine: {report['machine']}; total {report['total_s']:.0f} s.", "",
             "Rules marked *floor* are honest sanity floors for models that could not be run where the",
             "thresholds were set; *calibrated* rules come from measured runs.", "",
             "| notebook | ok | wall s | peak MB | fallback | check | model | value | rule | kind | source | pass |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for nb in report["notebooks"]:
        head = (f"| {nb['notebook']} | {'yes' if nb['ok'] else 'NO'} | {nb['wall_s']:.0f} | "
                f"{nb['peak_rss_mb']:.0f} | {nb['fallback']} ")
        if not nb["checks"]:
            lines.append(head + "| (executes) | | | | | | " + ("yes" if nb["ok"] else "NO") + " |")
        for c in nb["checks"]:
            rule = " ".join(x for x in (f">= {c['min']}" if c["min"] is not None else "",
                                        f"<= {c['max']}" if c["max"] is not None else "") if x)
            lines.append(head + f"| {c['key']} | {c.get('model') or ''} | {_fmt(c['value'])} | {rule} | "
                         f"{c.get('kind') or ''} | {c['source'] or ''} | {'yes' if c['pass'] else 'NO'} |")
            head = "| | | | | "
    lines.append("")
    lines.append("RESULT: " + ("all passed" if report["passed"] else "FAILED"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the validation; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m tools.validate")
    parser.add_argument("--profile", default="lab")
    parser.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 02 07")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per notebook")
    parser.add_argument("--no-cache", action="store_true", help="do not seed the book cache")
    args = parser.parse_args(argv)
    try:
        thresholds = load_thresholds()
    except ThresholdsError as exc:
        print(f"validate: {exc}", file=sys.stderr)
        return 2
    paths = notebook_paths(only=args.only)
    unmatched = [o for o in args.only or [] if not notebook_paths(only=[o])]
    if unmatched and paths:
        print(f"validate: no notebook matches --only {' '.join(unmatched)} (the notebooks are "
              f"{', '.join(p.stem[:2] for p in notebook_paths())}): nothing was run", file=sys.stderr)
        return 2
    if not paths:
        print(f"validate: no notebook matches --only {' '.join(args.only or [])}: nothing was checked",
              file=sys.stderr)
        return 2
    stems = {p.stem for p in notebook_paths()}
    unknown = [nb for nb in thresholds if nb not in stems]
    if unknown:
        print(f"validate: {THRESHOLDS} names notebooks that do not exist: {', '.join(unknown)}", file=sys.stderr)
        return 2
    out_dir = ROOT / "_build" / "executed" / args.profile
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    report = {"profile": args.profile, "machine": f"{platform.processor() or platform.machine()}, "
              f"{__import__('os').cpu_count()} CPUs, Python {platform.python_version()}",
              "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "notebooks": []}
    t0 = time.perf_counter()
    for path in paths:
        print(f"executing {path.name} ({args.profile}) ...", flush=True)
        ex = execute(path, args.profile, out_dir, inject=False, timeout=args.timeout)
        checks = check(ex.glue, thresholds.get(path.stem, {}))
        fallback = ex.glue.get(glue_keys.key(path.stem, "fallback"))
        entry = {**ex.to_dict(), "checks": checks, "fallback": fallback,
                 "substitutes": ex.glue.get(glue_keys.key(path.stem, "substitutes")),
                 "data": ex.glue.get(glue_keys.key(path.stem, "data"))}
        entry["passed"] = ex.ok and all(c["pass"] for c in checks)
        report["notebooks"].append(entry)
        status = "ok" if entry["passed"] else "FAILED"
        print(f"  {status} in {ex.wall_s:.0f} s; " + ", ".join(
            f"{c['key']}={_fmt(c['value'])}{'' if c['pass'] else ' (FAIL)'}" for c in checks), flush=True)
        if not ex.ok:
            print(ex.error, file=sys.stderr)
        elif not args.no_cache:
            try:
                cache_for_book(path, Path(ex.output), seconds=ex.wall_s)
            except Exception as exc:  # the report matters more than the cache
                print(f"  (could not seed the book cache: {exc})", file=sys.stderr)
    report["total_s"] = round(time.perf_counter() - t0, 1)
    report["passed"] = all(nb["passed"] for nb in report["notebooks"])
    (REPORT_DIR / "report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    text = markdown(report)
    (REPORT_DIR / "report.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"\nreport: {REPORT_DIR / 'report.json'}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

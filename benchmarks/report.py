"""The bench report: its schema and budgets, the targets judged against them, merging, and the Markdown.

Pure functions of a report dictionary (nothing here measures anything); the
measurements are in :mod:`benchmarks.measure`, the command line in
:mod:`benchmarks.bench`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import real_models  # noqa: E402
from benchmarks.budgets import load_budgets  # noqa: E402
from benchmarks.common import slow_cells_text as _slow_cells  # noqa: E402

SCHEMA = "tlbook-bench/1"

# Budgets and targets (2 CPU cores): tests/budgets.yml, beside the accuracy thresholds.
BUDGETS = load_budgets()
LAB_TOTAL_S = BUDGETS["lab"]["total_s"]
LAB_EACH_S = BUDGETS["lab"]["each_s"]
LAB_BUDGET_S = dict(BUDGETS["lab"]["notebooks"])  # notebook prefix -> its own budget
LAB_PEAK_MB = BUDGETS["lab"]["peak_mb"]
SMOKE_TOTAL_S = BUDGETS["smoke"]["total_s"]
REAL_MODELS_BUDGET_S = dict(BUDGETS["real_models"]["notebooks"])
REAL_MODELS_TOTAL_S = BUDGETS["real_models"]["course_total_s"]
PIPELINE_MIN_RATIO = BUDGETS["micro"]["pipeline_min_ratio"]
HEAD_MIN_RATIO = BUDGETS["micro"]["head_min_ratio"]

# The three pipelines notebook 04 times (``helpers.vision.pipeline_throughput``, same labels, same order):
# report key -> (label, ``dataset_pipeline(augmentation=...)``; None: ``generator_pipeline``).
PIPELINES: dict[str, tuple[str, str | None]] = {
    "image_generator": ("ImageDataGenerator (source)", None),
    "tf_data_layers": ("tf.data + 5 Keras augmentation layers", "layers"),
    "tf_data_affine": ("tf.data + one combined affine transform", "affine"),
}
TF_DATA_VARIANTS: tuple[str, ...] = ("tf_data_layers", "tf_data_affine")
# Diagnosis only (where the time goes): the same pipelines without augmentation.
PIPELINE_DIAGNOSIS: dict[str, str] = {
    "image_generator_no_augmentation": "(diagnosis) ImageDataGenerator, rescale only",
    "tf_data_no_augmentation": "(diagnosis) tf.data cached, no augmentation",
}


def _ratio_key(variant: str) -> str:
    """``tf_data_layers`` -> ``ratio_layers``."""
    return "ratio_" + variant.removeprefix("tf_data_")

# --------------------------------------------------------------------------- pure parts

def notebook_budget(notebook: str) -> float:
    """The lab budget in seconds of a notebook stem such as ``07_glove_amazon_to_imdb``."""
    return LAB_BUDGET_S.get(notebook[:2], LAB_EACH_S)


def evaluate_targets(report: dict) -> list[dict]:
    """The issue's targets, each with its value, ``met`` (None when not measured) and a cause for a miss."""
    targets: list[dict] = []
    load = report.get("machine", {}).get("load_note", "")
    carried = report.get("carried") or {}  # kept from an earlier run: this run's load says nothing about them

    def add(name: str, rule: str, value: Any, met: bool | None, cause: str = "", part: str = "") -> None:
        if met is False and load and part not in carried:
            cause = f"{cause}; {load}" if cause else load
        targets.append({"target": name, "rule": rule, "value": value, "met": met,
                        "cause": cause if met is not True else ""})

    nbs = report.get("notebooks") or {}
    only = (report.get("settings") or {}).get("only")
    together = f"notebooks {', '.join(only)} together (subset)" if only else "all notebooks together"
    lab = nbs.get("lab") or []
    if lab:
        failed = [e["notebook"] for e in lab if not e.get("ok", True)]
        total = sum(e["wall_s"]["median"] for e in lab)
        slowest = max(lab, key=lambda e: e["wall_s"]["median"])
        add(f"lab: {together}", f"<= {LAB_TOTAL_S} s", round(total, 1),
            total <= LAB_TOTAL_S and not failed,
            (f"failed: {', '.join(failed)}; " if failed else "")
            + f"slowest notebook {slowest['notebook']} ({slowest['wall_s']['median']:.0f} s)", "notebooks.lab")
        for e in lab:
            budget = notebook_budget(e["notebook"])
            wall = e["wall_s"]["median"]
            ok = e.get("ok", True)
            cause = ("the notebook failed: " + (e.get("error") or "").splitlines()[-1][:160]
                     if not ok and e.get("error") else _slow_cells(e.get("slow_cells")))
            add(f"lab: {e['notebook']}", f"<= {budget:.0f} s", wall, wall <= budget and ok, cause, "notebooks.lab")
        for e in lab:
            peak = e["peak_rss_mb"]["median"]
            add(f"lab peak memory: {e['notebook']}", f"<= {LAB_PEAK_MB} MB", peak, peak <= LAB_PEAK_MB, "",
                "notebooks.lab")
    smoke = nbs.get("smoke") or []
    batch = (report.get("notebooks_batch") or {}).get("smoke")
    if batch:
        add(f"smoke: {together}, {batch['workers']} at a time (as make test runs them)", f"<= {SMOKE_TOTAL_S} s",
            batch["wall_s"]["median"], batch["wall_s"]["median"] <= SMOKE_TOTAL_S and batch.get("ok", True),
            (f"failed: {', '.join(batch['failed'])}; " if batch.get("failed") else "")
            + (f"one after another they take {sum(e['wall_s']['median'] for e in smoke):.0f} s" if smoke else ""),
            "notebooks.smoke")
    elif smoke:
        total = sum(e["wall_s"]["median"] for e in smoke)
        failed = [e["notebook"] for e in smoke if not e.get("ok", True)]
        slowest = max(smoke, key=lambda e: e["wall_s"]["median"])
        add(f"smoke: {together}, one after another", f"<= {SMOKE_TOTAL_S} s", round(total, 1),
            total <= SMOKE_TOTAL_S and not failed,
            (f"failed: {', '.join(failed)}; " if failed else "")
            + f"slowest notebook {slowest['notebook']} ({slowest['wall_s']['median']:.0f} s; "
            "each run includes a fresh kernel and the TensorFlow import)", "notebooks.smoke")
    pipe = report.get("pipeline")
    if pipe and pipe.get("ratio"):
        value = pipe["ratio"]["median"]
        add(f"tf.data pipeline / ImageDataGenerator images/s (best variant: {pipe.get('best_label', '?')})",
            f">= {PIPELINE_MIN_RATIO:g}x", value, value >= PIPELINE_MIN_RATIO, pipe.get("cause", ""), "pipeline")
    if pipe and pipe.get("ratio_layers") and pipe.get("best") != "tf_data_layers":
        value = pipe["ratio_layers"]["median"]
        add("(shown, not judged) tf.data + 5 Keras augmentation layers / ImageDataGenerator images/s",
            f">= {PIPELINE_MIN_RATIO:g}x", value, value >= PIPELINE_MIN_RATIO, pipe.get("layers_cause", ""),
            "pipeline")
    head = report.get("head")
    if head and head.get("ratio"):
        value = head["ratio"]["median"]
        add("cached-features head / frozen base in the model, s/epoch", f">= {HEAD_MIN_RATIO:g}x",
            value, value >= HEAD_MIN_RATIO, head.get("cause", ""), "head")
    real = report.get("real_models")
    if real:
        for t in real_models.targets(real, BUDGETS):
            add(t["target"], t["rule"], t["value"], t["met"], t["cause"], "real_models")
    return targets


def validate_report(report: dict) -> list[str]:
    """Schema problems of a report (empty list = valid)."""
    problems: list[str] = []

    def need(obj: Any, key: str, where: str) -> Any:
        if not isinstance(obj, dict) or key not in obj:
            problems.append(f"{where}: missing {key!r}")
            return None
        return obj[key]

    def check_summary(s: Any, where: str) -> None:
        if not isinstance(s, dict):
            problems.append(f"{where}: not a summary")
            return
        for k in ("median", "min", "max", "n", "runs"):
            if k not in s:
                problems.append(f"{where}: summary lacks {k!r}")
        if all(k in s for k in ("median", "min", "max")) and not s["min"] <= s["median"] <= s["max"]:
            problems.append(f"{where}: not min <= median <= max")
        if "runs" in s and "n" in s and len(s["runs"]) != s["n"]:
            problems.append(f"{where}: n != len(runs)")

    if report.get("schema") != SCHEMA:
        problems.append(f"schema is {report.get('schema')!r}, expected {SCHEMA!r}")
    for key in ("started", "finished", "settings", "sections", "targets"):
        need(report, key, "report")
    for profile, entries in (report.get("notebooks") or {}).items():
        for i, e in enumerate(entries):
            where = f"notebooks.{profile}[{i}]"
            for k in ("notebook", "ok", "source"):
                need(e, k, where)
            for k in ("wall_s", "peak_rss_mb"):
                if need(e, k, where) is not None:
                    check_summary(e[k], f"{where}.{k}")
    pipe = report.get("pipeline")
    if pipe:
        for k in ("image_generator", *TF_DATA_VARIANTS, *map(_ratio_key, TF_DATA_VARIANTS), "tf_data", "ratio"):
            if need(pipe, k, "pipeline") is not None:
                check_summary(pipe[k], f"pipeline.{k}")
        if need(pipe, "best", "pipeline") is not None and pipe["best"] not in TF_DATA_VARIANTS:
            problems.append(f"pipeline: best is {pipe['best']!r}, not one of {TF_DATA_VARIANTS}")
    head = report.get("head")
    if head:
        for k in ("cached_s_per_epoch", "end_to_end_s_per_epoch", "ratio"):
            if need(head, k, "head") is not None:
                check_summary(head[k], f"head.{k}")
    for i, row in enumerate(report.get("inference") or []):
        for k in ("model", "size", "images_per_s"):
            need(row, k, f"inference[{i}]")
        if isinstance(row, dict) and "images_per_s" in row:
            check_summary(row["images_per_s"], f"inference[{i}].images_per_s")
    real = report.get("real_models")
    if real:
        for k in ("data_dir", "entries", "course_notebooks"):
            need(real, k, "real_models")
        for i, e in enumerate(real.get("entries") or []):
            where = f"real_models.entries[{i}]"
            for k in ("notebook", "ok", "source", "timing_only", "parameters", "used_substitute"):
                need(e, k, where)
            for k in ("wall_s", "peak_rss_mb"):
                if need(e, k, where) is not None:
                    check_summary(e[k], f"{where}.{k}")
    for i, t in enumerate(report.get("targets") or []):
        for k in ("target", "rule", "value", "met", "cause"):
            need(t, k, f"targets[{i}]")
    return problems


def _num(x: Any, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "NO"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:.0f}"
    return str(x)


def _cell(s: dict | None, digits: int = 3) -> str:
    """``median (min-max)`` of a summary; just the value for a single run."""
    if not s:
        return "-"
    if s["n"] == 1:
        return _num(s["median"], digits)
    return f"{_num(s['median'], digits)} ({_num(s['min'], digits)}-{_num(s['max'], digits)})"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A Markdown pipe table; ``|`` in cells is escaped."""
    def esc(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(esc(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(esc(v) for v in row) + " |" for row in rows]
    return out


def render_markdown(report: dict, level: int = 3) -> str:
    """The compact Markdown summary the instructor guide includes.

    No title of its own (the including page has one); sections are headings
    of ``level`` (``###`` by default).
    """
    h = "#" * level + " "
    lines: list[str] = []
    m = report.get("machine") or {}
    settings = report.get("settings") or {}
    lines.append(f"Benchmark run {report.get('started', '?')} to {report.get('finished', '?')}"
                 + (" with `--quick` (tiny settings: indicative only)" if settings.get("quick") else "")
                 + f". Micro-benchmarks: median (min-max) of {settings.get('repeats', '?')} timed run(s) "
                 "after one untimed warm-up; ratios are formed run by run in the same process.")
    lines.append("")
    if m:
        lines.append(h + "Machine")
        lines.append("")
        lines += table(["CPU", "cores (usable)", "TensorFlow", "Keras", "oneDNN", "load avg (start/end)"],
                       [[m.get("cpu_model", "?") + (f" ({m['cpu_vector_flags']})" if m.get("cpu_vector_flags") else ""),
                         f"{m.get('cpu_count')} ({m.get('usable_cores')})",
                         m.get("tensorflow", "?"), m.get("keras", "?"), m.get("onednn", "?"),
                         f"{m.get('loadavg_start', '?')} / {m.get('loadavg_end', '?')}"]])
        if m.get("load_note"):
            lines += ["", f"Note: {m['load_note']}."]
        lines.append("")
    nbs = report.get("notebooks") or {}
    if nbs:
        lines += [h + "Notebooks", ""]
        profiles = [p for p in ("smoke", "lab", "full") if p in nbs]
        by_name: dict[str, dict] = {}
        for p in profiles:
            for e in nbs[p]:
                by_name.setdefault(e["notebook"], {})[p] = e
        headers = ["notebook"]
        for p in profiles:
            headers += [f"{p} s", f"{p} peak MB"]
        headers += ["lab budget s"] if "lab" in profiles else []
        rows = []
        for name, per in by_name.items():
            row = [name]
            for p in profiles:
                e = per.get(p)
                if e is None:
                    row += ["-", "-"]
                    continue
                row += [_cell(e["wall_s"]) + ("" if e.get("ok", True) else " FAILED"),
                        _cell(e["peak_rss_mb"])]
            if "lab" in profiles:
                row.append(f"{notebook_budget(name):.0f}")
            rows.append(row)
        total = ["**total, one after another**"]
        for p in profiles:
            total += [f"{sum(e['wall_s']['median'] for e in nbs[p]):.0f}", ""]
        if "lab" in profiles:
            total.append(f"{LAB_TOTAL_S}")
        rows.append(total)
        for p, b in (report.get("notebooks_batch") or {}).items():
            if p in profiles:
                together_row = [f"**total, {b['workers']} at a time**"]
                for q in profiles:
                    together_row += ([_cell(b["wall_s"]) + ("" if b.get("ok", True) else " FAILED"),
                                      _cell(b["peak_rss_mb"])] if q == p else ["", ""])
                rows.append(together_row + ([""] if "lab" in profiles else []))
        lines += table(headers, rows)
        sources = {f"{p}: {e['source']}" for p in profiles for e in nbs[p] if e.get("source") != "executed"}
        subs = ", ".join(sorted(real_models.REAL_MODELS))
        lines += ["", "Each notebook runs in a fresh kernel with papermill (kernel start and imports included); "
                  "peak memory is the resident set of the whole process tree."
                  + (" Taken from elsewhere: " + "; ".join(sorted(sources)) + "." if sources else "")
                  + (f" Offline, the lab runs of {subs} use the substitute models; their times with the real "
                     "models are in the next table." if report.get("real_models") and "lab" in profiles else ""),
                  ""]
    real = report.get("real_models")
    if real:
        lines += render_real_models(real, h)
    pipe = report.get("pipeline")
    if pipe:
        lines += [h + "Input pipeline", "",
                  f"{pipe.get('images', '?')} images at {pipe.get('image_size', '?')} px, batch "
                  f"{pipe.get('batch_size', '?')}, the source's augmentation (rotation 30 deg, shifts 0.1, shear "
                  "0.2 deg, zoom 0.2, horizontal flip, fill nearest, rescale 1/255).", ""]
        names = {"image_generator": "`ImageDataGenerator.flow_from_directory` (source)",
                 "tf_data_layers": "`image_dataset_from_directory` + cache + 5 Keras augmentation layers + prefetch",
                 "tf_data_affine": "`image_dataset_from_directory` + cache + one combined affine transform "
                                   "(`source_augment`) + prefetch"}
        rows = [[names["image_generator"], _cell(pipe["image_generator"]), "1"]]
        rows += [[names[k], _cell(pipe[k]), _cell(pipe[_ratio_key(k)])] for k in TF_DATA_VARIANTS]
        rows += [[label, _cell(pipe[k]), "-"] for k, label in PIPELINE_DIAGNOSIS.items() if pipe.get(k)]
        lines += table(["pipeline", "images/s", "x ImageDataGenerator"], rows)
        lines += ["", f"The >= {PIPELINE_MIN_RATIO:g}x target is judged on the faster tf.data variant, "
                  f"**{pipe['best_label']}** ({_num(pipe['ratio']['median'])}x); the Keras-layers recipe reaches "
                  f"{_num(pipe['ratio_layers']['median'])}x. Notebook 04 times the same three pipelines."]
        if pipe.get("note"):
            lines += ["", pipe["note"]]
        lines.append("")
    head = report.get("head")
    if head:
        lines += [h + "Transfer head: cached features vs frozen base in the model", "",
                  f"{head.get('backbone', '?')} base ({head.get('weights', '?')}) at "
                  f"{head.get('image_size', '?')} px, {head.get('images', '?')} images, batch "
                  f"{head.get('batch_size', '?')}; head: {head.get('head', '?')}.", ""]
        rows = [["cached features (head only)", _cell(head["cached_s_per_epoch"])],
                ["frozen base inside the model", _cell(head["end_to_end_s_per_epoch"])],
                ["**ratio** (end-to-end / cached)", _cell(head["ratio"])]]
        if head.get("extraction_s"):
            rows.append(["one-off feature extraction", _cell(head["extraction_s"])])
        lines += table(["variant", "s/epoch"], rows)
        if head.get("break_even_epochs") is not None:
            lines += ["", f"Caching pays for its one-off extraction after "
                      f"{head['break_even_epochs']:.2g} epoch(s)."]
        lines.append("")
    inf = report.get("inference") or []
    if inf:
        lines += [h + "Backbone inference (images/s)", ""]
        sizes = sorted({r["size"] for r in inf}, reverse=True)
        models = list(dict.fromkeys(r["model"] for r in inf))
        got = {(r["model"], r["size"]): r for r in inf}
        rows = [[mod] + [_cell(got[(mod, s)]["images_per_s"]) if (mod, s) in got else "-" for s in sizes]
                for mod in models]
        lines += table(["backbone"] + [f"{s} px" for s in sizes], rows)
        note = report.get("inference_note")
        if note:
            lines += ["", note]
        lines.append("")
    targets = report.get("targets") or []
    if targets:
        lines += [h + "Targets", ""]
        rows = [[t["target"], t["rule"], _num(t["value"]),
                 "not measured" if t["met"] is None else ("met" if t["met"] else "**missed**"),
                 t["cause"]] for t in targets]
        lines += table(["target", "rule", "value", "met", "cause of a miss"], rows)
        lines.append("")
    carried = report.get("carried") or {}
    if carried:
        lines += ["Kept from the previous benchmark report (`--merge`; not measured in this run): "
                  + "; ".join(f"{k} from {v.get('from', '?')} (load avg {v.get('loadavg', '?')})"
                              for k, v in carried.items()) + ".", ""]
    for note in report.get("notes") or []:
        lines += [f"Note: {note.rstrip('.')}.", ""]
    for section, err in (report.get("errors") or {}).items():
        lines.append(f"- section `{section}` failed: {err}")
    return "\n".join(lines).rstrip() + "\n"


def render_real_models(real: dict, h: str = "### ") -> list[str]:
    """The Markdown of the ``real-models`` section: one row per chapter, marked timing only, and the course."""
    lines = [h + "Lab with the real models (timing only, random weights)", ""]
    rows = []
    for e in real.get("entries") or []:
        budget = REAL_MODELS_BUDGET_S.get(e["notebook"][:2])
        wall = e["wall_s"]["median"]
        met = "-" if budget is None else ("met" if (e.get("ok", True) and not e.get("used_substitute")
                                                    and wall <= budget) else "**missed**")
        params = ", ".join(f"`{k}={v!r}`" for k, v in (e.get("parameters") or {}).items())
        rows.append([e["notebook"], e.get("label", real_models.TIMING_ONLY_LABEL), e.get("models", "?"), params,
                     _cell(e["wall_s"]) + ("" if e.get("ok", True) else " FAILED")
                     + (" (SUBSTITUTE RAN)" if e.get("used_substitute") else ""),
                     _cell(e["peak_rss_mb"]), "-" if budget is None else f"{budget:.0f}", met, e.get("cache", "")])
    total = real.get("course")
    if total:
        met = ("not measured" if total["missing"] else
               ("met" if total["value"] <= REAL_MODELS_TOTAL_S and not total["failed"] else "**missed**"))
        rows.append(["**whole lab course with the real models**", "04-06 timing only + other chapters' lab", "",
                     "", f"{total['value']:.0f}", "", f"{REAL_MODELS_TOTAL_S:.0f}", met,
                     ("missing: " + ", ".join(total["missing"])) if total["missing"] else ""])
    lines += table(["notebook", "weights", "models", "parameters", "lab s", "peak MB", "budget s", "met",
                    "feature caches"], rows)
    w = real.get("weights") or {}
    lines += ["", real.get("note", ""), "", f"Data dir: `{real.get('data_dir', '?')}` (datasets linked from "
              f"`{real.get('source_data_dir', '?')}`)."
              + (f" DeepFace {w.get('deepface', '?')} random-weight files "
                 + (f"reused (written once in {w.get('seconds', '?')} s)" if w.get("reused") else
                    f"written and checked in {w.get('prepare_s', '?')} s")
                 + f": {w.get('how', '')}." if w else "")]
    added = [f"{e['notebook'][:2]} " + (", ".join(f"`{k}` {v['files']} files ({v['mb']:g} MB)"
                                              for k, v in (e.get("cache_added") or {}).items()) or "nothing")
             for e in real.get("entries") or []]
    if added:
        lines += ["", "Written to the cold caches (`<data dir>/cache`) by each run: " + "; ".join(added) + "."]
    if total and total.get("parts"):
        lines += ["", "Whole course: " + " + ".join(f"{p['notebook'][:2]} {p['wall_s']:.0f} s" for p in
                                                     total["parts"]) + f" = {total['value']:.0f} s (other "
                  "chapters: their ordinary lab runs)."]
    return lines + [""]


CARRIED_SECTIONS: tuple[str, ...] = ("pipeline", "head", "inference", "real_models")



def merge_previous(report: dict, previous: dict) -> dict:
    """Fill in what ``report`` did not measure from ``previous`` (an earlier report), marking each part.

    Whole sections (pipeline, head, inference, real models) and notebook
    profiles (smoke, lab, full) are kept; a kept entry that was executed then
    gets the source ``benchmark <its date>``. ``report["carried"]`` lists what
    was kept, with the earlier run's start and load average.
    """
    when = previous.get("started", "?")
    pm = previous.get("machine") or {}
    loadavg = f"{pm.get('loadavg_start', '?')} / {pm.get('loadavg_end', '?')}"
    carried = report.setdefault("carried", {})
    earlier = previous.get("carried") or {}  # what the previous report had itself kept: its origin stays

    def origin(name: str) -> dict:
        return earlier.get(name) or {"from": when, "loadavg": loadavg}

    def mark(entries: list[dict]) -> list[dict]:
        return [dict(e, source=f"benchmark {when}") if e.get("source", "executed") == "executed" else e
                for e in entries]

    for section in CARRIED_SECTIONS:
        if section not in report and previous.get(section):
            value = previous[section]
            if section == "real_models":
                value = dict(value, entries=mark(value.get("entries") or []))
            report[section] = value
            if section == "inference" and previous.get("inference_note"):
                report["inference_note"] = previous["inference_note"]
            carried[section] = origin(section)
    for profile, entries in (previous.get("notebooks") or {}).items():
        if profile not in (report.get("notebooks") or {}):
            report.setdefault("notebooks", {})[profile] = mark(entries)
            carried[f"notebooks.{profile}"] = origin(f"notebooks.{profile}")
            if (previous.get("notebooks_batch") or {}).get(profile):  # measured with those entries
                report.setdefault("notebooks_batch", {})[profile] = previous["notebooks_batch"][profile]
    if not carried:
        del report["carried"]
    return report


def write(report: dict, out: Path) -> tuple[Path, Path]:
    """Write ``latest.json`` and ``latest.md`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    j, m = out / "latest.json", out / "latest.md"
    j.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    m.write_text(render_markdown(report), encoding="utf-8")
    return j, m



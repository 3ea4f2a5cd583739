"""``make bench``: how fast the course runs on a CPU, and the speed-ups it teaches.

Sections (choose with ``--sections``):

- ``notebooks``: each notebook's wall time and peak memory in ``smoke`` and
  ``lab``, executed with papermill through :func:`tools.execute.execute`;
- ``pipeline``: images/s of the three input pipelines notebook 04 reports,
  all built by ``helpers.vision``: ``ImageDataGenerator``, and
  ``image_dataset_from_directory`` + ``tf.data`` cache/prefetch with the
  augmentation as Keras layers or as one combined affine transform; same
  images, augmentation and image size;
- ``head``: seconds per epoch of the same transfer head trained on cached
  frozen-base features and with the frozen base inside the model;
- ``inference``: backbone images/s at 224, 160 and 96 px (VGG16, SqueezeNet);
- ``real-models``: notebooks 04, 05 and 06 in ``lab`` with the real
  architectures (VGG16, DeepFace) on random weights of the same shapes, timing
  only, in a fresh bench-owned data dir (:mod:`benchmarks.real_models`), and
  the whole lab course with the real models;
- ``machine``: CPU, cores, TensorFlow version, oneDNN.

Budgets and target ratios are read from ``tests/budgets.yml``
(:mod:`benchmarks.budgets`). Besides its report the bench writes
``helpers/runtimes.json`` (:mod:`benchmarks.runtimes`), which the chapters'
"Run time" lines glue.

Every micro-benchmark figure is the median of ``--repeats`` timed runs after
one untimed warm-up, reported with min and max; ratios are formed run by run
inside the same process. Writes ``benchmarks/results/latest.json`` and
``latest.md``; with ``--merge`` what this run does not measure is kept from the
previous ``latest.json``, marked with its date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # ``python benchmarks/bench.py`` from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks import real_models  # noqa: E402
from benchmarks.budgets import load_budgets  # noqa: E402
from benchmarks.common import cell_times as _cell_times  # noqa: E402
from benchmarks.common import ratios, slowest, summarize  # noqa: E402,F401 - part of this module's interface
from benchmarks.common import slow_cells_text as _slow_cells  # noqa: E402

SCHEMA = "tlbook-bench/1"
RESULTS = ROOT / "benchmarks" / "results"
RUNTIMES_PATH = ROOT / "helpers" / "runtimes.json"
FRESH_NOTEBOOKS_DATA = ROOT / "_build" / "bench" / "data" / "notebooks"
VALIDATION_REPORT = ROOT / "_build" / "validation" / "report.json"
SECTIONS: tuple[str, ...] = ("machine", "notebooks", "pipeline", "head", "inference", "real-models")

# Budgets and targets (2 CPU cores): tests/budgets.yml, beside the accuracy thresholds.
BUDGETS = load_budgets()
LAB_TOTAL_S = BUDGETS["lab"]["total_s"]
LAB_EACH_S = BUDGETS["lab"]["each_s"]
LAB_BUDGET_S = dict(BUDGETS["lab"]["notebooks"])  # notebook prefix -> its own budget
SMOKE_TOTAL_S = BUDGETS["smoke"]["total_s"]
REAL_MODELS_BUDGET_S = dict(BUDGETS["real_models"]["notebooks"])
REAL_MODELS_TOTAL_S = BUDGETS["real_models"]["course_total_s"]
PIPELINE_MIN_RATIO = BUDGETS["micro"]["pipeline_min_ratio"]
HEAD_MIN_RATIO = BUDGETS["micro"]["head_min_ratio"]

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
    smoke = nbs.get("smoke") or []
    if smoke:
        total = sum(e["wall_s"]["median"] for e in smoke)
        failed = [e["notebook"] for e in smoke if not e.get("ok", True)]
        slowest = max(smoke, key=lambda e: e["wall_s"]["median"])
        add(f"smoke: {together}", f"<= {SMOKE_TOTAL_S} s", round(total, 1),
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
        total = ["**total**"]
        for p in profiles:
            total += [f"{sum(e['wall_s']['median'] for e in nbs[p]):.0f}", ""]
        if "lab" in profiles:
            total.append(f"{LAB_TOTAL_S}")
        rows.append(total)
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


# --------------------------------------------------------------------------- timing

def timed_runs(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> list[float]:
    """Seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on Linux
        return "?"


def machine() -> dict:
    """CPU model, cores, TensorFlow/Keras versions and whether oneDNN is on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import keras
    import tensorflow as tf

    flag = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    try:
        from tensorflow.python.util import _pywrap_util_port

        built = bool(_pywrap_util_port.IsMklEnabled())
    except Exception:  # noqa: BLE001 - private API; absence only loses a detail
        built = None
    if flag is None:
        onednn = "on (default)" if built else "off (default)"
    else:
        onednn = ("off" if flag.strip().lower() in ("0", "false", "no") else "on") + \
            f" (TF_ENABLE_ONEDNN_OPTS={flag})"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    # oneDNN is on by default only on CPUs with these (TensorFlow >= 2.9 on Linux x86)
    vector = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile") if f in flags]
    return {"cpu_model": cpu, "cpu_count": os.cpu_count(), "usable_cores": usable,
            "python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "onednn": onednn, "onednn_built": built, "TF_ENABLE_ONEDNN_OPTS": flag,
            "cpu_vector_flags": " ".join(vector) or "?",
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads() or "auto",
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads() or "auto",
            "platform": platform.platform()}


def load_note(loadavg_start: str, loadavg_end: str, cores: int | None) -> str:
    """A warning when the 1-minute load average exceeded the core count (other work competed)."""
    try:
        peak = max(float(loadavg_start.split()[0]), float(loadavg_end.split()[0]))
    except (ValueError, IndexError):
        return ""
    if cores and peak > cores + 0.5:
        return f"measured under contention: 1-min load average up to {peak:.1f} on {cores} cores"
    return ""


# --------------------------------------------------------------------------- notebooks

def fresh_validation(path: Path | None = None, notebooks: Sequence[Path] = ()) -> dict | None:
    """The lab validation report (default ``_build/validation/report.json``) when it is newer than every notebook."""
    path = path or VALIDATION_REPORT
    if not path.exists():
        return None
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if report.get("profile") != "lab":
        return None
    mtime = path.stat().st_mtime
    if any(p.stat().st_mtime > mtime for p in notebooks):
        return None
    return report


def bench_notebooks(profiles: Sequence[str], repeats: dict[str, int], only: list[str] | None,
                    timeout: float, reuse_validation: bool, root: Path | None = None,
                    data_dir: Path | None = None) -> dict:
    """Wall time and peak memory of each notebook per profile (``root``: the notebooks folder).

    ``data_dir``: run the notebooks against this data directory (the bench's
    fresh copy, see ``--fresh-data``) instead of ``TLBOOK_DATA_DIR``.
    """
    from tools.execute import NOTEBOOKS, execute, notebook_paths

    extra = {"env": {"TLBOOK_DATA_DIR": str(data_dir), "KERAS_HOME": str(Path(data_dir) / "keras"),
                     "DEEPFACE_HOME": str(Path(data_dir) / "deepface")}} if data_dir else {}

    paths = notebook_paths(root or NOTEBOOKS, only=only)
    if not paths:
        print("  no notebooks found under notebooks/", flush=True)
    out: dict[str, list[dict]] = {}
    for profile in profiles:
        entries: list[dict] = []
        reused = fresh_validation(notebooks=paths) if (reuse_validation and profile == "lab") else None
        if reuse_validation and profile == "lab" and reused is None:
            print("  --reuse-validation: no fresh lab report at _build/validation/report.json; executing",
                  flush=True)
        covered: set[str] = set()
        if reused is not None:
            stems = {p.stem for p in paths}
            for nb in reused.get("notebooks", []):
                if nb["notebook"] not in stems:
                    continue
                covered.add(nb["notebook"])
                entries.append({"notebook": nb["notebook"], "ok": nb.get("ok", False),
                                "source": f"validation report {reused.get('started', '')}".strip(),
                                "wall_s": summarize([nb["wall_s"]]),
                                "peak_rss_mb": summarize([nb.get("peak_rss_mb", 0.0)]),
                                "slow_cells": sorted(_cell_times(Path(nb.get("output", ""))),
                                                     key=lambda c: -c["seconds"])[:3],
                                "error": nb.get("error", "")})
        out_dir = ROOT / "_build" / "bench" / profile
        for path in (p for p in paths if p.stem not in covered):  # what the report lacks is executed
            walls, peaks, ok, error, cells = [], [], True, "", []
            for i in range(repeats.get(profile, 1)):
                print(f"  {path.name} ({profile}, run {i + 1}) ...", end=" ", flush=True)
                ex = execute(path, profile, out_dir, inject=True, timeout=timeout, **extra)
                print(f"{ex.wall_s:.0f} s, {ex.peak_rss_mb:.0f} MB{'' if ex.ok else ' FAILED'}", flush=True)
                walls.append(ex.wall_s)
                peaks.append(ex.peak_rss_mb)
                ok = ok and ex.ok
                error = error or ex.error
                cells = sorted(_cell_times(Path(ex.output)), key=lambda c: -c["seconds"])[:3]
                if not ex.ok:
                    break
            entries.append({"notebook": path.stem, "ok": ok, "source": "executed",
                            "wall_s": summarize(walls), "peak_rss_mb": summarize(peaks),
                            "slow_cells": cells, "error": error})
        out[profile] = sorted(entries, key=lambda e: e["notebook"])
    return out


# --------------------------------------------------------------------------- pipeline

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


def pipeline_entry(ips: dict[str, list[float]], n_images: int, image_size: int, batch_size: int,
                   note: str = "") -> dict:
    """The pipeline section of the report from per-run images/s of each pipeline.

    ``ips`` maps the keys of :data:`PIPELINES` (and optionally of
    :data:`PIPELINE_DIAGNOSIS`) to images/s of the same timed runs. Each
    ``tf.data`` variant gets a run-by-run ratio against ``ImageDataGenerator``;
    the target is judged on the variant with the higher median ratio
    (``best``; its figures are repeated as ``tf_data`` and ``ratio``).
    """
    gen = ips["image_generator"]
    entry: dict[str, Any] = {"images": n_images, "image_size": image_size, "batch_size": batch_size,
                             "labels": {k: PIPELINES[k][0] for k in PIPELINES}}
    for key in (*PIPELINES, *PIPELINE_DIAGNOSIS):
        if key in ips:
            entry[key] = summarize(ips[key])
    for key in TF_DATA_VARIANTS:
        entry[_ratio_key(key)] = summarize(ratios(ips[key], gen))
    best = max(TF_DATA_VARIANTS, key=lambda k: entry[_ratio_key(k)]["median"])
    entry.update(best=best, best_label=PIPELINES[best][0], tf_data=entry[best], ratio=entry[_ratio_key(best)],
                 note=note)

    def ms(key: str) -> float:  # milliseconds per image (median run)
        return 1000.0 / statistics.median(ips[key])

    where = ""
    if all(k in ips for k in PIPELINE_DIAGNOSIS):
        read_ds, read_gen = ms("tf_data_no_augmentation"), ms("image_generator_no_augmentation")
        where = (f"; reading costs {read_ds:.1f} (tf.data, cached) vs {read_gen:.1f} ms/image (ImageDataGenerator, "
                 f"PIL every epoch); augmentation adds {ms('tf_data_layers') - read_ds:.1f} (5 layers) and "
                 f"{ms('tf_data_affine') - read_ds:.1f} (one transform) vs {ms('image_generator') - read_gen:.1f} "
                 "ms/image (ImageDataGenerator)")
    for key, field in ((best, "cause"), ("tf_data_layers", "layers_cause")):
        if entry[_ratio_key(key)]["median"] < PIPELINE_MIN_RATIO:
            entry[field] = (f"{PIPELINES[key][0]} {ms(key):.1f} ms/image vs ImageDataGenerator "
                            f"{ms('image_generator'):.1f} ms/image" + where)
    return entry


def _cats_dogs(n: int) -> tuple[list[Path], Any, str]:
    """Cats-vs-dogs training files from the data dir, else a synthetic stand-in of ``n`` images."""
    from helpers.datasets import cats_dogs_files
    from helpers.registry import is_present

    if is_present("cats_and_dogs_filtered"):
        paths, labels, _ = cats_dogs_files("train")
        return paths, labels, "cats_and_dogs_filtered"
    paths, labels, _ = cats_dogs_files("train", synthetic=True, n_synthetic=max(n // 2, 2))
    return paths, labels, "synthetic stand-in (no cats_and_dogs_filtered in the data dir)"


def _subset_dir(paths: Sequence[Path], labels: Sequence[int], n: int, root: Path) -> Path:
    """A ``cats/``+``dogs/`` folder of symlinks to ``n`` images (half each), so an epoch is a full pass."""
    half = n // 2
    chosen = [p for p, y in zip(paths, labels, strict=True) if y == 0][:half] + \
             [p for p, y in zip(paths, labels, strict=True) if y == 1][: n - half]
    for p in chosen:
        sub = root / p.parent.name
        sub.mkdir(parents=True, exist_ok=True)
        (sub / p.name).symlink_to(p.resolve())
    return root


def full_pass(pipe: Any) -> int:
    """Read one full epoch of a pipeline; return the number of images.

    A ``DirectoryIterator`` (``ImageDataGenerator``) loops forever: one epoch
    is ``len(pipe)`` batches. A ``tf.data`` dataset is iterated to its end.
    """
    n = 0
    if hasattr(pipe, "__next__"):
        for _ in range(len(pipe)):
            n += int(next(pipe)[0].shape[0])
    else:
        for x, _y in pipe:
            n += int(x.shape[0])
    return n


def bench_pipeline(n_images: int, repeats: int, image_size: int = 224, batch_size: int = 20, seed: int = 42,
                   files: tuple[Sequence[Path], Sequence[int], str] | None = None) -> dict:
    """images/s of the three pipelines notebook 04 reports, on the same images and augmentation.

    The pipelines are built by :mod:`helpers.vision` exactly as
    ``pipeline_throughput`` builds them (``generator_pipeline``;
    ``dataset_pipeline(augmentation="layers")`` and ``"affine"``, i.e.
    :func:`helpers.vision.source_augment`), plus the two without augmentation
    for diagnosis. Each reads its own symlinked copy of the same ``n_images``
    files (``files``: ``(paths, labels, kind)``, default the cats-vs-dogs
    training set), so every epoch is a full pass. One untimed warm-up epoch
    each fills the ``tf.data`` caches; then the ``tf.data`` folders are
    deleted, so a timed epoch can only be served by a *complete* cache (a
    partial one would read the files and fail). Then ``repeats`` rounds, each
    timing one full epoch of every pipeline in turn, so each ratio compares
    epochs measured side by side.
    """
    import shutil
    import tempfile

    from helpers import vision

    paths, labels, kind = files if files is not None else _cats_dogs(n_images)
    size = (image_size, image_size)
    with tempfile.TemporaryDirectory(prefix="tlbook-bench-") as tmp:
        dirs = {k: _subset_dir(paths, list(labels), n_images, Path(tmp) / k) for k in (*PIPELINES, *PIPELINE_DIAGNOSIS)}
        pipes: dict[str, Any] = {}
        for key, (_label, aug) in PIPELINES.items():
            pipes[key] = (vision.generator_pipeline(dirs[key], size, batch_size, seed=seed) if aug is None else
                          vision.dataset_pipeline(dirs[key], size, batch_size, seed=seed, augmentation=aug))
        pipes["image_generator_no_augmentation"] = vision.generator_pipeline(
            dirs["image_generator_no_augmentation"], size, batch_size, augment=False, seed=seed)
        pipes["tf_data_no_augmentation"] = vision.dataset_pipeline(
            dirs["tf_data_no_augmentation"], size, batch_size, augment=False, seed=seed)
        first: dict[str, float] = {}
        counts: dict[str, int] = {}
        for key, pipe in pipes.items():  # warm-up: one untimed full pass each
            t0 = time.perf_counter()
            counts[key] = full_pass(pipe)
            first[key] = time.perf_counter() - t0
            if not hasattr(pipe, "__next__"):
                shutil.rmtree(dirs[key])  # from now on only a complete cache can serve this pipeline
        n = counts["image_generator"]
        if set(counts.values()) != {n} or n == 0:
            raise RuntimeError(f"pipelines read different numbers of images per epoch: {counts}")
        times: dict[str, list[float]] = {k: [] for k in pipes}
        for _ in range(repeats):  # alternate, so each pair is measured side by side
            for key, pipe in pipes.items():
                t0 = time.perf_counter()
                got = full_pass(pipe)
                times[key].append(time.perf_counter() - t0)
                if got != n:
                    raise RuntimeError(f"{key} read {got} images in a timed epoch, expected {n}")
    ips = {k: [n / t for t in v] for k, v in times.items()}
    note = (f"Data: {kind}. The same pipelines as notebook 04 (`helpers.vision`). Steady state: one untimed "
            "warm-up epoch each, after which the tf.data folders are deleted, so the timed epochs come from a "
            "complete in-memory cache. First (uncached) tf.data epoch: "
            + ", ".join(f"{PIPELINES[k][0]} {n / first[k]:.0f} images/s" for k in TF_DATA_VARIANTS) + ".")
    entry = pipeline_entry(ips, n, image_size, batch_size, note)
    entry.update(seed=seed, data=kind,
                 tf_data_first_epoch_images_per_s={k: round(n / first[k], 1) for k in TF_DATA_VARIANTS})
    return entry


# --------------------------------------------------------------------------- transfer head

HEAD_DESC = "GlobalAveragePooling2D - Dense 512 relu - Dropout 0.5 - Dense 1 sigmoid; Adam 1e-4"


def _load_images(n: int, size: int) -> tuple[Any, Any, str]:
    """``n`` cats/dogs training images (half each) at ``size`` px, Caffe-preprocessed for VGG16."""
    import numpy as np

    from helpers import vision

    paths, labels, kind = _cats_dogs(n)
    half = n // 2
    idx = [i for i in range(len(labels)) if labels[i] == 0][:half] + \
          [i for i in range(len(labels)) if labels[i] == 1][: n - half]
    x = vision.caffe_preprocess(vision.load_images([paths[i] for i in idx], (size, size)).astype("float32"))
    return np.asarray(x, dtype="float32"), np.asarray(labels[idx], dtype="float32"), kind


def _head(inputs: Any) -> Any:
    from keras import layers

    h = layers.GlobalAveragePooling2D()(inputs)
    h = layers.Dense(512, activation="relu")(h)
    h = layers.Dropout(0.5)(h)
    return layers.Dense(1, activation="sigmoid")(h)


def _epoch_times(model: Any, x: Any, y: Any, repeats: int, batch_size: int) -> list[float]:
    """Seconds of each of ``repeats`` epochs after one untimed warm-up epoch."""
    import keras

    times: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            times.append(time.perf_counter() - self.t0)

    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=batch_size, epochs=1 + repeats, shuffle=True, verbose=0, callbacks=[Clock()])
    return times[1:]


def bench_head(n_images: int, repeats: int, image_size: int = 224, batch_size: int = 20) -> dict:
    """Seconds/epoch of the same head on cached VGG16 features vs with the frozen base inside."""
    import keras

    keras.utils.set_random_seed(0)
    x, y, kind = _load_images(n_images, image_size)
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(image_size, image_size, 3))
    base.trainable = False

    out: list[Any] = []
    base.predict(x[:batch_size], batch_size=batch_size, verbose=0)  # warm-up: trace the graph on one batch
    extraction = timed_runs(lambda: out.append(base.predict(x, batch_size=batch_size, verbose=0)), repeats,
                            warmup=0)
    feats = out[-1]
    inp = keras.Input(feats.shape[1:])
    cached = keras.Model(inp, _head(inp), name="head_on_cached_features")
    cached_t = _epoch_times(cached, feats, y, repeats, batch_size)

    inp = keras.Input((image_size, image_size, 3))
    e2e = keras.Model(inp, _head(base(inp, training=False)), name="frozen_base_and_head")
    e2e_t = _epoch_times(e2e, x, y, repeats, batch_size)

    entry = {"backbone": "VGG16", "weights": "random weights, timing only", "image_size": image_size,
             "images": int(len(x)), "data": kind, "batch_size": batch_size, "head": HEAD_DESC,
             "feature_shape": list(feats.shape[1:]),
             "cached_s_per_epoch": summarize(cached_t), "end_to_end_s_per_epoch": summarize(e2e_t),
             "ratio": summarize(ratios(e2e_t, cached_t)), "extraction_s": summarize(extraction)}
    saved = entry["end_to_end_s_per_epoch"]["median"] - entry["cached_s_per_epoch"]["median"]
    entry["break_even_epochs"] = entry["extraction_s"]["median"] / saved if saved > 0 else None
    if entry["ratio"]["median"] < HEAD_MIN_RATIO:
        entry["cause"] = (f"cached epoch {entry['cached_s_per_epoch']['median']:.3g} s is mostly fixed "
                          f"per-epoch/per-step overhead at {len(x)} images; the frozen base's forward pass "
                          f"costs {entry['extraction_s']['median']:.3g} s per pass")
    return entry


# --------------------------------------------------------------------------- inference

def bench_inference(sizes: Sequence[int], n_images: int, repeats: int, batch_size: int) -> tuple[list[dict], str]:
    """Forward-pass images/s of VGG16 and SqueezeNet (random weights) at each size."""
    import keras
    import numpy as np

    builders: dict[str, Callable[[int], Any]] = {
        "VGG16": lambda s: keras.applications.VGG16(weights=None, include_top=False, input_shape=(s, s, 3)),
    }
    note = "Random weights (timing only); no top; `model.predict` on in-memory arrays."
    try:
        from helpers.vision import squeezenet

        builders["SqueezeNet"] = lambda s: squeezenet(input_shape=(s, s, 3), weights=None)
    except ImportError as exc:
        note += f" SqueezeNet skipped: helpers.vision.squeezenet unavailable ({exc})."
    rng = np.random.default_rng(0)
    rows = []
    for name, build in builders.items():
        for s in sizes:
            keras.backend.clear_session()
            model = build(s)
            x = rng.uniform(0, 255, (n_images, s, s, 3)).astype("float32")
            secs = timed_runs(lambda m=model, x=x: m.predict(x, batch_size=batch_size, verbose=0), repeats)
            ips = [n_images / t for t in secs]
            rows.append({"model": name, "size": s, "images": n_images, "batch_size": batch_size,
                         "params": int(model.count_params()), "images_per_s": summarize(ips)})
            print(f"  {name} {s} px: {rows[-1]['images_per_s']['median']:.3g} images/s", flush=True)
    return rows, note


# --------------------------------------------------------------------------- CLI

def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; ``--quick`` shrinks every knob for a smoke test of the script."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--sections", type=_csv, default=list(SECTIONS),
                   help=f"comma list of {','.join(SECTIONS)} (default: all)")
    p.add_argument("--profiles", type=_csv, default=["smoke", "lab"], help="notebook profiles (default smoke,lab)")
    p.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 04 05")
    p.add_argument("--repeats", type=int, default=None, help="timed runs per micro-benchmark (default 3; quick 1)")
    p.add_argument("--smoke-repeats", type=int, default=None, help="runs per smoke notebook (default 3; quick 1)")
    p.add_argument("--lab-repeats", type=int, default=1, help="runs per lab notebook (default 1)")
    p.add_argument("--reuse-validation", action="store_true",
                   help="take lab wall times from a fresh _build/validation/report.json")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per notebook run")
    p.add_argument("--pipeline-images", type=int, default=None, help="images per pipeline epoch (default 200; quick 40)")
    p.add_argument("--head-images", type=int, default=None, help="images for the head benchmark (default 200; quick 20)")
    p.add_argument("--head-size", type=int, default=None, help="image size of the head benchmark (default 224; quick 128)")
    p.add_argument("--inference-sizes", type=lambda v: [int(s) for s in _csv(v)], default=[224, 160, 96],
                   help="backbone input sizes in px (default 224,160,96)")
    p.add_argument("--inference-images", type=int, default=None, help="images per inference pass (default 32; quick 4)")
    p.add_argument("--fresh-data", action="store_true",
                   help="run the notebooks section against a fresh bench-owned data dir (datasets linked from "
                        "TLBOOK_DATA_DIR, caches cold, nothing written there)")
    p.add_argument("--merge", action="store_true",
                   help="keep from the previous latest.json what this run does not measure (marked with its date)")
    p.add_argument("--runtimes", type=Path, default=RUNTIMES_PATH,
                   help="where to write the chapters' run times (default helpers/runtimes.json)")
    p.add_argument("--no-runtimes", action="store_true", help="do not write the run-times file")
    p.add_argument("--quick", action="store_true", help="tiny settings to check the script (not for the record)")
    p.add_argument("--out", type=Path, default=RESULTS, help="results folder (default benchmarks/results)")
    args = p.parse_args(argv)
    bad = set(args.sections) - set(SECTIONS)
    if bad:
        p.error(f"unknown section(s) {', '.join(sorted(bad))}; choose from {', '.join(SECTIONS)}")
    q = args.quick
    args.repeats = args.repeats or (1 if q else 3)
    args.smoke_repeats = args.smoke_repeats or (1 if q else 3)
    args.pipeline_images = args.pipeline_images or (40 if q else 200)
    args.head_images = args.head_images or (20 if q else 200)
    args.head_size = args.head_size or (128 if q else 224)
    args.inference_images = args.inference_images or (4 if q else 32)
    return args


def import_keras_outside_data_dir(home: Path = ROOT / "_build" / "bench" / "keras") -> None:
    """Import Keras in this process with ``KERAS_HOME`` under ``_build/bench``, then restore the variable.

    Keras writes ``keras.json`` into ``KERAS_HOME`` on import, and
    :mod:`helpers` points that at ``<data dir>/keras``: the bench itself
    downloads nothing, so it keeps out of the data dir. The notebooks it runs
    get the variable as it was.
    """
    if "keras" in sys.modules:
        return
    old = os.environ.get("KERAS_HOME")
    os.environ["KERAS_HOME"] = str(home)
    try:
        import keras  # noqa: F401
    finally:
        if old is None:
            os.environ.pop("KERAS_HOME", None)
        else:
            os.environ["KERAS_HOME"] = old


def run(args: argparse.Namespace) -> dict:
    """Run the chosen sections and return the report (also written to ``args.out``)."""
    from helpers.config import quiet_tensorflow

    quiet_tensorflow()
    import_keras_outside_data_dir()
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    report: dict = {"schema": SCHEMA, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "settings": settings,
                    "sections": list(args.sections), "errors": {}}
    start_load = _loadavg()
    # The machine is always described: a figure without its machine is meaningless.
    report["machine"] = machine()
    report["machine"]["loadavg_start"] = start_load
    steps: list[tuple[str, Callable[[], None]]] = []

    def do_notebooks() -> None:
        fresh = None
        if args.fresh_data:
            from helpers.config import data_dir

            fresh = real_models.make_data_dir(data_dir(), FRESH_NOTEBOOKS_DATA)
        report["notebooks"] = bench_notebooks(args.profiles, {"smoke": args.smoke_repeats, "lab": args.lab_repeats,
                                                              "full": 1}, args.only, args.timeout,
                                              args.reuse_validation, data_dir=fresh)
        if fresh:
            report["notebooks_data_dir"] = str(fresh)

    def do_real_models() -> None:
        from helpers.config import data_dir

        report["real_models"] = real_models.bench_real_models(data_dir(), args.timeout, only=args.only)

    def do_pipeline() -> None:
        report["pipeline"] = bench_pipeline(args.pipeline_images, args.repeats)

    def do_head() -> None:
        report["head"] = bench_head(args.head_images, args.repeats, image_size=args.head_size)

    def do_inference() -> None:
        report["inference"], report["inference_note"] = bench_inference(
            args.inference_sizes, args.inference_images, args.repeats, batch_size=min(32, args.inference_images))

    for name, fn in (("notebooks", do_notebooks), ("pipeline", do_pipeline), ("head", do_head),
                     ("inference", do_inference), ("real-models", do_real_models)):
        if name in args.sections:
            steps.append((name, fn))
    for name, fn in steps:
        print(f"[{name}]", flush=True)
        t0 = time.perf_counter()
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - one broken section must not lose the others
            report["errors"][name] = f"{type(exc).__name__}: {exc}"
            print(f"  FAILED: {report['errors'][name]}", flush=True)
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    report["machine"]["loadavg_end"] = _loadavg()
    report["machine"]["load_note"] = load_note(start_load, report["machine"]["loadavg_end"],
                                               report["machine"]["usable_cores"])
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if args.merge:
        previous = args.out / "latest.json"
        if previous.is_file():
            merge_previous(report, json.loads(previous.read_text(encoding="utf-8")))
    finish(report)
    return report


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
    if not carried:
        del report["carried"]
    return report


def finish(report: dict, validation: dict | None = None) -> dict:
    """The whole-course total of the real-models section (when there is one), then the targets."""
    real = report.get("real_models")
    if real:
        lab = (report.get("notebooks") or {}).get("lab")
        if not lab and validation is None:
            from tools.execute import NOTEBOOKS, notebook_paths

            validation = fresh_validation(notebooks=notebook_paths(NOTEBOOKS))
        real["course"] = real_models.course_total(real, lab, validation)
    report["targets"] = evaluate_targets(report)
    return report


def write(report: dict, out: Path) -> tuple[Path, Path]:
    """Write ``latest.json`` and ``latest.md`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    j, m = out / "latest.json", out / "latest.md"
    j.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    m.write_text(render_markdown(report), encoding="utf-8")
    return j, m


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``make bench``; exits 1 when a section failed or the report is malformed."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported
    args = parse_args(argv)
    report = run(args)
    problems = validate_report(report)
    j, m = write(report, args.out)
    print()
    print(m.read_text(encoding="utf-8"))
    print(f"wrote {j.relative_to(ROOT) if j.is_relative_to(ROOT) else j} and {m.name}")
    if not (args.quick or args.no_runtimes):
        from benchmarks.runtimes import write_runtimes

        r = write_runtimes(report, args.runtimes)
        print(f"wrote {r.relative_to(ROOT) if r.is_relative_to(ROOT) else r}")
    for p in problems:
        print(f"report problem: {p}", file=sys.stderr)
    return 1 if (report["errors"] or problems) else 0


if __name__ == "__main__":
    sys.exit(main())

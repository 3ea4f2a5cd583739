"""Unit tests of the pure parts of ``benchmarks/bench.py`` (fast, offline, no TensorFlow)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench  # noqa: E402


def s(*runs: float) -> dict:
    return bench.summarize(runs)


def sample_report() -> dict:
    """A small report in the schema, as ``bench.run`` builds it."""
    report = {
        "schema": bench.SCHEMA, "started": "2026-11-26T06:00:00+0000", "finished": "2026-11-26T06:30:00+0000",
        "settings": {"quick": False, "repeats": 3}, "sections": list(bench.SECTIONS), "errors": {},
        "machine": {"cpu_model": "Test CPU", "cpu_count": 2, "usable_cores": 2, "tensorflow": "2.21.0",
                    "keras": "3.15.1", "onednn": "on (default)", "loadavg_start": "0.10 0.10 0.10",
                    "loadavg_end": "1.00 0.50 0.20", "load_note": ""},
        "notebooks": {
            "smoke": [
                {"notebook": "01_basics", "ok": True, "source": "executed", "wall_s": s(20, 22, 21),
                 "peak_rss_mb": s(800, 810, 805)},
                {"notebook": "07_glove", "ok": True, "source": "executed", "wall_s": s(30, 31, 29),
                 "peak_rss_mb": s(900, 900, 900)},
            ],
            "lab": [
                {"notebook": "01_basics", "ok": True, "source": "executed", "wall_s": s(250),
                 "peak_rss_mb": s(1500)},
                {"notebook": "07_glove", "ok": True, "source": "executed", "wall_s": s(420),
                 "peak_rss_mb": s(2500),
                 "slow_cells": [{"index": 5, "seconds": 300.0, "first_line": "model.fit(x, y)"},
                                {"index": 2, "seconds": 60.0, "first_line": "glove = load_glove()"}]},
                {"notebook": "05_finetune", "ok": True, "source": "executed", "wall_s": s(330),
                 "peak_rss_mb": s(3000),
                 "slow_cells": [{"index": 9, "seconds": 200.0, "first_line": "history = model.fit(|)"}]},
            ],
        },
        "pipeline": {"images": 200, "image_size": 224, "batch_size": 20,
                     "image_generator": s(30, 32, 31), "tf_data": s(120, 125, 118),
                     "ratio": s(4.0, 3.9, 3.8)},
        "head": {"backbone": "VGG16", "weights": "random weights, timing only", "image_size": 224, "images": 200,
                 "batch_size": 20, "head": bench.HEAD_DESC, "cached_s_per_epoch": s(0.5, 0.6, 0.55),
                 "end_to_end_s_per_epoch": s(4.0, 4.2, 4.1), "ratio": s(8.0, 7.0, 7.45),
                 "extraction_s": s(3.5, 3.6, 3.55), "break_even_epochs": 1.0,
                 "cause": "cached epoch is overhead"},
        "inference": [{"model": "VGG16", "size": 224, "images_per_s": s(5, 6, 5.5)},
                      {"model": "VGG16", "size": 96, "images_per_s": s(25, 26, 24)},
                      {"model": "SqueezeNet", "size": 224, "images_per_s": s(60, 61, 62)}],
    }
    report["targets"] = bench.evaluate_targets(report)
    return report


# --------------------------------------------------------------------------- summary

def test_summarize_median_min_max():
    out = bench.summarize([3.0, 1.0, 2.0, 10.0])
    assert out == {"median": 2.5, "min": 1.0, "max": 10.0, "n": 4, "runs": [3.0, 1.0, 2.0, 10.0]}


def test_summarize_odd_count_and_rounding():
    out = bench.summarize([1.23456789, 2.0, 0.5], digits=3)
    assert out["median"] == 1.23 and out["min"] == 0.5 and out["max"] == 2.0 and out["n"] == 3
    assert out["runs"][0] == 1.23


def test_summarize_single_run():
    assert bench.summarize([7]) == {"median": 7.0, "min": 7.0, "max": 7.0, "n": 1, "runs": [7.0]}


def test_summarize_empty_raises():
    with pytest.raises(ValueError):
        bench.summarize([])


def test_ratios_are_run_by_run():
    assert bench.ratios([10, 30], [2, 5]) == [5.0, 6.0]
    with pytest.raises(ValueError):
        bench.ratios([1, 2], [1])


def test_timed_runs_excludes_warmup():
    calls = []
    out = bench.timed_runs(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and len(out) == 3 and all(t >= 0 for t in out)


def test_notebook_budget():
    assert bench.notebook_budget("07_glove_amazon_to_imdb") == 480
    assert bench.notebook_budget("02_cnn_cifar10") == 300


# --------------------------------------------------------------------------- targets

def test_targets_met_and_missed_with_causes():
    targets = {t["target"]: t for t in sample_report()["targets"]}
    total = targets["lab: all notebooks together"]
    assert total["value"] == 1000 and total["met"] is True and total["cause"] == ""
    assert targets["lab: 01_basics"]["met"] is True
    assert targets["lab: 07_glove"]["met"] is True  # 420 s within its own 480 s budget
    missed = targets["lab: 05_finetune"]
    assert missed["met"] is False and "In [9] 200 s" in missed["cause"]
    assert targets["smoke: all notebooks together"]["value"] == 51 and targets["smoke: all notebooks together"]["met"]
    pipe = targets["tf.data pipeline / ImageDataGenerator images/s"]
    assert pipe["value"] == 3.9 and pipe["met"] is True
    head = targets["cached-features head / frozen base in the model, s/epoch"]
    assert head["value"] == 7.45 and head["met"] is False and head["cause"] == "cached epoch is overhead"


def test_targets_failed_notebook_is_missed_with_its_error():
    report = sample_report()
    report["notebooks"]["lab"][0].update(ok=False, error="Traceback...\nValueError: bad shape")
    targets = {t["target"]: t for t in bench.evaluate_targets(report)}
    assert targets["lab: 01_basics"]["met"] is False
    assert "ValueError: bad shape" in targets["lab: 01_basics"]["cause"]
    assert targets["lab: all notebooks together"]["met"] is False
    assert "failed: 01_basics" in targets["lab: all notebooks together"]["cause"]


def test_targets_append_contention_note_to_misses_only():
    report = sample_report()
    report["machine"]["load_note"] = "measured under contention: load 7"
    targets = bench.evaluate_targets(report)
    for t in targets:
        assert ("contention" in t["cause"]) == (t["met"] is False)


def test_targets_name_a_notebook_subset():
    report = sample_report()
    report["settings"]["only"] = ["01", "07"]
    names = [t["target"] for t in bench.evaluate_targets(report)]
    assert "lab: notebooks 01, 07 together (subset)" in names
    assert "smoke: notebooks 01, 07 together (subset)" in names


def test_bench_notebooks_executes_what_the_report_lacks(tmp_path, monkeypatch):
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    for name in ("01_a", "02_b"):
        (nb_dir / f"{name}.ipynb").write_text("{}")
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"profile": "lab", "started": "T0", "notebooks": [
        {"notebook": "01_a", "ok": True, "wall_s": 120.0, "peak_rss_mb": 900.0}]}))
    monkeypatch.setattr(bench, "VALIDATION_REPORT", report)
    from helpers.execute import Execution

    ran = []

    def fake_execute(path, profile, out_dir, inject=True, timeout=None):
        ran.append((path.stem, profile, inject))
        return Execution(path.stem, profile, 42.0, 512.0, True, str(tmp_path / "none.ipynb"))

    monkeypatch.setattr("helpers.execute.execute", fake_execute)
    lab = bench.bench_notebooks(["lab"], {"lab": 2}, None, 60, reuse_validation=True, root=nb_dir)["lab"]
    assert ran == [("02_b", "lab", True), ("02_b", "lab", True)]
    assert [(e["notebook"], e["source"], e["wall_s"]["n"]) for e in lab] == [
        ("01_a", "validation report T0", 1), ("02_b", "executed", 2)]


def test_targets_skip_unmeasured_sections():
    assert bench.evaluate_targets({"machine": {}}) == []


def test_load_note():
    assert bench.load_note("0.5 0.4 0.3", "1.9 1 1", 2) == ""
    assert "contention" in bench.load_note("6.6 2 1", "1 1 1", 2)
    assert bench.load_note("?", "?", 2) == ""


# --------------------------------------------------------------------------- schema

def test_sample_report_is_valid_and_json_serialisable():
    report = sample_report()
    assert bench.validate_report(report) == []
    assert json.loads(json.dumps(report)) == report


def test_validate_report_finds_problems():
    report = sample_report()
    report["schema"] = "other"
    del report["pipeline"]["ratio"]
    report["head"]["ratio"]["min"] = 100.0  # min > median
    report["inference"][0]["images_per_s"]["runs"] = [1.0]  # n != len(runs)
    del report["targets"][0]["cause"]
    problems = bench.validate_report(report)
    assert any("schema" in p for p in problems)
    assert "pipeline: missing 'ratio'" in problems
    assert "head.ratio: not min <= median <= max" in problems
    assert "inference[0].images_per_s: n != len(runs)" in problems
    assert "targets[0]: missing 'cause'" in problems


# --------------------------------------------------------------------------- markdown

def test_table_writer_escapes_pipes():
    lines = bench.table(["a", "b"], [[1, "x|y"], ["multi\nline", 2.5]])
    assert lines == ["| a | b |", "|---|---|", "| 1 | x\\|y |", "| multi line | 2.5 |"]


def test_cell_format():
    assert bench._cell(s(2.0, 1.0, 3.0)) == "2 (1-3)"
    assert bench._cell(s(1234.5)) == "1234"
    assert bench._cell(None) == "-"


def test_render_markdown_sections_and_values():
    md = bench.render_markdown(sample_report())
    for heading in ("### Machine", "### Notebooks", "### Input pipeline", "### Transfer head",
                    "### Backbone inference (images/s)", "### Targets"):
        assert heading in md
    assert not md.startswith("#")  # no title of its own: the instructor guide's page has one
    assert "\n## Machine" in bench.render_markdown(sample_report(), level=2)
    assert "| Test CPU | 2 (2) | 2.21.0 | 3.15.1 | on (default) |" in md
    assert "| 01_basics | 21 (20-22) | 805 (800-810) | 250 | 1500 | 300 |" in md
    assert "| 07_glove | 30 (29-31) | 900 (900-900) | 420 | 2500 | 480 |" in md
    assert "| **total** | 51 |  | 1000 |  | 1200 |" in md
    assert "| **ratio** (tf.data / ImageDataGenerator) | 3.9 (3.8-4) |" in md
    assert "| **ratio** (end-to-end / cached) | 7.45 (7-8) |" in md
    assert "| VGG16 | 5.5 (5-6) | 25 (24-26) |" in md
    assert "| SqueezeNet | 61 (60-62) | - |" in md
    assert "| lab: 05_finetune | <= 300 s | 330 | **missed** |" in md
    assert "history = model.fit(\\|)" in md  # the pipe in a cell's first line is escaped
    # every table row has the same number of columns as its header
    rows = [ln for ln in md.splitlines() if ln.startswith("|")]
    blocks: list[list[str]] = []
    for ln in md.splitlines():
        if ln.startswith("|"):
            if not blocks or not blocks[-1]:
                blocks.append([])
            blocks[-1].append(ln)
        elif blocks and blocks[-1]:
            blocks.append([])
    for block in (b for b in blocks if b):
        widths = {ln.replace("\\|", "").count("|") for ln in block}
        assert len(widths) == 1, block
    assert rows


def test_render_markdown_marks_quick_and_reused_sources():
    report = sample_report()
    report["settings"]["quick"] = True
    report["notebooks"]["lab"][0]["source"] = "validation report 2026-11-26T05:00:00"
    md = bench.render_markdown(report)
    assert "`--quick`" in md
    assert "lab: validation report 2026-11-26T05:00:00" in md


def test_render_markdown_lists_failed_sections():
    md = bench.render_markdown({"errors": {"pipeline": "ImportError: x"}})
    assert "section `pipeline` failed: ImportError: x" in md


# --------------------------------------------------------------------------- notebooks helpers

def test_cell_times_and_fresh_validation(tmp_path):
    nb = {"cells": [
        {"cell_type": "markdown", "source": "# t", "metadata": {}},
        {"cell_type": "code", "execution_count": 1, "source": ["# comment\n", "x = 1\n"],
         "metadata": {"papermill": {"duration": 2.25}}},
        {"cell_type": "code", "execution_count": 2, "source": "fit()", "metadata": {"papermill": {}}},
    ]}
    path = tmp_path / "01_x.ipynb"
    path.write_text(json.dumps(nb))
    assert bench._cell_times(path) == [{"index": 1, "seconds": 2.2, "first_line": "x = 1"}]
    assert bench._cell_times(tmp_path / "missing.ipynb") == []

    report = tmp_path / "report.json"
    assert bench.fresh_validation(report, [path]) is None  # absent
    report.write_text(json.dumps({"profile": "smoke", "notebooks": []}))
    assert bench.fresh_validation(report, []) is None  # wrong profile
    report.write_text(json.dumps({"profile": "lab", "notebooks": []}))
    import os
    os.utime(path, (report.stat().st_mtime + 10,) * 2)
    assert bench.fresh_validation(report, [path]) is None  # a notebook changed since
    os.utime(path, (report.stat().st_mtime - 10,) * 2)
    assert bench.fresh_validation(report, [path])["profile"] == "lab"


# --------------------------------------------------------------------------- fused augmentation maths

def _apply(rows: np.ndarray, x: float, y: float) -> tuple[float, float]:
    a0, a1, a2, b0, b1, b2, _, _ = rows[0]
    return a0 * x + a1 * y + a2, b0 * x + b1 * y + b2


def _one(**kw) -> np.ndarray:
    p = {"angle_deg": 0.0, "tx": 0.0, "ty": 0.0, "shear_deg": 0.0, "zx": 1.0, "zy": 1.0, "flip": 1.0}
    p.update(kw)
    return bench.affine_transforms(*(np.array([p[k]]) for k in p), height=11, width=21)


def test_affine_identity():
    np.testing.assert_allclose(_one()[0], [1, 0, 0, 0, 1, 0, 0, 0], atol=1e-12)


def test_affine_flip_maps_left_edge_to_right_edge():
    assert _apply(_one(flip=-1.0), 0, 3) == pytest.approx((20, 3))


def test_affine_rotation_keeps_centre_and_turns_90_degrees():
    rows = _one(angle_deg=90.0)
    assert _apply(rows, 10, 5) == pytest.approx((10, 5))  # the centre of a 21x11 image
    x, y = _apply(rows, 11, 5)  # one pixel right of the centre
    assert (x, y) == pytest.approx((10, 6))


def test_affine_shift_zoom_and_shear():
    assert _apply(_one(tx=3.0, ty=-2.0), 0, 0) == pytest.approx((3, -2))
    assert _apply(_one(zx=2.0, zy=0.5), 20, 10) == pytest.approx((30, 7.5))
    a0, a1, _, b0, b1, _, _, _ = _one(shear_deg=10.0)[0]
    t = math.radians(10)
    assert (a0, a1, b0, b1) == pytest.approx((1, -math.sin(t), 0, math.cos(t)))


# --------------------------------------------------------------------------- CLI

def test_parse_args_quick_and_defaults():
    q = bench.parse_args(["--quick", "--sections", "pipeline,machine"])
    assert q.sections == ["pipeline", "machine"] and q.repeats == 1 and q.pipeline_images == 40
    d = bench.parse_args([])
    assert d.sections == list(bench.SECTIONS) and d.profiles == ["smoke", "lab"] and d.repeats == 3
    assert d.inference_sizes == [224, 160, 96]
    assert bench.parse_args(["--repeats", "5", "--profiles", "lab"]).repeats == 5
    with pytest.raises(SystemExit):
        bench.parse_args(["--sections", "nope"])


def test_bench_notebooks_reuses_a_fresh_validation_report(tmp_path, monkeypatch):
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    (nb_dir / "01_a.ipynb").write_text("{}")
    (nb_dir / "02_b.ipynb").write_text("{}")
    executed = tmp_path / "01_a_out.ipynb"
    executed.write_text(json.dumps({"cells": [{"cell_type": "code", "execution_count": 3, "source": "fit()",
                                               "metadata": {"papermill": {"duration": 99.0}}}]}))
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"profile": "lab", "started": "T0", "notebooks": [
        {"notebook": "01_a", "ok": True, "wall_s": 120.0, "peak_rss_mb": 900.0, "output": str(executed)},
        {"notebook": "02_b", "ok": False, "wall_s": 5.0, "peak_rss_mb": 100.0, "error": "boom"},
        {"notebook": "09_gone", "ok": True, "wall_s": 1.0, "peak_rss_mb": 1.0}]}))
    monkeypatch.setattr(bench, "VALIDATION_REPORT", report)

    def no_execution(*args, **kwargs):
        raise AssertionError("a reused profile must not execute notebooks")

    monkeypatch.setattr("helpers.execute.execute", no_execution)
    out = bench.bench_notebooks(["lab"], {"lab": 1}, None, 60, reuse_validation=True, root=nb_dir)
    lab = out["lab"]
    assert [e["notebook"] for e in lab] == ["01_a", "02_b"]
    assert bench.fresh_validation(report, [nb_dir / "01_a.ipynb"]) is not None
    assert lab[0]["wall_s"]["median"] == 120.0 and lab[0]["source"] == "validation report T0"
    assert lab[0]["slow_cells"] == [{"index": 3, "seconds": 99.0, "first_line": "fit()"}]
    assert lab[1]["ok"] is False and lab[1]["error"] == "boom"

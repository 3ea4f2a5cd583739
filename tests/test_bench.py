"""Unit tests of the bench (`bench.py`, `measure.py`, `report.py`): the pure parts (fast, offline) and the
pipeline section on tiny images."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench  # noqa: E402
from benchmarks import measure as bench_measure  # noqa: E402
from benchmarks import report as bench_report  # noqa: E402


def s(*runs: float) -> dict:
    return bench_measure.summarize(runs)


# images/s of three paired runs: the affine variant is 4.0, 3.9, 3.8 x ImageDataGenerator, the layers 2, 1.875, 2
PIPELINE_IPS = {"image_generator": [30.0, 32.0, 31.0], "tf_data_layers": [60.0, 60.0, 62.0],
                "tf_data_affine": [120.0, 124.8, 117.8],
                "image_generator_no_augmentation": [40.0, 40.0, 40.0], "tf_data_no_augmentation": [200.0] * 3}
BEST = "tf.data pipeline / ImageDataGenerator images/s (best variant: tf.data + one combined affine transform)"
LAYERS = "(shown, not judged) tf.data + 5 Keras augmentation layers / ImageDataGenerator images/s"


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
        "pipeline": bench_measure.pipeline_entry(PIPELINE_IPS, 200, 224, 20, note="Data: test."),
        "head": {"backbone": "VGG16", "weights": "random weights, timing only", "image_size": 224, "images": 200,
                 "batch_size": 20, "head": bench_measure.HEAD_DESC, "cached_s_per_epoch": s(0.5, 0.6, 0.55),
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
    out = bench_measure.summarize([3.0, 1.0, 2.0, 10.0])
    assert out == {"median": 2.5, "min": 1.0, "max": 10.0, "n": 4, "runs": [3.0, 1.0, 2.0, 10.0]}


def test_summarize_odd_count_and_rounding():
    out = bench_measure.summarize([1.23456789, 2.0, 0.5], digits=3)
    assert out["median"] == 1.23 and out["min"] == 0.5 and out["max"] == 2.0 and out["n"] == 3
    assert out["runs"][0] == 1.23


def test_summarize_single_run():
    assert bench_measure.summarize([7]) == {"median": 7.0, "min": 7.0, "max": 7.0, "n": 1, "runs": [7.0]}


def test_summarize_empty_raises():
    with pytest.raises(ValueError):
        bench_measure.summarize([])


def test_ratios_are_run_by_run():
    assert bench_measure.ratios([10, 30], [2, 5]) == [5.0, 6.0]
    with pytest.raises(ValueError):
        bench_measure.ratios([1, 2], [1])


def test_timed_runs_excludes_warmup():
    calls = []
    out = bench_measure.timed_runs(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and len(out) == 3 and all(t >= 0 for t in out)


def test_notebook_budget():
    assert bench_report.notebook_budget("07_glove_amazon_to_imdb") == 480
    assert bench_report.notebook_budget("02_cnn_cifar10") == 300


# --------------------------------------------------------------------------- targets

def test_targets_met_and_missed_with_causes():
    targets = {t["target"]: t for t in sample_report()["targets"]}
    total = targets["lab: all notebooks together"]
    assert total["value"] == 1000 and total["met"] is True and total["cause"] == ""
    assert targets["lab: 01_basics"]["met"] is True
    assert targets["lab: 07_glove"]["met"] is True  # 420 s within its own 480 s budget
    missed = targets["lab: 05_finetune"]
    assert missed["met"] is False and "In [9] 200 s" in missed["cause"]
    smoke = targets["smoke: all notebooks together, one after another"]
    assert smoke["value"] == 51 and smoke["met"]
    assert targets["lab peak memory: 05_finetune"]["value"] == 3000 and targets["lab peak memory: 05_finetune"]["met"]
    pipe = targets[BEST]
    assert pipe["value"] == 3.9 and pipe["met"] is True and pipe["cause"] == ""
    layers = targets[LAYERS]  # the literal recipe is shown, honestly, even though it is not judged
    assert layers["value"] == 2.0 and layers["met"] is False
    assert layers["cause"].startswith("tf.data + 5 Keras augmentation layers 16.7 ms/image vs ImageDataGenerator "
                                      "32.3 ms/image; reading costs 5.0 (tf.data, cached) vs 25.0 ms/image")
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
    assert "smoke: notebooks 01, 07 together (subset), one after another" in names


def test_targets_judge_peak_memory_of_each_lab_notebook():
    report = sample_report()
    report["notebooks"]["lab"][2]["peak_rss_mb"] = s(4843)
    targets = {t["target"]: t for t in bench.evaluate_targets(report)}
    over = targets["lab peak memory: 05_finetune"]
    assert over["rule"] == f"<= {bench_report.LAB_PEAK_MB} MB" and over["value"] == 4843 and over["met"] is False
    assert targets["lab peak memory: 07_glove"]["met"] is True


def test_smoke_total_is_the_batch_wall_time_when_measured():
    report = sample_report()
    report["notebooks_batch"] = {"smoke": {"workers": 2, "notebooks": ["01_basics", "07_glove"], "wall_s": s(35, 37),
                                           "peak_rss_mb": s(900, 910), "ok": True, "failed": []}}
    targets = {t["target"]: t for t in bench.evaluate_targets(report)}
    batch = targets["smoke: all notebooks together, 2 at a time (as make test runs them)"]
    assert batch["value"] == 36 and batch["met"] is True
    assert not any(t.endswith("one after another") for t in targets)
    report["notebooks_batch"]["smoke"].update(ok=False, failed=["07_glove"], wall_s=s(500))
    batch = {t["target"]: t for t in bench.evaluate_targets(report)}[
        "smoke: all notebooks together, 2 at a time (as make test runs them)"]
    assert batch["met"] is False and batch["cause"].startswith("failed: 07_glove; one after another they take 51 s")
    md = bench_report.render_markdown(dict(report, targets=bench.evaluate_targets(report)))
    assert "**total, 2 at a time**" in md and "**total, one after another**" in md


def test_merge_keeps_the_smoke_batch_with_its_profile():
    previous = sample_report()
    previous["notebooks_batch"] = {"smoke": {"workers": 2, "notebooks": [], "wall_s": s(40), "peak_rss_mb": s(1),
                                             "ok": True, "failed": []}}
    report = {"notebooks": {"lab": previous["notebooks"]["lab"]}}
    bench_report.merge_previous(report, previous)
    assert report["notebooks_batch"]["smoke"]["wall_s"]["median"] == 40 and "notebooks.smoke" in report["carried"]


def test_bench_notebooks_executes_what_the_report_lacks(tmp_path, monkeypatch):
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    for name in ("01_a", "02_b"):
        (nb_dir / f"{name}.ipynb").write_text("{}")
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"profile": "lab", "started": "T0", "notebooks": [
        {"notebook": "01_a", "ok": True, "wall_s": 120.0, "peak_rss_mb": 900.0}]}))
    monkeypatch.setattr(bench_measure, "VALIDATION_REPORT", report)
    from tools.execute import Execution

    ran = []

    def fake_execute(path, profile, out_dir, inject=True, timeout=None):
        ran.append((path.stem, profile, inject))
        return Execution(path.stem, profile, 42.0, 512.0, True, str(tmp_path / "none.ipynb"))

    monkeypatch.setattr("tools.execute.execute", fake_execute)
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
    report["pipeline"]["best"] = "image_generator"
    report["head"]["ratio"]["min"] = 100.0  # min > median
    report["inference"][0]["images_per_s"]["runs"] = [1.0]  # n != len(runs)
    del report["targets"][0]["cause"]
    problems = bench.validate_report(report)
    assert any("schema" in p for p in problems)
    assert "pipeline: missing 'ratio'" in problems
    assert any(p.startswith("pipeline: best is 'image_generator'") for p in problems)
    assert "head.ratio: not min <= median <= max" in problems
    assert "inference[0].images_per_s: n != len(runs)" in problems
    assert "targets[0]: missing 'cause'" in problems


# --------------------------------------------------------------------------- markdown

def test_table_writer_escapes_pipes():
    lines = bench_report.table(["a", "b"], [[1, "x|y"], ["multi\nline", 2.5]])
    assert lines == ["| a | b |", "|---|---|", "| 1 | x\\|y |", "| multi line | 2.5 |"]


def test_cell_format():
    assert bench_report._cell(s(2.0, 1.0, 3.0)) == "2 (1-3)"
    assert bench_report._cell(s(1234.5)) == "1234"
    assert bench_report._cell(None) == "-"


def test_render_markdown_sections_and_values():
    md = bench_report.render_markdown(sample_report())
    for heading in ("### Machine", "### Notebooks", "### Input pipeline", "### Transfer head",
                    "### Backbone inference (images/s)", "### Targets"):
        assert heading in md
    assert not md.startswith("#")  # no title of its own: the instructor guide's page has one
    assert "\n## Machine" in bench_report.render_markdown(sample_report(), level=2)
    assert "| Test CPU | 2 (2) | 2.21.0 | 3.15.1 | on (default) |" in md
    assert "| 01_basics | 21 (20-22) | 805 (800-810) | 250 | 1500 | 300 |" in md
    assert "| 07_glove | 30 (29-31) | 900 (900-900) | 420 | 2500 | 480 |" in md
    assert "| **total, one after another** | 51 |  | 1000 |  | 1200 |" in md
    assert "| `ImageDataGenerator.flow_from_directory` (source) | 31 (30-32) | 1 |" in md
    assert ("| `image_dataset_from_directory` + cache + 5 Keras augmentation layers + prefetch | 60 (60-62) "
            "| 2 (1.88-2) |") in md
    assert "(`source_augment`) + prefetch | 120 (118-125) | 3.9 (3.8-4) |" in md
    assert "| (diagnosis) tf.data cached, no augmentation | 200 (200-200) | - |" in md
    assert "**tf.data + one combined affine transform** (3.9x); the Keras-layers recipe reaches 2x" in md
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
    md = bench_report.render_markdown(report)
    assert "`--quick`" in md
    assert "lab: validation report 2026-11-26T05:00:00" in md


def test_render_markdown_lists_failed_sections():
    md = bench_report.render_markdown({"errors": {"pipeline": "ImportError: x"}})
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
    assert bench_measure._cell_times(path) == [{"index": 1, "seconds": 2.2, "first_line": "x = 1"}]
    assert bench_measure._cell_times(tmp_path / "missing.ipynb") == []

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


# --------------------------------------------------------------------------- pipeline

def test_pipeline_entry_judges_the_best_variant_and_keeps_the_other():
    e = bench_measure.pipeline_entry(PIPELINE_IPS, 200, 224, 20)
    assert e["best"] == "tf_data_affine" and e["best_label"] == "tf.data + one combined affine transform"
    assert e["ratio_affine"]["runs"] == [4.0, 3.9, 3.8] and e["ratio"] == e["ratio_affine"]
    assert e["ratio_layers"]["runs"] == [2.0, 1.875, 2.0] and e["tf_data"] == e["tf_data_affine"]
    assert "cause" not in e and "layers_cause" in e
    assert "augmentation adds 11.7 (5 layers) and 3.3 (one transform) vs 7.3 ms/image" in e["layers_cause"]
    # the layers variant ahead: it is judged, and no separate "shown, not judged" row appears
    swapped = dict(PIPELINE_IPS, tf_data_layers=PIPELINE_IPS["tf_data_affine"],
                   tf_data_affine=PIPELINE_IPS["tf_data_layers"])
    report = {"machine": {}, "pipeline": bench_measure.pipeline_entry(swapped, 200, 224, 20)}
    assert report["pipeline"]["best"] == "tf_data_layers"
    names = [t["target"] for t in bench.evaluate_targets(report)]
    assert names == ["tf.data pipeline / ImageDataGenerator images/s (best variant: "
                     "tf.data + 5 Keras augmentation layers)"]


def test_pipeline_entry_without_diagnosis_and_a_miss():
    ips = {k: PIPELINE_IPS[k] for k in bench_report.PIPELINES}
    ips["tf_data_affine"] = [66.0, 67.0, 68.0]  # 2.2x: the judged target is missed, with its cause
    e = bench_measure.pipeline_entry(ips, 200, 224, 20)
    assert e["cause"] == ("tf.data + one combined affine transform 14.9 ms/image vs ImageDataGenerator "
                          "32.3 ms/image")
    assert "image_generator_no_augmentation" not in e


def test_full_pass_counts_one_epoch_of_a_looping_iterator():
    class Looping:  # like ImageDataGenerator's DirectoryIterator: len() batches per epoch, never ends
        def __init__(self):
            self.calls = 0

        def __len__(self):
            return 3

        def __next__(self):
            self.calls += 1
            return np.zeros((4 if self.calls % 3 else 2, 1)), None

    it = Looping()
    assert bench_measure.full_pass(it) == 10 and it.calls == 3
    assert bench_measure.full_pass([(np.zeros((4, 2)), 0), (np.zeros((1, 2)), 0)]) == 5


@pytest.fixture
def tiny_files(tmp_path):
    from helpers import synthetic

    root = synthetic.cats_dogs_folder(tmp_path, n_per_class=6, size=40) / "train"
    paths = sorted((root / "cats").glob("*.jpg")) + sorted((root / "dogs").glob("*.jpg"))
    return paths, [0] * 6 + [1] * 6, "synthetic"


def test_bench_pipeline_measures_notebook_04s_pipelines(tiny_files, tmp_path):
    """End to end on 8 tiny images: the same three pipelines (and labels) as ``vision.pipeline_throughput``."""
    from helpers import vision

    entry = bench.bench_pipeline(8, repeats=2, image_size=32, batch_size=4, files=tiny_files)
    assert entry["images"] == 8 and entry["data"] == "synthetic"
    assert entry["image_generator"]["n"] == 2 and entry["ratio_layers"]["n"] == 2
    assert entry["best"] in bench_report.TF_DATA_VARIANTS
    for key in (*bench_report.PIPELINES, *bench_report.PIPELINE_DIAGNOSIS):
        assert entry[key]["min"] > 0
    folder = bench_measure._subset_dir(*tiny_files[:2], 8, tmp_path / "nb04")
    rows = vision.pipeline_throughput(folder, (32, 32), batch_size=4, n_images=8)
    assert [r["pipeline"] for r in rows] == [label for label, _ in bench_report.PIPELINES.values()]


def test_a_partly_filled_cache_cannot_be_timed(tiny_files, tmp_path):
    """The bench deletes a tf.data folder after the warm-up: a cache that is not complete then fails loudly."""
    import shutil

    from helpers import vision

    # A cache that is not complete is discarded by tf.data, so its next pass reads the files again;
    # the files are gone, so it fails. (Reading a single batch first is no reliable "partial" case
    # here: prefetch may read ahead to the end of 2 tiny batches and complete the cache.)
    folder = bench_measure._subset_dir(*tiny_files[:2], 8, tmp_path / "uncached")
    ds = vision.dataset_pipeline(folder, (32, 32), batch_size=4, augmentation="affine")
    shutil.rmtree(folder)
    with pytest.raises(Exception, match="(?i)no such file|not found"):
        bench_measure.full_pass(ds)
    folder = bench_measure._subset_dir(*tiny_files[:2], 8, tmp_path / "complete")
    ds = vision.dataset_pipeline(folder, (32, 32), batch_size=4, augmentation="affine")
    assert bench_measure.full_pass(ds) == 8  # a full pass completes the cache
    shutil.rmtree(folder)
    assert bench_measure.full_pass(ds) == 8 and bench_measure.full_pass(ds) == 8  # served from memory


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
    monkeypatch.setattr(bench_measure, "VALIDATION_REPORT", report)

    def no_execution(*args, **kwargs):
        raise AssertionError("a reused profile must not execute notebooks")

    monkeypatch.setattr("tools.execute.execute", no_execution)
    out = bench.bench_notebooks(["lab"], {"lab": 1}, None, 60, reuse_validation=True, root=nb_dir)
    lab = out["lab"]
    assert [e["notebook"] for e in lab] == ["01_a", "02_b"]
    assert bench.fresh_validation(report, [nb_dir / "01_a.ipynb"]) is not None
    assert lab[0]["wall_s"]["median"] == 120.0 and lab[0]["source"] == "validation report T0"
    assert lab[0]["slow_cells"] == [{"index": 3, "seconds": 99.0, "first_line": "fit()"}]
    assert lab[1]["ok"] is False and lab[1]["error"] == "boom"


# --------------------------------------------------------------------------- budgets (tests/budgets.yml)

def test_budgets_file_schema_and_the_bench_constants():
    from benchmarks import budgets

    data = budgets.load_budgets()
    assert budgets.validate_budgets(data) == []
    assert bench_report.LAB_TOTAL_S == data["lab"]["total_s"] == 1200 and bench_report.LAB_EACH_S == 300
    assert bench_report.LAB_BUDGET_S == {"07": 480, "08": 600} and bench_report.SMOKE_TOTAL_S == 120
    assert bench_report.LAB_PEAK_MB == data["lab"]["peak_mb"] == 4096
    assert bench_report.REAL_MODELS_BUDGET_S == {"04": 300, "05": 420, "06": 300}
    assert bench_report.REAL_MODELS_TOTAL_S == 2400
    assert (bench_report.PIPELINE_MIN_RATIO, bench_report.HEAD_MIN_RATIO) == (3.0, 10.0)
    assert set(bench_report.REAL_MODELS_BUDGET_S) == set(bench.real_models.REAL_MODELS)


def test_budgets_schema_problems(tmp_path):
    from benchmarks import budgets

    good = budgets.load_budgets()
    bad = json.loads(json.dumps(good))
    bad["lab"]["notebooks"] = {7: 480}  # an unquoted prefix is an int in YAML
    bad["smoke"]["total_s"] = 0
    del bad["real_models"]["course_total_s"]
    bad["micro"]["extra"] = 1
    bad["other"] = {}
    problems = budgets.validate_budgets(bad)
    assert "lab.notebooks: 7 is not a two-digit notebook prefix (quote it)" in problems
    assert "smoke.total_s: 0 is not a positive number" in problems
    assert "real_models: missing 'course_total_s'" in problems
    assert "micro: unknown key 'extra'" in problems and "unknown section 'other'" in problems
    assert budgets.validate_budgets([]) == ["budgets: not a mapping"]
    path = tmp_path / "budgets.yml"
    path.write_text("lab: {total_s: 1}\n")
    with pytest.raises(ValueError, match="smoke: missing or not a mapping"):
        budgets.load_budgets(path)


# --------------------------------------------------------------------------- papermill parameters (tools.execute)

def test_papermill_parameters_arrive_typed():
    import yaml

    from tools.execute import papermill_parameters

    args = papermill_parameters("lab", True, {"BACKBONE": "vgg16-random", "USE_DEEPFACE": True, "EPOCHS": None,
                                              "FT_LR": 1e-5, "NAME": "yes"})
    assert args[0] == "-y"
    assert yaml.safe_load(args[1]) == {"PROFILE": "lab", "BACKBONE": "vgg16-random", "USE_DEEPFACE": True,
                                       "EPOCHS": None, "FT_LR": 1e-5, "NAME": "yes"}
    assert yaml.safe_load(papermill_parameters("smoke", False, {"X": 1})[1]) == {"X": 1}
    assert papermill_parameters("lab", False) == []


# --------------------------------------------------------------------------- real-models section

def _notebook(path: Path, params: str) -> Path:
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# t"},
                    {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": params,
                     "outputs": [], "execution_count": None}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


@pytest.fixture
def course(tmp_path):
    """Four tiny notebooks (01, 04, 05, 06), a source data dir with a dataset, a cache and a hash, fake weights."""
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    _notebook(nb_dir / "01_basics.ipynb", "PROFILE = None\n")
    _notebook(nb_dir / "04_vgg.ipynb", "PROFILE = None\nBACKBONE = 'vgg16'\n")
    _notebook(nb_dir / "05_ft.ipynb", "PROFILE = None\nBACKBONE = 'vgg16'\n")
    _notebook(nb_dir / "06_faces.ipynb", "PROFILE = None\nUSE_DEEPFACE = None\nTIMING_ONLY = False\n")
    source = tmp_path / "data"
    (source / "att_faces").mkdir(parents=True)
    (source / "att_faces" / "s1.pgm").write_bytes(b"P5")
    (source / "cache" / "features").mkdir(parents=True)
    (source / "cache" / "features" / "old.npy").write_bytes(b"stale")
    (source / ".hashes").mkdir()
    (source / ".hashes" / "squeezenet_weights.sha256").write_text("abc\n")
    (source / ".hashes" / "deepface_emotion.sha256").write_text("real-file-hash\n")
    store = tmp_path / "store"
    store.mkdir()
    files = {}
    for entry, name in bench.real_models.DEEPFACE_FILES.items():
        files[entry] = store / name
        files[entry].write_bytes(b"random weights")
    return {"nb_dir": nb_dir, "source": source, "dest": tmp_path / "bench-data", "files": files,
            "out": tmp_path / "executed"}


def _fake_executor(course, calls, substitute_in_06=False, fail=()):
    from tools.execute import Execution

    def fake(path, profile, out_dir, inject=True, timeout=None, env=None, parameters=None):
        calls.append({"nb": path.stem, "profile": profile, "env": env, "parameters": parameters})
        data = Path(env["TLBOOK_DATA_DIR"])
        # what the notebooks see: the datasets, DeepFace's files, and no caches of the source
        assert (data / "att_faces" / "s1.pgm").is_file() and not (data / "cache" / "features" / "old.npy").exists()
        if path.stem.startswith("04"):
            (data / "cache" / "features").mkdir(parents=True, exist_ok=True)
            (data / "cache" / "features" / "vgg16-random_112_train_map.npy").write_bytes(b"maps")
        if path.stem.startswith("06"):
            w = data / "deepface" / ".deepface" / "weights"
            assert (w / "vgg_face_weights.h5").read_bytes() == b"random weights"
            assert not (data / ".hashes" / "deepface_emotion.sha256").exists()  # the real file's hash is not ours
        executed = course["out"] / f"{path.stem}.ipynb"
        executed.parent.mkdir(parents=True, exist_ok=True)
        executed.write_text(json.dumps({"cells": [
            {"cell_type": "code", "execution_count": 3, "source": "features = cached_features(base)",
             "metadata": {"papermill": {"duration": 150.0}}},
            {"cell_type": "code", "execution_count": 7, "source": "model.fit(x)",
             "metadata": {"papermill": {"duration": 40.0}}}]}))
        nb = path.stem[:2]
        subs = ("FER-2013 mini-Xception for DeepFace emotion" if (nb == "06" and substitute_in_06)
                else "VGG16 (ImageNet) (random weights, TIMING ONLY) for VGG16 (ImageNet)")
        wall = {"04": 250.0, "05": 450.0, "06": 200.0}[nb]
        return Execution(path.stem, profile, wall, 4000.0, nb not in fail, str(executed),
                         "Traceback\nValueError: boom" if nb in fail else "", {f"nb{nb}_substitutes": subs})

    return fake


def _run_real_models(course, calls, **kw):
    return bench.real_models.bench_real_models(
        course["source"], 60, root=course["nb_dir"], dest=course["dest"], execute=_fake_executor(course, calls, **kw),
        weights=lambda: (course["files"], {"deepface": "0.0.103", "reused": False, "how": "test"}))


def test_real_models_section_rows_with_a_fake_executor(course):
    calls: list[dict] = []
    real = _run_real_models(course, calls)
    assert [c["nb"] for c in calls] == ["04_vgg", "05_ft", "06_faces"]  # 04 before 05, which reuses its maps
    assert all(c["profile"] == "lab" for c in calls)
    assert calls[0]["parameters"] == {"BACKBONE": "vgg16-random"} == calls[1]["parameters"]
    assert calls[2]["parameters"] == {"USE_DEEPFACE": True, "TIMING_ONLY": True}  # the notebook defines it
    env = calls[0]["env"]
    assert env["TLBOOK_DATA_DIR"] == str(course["dest"]) and env["DEEPFACE_HOME"] == str(course["dest"] / "deepface")
    entries = {e["notebook"]: e for e in real["entries"]}
    assert all(e["timing_only"] and e["label"] == "timing only (random weights)" for e in entries.values())
    assert entries["04_vgg"]["cache_found"] == {} and entries["04_vgg"]["cache_added"] == {
        "features": {"files": 1, "mb": 0.0}}
    assert entries["05_ft"]["cache_found"] == {"features": {"files": 1, "mb": 0.0}}  # 04's maps, reused
    assert entries["05_ft"]["cache_added"] == {}
    assert entries["05_ft"]["cache"].startswith("runs after 04")
    assert entries["06_faces"]["slow_cells"][0] == {"index": 3, "seconds": 150.0,
                                                     "first_line": "features = cached_features(base)"}
    assert not any(e["used_substitute"] for e in entries.values())
    assert real["course_notebooks"] == ["01_basics", "04_vgg", "05_ft", "06_faces"]
    # the source data dir is untouched: its cache is still there and nothing new was written
    assert sorted(p.name for p in course["source"].iterdir()) == [".hashes", "att_faces", "cache"]
    assert (course["dest"] / ".hashes" / "squeezenet_weights.sha256").read_text() == "abc\n"

    report = {"schema": bench.SCHEMA, "started": "2026-12-01T10:00:00+0000", "finished": "x", "settings": {},
              "sections": ["machine", "real-models"], "machine": {"load_note": ""}, "real_models": real,
              "notebooks": {"lab": [{"notebook": "01_basics", "ok": True, "source": "validation report 2026-11-26",
                                     "wall_s": s(100), "peak_rss_mb": s(1000)}]}}
    bench.finish(report)
    assert bench.validate_report(report) == []
    course_total = real["course"]
    assert course_total["value"] == 1000.0 and course_total["missing"] == [] and course_total["failed"] == []
    targets = {t["target"]: t for t in report["targets"]}
    t04 = targets["lab, real models, timing only (random weights): 04_vgg"]
    assert t04["met"] is True and t04["rule"] == "<= 300 s" and t04["cause"] == ""
    t05 = targets["lab, real models, timing only (random weights): 05_ft"]
    assert t05["met"] is False and t05["value"] == 450.0 and "In [3] 150 s" in t05["cause"]
    whole = targets["lab with the real models: the whole course (04-06 timing only + other chapters' lab)"]
    assert whole["met"] is True and whole["value"] == 1000.0 and whole["rule"] == "<= 2400 s"
    md = bench_report.render_markdown(report)
    assert "### Lab with the real models (timing only, random weights)" in md
    from helpers.backbones import BACKBONES

    assert (f"| 04_vgg | timing only (random weights) | VGG16 (random weights) at {BACKBONES['vgg16'].lab_size} px "
            "| `BACKBONE='vgg16-random'` "
            "| 250 | 4000 | 300 | met |") in md
    assert "| 05_ft | timing only (random weights) |" in md and "| 420 | **missed** | runs after 04" in md
    assert "`USE_DEEPFACE=True`, `TIMING_ONLY=True`" in md
    assert "| **whole lab course with the real models** |" in md and "| 1000 |  | 2400 | met |" in md
    assert "01 100 s + 04 250 s + 05 450 s + 06 200 s = 1000 s" in md
    assert "by each run: 04 `features` 1 files (0 MB); 05 nothing; 06 nothing." in md


def test_cache_summary_by_folder():
    summary = bench.real_models.cache_summary({"features/a.npy": 2**20, "features/a.paths.txt": 2**19,
                                               "faces/fz/x.npy": 10, "top.npy": 1})
    assert summary == {".": {"files": 1, "mb": 0.0}, "faces/fz": {"files": 1, "mb": 0.0},
                       "features": {"files": 2, "mb": 1.5}}


def test_real_models_a_substitute_or_a_failure_does_not_count(course):
    calls: list[dict] = []
    real = _run_real_models(course, calls, substitute_in_06=True, fail=("04",))
    entries = {e["notebook"]: e for e in real["entries"]}
    assert entries["06_faces"]["used_substitute"] and not entries["04_vgg"]["ok"]
    targets = {t["target"]: t for t in bench.real_models.targets(real, bench_report.BUDGETS)}
    t06 = targets["lab, real models, timing only (random weights): 06_faces"]
    assert t06["met"] is False and "an offline substitute ran" in t06["cause"]
    t04 = targets["lab, real models, timing only (random weights): 04_vgg"]
    assert t04["met"] is False and t04["cause"] == "the notebook failed: ValueError: boom"
    # without any lab time for chapter 01 the whole course is not measured, and says what is missing
    real["course"] = bench.real_models.course_total(real, None, None)
    whole = bench.real_models.targets(real, bench_report.BUDGETS)[-1]
    assert whole["met"] is None and whole["cause"] == "not measured: no lab time for 01_basics"
    # a fresh validation report fills in the other chapters
    total = bench.real_models.course_total(real, None, {"started": "T1", "notebooks": [
        {"notebook": "01_basics", "ok": True, "wall_s": 99.0}]})
    assert total["missing"] == [] and total["value"] == 999.0 and sorted(total["failed"]) == ["04_vgg", "06_faces"]
    assert total["parts"][0] == {"notebook": "01_basics", "wall_s": 99.0, "source": "lab (validation report T1)"}


def test_real_models_parameters_only_where_the_notebook_has_them(course):
    rm = bench.real_models
    assert rm.parameter_names(course["nb_dir"] / "06_faces.ipynb") == {"PROFILE", "USE_DEEPFACE", "TIMING_ONLY"}
    _notebook(course["nb_dir"] / "06_faces.ipynb", "PROFILE = None\nUSE_DEEPFACE = None\n")
    assert rm.chapter_parameters("06", course["nb_dir"] / "06_faces.ipynb") == {"USE_DEEPFACE": True}
    assert rm.parameter_names(course["nb_dir"] / "missing.ipynb") == set()
    assert rm.used_substitute("04", "SqueezeNet v1.1 (ImageNet) for VGG16 (ImageNet)")
    assert not rm.used_substitute("06", "none") and not rm.used_substitute("06", None)


def test_make_data_dir_refuses_to_live_inside_the_data_dir(course):
    with pytest.raises(ValueError, match="outside the data dir"):
        bench.real_models.make_data_dir(course["source"], course["source"] / "bench")
    with pytest.raises(ValueError, match="outside the data dir"):
        bench.real_models.make_data_dir(course["source"], course["source"])
    dest = bench.real_models.make_data_dir(course["source"], course["dest"])
    (dest / "cache").mkdir()
    (dest / "cache" / "warm.npy").write_bytes(b"1")
    again = bench.real_models.make_data_dir(course["source"], course["dest"])  # fresh: caches start cold
    assert not (again / "cache").exists() and (again / "att_faces").is_symlink()
    assert (course["source"] / "att_faces" / "s1.pgm").is_file()  # removing the links left the targets


def test_parse_args_sections_include_real_models():
    args = bench.parse_args(["--sections", "machine,real-models", "--merge", "--fresh-data"])
    assert args.sections == ["machine", "real-models"] and args.merge and args.fresh_data
    assert "real-models" in bench.parse_args([]).sections
    assert bench.parse_args([]).runtimes == bench.RUNTIMES_PATH


def test_merge_previous_keeps_what_this_run_did_not_measure():
    previous = sample_report()
    previous["real_models"] = {"data_dir": "d", "course_notebooks": [], "entries": [
        {"notebook": "04_vgg", "ok": True, "source": "executed", "timing_only": True, "parameters": {},
         "used_substitute": False, "wall_s": s(250), "peak_rss_mb": s(4000)}]}
    report = {"schema": bench.SCHEMA, "started": "2026-12-01T10:00:00+0000", "finished": "y", "settings": {},
              "sections": ["machine", "notebooks"], "errors": {}, "machine": {"load_note": ""},
              "notebooks": {"smoke": [{"notebook": "01_basics", "ok": True, "source": "executed",
                                       "wall_s": s(19), "peak_rss_mb": s(700)}]}}
    bench.merge_previous(report, previous)
    assert report["notebooks"]["smoke"][0]["wall_s"]["median"] == 19  # measured now: kept as is
    assert report["notebooks"]["lab"][0]["source"] == "benchmark 2026-11-26T06:00:00+0000"
    assert report["real_models"]["entries"][0]["source"] == "benchmark 2026-11-26T06:00:00+0000"
    assert report["pipeline"] == previous["pipeline"] and report["head"] == previous["head"]
    assert set(report["carried"]) == {"pipeline", "head", "inference", "real_models", "notebooks.lab"}
    assert report["carried"]["pipeline"]["loadavg"] == "0.10 0.10 0.10 / 1.00 0.50 0.20"
    bench.finish(report)
    assert bench.validate_report(report) == []
    md = bench_report.render_markdown(report)
    assert "Kept from the previous benchmark report (`--merge`" in md
    assert "lab: benchmark 2026-11-26T06:00:00+0000" in md


# --------------------------------------------------------------------------- runtimes.json and runtime_text

def runtimes_report() -> dict:
    report = sample_report()
    report["started"] = "2026-12-01T10:00:00+0000"
    report["notebooks"]["smoke"].append({"notebook": "04_vgg", "ok": True, "source": "executed",
                                         "wall_s": s(23.1, 24, 22), "peak_rss_mb": s(1400)})
    report["notebooks"]["lab"].append({"notebook": "04_vgg", "ok": True, "source": "validation report 2026-11-26T06:18",
                                       "wall_s": s(93.1), "peak_rss_mb": s(3000)})
    report["real_models"] = {"entries": [
        {"notebook": "04_vgg", "ok": True, "source": "executed", "timing_only": True, "used_substitute": False,
         "wall_s": s(276), "peak_rss_mb": s(5000)},
        {"notebook": "06_faces", "ok": False, "source": "executed", "timing_only": True, "used_substitute": False,
         "wall_s": s(10), "peak_rss_mb": s(900)}]}
    return report


def test_runtimes_json_from_a_report():
    from benchmarks import runtimes

    report = runtimes_report()
    report["machine"]["cpu_vector_flags"] = "avx2"
    data = runtimes.build_runtimes(report)
    assert runtimes.validate_runtimes(data) == []
    assert data["date"] == "2026-12-01" and data["machine"]["cores"] == 2
    assert data["machine"]["vector_flags"] == "avx2"  # the run-time line names the instruction set
    assert runtimes.build_runtimes(runtimes_report())["machine"]["vector_flags"] == ""  # an older report
    ch = data["chapters"]
    assert sorted(ch) == ["01", "04", "05", "06", "07"]
    assert ch["04"]["smoke_s"] == 23.1 and ch["04"]["lab_real_s"] == 276 and ch["04"]["lab_substitute_s"] == 93.1
    assert ch["04"]["real"] == "VGG16" and ch["04"]["lab_real_timing_only"] is True
    assert ch["04"]["dates"] == {"smoke_s": "2026-12-01", "lab_real_s": "2026-12-01", "lab_substitute_s": "2026-11-26"}
    assert ch["01"] == {"notebook": "01_basics", "smoke_s": 21, "lab_real_s": 250, "lab_substitute_s": None,
                        "dates": {"smoke_s": "2026-12-01", "lab_real_s": "2026-12-01"}, "contended_fields": [],
                        "contended": False}
    assert ch["05"]["lab_substitute_s"] == 330 and ch["05"]["lab_real_s"] is None  # no real-models run
    assert ch["06"]["lab_real_s"] is None  # a failed run gives no figure
    assert json.loads(json.dumps(data)) == data


def test_runtimes_keep_previous_figures_and_flag_contention():
    from benchmarks import runtimes

    previous = runtimes.build_runtimes(runtimes_report())
    previous["chapters"]["06"]["lab_real_s"] = 240.0
    previous["chapters"]["06"]["dates"]["lab_real_s"] = "2026-11-30"
    report = {"started": "2026-12-02T08:00:00+0000", "machine": {"usable_cores": 2, "load_note": "contended"},
              "notebooks": {"smoke": [{"notebook": "06_faces", "ok": True, "source": "executed", "wall_s": s(20)}]}}
    data = runtimes.build_runtimes(report, previous)
    ch = data["chapters"]["06"]
    assert ch["lab_real_s"] == 240.0 and ch["dates"]["lab_real_s"] == "2026-11-30"  # kept
    assert ch["smoke_s"] == 20 and ch["dates"]["smoke_s"] == "2026-12-02" and ch["contended_fields"] == ["smoke_s"]
    assert data["chapters"]["04"]["lab_real_s"] == 276 and data["date"] == "2026-12-02"


def test_write_runtimes(tmp_path):
    from benchmarks import runtimes

    path = runtimes.write_runtimes(runtimes_report(), tmp_path / "runtimes.json")
    data = json.loads(path.read_text())
    assert data["schema"] == runtimes.SCHEMA and data["chapters"]["04"]["lab_real_s"] == 276
    assert path.read_text().endswith("}\n")



def test_runtime_text_reads_the_packaged_file(monkeypatch):
    from helpers import runtimes

    data = runtimes.load_runtimes()
    assert isinstance(data, dict)
    text = runtimes.runtime_text("04")
    assert text == runtimes.NOT_MEASURED or text.startswith("smoke ")
    monkeypatch.setattr(runtimes, "RUNTIMES_FILE", "no-such-file.json")
    assert runtimes.load_runtimes() == {} and runtimes.runtime_text("04") == "not measured yet"


def test_packaged_runtimes_file_is_valid():
    from benchmarks import runtimes

    path = ROOT / "helpers" / "runtimes.json"
    if not path.is_file():
        pytest.skip("helpers/runtimes.json not written yet (make bench)")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert runtimes.validate_runtimes(data) == []
    assert sorted(data["chapters"]) == [p.stem[:2] for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]


def test_title_cells_glue_the_measured_run_time():
    """Every chapter's title cell glues ``nbNN_runtime`` and keeps the full profile's (estimated) time."""
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        lines = [ln for ln in "".join(nb["cells"][0]["source"]).splitlines() if ln.startswith("**Run time**")]
        assert len(lines) == 1, path.name
        assert lines[0].startswith(f"**Run time** {{glue:text}}`nb{path.stem[:2]}_runtime`; full: "), lines[0]
        assert "estimate" in lines[0] and lines[0].endswith("."), lines[0]


def test_a_kept_section_gets_no_contention_note_of_this_run():
    report = sample_report()
    report["machine"]["load_note"] = "measured under contention: load 4.3"
    report["carried"] = {"head": {"from": "earlier", "loadavg": "0.1"}, "notebooks.lab": {"from": "earlier"}}
    targets = {t["target"]: t for t in bench.evaluate_targets(report)}
    assert "contention" not in targets["cached-features head / frozen base in the model, s/epoch"]["cause"]
    assert "contention" not in targets["lab: 05_finetune"]["cause"]
    assert "contention" in targets[LAYERS]["cause"]  # measured in this run


def test_merge_keeps_the_origin_of_what_the_previous_report_kept():
    previous = sample_report()
    previous["carried"] = {"pipeline": {"from": "2026-11-01", "loadavg": "0.0"}}
    report = {"started": "now", "machine": {}, "notebooks": {}}
    bench.merge_previous(report, previous)
    assert report["carried"]["pipeline"] == {"from": "2026-11-01", "loadavg": "0.0"}
    assert report["carried"]["head"]["from"] == previous["started"]


# --------------------------------------------------------------------------- smoke notebooks together (tools.execute)

def test_smoke_workers_reads_the_environment(monkeypatch):
    from tools import execute as ex

    monkeypatch.setenv("TLBOOK_SMOKE_WORKERS", "3")
    assert ex.smoke_workers() == 3
    monkeypatch.setenv("TLBOOK_SMOKE_WORKERS", "two")
    with pytest.raises(ValueError, match=r"TLBOOK_SMOKE_WORKERS='two' is not a whole number; set it to 1, 2"):
        ex.smoke_workers()
    monkeypatch.setenv("TLBOOK_SMOKE_WORKERS", "0")
    with pytest.raises(ValueError, match="must be at least 1"):
        ex.smoke_workers()
    monkeypatch.delenv("TLBOOK_SMOKE_WORKERS")
    assert 1 <= ex.smoke_workers() <= 4


def test_execute_many_runs_in_parallel_keeps_order_and_reports_a_crash(tmp_path, monkeypatch):
    import threading
    import time

    from tools import execute as ex

    running, most = [0], [0]
    lock = threading.Lock()

    envs = []

    def fake(path, profile, out_dir, **kwargs):
        envs.append(kwargs.get("env"))
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        if path.stem == "02_b":
            raise RuntimeError("papermill is not installed")
        return ex.Execution(path.stem, profile, 0.2, 10.0, True, str(out_dir / path.name))

    monkeypatch.setattr(ex, "execute", fake)
    monkeypatch.setattr(ex, "usable_cores", lambda: 2)
    for name in ex.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    paths = [tmp_path / f"{n}.ipynb" for n in ("01_a", "02_b", "03_c", "04_d")]
    runs, wall = ex.execute_many(paths, "smoke", tmp_path / "out", workers=2, timeout=5, env={"X": "1"})
    # two kernels on 2 cores: one TensorFlow thread each, and the caller's variables still reach every kernel
    assert envs == [{"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "X": "1"}] * 4
    assert [r.notebook for r in runs] == ["01_a", "02_b", "03_c", "04_d"]
    assert most[0] == 2 and 0.35 < wall < 2.0  # two at a time: about two rounds of 0.2 s
    assert runs[0].ok and runs[0].output.endswith("out/01_a/01_a.ipynb")
    assert not runs[1].ok and runs[1].error == "RuntimeError: papermill is not installed"
    assert all(r.ok for r in runs[2:])


def test_thread_env_shares_the_cores_and_keeps_what_the_user_set(monkeypatch):
    from tools import execute as ex

    for name in ex.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert ex.thread_env(1, cores=2) == {}  # one at a time: TensorFlow's own defaults
    assert ex.thread_env(2, cores=2) == {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    assert ex.thread_env(4, cores=16)["TF_NUM_INTRAOP_THREADS"] == "4"
    assert ex.thread_env(4, cores=2)["TF_NUM_INTRAOP_THREADS"] == "1"  # never 0
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "2")
    assert ex.thread_env(2, cores=2) == {"TF_NUM_INTEROP_THREADS": "1"}


def test_steal_time_from_proc_stat_and_its_note(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 1 2 3\n")
    assert bench_measure.cpu_ticks(stat) == (35, 1000)
    assert bench_measure.cpu_ticks(tmp_path / "missing") is None
    assert bench_measure.steal_share((35, 1000), (135, 2000)) == 0.1
    assert bench_measure.steal_share(None, (1, 2)) is None
    note = bench.load_note("0.5 0.4 0.3", "1.9 1 1", 2, steal=0.13)
    assert note.startswith("the virtual machine's host took 13% of the CPU time during the run (steal)")
    assert bench.load_note("0.5 0.4 0.3", "1.9 1 1", 2, steal=0.02) == ""
    both = bench.load_note("6.6 2 1", "1 1 1", 2, steal=0.2)
    assert "contention" in both and "steal" in both

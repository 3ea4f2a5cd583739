"""The validation report logic: threshold checks and glue reading."""

from __future__ import annotations

import nbformat

from helpers.execute import read_glue
from helpers.validate import check, load_thresholds, markdown


def test_check_min_max_and_missing() -> None:
    rules = {"a": {"min": 0.5}, "b": {"max": 0.1}, "c": {"min": 0, "max": 1}, "d": {"min": 0}}
    rows = {r["key"]: r for r in check({"a": 0.7, "b": 0.2, "c": 1.0, "x": 3}, rules)}
    assert rows["a"]["pass"] and not rows["b"]["pass"] and rows["c"]["pass"]
    assert not rows["d"]["pass"] and rows["d"]["missing"]


def test_check_rejects_non_numbers() -> None:
    rows = check({"a": "0.9", "b": True}, {"a": {"min": 0.5}, "b": {"min": 0}})
    assert [r["pass"] for r in rows] == [False, False]


def test_thresholds_file_is_well_formed() -> None:
    thresholds = load_thresholds()
    assert "02_cnn_cifar10" in thresholds
    for nb, rules in thresholds.items():
        for key, rule in (rules or {}).items():
            assert key.startswith(f"nb{nb[:2]}_"), f"{key} in {nb} must start with nb{nb[:2]}_"
            assert set(rule) <= {"min", "max", "source", "note"}, rule


def test_read_glue_from_papermill_record(tmp_path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("glue")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": "0.75"},
                               metadata={"scrapbook": {"name": "nb02_test_acc",
                                                       "mime_prefix": "application/papermill.record/"}}),
        nbformat.v4.new_output("display_data", data={"text/plain": "'lab'"},
                               metadata={"scrapbook": {"name": "nb02_profile", "mime_prefix": ""}}),
    ]
    nb.cells.append(cell)
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert read_glue(path) == {"nb02_test_acc": 0.75, "nb02_profile": "lab"}


def test_markdown_report_lists_failures() -> None:
    report = {"profile": "lab", "machine": "test", "total_s": 1.0, "passed": False, "notebooks": [
        {"notebook": "02_cnn_cifar10", "ok": True, "wall_s": 10.0, "peak_rss_mb": 100.0, "fallback": False,
         "checks": check({"nb02_test_acc": 0.5}, {"nb02_test_acc": {"min": 0.68, "source": "about 0.70"}})}]}
    text = markdown(report)
    assert "nb02_test_acc" in text and "| NO |" in text and "FAILED" in text

"""The validation report logic: threshold checks and glue reading."""

from __future__ import annotations

import nbformat
import pytest

from tools.execute import read_glue
from tools.validate import ThresholdsError, check, check_thresholds, load_thresholds, markdown


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
    check_thresholds(thresholds)
    per_model = [r for rules in thresholds.values() for r in (rules or {}).values() if "per_model" in r]
    offline = ("squeezenet", "fer", "all-minilm-l6-v2")  # every per-model rule covers the model an offline lab run uses
    assert per_model and all(any(k in r["per_model"] for k in offline) for r in per_model)


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("04_x:\n  nb04_a: {min: high}\n", "min must be a number"),
    ("04_x:\n  nb04_a: [0.9]\n", "must be a mapping"),
    ("04_x:\n  nb04_a: 0.9\n", "must be a mapping"),
    ("04_x:\n  nb05_a: {min: 0.9}\n", "glue key of this chapter, nb04_name"),
    ("04_x:\n  nb04_a: {minimum: 0.9}\n", "unknown fields"),
    ("04_x: [1, 2\n", "not valid YAML"),
    ("04_x:\n  nb04_a: {min: 0.9, max: 0.5}\n", "min 0.9 is above max 0.5"),
])
def test_a_malformed_thresholds_file_is_reported_with_its_path(tmp_path, text, message) -> None:
    path = tmp_path / "thresholds.yml"
    path.write_text(text)
    with pytest.raises(ThresholdsError, match=message) as err:
        load_thresholds(path)
    assert str(path) in str(err.value)


def test_a_missing_thresholds_file_names_it_and_the_fix(tmp_path) -> None:
    path = tmp_path / "thresholds.yml"
    with pytest.raises(ThresholdsError, match="cannot be read .* `git checkout tests/thresholds.yml`") as err:
        load_thresholds(path)
    assert str(path) in str(err.value)


def test_per_model_rules_follow_the_model_the_run_used() -> None:
    rules = {"nb04_acc": {"role": "backbone", "per_model": {"squeezenet": {"min": 0.94, "kind": "calibrated"},
                                                           "vgg16": {"min": 0.85, "kind": "floor"}}}}
    sq = check({"nb04_acc": 0.9, "nb04_model_keys": {"backbone": "squeezenet"}}, rules)[0]
    vgg = check({"nb04_acc": 0.9, "nb04_model_keys": {"backbone": "vgg16"}}, rules)[0]
    assert not sq["pass"] and sq["kind"] == "calibrated"
    assert vgg["pass"] and vgg["kind"] == "floor" and vgg["model"] == "vgg16"
    other = check({"nb04_acc": 0.99, "nb04_model_keys": {"backbone": "resnet"}}, rules)[0]
    assert not other["pass"] and "no rule for model" in other["note"]
    timing = check({"nb04_acc": 0.5, "nb04_model_keys": {"backbone": "vgg16-random"}}, rules)[0]
    assert timing["pass"] and "timing-only" in timing["note"]


def test_validate_refuses_to_check_nothing(capsys) -> None:
    from tools.validate import main

    assert main(["--only", "99"]) == 2
    assert "nothing was checked" in capsys.readouterr().err


def test_validate_refuses_a_misspelled_only_beside_a_good_one(capsys) -> None:
    from tools.validate import main

    assert main(["--only", "02", "99"]) == 2  # before anything runs: 02 is not executed either
    err = capsys.readouterr().err
    assert "no notebook matches --only 99" in err and "nothing was run" in err and "00, 01, 02" in err


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

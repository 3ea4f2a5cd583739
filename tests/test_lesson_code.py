"""Lesson code shown in a notebook stays identical to the helper the other chapters import.

The course's rule (CONTRIBUTING.md): the code a chapter teaches is written in its notebook. Where
the same code is also a helper (other chapters reuse it), the notebook's cell starts with
``# lesson code: the same as helpers.MODULE.NAME ...`` and this test keeps the two identical.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARK = re.compile(r"^# lesson code: the same as helpers\.(\w+)\.(\w+) ")
LESSONS = {("04_transfer_learning_vgg16", "backbones", "split_backbone"),
           ("06_face_vectors_rate_study", "evaluation", "grouped_splits")}


def _marked_cells() -> dict[tuple[str, str, str], str]:
    found = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            src = "".join(cell["source"])
            m = MARK.match(src)
            if cell["cell_type"] == "code" and m:
                found[(path.stem, m.group(1), m.group(2))] = src.split("\n", 1)[1]
    return found


def test_the_listed_lessons_are_marked_in_their_notebooks() -> None:
    assert LESSONS <= set(_marked_cells())


@pytest.mark.parametrize("lesson", sorted(_marked_cells()), ids=lambda t: f"{t[0][:2]}-{t[2]}")
def test_lesson_cell_matches_the_helper(lesson) -> None:
    _nb, module, name = lesson
    helper = getattr(importlib.import_module(f"helpers.{module}"), name)
    assert _marked_cells()[lesson].strip() == inspect.getsource(helper).strip(), (
        f"the cell in {lesson[0]} and helpers.{module}.{name} differ: change both together")

"""No choice made on test data: no notebook picks a model, a setting or an epoch by a test score.

A static check of the notebooks' code cells: a selection (``idxmax``,
``argmax``, ``nlargest``, ``sort_values``, ``max(..., key=...)``) whose
subject names a test split or a test score is flagged. Choices are made on
validation data; the chosen model's test score is reported once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# an expression without spaces outside brackets: names, attributes, indexing (quoted keys may hold spaces), calls
_SUBJECT = r"(?:\w|\.|\[(?:\"[^\"]*\"|'[^']*'|[^\]])*\]|\((?:[^()]|\([^()]*\))*\))+"
METHOD = re.compile(rf"({_SUBJECT})\.(idxmax|idxmin|argmax|argmin|nlargest|nsmallest|sort_values)\(([^)]*)\)")
FUNCTION = re.compile(r"\b(?:np\.)?(argmax|argmin)\(([^)]*)\)|\b(max|min|sorted)\([^)]*key\s*=([^)]*)\)")
TEST = re.compile(r"test", re.IGNORECASE)


def selections_on_test(code: str) -> list[str]:
    """The lines of ``code`` that choose by something named test."""
    hits = []
    for line in code.splitlines():
        code_part = line.split("#", 1)[0]
        chose = any(TEST.search(m.group(1)) or TEST.search(m.group(3)) for m in METHOD.finditer(code_part))
        chose = chose or any(TEST.search(m.group(2) or m.group(4) or "") for m in FUNCTION.finditer(code_part))
        if chose:
            hits.append(line.strip())
    return hits


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:2] for p in NOTEBOOKS])
def test_no_notebook_chooses_on_test_data(path: Path) -> None:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    hits = [f"cell {i}: {h}" for i, c in enumerate(cells) if c["cell_type"] == "code"
            for h in selections_on_test("".join(c["source"]))]
    assert not hits, (f"{path.name} chooses by a test score (choose on validation, report the chosen model's test "
                      "score once):\n  " + "\n  ".join(hits))


def test_the_detector_knows_a_choice_from_a_report() -> None:
    chosen = ['best = table["test accuracy"].idxmax()', "i = np.argmax(test_scores)",
              "best = max(runs, key=lambda r: r['test_acc'])", 'top = df.sort_values("test_auc").index[-1]']
    reported = ['best = table["val accuracy"].idxmax()', 'low = table["test accuracy"].min()',
                "majority = float(np.mean(y_test == np.bincount(y_train).argmax()))",
                "k = max(1, int(round(test_size * n)))", "acc = model.evaluate(x_test, y_test)[1]  # argmax(test) in a comment"]
    assert all(selections_on_test(c) for c in chosen), [c for c in chosen if not selections_on_test(c)]
    assert not any(selections_on_test(c) for c in reported), [c for c in reported if selections_on_test(c)]

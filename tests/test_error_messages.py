"""The error messages the README and the instructor guide list are the ones the code prints.

Each backticked message in the first column of a "Common errors" table is cut at its placeholders
(``...``, ``N``, numbers, quoted values); every piece of three words or more must occur in the source
of ``helpers/`` or ``tools/``, so a reworded message cannot leave the table behind.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\.\.\.|\bN\b|\bM\b|\b\d[\d,.]*\b|'[^']*'|\([^)]*\)|[:;]")
THIRD_PARTY = {"Running as root is not recommended"}  # Jupyter's own message, not the course's


def _code_text() -> str:
    text = "".join(p.read_text(encoding="utf-8") for d in ("helpers", "tools") for p in (ROOT / d).glob("*.py"))
    return re.sub(r'"\s*\n\s*f?"', "", text)  # join implicitly concatenated string literals


def _messages(doc: Path) -> list[str]:
    lines = doc.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## Common errors"))
    out = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if line.startswith("| `"):
            out += [m for m in re.findall(r"`([^`]+)`", line.split("|")[1]) if m not in THIRD_PARTY]
    return out


def _pieces(message: str) -> list[str]:
    return [p.strip() for p in PLACEHOLDER.split(message) if len(p.split()) >= 3]


DOCS = [ROOT / "README.md", ROOT / "book" / "instructor_guide.md"]
CASES = [(doc.name, m) for doc in DOCS for m in _messages(doc) if _pieces(m)]


def test_the_tables_list_the_data_and_input_errors() -> None:
    listed = " ".join(m for doc in DOCS for m in _messages(doc))
    for must in ("is incomplete", "not valid UTF-8", "Refusing to extract", "had a detectable face"):
        assert must in listed


@pytest.mark.parametrize("doc, message", CASES, ids=[f"{d}:{m[:40]}" for d, m in CASES])
def test_a_listed_message_is_printed_by_the_code(doc: str, message: str) -> None:
    code = _code_text()
    missing = [p for p in _pieces(message) if p not in code]
    assert not missing, f"{doc} lists `{message}`, but the code never prints {missing}: update the table"

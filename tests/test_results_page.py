"""The book's Markdown pages: every cross-document glue reference names a format.

MyST-NB reads ``{glue:text}`path::key``` by splitting at the last colon, so a
reference to another document without ``:fmt`` loses its key and the build
warns (``-W`` fails). Write ``path::key:d``, ``:.3f`` or ``:s``.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROLE = re.compile(r"\{glue:text\}`([^`]*)`")


def unformatted(text: str) -> list[str]:
    """Cross-document glue references without a format spec."""
    return [ref for ref in ROLE.findall(text) if "::" in ref and ":" not in ref.split("::", 1)[1]]


def test_cross_document_glue_references_have_a_format() -> None:
    bad = {p.name: unformatted(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "book").glob("*.md"))}
    bad = {name: refs for name, refs in bad.items() if refs}
    assert not bad, f"add :d, :s or a float format to these glue references: {bad}"


def test_the_check_knows_both_forms() -> None:
    assert unformatted("{glue:text}`../notebooks/04_x.ipynb::nb04_n_val`") == ["../notebooks/04_x.ipynb::nb04_n_val"]
    assert unformatted("{glue:text}`../notebooks/04_x.ipynb::nb04_n_val:d` {glue:text}`nb04_x`") == []

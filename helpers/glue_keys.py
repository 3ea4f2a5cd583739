"""The one glue-key contract: every glued result is ``nbNN_name``.

Notebooks glue through :meth:`helpers.chapter.Chapter.glue`; the validation, the
thresholds file, the results page, the benchmarks and the tests read the same
keys through these functions, so the convention lives here only.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["key", "chapter_of", "STANDARD", "KEY_PATTERN"]

KEY_PATTERN = re.compile(r"^nb(\d\d)_[a-z0-9_]+$")
STANDARD = ("profile", "data", "fallback", "substitutes", "model_keys", "runtime")
"""What every chapter start glues (see :func:`helpers.chapter.start_chapter`)."""


def chapter_of(notebook: str | Path) -> str:
    """``"04"`` for ``04``, ``4``, ``04_transfer_learning_vgg16`` or its path."""
    stem = Path(str(notebook)).stem
    digits = stem.split("_", 1)[0]
    if not digits.isdigit():
        raise ValueError(f"{notebook!r} is not a chapter (names start with two digits, e.g. 04_...)")
    return f"{int(digits):02d}"


def key(notebook: str | Path, name: str) -> str:
    """The glue key of ``name`` in a chapter: ``key("04_x", "feature_val_acc") == "nb04_feature_val_acc"``."""
    out = f"nb{chapter_of(notebook)}_{name}"
    if not KEY_PATTERN.match(out):
        raise ValueError(f"{out!r} is not a valid glue key (lower-case letters, digits and _ only)")
    return out

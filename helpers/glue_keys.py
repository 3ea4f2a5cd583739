"""The one glue-key contract: every glued result is ``nbNN_name``.

Notebooks glue through :meth:`helpers.chapter.Chapter.glue`; the validation, the
thresholds file, the results page, the benchmarks and the tests read the same
keys through these functions, so the convention lives here only. :func:`glue`
writes the output that the book's ``{glue}`` roles read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["key", "chapter_of", "glue", "STANDARD", "KEY_PATTERN", "GLUE_PREFIX"]

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


GLUE_PREFIX = "application/papermill.record/"
"""The MIME-type prefix of a hidden glue output (myst-nb 1.x, after scrapbook)."""


def glue(name: str, value: Any, display: bool = False) -> None:
    """Write ``value`` as the glue output ``name``: the same output as ``myst_nb.glue``.

    myst-nb's own function imports nbformat and, through it, jsonschema's format
    checkers, about 1 s in every kernel, for a function of four lines; this one
    needs only IPython. ``tests/test_glue_keys.py`` checks that both write the
    same output.
    """
    import IPython.display
    from IPython.core.formatters import format_display_data

    bundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    IPython.display.display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)

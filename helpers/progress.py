"""Progress on long loops: a ``tqdm.auto`` bar in a notebook, a few compact lines in a papermill log."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["progress_bar"]

T = TypeVar("T")


def _interactive() -> bool:
    """True in a live Jupyter front end; False under papermill or nbclient (no widget to draw)."""
    if "PAPERMILL_EXECUTION" in os.environ or os.environ.get("TLBOOK_PLAIN_PROGRESS"):
        return False
    return "ipykernel" in sys.modules and "papermill" not in sys.modules


def progress_bar(items: Iterable[T], desc: str = "", unit: str = "it", enabled: bool = True,
                 total: int | None = None) -> Iterator[T]:
    """Iterate over ``items`` with progress shown.

    In a notebook opened by a person: a ``tqdm.auto`` bar. Elsewhere (papermill,
    the book build, a terminal log): at most five one-line updates on stderr,
    which the rendered pages leave out. ``enabled=False`` shows nothing.
    """
    if not enabled:
        yield from items
        return
    total = total if total is not None else (len(items) if hasattr(items, "__len__") else None)  # type: ignore[arg-type]
    if _interactive():
        from tqdm.auto import tqdm

        yield from tqdm(items, desc=desc, unit=unit, total=total, leave=False)
        return
    step = max(1, (total or 0) // 5) if total else 0
    for i, item in enumerate(items, start=1):
        yield item
        if total and (i % step == 0 or i == total):
            print(f"{desc}: {i}/{total} {unit}", file=sys.stderr, flush=True)

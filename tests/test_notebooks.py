"""Every notebook executes top to bottom in the ``smoke`` profile.

Smoke runs use generated stand-in data (no network, no data directory), so
they check the code paths and the glued keys, not the methods' results.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import glue_keys
from tools.execute import Execution, execute_many, notebook_paths, smoke_workers
from tools.validate import load_thresholds

NOTEBOOKS = notebook_paths()
LIMIT_S = float(os.environ.get("TLBOOK_SMOKE_LIMIT_S", "60"))
THRESHOLDS = load_thresholds()


@pytest.fixture(scope="session")
def smoke_runs(request, tmp_path_factory) -> dict[str, Execution]:
    """Every selected notebook executed in smoke, ``smoke_workers()`` at a time, once per session.

    Only the notebooks whose test was collected run (``pytest -k 04`` runs one).
    ``TLBOOK_SMOKE_WORKERS=1`` runs them one after another.
    """
    wanted = [item.callspec.params["path"] for item in request.session.items
              if item.originalname == "test_notebook_runs_in_smoke" and hasattr(item, "callspec")]
    out = tmp_path_factory.mktemp("smoke")
    runs, wall = execute_many(wanted, "smoke", out, smoke_workers(), inject=True, timeout=LIMIT_S * 4)
    print(f"\n{len(runs)} smoke notebooks, {smoke_workers()} at a time: {wall:.0f} s")
    return {ex.notebook: ex for ex in runs}


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_smoke(path: Path, smoke_runs: dict[str, Execution]) -> None:
    """The notebook runs without error, glues its checked keys, and reports its profile.

    The time limit only stops a hung kernel; the smoke speed budget is judged in ``make bench``.
    """
    ex = smoke_runs[path.stem]
    assert ex.ok, f"{path.name} failed in smoke:\n{ex.error}"
    assert ex.glue.get(glue_keys.key(path.stem, "profile")) == "smoke"
    for name in glue_keys.STANDARD:
        assert glue_keys.key(path.stem, name) in ex.glue, f"{path.name} does not glue {name}"
    missing = [k for k in THRESHOLDS.get(path.stem, {}) if k not in ex.glue]
    assert not missing, f"{path.name} does not glue {missing}"


def test_notebooks_are_committed_clean() -> None:
    """Notebooks hold no outputs or execution counts, and have a tagged parameters cell."""
    import nbformat

    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), f"{path.name} has outputs"
        params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
        assert "PROFILE = None" in params[0].source, f"{path.name}: parameters cell lacks PROFILE = None"
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(f"# {path.stem[:2]}."), (
            f"{path.name} must start with a '# NN. Title' cell")


def test_every_thresholded_notebook_exists() -> None:
    """The thresholds file names only notebooks that exist (or are planned in the toc)."""
    stems = {p.stem for p in NOTEBOOKS}
    unknown = [k for k in THRESHOLDS if k not in stems]
    # planned chapters may be listed before they land; fail only on typos of existing prefixes
    clashes = [k for k in unknown if any(s[:2] == k[:2] for s in stems)]
    assert not clashes, f"thresholds name notebooks that do not exist: {clashes}"

"""The layout contract: two audiences kept apart, and every chapter wired into every place it belongs.

``helpers/`` is the learner's package (it ships to Colab); ``tools/`` and
``benchmarks/`` are build tooling for ``make`` and CI. A new chapter needs a
line in each place CONTRIBUTING.md lists; these tests fail when one is missing.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
BUILD_ONLY = {"papermill", "jupyter_cache", "nbclient", "nbformat", "tests", "tools", "benchmarks", "pytest"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", sorted((ROOT / "helpers").glob("*.py")), ids=lambda p: p.name)
def test_the_learners_package_imports_no_build_tooling(module: Path) -> None:
    bad = _imports(module) & BUILD_ONLY
    assert not bad, f"helpers/{module.name} imports build tooling {sorted(bad)}: move that code to tools/"
    text = module.read_text(encoding="utf-8").replace(" ", "")
    assert "__file__).resolve().parent.parent" not in text or module.name == "config.py", (
        f"helpers/{module.name} reaches outside the package through the file system")


def test_every_helpers_module_has_a_public_api_and_a_test() -> None:
    for module in sorted((ROOT / "helpers").glob("*.py")):
        if module.name == "__init__.py":
            continue
        assert "__all__" in module.read_text(encoding="utf-8"), f"helpers/{module.name} has no __all__"
        assert (ROOT / "tests" / f"test_{module.stem}.py").is_file(), f"no tests/test_{module.stem}.py"


def _toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return {ch["file"] for part in toc["parts"] for ch in part["chapters"]}


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_is_wired_in(nb: Path) -> None:
    stem, prefix = nb.stem, nb.stem[:2]
    assert f"notebooks/{stem}" in _toc_files(), f"{stem} is not in _toc.yml"
    thresholds = yaml.safe_load((ROOT / "tests" / "thresholds.yml").read_text(encoding="utf-8"))
    assert stem in thresholds, f"{stem} has no section in tests/thresholds.yml (use {{}} for none)"
    results = (ROOT / "book" / "results.md").read_text(encoding="utf-8")
    assert prefix == "00" or f"## {prefix}." in results, f"book/results.md has no '## {prefix}.' section"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`notebooks/{nb.name}`" in readme, f"README.md's chapter table lacks {nb.name}"
    runtimes = json.loads((ROOT / "helpers" / "runtimes.json").read_text(encoding="utf-8"))
    assert prefix in runtimes["chapters"], f"{stem} has no run times: run `make bench`"

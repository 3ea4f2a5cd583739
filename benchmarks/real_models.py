"""The ``real-models`` section: chapters 04, 05 and 06 in ``lab`` with the real architectures, timing only.

Offline, the ordinary ``lab`` runs of these chapters use the substitutes
(SqueezeNet for VGG16; the FER-2013 model and SqueezeNet features for
DeepFace), which are much faster than the real models. This section measures
what a learner with the real weights waits for: the real architectures with
random weights of the same shapes (accuracies mean nothing; the run times hold).

* 04 and 05 run with ``BACKBONE="vgg16-random"`` (VGG16 at its lab size (helpers.backbones) in lab,
  TIMING ONLY banner; no weight file needed).
* 06 runs with ``USE_DEEPFACE=True`` (and ``TIMING_ONLY=True`` where the
  notebook has that parameter) on random-weight files of DeepFace's VGG-Face
  and emotion models, written once in DeepFace's own file format and checked
  with DeepFace's own loader (:func:`deepface_random_weights`).
* Every run uses one fresh, bench-owned data directory
  (:func:`make_data_dir`): the datasets are linked from the real data
  directory, nothing of its caches is used and nothing in it is written, so the
  feature caches are cold as for a new user. 04 runs before 05, which reuses
  04's cached VGG16 maps (as a learner going through the chapters in order).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import cell_times, slow_cells_text, slowest, summarize
from helpers.backbones import BACKBONES

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "_build" / "bench" / "data" / "real-models"
WEIGHTS_STORE = ROOT / "_build" / "bench" / "random-weights"
TIMING_ONLY_LABEL = "timing only (random weights)"

# chapter prefix -> how it runs with the real models. "optional" parameters are passed only where the
# notebook's parameters cell defines them; "substitutes" are names that, in the glued substitutes, mean an
# offline substitute ran instead of the real model (the run then does not count).
REAL_MODELS: dict[str, dict[str, Any]] = {
    "04": {"parameters": {"BACKBONE": "vgg16-random"}, "optional": {},
           "real": "VGG16", "models": f"VGG16 (random weights) at {BACKBONES['vgg16'].lab_size} px",
           "substitute": "the offline substitute", "substitutes": ("SqueezeNet",),
           "cache": "cold: extracts and caches VGG16's maps"},
    "05": {"parameters": {"BACKBONE": "vgg16-random"}, "optional": {},
           "real": "VGG16", "models": f"VGG16 (random weights) at {BACKBONES['vgg16'].lab_size} px",
           "substitute": "the offline substitute", "substitutes": ("SqueezeNet",),
           "cache": "runs after 04 in the same data dir and reuses 04's cached VGG16 maps"},
    "06": {"parameters": {"USE_DEEPFACE": True}, "optional": {"TIMING_ONLY": True},
           "real": "DeepFace", "models": "DeepFace VGG-Face embedding + emotion model (random weights)",
           "substitute": "the offline substitutes", "substitutes": ("FER-2013", "SqueezeNet"),
           "cache": "cold face-vector cache", "deepface": True},
}

# registry entry -> DeepFace's file name (deepface 0.0.103 loads them from <DEEPFACE_HOME>/.deepface/weights)
DEEPFACE_FILES: dict[str, str] = {"deepface_vgg_face": "vgg_face_weights.h5",
                                  "deepface_emotion": "facial_expression_model_weights.h5"}
_SKIP_IN_DATA_DIR = {"cache", ".hashes", "deepface", "models_trained"}


# --------------------------------------------------------------------------- the bench-owned data dir

def make_data_dir(source: Path, dest: Path, weights: dict[str, Path] | None = None) -> Path:
    """A fresh data directory at ``dest`` for timing runs: the datasets of ``source``, none of its caches.

    Every top-level item of ``source`` is symlinked, except its caches
    (``cache/``, ``models_trained/``), its ``deepface/`` folder and its
    ``.hashes/`` (whose files are copied, so a hash recorded here never
    touches ``source``). ``weights`` maps registry entries to files placed at
    the entries' paths (hard links where possible, else symlinks). An existing
    ``dest`` is deleted first: the caches start cold.
    """
    from helpers.registry import local_path

    source, dest = Path(source).resolve(), Path(dest)
    d = dest.resolve()
    if d == source or source.is_relative_to(d) or d.is_relative_to(source):
        raise ValueError(f"the bench data dir {dest} must lie outside the data dir {source} and not contain it")
    if dest.is_symlink():
        dest.unlink()
    elif dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for item in sorted(source.iterdir()) if source.is_dir() else []:
        if item.name in _SKIP_IN_DATA_DIR or item.name.startswith(".extract-"):
            continue
        (dest / item.name).symlink_to(item.resolve(), target_is_directory=item.is_dir())
    hashes = source / ".hashes"
    placed = set(weights or {})
    if hashes.is_dir():
        (dest / ".hashes").mkdir()
        for f in hashes.glob("*.sha256"):
            if f.stem not in placed:
                shutil.copyfile(f, dest / ".hashes" / f.name)
    for entry, file in (weights or {}).items():
        target = local_path(entry, dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(file, target)
        except OSError:
            target.symlink_to(Path(file).resolve())
    return dest


def cache_files(data_dir: Path) -> dict[str, int]:
    """Files under ``<data_dir>/cache`` (relative path -> bytes)."""
    root = Path(data_dir) / "cache"
    if not root.is_dir():
        return {}
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}


def cache_summary(files: dict[str, int]) -> dict[str, dict]:
    """``{folder: {"files": n, "mb": size}}`` of cache files (``features``, ``faces/<featurizer>``...)."""
    out: dict[str, dict] = {}
    for name, size in sorted(files.items()):
        folder = name.rsplit("/", 1)[0] if "/" in name else "."
        row = out.setdefault(folder, {"files": 0, "mb": 0.0})
        row["files"] += 1
        row["mb"] += size / 2**20
    return {k: {"files": v["files"], "mb": round(v["mb"], 1)} for k, v in out.items()}


# --------------------------------------------------------------------------- random DeepFace weights

DEEPFACE_WEIGHTS_SCRIPT = textwrap.dedent('''
    """Random weights of DeepFace's VGG-Face and emotion models, in DeepFace's file format, checked by its loader."""
    import json, os, sys
    from pathlib import Path
    home = Path(sys.argv[1])
    os.environ["DEEPFACE_HOME"] = str(home)
    import keras  # Keras and TensorFlow first: importing deepface sets TF_USE_LEGACY_KERAS=1
    import numpy as np
    import tensorflow  # noqa: F401
    from deepface.commons import weight_utils
    from deepface.models.demography.tf import Emotion
    from deepface.models.facial_recognition.tf import VGGFace
    from tools.random_weights import write_legacy_h5

    wdir = home / ".deepface" / "weights"
    wdir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)

    def first_kernel(model):
        return next(w for layer in model.layers for w in layer.get_weights() if w.ndim == 4)

    # Build the architectures without DeepFace's download and loading steps.
    keep = weight_utils.download_weights_if_necessary, weight_utils.load_model_weights
    weight_utils.download_weights_if_necessary = lambda **kw: ""
    weight_utils.load_model_weights = lambda model, weight_file: model
    made = {}
    for name, build in (("vgg_face_weights.h5", VGGFace.base_model), ("facial_expression_model_weights.h5",
                                                                       Emotion.load_model)):
        model = build()
        write_legacy_h5(model, wdir / name)
        made[name] = {"params": int(model.count_params()), "kernel": first_kernel(model)}
    weight_utils.download_weights_if_necessary, weight_utils.load_model_weights = keep

    # DeepFace's own loader must read the files back, downloading nothing.
    def no_download(file_name, source_url, compress_type=None):
        target = wdir / file_name
        if not target.is_file():
            raise SystemExit(f"DeepFace would download {file_name}")
        return str(target)

    weight_utils.download_weights_if_necessary = no_download
    from deepface import DeepFace

    out = {}
    for name, model_name, task, dim in (("vgg_face_weights.h5", "VGG-Face", "facial_recognition", 4096),
                                        ("facial_expression_model_weights.h5", "Emotion", "facial_attribute", 7)):
        client = DeepFace.build_model(model_name, task=task)
        shape = tuple(client.model.output_shape)
        if shape[-1] != dim:
            raise SystemExit(f"{model_name}: output {shape}, expected {dim}")
        if not np.array_equal(first_kernel(client.model), made[name]["kernel"]):
            raise SystemExit(f"{model_name}: DeepFace did not load the weights written to {name}")
        out[name] = {"model": model_name, "params": made[name]["params"], "output_dim": dim,
                     "bytes": (wdir / name).stat().st_size}
    print("RANDOM-WEIGHTS " + json.dumps(out))
''')


def deepface_version() -> str:
    """The installed DeepFace version ("" when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deepface")
    except PackageNotFoundError:
        return ""


def deepface_random_weights(store: Path | None = None, timeout: float = 900) -> tuple[dict[str, Path], dict]:
    """Random-weight files of DeepFace's VGG-Face (~580 MB) and emotion model: ``({entry: path}, info)``.

    Written once per DeepFace version under ``store`` (default
    ``_build/bench/random-weights``) by :data:`DEEPFACE_WEIGHTS_SCRIPT` in a
    subprocess (importing deepface sets ``TF_USE_LEGACY_KERAS=1``): DeepFace's
    own architectures (``VGGFace.base_model()``, the ``Emotion`` model) with
    Keras' default random initialisation, saved with
    :func:`tools.random_weights.write_legacy_h5` and read back with DeepFace's
    own loader (``DeepFace.build_model``), which must find them and load them
    unchanged. Later calls reuse the files while their sizes match the record.
    """
    version = deepface_version()
    if not version:
        raise RuntimeError("deepface is not installed: the real-models run of chapter 06 needs it")
    home = (store or WEIGHTS_STORE) / f"deepface-{version}"
    files = {entry: home / ".deepface" / "weights" / name for entry, name in DEEPFACE_FILES.items()}
    stamp = home / "made.json"
    if stamp.is_file():
        info = json.loads(stamp.read_text(encoding="utf-8"))
        if all(p.is_file() and p.stat().st_size == info["files"].get(p.name, {}).get("bytes") for p in files.values()):
            return files, dict(info, reused=True)
    if home.exists():
        shutil.rmtree(home)
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "DEEPFACE_HOME")}
    # KERAS_HOME too: Keras writes keras.json there on import, and the data dir is not ours to write in.
    env.update(PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore", KERAS_HOME=str(home / "keras"))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", DEEPFACE_WEIGHTS_SCRIPT, str(home)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RANDOM-WEIGHTS ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError("writing random DeepFace weights failed:\n" + (proc.stdout + proc.stderr)[-3000:])
    info = {"deepface": version, "files": json.loads(line.removeprefix("RANDOM-WEIGHTS ")),
            "seconds": round(time.perf_counter() - t0, 1),
            "how": "DeepFace's own architectures, Keras' default random initialisation (seed 0), saved with "
                   "tools.random_weights.write_legacy_h5, read back unchanged by DeepFace.build_model"}
    stamp.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return files, dict(info, reused=False)


# --------------------------------------------------------------------------- running the chapters

def parameter_names(path: Path) -> set[str]:
    """The names a notebook's ``parameters`` cell assigns."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    for cell in nb.get("cells", []):
        if "parameters" in (cell.get("metadata", {}).get("tags") or []):
            try:
                tree = ast.parse("".join(cell.get("source", "")))
            except SyntaxError:
                return set()
            return {t.id for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AnnAssign))
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                    if isinstance(t, ast.Name)}
    return set()


def chapter_parameters(prefix: str, path: Path) -> dict:
    """The parameters a chapter runs with here: its fixed ones plus the optional ones its notebook defines."""
    spec = REAL_MODELS[prefix]
    names = parameter_names(path)
    return {**spec["parameters"], **{k: v for k, v in spec["optional"].items() if k in names}}


def used_substitute(prefix: str, glued: Any) -> bool:
    """True when the glued substitutes of a run name one of the chapter's offline substitutes."""
    text = str(glued or "")
    return any(name in text for name in REAL_MODELS[prefix]["substitutes"])


def bench_real_models(source: Path, timeout: float, root: Path | None = None, dest: Path | None = None,
                      execute: Callable[..., Any] | None = None,
                      weights: Callable[[], tuple[dict[str, Path], dict]] | None = None,
                      only: Sequence[str] | None = None) -> dict:
    """Run chapters 04, 05, 06 in ``lab`` with the real architectures on random weights (see the module).

    ``source``: the real data directory (``TLBOOK_DATA_DIR``); ``root``: the
    notebooks folder; ``dest``: the bench-owned data directory (recreated);
    ``execute`` and ``weights`` default to :func:`tools.execute.execute` and
    :func:`deepface_random_weights` (tests pass fakes).
    """
    from helpers.glue_keys import key as glue_key
    from tools.execute import NOTEBOOKS, notebook_paths

    if execute is None:
        from tools.execute import execute
    all_paths = notebook_paths(root or NOTEBOOKS)
    paths = [p for p in all_paths if p.stem[:2] in REAL_MODELS and (not only or any(p.stem.startswith(o)
                                                                                      for o in only))]
    dest = Path(dest or DATA_DIR)
    placed: dict[str, Path] = {}
    weights_info: dict = {}
    if any(REAL_MODELS[p.stem[:2]].get("deepface") for p in paths):
        t0 = time.perf_counter()
        placed, weights_info = (weights or deepface_random_weights)()
        weights_info = dict(weights_info, prepare_s=round(time.perf_counter() - t0, 1))
        print(f"  random DeepFace weights {'reused' if weights_info.get('reused') else 'written'} "
              f"({weights_info['prepare_s']:.0f} s)", flush=True)
    make_data_dir(source, dest, placed)
    env = {"TLBOOK_DATA_DIR": str(dest), "KERAS_HOME": str(dest / "keras"), "DEEPFACE_HOME": str(dest / "deepface")}
    out_dir = ROOT / "_build" / "bench" / "real-models"
    entries: list[dict] = []
    for path in paths:
        prefix = path.stem[:2]
        spec = REAL_MODELS[prefix]
        params = chapter_parameters(prefix, path)
        before = cache_files(dest)
        print(f"  {path.name} (lab, {', '.join(f'{k}={v!r}' for k, v in params.items())}) ...", end=" ", flush=True)
        ex = execute(path, "lab", out_dir, inject=True, timeout=timeout, env=env, parameters=params)
        print(f"{ex.wall_s:.0f} s, {ex.peak_rss_mb:.0f} MB{'' if ex.ok else ' FAILED'}", flush=True)
        after = cache_files(dest)
        glued = (ex.glue or {}).get(glue_key(path, "substitutes"))
        entries.append({
            "notebook": path.stem, "ok": bool(ex.ok), "source": "executed", "timing_only": True,
            "label": TIMING_ONLY_LABEL, "real": spec["real"], "models": spec["models"], "parameters": params,
            "cache": spec["cache"], "wall_s": summarize([ex.wall_s]), "peak_rss_mb": summarize([ex.peak_rss_mb]),
            "slow_cells": slowest(cell_times(Path(ex.output))), "error": ex.error or "",
            "models_glued": glued, "used_substitute": used_substitute(prefix, glued),
            # the cache as the run found it, and what it added (05 adds no VGG16 maps: it reuses 04's)
            "cache_found": cache_summary({k: v for k, v in before.items() if k in after}),
            "cache_added": cache_summary({k: v for k, v in after.items() if k not in before}),
        })
    return {"data_dir": str(dest), "source_data_dir": str(Path(source).resolve()), "profile": "lab",
            "course_notebooks": [p.stem for p in all_paths], "weights": weights_info, "entries": entries,
            "note": "Real architectures with random weights of the same shapes: TIMING ONLY, every accuracy of "
                    "these runs is meaningless. One fresh data dir: datasets linked from the data dir, feature "
                    "caches cold as for a new user; 05 runs after 04 and reuses 04's cached VGG16 maps."}


# --------------------------------------------------------------------------- the whole course

def course_total(real: dict, lab: Sequence[dict] | None, validation: dict | None = None) -> dict:
    """The whole lab course with the real models: these runs plus every other chapter's lab run.

    The other chapters' times come from the ``notebooks`` section's lab
    entries (``lab``), else from a fresh lab validation report
    (``validation``). Returns ``{"value", "parts", "missing", "failed"}``.
    """
    real_entries = {e["notebook"]: e for e in real.get("entries") or []}
    real_prefixes = {n[:2] for n in real_entries}
    course = list(real.get("course_notebooks") or [])
    for name in real_entries:
        if name not in course:
            course.append(name)
    others: dict[str, tuple[float, bool, str]] = {}
    if lab:
        for e in lab:
            others[e["notebook"]] = (e["wall_s"]["median"], bool(e.get("ok", True)), e.get("source", "executed"))
    elif validation:
        src = f"validation report {validation.get('started', '')}".strip()
        for nb in validation.get("notebooks") or []:
            others[nb["notebook"]] = (float(nb["wall_s"]), bool(nb.get("ok", False)), src)
    parts, missing, failed = [], [], []
    for name in sorted(course):
        if name in real_entries:
            e = real_entries[name]
            parts.append({"notebook": name, "wall_s": e["wall_s"]["median"], "source": TIMING_ONLY_LABEL})
            if not e.get("ok", True) or e.get("used_substitute"):
                failed.append(name)
        elif name[:2] in real_prefixes:
            continue
        elif name in others:
            wall, ok, src = others[name]
            parts.append({"notebook": name, "wall_s": wall, "source": f"lab ({src})"})
            if not ok:
                failed.append(name)
        else:
            missing.append(name)
    return {"value": round(sum(p["wall_s"] for p in parts), 1), "parts": parts, "missing": missing,
            "failed": failed}


def targets(real: dict, budgets: dict) -> list[dict]:
    """The real-models targets: each chapter within its budget, and the whole course within its own."""
    out = []
    per = budgets["real_models"]["notebooks"]
    for e in real.get("entries") or []:
        budget = per.get(e["notebook"][:2])
        wall = e["wall_s"]["median"]
        if not e.get("ok", True):
            cause = "the notebook failed: " + ((e.get("error") or "").strip().splitlines() or ["?"])[-1][:160]
        elif e.get("used_substitute"):
            cause = f"an offline substitute ran, not the real model ({e.get('models_glued')})"
        else:
            cause = slow_cells_text(e.get("slow_cells"))
        met = None if budget is None else (wall <= budget and e.get("ok", True) and not e.get("used_substitute"))
        out.append({"target": f"lab, real models, {TIMING_ONLY_LABEL}: {e['notebook']}",
                    "rule": f"<= {budget:.0f} s" if budget is not None else "no budget", "value": wall,
                    "met": met, "cause": cause})
    total = real.get("course")
    if total:
        limit = budgets["real_models"]["course_total_s"]
        met = total["value"] <= limit and not total["failed"]
        if total["missing"]:
            met = None
            cause = "not measured: no lab time for " + ", ".join(total["missing"])
        else:
            top = sorted(total["parts"], key=lambda p: -p["wall_s"])[:3]
            cause = ((f"failed or substituted: {', '.join(total['failed'])}; " if total["failed"] else "")
                     + "largest: " + ", ".join(f"{p['notebook']} {p['wall_s']:.0f} s" for p in top))
        out.append({"target": "lab with the real models: the whole course (04-06 timing only + other chapters' lab)",
                    "rule": f"<= {limit:.0f} s", "value": total["value"], "met": met, "cause": cause})
    return out

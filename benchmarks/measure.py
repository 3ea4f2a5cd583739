"""The bench's measurements: timed runs, the machine, notebook wall times, the input pipelines, the head, inference.

Each ``bench_*`` function returns one section of the report (:mod:`benchmarks.report`).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import cell_times as _cell_times  # noqa: E402
from benchmarks.common import ratios, summarize  # noqa: E402
from benchmarks.report import (  # noqa: E402
    HEAD_MIN_RATIO,
    PIPELINE_DIAGNOSIS,
    PIPELINE_MIN_RATIO,
    PIPELINES,
    TF_DATA_VARIANTS,
    _ratio_key,
)

FRESH_NOTEBOOKS_DATA = ROOT / "_build" / "bench" / "data" / "notebooks"
VALIDATION_REPORT = ROOT / "_build" / "validation" / "report.json"

# --------------------------------------------------------------------------- timing

def timed_runs(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> list[float]:
    """Seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on Linux
        return "?"


def machine() -> dict:
    """CPU model, cores, TensorFlow/Keras versions and whether oneDNN is on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import keras
    import tensorflow as tf

    flag = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    try:
        from tensorflow.python.util import _pywrap_util_port

        built = bool(_pywrap_util_port.IsMklEnabled())
    except Exception:  # noqa: BLE001 - private API; absence only loses a detail
        built = None
    if flag is None:
        onednn = "on (default)" if built else "off (default)"
    else:
        onednn = ("off" if flag.strip().lower() in ("0", "false", "no") else "on") + \
            f" (TF_ENABLE_ONEDNN_OPTS={flag})"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    # oneDNN is on by default only on CPUs with these (TensorFlow >= 2.9 on Linux x86)
    vector = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile") if f in flags]
    return {"cpu_model": cpu, "cpu_count": os.cpu_count(), "usable_cores": usable,
            "python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "onednn": onednn, "onednn_built": built, "TF_ENABLE_ONEDNN_OPTS": flag,
            "cpu_vector_flags": " ".join(vector) or "?",
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads() or "auto",
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads() or "auto",
            "platform": platform.platform()}


def cpu_ticks(stat: Path = Path("/proc/stat")) -> tuple[int, int] | None:
    """(steal, total) CPU ticks since boot from ``/proc/stat``; None where there is no such file."""
    try:
        fields = stat.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return (values[7] if len(values) > 7 else 0), sum(values)


def steal_share(start: tuple[int, int] | None, end: tuple[int, int] | None) -> float | None:
    """The share of CPU time the hypervisor gave to other machines between two :func:`cpu_ticks`."""
    if not start or not end or end[1] <= start[1]:
        return None
    return round((end[0] - start[0]) / (end[1] - start[1]), 4)


def load_note(loadavg_start: str, loadavg_end: str, cores: int | None, steal: float | None = None) -> str:
    """A warning when other work competed: the 1-minute load average above the core count, or the
    hypervisor taking more than 5 % of the CPU time (steal) of a virtual machine."""
    notes = []
    try:
        peak = max(float(loadavg_start.split()[0]), float(loadavg_end.split()[0]))
    except (ValueError, IndexError):
        peak = 0.0
    if cores and peak > cores + 0.5:
        notes.append(f"measured under contention: 1-min load average up to {peak:.1f} on {cores} cores")
    if steal is not None and steal > 0.05:
        notes.append(f"the virtual machine's host took {steal:.0%} of the CPU time during the run (steal), "
                     "so its times are slower than this machine's own")
    return "; ".join(notes)


# --------------------------------------------------------------------------- notebooks

def fresh_validation(path: Path | None = None, notebooks: Sequence[Path] = ()) -> dict | None:
    """The lab validation report (default ``_build/validation/report.json``) when it is newer than every notebook."""
    path = path or VALIDATION_REPORT
    if not path.exists():
        return None
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if report.get("profile") != "lab":
        return None
    mtime = path.stat().st_mtime
    if any(p.stat().st_mtime > mtime for p in notebooks):
        return None
    return report


def bench_notebooks(profiles: Sequence[str], repeats: dict[str, int], only: list[str] | None,
                    timeout: float, reuse_validation: bool, root: Path | None = None,
                    data_dir: Path | None = None) -> dict:
    """Wall time and peak memory of each notebook per profile (``root``: the notebooks folder).

    ``data_dir``: run the notebooks against this data directory (the bench's
    fresh copy, see ``--fresh-data``) instead of ``TLBOOK_DATA_DIR``.
    """
    from tools.execute import NOTEBOOKS, execute, notebook_paths

    extra = {"env": {"TLBOOK_DATA_DIR": str(data_dir), "KERAS_HOME": str(Path(data_dir) / "keras"),
                     "DEEPFACE_HOME": str(Path(data_dir) / "deepface")}} if data_dir else {}

    paths = notebook_paths(root or NOTEBOOKS, only=only)
    if not paths:
        print("  no notebooks found under notebooks/", flush=True)
    out: dict[str, list[dict]] = {}
    for profile in profiles:
        entries: list[dict] = []
        reused = fresh_validation(notebooks=paths) if (reuse_validation and profile == "lab") else None
        if reuse_validation and profile == "lab" and reused is None:
            print("  --reuse-validation: no fresh lab report at _build/validation/report.json; executing",
                  flush=True)
        covered: set[str] = set()
        if reused is not None:
            stems = {p.stem for p in paths}
            for nb in reused.get("notebooks", []):
                if nb["notebook"] not in stems:
                    continue
                covered.add(nb["notebook"])
                entries.append({"notebook": nb["notebook"], "ok": nb.get("ok", False),
                                "source": f"validation report {reused.get('started', '')}".strip(),
                                "wall_s": summarize([nb["wall_s"]]),
                                "peak_rss_mb": summarize([nb.get("peak_rss_mb", 0.0)]),
                                "slow_cells": sorted(_cell_times(Path(nb.get("output", ""))),
                                                     key=lambda c: -c["seconds"])[:3],
                                "error": nb.get("error", "")})
        out_dir = ROOT / "_build" / "bench" / profile
        for path in (p for p in paths if p.stem not in covered):  # what the report lacks is executed
            walls, peaks, ok, error, cells = [], [], True, "", []
            for i in range(repeats.get(profile, 1)):
                print(f"  {path.name} ({profile}, run {i + 1}) ...", end=" ", flush=True)
                ex = execute(path, profile, out_dir, inject=True, timeout=timeout, **extra)
                print(f"{ex.wall_s:.0f} s, {ex.peak_rss_mb:.0f} MB{'' if ex.ok else ' FAILED'}", flush=True)
                walls.append(ex.wall_s)
                peaks.append(ex.peak_rss_mb)
                ok = ok and ex.ok
                error = error or ex.error
                cells = sorted(_cell_times(Path(ex.output)), key=lambda c: -c["seconds"])[:3]
                if not ex.ok:
                    break
            entries.append({"notebook": path.stem, "ok": ok, "source": "executed",
                            "wall_s": summarize(walls), "peak_rss_mb": summarize(peaks),
                            "slow_cells": cells, "error": error})
        out[profile] = sorted(entries, key=lambda e: e["notebook"])
    return out


def bench_batch(profile: str, repeats: int, only: list[str] | None, timeout: float, workers: int,
                root: Path | None = None, data_dir: Path | None = None) -> dict:
    """Wall time of all notebooks of ``profile`` run together, ``workers`` at a time (what ``make test`` does).

    Per-notebook times under this contention say nothing about one notebook run
    alone (that is :func:`bench_notebooks`), so only the batch's wall time, its
    peak memory (the largest single notebook's) and failures are kept.
    """
    from tools.execute import NOTEBOOKS, execute_many, notebook_paths

    env = {"env": {"TLBOOK_DATA_DIR": str(data_dir), "KERAS_HOME": str(Path(data_dir) / "keras"),
                   "DEEPFACE_HOME": str(Path(data_dir) / "deepface")}} if data_dir else {}
    paths = notebook_paths(root or NOTEBOOKS, only=only)
    walls, peaks, failed = [], [], []
    for i in range(repeats):
        print(f"  all {len(paths)} {profile} notebooks, {workers} at a time (run {i + 1}) ...", end=" ", flush=True)
        runs, wall = execute_many(paths, profile, ROOT / "_build" / "bench" / f"{profile}-batch", workers,
                                  inject=True, timeout=timeout, **env)
        failed = sorted({*failed, *(ex.notebook for ex in runs if not ex.ok)})
        print(f"{wall:.0f} s{' FAILED: ' + ', '.join(failed) if failed else ''}", flush=True)
        walls.append(wall)
        peaks.append(max((ex.peak_rss_mb for ex in runs), default=0.0))
        if failed:
            break
    return {"workers": workers, "notebooks": [p.stem for p in paths], "wall_s": summarize(walls),
            "peak_rss_mb": summarize(peaks), "ok": not failed, "failed": failed}


# --------------------------------------------------------------------------- pipeline

def pipeline_entry(ips: dict[str, list[float]], n_images: int, image_size: int, batch_size: int,
                   note: str = "") -> dict:
    """The pipeline section of the report from per-run images/s of each pipeline.

    ``ips`` maps the keys of :data:`PIPELINES` (and optionally of
    :data:`PIPELINE_DIAGNOSIS`) to images/s of the same timed runs. Each
    ``tf.data`` variant gets a run-by-run ratio against ``ImageDataGenerator``;
    the target is judged on the variant with the higher median ratio
    (``best``; its figures are repeated as ``tf_data`` and ``ratio``).
    """
    gen = ips["image_generator"]
    entry: dict[str, Any] = {"images": n_images, "image_size": image_size, "batch_size": batch_size,
                             "labels": {k: PIPELINES[k][0] for k in PIPELINES}}
    for key in (*PIPELINES, *PIPELINE_DIAGNOSIS):
        if key in ips:
            entry[key] = summarize(ips[key])
    for key in TF_DATA_VARIANTS:
        entry[_ratio_key(key)] = summarize(ratios(ips[key], gen))
    best = max(TF_DATA_VARIANTS, key=lambda k: entry[_ratio_key(k)]["median"])
    entry.update(best=best, best_label=PIPELINES[best][0], tf_data=entry[best], ratio=entry[_ratio_key(best)],
                 note=note)

    def ms(key: str) -> float:  # milliseconds per image (median run)
        return 1000.0 / statistics.median(ips[key])

    where = ""
    if all(k in ips for k in PIPELINE_DIAGNOSIS):
        read_ds, read_gen = ms("tf_data_no_augmentation"), ms("image_generator_no_augmentation")
        where = (f"; reading costs {read_ds:.1f} (tf.data, cached) vs {read_gen:.1f} ms/image (ImageDataGenerator, "
                 f"PIL every epoch); augmentation adds {ms('tf_data_layers') - read_ds:.1f} (5 layers) and "
                 f"{ms('tf_data_affine') - read_ds:.1f} (one transform) vs {ms('image_generator') - read_gen:.1f} "
                 "ms/image (ImageDataGenerator)")
    for key, field in ((best, "cause"), ("tf_data_layers", "layers_cause")):
        if entry[_ratio_key(key)]["median"] < PIPELINE_MIN_RATIO:
            entry[field] = (f"{PIPELINES[key][0]} {ms(key):.1f} ms/image vs ImageDataGenerator "
                            f"{ms('image_generator'):.1f} ms/image" + where)
    return entry


def _cats_dogs(n: int) -> tuple[list[Path], Any, str]:
    """Cats-vs-dogs training files from the data dir, else a synthetic stand-in of ``n`` images."""
    from helpers.datasets import cats_dogs_files
    from helpers.registry import is_present

    if is_present("cats_and_dogs_filtered"):
        paths, labels, _ = cats_dogs_files("train")
        return paths, labels, "cats_and_dogs_filtered"
    paths, labels, _ = cats_dogs_files("train", synthetic=True, n_synthetic=max(n // 2, 2))
    return paths, labels, "synthetic stand-in (no cats_and_dogs_filtered in the data dir)"


def _subset_dir(paths: Sequence[Path], labels: Sequence[int], n: int, root: Path) -> Path:
    """A ``cats/``+``dogs/`` folder of symlinks to ``n`` images (half each), so an epoch is a full pass."""
    half = n // 2
    chosen = [p for p, y in zip(paths, labels, strict=True) if y == 0][:half] + \
             [p for p, y in zip(paths, labels, strict=True) if y == 1][: n - half]
    for p in chosen:
        sub = root / p.parent.name
        sub.mkdir(parents=True, exist_ok=True)
        (sub / p.name).symlink_to(p.resolve())
    return root


def full_pass(pipe: Any) -> int:
    """Read one full epoch of a pipeline; return the number of images.

    A ``DirectoryIterator`` (``ImageDataGenerator``) loops forever: one epoch
    is ``len(pipe)`` batches. A ``tf.data`` dataset is iterated to its end.
    """
    n = 0
    if hasattr(pipe, "__next__"):
        for _ in range(len(pipe)):
            n += int(next(pipe)[0].shape[0])
    else:
        for x, _y in pipe:
            n += int(x.shape[0])
    return n


def bench_pipeline(n_images: int, repeats: int, image_size: int = 224, batch_size: int = 20, seed: int = 42,
                   files: tuple[Sequence[Path], Sequence[int], str] | None = None) -> dict:
    """images/s of the three pipelines notebook 04 reports, on the same images and augmentation.

    The pipelines are built by :mod:`helpers.vision` exactly as
    ``pipeline_throughput`` builds them (``generator_pipeline``;
    ``dataset_pipeline(augmentation="layers")`` and ``"affine"``, i.e.
    :func:`helpers.vision.source_augment`), plus the two without augmentation
    for diagnosis. Each reads its own symlinked copy of the same ``n_images``
    files (``files``: ``(paths, labels, kind)``, default the cats-vs-dogs
    training set), so every epoch is a full pass. One untimed warm-up epoch
    each fills the ``tf.data`` caches; then the ``tf.data`` folders are
    deleted, so a timed epoch can only be served by a *complete* cache (a
    partial one would read the files and fail). Then ``repeats`` rounds, each
    timing one full epoch of every pipeline in turn, so each ratio compares
    epochs measured side by side.
    """
    import shutil
    import tempfile

    from helpers import vision

    paths, labels, kind = files if files is not None else _cats_dogs(n_images)
    size = (image_size, image_size)
    with tempfile.TemporaryDirectory(prefix="tlbook-bench-") as tmp:
        dirs = {k: _subset_dir(paths, list(labels), n_images, Path(tmp) / k) for k in (*PIPELINES, *PIPELINE_DIAGNOSIS)}
        pipes: dict[str, Any] = {}
        for key, (_label, aug) in PIPELINES.items():
            pipes[key] = (vision.generator_pipeline(dirs[key], size, batch_size, seed=seed) if aug is None else
                          vision.dataset_pipeline(dirs[key], size, batch_size, seed=seed, augmentation=aug))
        pipes["image_generator_no_augmentation"] = vision.generator_pipeline(
            dirs["image_generator_no_augmentation"], size, batch_size, augment=False, seed=seed)
        pipes["tf_data_no_augmentation"] = vision.dataset_pipeline(
            dirs["tf_data_no_augmentation"], size, batch_size, augment=False, seed=seed)
        first: dict[str, float] = {}
        counts: dict[str, int] = {}
        for key, pipe in pipes.items():  # warm-up: one untimed full pass each
            t0 = time.perf_counter()
            counts[key] = full_pass(pipe)
            first[key] = time.perf_counter() - t0
            if not hasattr(pipe, "__next__"):
                shutil.rmtree(dirs[key])  # from now on only a complete cache can serve this pipeline
        n = counts["image_generator"]
        if set(counts.values()) != {n} or n == 0:
            raise RuntimeError(f"pipelines read different numbers of images per epoch: {counts}")
        times: dict[str, list[float]] = {k: [] for k in pipes}
        for _ in range(repeats):  # alternate, so each pair is measured side by side
            for key, pipe in pipes.items():
                t0 = time.perf_counter()
                got = full_pass(pipe)
                times[key].append(time.perf_counter() - t0)
                if got != n:
                    raise RuntimeError(f"{key} read {got} images in a timed epoch, expected {n}")
    ips = {k: [n / t for t in v] for k, v in times.items()}
    note = (f"Data: {kind}. The same pipelines as notebook 04 (`helpers.vision`). Steady state: one untimed "
            "warm-up epoch each, after which the tf.data folders are deleted, so the timed epochs come from a "
            "complete in-memory cache. First (uncached) tf.data epoch: "
            + ", ".join(f"{PIPELINES[k][0]} {n / first[k]:.0f} images/s" for k in TF_DATA_VARIANTS) + ".")
    entry = pipeline_entry(ips, n, image_size, batch_size, note)
    entry.update(seed=seed, data=kind,
                 tf_data_first_epoch_images_per_s={k: round(n / first[k], 1) for k in TF_DATA_VARIANTS})
    return entry


# --------------------------------------------------------------------------- transfer head

HEAD_DESC = "GlobalAveragePooling2D - Dense 512 relu - Dropout 0.5 - Dense 1 sigmoid; Adam 1e-4"


def _load_images(n: int, size: int) -> tuple[Any, Any, str]:
    """``n`` cats/dogs training images (half each) at ``size`` px, Caffe-preprocessed for VGG16."""
    import numpy as np

    from helpers import vision

    paths, labels, kind = _cats_dogs(n)
    half = n // 2
    idx = [i for i in range(len(labels)) if labels[i] == 0][:half] + \
          [i for i in range(len(labels)) if labels[i] == 1][: n - half]
    x = vision.caffe_preprocess(vision.load_images([paths[i] for i in idx], (size, size)).astype("float32"))
    return np.asarray(x, dtype="float32"), np.asarray(labels[idx], dtype="float32"), kind


def _head(inputs: Any) -> Any:
    from keras import layers

    h = layers.GlobalAveragePooling2D()(inputs)
    h = layers.Dense(512, activation="relu")(h)
    h = layers.Dropout(0.5)(h)
    return layers.Dense(1, activation="sigmoid")(h)


def _epoch_times(model: Any, x: Any, y: Any, repeats: int, batch_size: int) -> list[float]:
    """Seconds of each of ``repeats`` epochs after one untimed warm-up epoch."""
    import keras

    times: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            times.append(time.perf_counter() - self.t0)

    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=batch_size, epochs=1 + repeats, shuffle=True, verbose=0, callbacks=[Clock()])
    return times[1:]


def bench_head(n_images: int, repeats: int, image_size: int = 224, batch_size: int = 20) -> dict:
    """Seconds/epoch of the same head on cached VGG16 features vs with the frozen base inside."""
    import keras

    keras.utils.set_random_seed(0)
    x, y, kind = _load_images(n_images, image_size)
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(image_size, image_size, 3))
    base.trainable = False

    out: list[Any] = []
    base.predict(x[:batch_size], batch_size=batch_size, verbose=0)  # warm-up: trace the graph on one batch
    extraction = timed_runs(lambda: out.append(base.predict(x, batch_size=batch_size, verbose=0)), repeats,
                            warmup=0)
    feats = out[-1]
    inp = keras.Input(feats.shape[1:])
    cached = keras.Model(inp, _head(inp), name="head_on_cached_features")
    cached_t = _epoch_times(cached, feats, y, repeats, batch_size)

    inp = keras.Input((image_size, image_size, 3))
    e2e = keras.Model(inp, _head(base(inp, training=False)), name="frozen_base_and_head")
    e2e_t = _epoch_times(e2e, x, y, repeats, batch_size)

    entry = {"backbone": "VGG16", "weights": "random weights, timing only", "image_size": image_size,
             "images": int(len(x)), "data": kind, "batch_size": batch_size, "head": HEAD_DESC,
             "feature_shape": list(feats.shape[1:]),
             "cached_s_per_epoch": summarize(cached_t), "end_to_end_s_per_epoch": summarize(e2e_t),
             "ratio": summarize(ratios(e2e_t, cached_t)), "extraction_s": summarize(extraction)}
    saved = entry["end_to_end_s_per_epoch"]["median"] - entry["cached_s_per_epoch"]["median"]
    entry["break_even_epochs"] = entry["extraction_s"]["median"] / saved if saved > 0 else None
    if entry["ratio"]["median"] < HEAD_MIN_RATIO:
        entry["cause"] = (f"cached epoch {entry['cached_s_per_epoch']['median']:.3g} s is mostly fixed "
                          f"per-epoch/per-step overhead at {len(x)} images; the frozen base's forward pass "
                          f"costs {entry['extraction_s']['median']:.3g} s per pass")
    return entry


# --------------------------------------------------------------------------- inference

def bench_inference(sizes: Sequence[int], n_images: int, repeats: int, batch_size: int) -> tuple[list[dict], str]:
    """Forward-pass images/s of VGG16 and SqueezeNet (random weights) at each size."""
    import keras
    import numpy as np

    builders: dict[str, Callable[[int], Any]] = {
        "VGG16": lambda s: keras.applications.VGG16(weights=None, include_top=False, input_shape=(s, s, 3)),
    }
    note = "Random weights (timing only); no top; `model.predict` on in-memory arrays."
    try:
        from helpers.vision import squeezenet

        builders["SqueezeNet"] = lambda s: squeezenet(input_shape=(s, s, 3), weights=None)
    except ImportError as exc:
        note += f" SqueezeNet skipped: helpers.vision.squeezenet unavailable ({exc})."
    rng = np.random.default_rng(0)
    rows = []
    for name, build in builders.items():
        for s in sizes:
            keras.backend.clear_session()
            model = build(s)
            x = rng.uniform(0, 255, (n_images, s, s, 3)).astype("float32")
            secs = timed_runs(lambda m=model, x=x: m.predict(x, batch_size=batch_size, verbose=0), repeats)
            ips = [n_images / t for t in secs]
            rows.append({"model": name, "size": s, "images": n_images, "batch_size": batch_size,
                         "params": int(model.count_params()), "images_per_s": summarize(ips)})
            print(f"  {name} {s} px: {rows[-1]['images_per_s']['median']:.3g} images/s", flush=True)
    return rows, note



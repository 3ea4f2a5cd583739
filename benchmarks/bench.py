"""``make bench``: how fast the course runs on a CPU, and the speed-ups it teaches.

Sections (choose with ``--sections``):

- ``notebooks``: each notebook's wall time and peak memory in ``smoke`` and
  ``lab``, executed with papermill through :func:`tools.execute.execute`;
- ``pipeline``: images/s of the three input pipelines notebook 04 reports,
  all built by ``helpers.vision``: ``ImageDataGenerator``, and
  ``image_dataset_from_directory`` + ``tf.data`` cache/prefetch with the
  augmentation as Keras layers or as one combined affine transform; same
  images, augmentation and image size;
- ``head``: seconds per epoch of the same transfer head trained on cached
  frozen-base features and with the frozen base inside the model;
- ``inference``: backbone images/s at 224, 160 and 96 px (VGG16, SqueezeNet);
- ``real-models``: notebooks 04, 05 and 06 in ``lab`` with the real
  architectures (VGG16, DeepFace) on random weights of the same shapes, timing
  only, in a fresh bench-owned data dir (:mod:`benchmarks.real_models`), and
  the whole lab course with the real models;
- ``machine``: CPU, cores, TensorFlow version, oneDNN.

Budgets and target ratios are read from ``tests/budgets.yml``
(:mod:`benchmarks.budgets`). Besides its report the bench writes
``helpers/runtimes.json`` (:mod:`benchmarks.runtimes`), which the chapters'
"Run time" lines glue.

Every micro-benchmark figure is the median of ``--repeats`` timed runs after
one untimed warm-up, reported with min and max; ratios are formed run by run
inside the same process. Writes ``benchmarks/results/latest.json`` and
``latest.md``; with ``--merge`` what this run does not measure is kept from the
previous ``latest.json``, marked with its date.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # ``python benchmarks/bench.py`` from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks import real_models  # noqa: E402
from benchmarks.measure import (  # noqa: E402
    FRESH_NOTEBOOKS_DATA,
    _loadavg,
    bench_batch,
    bench_head,
    bench_inference,
    bench_notebooks,
    bench_pipeline,
    cpu_ticks,
    fresh_validation,
    load_note,
    machine,
    steal_share,
)
from benchmarks.report import SCHEMA, evaluate_targets, merge_previous, validate_report, write  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
RUNTIMES_PATH = ROOT / "helpers" / "runtimes.json"
SECTIONS: tuple[str, ...] = ("machine", "notebooks", "pipeline", "head", "inference", "real-models")

# --------------------------------------------------------------------------- CLI

def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; ``--quick`` shrinks every knob for a smoke test of the script."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--sections", type=_csv, default=list(SECTIONS),
                   help=f"comma list of {','.join(SECTIONS)} (default: all)")
    p.add_argument("--profiles", type=_csv, default=["smoke", "lab"], help="notebook profiles (default smoke,lab)")
    p.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 04 05")
    p.add_argument("--repeats", type=int, default=None, help="timed runs per micro-benchmark (default 3; quick 1)")
    p.add_argument("--smoke-repeats", type=int, default=None, help="runs per smoke notebook (default 3; quick 1)")
    p.add_argument("--lab-repeats", type=int, default=1, help="runs per lab notebook (default 1)")
    p.add_argument("--batch-repeats", type=int, default=None,
                   help="runs of all smoke notebooks together, as make test runs them (default 1)")
    p.add_argument("--workers", type=int, default=None,
                   help="smoke notebooks at once in that batch (default: tools.execute.smoke_workers())")
    p.add_argument("--reuse-validation", action="store_true",
                   help="take lab wall times from a fresh _build/validation/report.json")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per notebook run")
    p.add_argument("--pipeline-images", type=int, default=None, help="images per pipeline epoch (default 200; quick 40)")
    p.add_argument("--head-images", type=int, default=None, help="images for the head benchmark (default 200; quick 20)")
    p.add_argument("--head-size", type=int, default=None, help="image size of the head benchmark (default 224; quick 128)")
    p.add_argument("--inference-sizes", type=lambda v: [int(s) for s in _csv(v)], default=[224, 160, 96],
                   help="backbone input sizes in px (default 224,160,96)")
    p.add_argument("--inference-images", type=int, default=None, help="images per inference pass (default 32; quick 4)")
    p.add_argument("--fresh-data", action="store_true",
                   help="run the notebooks section against a fresh bench-owned data dir (datasets linked from "
                        "TLBOOK_DATA_DIR, caches cold, nothing written there)")
    p.add_argument("--merge", action="store_true",
                   help="keep from the previous latest.json what this run does not measure (marked with its date)")
    p.add_argument("--runtimes", type=Path, default=RUNTIMES_PATH,
                   help="where to write the chapters' run times (default helpers/runtimes.json)")
    p.add_argument("--no-runtimes", action="store_true", help="do not write the run-times file")
    p.add_argument("--quick", action="store_true", help="tiny settings to check the script (not for the record)")
    p.add_argument("--out", type=Path, default=RESULTS, help="results folder (default benchmarks/results)")
    args = p.parse_args(argv)
    bad = set(args.sections) - set(SECTIONS)
    if bad:
        p.error(f"unknown section(s) {', '.join(sorted(bad))}; choose from {', '.join(SECTIONS)}")
    q = args.quick
    args.repeats = args.repeats or (1 if q else 3)
    args.smoke_repeats = args.smoke_repeats or (1 if q else 3)
    args.batch_repeats = args.batch_repeats or 1
    args.pipeline_images = args.pipeline_images or (40 if q else 200)
    args.head_images = args.head_images or (20 if q else 200)
    args.head_size = args.head_size or (128 if q else 224)
    args.inference_images = args.inference_images or (4 if q else 32)
    return args


def import_keras_outside_data_dir(home: Path = ROOT / "_build" / "bench" / "keras") -> None:
    """Import Keras in this process with ``KERAS_HOME`` under ``_build/bench``, then restore the variable.

    Keras writes ``keras.json`` into ``KERAS_HOME`` on import, and
    :mod:`helpers` points that at ``<data dir>/keras``: the bench itself
    downloads nothing, so it keeps out of the data dir. The notebooks it runs
    get the variable as it was.
    """
    if "keras" in sys.modules:
        return
    old = os.environ.get("KERAS_HOME")
    os.environ["KERAS_HOME"] = str(home)
    try:
        import keras  # noqa: F401
    finally:
        if old is None:
            os.environ.pop("KERAS_HOME", None)
        else:
            os.environ["KERAS_HOME"] = old


def run(args: argparse.Namespace) -> dict:
    """Run the chosen sections and return the report (also written to ``args.out``)."""
    from helpers.config import quiet_tensorflow

    quiet_tensorflow()
    import_keras_outside_data_dir()
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    report: dict = {"schema": SCHEMA, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "settings": settings,
                    "sections": list(args.sections), "errors": {}}
    start_load, start_ticks = _loadavg(), cpu_ticks()
    # The machine is always described: a figure without its machine is meaningless.
    report["machine"] = machine()
    report["machine"]["loadavg_start"] = start_load
    steps: list[tuple[str, Callable[[], None]]] = []

    def do_notebooks() -> None:
        fresh = None
        if args.fresh_data:
            from helpers.config import data_dir

            fresh = real_models.make_data_dir(data_dir(), FRESH_NOTEBOOKS_DATA)
        report["notebooks"] = bench_notebooks(args.profiles, {"smoke": args.smoke_repeats, "lab": args.lab_repeats,
                                                              "full": 1}, args.only, args.timeout,
                                              args.reuse_validation, data_dir=fresh)
        if "smoke" in args.profiles:
            from tools.execute import smoke_workers

            report["notebooks_batch"] = {"smoke": bench_batch("smoke", args.batch_repeats, args.only, args.timeout,
                                                              args.workers or smoke_workers(), data_dir=fresh)}
        if fresh:
            report["notebooks_data_dir"] = str(fresh)

    def do_real_models() -> None:
        from helpers.config import data_dir

        report["real_models"] = real_models.bench_real_models(data_dir(), args.timeout, only=args.only)

    def do_pipeline() -> None:
        report["pipeline"] = bench_pipeline(args.pipeline_images, args.repeats)

    def do_head() -> None:
        report["head"] = bench_head(args.head_images, args.repeats, image_size=args.head_size)

    def do_inference() -> None:
        report["inference"], report["inference_note"] = bench_inference(
            args.inference_sizes, args.inference_images, args.repeats, batch_size=min(32, args.inference_images))

    for name, fn in (("notebooks", do_notebooks), ("pipeline", do_pipeline), ("head", do_head),
                     ("inference", do_inference), ("real-models", do_real_models)):
        if name in args.sections:
            steps.append((name, fn))
    for name, fn in steps:
        print(f"[{name}]", flush=True)
        t0 = time.perf_counter()
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - one broken section must not lose the others
            report["errors"][name] = f"{type(exc).__name__}: {exc}"
            print(f"  FAILED: {report['errors'][name]}", flush=True)
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    report["machine"]["loadavg_end"] = _loadavg()
    report["machine"]["steal_share"] = steal_share(start_ticks, cpu_ticks())
    report["machine"]["load_note"] = load_note(start_load, report["machine"]["loadavg_end"],
                                               report["machine"]["usable_cores"], report["machine"]["steal_share"])
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if args.merge:
        previous = args.out / "latest.json"
        if previous.is_file():
            merge_previous(report, json.loads(previous.read_text(encoding="utf-8")))
    finish(report)
    return report


def finish(report: dict, validation: dict | None = None) -> dict:
    """The whole-course total of the real-models section (when there is one), then the targets."""
    real = report.get("real_models")
    if real:
        lab = (report.get("notebooks") or {}).get("lab")
        if not lab and validation is None:
            from tools.execute import NOTEBOOKS, notebook_paths

            validation = fresh_validation(notebooks=notebook_paths(NOTEBOOKS))
        real["course"] = real_models.course_total(real, lab, validation)
    report["targets"] = evaluate_targets(report)
    return report


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``make bench``; exits 1 when a section failed or the report is malformed."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as helpers sets it for the notebooks (helpers.config.use_onednn)
    args = parse_args(argv)
    report = run(args)
    problems = validate_report(report)
    j, m = write(report, args.out)
    print()
    print(m.read_text(encoding="utf-8"))
    print(f"wrote {j.relative_to(ROOT) if j.is_relative_to(ROOT) else j} and {m.name}")
    if not (args.quick or args.no_runtimes):
        from benchmarks.runtimes import write_runtimes

        r = write_runtimes(report, args.runtimes)
        print(f"wrote {r.relative_to(ROOT) if r.is_relative_to(ROOT) else r}")
    for p in problems:
        print(f"report problem: {p}", file=sys.stderr)
    return 1 if (report["errors"] or problems) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Execute notebooks with papermill, read their glued results, feed the book cache.

Used by ``make validate`` (:mod:`tools.validate`), the smoke tests and the
benchmarks, so that every notebook is executed the same way everywhere.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BOOK_CACHE = ROOT / "_build" / ".jupyter_cache"


@dataclass
class Execution:
    """What one notebook execution produced."""

    notebook: str
    profile: str
    wall_s: float
    peak_rss_mb: float
    ok: bool
    output: str
    error: str = ""
    glue: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain dict for JSON reports."""
        return asdict(self)


def notebook_paths(root: Path = NOTEBOOKS, only: list[str] | None = None) -> list[Path]:
    """The course notebooks ``NN_name.ipynb`` in order, optionally filtered by prefix/name."""
    paths = sorted(p for p in root.glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.stem.startswith(o) or p.name == o for o in only)]
    return paths


def read_glue(path: Path | dict) -> dict:
    """Glued values of an executed notebook, as Python objects where possible."""
    nb = path if isinstance(path, dict) else json.loads(Path(path).read_text(encoding="utf-8"))
    values: dict = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            meta = out.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            data = out.get("data", {})
            text = data.get(meta.get("mime_prefix", "") + "text/plain", data.get("text/plain", ""))
            text = "".join(text) if isinstance(text, list) else text
            try:
                values[meta["name"]] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                values[meta["name"]] = text.strip("'\"")
    return values


def _peak_rss(pid: int, stop: threading.Event, result: list[float]) -> None:
    """Poll the resident memory of a process tree until ``stop`` is set."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a requirement
        return
    try:
        proc = psutil.Process(pid)
    except psutil.Error:
        return
    peak = 0.0
    while not stop.is_set():
        try:
            procs = [proc, *proc.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in procs if p.is_running())
            peak = max(peak, rss)
        except psutil.Error:
            pass
        stop.wait(0.5)
    result.append(peak / 2**20)


def papermill_parameters(profile: str, inject: bool, parameters: dict | None = None) -> list[str]:
    """The papermill arguments that set ``PROFILE`` (when ``inject``) and ``parameters``.

    One ``-y`` YAML mapping, so every value arrives with its type: the string
    ``"vgg16-random"``, the boolean ``True``, ``None``, numbers.
    """
    import yaml

    values = {"PROFILE": profile} if inject else {}
    values.update(parameters or {})
    return ["-y", yaml.safe_dump(values, default_flow_style=True, width=10_000).strip()] if values else []


def execute(path: Path, profile: str, out_dir: Path, inject: bool = True,
            timeout: float | None = None, env: dict | None = None,
            parameters: dict | None = None) -> Execution:
    """Execute ``path`` with papermill in a subprocess and return an :class:`Execution`.

    The subprocess is :mod:`tools.run_notebook` (papermill, with the kernel stopped
    at once after the last cell).

    ``inject=True`` passes ``PROFILE`` as a papermill parameter; ``inject=False``
    sets ``TLBOOK_PROFILE`` instead and leaves the code cells untouched (so the
    executed notebook can seed the Jupyter Book cache). ``parameters`` are
    further notebook parameters (``{"BACKBONE": "vgg16-random"}``), passed as
    YAML so that they keep their types; they are injected even when ``inject``
    is False.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / path.name
    cmd = [sys.executable, "-m", "tools.run_notebook", str(path.resolve()), str(output.resolve()),
           "--cwd", str(path.resolve().parent), "--kernel", "python3"]
    cmd += papermill_parameters(profile, inject, parameters)
    run_env = {**os.environ, "TLBOOK_PROFILE": profile, "TF_CPP_MIN_LOG_LEVEL": "3",
               "PYTHONWARNINGS": "ignore", **(env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=run_env,
                            cwd=ROOT)
    stop, peak = threading.Event(), []
    watcher = threading.Thread(target=_peak_rss, args=(proc.pid, stop, peak), daemon=True)
    watcher.start()
    try:
        log, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        log, _ = proc.communicate()
        log += f"\nTIMEOUT after {timeout} s"
    wall = time.perf_counter() - start
    stop.set()
    watcher.join(2)
    ok = proc.returncode == 0
    error = "" if ok else _summarise_error(log)
    glue = read_glue(output) if output.exists() else {}
    return Execution(path.stem, profile, round(wall, 1), round(peak[0] if peak else 0.0, 1), ok,
                     str(output), error, glue)


def smoke_workers() -> int:
    """How many smoke notebooks run at once: ``TLBOOK_SMOKE_WORKERS``, else one per usable core, at most 4.

    A smoke notebook spends most of its time single-threaded (kernel start, imports,
    tracing tiny models), so two at a time on 2 cores roughly halve the wall time.
    """
    value = os.environ.get("TLBOOK_SMOKE_WORKERS", "")
    if value:
        try:
            workers = int(value)
        except ValueError:
            raise ValueError(f"TLBOOK_SMOKE_WORKERS={value!r} is not a whole number; set it to 1, 2, ... "
                             "(1 runs the smoke notebooks one after another)") from None
        if workers < 1:
            raise ValueError(f"TLBOOK_SMOKE_WORKERS={value!r} must be at least 1")
        return workers
    return max(1, min(4, usable_cores()))


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def thread_env(workers: int, cores: int | None = None) -> dict[str, str]:
    """TensorFlow's thread counts for ``workers`` kernels that share ``cores`` cores.

    Left alone, each kernel's TensorFlow sizes its thread pools for every core, so
    two kernels on 2 cores run twice as many busy threads as there are cores. With
    one worker nothing is set, and a variable already set in the environment is kept.
    """
    if workers <= 1:
        return {}
    cores = cores or usable_cores()
    values = {"TF_NUM_INTRAOP_THREADS": str(max(1, cores // workers)), "TF_NUM_INTEROP_THREADS": "1"}
    return {k: v for k, v in values.items() if k not in os.environ}


def execute_many(paths: list[Path], profile: str, out_dir: Path, workers: int, **kwargs) -> tuple[list[Execution], float]:
    """Execute ``paths`` ``workers`` at a time (each in its own papermill process, see :func:`execute`).

    Each notebook writes to ``out_dir/<stem>/``. Returns the executions in the
    order of ``paths`` and the wall time of the whole batch. Every notebook is
    run even when another fails; a crash of the runner itself becomes a failed
    :class:`Execution` that names the notebook. With more than one worker each
    kernel gets its share of the cores (:func:`thread_env`).
    """
    from concurrent.futures import ThreadPoolExecutor

    kwargs["env"] = {**thread_env(workers), **(kwargs.get("env") or {})}

    def one(path: Path) -> Execution:
        try:
            return execute(path, profile, out_dir / path.stem, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported per notebook, the others still run
            return Execution(path.stem, profile, 0.0, 0.0, False, "", f"{type(exc).__name__}: {exc}")

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(one, paths))
    return results, round(time.perf_counter() - start, 1)


def _summarise_error(log: str) -> str:
    lines = [ln for ln in log.splitlines() if ln.strip() and not ln.startswith(("I0000", "W0000"))]
    return "\n".join(lines[-25:])


def cache_for_book(source: Path, executed: Path, cache_path: Path = BOOK_CACHE,
                   seconds: float | None = None) -> None:
    """Put the outputs of ``executed`` into the Jupyter Book cache for ``source``.

    The cached notebook is ``source`` itself with the executed outputs merged in
    cell by cell, so its hash matches what the book build computes and the
    book renders these outputs instead of executing the notebook again.
    """
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    src = nbformat.read(source, as_version=4)
    done = nbformat.read(executed, as_version=4)
    done_cells = [c for c in done.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    if len(done_cells) != len(src.cells):
        raise ValueError(f"{executed} does not match {source} cell for cell")
    count = 0
    for cell, ran in zip(src.cells, done_cells, strict=True):
        if cell.cell_type == "code":
            count += 1
            cell.outputs = ran.get("outputs", [])
            cell.execution_count = count
    cache = get_cache(str(cache_path))
    data = {"execution_seconds": seconds} if seconds is not None else {}
    cache.cache_notebook_bundle(CacheBundleIn(src, str(source.resolve()), data=data),
                                check_validity=False, overwrite=True)

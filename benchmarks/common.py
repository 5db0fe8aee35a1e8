"""Shared benchmark plumbing: median-of-N results, child processes with their own peak memory, machine info.

Every measurement that reports memory runs in a fresh child process. Its peak resident set size is the
child's own ``VmHWM`` (``/proc/self/status``: the high-water mark of its address space, fresh after
``exec``), and the peak of the summed RSS of its whole process tree (worker processes included) sampled
every 20 ms with psutil. ``ru_maxrss`` is not used: Linux carries it over from the parent across
fork+exec, so a child would inherit the parent's peak.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.peers.harness_measure import self_peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
"""The project root (parent of ``benchmarks/``): child processes run from here."""

BENCH_DATA = ROOT / "data" / "bench"
"""Cache of generated demo mirrors and peer data trees (``data/`` is git-ignored)."""

LIBRARIES = (
    "torch",
    "numpy",
    "mne",
    "pyedflib",
    "zarr",
    "numcodecs",
    "pytorch-lightning",
    "captum",
    "scikit-learn",
)


def median_of(results: Sequence[dict[str, Any]], key: str = "seconds") -> dict[str, Any]:
    """The result (one of ``results``) whose ``key`` is the median, with every run's value under ``runs``."""
    ordered = sorted(results, key=lambda r: r[key])
    best = dict(ordered[(len(ordered) - 1) // 2])
    best["runs"] = [r[key] for r in results]
    return best


@dataclass
class ChildResult:
    """Outcome of one child process: the JSON it printed last, wall time (s), peak RSS (MB)."""

    data: dict[str, Any]
    wall_seconds: float
    peak_rss_mb: float
    stderr_tail: str = field(default="", repr=False)


class ChildError(RuntimeError):
    """A benchmark child process failed; the message carries its command and stderr tail."""


class TreeSampler(threading.Thread):
    """Samples the summed RSS (MB) of a process and all its descendants until stopped (needs psutil)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_mb = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop_event.wait(self.interval)

    def stop(self) -> float:
        """Stop sampling; returns the peak (MB)."""
        self._stop_event.set()
        self.join(timeout=1.0)
        return self.peak_mb


def run_child(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> ChildResult:
    """Run ``cmd``, parse the last JSON stdout line, and measure its peak memory.

    ``peak_rss_mb`` is the larger of the child's own ``VmHWM`` (reported by :func:`emit`) and the sampled
    peak of its process tree's summed RSS (``data["tree_peak_rss_mb"]``).
    """
    full_env = {**os.environ, **(env or {})}
    errf = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_child_{os.getpid()}_{time.monotonic_ns()}.err"
    t0 = time.perf_counter()
    with open(errf, "w+") as err:
        proc = subprocess.Popen(
            list(cmd), stdout=subprocess.PIPE, stderr=err, cwd=str(cwd or ROOT), env=full_env, text=True
        )
        sampler = TreeSampler(proc.pid)
        sampler.start()
        try:
            stdout, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, _ = proc.communicate()
        finally:
            sampler.stop()
        wall = time.perf_counter() - t0
        err.seek(0)
        tail = err.read()[-4000:]
    errf.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise ChildError(f"{' '.join(map(str, cmd[:4]))} ... exited {proc.returncode}:\n{tail}")
    lines = [ln for ln in stdout.strip().splitlines() if ln.startswith("{")]
    if not lines:
        raise ChildError(
            f"{' '.join(map(str, cmd[:4]))} ... printed no JSON result:\n{stdout[-2000:]}\n{tail}"
        )
    data = json.loads(lines[-1])
    data["tree_peak_rss_mb"] = sampler.peak_mb
    peak = max(float(data.get("self_peak_rss_mb", 0.0)), sampler.peak_mb)
    return ChildResult(data=data, wall_seconds=wall, peak_rss_mb=peak, stderr_tail=tail)


def python_child(module: str, *args: str, python: str | Path | None = None, **kw: Any) -> ChildResult:
    """``run_child`` of ``python -m module args...`` with this interpreter (or ``python``)."""
    return run_child([str(python or sys.executable), "-m", module, *args], **kw)


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (or ``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def library_versions(names: Sequence[str] = LIBRARIES) -> dict[str, str]:
    """Installed distribution versions (``"absent"`` when not installed)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def machine_info() -> dict[str, Any]:
    """Cores, CPU model, memory, OS, Python and library versions: recorded with every result."""
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load = []
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gb": mem_gb,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "libraries": library_versions(),
        "load_average_1_5_15min": load,
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator`` or None when either is missing or the denominator is 0."""
    if numerator is None or denominator in (None, 0):
        return None
    return float(numerator) / float(denominator)


def dir_bytes(path: Path) -> int:
    """Total size of the files under ``path`` (bytes)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def emit(result: dict[str, Any]) -> None:
    """Print a child's result as the last stdout line (JSON), adding its own peak RSS (MB)."""
    result.setdefault("self_peak_rss_mb", self_peak_rss_mb())
    print(json.dumps(result), flush=True)


def run_worker(argv: Sequence[str], workers: dict[str, Callable[[list[str]], dict[str, Any]]]) -> bool:
    """Child-process entry: for ``argv`` = ``--worker KIND ARGS...`` emit ``workers[KIND](ARGS)``.

    Returns False (and runs nothing) when ``argv`` is not a worker call.
    """
    if list(argv[:1]) != ["--worker"]:
        return False
    kind, *rest = argv[1:]
    emit(workers[kind](rest))
    return True


def print_run(prefix: str, run: Callable[[Path], dict[str, Any]]) -> None:
    """``run(tmp)`` in a fresh temporary folder (removed afterwards); print its result as indented JSON."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        res = run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(res, indent=2))


def bench_main(
    argv: Sequence[str] | None,
    doc: str,
    prefix: str,
    workers: dict[str, Callable[[list[str]], dict[str, Any]]],
    run: Callable[..., dict[str, Any]],
    options: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    """A benchmark module's command line (``doc``: its docstring). ``--worker KIND ARGS`` runs a child's
    measurement (:func:`run_worker`); otherwise the switches ``options`` (flag: (help, the keyword
    arguments of ``run`` it sets)) are parsed and ``run(tmp, **set)`` is printed (:func:`print_run`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if run_worker(argv, workers):
        return
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    for flag, (help_text, _) in options.items():
        parser.add_argument(flag, action="store_true", dest=flag, help=help_text)
    given = vars(parser.parse_args(argv))
    kwargs = {k: v for flag, (_, sets) in options.items() if given[flag] for k, v in sets.items()}
    print_run(prefix, lambda tmp: run(tmp, **kwargs))


def demo_mirror(subjects: int, hours: float, *, root: Path | None = None, seed: int = 0) -> Path:
    """A generated Sleep-EDF-layout demo mirror (``subjects`` x 2 nights of ``hours`` h), cached.

    ``generate_mirror`` is deterministic and returns an existing mirror with the same parameters untouched,
    so repeated benchmark runs reuse it.
    """
    from physioex.synth import generate_mirror

    base = Path(root) if root is not None else BENCH_DATA
    out = base / f"demo-s{subjects}-h{hours:g}-seed{seed}"
    return generate_mirror(out, subjects=subjects, nights=2, seed=seed, hours=hours)


def sleepedf_night() -> Path | None:
    """The real Sleep-EDF SC4001 folder from ../shared (None when absent)."""
    path = ROOT.parent / "shared" / "data" / "sleep-edf"
    return path if (path / "SHA256SUMS.txt").is_file() else None

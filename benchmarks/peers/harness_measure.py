"""Timing and peak-memory probes shared by our benchmark workers and the peer harnesses.

Standard library only: the harnesses run inside the peers' own venvs (no physioex, no ``benchmarks``
package) and import this file by name from their own folder, so both sides measure the same way.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def median_time(fn: Callable[[], Any], repeats: int = 3, warmup: int = 0) -> dict[str, Any]:
    """Run ``fn`` ``warmup`` + ``repeats`` times; median wall time (s) of the timed runs and all of them."""
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return {"seconds": statistics.median(runs), "runs": runs}


def step_time(step: Callable[[], Any], repeats: int, steps: int) -> dict[str, Any]:
    """One warm-up ``step``, then ``repeats`` timings of ``steps`` steps: median and all runs, s per step."""
    step()

    def steps_in_a_row() -> None:
        for _ in range(steps):
            step()

    runs = [seconds / steps for seconds in median_time(steps_in_a_row, repeats)["runs"]]
    return {"seconds_per_step": statistics.median(runs), "runs": runs}


def self_peak_rss_mb() -> float:
    """Peak RSS of the calling process since its ``exec`` (MB): ``VmHWM`` from /proc/self/status."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource  # not Linux: ru_maxrss (KiB on Linux, bytes on macOS)

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

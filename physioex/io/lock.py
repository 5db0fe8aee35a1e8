"""One writer per output: an advisory lock file beside the output naming its holder (pid, host, time).

The lock is a kernel ``flock`` on ``.<name>.lock`` next to the output, so it dies with its holder:
a lock file left by a killed run is stale by construction and the next run simply takes it over.
The file's content (holder pid, host, start time, command) is only there to name the holder in the
message a second, concurrent run gets.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from physioex.errors import RunError


class OutputLockedError(RunError):
    """Another run is writing the same output; the message names it."""


def lock_path(output: str | Path) -> Path:
    """Where the lock of ``output`` lives: a hidden sibling, outside the output (so DVC never hashes it)."""
    output = Path(output)
    return output.with_name(f".{output.name}.lock")


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "another physioex run"
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started", 0)))
    who = f"pid {info.get('pid', '?')} on {info.get('host', '?')}"
    return f"{who} (since {started}: {info.get('command', '?')})"


@contextmanager
def output_lock(output: str | Path, *, wait: float = 0.0) -> Iterator[Path]:
    """Hold the lock of ``output`` for the duration of the block.

    ``wait`` seconds to wait for another holder (0: fail at once). Raises ``OutputLockedError`` naming
    the holder when the lock cannot be had.
    """
    path = lock_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise OutputLockedError(
                    f"{output} is being written by {_holder(path)}; wait for it to finish, or stop it "
                    f"(its lock is {path})"
                ) from None
            time.sleep(0.2)
            continue
        # The previous holder may have unlinked the file between our open and our flock: retry on a new one.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[:300],
        }
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        yield path
    finally:
        with suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)

"""Create the pinned peer virtual environments on demand under ``benchmarks/.venvs/``.

Peers are never project dependencies: each lives in its own venv next to the same
``torch==2.13.0`` CPU wheel the project uses, so every timing compares code, not torch builds.
Run ``python -m benchmarks.peers.venvs [physioex|braindecode|all]`` to create them ahead of time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

VENV_ROOT = Path(__file__).resolve().parents[1] / ".venvs"
TORCH_PIN = "torch==2.13.0"

#: peer name -> pinned pip requirements installed into its venv.
PEERS: dict[str, list[str]] = {
    "physioex": ["physioex==2.0.4", TORCH_PIN],
    "braindecode": ["braindecode==1.8.1", TORCH_PIN],
}


def venv_python(peer: str) -> Path:
    """Path of the Python interpreter of a peer's venv (may not exist yet)."""
    return VENV_ROOT / peer / "bin" / "python"


def disable_torchaudio_libs(peer: str) -> list[Path]:
    """Rename torchaudio's compiled extension libraries in a peer venv so ``import torchaudio`` works.

    PyPI's torchaudio built for another torch release fails to load its ``.so`` files beside the
    local CPU ``torch==2.13.0`` (``OSError: Could not load this library``). torchaudio treats missing
    libraries as "extension not built" (``_load_lib`` returns False, its pex fallback), so renaming
    them leaves the pure-Python parts importable; braindecode imports torchaudio at module load but
    the Chambon2018 model and the windowing never call its compiled ops.
    """
    renamed = []
    for lib_dir in (VENV_ROOT / peer).glob("lib/python*/site-packages/torchaudio/lib"):
        for so in lib_dir.glob("*.so"):
            target = so.with_name(so.name + ".disabled")
            so.rename(target)
            renamed.append(target)
    return renamed


def _marker(peer: str) -> Path:
    return VENV_ROOT / peer / ".installed"


def is_ready(peer: str) -> bool:
    """True when the peer's venv was fully installed (marker written after pip succeeded)."""
    return venv_python(peer).exists() and _marker(peer).exists()


def ensure_venv(peer: str, *, log: Path | None = None) -> Path:
    """Create (once) the venv for ``peer`` with its pinned requirements; return its python.

    Idempotent: an install that failed half-way is retried, a finished one is reused.
    """
    if peer not in PEERS:
        raise ValueError(f"unknown peer {peer!r}; choose from {sorted(PEERS)}")
    py = venv_python(peer)
    if is_ready(peer):
        return py
    if not py.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV_ROOT / peer)
    with open(log or os.devnull, "a") as out:
        subprocess.run(
            [str(py), "-m", "pip", "install", "--quiet", *PEERS[peer]],
            check=True,
            stdout=out if log else sys.stderr,
            stderr=subprocess.STDOUT,
        )
    if peer == "braindecode":
        disable_torchaudio_libs(peer)
    _marker(peer).write_text(" ".join(PEERS[peer]) + "\n")
    return py


def main(argv: list[str] | None = None) -> int:
    """Command line: create the named peer venvs (default: all)."""
    names = (argv if argv is not None else sys.argv[1:]) or ["all"]
    peers = sorted(PEERS) if names == ["all"] else names
    for peer in peers:
        print(f"{peer}: {ensure_venv(peer)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

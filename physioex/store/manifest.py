"""Chunk manifest of a recording: which chunk files were written, and their sizes in bytes.

Zarr returns the fill value for a chunk that is not there, so a deleted signal chunk would read as
zeros and a deleted labels chunk as all-Wake. ``physioex preprocess`` therefore records, in the
staged recording's attributes, every chunk it actually wrote (zarr skips all-fill chunks)::

    attrs["manifest"] = {"version": 1,
                         "arrays": {"labels": {"c/0": 1234},
                                    "signals/EEG_Fpz-Cz": {"c/0/0": 456789, "c/1/0": 398765}}}

and the reader compares it with one listing of the recording before the first read
(``check_recording``). Stores written before manifests existed are checked against the full chunk
grid of each array instead (see docs/store-format.md).
"""

from __future__ import annotations

import json
import os
from itertools import product
from pathlib import Path
from typing import Any

from physioex.io.atomic import write_text_atomic

MANIFEST_KEY = "manifest"
MANIFEST_VERSION = 1


def local_files(folder: Path) -> dict[str, int]:
    """Relative posix path -> size of every file under ``folder``."""
    out: dict[str, int] = {}
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            p = Path(dirpath) / name
            out[p.relative_to(folder).as_posix()] = p.stat().st_size
    return out


def manifest_of_files(files: dict[str, int], arrays: list[str]) -> dict[str, Any]:
    """Manifest of ``arrays`` (paths relative to the recording group) from the group's file listing."""
    out: dict[str, dict[str, int]] = {}
    for array in sorted(arrays):
        prefix = f"{array}/c/"
        out[array] = {k[len(array) + 1 :]: size for k, size in sorted(files.items()) if k.startswith(prefix)}
    return {"version": MANIFEST_VERSION, "arrays": out}


def record_manifest(group: str | Path) -> dict[str, Any]:
    """Write the manifest of the (staged, local) recording group at ``group`` into its attributes.

    Called by ``physioex.store.writer.write_recording`` after all arrays are written and before the
    group is renamed into place, so the manifest describes exactly the files that are published.
    """
    group = Path(group)
    files = local_files(group)
    arrays = []
    for path in files:
        if path.endswith("/zarr.json") and json.loads((group / path).read_text()).get("node_type") == "array":
            arrays.append(path[: -len("/zarr.json")])
    manifest = manifest_of_files(files, arrays)
    meta_path = group / "zarr.json"
    meta = json.loads(meta_path.read_text())
    meta.setdefault("attributes", {})[MANIFEST_KEY] = manifest
    write_text_atomic(meta_path, json.dumps(meta, indent=2))
    return manifest


def expected_grid(meta: dict[str, Any]) -> list[str]:
    """Every chunk key of a Zarr v3 array's full regular chunk grid (``c/0/0``, ...), from its metadata.

    Used for stores without a manifest; an all-fill chunk that zarr skipped also counts as expected.
    """
    shape = meta["shape"]
    chunks = meta["chunk_grid"]["configuration"]["chunk_shape"]
    sep = meta.get("chunk_key_encoding", {}).get("configuration", {}).get("separator", "/")
    counts = [max(1, -(-int(s) // int(c))) if s else 0 for s, c in zip(shape, chunks, strict=True)]
    if 0 in counts:
        return []
    return ["c" + sep + sep.join(str(i) for i in idx) for idx in product(*(range(n) for n in counts))]


def compare(
    manifest_arrays: dict[str, dict[str, int | None]], files: dict[str, int]
) -> list[tuple[str, str | None, str]]:
    """Problems ``(array, chunk key or None, what)`` of a recording's listing against what it should hold.

    ``files`` maps paths relative to the recording group to sizes; a size of ``None`` in the manifest
    (the chunk-grid fallback) only checks presence.
    """
    problems: list[tuple[str, str | None, str]] = []
    for array, chunks in sorted(manifest_arrays.items()):
        if f"{array}/zarr.json" not in files:
            problems.append((array, None, "its zarr.json is missing"))
            continue
        for key, size in sorted(chunks.items()):
            got = files.get(f"{array}/{key}")
            if got is None:
                want = f" ({size} bytes when written)" if size is not None else ""
                problems.append((array, key, f"chunk file is missing{want}"))
            elif size is not None and got != size:
                problems.append((array, key, f"chunk file has {got} bytes, {size} when written (truncated?)"))
    return problems

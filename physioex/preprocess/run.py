"""``physioex preprocess``: raw recordings -> Zarr epoch store, in parallel, atomic per recording.

``preprocess(dataset, ...)`` finds the recordings of a downloaded dataset; ``preprocess_recordings``
does the work for any list of ``Recording``s. Unchanged recordings (same source sha256 and params)
are skipped, a failing recording is reported with file and reason while the others are stored, and
the root index/folds are rewritten last so readers only ever see complete recordings.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import sys
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from physioex import EPOCH_SECONDS, STAGES, __version__
from physioex.preprocess.errors import PreprocessError
from physioex.preprocess.params import PreprocessParams
from physioex.sources.base import Recording
from physioex.store import layout, writer
from physioex.store.folds import default_n_folds, make_folds, sort_subjects


@dataclass
class PreprocessReport:
    """Outcome of one run: which recordings were written, skipped (unchanged) or failed, and why."""

    store: Path
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Recording id -> ``"<file>: <reason>"``."""
    n_folds: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        lines = [
            f"store {self.store}: {len(self.written)} written, {len(self.skipped)} unchanged (skipped), "
            f"{len(self.failed)} failed, {self.n_folds} folds"
        ]
        lines += [f"  FAILED {rec}: {msg}" for rec, msg in sorted(self.failed.items())]
        return "\n".join(lines)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _quiet_numcodecs_warning() -> None:
    warnings.filterwarnings("ignore", message="Numcodecs codecs are not in the Zarr version 3 specification")


def _work(
    rec: Recording, raw: Path, out: Path, params: PreprocessParams, sha: dict[str, str]
) -> dict[str, Any]:
    """Worker entry (top-level so it pickles): returns the index entry or raises PreprocessError."""
    from physioex.preprocess.recording import process_recording

    _quiet_numcodecs_warning()
    return process_recording(rec, raw, out, params, sha)


def _source_sha(rec: Recording, raw: Path, listing: dict[str, str] | None) -> dict[str, str]:
    out = {}
    for role, rel in rec.files.items():
        if listing is not None and rel in listing:
            out[role] = listing[rel]
        elif (raw / rel).is_file():
            out[role] = sha256_file(raw / rel)
        else:
            out[role] = ""
    return out


def _unchanged(existing: dict[str, Any] | None, rec: Recording, sha: dict[str, str], phash: str) -> bool:
    if not existing or existing.get("params_hash") != phash:
        return False
    stored = {role: f.get("sha256") for role, f in existing.get("files", {}).items()}
    return stored == sha and all(sha.values())


def preprocess_recordings(
    recordings: Sequence[Recording],
    raw: str | Path,
    out: str | Path,
    *,
    dataset: str,
    params: PreprocessParams | None = None,
    listing: dict[str, str] | None = None,
    jobs: int = 1,
    folds: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> PreprocessReport:
    """Preprocess ``recordings`` (files relative to ``raw``) into the store ``out``.

    ``listing`` (relative path -> sha256, from the verified download) avoids re-hashing sources.
    ``folds``: number of subject-wise folds (None = preset for ``dataset``); ``seed`` seeds them.
    """
    from tqdm.auto import tqdm

    _quiet_numcodecs_warning()
    params = params or PreprocessParams()
    raw, out = Path(raw), Path(out)
    formats = sorted({r.format for r in recordings}) or ["sleepedf"]
    if len(formats) > 1:
        raise ValueError(f"one store holds one source format; got {formats}")
    fmt = formats[0]
    channels = params.resolved_channels(fmt)
    phash = params.hash(fmt)
    ids = [r.id for r in recordings]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate recording ids")

    n_requested = len({r.subject for r in recordings})
    if folds is not None and recordings and not 2 <= folds <= n_requested:
        raise ValueError(f"--folds {folds}: need 2 <= folds <= the number of subjects ({n_requested})")
    writer.init_store(out, dataset)
    writer.clear_staging(out)
    report = PreprocessReport(store=out)
    index: dict[str, dict[str, Any]] = {}
    todo: list[tuple[Recording, dict[str, str]]] = []
    for rec in recordings:
        sha = _source_sha(rec, raw, listing)
        existing = writer.existing_recording_attrs(out, rec.id)
        if _unchanged(existing, rec, sha, phash):
            assert existing is not None
            index[rec.id] = {k: existing[k] for k in ("subject", "night", "n_epochs")}
            report.skipped.append(rec.id)
        else:
            todo.append((rec, sha))

    bar = tqdm(
        total=len(recordings),
        initial=len(report.skipped),
        desc="preprocess",
        unit="rec",
        disable=not progress,
    )

    def done(rec: Recording, entry: dict[str, Any] | None, error: BaseException | None) -> None:
        if error is None and entry is not None:
            index[rec.id] = entry
            report.written.append(rec.id)
        else:
            if isinstance(error, PreprocessError):
                report.failed[rec.id] = str(error)
            else:  # unexpected: still name the source files and the exception type
                files = ", ".join(sorted(rec.files.values()))
                report.failed[rec.id] = f"{files}: {type(error).__name__}: {error}"
            writer.remove_recording(out, rec.id)  # never keep a version built with other params/sources
        bar.update(1)

    if jobs <= 1 or len(todo) <= 1:
        for rec, sha in todo:
            try:
                done(rec, _work(rec, raw, out, params, sha), None)
            except Exception as exc:  # one bad recording must not stop the others
                done(rec, None, exc)
    else:
        # fork on Linux: workers start without re-importing numpy/zarr/pyedflib (zarr resets its event
        # loop after fork); spawn elsewhere, where fork is unsafe.
        context = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(_work, rec, raw, out, params, sha): rec for rec, sha in todo}
            for fut in as_completed(futures):
                rec = futures[fut]
                try:
                    done(rec, fut.result(), None)
                except Exception as exc:
                    done(rec, None, exc)
    bar.close()

    for stale in set(writer.stored_recordings(out)) - set(index):
        writer.remove_recording(out, stale)
    subjects = sort_subjects(v["subject"] for v in index.values())
    k = folds if folds is not None else default_n_folds(dataset, len(subjects))
    k = min(k, len(subjects)) if len(subjects) >= 3 else 0  # failed recordings may have removed subjects
    fold_list = make_folds(subjects, k, seed) if k >= 2 else []
    report.n_folds = len(fold_list)
    writer.write_folds_csv(out, fold_list)
    writer.write_root_attrs(
        out,
        {
            "dataset": dataset,
            "physioex_version": __version__,
            "source_format": fmt,
            "channels": channels,
            "channel_keys": [layout.channel_key(c) for c in channels],
            "sampling_rate": params.sampling_rate,
            "samples_per_epoch": int(round(params.sampling_rate * EPOCH_SECONDS)),
            "epoch_seconds": EPOCH_SECONDS,
            "stages": list(STAGES),
            "label_codes": {**{s: i for i, s in enumerate(STAGES)}, "unscored": -1, "movement": -2},
            "preprocessing": params.to_dict(),
            "params_hash": phash,
            "folds": [f.to_dict() for f in fold_list],
            "fold_seed": seed,
            "recordings": dict(sorted(index.items())),
            "failed": dict(sorted(report.failed.items())),
        },
    )
    writer.clear_staging(out)
    report.written.sort()
    report.skipped.sort()
    return report


def preprocess(
    dataset: str,
    *,
    raw: str | Path | None = None,
    out: str | Path | None = None,
    channels: Sequence[str] | None = None,
    jobs: int = 1,
    subjects: list[int] | None = None,
    folds: int | None = None,
    seed: int = 0,
    progress: bool = True,
    **options: Any,
) -> PreprocessReport:
    """Preprocess the downloaded ``dataset`` (default folders from ``physioex.paths``).

    ``options`` are further ``PreprocessParams`` fields (sampling_rate, crop, crop_minutes, bandpass,
    allow_upsampling, chunk_epochs, compression).
    """
    from physioex.download.listing import parse_listing
    from physioex.paths import raw_dir, store_path
    from physioex.sources import get_source

    raw = Path(raw) if raw is not None else raw_dir(dataset)
    out = Path(out) if out is not None else store_path(dataset)
    listing_file = raw / "SHA256SUMS.txt"
    if not listing_file.is_file():
        raise FileNotFoundError(
            f"{listing_file} not found: run `physioex download {dataset}` first (or pass --raw)"
        )
    listing = parse_listing(listing_file.read_text())
    recordings = get_source(dataset).recordings(listing, subjects)
    if not recordings:
        raise ValueError(f"no recordings of {dataset} found in {listing_file}")
    params = PreprocessParams(channels=tuple(channels) if channels else None, **options)
    return preprocess_recordings(
        recordings,
        raw,
        out,
        dataset=dataset,
        params=params,
        listing=listing,
        jobs=jobs,
        folds=folds,
        seed=seed,
        progress=progress,
    )

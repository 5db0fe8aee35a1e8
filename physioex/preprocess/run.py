"""``physioex preprocess``: raw recordings -> Zarr epoch store, in parallel, atomic per recording.

``preprocess(dataset, ...)`` finds the recordings of a downloaded dataset; ``preprocess_recordings``
does the work for any list of ``Recording``s. Every parameter is checked before any work, and the
whole run holds the store's output lock. Two ways to write, so a store always has one set of
parameters and complete data never disappears unless the user asks (``prune``):

- **update** (new store, or the stored recordings were made with these parameters): unchanged
  recordings (same source sha256 and params) are skipped, the others rewritten one by one, each
  swapped in only when complete; a recording whose re-processing fails keeps its previous version.
  Recordings outside this run's selection stay, indexed (``prune`` removes them).
- **rebuild** (the parameters differ from the stored ones): a whole new store is built beside the
  old one and swapped in at the end. If the run is interrupted, or any recording fails and ``prune``
  is not set, the old store stays exactly as it was.

The root index and folds are written last, so readers only ever see complete recordings.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import os
import signal
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from physioex.errors import InputError
from physioex.io.atomic import atomic_dir
from physioex.io.hashing import sha256_file
from physioex.io.lock import output_lock
from physioex.io.outputs import refuse_overwriting_inputs
from physioex.preprocess.errors import PreprocessError
from physioex.preprocess.params import PreprocessParams
from physioex.sources.base import Recording, recording_id_problem
from physioex.store import writer
from physioex.store.folds import FoldError, store_folds
from physioex.store.schema import RootAttrs, index_entry


@dataclass
class PreprocessReport:
    """Outcome of one run: which recordings were written, skipped (unchanged), failed, kept or pruned."""

    store: Path
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Recording id -> ``"<file>: <reason>"``."""
    kept: list[str] = field(default_factory=list)
    """Failed recordings whose previous complete version stays in the store (and in its index)."""
    others: list[str] = field(default_factory=list)
    """Stored recordings outside this run's selection, kept and indexed (no ``prune``)."""
    pruned: list[str] = field(default_factory=list)
    """Recordings removed because ``prune`` was set (outside the selection, or failed in a rebuild)."""
    rebuilt: bool = False
    """The parameters changed: the store was (or would have been) rebuilt beside the old one."""
    unchanged: bool = False
    """A rebuild was abandoned because recordings failed: the store is exactly as before the run."""
    n_folds: int = 0
    no_folds: str | None = None
    """Why the store was written without folds (the stored subjects leave a fold without a test subject)."""

    @property
    def ok(self) -> bool:
        return not self.failed and self.no_folds is None

    def summary(self) -> str:
        """Multi-line human report (the CLI prints it on stdout)."""
        head = f"store {self.store}: "
        if self.unchanged:
            head += f"left unchanged: {len(self.failed)} recordings failed with the new parameters"
        else:
            head += (
                f"{len(self.written)} written, {len(self.skipped)} unchanged (skipped), "
                f"{len(self.failed)} failed, {self.n_folds} folds"
            )
            if self.rebuilt:
                head += " (rebuilt with new parameters)"
        lines = [head]
        for rec, msg in sorted(self.failed.items()):
            note = " (previous version kept)" if rec in self.kept else ""
            lines.append(f"  FAILED {rec}: {msg}{note}")
        if self.others:
            lines.append(f"  kept, not in this run's selection: {', '.join(self.others)}")
        lines += [f"  PRUNED {rec}" for rec in self.pruned]
        if self.no_folds is not None:
            lines.append(f"  NO FOLDS: {self.no_folds}")
        return "\n".join(lines)

    def error_line(self) -> str:
        """The one line a failed run ends with (``error: ...`` on stderr)."""
        n = len(self.failed)
        if self.unchanged:
            return (
                f"{self.store}: {n} recording(s) failed with the new parameters (listed above), so the store "
                "was left exactly as it was; fix them, or pass --prune to accept a store without them"
            )
        kept = f"; previous versions kept: {', '.join(self.kept)}" if self.kept else ""
        if not n:
            return f"{self.store}: every recording is stored, but without folds: {self.no_folds}"
        return f"{self.store}: {n} recording(s) failed (listed above), the others are stored{kept}"


_PR_SET_PDEATHSIG = 1


def _worker_init(parent: int) -> None:
    """Pool initializer: on Linux the kernel kills this worker when its parent dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)


def _work(
    rec: Recording, raw: Path, out: Path, params: PreprocessParams, sha: dict[str, str]
) -> dict[str, Any]:
    """Worker entry (top-level so it pickles): returns the index entry or raises PreprocessError."""
    from physioex.preprocess.recording import process_recording

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


def _unchanged(existing: dict[str, Any] | None, sha: dict[str, str], phash: str) -> bool:
    if not existing or existing.get("params_hash") != phash:
        return False
    stored = {role: f.get("sha256") for role, f in existing.get("files", {}).items()}
    return stored == sha and all(sha.values())


def _failure(rec: Recording, error: BaseException) -> str:
    if isinstance(error, PreprocessError):
        return str(error)
    files = ", ".join(sorted(rec.files.values()))  # unexpected: a bug, so its traceback is shown too
    logging.getLogger(__name__).error("%s: unexpected error, please report it:", files, exc_info=error)
    return f"{files}: {type(error).__name__}: {error}"


def _process(
    todo: Sequence[tuple[Recording, dict[str, str]]],
    raw: Path,
    dest: Path,
    params: PreprocessParams,
    jobs: int,
    on_done: Callable[[], None],
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Write ``todo`` into the store ``dest``; returns (index entries, failures) by recording id."""
    entries: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    if jobs <= 1 or len(todo) <= 1:
        for rec, sha in todo:
            try:
                entries[rec.id] = _work(rec, raw, dest, params, sha)
            except Exception as exc:  # one bad recording must not stop the others
                failures[rec.id] = _failure(rec, exc)
            on_done()
        return entries, failures
    # fork on Linux: workers start without re-importing numpy/zarr/pyedflib (zarr resets its event
    # loop after fork); spawn elsewhere, where fork is unsafe. Workers die with this process.
    context = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(todo)),
        mp_context=context,
        initializer=_worker_init,
        initargs=(os.getpid(),),
    )
    try:
        futures = {pool.submit(_work, rec, raw, dest, params, sha): rec for rec, sha in todo}
        for fut in as_completed(futures):
            rec = futures[fut]
            try:
                entries[rec.id] = fut.result()
            except Exception as exc:
                failures[rec.id] = _failure(rec, exc)
            on_done()
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return entries, failures


def _finish(
    dest: Path,
    *,
    dataset: str,
    fmt: str,
    params: PreprocessParams,
    phash: str,
    index: dict[str, dict[str, Any]],
    failed: dict[str, str],
    folds: int | None,
    seed: int,
) -> tuple[int, str | None]:
    """Write ``folds.csv`` and the root attributes (index last); returns the number of folds and, when
    the stored subjects leave some fold without a test subject, why the store has none (the recordings
    are complete and indexed either way, so the store stays consistent)."""
    channels = params.store_channels(fmt)
    try:
        fold_list, no_folds = store_folds((v["subject"] for v in index.values()), folds, dataset, seed), None
    except FoldError as exc:
        fold_list, no_folds = [], str(exc)
    writer.write_folds_csv(dest, fold_list)
    root = RootAttrs(
        dataset=dataset,
        source_format=fmt,
        channels=channels,
        sampling_rate=params.sampling_rate,
        preprocessing=params.to_dict(),
        params_hash=phash,
        recordings=index,
        folds=fold_list,
        fold_seed=seed,
        failed=failed,
    )
    writer.write_root_attrs(dest, root)
    return len(fold_list), no_folds


class _Abandon(Exception):
    """Raised inside the rebuild's ``atomic_dir`` to discard the new version (the old one stays)."""


def _check_inputs(
    recordings: Sequence[Recording],
    raw: Path,
    out: Path,
    params: PreprocessParams,
    jobs: int,
    folds: int | None,
) -> str:
    """Every check that needs no lock; raises ``InputError``; returns the source format."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise InputError(f"--jobs {jobs}: must be at least 1 process")
    params.validate()
    formats = sorted({r.format for r in recordings}) or ["sleepedf"]
    if len(formats) > 1:
        raise InputError(f"one store holds one source format; the recordings have {', '.join(formats)}")
    seen: dict[str, Recording] = {}
    for rec in recordings:
        if rec.id in seen:
            files = sorted({*seen[rec.id].files.values(), *rec.files.values()})
            raise InputError(f"{', '.join(files)}: duplicate recording id {rec.id!r}; rename one of them")
        seen[rec.id] = rec
    if folds is not None:
        n_subjects = len({r.subject for r in recordings})
        if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
            raise InputError(f"--n-folds {folds}: need at least 2 subject-wise folds")
        if recordings and folds > n_subjects:
            raise InputError(f"--n-folds {folds}: more folds than subjects ({n_subjects}) in this selection")
    refuse_overwriting_inputs([raw], [out])
    writer.check_output(out)
    from physioex.preprocess.channels import check_channels_exist

    usable = [r for r in recordings if recording_id_problem(r.id) is None]
    check_channels_exist(usable, raw, params.resolved_channels(formats[0]), params.aliases())
    return formats[0]


@dataclass
class _Run:
    """What the two write modes share."""

    report: PreprocessReport
    raw: Path
    out: Path
    dataset: str
    params: PreprocessParams
    fmt: str
    phash: str
    listing: dict[str, str] | None
    jobs: int
    folds: int | None
    seed: int
    prune: bool
    stored: dict[str, dict[str, Any]]
    """Attributes of the complete recordings on disk before the run."""
    outside: list[str]
    """Stored recordings not in this run's selection."""
    tick: Callable[[int], Any]

    def process(self, todo: Sequence[tuple[Recording, dict[str, str]]], dest: Path) -> tuple[dict, dict]:
        return _process(todo, self.raw, dest, self.params, self.jobs, lambda: self.tick(1))

    def finish(self, dest: Path, index: dict[str, dict[str, Any]]) -> None:
        self.report.n_folds, self.report.no_folds = _finish(
            dest,
            dataset=self.dataset,
            fmt=self.fmt,
            params=self.params,
            phash=self.phash,
            index=index,
            failed=self.report.failed,
            folds=self.folds,
            seed=self.seed,
        )


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
    seed: int | None = None,
    progress: bool = True,
    prune: bool = False,
) -> PreprocessReport:
    """Preprocess ``recordings`` (files relative to ``raw``) into the store ``out``.

    ``listing`` (relative path -> sha256, from the verified download) avoids re-hashing sources.
    ``folds``: number of subject-wise folds (None = preset for ``dataset``); ``seed`` seeds them
    (None = the dataset's ``DatasetSpec.fold_seed``).
    ``prune``: remove stored recordings outside this selection and, when the parameters changed,
    accept the new store without the recordings that failed. Bad parameters raise ``InputError``
    before any work; a busy store raises ``OutputLockedError``; per-recording failures are reported.
    """
    from tqdm.auto import tqdm

    from physioex.sources import default_fold_seed

    params = params or PreprocessParams()
    seed = default_fold_seed(dataset) if seed is None else seed
    raw, out = Path(raw), Path(out)
    fmt = _check_inputs(recordings, raw, out, params, jobs, folds)
    store_folds({r.subject for r in recordings}, folds, dataset, seed)  # an empty fold: before any work
    phash = params.hash(fmt)
    report = PreprocessReport(store=out)
    valid: list[Recording] = []
    for rec in recordings:
        problem = recording_id_problem(rec.id)
        if problem is None:
            valid.append(rec)
        else:
            files = ", ".join(sorted(rec.files.values()))
            report.failed[rec.id] = f"{files}: {problem}; rename the file"
    selected = {r.id for r in valid}

    with output_lock(out):
        writer.clean_leftovers(out)
        root = writer.check_output(out)
        stored = {r: writer.existing_recording_attrs(out, r) or {} for r in writer.stored_recordings(out)}
        complete = root is not None and "recordings" in root
        report.rebuilt = bool(complete and root is not None and root.get("params_hash") != phash) or any(
            a.get("params_hash") != phash for a in stored.values()
        )
        outside = sorted(set(stored) - selected)
        if report.rebuilt and outside and not prune:
            shown = ", ".join(outside[:5]) + (", ..." if len(outside) > 5 else "")
            raise InputError(
                f"--out {out}: the preprocessing parameters changed and the store holds {len(outside)} "
                f"recording(s) this run does not select ({shown}); select them too, or pass --prune to "
                "drop them"
            )
        bar = tqdm(total=len(recordings), desc="preprocess", unit="rec", disable=not progress)
        bar.update(len(report.failed))
        run = _Run(
            report,
            raw,
            out,
            dataset,
            params,
            fmt,
            phash,
            listing,
            jobs,
            folds,
            seed,
            prune,
            stored,
            outside,
            bar.update,
        )
        try:
            (_rebuild if report.rebuilt else _update)(run, valid)
        finally:
            bar.close()
    for names in (report.written, report.skipped, report.kept, report.others, report.pruned):
        names.sort()
    return report


def _update(run: _Run, recordings: Sequence[Recording]) -> None:
    """In place: skip unchanged, rewrite changed; a failure keeps its previous version."""
    report, out = run.report, run.out
    writer.init_store(out, run.dataset)
    index: dict[str, dict[str, Any]] = {}
    todo: list[tuple[Recording, dict[str, str]]] = []
    for rec in recordings:
        sha = _source_sha(rec, run.raw, run.listing)
        if _unchanged(run.stored.get(rec.id), sha, run.phash):
            index[rec.id] = index_entry(run.stored[rec.id])
            report.skipped.append(rec.id)
            run.tick(1)
        else:
            todo.append((rec, sha))
    entries, failures = run.process(todo, out)
    index.update(entries)
    report.written += list(entries)
    report.failed.update(failures)
    for rec in failures:
        if rec in run.stored:  # same parameters (update mode): the previous complete version stays
            index[rec] = index_entry(run.stored[rec])
            report.kept.append(rec)
    if run.prune:
        report.pruned += run.outside
    else:
        for rec_id in run.outside:
            index[rec_id] = index_entry(run.stored[rec_id])
        report.others += run.outside
    run.finish(out, index)
    for rec_id in report.pruned:  # only once the index no longer lists them
        writer.remove_recording(out, rec_id)
    writer.clear_staging(out)


def _rebuild(run: _Run, recordings: Sequence[Recording]) -> None:
    """New parameters: build a complete new store beside ``out`` and swap it in only at the end."""
    report = run.report
    try:
        with atomic_dir(run.out) as build:
            writer.init_store(build, run.dataset)
            todo = [(rec, _source_sha(rec, run.raw, run.listing)) for rec in recordings]
            entries, failures = run.process(todo, build)
            report.failed.update(failures)
            if report.failed and not run.prune:
                raise _Abandon
            report.written += list(entries)
            report.pruned += run.outside + [r for r in report.failed if r in run.stored]
            run.finish(build, entries)
            writer.clear_staging(build)
    except _Abandon:
        report.unchanged = True


def preprocess(
    dataset: str,
    *,
    raw: str | Path | None = None,
    out: str | Path | None = None,
    channels: Sequence[str] | None = None,
    jobs: int = 1,
    subjects: list[int] | None = None,
    folds: int | None = None,
    seed: int | None = None,
    progress: bool = True,
    prune: bool = False,
    **options: Any,
) -> PreprocessReport:
    """Preprocess the downloaded ``dataset`` (default folders from ``physioex.paths``).

    ``options`` are further ``PreprocessParams`` fields (sampling_rate, crop, crop_minutes, bandpass,
    allow_upsampling, chunk_epochs, compression). ``prune``: see ``preprocess_recordings``.
    """
    from physioex.download.listing import LISTING_NAME, parse_listing
    from physioex.paths import raw_dir, store_path
    from physioex.sources import dataset_channels, get_source

    try:
        source = get_source(dataset)
    except ValueError as exc:
        raise InputError(f"DATASET: {exc}") from None
    raw = Path(raw) if raw is not None else raw_dir(dataset)
    out = Path(out) if out is not None else store_path(dataset)
    listing_file = raw / LISTING_NAME
    if not raw.is_dir():
        raise InputError(
            f"--raw {raw}: folder not found; run `physioex download {dataset}` first (or pass --raw)"
        )
    if not listing_file.is_file():
        raise InputError(
            f"--raw {raw}: holds no SHA256SUMS.txt, so it is not a verified download; run "
            f"`physioex download {dataset} --out {raw}` first"
        )
    try:
        listing = parse_listing(listing_file.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{listing_file}: unreadable checksum listing ({exc}); download again") from None
    from physioex.download.local_mirror import LocalMirror

    source.prepare(LocalMirror(raw), downloaded=True)  # a source whose pairing is in a file (a manifest)
    try:
        recordings = source.recordings(listing, subjects)
    except InputError:
        raise  # names its own file (a manifest line)
    except ValueError as exc:
        raise InputError(f"--subjects: {exc}") from None
    if not recordings:
        raise InputError(f"--raw {raw}: no recordings of {dataset} found in {listing_file}")
    channels = channels or dataset_channels(dataset)  # the "edf" format has no shared default
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
        prune=prune,
    )

"""``download(dataset)``: fetch a dataset subset from its mirror into ``raw_dir(dataset)``, verified.

The whole run holds ``output_lock(out)``, so two runs never write one folder at once; under it, leftovers
of killed runs are handled first (temporary files removed, ``.part`` files resumed). Files are fetched in
parallel (bounded thread pool) under one byte progress bar; each failure names the file and the problem and
is collected, so the other files still finish. ``OUT/SHA256SUMS.txt`` is then written atomically and lists
every file present and verified against the mirror's hash: this call's subset plus whatever earlier runs
left (re-hashed; a file that no longer matches is fetched again, never silently kept).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from physioex.download.errors import (
    DownloadError,
    DownloadInputError,
    FetchError,
    TruncatedError,
)
from physioex.download.fetch import MAX_FILE_BYTES, FetchResult, fetch_file, part_path
from physioex.download.listing import (
    LISTING_NAME,
    format_listing,
    hash_folder,
    parse_listing,
    safe_target,
    split_safe,
)
from physioex.download.mirror import Mirror, join_location, local_path, open_mirror
from physioex.errors import PhysioexError
from physioex.io.atomic import TMP_PREFIX, remove_stale_temporaries, write_text_atomic
from physioex.io.lock import output_lock
from physioex.io.outputs import refuse_overwriting_inputs
from physioex.paths import raw_dir
from physioex.sources import DATASETS, Recording, Selection, Source, get_source

__all__ = ["DownloadError", "DownloadInputError", "DownloadReport", "download"]


@dataclass
class DownloadReport:
    """What one ``download`` call did; ``failed`` and ``refused`` hold messages naming the file."""

    dataset: str
    mirror: str
    out: Path
    recordings: list[Recording] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Pairing notes from the source (e.g. a PSG without hypnogram); reported, not fatal."""
    bytes: int = 0
    """Bytes received from the mirror in this call (including transfers that were later cut)."""

    @property
    def ok(self) -> bool:
        """True when every selected file verified and the listing had no refused entries."""
        return not self.failed and not self.refused

    @property
    def verified(self) -> list[str]:
        """Files now present under their final names with the listed hash."""
        return sorted([*self.downloaded, *self.resumed, *self.skipped])

    @property
    def errors(self) -> list[str]:
        return [*self.refused, *(self.failed[k] for k in sorted(self.failed))]

    def summary(self) -> str:
        """One line of counts, e.g. ``demo: 16 files verified (16 downloaded, 0 resumed, 0 skipped) ...``."""
        return (
            f"{self.dataset}: {len(self.recordings)} recording(s), {len(self.verified)} file(s) verified "
            f"({len(self.downloaded)} downloaded, {len(self.resumed)} resumed, {len(self.skipped)} already "
            f"present), {len(self.failed)} failed, {len(self.refused)} refused; "
            f"{self.bytes / 1e6:.1f} MB received into {self.out}"
        )


def download(
    dataset: str,
    *,
    subjects: list[int] | None = None,
    nights: list[int] | None = None,
    mirror: str | Path | None = None,
    out: Path | None = None,
    jobs: int = 4,
    retries: int = 5,
    backoff: float = 0.5,
    timeout: float = 60.0,
    resume_passes: int = 3,
    max_file_bytes: int = MAX_FILE_BYTES,
    progress: bool = True,
    demo_subjects: int = 10,
    demo_nights: int = 2,
    demo_seed: int = 0,
    demo_hours: float = 9.0,
) -> DownloadReport:
    """Fetch the files of ``dataset`` (a name from ``physioex.sources.DATASETS``) into ``out``.

    ``subjects``/``nights`` pick a subset (Sleep-EDF subject ids; 0-based record indices for Dreem).
    ``mirror`` is an http(s)/file URL or folder holding ``SHA256SUMS.txt`` and the original tree
    (default: the source's). Without ``mirror`` the demo datasets are first generated locally
    (``demo_*`` are the generator's subjects, nights per subject, seed and hours per night).
    Requests are retried by urllib3 with exponential ``backoff`` (s); every connect and read waits at most
    ``timeout`` (s); a body of unannounced size is cut after ``max_file_bytes``. A body cut mid-file is
    resumed from its ``.part`` with ``Range`` in up to ``resume_passes`` further passes, and by the next
    call otherwise. Raises ``DownloadInputError`` (exit 2) for bad arguments, ``DownloadError`` (exit 1)
    if nothing can start, ``OutputLockedError`` if another run writes ``out``; per-file problems go into
    the report.
    """
    _check_arguments(dataset, jobs, retries, backoff, timeout, resume_passes, max_file_bytes)
    source = get_source(dataset)
    location = str(mirror) if mirror is not None else source.default_mirror
    if not location:
        message = getattr(source, "missing_mirror_message", lambda: f"{dataset} has no default mirror")()
        raise DownloadInputError(message)
    out = Path(out) if out is not None else raw_dir(dataset)
    _check_out(out)
    local = local_path(location)
    if local is not None:
        refuse_overwriting_inputs([local], [out])  # before the lock: its file sits beside out
    nested = join_location(location, getattr(source, "mirror_subdir", ""))

    def connect() -> Mirror:
        return open_mirror(nested, retries=retries, backoff=backoff, timeout=timeout, pool=max(jobs, 4))

    generate = mirror is None and getattr(source, "generated", False)
    opened = None if generate else connect()  # a bad scheme or missing folder: refused before the lock
    with ExitStack() as stack:
        try:
            stack.enter_context(output_lock(out.resolve()))
        except OSError as exc:
            raise DownloadError(f"cannot create the lock beside --out {out}: {exc.strerror or exc}") from exc
        if opened is None:
            _generate_demo(Path(location), demo_subjects, demo_nights, demo_seed, demo_hours)
            opened = connect()
        return _locked_download(
            dataset, source, opened, out, subjects, nights, jobs, resume_passes, max_file_bytes, progress
        )


def _check_arguments(
    dataset: str, jobs: int, retries: int, backoff: float, timeout: float, resume_passes: int, max_bytes: int
) -> None:
    """Refuse bad arguments before anything is touched, naming the command-line option."""
    if dataset not in DATASETS:
        raise DownloadInputError(f"unknown dataset {dataset!r}; choose one of: {', '.join(DATASETS)}")
    for option, value, low in [
        ("--jobs", jobs, 1),
        ("--retries", retries, 0),
        ("--resume-passes", resume_passes, 0),
        ("--backoff", backoff, 0),
    ]:
        if value < low:
            raise DownloadInputError(f"{option} must be at least {low}, got {value}")
    if not timeout > 0:
        raise DownloadInputError(f"--timeout must be a positive number of seconds, got {timeout}")
    if not max_bytes > 0:
        raise DownloadInputError(f"--max-file-mb must be positive, got {max_bytes / 1e6:g}")


def _check_out(out: Path) -> None:
    """``out`` must be a folder or not exist yet, below a folder (not below a regular file)."""
    if out.exists() and not out.is_dir():
        raise DownloadInputError(f"--out {out} is an existing file, not a folder; choose a folder")
    for parent in out.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise DownloadInputError(f"--out {out}: {parent} is a file, not a folder; choose another")
            break


def _locked_download(
    dataset: str,
    source: Source,
    remote: Mirror,
    out: Path,
    subjects: list[int] | None,
    nights: list[int] | None,
    jobs: int,
    resume_passes: int,
    max_file_bytes: int,
    progress: bool,
) -> DownloadReport:
    """The run itself, while holding ``out``'s lock."""
    listing, unsafe_links = _read_listing(remote, source)
    report = DownloadReport(dataset=dataset, mirror=remote.location, out=out)
    safe, refused = split_safe(out, listing)
    report.refused = [f"{message} in {remote.describe(source.checksum_file)}" for message in refused]
    report.refused += unsafe_links

    source.prepare(remote)  # a source whose pairing is in a file (edf-folder's manifest)
    try:
        selection = _select(source, safe, subjects, nights)
    except PhysioexError:
        raise
    except ValueError as exc:
        raise DownloadInputError(str(exc)) from exc
    report.recordings, report.problems = selection.recordings, selection.problems
    if not selection.recordings and not report.refused:
        raise DownloadInputError(
            f"{dataset}: no recordings of this subset in {remote.describe(source.checksum_file)}"
            + (f" ({'; '.join(selection.problems)})" if selection.problems else "")
        )

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create --out {out}: {exc.strerror or exc}") from exc
    _remove_leftovers(out)
    earlier = _earlier_listing(out, report)
    wanted = [*selection.files, *_left_by_earlier_runs(out, safe, selection.files)]
    for relpath in sorted(set(earlier) - set(wanted)):
        reason = "is no longer in this folder" if relpath in safe else "is not in the mirror's listing"
        report.problems.append(
            f"{out / relpath}: listed by an earlier run but {reason}; dropped from {out / LISTING_NAME}"
        )

    with _ByteBar(dataset, enabled=progress) as bar:
        pending = wanted
        for attempt in range(resume_passes + 1):
            cut = _fetch_all(remote, pending, out, safe, jobs, bar, report, max_file_bytes)
            if not cut or attempt == resume_passes:
                break
            pending = cut  # transfers cut mid-file: resume them from their .part with Range
        report.bytes = bar.received

    verified = {relpath: safe[relpath] for relpath in report.verified}
    write_text_atomic(out / LISTING_NAME, format_listing(verified))
    return report


def _remove_leftovers(out: Path) -> None:
    """Delete temporary files (``TMP_PREFIX*``) of killed runs anywhere in ``out``; only under the lock."""
    for folder, dirs, _ in os.walk(out):  # os.walk does not follow folder symlinks
        dirs[:] = [d for d in dirs if not d.startswith(TMP_PREFIX)]
        remove_stale_temporaries(folder)


def _earlier_listing(out: Path, report: DownloadReport) -> dict[str, str]:
    """The listing an earlier run left in ``out`` (empty if none; a malformed one is noted and rebuilt)."""
    path = out / LISTING_NAME
    if not path.is_file():
        return {}
    try:
        return parse_listing(path.read_text(encoding="utf-8", errors="replace"), source=str(path))
    except ValueError as exc:
        report.problems.append(f"{exc}; rebuilt from the files verified now")
        return {}


def _left_by_earlier_runs(out: Path, listing: dict[str, str], selected: list[str]) -> list[str]:
    """Files of the mirror's listing that earlier runs left in ``out``, complete or as ``.part``.

    They are verified (or resumed) again with the selection, so the new listing keeps them: a file whose
    hash no longer matches the mirror is fetched again.
    """
    chosen = set(selected)
    found = []
    for relpath in sorted(listing):
        if relpath in chosen:
            continue
        target = out / relpath
        if target.is_file() or part_path(target).is_file():
            found.append(relpath)
    return found


class Cancelled(Exception):
    """Raised inside a worker when the run is interrupted; its ``.part`` file stays for resuming."""


class _ByteBar:
    """One thread-safe tqdm bar in bytes whose total grows as responses announce their sizes."""

    def __init__(self, desc: str, *, enabled: bool) -> None:
        self.bar = tqdm(total=0, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, disable=not enabled)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.received = 0

    def grow(self, n: int) -> None:
        with self.lock:
            self.bar.total += n
            self.bar.refresh()

    def advance(self, n: int) -> None:
        if self.stop.is_set():
            raise Cancelled
        with self.lock:
            self.received += n
            self.bar.update(n)

    def __enter__(self) -> _ByteBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


def _fetch_all(
    remote: Mirror,
    relpaths: list[str],
    out: Path,
    listing: dict[str, str],
    jobs: int,
    bar: _ByteBar,
    report: DownloadReport,
    max_bytes: int,
) -> list[str]:
    """Fetch ``relpaths`` with ``jobs`` threads, recording outcomes in ``report``; returns the cut ones."""
    cut: list[str] = []

    def one(relpath: str) -> FetchResult:
        target = safe_target(out, relpath)
        return fetch_file(
            remote,
            relpath,
            target,
            listing[relpath],
            on_size=bar.grow,
            on_bytes=bar.advance,
            max_bytes=max_bytes,
        )

    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="physioex-download")
    try:
        futures = {relpath: pool.submit(one, relpath) for relpath in relpaths}
        for relpath, future in futures.items():
            try:
                result = future.result()
            except TruncatedError as exc:
                report.failed[relpath] = str(exc)
                cut.append(relpath)
            except FetchError as exc:
                report.failed[relpath] = str(exc)
            except OSError as exc:  # local disk trouble: name the file, keep going
                report.failed[relpath] = f"{relpath}: cannot write into {out}: {exc.strerror or exc}"
            else:
                report.failed.pop(relpath, None)
                getattr(report, result.action).append(relpath)
    except BaseException:  # Ctrl-C: stop the workers at their next chunk, keep their .part files
        bar.stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return cut


def _read_listing(remote: Mirror, source: Source) -> tuple[dict[str, str], list[str]]:
    """The mirror's ``SHA256SUMS.txt``; a local folder without one is hashed if the source allows it.

    Also returns one refusal per file of such a folder that is a symlink leading outside it.
    """
    name = source.checksum_file
    try:
        text = remote.read_text(name)
    except FetchError as exc:
        raise DownloadError(str(exc)) from exc
    if text is not None:
        try:
            return parse_listing(text, source=remote.describe(name)), []
        except ValueError as exc:
            raise DownloadError(str(exc)) from exc
    globs = getattr(source, "listing_from_glob", None)  # one pattern, or several (NSRR: EDF and XML)
    pattern = globs if isinstance(globs, str) or globs is None else " ".join(globs)
    local = remote.local_root()
    if pattern and local is not None:
        listing, refused = {}, []
        for glob in [globs] if isinstance(globs, str) else list(globs or ()):
            found, bad = hash_folder(local, glob)
            listing.update(found)
            refused += [message for message in bad if message not in refused]
        if listing:
            return listing, refused
        raise DownloadError(f"mirror folder {local} holds no {name} and no {pattern} files")
    what = (
        f"a {name} listing the {pattern} files (make it with `sha256sum {pattern} > {name}` in that folder)"
        if pattern
        else f"{name} (one '<sha256>  <relative path>' line per file, as on PhysioNet)"
    )
    raise DownloadError(f"mirror {remote.location} has no {name}: it must provide {what}")


def _select(
    source: Source, listing: dict[str, str], subjects: list[int] | None, nights: list[int] | None
) -> Selection:
    select = getattr(source, "select", None)
    if select is not None:
        return select(listing, subjects, nights)
    return Selection(recordings=source.recordings(listing, subjects))


def _generate_demo(mirror: Path, subjects: int, nights: int, seed: int, hours: float) -> None:
    """Generate the demo mirror (the generator reuses an existing one made with the same settings)."""
    from physioex.io.lock import output_lock
    from physioex.synth import generate_mirror

    try:
        # Runs into different --out folders share the generated mirror: the second waits for the first.
        with output_lock(mirror, wait=1800.0):
            generate_mirror(mirror, subjects=subjects, nights=nights, seed=seed, hours=hours)
    except ValueError as exc:
        raise DownloadInputError(
            f"cannot generate the demo mirror in {mirror}: {exc} "
            "(see --demo-subjects, --demo-nights, --hours)"
        ) from exc
    except (FileExistsError, OSError) as exc:
        raise DownloadError(f"cannot generate the demo mirror in {mirror}: {exc}") from exc

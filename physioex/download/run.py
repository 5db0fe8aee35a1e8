"""``download(dataset)``: fetch a dataset subset from its mirror into ``raw_dir(dataset)``, verified.

Files are fetched in parallel (bounded thread pool) under one byte progress bar. Each failure names the
file and the problem and is collected, so the other files still finish; ``DownloadReport.ok`` tells the
caller (the CLI exits non-zero). ``OUT/SHA256SUMS.txt`` is rewritten to list exactly the verified files.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from physioex.download.errors import FetchError, TruncatedError
from physioex.download.fetch import FetchResult, fetch_file
from physioex.download.listing import (
    LISTING_NAME,
    format_listing,
    hash_folder,
    parse_listing,
    safe_target,
    split_safe,
    write_atomic,
)
from physioex.download.mirror import Mirror, join_location, open_mirror
from physioex.paths import raw_dir
from physioex.sources import Recording, Selection, Source, get_source


class DownloadError(RuntimeError):
    """The download could not start (no mirror, mirror unreachable, no usable listing, bad subset)."""


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
    Requests are retried by urllib3 with exponential ``backoff`` (s); a body cut mid-file (which urllib3
    cannot continue) is resumed from its ``.part`` with ``Range`` in up to ``resume_passes`` further
    passes over the cut files, and by the next call otherwise.
    Raises ``DownloadError`` if nothing can start; per-file problems go into the report.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    source = get_source(dataset)
    location = str(mirror) if mirror is not None else source.default_mirror
    if not location:
        message = getattr(source, "missing_mirror_message", lambda: f"{dataset} has no default mirror")()
        raise DownloadError(message)
    if mirror is None and getattr(source, "generated", False):
        _generate_demo(Path(location), demo_subjects, demo_nights, demo_seed, demo_hours)
    location = join_location(location, getattr(source, "mirror_subdir", ""))
    try:
        remote = open_mirror(location, retries=retries, backoff=backoff, timeout=timeout, pool=max(jobs, 4))
    except ValueError as exc:
        raise DownloadError(str(exc)) from exc
    out = Path(out) if out is not None else raw_dir(dataset)
    local = remote.local_root()
    if local is not None and local.resolve() == out.resolve():
        raise DownloadError(f"--out {out} is the mirror folder itself; choose another target folder")

    listing = _read_listing(remote, source)
    report = DownloadReport(dataset=dataset, mirror=remote.location, out=out)
    safe, refused = split_safe(out, listing)
    report.refused = [f"{message} in {remote.describe(source.checksum_file)}" for message in refused]

    try:
        selection = _select(source, safe, subjects, nights)
    except ValueError as exc:
        raise DownloadError(str(exc)) from exc
    report.recordings, report.problems = selection.recordings, selection.problems
    if not selection.recordings and not report.refused:
        raise DownloadError(
            f"{dataset}: no recordings of this subset in {remote.describe(source.checksum_file)}"
            + (f" ({'; '.join(selection.problems)})" if selection.problems else "")
        )

    out.mkdir(parents=True, exist_ok=True)
    with _ByteBar(dataset, enabled=progress) as bar:
        pending = selection.files
        for attempt in range(resume_passes + 1):
            cut = _fetch_all(remote, pending, out, safe, jobs, bar, report)
            if not cut or attempt == resume_passes:
                break
            pending = cut  # transfers cut mid-file: resume them from their .part with Range
        report.bytes = bar.received

    verified = {relpath: safe[relpath] for relpath in report.verified}
    write_atomic(out / LISTING_NAME, format_listing(verified))
    return report


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
) -> list[str]:
    """Fetch ``relpaths`` with ``jobs`` threads, recording outcomes in ``report``; returns the cut ones."""
    cut: list[str] = []

    def one(relpath: str) -> FetchResult:
        target = safe_target(out, relpath)
        return fetch_file(remote, relpath, target, listing[relpath], on_size=bar.grow, on_bytes=bar.advance)

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


def _read_listing(remote: Mirror, source: Source) -> dict[str, str]:
    """The mirror's ``SHA256SUMS.txt``; a local folder without one is hashed if the source allows it."""
    name = source.checksum_file
    try:
        text = remote.read_text(name)
    except FetchError as exc:
        raise DownloadError(str(exc)) from exc
    if text is not None:
        try:
            return parse_listing(text, source=remote.describe(name))
        except ValueError as exc:
            raise DownloadError(str(exc)) from exc
    pattern = getattr(source, "listing_from_glob", None)
    local = remote.local_root()
    if pattern and local is not None:
        listing = hash_folder(local, pattern)
        if listing:
            return listing
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
    from physioex.synth import generate_mirror

    try:
        generate_mirror(mirror, subjects=subjects, nights=nights, seed=seed, hours=hours)
    except (ValueError, FileExistsError) as exc:
        raise DownloadError(f"cannot generate the demo mirror in {mirror}: {exc}") from exc

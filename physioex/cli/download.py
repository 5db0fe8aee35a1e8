"""``physioex download``: the command-line face of :func:`physioex.download.run.download`."""

from __future__ import annotations

import math
import re
from typing import Annotated

import typer

from physioex.cli.options import JOBS_HELP, TIMEOUT_HELP, DownloadOut, Progress, Subjects
from physioex.sources import dataset_help, mirror_help

DATASET_HELP = f"Dataset to fetch: {dataset_help()}."
"""Derived from the dataset declarations (``physioex.sources.SPECS``), like the --mirror default below."""


def parse_ids(text: str | None, what: str = "subjects") -> list[int] | None:
    """``"0,1,5-7"`` -> ``[0, 1, 5, 6, 7]``; ``None`` or empty means all. Brackets and spaces are ignored."""
    if text is None:
        return None
    cleaned = re.sub(r"[\[\]\s]", "", str(text))
    if not cleaned:
        return None
    ids: set[int] = set()
    for part in cleaned.split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if m is None:
            raise typer.BadParameter(f"{part!r} is not a number or a range like 0-19", param_hint=f"--{what}")
        low, high = int(m.group(1)), int(m.group(2) or m.group(1))
        if high < low:
            raise typer.BadParameter(f"empty range {part!r}", param_hint=f"--{what}")
        ids.update(range(low, high + 1))
    return sorted(ids)


def _ids(text: str | None, what: str) -> list[int] | None:
    """``parse_ids`` with a bad value reported as one ``--subjects``/``--nights`` line (exit 2)."""
    from physioex.download.errors import DownloadInputError

    try:
        return parse_ids(text, what)
    except typer.BadParameter as exc:
        raise DownloadInputError(
            f"--{what} {text!r}: {exc.message}; use ids and ranges like 0,1,5-7"
        ) from None


def download(
    dataset: Annotated[str, typer.Argument(help=DATASET_HELP, show_default=False, metavar="DATASET")],
    subjects: Subjects = None,
    nights: Annotated[str | None, typer.Option(help="Nights to fetch, e.g. 1 or 1,2. Default: all.")] = None,
    mirror: Annotated[
        str | None,
        typer.Option(
            help="Where to fetch from: an http(s):// or file:// URL or a local folder holding SHA256SUMS.txt "
            "and the original tree (for Sleep-EDF: sleep-cassette/..., sleep-telemetry/...). "
            f"Default: {mirror_help()}. Symlinks in a local mirror must stay inside it."
        ),
    ] = None,
    out: DownloadOut = None,
    jobs: Annotated[int, typer.Option(help=f"{JOBS_HELP}: files downloaded at the same time.")] = 4,
    retries: Annotated[
        int, typer.Option(help="Retries per request on HTTP 429/5xx, connection errors and timeouts.")
    ] = 5,
    timeout: Annotated[float, typer.Option(help=TIMEOUT_HELP)] = 60.0,
    max_file_mb: Annotated[
        float,
        typer.Option(
            help="Largest file (MB) accepted from a server that does not announce its size (Content-Length); "
            "a body announcing its size is never accepted past it."
        ),
    ] = 2000.0,
    demo_subjects: Annotated[int, typer.Option(help="Demo only: subjects to generate (1-100).")] = 10,
    demo_nights: Annotated[int, typer.Option(help="Demo only: nights per subject (1-9).")] = 2,
    demo_seed: Annotated[int, typer.Option(help="Demo only: generator seed (same seed, same bytes).")] = 0,
    hours: Annotated[
        float, typer.Option(help="Demo only: length of each synthetic night (h, 2.5-24).")
    ] = 9.0,
    progress: Progress = True,
) -> None:
    """Download raw recordings of DATASET and check every file against the mirror's SHA256SUMS.txt.

    Interrupted files are resumed, files already present and verified are skipped.

    The target folder's SHA256SUMS.txt then lists every verified file there: this subset plus what
    earlier runs fetched (re-verified; what preprocess reads). One run per target folder at a time.

    Exits 2 on a bad parameter (nothing written), 1 if the mirror is unreachable or any file failed
    (after all the other files finished).
    """
    from physioex.download.errors import DownloadInputError
    from physioex.download.run import download as run_download

    if not (math.isfinite(max_file_mb) and max_file_mb > 0):
        raise DownloadInputError(f"--max-file-mb must be a positive number of MB, got {max_file_mb}")
    if not (math.isfinite(timeout) and timeout > 0):
        raise DownloadInputError(f"--timeout must be a positive number of seconds, got {timeout}")
    report = run_download(
        dataset,
        subjects=_ids(subjects, "subjects"),
        nights=_ids(nights, "nights"),
        mirror=mirror,
        out=out,
        jobs=jobs,
        retries=retries,
        timeout=timeout,
        max_file_bytes=round(max_file_mb * 1e6),
        progress=progress,
        demo_subjects=demo_subjects,
        demo_nights=demo_nights,
        demo_seed=demo_seed,
        demo_hours=hours,
    )
    for problem in report.problems:
        typer.echo(f"warning: {problem}", err=True)
    for error in report.errors:
        typer.echo(f"error: {error}", err=True)
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)

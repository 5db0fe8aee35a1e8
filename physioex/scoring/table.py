"""A table of scored events (CSV/TSV, BIDS ``*_events.tsv``) as a scoring.

One row per event with an onset (s from the PSG start), a duration (s) and a label; the first
non-empty line names the columns, found by name (case and spaces ignored, a ``(s)`` unit suffix
allowed):

- onset: ``onset``, ``onset_s``, ``start``, ``start_s``, ``begin``
- duration: ``duration``, ``duration_s``, ``dur``, ``length``
- label: ``stage``, ``sleep_stage``, ``trial_type``, ``label``, ``description``, ``annotation``,
  ``event``, ``value`` (the first present in this order; BIDS ``trial_type`` before ``value``, which
  MNE-BIDS fills with numeric event ids)

BIDS (task events): ``onset`` and ``duration`` are required, ``n/a`` marks a missing value; other
columns are ignored. physioex's own ``predict`` CSV (``onset_s``, ``duration_s``, ``stage``, ...) reads
back. The delimiter is a tab for ``.tsv``, otherwise sniffed among comma, semicolon and tab.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from physioex.errors import InputError
from physioex.scoring.classify import Row, build_scoring
from physioex.scoring.hypnogram import Scoring
from physioex.scoring.vocabulary import Vocabulary

FORMAT = "table"
ONSET_COLUMNS = ("onset", "onset_s", "start", "start_s", "begin")
DURATION_COLUMNS = ("duration", "duration_s", "dur", "length")
LABEL_COLUMNS = (
    "stage",
    "sleep_stage",
    "trial_type",
    "label",
    "description",
    "annotation",
    "event",
    "value",
)
MISSING = ("", "n/a")
"""Cell values that mean "no value" (BIDS writes ``n/a``)."""


def column_key(name: str) -> str:
    """``" Onset (s) "`` -> ``"onset"``, ``"Sleep Stage"`` -> ``"sleep_stage"``: how headers are matched."""
    key = re.sub(r"[\(\[]\s*s(ec(onds)?)?\s*[\)\]]$", "", name.strip().casefold()).strip()
    return re.sub(r"[\s\-]+", "_", key)


def find_columns(header: list[str]) -> dict[str, int] | None:
    """Indices of the ``onset``, ``duration`` and ``label`` columns (each may be missing); None when the
    header has neither an onset nor a label column (so it is not a scoring table's header)."""
    keys = [column_key(h) for h in header]
    found: dict[str, int] = {}
    for role, names in (("onset", ONSET_COLUMNS), ("duration", DURATION_COLUMNS), ("label", LABEL_COLUMNS)):
        for name in names:
            if name in keys:
                found[role] = keys.index(name)
                break
    return found if ("onset" in found or "label" in found) else None


def _dialect(path: Path, sample: str) -> type[csv.Dialect] | csv.Dialect:
    if path.suffix.lower() == ".tsv":
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _number(cell: str, what: str, path: Path, line: int, *, missing_ok: bool) -> float | None:
    if cell.strip().casefold() in MISSING:
        if missing_ok:
            return None
        raise InputError(f"{path}: line {line}: no {what}; give it in seconds")
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (what == "duration" and value < 0):
        raise InputError(f"{path}: line {line}: {what} {cell!r} is not a number of seconds")
    return value


def read_table(path: str | Path, vocabulary: Vocabulary | None = None) -> Scoring:
    """Stage events and lights markers of a CSV/TSV events table (row ``k`` named ``"line k"``).

    Parameters
    ----------
    path
        The table; its first non-empty line is the header.
    vocabulary
        Label lookup; default the built-in table.

    Raises
    ------
    InputError
        Missing file, no onset/duration/label column (listing the header and the accepted names), a
        row with too few cells, a non-numeric onset or duration, or an unknown label; naming file and
        line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: scoring file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    reader = csv.reader(text.splitlines(), _dialect(path, text[:4096]))
    header: list[str] | None = None
    columns: dict[str, int] = {}
    rows: list[Row] = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = cells
            columns = find_columns(cells) or {}
            missing = [
                f"{role} ({', '.join(names)})"
                for role, names in (
                    ("onset", ONSET_COLUMNS),
                    ("duration", DURATION_COLUMNS),
                    ("label", LABEL_COLUMNS),
                )
                if role not in columns
            ]
            if missing:
                raise InputError(
                    f"{path}: line {line}: header {', '.join(map(repr, cells))} lacks the column(s) "
                    f"{'; '.join(missing)}; name the columns in the first line"
                )
            continue
        if len(cells) <= max(columns.values()):
            raise InputError(
                f"{path}: line {line}: {len(cells)} cell(s), the header names {len(header)}; check the "
                "delimiter and missing cells (write n/a)"
            )
        onset = _number(cells[columns["onset"]], "onset", path, line, missing_ok=False)
        assert onset is not None
        duration = _number(cells[columns["duration"]], "duration", path, line, missing_ok=True)
        label = cells[columns["label"]].strip()
        if label.casefold() in MISSING:
            raise InputError(f"{path}: line {line}: no label in column {header[columns['label']]!r}")
        rows.append(Row(onset, duration, label, f"line {line}"))
    if header is None:
        raise InputError(f"{path}: empty; a scoring table needs a header line and one row per event")
    return build_scoring(str(path), FORMAT, rows, vocabulary)

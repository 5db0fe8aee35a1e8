"""Which reader a scoring file needs: by extension where it is unambiguous, else by its first bytes."""

from __future__ import annotations

import csv
from pathlib import Path

from physioex.errors import InputError
from physioex.scoring.table import find_columns

FORMATS: tuple[str, ...] = ("auto", "edf", "nsrr-xml", "table", "epoch-text")
"""Scoring formats ``read_scoring`` takes (``auto``: :func:`detect_format`)."""

EDF_SUFFIXES = (".edf", ".rec")
XML_SUFFIXES = (".xml",)
_EDF_VERSION = b"0       "
"""An EDF header starts with its version field: ``0`` and seven spaces."""


def detect_format(path: str | Path) -> str:
    """``edf``, ``nsrr-xml``, ``table`` or ``epoch-text`` for the file at ``path``.

    ``.edf``/``.rec`` and ``.xml`` decide by extension; other files by content: an EDF header, an XML
    document, a delimited first line naming an onset or label column (a table), else one label per
    line (epoch text).

    Raises
    ------
    InputError
        The file is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: scoring file not found")
    suffix = path.suffix.lower()
    if suffix in EDF_SUFFIXES:
        return "edf"
    if suffix in XML_SUFFIXES:
        return "nsrr-xml"
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(_EDF_VERSION) and len(head) >= 256:
        return "edf"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "nsrr-xml"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(first, delimiters=",;\t")
    except csv.Error:
        return "epoch-text"
    cells = next(csv.reader([first], dialect), [])
    if len(cells) >= 2 and find_columns(cells) is not None:
        return "table"
    return "epoch-text"

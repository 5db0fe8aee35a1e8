"""NSRR annotation XML (``polysomnography/annotations-events-nsrr/...-nsrr.xml``) as a scoring.

Layout (Compumedics-derived, as sleepdata.org publishes it)::

    <PSGAnnotation>
      <EpochLength>30</EpochLength>
      <ScoredEvents>
        <ScoredEvent>
          <EventType>Stages|Stages</EventType>
          <EventConcept>Stage 2 sleep|2</EventConcept>
          <Start>120.0</Start>            seconds from the EDF start
          <Duration>90.0</Duration>       seconds
        </ScoredEvent>
        ...

Only events whose ``EventType`` is ``Stages`` (before the ``|``) are scoring; respiratory, arousal,
``Recording Start Time`` and other events are skipped. The documented format carries no lights events
(NSRR publishes lights times as dataset variables), so lights come from elsewhere (a manifest).

Parsed with the standard library's expat parser (line numbers for messages); any ``<!ENTITY``
declaration is refused, as defusedxml does, so a hostile file cannot expand entities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from physioex.errors import InputError
from physioex.scoring.classify import Row, build_scoring
from physioex.scoring.hypnogram import Scoring
from physioex.scoring.vocabulary import Vocabulary

FORMAT = "nsrr-xml"
ROOT = "PSGAnnotation"
STAGE_EVENT_TYPE = "stages"
"""``EventType`` of stage events before the ``|``, case-folded (``Stages|Stages``)."""


class _Refused(Exception):
    """An entity declaration: raised out of the expat callback, turned into an InputError."""


@dataclass
class _Event:
    line: int
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class _Document:
    root: str | None = None
    epoch_length: tuple[str, int] | None = None
    events: list[_Event] = field(default_factory=list)


def _parse(path: Path) -> _Document:
    """Root name, ``EpochLength`` (text, line) and each ScoredEvent's child texts with its line."""
    doc = _Document()
    stack: list[str] = []
    text: list[str] = []
    parser = expat.ParserCreate()

    def start(name: str, _attrs: dict[str, str]) -> None:
        if doc.root is None:
            doc.root = name
        if name == "ScoredEvent":
            doc.events.append(_Event(parser.CurrentLineNumber))
        stack.append(name)
        text.clear()

    def end(name: str) -> None:
        stack.pop()
        value = "".join(text).strip()
        if len(stack) >= 1 and stack[-1] == "ScoredEvent" and doc.events:
            doc.events[-1].fields.setdefault(name, value)
        elif name == "EpochLength" and stack == [ROOT]:
            doc.epoch_length = (value, parser.CurrentLineNumber)
        text.clear()

    def entity(*_args: object) -> None:
        raise _Refused

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    parser.EntityDeclHandler = entity
    try:
        with path.open("rb") as fh:
            parser.ParseFile(fh)
    except _Refused:
        raise InputError(
            f"{path}: line {parser.CurrentLineNumber}: declares XML entities, which NSRR annotation files "
            "never do; refused for safety"
        ) from None
    except expat.ExpatError as exc:
        raise InputError(
            f"{path}: line {exc.lineno}: malformed XML ({expat.ErrorString(exc.code)}); give the NSRR "
            "annotation file as downloaded"
        ) from None
    return doc


def _seconds(value: str | None, what: str, path: Path, line: int) -> float:
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise InputError(
            f"{path}: line {line}: ScoredEvent <{what}> is {value!r}, not a number of seconds >= 0"
        )
    return seconds


def read_nsrr_xml(path: str | Path, vocabulary: Vocabulary | None = None) -> Scoring:
    """Stage events of an NSRR annotation XML; ``EpochLength`` becomes :attr:`Scoring.epoch_s`.

    Parameters
    ----------
    path
        The ``-nsrr.xml`` file.
    vocabulary
        Label lookup for ``EventConcept`` (``Wake|0`` .. ``REM sleep|5``, ``Movement|6``,
        ``Unscored|9`` are built in); default the built-in table.

    Raises
    ------
    InputError
        Missing file, malformed XML, another root element, a stage event without a number of
        seconds in ``Start``/``Duration`` or an unknown concept; naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: scoring file not found")
    doc = _parse(path)
    if doc.root != ROOT:
        raise InputError(
            f"{path}: root element <{doc.root}> is not <{ROOT}>; not an NSRR annotation XML (give the "
            "'-nsrr.xml' file from annotations-events-nsrr)"
        )
    epoch_s = None
    if doc.epoch_length is not None:
        epoch_s = _seconds(doc.epoch_length[0], "EpochLength", path, doc.epoch_length[1])
    rows = []
    for event in doc.events:
        event_type = event.fields.get("EventType", "")
        if event_type.split("|")[0].strip().casefold() != STAGE_EVENT_TYPE:
            continue
        concept = event.fields.get("EventConcept")
        if not concept:
            raise InputError(f"{path}: line {event.line}: stage ScoredEvent without an <EventConcept>")
        onset = _seconds(event.fields.get("Start"), "Start", path, event.line)
        duration = _seconds(event.fields.get("Duration"), "Duration", path, event.line)
        rows.append(Row(onset, duration, concept, f"line {event.line}"))
    return build_scoring(str(path), FORMAT, rows, vocabulary, epoch_s=epoch_s)

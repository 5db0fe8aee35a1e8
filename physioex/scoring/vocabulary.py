"""Scoring labels to AASM stages: one built-in table of the common vocabularies, plus a user YAML file.

A label is looked up after stripping, collapsing runs of whitespace and case-folding, so
``"Sleep stage W"``, ``"sleep  stage w"`` and ``"SLEEP STAGE W"`` are one label. Every label a file holds
must map to a :class:`Term`; an unknown one is an ``InputError`` naming the file, the place in it and the
label, so a typo or an unexpected event never silently becomes unscored (docs/scoring-formats.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from pathlib import Path

from physioex.errors import InputError
from physioex.scoring.errors import UnknownLabelError
from physioex.store.layout import LABEL_MOVEMENT, LABEL_UNSCORED


class Term(str, Enum):
    """What a label means: a stage, unscored, movement, a lights marker, or not part of the scoring."""

    W = "W"
    N1 = "N1"
    N2 = "N2"
    N3 = "N3"
    REM = "REM"
    UNSCORED = "unscored"
    MOVEMENT = "movement"
    LIGHTS_OFF = "lights_off"
    LIGHTS_ON = "lights_on"
    IGNORE = "ignore"
    """Not a stage (an arousal, a technician note): skipped, but only because a vocabulary says so."""

    @property
    def code(self) -> int | None:
        """Store code of a stage term (0..4, -1 unscored, -2 movement); None for the others."""
        return _CODES.get(self)


_CODES: dict[Term, int] = {
    Term.W: 0,
    Term.N1: 1,
    Term.N2: 2,
    Term.N3: 3,
    Term.REM: 4,
    Term.UNSCORED: LABEL_UNSCORED,
    Term.MOVEMENT: LABEL_MOVEMENT,
}

_TERM_NAMES: dict[str, Term] = {**{t.value.casefold(): t for t in Term}, "r": Term.REM}
"""Names a YAML vocabulary may map a label to (case-insensitive; ``R`` is accepted for REM)."""


def normalise(label: str) -> str:
    """Lookup key of a label: whitespace stripped and collapsed, case-folded."""
    return " ".join(label.split()).casefold()


_BUILTIN: dict[Term, tuple[str, ...]] = {
    # AASM names, R&K names, Sleep-EDF / HMC EDF+ texts, NSRR concepts, NSRR numeric codes
    Term.W: ("W", "Wake", "0", "Sleep stage W", "Wake|0", "Stage W"),
    Term.N1: ("N1", "S1", "1", "Sleep stage 1", "Sleep stage N1", "Stage 1 sleep|1", "Stage 1"),
    Term.N2: ("N2", "S2", "2", "Sleep stage 2", "Sleep stage N2", "Stage 2 sleep|2", "Stage 2"),
    Term.N3: (
        "N3",
        "S3",
        "S4",
        "3",
        "4",
        "Sleep stage 3",
        "Sleep stage 4",
        "Sleep stage N3",
        "Stage 3 sleep|3",
        "Stage 4 sleep|4",
        "Stage 3",
        "Stage 4",
    ),
    Term.REM: ("R", "REM", "5", "Sleep stage R", "Sleep stage REM", "REM sleep|5", "Stage R"),
    Term.UNSCORED: ("?", "Sleep stage ?", "Unscored", "Unscored|9", "9"),
    Term.MOVEMENT: ("Movement time", "Movement", "Movement|6", "MT", "6"),
    Term.LIGHTS_OFF: ("Lights off", "Lights out"),
    Term.LIGHTS_ON: ("Lights on",),
}
"""The built-in table (documented in docs/scoring-formats.md). Numbers follow R&K/NSRR numbering:
``4`` is R&K stage 4 (N3) and ``5`` is REM; a file coded AASM-style 0..4 with 4 = REM needs a
vocabulary file (``"4": REM``)."""


class Vocabulary:
    """Label -> :class:`Term` lookup; ``name`` says where the mapping came from (for messages).

    Parameters
    ----------
    mapping
        Label -> term; labels are normalised with :func:`normalise`.
    name
        ``"built-in"`` or the YAML file that defined it.
    """

    def __init__(self, mapping: Mapping[str, Term], name: str = "built-in") -> None:
        self._terms = {normalise(label): term for label, term in mapping.items()}
        self.name = name

    def __repr__(self) -> str:
        return f"Vocabulary({self.name!r}, {len(self._terms)} labels)"

    def __contains__(self, label: object) -> bool:
        return isinstance(label, str) and normalise(label) in self._terms

    @classmethod
    def builtin(cls) -> Vocabulary:
        """The built-in table: W/N1/N2/N3/REM, R&K 1-4, Sleep-EDF, HMC, NSRR, unscored, movement, lights."""
        return cls({label: term for term, labels in _BUILTIN.items() for label in labels})

    @classmethod
    def from_yaml(cls, path: str | Path, base: Vocabulary | None = None) -> Vocabulary:
        """A YAML mapping ``label: term`` (terms: W, N1, N2, N3, REM (or R), unscored, movement,
        lights_off, lights_on, ignore), over ``base`` (default: the built-in table; the file wins).

        Raises
        ------
        InputError
            Unreadable file, YAML syntax error, not a mapping, a non-text label (YAML reads unquoted
            ``on``/``off``/``yes``/``no`` as booleans) or an unknown term; naming the file and line.
        """
        import yaml

        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"{path}: cannot read the vocabulary file ({exc}); give a UTF-8 YAML file"
            ) from None
        try:
            data = yaml.safe_load(text)
            keys = _keys(yaml.compose(text, Loader=yaml.SafeLoader))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f"line {mark.line + 1}: " if mark is not None else ""
            raise InputError(
                f"{path}: {at}not valid YAML ({getattr(exc, 'problem', None) or exc}); write one "
                "'label: stage' pair per line"
            ) from None
        if not isinstance(data, dict) or not data:
            raise InputError(
                f"{path}: a vocabulary file is a YAML mapping of 'label: stage' lines (e.g. 'Stage 1: N1'); "
                f"this one holds {type(data).__name__}"
            )
        seen: dict[str, int] = {}
        for raw, key_line in keys:
            if normalise(raw) in seen:
                raise InputError(
                    f"{path}: line {key_line}: label {raw!r} is mapped twice (also line "
                    f"{seen[normalise(raw)]}); keep one"
                )
            seen[normalise(raw)] = key_line
        mapping: dict[str, Term] = {}
        for i, (key, value) in enumerate(data.items()):
            line = str(keys[i][1]) if i < len(keys) else "?"
            if isinstance(key, bool) or not isinstance(key, (str, int, float)):
                raise InputError(
                    f"{path}: line {line}: label {key!r} is not text; quote it (YAML reads unquoted "
                    "on/off/yes/no as booleans)"
                )
            term = _TERM_NAMES.get(str(value).strip().casefold()) if isinstance(value, str) else None
            if term is None:
                raise InputError(
                    f"{path}: line {line}: label {str(key)!r} maps to {value!r}, which is not a stage; use "
                    f"one of {', '.join(t.value for t in Term)}"
                )
            mapping[str(key)] = term
        vocabulary = base if base is not None else cls.builtin()
        return vocabulary.merged(cls(mapping, name=str(path)))

    def merged(self, other: Vocabulary) -> Vocabulary:
        """This vocabulary with ``other``'s labels added (``other`` wins); named after ``other``."""
        merged = Vocabulary({}, name=other.name)
        merged._terms = {**self._terms, **other._terms}
        return merged

    def term(self, label: str) -> Term | None:
        """The term of ``label``, or None when this vocabulary does not know it."""
        return self._terms.get(normalise(label))

    def classify(self, label: str, file: str | Path, where: str) -> Term:
        """The term of ``label`` found at ``where`` (e.g. ``"line 12"``) in ``file``.

        Raises
        ------
        InputError
            The label is unknown: names file, place and label, and how to map it.
        """
        term = self.term(label)
        if term is None:
            known = "the built-in vocabulary" if self.name == "built-in" else f"vocabulary {self.name}"
            raise UnknownLabelError(
                f"{file}: {where}: unknown sleep-scoring label {label!r} (not in {known}); map it in a "
                "vocabulary YAML file ('label: N1', or 'label: ignore' for a non-stage event), see "
                "docs/scoring-formats.md",
                file=str(file),
                where=where,
                label=label,
            )
        return term

    def labels(self) -> Iterable[tuple[str, Term]]:
        """(normalised label, term) pairs, sorted by label."""
        return sorted(self._terms.items())


def _keys(node: object) -> list[tuple[str, int]]:
    """(source text, 1-based line) of each top-level key of a composed YAML mapping, in file order."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return []
    value = node.value
    return [(str(key.value), key.start_mark.line + 1) for key, _ in value if hasattr(key, "start_mark")]


BUILTIN = Vocabulary.builtin()
"""The built-in vocabulary (read-only use)."""

"""Channel requests -> EDF labels: canonical names, the alias table, preference lists, re-referencing.

A channel request (one ``--channels`` item) is ``ALT|ALT|...``: acceptable channels in order of
preference, the first one a recording has wins. Each alternative is an exact EDF label
(``EEG Fpz-Cz``) or a canonical name (``C4-M1``, ``Fpz-Cz``, ``EOG-L``, ``EMG-chin``, ``ECG``). The
store channel is named after the request's first alternative, so recordings with other labels (or
whose first choice is missing) land in one store column; what each recording used is recorded in its
metadata (``Resolved.record``). docs/channels.md is the user's reference for these rules.

One alternative is resolved against a recording's labels in this order:

1. the exact label (Sleep-EDF's ``EEG Fpz-Cz`` is read as is, as before);
2. the aliases of its canonical name, in table order (user aliases first), compared after
   ``normalise_label`` (case, spaces, ``:``/``/``/``_`` separators);
3. for an EEG derivation ``X-Y`` of two 10-20 electrodes, re-referencing: monopolar ``X`` minus
   monopolar ``Y`` (labels ``X``, ``EEG X``, ``X-Ref``, ``EEG X-Ref``), sample by sample in uV.

Earlobe references A1/A2 stand for the mastoids M1/M2 (AASM's alternative reference): ``C4-A1``
satisfies ``C4-M1``. Which one a recording used is in its record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from physioex.errors import InputError

ALIAS_RULES_VERSION = 1
"""Names this module's rules and built-in table in the preprocessing hash of stores whose channel
requests use them (``uses_resolution``); bump it when a change can resolve a request differently."""

MASTOID = {"M1": ("M1", "A1"), "M2": ("M2", "A2")}
"""Reference electrodes and their accepted stand-ins, preferred first (mastoid, then earlobe)."""

_ELECTRODE = re.compile(r"^(fp|af|ft|fc|tp|cp|po|f|t|c|p|o|i|m|a)(\d{1,2}|z)$", re.IGNORECASE)
"""A 10-20/10-10 electrode name (``C4``, ``Fpz``, ``M1``, ``A2``...)."""

_CASED = {"fp": "Fp", "af": "AF", "ft": "FT", "fc": "FC", "tp": "TP", "cp": "CP", "po": "PO"}

_NAMED: dict[str, tuple[str, ...]] = {
    # SHHS (NSRR shhs-documentation, "Montage and Sampling Rate Information" for SHHS1 and SHHS2):
    # EDF label "EEG" is C4/A1, "EEG (sec)" is C3/A2; nights spell the latter EEG(sec), EEG 2, EEG2 ...
    "C4-M1": ("EEG",),
    "C3-M2": ("EEG(sec)", "EEG (sec)", "EEG sec", "EEG2", "EEG 2"),
    "EOG-L": (
        "EOG E1-M2",
        "E1-M2",
        "EOG E1",
        "E1",
        "EOG(L)",
        "EOG L",
        "EOG Left",
        "LOC",
        "LOC-M2",
        "LOC-A2",
        "EOG LOC-A2",
        "EOG Left Horiz",
    ),
    "EOG-R": (
        "EOG E2-M2",
        "E2-M2",
        "EOG E2-M1",
        "E2-M1",
        "EOG E2",
        "E2",
        "EOG(R)",
        "EOG R",
        "EOG Right",
        "ROC",
        "ROC-M1",
        "ROC-A1",
        "EOG ROC-A1",
        "ROC-M2",
        "ROC-A2",
        "EOG ROC-A2",
        "EOG Right Horiz",
    ),
    "EMG-chin": ("EMG chin", "Chin EMG", "EMG Chin1-Chin2", "Chin1-Chin2", "Chin", "EMG"),
    "ECG": ("ECG", "EKG", "ECG II", "ECG I", "EKG II"),
}
"""Built-in aliases of the canonical names that are not plain derivations, preferred first.
Derivations (``C4-M1``, ``Fpz-Cz``, any ``X-Y`` of two electrodes) also get their generated
spellings (``derivation_aliases``) ahead of these."""

_VOLTAGE_PREFIXES = ("eeg", "eog", "emg", "ecg", "ekg")


def normalise_label(label: str) -> str:
    """Comparison form of a label: case-folded, ``:``/``/``/``_`` and spaced dashes as ``-``,
    runs of spaces as one (``EEG C4:M1`` == ``eeg c4-m1``)."""
    s = re.sub(r"\s*[-:/_]\s*", "-", label.strip().casefold())
    return re.sub(r"\s+", " ", s)


def electrode(name: str) -> str | None:
    """Canonical spelling of a 10-20 electrode name (``fpz`` -> ``Fpz``, ``c4`` -> ``C4``), or None."""
    m = _ELECTRODE.match(name.strip())
    if not m:
        return None
    head, tail = m.group(1).lower(), m.group(2).lower()
    return _CASED.get(head, head.upper()) + tail


def derivation(name: str) -> tuple[str, str] | None:
    """``(active, reference)`` of an EEG derivation ``X-Y`` (``EEG`` prefix allowed), the reference
    written as a mastoid (``C4-A1`` -> ``("C4", "M1")``); None when ``name`` is not two electrodes."""
    s = normalise_label(name)
    if s.startswith("eeg "):
        s = s[4:]
    parts = s.split("-")
    if len(parts) != 2:
        return None
    active, ref = electrode(parts[0]), electrode(parts[1])
    if active is None or ref is None:
        return None
    ref = {"A1": "M1", "A2": "M2"}.get(ref, ref)
    return active, ref


def derivation_aliases(active: str, ref: str) -> list[str]:
    """Generated spellings of ``active-ref``: bare and ``EEG``-prefixed, mastoid then earlobe."""
    refs = MASTOID.get(ref, (ref,))
    return [f"{p}{active}-{r}" for r in refs for p in ("", "EEG ")]


def monopolar_aliases(name: str) -> list[str]:
    """Labels of one electrode recorded against the common reference (``C4``, ``EEG C4``, ``C4-Ref``)."""
    return [f"{p}{name}{s}" for p in ("", "EEG ") for s in ("", "-Ref")]


def is_voltage_label(label: str) -> bool:
    """Whether a label names an electrophysiological (voltage) channel by its usual prefix."""
    return normalise_label(label).startswith(_VOLTAGE_PREFIXES)


@dataclass(frozen=True)
class Resolved:
    """How one channel request is satisfied in one recording."""

    name: str
    """Store channel name: the request's first alternative."""
    request: str
    """The request as given (``C4-M1|C3-M2``)."""
    match: str
    """The alternative that was found (``C3-M2``)."""
    labels: tuple[str, ...]
    """The EDF label read, or ``(active, reference)`` labels when re-referenced."""
    how: str
    """``label`` (exact label), ``alias`` (through the alias table) or ``rereferenced``."""
    voltage: bool
    """The channel is a voltage (EEG/EOG/EMG/ECG): its unit must convert to uV."""

    @property
    def rereferenced(self) -> bool:
        return self.how == "rereferenced"

    def record(self, unit: str, scale: float | None) -> dict[str, Any]:
        """The JSON entry stored in the recording's metadata: ``unit`` is the EDF physical dimension,
        ``scale`` the factor to uV (None: not a voltage, kept in its own unit)."""
        return {
            "channel": self.name,
            "request": self.request,
            "match": self.match,
            "labels": list(self.labels),
            "how": self.how,
            "rereferenced": self.rereferenced,
            "edf_unit": unit,
            "scale_to_uV": scale,
            "unit": "uV" if scale is not None else unit,
        }


class AliasTable:
    """The built-in aliases plus a user's (``load_aliases``), looked up by canonical name.

    Parameters
    ----------
    extra : Mapping[str, Sequence[str]], optional
        ``{name: [labels]}``: labels tried before the built-in ones for an existing canonical name,
        or a new canonical name with its labels.
    """

    def __init__(self, extra: Mapping[str, Sequence[str]] | None = None) -> None:
        self.extra = {str(k): tuple(str(v) for v in vs) for k, vs in (extra or {}).items()}
        self._user = {normalise_label(k): k for k in self.extra}
        self._builtin = {normalise_label(k): k for k in _NAMED}

    def canonical(self, name: str) -> str | None:
        """The canonical name ``name`` stands for (itself, a derivation, or one of its aliases)."""
        key = normalise_label(name)
        for table in (self._user, self._builtin):
            if key in table:
                return table[key]
        pair = derivation(name)
        if pair is not None:
            return f"{pair[0]}-{pair[1]}"
        for canon, labels in [*self.extra.items(), *_NAMED.items()]:
            if key in {normalise_label(label) for label in labels}:
                return canon
        return None

    def aliases(self, canon: str) -> list[str]:
        """Labels of ``canon`` in order of preference: the user's, generated derivation spellings,
        the built-in named aliases."""
        out: list[str] = list(self.extra.get(canon, ()))
        pair = derivation(canon)
        if pair is not None:
            out += derivation_aliases(*pair)
        out += _NAMED.get(canon, ())
        return list(dict.fromkeys(out))

    def is_voltage(self, canon: str | None, label: str) -> bool:
        if canon is not None and (canon in _NAMED or derivation(canon) is not None):
            return True
        return is_voltage_label(label) or (canon is not None and is_voltage_label(canon))

    def resolve(self, request: str, labels: Sequence[str]) -> Resolved | None:
        """The first alternative of ``request`` present in ``labels`` (a recording's EDF labels), or None.

        Parameters
        ----------
        request : str
            ``ALT|ALT|...`` (see the module docstring).
        labels : Sequence[str]
            The recording's signal labels, stripped.
        """
        alternatives = split_request(request)
        name = alternatives[0]
        by_norm: dict[str, str] = {}
        for label in labels:
            by_norm.setdefault(normalise_label(label), label)
        for alt in alternatives:
            canon = self.canonical(alt)
            if alt in labels:
                return Resolved(name, request, alt, (alt,), "label", self.is_voltage(canon, alt))
            candidates = [alt, *(self.aliases(canon) if canon else [])]
            for cand in candidates:
                found = by_norm.get(normalise_label(cand))
                if found is not None:
                    return Resolved(name, request, alt, (found,), "alias", self.is_voltage(canon, found))
            pair = derivation(canon) if canon else None
            if pair is not None:
                sides = [_first(by_norm, self._monopolar(e)) for e in pair]
                if sides[0] is not None and sides[1] is not None:
                    return Resolved(name, request, alt, (sides[0], sides[1]), "rereferenced", True)
        return None

    def _monopolar(self, name: str) -> list[str]:
        out = list(self.extra.get(name, ()))
        for stand_in in MASTOID.get(name, (name,)):
            out += monopolar_aliases(stand_in)
        return out


def _first(by_norm: Mapping[str, str], candidates: Sequence[str]) -> str | None:
    for cand in candidates:
        found = by_norm.get(normalise_label(cand))
        if found is not None:
            return found
    return None


def split_request(request: str) -> list[str]:
    """``"C4-M1 | C3-M2"`` -> ``["C4-M1", "C3-M2"]`` (empty alternatives dropped)."""
    return [a.strip() for a in str(request).split("|") if a.strip()]


def store_name(request: str) -> str:
    """The store channel name of a request: its first alternative (the request itself if it is empty)."""
    alternatives = split_request(request)
    return alternatives[0] if alternatives else str(request).strip()


def uses_resolution(requests: Sequence[str], extra: Mapping[str, Sequence[str]] | None = None) -> bool:
    """Whether the store content can depend on the alias rules: a preference list, a canonical name
    spelled as such (``C4-M1``, ``EOG-L``) or user aliases. Requests written as labels (``EEG Fpz-Cz``,
    Dreem's ``C3_M2``) do not, so stores made before the alias table keep their preprocessing hash."""
    if extra:
        return True
    table = AliasTable()
    for request in requests:
        alternatives = split_request(request)
        if len(alternatives) > 1:
            return True
        for alt in alternatives:
            canon = table.canonical(alt)
            if canon is not None and canon == alt:
                return True
    return False


def load_aliases(path: str | Path, option: str = "--channel-aliases") -> dict[str, tuple[str, ...]]:
    """A user's alias file: a YAML mapping ``name: [label, ...]`` (or ``name: label``).

    ``name`` is a canonical name (its labels are tried before the built-in ones) or a new one (a new
    canonical name, or a monopolar electrode such as ``C4`` for re-referencing). Any problem raises
    ``InputError`` naming ``option`` and the file.
    """
    import yaml

    path = Path(path)
    where = f"{option} {path}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{where}: file not found; give a YAML file of 'NAME: [LABEL, ...]'") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: cannot be read ({exc}); give a UTF-8 YAML file") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f" at line {line + 1}" if line is not None else ""
        raise InputError(f"{where}: not valid YAML{at}; write 'NAME: [LABEL, ...]' lines") from None
    return check_aliases(data, where)


def check_aliases(data: object, where: str) -> dict[str, tuple[str, ...]]:
    """``data`` as ``{name: (labels...)}``, or ``InputError`` naming ``where`` and the bad entry."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: expected a mapping 'NAME: [LABEL, ...]', got {type(data).__name__}")
    out: dict[str, tuple[str, ...]] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not key.strip() or "|" in key or "," in key:
            raise InputError(f"{where}: {key!r} is not a channel name (no '|' or ',' in names)")
        values = [value] if isinstance(value, str) else value
        if (
            not isinstance(values, list | tuple)
            or not values
            or not all(isinstance(v, str) and v.strip() for v in values)
        ):
            raise InputError(
                f"{where}: {key!r} must map to a label or a list of labels, e.g. {key}: [EEG C4]"
            )
        out[key.strip()] = tuple(v.strip() for v in values)
    return out

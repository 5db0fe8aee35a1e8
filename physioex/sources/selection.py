"""What a source picked from a listing: the recordings plus problems worth reporting."""

from __future__ import annotations

from dataclasses import dataclass, field

from physioex.sources.base import Recording


@dataclass
class Selection:
    """Recordings of a subset, and files or requests that could not be used (never silently dropped)."""

    recordings: list[Recording] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Human-readable notes, each naming the file, e.g. ``"...-PSG.edf: PSG without hypnogram"``."""

    @property
    def files(self) -> list[str]:
        """All relative paths the recordings need, sorted."""
        return sorted({path for rec in self.recordings for path in rec.files.values()})

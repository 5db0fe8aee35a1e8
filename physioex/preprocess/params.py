"""Preprocessing parameters (the DVC ``preprocess`` params section) and their hash for skip decisions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from physioex.store import layout

DEFAULT_CHANNELS: dict[str, list[str]] = {"sleepedf": ["EEG Fpz-Cz"], "dreem": ["C3_M2"]}
"""Default channels per source format: the literature's Fpz-Cz for Sleep-EDF; C3-M2 (present in both
DOD-H and DOD-O, the AASM-recommended central derivation) for Dreem."""


@dataclass(frozen=True)
class PreprocessParams:
    """Everything that changes the stored content of a recording."""

    channels: tuple[str, ...] | None = None
    """Channel names in store order; None = ``DEFAULT_CHANNELS`` of the source format."""
    sampling_rate: float = 100.0
    """Store rate, Hz; channels at another rate are resampled with anti-aliasing."""
    crop: str = "auto"
    """``auto`` | ``sleep`` | ``lights`` | ``none`` (see ``physioex.preprocess.crop``)."""
    crop_minutes: float = 30.0
    """Wake kept before the first and after the last sleep epoch for ``sleep``, minutes."""
    bandpass: tuple[float, float] | None = None
    """Optional zero-phase band-pass (low, high) in Hz; None keeps signals as recorded."""
    allow_upsampling: bool = False
    """Accept channels recorded below the store rate (Sleep-EDF's 1 Hz EMG envelope, resp, temp)."""
    chunk_epochs: int = layout.DEFAULT_CHUNK_EPOCHS
    compression: str = layout.DEFAULT_COMPRESSION

    def resolved_channels(self, fmt: str) -> list[str]:
        if self.channels:
            return list(self.channels)
        if fmt not in DEFAULT_CHANNELS:
            raise ValueError(f"no default channels for source format {fmt!r}; pass channels")
        return list(DEFAULT_CHANNELS[fmt])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels) if self.channels else None
        d["bandpass"] = list(self.bandpass) if self.bandpass else None
        return d

    def hash(self, fmt: str) -> str:
        """sha256 of the parameters as applied to ``fmt`` (+ store format version)."""
        d = {**self.to_dict(), "channels": self.resolved_channels(fmt), "format": fmt}
        d["format_version"] = layout.FORMAT_VERSION
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

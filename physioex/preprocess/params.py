"""Preprocessing parameters (the DVC ``preprocess`` params section) and their hash for skip decisions."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from physioex import EPOCH_SECONDS
from physioex.errors import InputError
from physioex.preprocess.channel_aliases import (
    ALIAS_RULES_VERSION,
    check_aliases,
    split_request,
    store_name,
    uses_resolution,
)
from physioex.preprocess.crop import CROPS
from physioex.sources import FORMATS, default_channels
from physioex.store import layout

DEFAULT_CHANNELS: dict[str, list[str]] = {
    fmt: list(channels) for fmt in FORMATS if (channels := default_channels(fmt)) is not None
}
"""Default channels per source format, as the datasets of that format declare them (``DatasetSpec``):
the literature's Fpz-Cz for Sleep-EDF; C3-M2 (in both DOD-H and DOD-O) for Dreem."""


@dataclass(frozen=True)
class PreprocessParams:
    """Everything that changes the stored content of a recording."""

    channels: tuple[str, ...] | None = None
    """Channel requests in store order; None = ``DEFAULT_CHANNELS`` of the source format. A request is
    an exact EDF label or a canonical name, or ``A|B`` alternatives in order of preference; its store
    name is its first alternative (``physioex.preprocess.channel_aliases``, docs/channels.md)."""
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
    channel_aliases: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    """A user's extra aliases (``--channel-aliases FILE``, loaded by ``channel_aliases.load_aliases``):
    ``(name, labels)`` pairs; a mapping is accepted and stored in this form. None: built-in table only."""

    def __post_init__(self) -> None:
        if isinstance(self.channel_aliases, Mapping):
            pairs = tuple((str(k), tuple(str(v) for v in vs)) for k, vs in self.channel_aliases.items())
            object.__setattr__(self, "channel_aliases", pairs or None)

    def aliases(self) -> dict[str, tuple[str, ...]] | None:
        """The user's extra aliases as ``{name: labels}`` (None when there are none)."""
        return {k: tuple(v) for k, v in self.channel_aliases} if self.channel_aliases else None

    def validate(self) -> None:
        """Raise ``InputError`` naming the first bad parameter (by its CLI option) and its value."""
        rate = float(self.sampling_rate)
        if not (math.isfinite(rate) and rate > 0):
            raise InputError(f"--sampling-rate {self.sampling_rate}: must be a positive rate in Hz, e.g. 100")
        per_epoch = rate * EPOCH_SECONDS
        if abs(per_epoch - round(per_epoch)) > 1e-6:
            raise InputError(
                f"--sampling-rate {self.sampling_rate}: a 30-s epoch must hold a whole number of samples "
                "(e.g. 100, 128 or 256 Hz)"
            )
        if isinstance(self.chunk_epochs, bool) or int(self.chunk_epochs) != self.chunk_epochs:
            raise InputError(f"--chunk-epochs {self.chunk_epochs}: must be a whole number of epochs")
        if self.chunk_epochs < 1:
            raise InputError(f"--chunk-epochs {self.chunk_epochs}: must be at least 1 epoch per chunk")
        if self.compression not in layout.COMPRESSIONS:
            raise InputError(
                f"--compression {self.compression!r}: unknown; choose one of {', '.join(layout.COMPRESSIONS)}"
            )
        if self.crop not in CROPS:
            raise InputError(f"--crop {self.crop!r}: unknown; choose one of {', '.join(CROPS)}")
        if not (math.isfinite(self.crop_minutes) and self.crop_minutes >= 0):
            raise InputError(f"--crop-minutes {self.crop_minutes}: must be 0 or more minutes")
        if self.bandpass is not None:
            text = ",".join(f"{v:g}" for v in self.bandpass)
            if len(self.bandpass) != 2:
                raise InputError(f"--bandpass {text}: expected LOW,HIGH in Hz, e.g. 0.3,35")
            low, high = (float(v) for v in self.bandpass)
            if not 0 < low < high < rate / 2:
                raise InputError(
                    f"--bandpass {text}: need 0 < LOW < HIGH < {rate / 2:g} Hz (half the sampling rate "
                    f"{rate:g} Hz), e.g. 0.3,35"
                )
        if self.channel_aliases is not None:
            check_aliases(self.aliases(), "--channel-aliases")
        if self.channels is not None:
            requests = [str(c) for c in self.channels]
            text = ",".join(requests)
            if not requests or any(
                not split_request(c) or any(not a.strip() for a in c.split("|")) for c in requests
            ):
                raise InputError(f"--channels {text!r}: empty channel name")
            names = [store_name(c) for c in requests]
            if len(set(names)) != len(names):
                raise InputError(
                    f"--channels {text!r}: a channel is named twice (a store channel is named "
                    "after the first alternative of its request)"
                )
            keys: dict[str, str] = {}
            for name in names:
                try:
                    key = layout.channel_key(name)
                except ValueError:
                    raise InputError(f"--channels: {name!r} cannot be used as a store key") from None
                if key in keys:
                    raise InputError(
                        f"--channels: {keys[key]!r} and {name!r} have the same store key {key!r}"
                    )
                keys[key] = name

    def resolved_channels(self, fmt: str) -> list[str]:
        """Channel requests for source format ``fmt`` (``channels`` or its defaults), as given."""
        if self.channels:
            return list(self.channels)
        if fmt not in DEFAULT_CHANNELS:
            raise InputError(f"no default channels for source format {fmt!r}; pass --channels")
        return list(DEFAULT_CHANNELS[fmt])

    def store_channels(self, fmt: str) -> list[str]:
        """Store channel names for ``fmt``: each request's first alternative (``C4-M1|C3-M2``: ``C4-M1``)."""
        return [store_name(c) for c in self.resolved_channels(fmt)]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, numbers normalised (``crop_minutes=10`` and ``10.0`` hash the same)."""
        d = asdict(self)
        d["channels"] = list(self.channels) if self.channels else None
        d["bandpass"] = [float(v) for v in self.bandpass] if self.bandpass else None
        d["sampling_rate"] = float(self.sampling_rate)
        d["crop_minutes"] = float(self.crop_minutes)
        d["chunk_epochs"] = int(self.chunk_epochs)
        d["allow_upsampling"] = bool(self.allow_upsampling)
        aliases = self.aliases()
        if aliases is None:
            del d["channel_aliases"]  # absent, as before user aliases existed (same hash)
        else:
            d["channel_aliases"] = {k: list(v) for k, v in aliases.items()}
        return d

    def hash(self, fmt: str) -> str:
        """sha256 of the parameters as applied to ``fmt`` (+ store format version)."""
        d = {**self.to_dict(), "channels": self.resolved_channels(fmt), "format": fmt}
        d["format_version"] = layout.FORMAT_VERSION
        if fmt != "dreem" and uses_resolution(self.resolved_channels(fmt), self.aliases()):
            d["channel_rules"] = ALIAS_RULES_VERSION  # the alias table decides what such requests read
        if self.allow_upsampling:  # the upsampling rule changes what an upsampled channel holds
            from physioex.preprocess.signals import UPSAMPLING_RULE

            d["upsampling"] = UPSAMPLING_RULE
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

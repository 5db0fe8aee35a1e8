"""Dreem open datasets DOD-H (healthy) and DOD-O (obstructive sleep apnea): one ``<uuid>.h5`` per night.

The original public buckets are gone (2025, design.md section 2), so the mirror is a setting: a URL or
local folder holding the ``.h5`` files and a ``SHA256SUMS.txt``. Each record is its own subject
(the UUID), night 1.
"""

from __future__ import annotations

import os

from physioex.sources.base import Recording, Selection, Source

NO_PUBLIC_MIRROR = (
    "{title} has no public download location any more: Dreem's original S3 buckets were removed "
    "in 2025. Pass --mirror URL-or-folder (a folder or web address holding the <uuid>.h5 files "
    "and, for web addresses, a SHA256SUMS.txt made with `sha256sum *.h5 > SHA256SUMS.txt`), "
    "or set the environment variable {env}."
)


class DreemSource(Source):
    """All records of a Dreem dataset found in the mirror listing (``*.h5``)."""

    listing_from_glob = "*.h5"
    """A local mirror folder without ``SHA256SUMS.txt`` gets its listing by hashing these files."""

    def __init__(self, name: str, *, title: str, env: str | None = None, subdir: str = "") -> None:
        self.name = name
        self.title = title
        self.env = env
        self.mirror_subdir = subdir
        """Sub-folder of the mirror that holds the Dreem tree (``"dreem"`` inside the demo mirror)."""

    def __repr__(self) -> str:
        return f"DreemSource({self.name!r})"

    @property
    def default_mirror(self) -> str:  # type: ignore[override]
        """``$PHYSIOEX_<NAME>_MIRROR`` if set, else ``""`` (no public mirror exists)."""
        return os.environ.get(self.env, "") if self.env else ""

    def missing_mirror_message(self) -> str:
        """Why there is no default mirror and what to provide instead."""
        return NO_PUBLIC_MIRROR.format(title=self.title, env=self.env or "(none)")

    def select(
        self, listing: dict[str, str], subjects: list[int] | None = None, nights: list[int] | None = None
    ) -> Selection:
        """Every ``.h5`` entry is one record (subject = UUID, night 1); pick by sorted index."""
        records = sorted(
            (
                Recording(
                    id=path.rpartition("/")[2].removesuffix(".h5"),
                    subject=path.rpartition("/")[2].removesuffix(".h5"),
                    night=1,
                    files={"h5": path},
                    format="dreem",
                )
                for path in listing
                if path.endswith(".h5")
            ),
            key=lambda r: (r.id, r.files["h5"]),
        )
        if nights is not None and 1 not in nights:
            records = []
        if subjects is not None:
            bad = sorted(i for i in set(subjects) if not 0 <= i < len(records))
            if bad:
                raise ValueError(
                    f"{self.name}: subject indices {', '.join(map(str, bad))} out of range; the listing "
                    f"holds {len(records)} records (indices 0-{len(records) - 1}, sorted by UUID)"
                )
            records = [records[i] for i in sorted(set(subjects))]
        return Selection(recordings=records)

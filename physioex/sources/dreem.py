"""Dreem open datasets DOD-H (healthy) and DOD-O (obstructive sleep apnea): one ``<uuid>.h5`` per night.

The original public buckets are gone (2025, docs/conventions.md section 2), so the mirror is a setting:
a URL or local folder holding the ``.h5`` files and a ``SHA256SUMS.txt``. Each record is its own
subject (the UUID), night 1.
"""

from __future__ import annotations

from functools import partial

from physioex.sources.base import DatasetSpec, Recording, Selection, Source

NO_PUBLIC_MIRROR = (
    "{name} ({title}) has no public download location any more: Dreem's original S3 buckets were removed "
    "in 2025. Pass --mirror URL-or-folder (a folder or web address holding the <uuid>.h5 files "
    "and, for web addresses, a SHA256SUMS.txt made with `sha256sum *.h5 > SHA256SUMS.txt`), "
    "or set the environment variable {env}."
)


class DreemSource(Source):
    """All records of a Dreem dataset found in the mirror listing (``*.h5``)."""

    listing_from_glob = "*.h5"
    """A local mirror folder without ``SHA256SUMS.txt`` gets its listing by hashing these files."""

    def __init__(self, spec: DatasetSpec) -> None:
        super().__init__(spec)
        self.env = spec.mirror_env
        self.mirror_subdir = spec.folder
        """Sub-folder of the mirror that holds the Dreem tree (``"dreem"`` inside the demo mirror)."""

    def missing_mirror_message(self) -> str:
        """Why there is no default mirror and what to provide instead."""
        return NO_PUBLIC_MIRROR.format(name=self.name, title=self.title, env=self.env or "(none)")

    def select(
        self, listing: dict[str, str], subjects: list[int] | None = None, nights: list[int] | None = None
    ) -> Selection:
        """Every ``.h5`` entry is one record (subject = UUID, night 1); pick by sorted index.

        Without ``subjects``, the spec's ``subjects`` (record indices) if it has any, else every record.
        """
        records = sorted(
            (
                Recording(
                    id=path.rpartition("/")[2].removesuffix(".h5"),
                    subject=path.rpartition("/")[2].removesuffix(".h5"),
                    night=1,
                    files={"h5": path},
                    format=self.spec.format,
                )
                for path in listing
                if path.endswith(".h5")
            ),
            key=lambda r: (r.id, r.files["h5"]),
        )
        if nights is not None and 1 not in nights:
            records = []
        if subjects is None and self.spec.subjects is not None:
            subjects = list(self.spec.subjects)
        if subjects is not None:
            bad = sorted(i for i in set(subjects) if not 0 <= i < len(records))
            if bad:
                raise ValueError(
                    f"{self.name}: subject indices {', '.join(map(str, bad))} out of range; the listing "
                    f"holds {len(records)} records (indices 0-{len(records) - 1}, sorted by UUID)"
                )
            records = [records[i] for i in sorted(set(subjects))]
        return Selection(recordings=records)


dreem_spec = partial(DatasetSpec, source=DreemSource, format="dreem", channels=("C3_M2",))
"""``DatasetSpec`` of a dataset in Dreem's HDF5 layout (C3-M2 channel); the demo uses it too."""

SPECS: tuple[DatasetSpec, ...] = (
    dreem_spec(
        name="dodo",
        title="Dreem Open Dataset DOD-O, 55 patients with obstructive sleep apnea",
        mirror_env="PHYSIOEX_DODO_MIRROR",
        legacy=(("dreem", "dodo"),),
    ),
    dreem_spec(
        name="dodh",
        title="Dreem Open Dataset DOD-H, 25 healthy adults",
        mirror_env="PHYSIOEX_DODH_MIRROR",
        legacy=(("dreem", "dodh"),),
    ),
)
"""Dreem's datasets: no public mirror left; C3-M2, in both and the AASM-recommended central derivation."""

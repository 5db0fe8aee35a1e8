"""Read-only access to a Zarr epoch store: recordings, channels, signals in uV, labels and folds.

Only recordings listed in the root index (written last by ``physioex preprocess``) are visible.
Stored data is checked before it is used, so damage is an error and never a value:

- ``open_store`` validates the root ``zarr.json`` and, by default, every indexed recording: its
  folder and ``zarr.json`` exist and are valid JSON, its ``params_hash`` equals the root's, and one
  listing of the recording holds every chunk of its manifest with the recorded size;
- a recording is checked the same way (once, cached) before its first read in a process that did not
  check it at open (e.g. a DataLoader worker that unpickled the store);
- every chunk read goes through the crc32c codec; a failure names the chunk.

Each problem raises a ``StoreError`` (a ``RunError``) whose one-line message names the store,
recording, array and chunk and what to do. Remote stores get timeouts and bounded retries
(``physioex.store.remote``). An ``EpochStore`` pickles as its location only, so it can be handed to
DataLoader worker processes.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from physioex.store import layout, remote
from physioex.store.errors import (
    REPAIR,
    MissingChunkError,
    ParamsMismatchError,
    RecordingMissingError,
    StoreCorruptError,
    StoreError,
    StoreNotFoundError,
    UnknownRecordingError,
    where,
)
from physioex.store.folds import Fold, sort_subjects
from physioex.store.manifest import MANIFEST_KEY, compare, expected_grid

__all__ = ["EpochStore", "StoreError", "StoreNotFoundError", "open_store"]

T = TypeVar("T")


@dataclass
class _Recording:
    """A checked recording: its attributes and (once opened) its zarr arrays."""

    attrs: dict[str, Any]
    signals: list[Any] | None = None
    labels: Any = None


class EpochStore:
    """A physioex epoch store opened read-only (see ``open_store``)."""

    def __init__(
        self,
        location: str,
        storage_options: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        check: bool = True,
    ) -> None:
        self.location = location
        self.storage_options = storage_options
        self.timeout = timeout
        self._load()
        if check:
            self.check_recordings()

    # -- opening -------------------------------------------------------------------------------
    def _load(self) -> None:
        import zarr
        from zarr.storage import LocalStore

        self._timeout = remote.store_timeout(self.timeout)
        self._remote = remote.is_remote(self.location)
        self.name = remote.redact(self.location)
        """The location as shown in messages (a URL without credentials)."""
        self._recs: dict[str, _Recording] = {}
        if self._remote:
            self._zstore = remote.open_fsspec_store(self.location, self.storage_options, self._timeout)
        else:
            path = Path(self.location.removeprefix("file://"))
            if not (path / "zarr.json").is_file():
                what = "does not exist" if not path.exists() else "is not a Zarr store (no zarr.json)"
                raise StoreNotFoundError(
                    f"store {self.name} {what}; check the path, or create it with `physioex preprocess`"
                )
            self._zstore = LocalStore(path, read_only=True)
        meta = self._read_json("zarr.json")
        if meta is None:
            raise StoreNotFoundError(
                f"store {self.name}: no Zarr store there (no zarr.json); check the URL or path, or create "
                "it with `physioex preprocess`"
            )
        attrs = meta.get("attributes")
        version = attrs.get("format_version") if isinstance(attrs, dict) else None
        if (
            meta.get("node_type") != "group"
            or not isinstance(attrs, dict)
            or version is None
            or ("recordings" not in attrs)
        ):
            raise StoreError(
                f"store {self.name} is not a complete physioex store (no format_version/recording index); "
                "re-run `physioex preprocess`"
            )
        if version != layout.FORMAT_VERSION:
            raise StoreError(
                f"store {self.name} has format_version {version}; this physioex reads "
                f"{layout.FORMAT_VERSION}; re-run `physioex preprocess` with this version"
            )
        self._root = self._io(
            lambda: zarr.open_group(store=self._zstore, mode="r", zarr_format=3), "opening the root group"
        )
        self._attrs: dict[str, Any] = attrs
        self._index: dict[str, dict[str, Any]] = attrs["recordings"]

    def __getstate__(self) -> dict[str, Any]:
        return {"location": self.location, "storage_options": self.storage_options, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.location = state["location"]
        self.storage_options = state["storage_options"]
        self.timeout = state.get("timeout")
        self._load()  # recordings are checked lazily, before their first read

    def __repr__(self) -> str:
        return f"EpochStore({self.name!r}, {len(self._index)} recordings, channels={self.channels})"

    # -- low-level access (local or remote, with timeouts and retries) -------------------------
    def _io(self, fn: Callable[[], T], what: str) -> T:
        if not self._remote:
            return fn()
        return remote.call(fn, url=self.location, what=what, timeout=self._timeout)

    def _gather(self, coros: Callable[[], list[Any]], what: str) -> list[Any]:
        """Run the coroutines made by ``coros`` concurrently; raise the first exception after all end."""
        from zarr.core.sync import sync

        async def run() -> list[Any]:
            return await asyncio.gather(*coros(), return_exceptions=True)

        def once() -> list[Any]:
            results = sync(run())
            for r in results:
                if isinstance(r, BaseException) and not isinstance(r, FileNotFoundError):
                    raise r
            return results

        return self._io(once, what)

    def _read_bytes(self, keys: list[str], what: str) -> list[bytes | None]:
        from zarr.core.buffer import default_buffer_prototype

        proto = default_buffer_prototype()
        results = self._gather(lambda: [self._zstore.get(k, proto) for k in keys], what)
        return [None if r is None or isinstance(r, BaseException) else r.to_bytes() for r in results]

    def _parse_json(self, key: str, data: bytes | None, rec: str | None = None) -> dict[str, Any] | None:
        if data is None:
            return None
        try:
            meta = json.loads(data)
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
            return meta
        except (ValueError, UnicodeDecodeError) as exc:
            fix = REPAIR if rec is not None else "re-run `physioex preprocess` (or `dvc pull`)"
            raise StoreCorruptError(
                f"{where(self.name, rec)}: {key} is not valid JSON ({str(exc).splitlines()[0]}; truncated or "
                f"overwritten?); {fix}"
            ) from None

    def _read_json(self, key: str, rec: str | None = None) -> dict[str, Any] | None:
        return self._parse_json(key, self._read_bytes([key], f"reading {key}")[0], rec)

    def _list_files(self, prefix: str) -> dict[str, int] | None:
        """Path (relative to ``prefix``) -> size of every file under ``prefix``; None if not listable."""
        from zarr.core.sync import sync
        from zarr.storage import LocalStore

        from physioex.store.manifest import local_files

        if isinstance(self._zstore, LocalStore):
            folder = Path(self._zstore.root) / prefix
            return local_files(folder) if folder.is_dir() else {}
        fs = self._zstore.fs
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        if protocol in ("http", "https"):
            return None
        base = f"{self._zstore.path.rstrip('/')}/{prefix}"

        def find() -> dict[str, int]:
            try:
                found = sync(fs._find(base, detail=True, withdirs=False))
            except FileNotFoundError:
                return {}
            return {p.removeprefix(base + "/"): int(i.get("size") or 0) for p, i in found.items()}

        return self._io(find, f"listing {prefix}")

    def _sizes(self, keys: list[str], what: str) -> dict[str, int]:
        """Sizes of those ``keys`` that exist (for stores that cannot be listed, e.g. plain HTTP)."""
        results = self._gather(lambda: [self._zstore.getsize(k) for k in keys], what)
        return {k: int(r) for k, r in zip(keys, results, strict=True) if not isinstance(r, BaseException)}

    # -- integrity -----------------------------------------------------------------------------
    def recording_problems(self, rec: str) -> list[StoreError]:
        """Everything wrong with ``rec``'s folder, attributes and chunk files (empty when sound)."""
        key = f"{layout.recording_path(rec)}/zarr.json"
        try:
            meta = self._read_json(key, rec)
        except StoreCorruptError as exc:
            return [exc]
        return self._problems(rec, meta, None)

    def _problems(
        self, rec: str, meta: dict[str, Any] | None, files: dict[str, int] | None
    ) -> list[StoreError]:
        """Problems of ``rec`` given its parsed ``zarr.json`` (None: absent) and listing (None: list now)."""
        base = layout.recording_path(rec)
        if meta is None:
            return [
                RecordingMissingError(
                    f"{where(self.name, rec)}: listed in the store's index but its folder {base} (or its "
                    f"zarr.json) is missing; {REPAIR}"
                )
            ]
        attrs = meta.get("attributes") or {}
        problems: list[StoreError] = []
        store_hash, rec_hash = self._attrs.get("params_hash"), attrs.get("params_hash")
        if store_hash is not None and rec_hash != store_hash:
            got = f"params_hash {str(rec_hash)[:12]}" if rec_hash else "no params_hash"
            problems.append(
                ParamsMismatchError(
                    f"{where(self.name, rec)}: preprocessed with other parameters ({got}, the store has "
                    f"{str(store_hash)[:12]}); one store holds one set of parameters: re-run `physioex "
                    "preprocess` over the whole store"
                )
            )
        expected, fallback = self._expected_chunks(rec, attrs)
        problems += fallback
        if files is None:
            files = self._list_files(base)
        if files is None:
            keys = [f"{a}/zarr.json" for a in expected]
            keys += [f"{a}/{k}" for a, chunks in expected.items() for k in chunks]
            files = {
                k.removeprefix(base + "/"): v
                for k, v in self._sizes([f"{base}/{k}" for k in keys], f"checking {base}").items()
            }
        legacy = MANIFEST_KEY not in attrs
        for array, chunk, what in compare(expected, files):
            if chunk is None:
                problems.append(StoreCorruptError(f"{where(self.name, rec, array)}: {what}; {REPAIR}"))
                continue
            note = (
                " (this recording has no chunk manifest: it was written before physioex recorded one, so "
                "the chunk may also be an all-zero chunk zarr skipped)"
                if legacy
                else ""
            )
            msg = f"{where(self.name, rec, array, chunk)}: {what}{note}; {REPAIR}"
            problems.append(MissingChunkError(msg))
        return problems

    def _expected_chunks(
        self, rec: str, attrs: dict[str, Any]
    ) -> tuple[dict[str, dict[str, int | None]], list[StoreError]]:
        """Chunks ``rec`` must hold: its manifest, or (older stores) each array's full chunk grid."""
        base = layout.recording_path(rec)
        needed = [layout.LABELS] + [f"{layout.SIGNALS}/{k}" for k in self.channel_keys]
        manifest = attrs.get(MANIFEST_KEY)
        if isinstance(manifest, dict) and isinstance(manifest.get("arrays"), dict):
            arrays = {str(a): dict(c) for a, c in manifest["arrays"].items()}
            missing = [a for a in needed if a not in arrays]
            problems: list[StoreError] = [
                StoreCorruptError(f"{where(self.name, rec, a)}: not in the recording's manifest; {REPAIR}")
                for a in missing
            ]
            return arrays, problems
        expected: dict[str, dict[str, int | None]] = {}
        problems = []
        raw = self._read_bytes([f"{base}/{a}/zarr.json" for a in needed], f"reading the arrays of {rec}")
        for array, data in zip(needed, raw, strict=True):
            if data is None:
                expected[array] = {}  # reported by ``compare`` as a missing zarr.json
                continue
            try:
                meta = self._parse_json(f"{base}/{array}/zarr.json", data, rec) or {}
                expected[array] = dict.fromkeys(expected_grid(meta))
            except StoreCorruptError as exc:
                problems.append(exc)
            except (KeyError, TypeError, ValueError):
                problems.append(
                    StoreCorruptError(
                        f"{where(self.name, rec, array)}: its zarr.json has no chunk grid; {REPAIR}"
                    )
                )
        return expected, problems

    def check_recordings(self, recordings: Iterable[str] | None = None) -> None:
        """Check ``recordings`` (default all): folders, ``zarr.json``, params hashes, manifest vs files.

        Costs one concurrent read of the recordings' ``zarr.json`` and one listing of ``recordings/``;
        raises the first problem (all params-hash mismatches in one message). ``verify_store`` reports
        every problem instead. Checked recordings are not checked again before their first read.
        """
        recs = sorted(self._index) if recordings is None else [r for r in recordings if r not in self._recs]
        for rec in recs:
            self._check(rec)
        problems, metas = self.problems_of(recs)
        mismatched = [p for p in problems if isinstance(p, ParamsMismatchError)]
        if len(mismatched) > 1:
            names = sorted(r for r in recs if any(f"recording {r}:" in str(p) for p in mismatched))
            raise ParamsMismatchError(
                f"store {self.name}: recordings {', '.join(names)} were preprocessed with other parameters "
                f"than the store (params_hash {str(self._attrs.get('params_hash'))[:12]}); one store holds "
                "one set of parameters: re-run `physioex preprocess` over the whole store"
            )
        if problems:
            raise problems[0]
        for rec, meta in metas.items():
            self._recs.setdefault(rec, _Recording(attrs=dict(meta.get("attributes") or {})))

    def problems_of(self, recs: list[str]) -> tuple[list[StoreError], dict[str, dict[str, Any]]]:
        """Problems of ``recs`` (in order) and the parsed ``zarr.json`` of the readable ones."""
        keys = [f"{layout.recording_path(r)}/zarr.json" for r in recs]
        raw = self._read_bytes(keys, "reading the recordings' zarr.json") if recs else []
        listing = self._list_files(layout.RECORDINGS) if recs else None
        problems: list[StoreError] = []
        metas: dict[str, dict[str, Any]] = {}
        for rec, key, data in zip(recs, keys, raw, strict=True):
            try:
                meta = self._parse_json(key, data, rec)
            except StoreCorruptError as exc:
                problems.append(exc)
                continue
            files = None
            if listing is not None:
                files = {k[len(rec) + 1 :]: v for k, v in listing.items() if k.startswith(rec + "/")}
            found = self._problems(rec, meta, files)
            problems += found
            if meta is not None and not found:
                metas[rec] = meta
        return problems, metas

    def _recording(self, rec: str) -> _Recording:
        """The checked recording (checked on first use), with its arrays opened."""
        self._check(rec)
        entry = self._recs.get(rec)
        if entry is None:
            self.check_recordings([rec])
            entry = self._recs[rec]
        if entry.labels is None:
            self._open_arrays(rec, entry)
        return entry

    def _open_arrays(self, rec: str, entry: _Recording) -> None:
        base = layout.recording_path(rec)
        n = self.n_epochs(rec)

        def open_one(array: str, shape: tuple[int, ...]) -> Any:
            import zarr

            def op() -> Any:
                with layout.quiet_numcodecs():
                    path = f"{base}/{array}"
                    return zarr.open_array(store=self._zstore, path=path, mode="r", zarr_format=3)

            try:
                arr = self._io(op, f"opening {base}/{array}")
            except (StoreError, MemoryError):
                raise
            except Exception as exc:
                raise StoreCorruptError(
                    f"{where(self.name, rec, array)}: its zarr.json is unreadable ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else ''}); {REPAIR}"
                ) from None
            if tuple(arr.shape) != shape:
                raise StoreCorruptError(
                    f"{where(self.name, rec, array)}: shape {tuple(arr.shape)}, the index says {shape}; "
                    f"{REPAIR}"
                )
            return arr

        spe = self.samples_per_epoch
        signals = [open_one(f"{layout.SIGNALS}/{k}", (n, spe)) for k in self.channel_keys]
        entry.labels = open_one(layout.LABELS, (n,))
        entry.signals = signals

    def _read(self, rec: str, array: str, arr: Any, start: int, stop: int) -> np.ndarray:
        """``arr[start:stop]``; a chunk that cannot be read or decoded raises naming that chunk."""
        what = f"reading {layout.recording_path(rec)}/{array}"
        try:
            return self._io(lambda: arr[start:stop], what)
        except (StoreError, MemoryError):
            raise
        except Exception as first:
            size = int(arr.chunks[0])
            for i in range(start // size, max(start, stop - 1) // size + 1):
                coords = (i,) + (0,) * (arr.ndim - 1)
                try:
                    self._io(functools.partial(_chunk_rows, arr, i * size, (i + 1) * size), what)
                except (StoreError, MemoryError):
                    raise
                except Exception as exc:
                    key = arr.metadata.encode_chunk_key(coords)
                    raise StoreCorruptError(
                        f"{where(self.name, rec, array, key)}: {_decode_problem(exc)}; {REPAIR}"
                    ) from None
            raise StoreCorruptError(
                f"{where(self.name, rec, array)}: epochs {start}:{stop} cannot be read "
                f"({_decode_problem(first)}); {REPAIR}"
            ) from None

    # -- global properties ---------------------------------------------------------------------
    @property
    def attrs(self) -> dict[str, Any]:
        """Root attributes: format_version, dataset, channels, sampling_rate, preprocessing, folds, ..."""
        return dict(self._attrs)

    @property
    def dataset(self) -> str:
        return str(self._attrs.get("dataset", ""))

    @property
    def recordings(self) -> list[str]:
        """Sorted ids of the complete recordings."""
        return sorted(self._index)

    @property
    def channels(self) -> list[str]:
        """Channel names in the order of the channel axis of ``signals``."""
        return list(self._attrs["channels"])

    @property
    def channel_keys(self) -> list[str]:
        """Array names of the channels (``signals/<key>``), in channel order."""
        keys = self._attrs.get("channel_keys")
        return list(keys) if keys else [layout.channel_key(c) for c in self.channels]

    @property
    def sampling_rate(self) -> float:
        """Common sampling rate of all stored signals, Hz."""
        return float(self._attrs["sampling_rate"])

    @property
    def samples_per_epoch(self) -> int:
        """Samples per 30-s epoch and channel (3000 at 100 Hz)."""
        return int(self._attrs["samples_per_epoch"])

    @property
    def subjects(self) -> list[str]:
        """Sorted subject ids that have at least one recording."""
        return sort_subjects(str(v["subject"]) for v in self._index.values())

    @property
    def folds(self) -> list[Fold]:
        """Subject-wise cross-validation folds (empty when there are fewer than 3 subjects)."""
        return [Fold.from_dict(d) for d in self._attrs.get("folds", [])]

    def fold(self, i: int) -> Fold:
        folds = self.folds
        if not 0 <= i < len(folds):
            raise IndexError(f"fold {i} does not exist; {self.name} has {len(folds)} folds")
        return folds[i]

    # -- per recording -------------------------------------------------------------------------
    def _check(self, rec: str) -> None:
        if rec not in self._index:
            raise UnknownRecordingError(
                f"recording {rec!r} is not in store {self.name}; it has {len(self._index)} recordings "
                f"({', '.join(sorted(self._index)[:5])}{', ...' if len(self._index) > 5 else ''})"
            )

    def recording_info(self, rec: str) -> dict[str, Any]:
        """Per-recording attributes: subject, night, n_epochs, start_time, files (+sha256), crop, ..."""
        self._check(rec)
        entry = self._recs.get(rec)
        if entry is None:
            self.check_recordings([rec])
            entry = self._recs[rec]
        return dict(entry.attrs)

    def n_epochs(self, rec: str) -> int:
        """Number of stored epochs of ``rec`` (consecutive in time)."""
        self._check(rec)
        return int(self._index[rec]["n_epochs"])

    def subject_of(self, rec: str) -> str:
        self._check(rec)
        return str(self._index[rec]["subject"])

    def recordings_of(self, subjects: Iterable[str | int]) -> list[str]:
        """Sorted recordings belonging to any of ``subjects``."""
        wanted = {str(s) for s in subjects}
        return sorted(r for r, v in self._index.items() if str(v["subject"]) in wanted)

    def signals(self, rec: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Epochs ``start:stop`` of ``rec``: float32 ``(epochs, channels, samples)``, physical units (uV)."""
        entry = self._recording(rec)
        assert entry.signals is not None
        lo, hi, _ = slice(start, stop).indices(self.n_epochs(rec))
        hi = max(lo, hi)
        out = np.empty((hi - lo, len(entry.signals), self.samples_per_epoch), dtype=np.float32)
        for c, (key, arr) in enumerate(zip(self.channel_keys, entry.signals, strict=True)):
            out[:, c, :] = self._read(rec, f"{layout.SIGNALS}/{key}", arr, lo, hi)
        return out

    def labels(self, rec: str) -> np.ndarray:
        """Stage per epoch, int8 ``(epochs,)``: 0 W, 1 N1, 2 N2, 3 N3, 4 REM, -1 unscored, -2 movement."""
        entry = self._recording(rec)
        n = self.n_epochs(rec)
        return np.asarray(self._read(rec, layout.LABELS, entry.labels, 0, n), dtype=np.int8)

    def arrays(self, rec: str) -> dict[str, Any]:
        """The checked recording's zarr arrays by name: ``labels``, ``signals/<key>`` in channel order."""
        entry = self._recording(rec)
        assert entry.signals is not None
        out = {layout.LABELS: entry.labels}
        for key, arr in zip(self.channel_keys, entry.signals, strict=True):
            out[f"{layout.SIGNALS}/{key}"] = arr
        return out

    def read_chunk(self, rec: str, array: str, index: int) -> np.ndarray:
        """Chunk ``index`` (along epochs) of ``array`` (``labels`` or ``signals/<key>``), decoded."""
        arr = self.arrays(rec)[array]
        size = int(arr.chunks[0])
        return self._read(rec, array, arr, index * size, min((index + 1) * size, int(arr.shape[0])))


def _decode_problem(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "checksum" in text.lower():
        return "fails its crc32c checksum (the chunk file is corrupt)"
    return f"cannot be decoded ({type(exc).__name__}: {text[:160]})"


def open_store(
    path: str | Path,
    storage_options: dict[str, Any] | None = None,
    *,
    timeout: float | None = None,
    check: bool = True,
) -> EpochStore:
    """Open a store read-only from a local path or an fsspec URL (``s3://...``, ``http://...``).

    ``timeout`` (s) bounds each connect and read of a remote store (default ``$PHYSIOEX_STORE_TIMEOUT``
    or 20). ``check`` checks every recording now (cheap: one listing); otherwise each recording is
    checked before its first read. Raises ``StoreNotFoundError`` (an ``InputError``) when nothing is
    there and other ``StoreError`` s (``RunError``) for damaged or unreachable stores.
    """
    return EpochStore(str(path), storage_options, timeout=timeout, check=check)


def _chunk_rows(arr: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of ``arr`` (one chunk), for retried remote reads."""
    return arr[start:stop]

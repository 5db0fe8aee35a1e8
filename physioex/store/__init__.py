"""The Zarr epoch store: 30-s epochs of every recording in physical units (uV), labels and folds.

Read with ``open_store(path_or_url)``; the layout is documented in ``docs/store-format.md`` and is
also readable with plain ``zarr.open``. Writing happens in ``physioex.store.writer`` (used by
``physioex preprocess``). Damaged or unreachable stores raise ``StoreError`` s naming the store,
recording, array and chunk (``physioex.store.errors``); ``physioex.store.verify.verify_store`` checks a
whole store. Zarr's warning that the FixedScaleOffset filter is outside the v3 spec is silenced only
around our own zarr calls (``layout.quiet_numcodecs``); importing this package changes no warning filter.
"""

from __future__ import annotations

from physioex.store.errors import StoreError, StoreNotFoundError
from physioex.store.folds import Fold, make_folds
from physioex.store.layout import FORMAT_VERSION, LABEL_MOVEMENT, LABEL_UNSCORED
from physioex.store.reader import EpochStore, open_store

__all__ = [
    "FORMAT_VERSION",
    "LABEL_MOVEMENT",
    "LABEL_UNSCORED",
    "EpochStore",
    "Fold",
    "StoreError",
    "StoreNotFoundError",
    "make_folds",
    "open_store",
]

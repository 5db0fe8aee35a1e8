"""The Zarr epoch store: 30-s epochs of every recording in physical units (uV), labels and folds.

Read with ``open_store(path_or_url)``; the layout is documented in ``docs/store-format.md`` and is
also readable with plain ``zarr.open``. Writing happens in ``physioex.store.writer`` (used by
``physioex preprocess``). Damaged or unreachable stores raise ``StoreError`` s naming the store,
recording, array and chunk (``physioex.store.errors``); ``physioex.store.verify.verify_store`` checks a
whole store.
"""

from __future__ import annotations

import warnings

from physioex.store.errors import StoreError, StoreNotFoundError
from physioex.store.folds import Fold, make_folds
from physioex.store.layout import FORMAT_VERSION, LABEL_MOVEMENT, LABEL_UNSCORED
from physioex.store.reader import EpochStore, open_store

# The store uses numcodecs' FixedScaleOffset filter (lossless int16 EDF codes) on purpose; zarr warns
# that numcodecs codecs are outside the v3 spec every time such an array is opened.
warnings.filterwarnings("ignore", message="Numcodecs codecs are not in the Zarr version 3 specification")

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

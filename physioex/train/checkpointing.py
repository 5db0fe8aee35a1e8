"""A ``ModelCheckpoint`` whose saved state does not depend on where the fold folder lives.

Lightning's ``ModelCheckpoint`` stores its folder and the paths of the best, k-th best and last
checkpoints as absolute paths inside every checkpoint it writes, so the same run in another clone
(another absolute path) writes ``best.ckpt``/``last.ckpt`` with different bytes and DVC sees a new
model. :class:`FolderCheckpoint` stores those paths relative to its own folder (``dirpath`` becomes
``"."``) and turns them back into paths inside its current folder when ``--resume`` loads them, so
the files are byte-identical wherever the run happens and a moved fold folder still resumes fully.
"""

from __future__ import annotations

import os
from typing import Any

from pytorch_lightning.callbacks import ModelCheckpoint

HERE = "."
"""The ``dirpath`` written into checkpoints: "the folder this checkpoint was saved in"."""

_PATH_KEYS = ("best_model_path", "kth_best_model_path", "last_model_path")


class FolderCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` with folder-relative paths in its saved state (see the module docstring)."""

    @property
    def state_key(self) -> str:
        """Lightning's key for a plain ``ModelCheckpoint`` with these settings, so ``--resume`` from a
        ``last.ckpt`` written before this class existed still restores the best score."""
        return super().state_key.replace(type(self).__qualname__, ModelCheckpoint.__qualname__, 1)

    def _relative(self, path: str) -> str:
        """``path`` relative to ``dirpath`` when it lies inside it (an empty path stays empty)."""
        if not path or self.dirpath is None:
            return path
        rel = os.path.relpath(path, self.dirpath)
        return path if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel

    def _absolute(self, path: str) -> str:
        """The inverse of :meth:`_relative` for the current ``dirpath``."""
        if not path or os.path.isabs(path) or self.dirpath is None:
            return path
        return os.path.join(self.dirpath, path)

    def state_dict(self) -> dict[str, Any]:
        """Lightning's state with ``dirpath`` as ``"."`` and every checkpoint path folder-relative."""
        state = super().state_dict()
        state["dirpath"] = HERE
        for key in _PATH_KEYS:
            state[key] = self._relative(state[key])
        state["best_k_models"] = {self._relative(k): v for k, v in state["best_k_models"].items()}
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state written by :meth:`state_dict` (relative paths, read against the current
        folder) or by a plain ``ModelCheckpoint`` (absolute paths, Lightning's own rules)."""
        if state_dict.get("dirpath") == HERE:
            state_dict = dict(state_dict)
            state_dict["dirpath"] = self.dirpath
            for key in _PATH_KEYS:
                if key in state_dict:
                    state_dict[key] = self._absolute(state_dict[key])
            if "best_k_models" in state_dict:
                state_dict["best_k_models"] = {
                    self._absolute(k): v for k, v in state_dict["best_k_models"].items()
                }
        super().load_state_dict(state_dict)

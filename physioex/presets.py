"""Dataset presets (``pipelines/*.yaml``): per-command option defaults for one dataset.

A preset has one section per command (``download``, ``preprocess``, ``train``, ...)
whose keys are the command's option names, written with dashes as on the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def load_preset(path: Path) -> dict[str, dict[str, Any]]:
    """Read a preset into Click's ``default_map`` shape: ``{command: {param_name: value}}``."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a preset must be a mapping of command names to option defaults")
    out: dict[str, dict[str, Any]] = {}
    for command, options in data.items():
        if options is None:
            continue
        if not isinstance(options, dict):
            raise ValueError(f"{path}: section {command!r} must be a mapping of option names to values")
        out[str(command)] = {str(k).replace("-", "_"): v for k, v in options.items()}
    return out

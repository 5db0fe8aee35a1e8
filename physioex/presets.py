"""Dataset presets (``pipelines/*.yaml``): per-command option defaults for one dataset.

A preset has one section per command (``download``, ``preprocess``, ``train``, ...)
whose keys are the command's option names, written with dashes as on the command line.
A section for an unknown command, or a key that is not an option of its command, is an error
(``InputError`` naming the file, the section and the key), never silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from physioex.errors import InputError


def _close(name: str, known: Iterable[str]) -> str:
    import difflib

    match = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {match[0]}?)" if match else ""


def load_preset(path: Path, commands: Mapping[str, Iterable[str]] | None = None) -> dict[str, dict[str, Any]]:
    """Read a preset into Click's ``default_map`` shape: ``{command: {param_name: value}}``.

    ``commands`` (optional, see ``preset_commands``) maps each command to its option names; when
    given, every section and key is checked against it (``validate_preset``).
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise InputError(f"{path}: is not valid YAML{at}: {problem}; fix the preset") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as a preset ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a preset must be a mapping of command names to option defaults")
    out: dict[str, dict[str, Any]] = {}
    for command, options in data.items():
        if options is None:
            continue
        if not isinstance(options, dict):
            raise InputError(f"{path}: section {command!r} must be a mapping of option names to values")
        out[str(command)] = {str(k).replace("-", "_"): v for k, v in options.items()}
    if commands is not None:
        validate_preset(out, commands, path)
    return out


def validate_preset(
    defaults: Mapping[str, Mapping[str, Any]], commands: Mapping[str, Iterable[str]], path: str | Path
) -> None:
    """``InputError`` for a section naming no command or a key naming no option of its command."""
    for command, options in defaults.items():
        if command not in commands:
            raise InputError(
                f"{path}: section {command!r} names no physioex command{_close(command, commands)}; "
                f"commands: {', '.join(commands)}"
            )
        known = list(commands[command])
        for key in options:
            if key not in known:
                dashed = [k.replace("_", "-") for k in known]
                name = key.replace("_", "-")
                raise InputError(
                    f"{path}: {command}.{name}: not an option of `physioex {command}`{_close(name, dashed)}; "
                    f"its options: {', '.join(dashed)}"
                )


def preset_commands(group: Any) -> dict[str, list[str]]:
    """``{command: [option names]}`` of a Click/Typer group (the options a preset section may set)."""
    return {
        name: [p.name for p in cmd.params if getattr(p, "param_type_name", "") == "option" and p.name]
        for name, cmd in group.commands.items()
    }

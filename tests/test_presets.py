"""Dataset presets (pipelines/*.yaml) become option defaults; bad presets give a clear usage error."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from physioex.cli import app
from physioex.presets import load_preset

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("preset", sorted((ROOT / "pipelines").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_preset_names_real_options(preset: Path) -> None:
    import typer.core
    import typer.main

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for command, defaults in load_preset(preset).items():
        names = {p.name for p in commands[command].params if isinstance(p, typer.core.TyperOption)}
        assert set(defaults) <= names, f"{preset.name} [{command}]: unknown {set(defaults) - names}"


@pytest.mark.parametrize("text", ["- a\n- b\n", "download: [1\n", "download: 3\n"])
def test_bad_preset_is_a_usage_error_naming_the_file(tmp_path: Path, text: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = CliRunner().invoke(app, ["--preset", str(bad), "download", "demo"])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output


def test_preset_values_reach_the_command_and_the_command_line_wins(tmp_path: Path) -> None:
    preset = tmp_path / "p.yaml"
    preset.write_text("download:\n  mirror: /no/such/preset-mirror\n")
    out = tmp_path / "raw"
    result = CliRunner().invoke(app, ["--preset", str(preset), "download", "demo", "--out", str(out)])
    assert result.exit_code != 0 and "preset-mirror" in result.output
    result = CliRunner().invoke(
        app,
        ["--preset", str(preset), "download", "demo", "--out", str(out), "--mirror", "/no/such/cli-mirror"],
    )
    assert "cli-mirror" in result.output and "preset-mirror" not in result.output

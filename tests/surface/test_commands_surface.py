"""``deltahedge surface fit`` and ``surface gain`` on real snapshots."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from deltahedge.cli import app
from deltahedge.surface import Surface


def test_surface_fit_prints_a_table_writes_png_and_json(
    snapshot_files: list[Path], tmp_path: Path
) -> None:
    png, js = tmp_path / "smiles.png", tmp_path / "surface.json"
    res = CliRunner().invoke(
        app,
        [
            "surface",
            "fit",
            str(snapshot_files[0]),
            "--underlying",
            "ETH",
            "--plot",
            str(png),
            "--json",
            str(js),
        ],
        terminal_width=200,
    )
    assert res.exit_code == 0, res.output
    assert "ETH SVI fit" in res.output and "27MAR26" in res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = Surface.from_json(js.read_text())
    assert s.underlying == "ETH" and len(s.T) >= 10


def test_surface_fit_ssvi_reports_no_calendar_arbitrage(snapshot_files: list[Path]) -> None:
    res = CliRunner().invoke(
        app, ["surface", "fit", str(snapshot_files[1]), "--method", "ssvi"], terminal_width=200
    )
    assert res.exit_code == 0, res.output
    assert "calendar: no arbitrage between expiries" in res.output


def test_surface_fit_unknown_method_exits_with_a_message(snapshot_files: list[Path]) -> None:
    res = CliRunner().invoke(app, ["surface", "fit", str(snapshot_files[0]), "--method", "x"])
    assert res.exit_code == 2
    assert "method 'x' is not allowed" in res.output


def test_surface_gain_prints_the_table(snapshot_files: list[Path]) -> None:
    res = CliRunner().invoke(
        app,
        ["surface", "gain", str(snapshot_files[0].parent), "--underlying", "ETH"],
        terminal_width=200,
    )
    assert res.exit_code == 0, res.output
    assert "ETH: gain vs Black-Scholes delta" in res.output and "-0.9" in res.output

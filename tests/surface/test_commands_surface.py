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


def test_surface_slices_lists_the_slices_missing_a_target(
    snapshot_files: list[Path], tmp_path: Path
) -> None:
    # one snapshot (linked, not copied): its BTC 30JAN26 slice ends 88.1 % inside
    (f,) = [x for x in snapshot_files if "20260106T092020" in x.name]
    (tmp_path / f.name).symlink_to(f)
    res = CliRunner().invoke(
        app, ["surface", "slices", str(tmp_path), "--underlying", "BTC"], terminal_width=200
    )
    assert res.exit_code == 0, res.output
    assert "slices missing a target (1 of" in res.output and "88.1%" in res.output
    assert "0 with median |fit - mark| > 0.5 vol pt" in res.output
    assert "0 with butterfly arbitrage" in res.output
    empty = CliRunner().invoke(app, ["surface", "slices", str(tmp_path / "none")])
    assert empty.exit_code == 2 and "no snapshot files" in empty.output

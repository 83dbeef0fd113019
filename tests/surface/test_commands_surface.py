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
    assert "SS in" in res.output and "SM out" in res.output and "MV out" in res.output


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


def _fit(*args: str) -> str:
    res = CliRunner().invoke(app, ["surface", "fit", *args], terminal_width=200)
    assert res.exit_code == 0, res.output
    return res.output


def test_surface_fit_reports_cleaning_and_the_rows_the_fit_left_out(
    snapshot_files: list[Path],
) -> None:
    from deltahedge.marketdata import clean_chain, load_chain
    from deltahedge.surface import fit_surface

    (f,) = [x for x in snapshot_files if "20260101T211918" in x.name]
    out = _fit(str(f), "-u", "ETH")
    chain, report = clean_chain(load_chain(f, underlying="ETH"))
    s = fit_surface(chain)
    # Deribit's marks of 9 ETH options are below intrinsic here: cleaning drops them
    assert report.dropped["below_intrinsic"] == 9
    assert f"kept {len(chain)} of {len(chain) + 9} rows; dropped below_intrinsic=9" in out
    used = s.n_rows - sum(s.skipped.values())
    assert (
        f"fit used {used} of {len(chain)} rows; not used: one_sided={s.skipped['one_sided']}" in out
    )


def test_surface_fit_repair_options_reach_the_fit(snapshot_files: list[Path]) -> None:
    # this snapshot's BTC 07JAN26 free fit has butterfly arbitrage, and two free slices cross
    (f,) = [x for x in snapshot_files if "20260106T092020" in x.name]
    assert "ok (repaired 1)" in _fit(str(f))
    free = _fit(str(f), "--no-repair")
    assert "1 violation(s) │" in free and "repaired" not in free
    assert "calendar: 1 violation(s)" in free
    assert "calendar: no arbitrage between expiries" in _fit(str(f), "--repair-calendar")
    res = CliRunner().invoke(app, ["surface", "fit", str(f), "-m", "ssvi", "--repair-calendar"])
    assert res.exit_code == 2 and "repair_calendar applies to method='svi'" in res.output


def test_surface_fit_picks_a_snapshot_of_a_multi_snapshot_file(
    snapshot_files: list[Path], shared_data: Path, tmp_path: Path
) -> None:
    # two snapshot CSVs in one file: the first is fitted by default, with a note
    a, b = snapshot_files[0], snapshot_files[1]
    both = tmp_path / "two.csv"
    both.write_text(a.read_text() + "".join(b.read_text().splitlines(keepends=True)[1:]))
    assert "two.csv holds 2 BTC snapshots" in _fit(str(both))
    assert "BTC SVI fit at 2026-01-01 21:19" in _fit(str(both), "--snapshot", "-1")
    assert "BTC SVI fit at 2026-01-01 21:19" in _fit(str(both), "-s", "2026-01-01T21")
    # a daily file (one snapshot a day), chosen by date
    daily = shared_data / "deribit_eod_2021" / "btc_eod_202106.txt"
    out = _fit(str(daily), "--snapshot", "2021-06-15", "--method", "ssvi")
    assert "BTC SSVI fit at 2021-06-15 04:00" in out and "holds" not in out
    res = CliRunner().invoke(app, ["surface", "fit", str(both), "--snapshot", "2026-01-01"])
    assert res.exit_code == 2 and "matches 2 snapshots" in res.output

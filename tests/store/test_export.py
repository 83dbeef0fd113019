"""``deltahedge journal show|export`` and the readers behind them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from deltahedge.cli import app
from deltahedge.core import Fill, HedgeIntent, OrderSide, SimClock
from deltahedge.store import Journal
from deltahedge.store.export import read_rows

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
S = 1_000_000_000
runner = CliRunner()


@pytest.fixture
def db(db_url: str) -> str:
    """A small journal on SQLite (and on PostgreSQL when the test server is set)."""
    path = db_url
    j = Journal(path, clock=SimClock(T0))
    j.record_intent(HedgeIntent("int-1", T0, "BTC", 1.5, "band"))
    for i, (side, qty) in enumerate([(OrderSide.BUY, 1.5), (OrderSide.SELL, 0.25)]):
        j.record_fill(
            Fill(f"f-{i}", "c-1", "paper", "BTC-PERPETUAL", side, qty, 93_000.0 + i, 0.5, "USD",
                 T0 + (i + 1) * 3600 * S)
        )  # fmt: skip
    j.close()
    return path


def test_read_rows_filters_by_kind_since_and_last(db: str) -> None:
    j = Journal(db)
    assert [r["kind"] for r in read_rows(j, kinds=["fill"])] == ["fill", "fill"]
    late = read_rows(j, "fills", since_ns=T0 + 2 * 3600 * S)
    assert [r["fill_id"] for r in late] == ["f-1"]
    assert late[0]["time"] == "2026-01-01T02:00:00+00:00"
    assert [r["kind"] for r in read_rows(j, last=2)] == ["fill", "fill"]
    with pytest.raises(ValueError, match="unknown journal table 'fill'; allowed: events, runs"):
        read_rows(j, "fill")
    with pytest.raises(ValueError, match="--kind filters the events table only"):
        read_rows(j, "fills", kinds=["fill"])
    j.close()


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_export_fills_round_trips(db: str, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"fills.{suffix}"
    res = runner.invoke(app, ["journal", "export", "--db", db, "-t", "fills", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "wrote 2 rows of fills" in res.output
    frame = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
    assert list(frame["fill_id"]) == ["f-0", "f-1"]
    assert list(frame["quantity"]) == [1.5, 0.25]
    assert frame.columns[0] == "time" and frame["ts_ns"].iloc[1] == T0 + 2 * 3600 * S


def test_export_empty_selection_writes_the_header(db: str, tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    res = runner.invoke(
        app, ["journal", "export", "--db", db, "-k", "greeks", "-o", str(out), "-f", "csv"]
    )
    assert res.exit_code == 0, res.output
    assert out.read_text().splitlines()[0].startswith("time,seq,ts_ns,run_id,kind,key,payload")


def test_show_prints_events_of_a_kind(db: str) -> None:
    res = runner.invoke(
        app, ["journal", "show", "--db", db, "--kind", "intent"], env={"COLUMNS": "200"}
    )
    assert res.exit_code == 0, res.output
    assert "int-1" in res.output and "f-0" not in res.output


def test_bad_arguments_say_what_is_allowed(db: str, tmp_path: Path) -> None:
    res = runner.invoke(app, ["journal", "show", "--db", db, "--since", "yesterday"])
    assert res.exit_code == 2 and "ISO-8601" in res.output
    res = runner.invoke(
        app,
        ["journal", "export", "--db", db, "-o", str(tmp_path / "x.xlsx")],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 2 and "allowed: csv, parquet" in res.output
    res = runner.invoke(app, ["journal", "show", "--db", str(tmp_path / "absent.sqlite")])
    assert res.exit_code == 2 and "no journal file" in res.output


def test_show_never_wraps_cells_and_picks_columns(db: str) -> None:
    # piped (CliRunner is not a terminal): one line per row however narrow COLUMNS is
    res = runner.invoke(app, ["journal", "show", "--db", db, "-t", "fills"], env={"COLUMNS": "40"})
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "f-1" in line)
    assert "BTC-PERPETUAL" in row and "2026-01-01 02:00:00" in row  # the ISO time, shortened
    res = runner.invoke(
        app, ["journal", "show", "--db", db, "-t", "fills", "-c", "fill_id,side,price"]
    )
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "f-1" in line)
    assert "sell" in row and "93001" in row and "BTC-PERPETUAL" not in row
    res = runner.invoke(app, ["journal", "show", "--db", db, "-t", "fills", "-c", "fill,side"])
    assert res.exit_code == 2 and "unknown column(s) ['fill']" in res.output

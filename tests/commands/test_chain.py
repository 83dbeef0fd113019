"""``deltahedge chain greeks`` end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from deltahedge.cli import app

FIXTURES = Path(__file__).parents[1] / "marketdata" / "fixtures"
runner = CliRunner()


def test_greeks_of_a_ticker_answer_writes_the_csv(tmp_path):
    out = tmp_path / "g.csv"
    res = runner.invoke(
        app, ["chain", "greeks", str(FIXTURES / "deribit_ticker_btc.json"), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "Recomputed vs venue" in res.output and "Cleaning" in res.output
    frame = pd.read_csv(out)
    assert list(frame["instrument"]) == ["BTC-24SEP21-34000-P"]
    row = frame.iloc[0]
    # the recorded mark 0.15655506 BTC was computed by Deribit at mark_iv 76.57%
    assert row["iv"] == pytest.approx(0.7657, abs=5e-4)
    assert row["delta"] == pytest.approx(-0.4976, abs=2e-3)
    assert row["delta_premium_adjusted"] == pytest.approx(row["delta"] - row["mark"], abs=1e-12)
    assert row["vega_1pct_usd"] == pytest.approx(53.82204, rel=2e-3)


def test_one_snapshot_of_a_real_file(shared_data, tmp_path):
    out = tmp_path / "g.csv"
    path = shared_data / "deribit_eod_2021" / "btc_eod_202107.txt"
    res = runner.invoke(app, ["chain", "greeks", str(path), "-s", "2021-07-15", "-o", str(out)])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    assert frame["timestamp"].str.startswith("2021-07-15").all()
    assert len(frame) > 300


def test_missing_file_exits_2_and_names_it(tmp_path):
    res = runner.invoke(app, ["chain", "greeks", str(tmp_path / "nope.csv")])
    assert res.exit_code == 2
    assert "nope.csv" in res.output and "no such file" in res.output


def test_unrecognised_file_says_what_line_1_is(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    res = runner.invoke(app, ["chain", "greeks", str(bad)])
    assert res.exit_code == 2
    assert "unrecognised chain format" in res.output and "a,b,c" in res.output

"""Real data: the Deribit replay panel, its delta models, the Bitstamp windows, the L2 profile."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from deltahedge.backtest.policies import Policy, PolicyKind
from deltahedge.backtest.realdata import (
    bitstamp_windows,
    delta_model_errors,
    deribit_replay,
    l2_profile,
    load_bitstamp_closes,
    panel_deltas,
    replay_policy,
)


@pytest.fixture(scope="module")
def replay(shared_data):
    return deribit_replay(shared_data / "deribit_chain_2026")


def test_replay_marks_are_deribit_coin_marks_times_the_forward(replay, shared_data):
    assert replay.mark_usd.shape[1] == 25
    # BTC-27MAR26-90000-C in the README's hand check: F = 93636.6, mark 0.10087991 BTC
    i = int(np.where(replay.names == "BTC-27MAR26-90000-C")[0][0])
    j = int(np.nanargmin(np.abs(replay.forward[i] - 93636.6)))
    assert replay.mark_usd[i, j] == pytest.approx(0.10087991 * 93636.6, rel=1e-6)
    assert np.all((replay.perp > 80_000) & (replay.perp < 100_000))


def test_mark_iv_delta_is_deribits_delta(replay, shared_data):
    from deltahedge.marketdata.load import load_chain

    files = sorted((shared_data / "deribit_chain_2026").glob("deribit_options_snapshot_*.csv"))
    chain = load_chain(files[0], underlying="BTC")
    d = panel_deltas(replay, "MARK_IV")[:, 0]
    idx = {n: i for i, n in enumerate(replay.names)}
    rows = np.array([idx[n] for n in chain.instrument])
    ok = np.isfinite(chain.venue_delta) & (chain.T > 7 / 365)
    # Deribit rounds IVs to 4 decimals and times its greeks a little apart from the mark:
    # typical agreement 1e-4, worst 3e-3 (7+ days to expiry)
    diff = np.abs(d[rows][ok] - chain.venue_delta[ok])
    assert np.median(diff) < 3e-4
    assert np.max(diff) < 3e-3


def test_smile_delta_reduces_real_hedging_error(replay):
    err = delta_model_errors(replay)
    assert err["n"] > 1000
    # sticky-moneyness deltas fit Deribit's skew: less error than Black-76 at the mark IV
    assert err["SMILE"] < err["MARK_IV"]


def test_replay_policy_accounts_costs_per_trade(replay):
    rows = np.where(np.all(np.isfinite(replay.mark_usd), axis=1))[0][:3]
    qty = -np.ones(3)
    deltas = panel_deltas(replay, "MARK_IV")
    every = replay_policy(
        replay,
        rows,
        qty,
        Policy(PolicyKind.FIXED_INTERVAL, (1,)),
        deltas,
        fee=1e-3,
        half_spread=0.0,
    )
    never = replay_policy(replay, rows, qty, Policy(PolicyKind.FIXED_THRESHOLD, (1e9,)), deltas)
    assert every["mean_trades"] == 24 and never["mean_trades"] == 0 and never["mean_cost"] == 0
    # first trade: the whole book delta at the first perp mark, 10 bp
    d0 = abs(float(np.sum(qty * deltas[rows, 0])))
    assert every["mean_cost"] > d0 * replay.perp[0] * 1e-3


def test_bitstamp_windows_start_at_f0_and_keep_returns(shared_data):
    _, c = load_bitstamp_closes(
        shared_data / "bitstamp_1min_2025" / "btcusd_1min_20250107_20250203.csv"
    )
    assert len(c) == 38942
    w = bitstamp_windows(c, 1440, 720, 100.0)
    assert np.all(w[:, 0] == 100.0)
    np.testing.assert_allclose(np.diff(np.log(w[1])), np.diff(np.log(c[720:2161])), atol=1e-12)


def test_l2_profile_is_sorted_outward_from_the_mid(shared_data):
    off, size = l2_profile(shared_data / "binance_l2_2024" / "usdm_btcusdt_20240808.gz")
    assert np.all(np.diff(off) > 0) and np.all(size > 0)
    # the best ask is half a 0.1 USD tick from the mid at ~61,800 USD
    assert off[0] == pytest.approx(0.05 / 61800.25, rel=1e-3)


def test_cli_backtest_deribit_json_summary(shared_data, tmp_path):
    from deltahedge.cli import app

    res = CliRunner().invoke(
        app,
        [
            "backtest",
            "--market",
            "deribit",
            "--data",
            str(shared_data),
            "--json",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output[res.output.index("{") :])
    assert set(out["comparison"]) == {"BLACK76", "MARK_IV", "SMILE"}
    assert math.isfinite(out["delta_models"]["error_std"]["SMILE"])
    assert (tmp_path / "frontier.png").stat().st_size > 10_000
    assert "Plotly.newPlot" in (tmp_path / "frontier.html").read_text()


def test_cli_rejects_an_unknown_model():
    from deltahedge.cli import app

    res = CliRunner().invoke(app, ["backtest", "--model", "sabr", "--paths", "10"])
    assert res.exit_code != 0
    assert "sabr" in str(res.exception) or "sabr" in res.output

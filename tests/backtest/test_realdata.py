"""Real data: the Deribit replay panel, its delta models, the Bitstamp windows, the L2 profile."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from deltahedge.backtest.book import Book, Costs
from deltahedge.backtest.policies import Policy, PolicyKind
from deltahedge.backtest.realdata import (
    bitstamp_windows,
    book_greeks,
    delta_model_errors,
    deribit_replay,
    l2_profile,
    load_bitstamp_closes,
    panel_deltas,
    replay_policy,
)
from deltahedge.backtest.simulator import simulate
from deltahedge.core.errors import InvalidInput


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
    path = shared_data / "binance_l2_2024" / "usdm_btcusdt_20240808.gz"
    off, size = l2_profile(path)
    boff, bsize = l2_profile(path, "bids")
    for o, q in ((off, size), (boff, bsize)):
        assert np.all(np.diff(o) > 0) and np.all(q > 0)
        # the best ask and bid are half a 0.1 USD tick from the mid at ~61,800 USD
        assert o[0] == pytest.approx(0.05 / 61800.25, rel=1e-3)
    assert not np.array_equal(size, bsize)  # two different sides of the book
    with pytest.raises(InvalidInput, match="'buy'"):
        l2_profile(path, "buy")


@pytest.mark.parametrize("qty", [0.1, -0.1])
def test_sells_walk_the_bids_and_buys_the_asks(qty):
    # one call (F = K = 100, 30 days, 60 %) hedged once at t = 0 on a flat path: a long
    # call is hedged by a sell of 0.1 N(d1) coin, a short one by a buy
    t = 30 / 365
    book = Book(np.array([1.0]), np.array([100.0]), np.array([t]), np.array([qty]),
                np.array([0.6]))  # fmt: skip
    costs = Costs(
        l2_offsets=np.array([1e-4, 3e-4]),
        l2_sizes=np.array([0.01, 0.05]),
        l2_bid_offsets=np.array([2e-4, 6e-4]),
        l2_bid_sizes=np.array([0.02, 0.1]),
    )
    pol = Policy(PolicyKind.FIXED_INTERVAL, (10.0,))
    res = simulate(book, pol, paths=np.full((1, 3), 100.0), dt=t / 2, costs=costs)
    q = 0.1 * 0.5 * math.erfc(-(0.5 * 0.6 * math.sqrt(t)) / math.sqrt(2))  # 0.053427 coin
    if qty > 0:  # sell: 0.02 at 2 bp, the other 0.033427 at 6 bp
        want = 100 * (0.02 * 2e-4 + (q - 0.02) * 6e-4)  # = 0.0024056
    else:  # buy: 0.01 at 1 bp, the other 0.043427 at 3 bp
        want = 100 * (0.01 * 1e-4 + (q - 0.01) * 3e-4)  # = 0.0014028
    assert res.cost[0] == pytest.approx(want, rel=1e-12)
    assert res.turnover[0] == pytest.approx(100 * q, rel=1e-12)


def test_book_greeks_on_a_real_row_match_black76_and_deribits_vega(replay):
    # BTC-27MAR26-90000-C at the README's snapshot: F = 93636.6, T = 0.221604, IV 0.4349;
    # d1 = (ln(F/K) + IV^2 T / 2) / (IV sqrt T) = 0.29686; Deribit's vega 168.377 per 1 %
    i = int(np.where(replay.names == "BTC-27MAR26-90000-C")[0][0])
    j = int(np.nanargmin(np.abs(replay.forward[i] - 93636.6)))
    f, t, s = replay.forward[i, j], replay.T[i, j], replay.iv[i, j]
    g = book_greeks(replay, np.array([i]), np.array([-2.0]))
    sq = s * math.sqrt(t)
    d1 = (math.log(f / 90_000.0) + 0.5 * sq * sq) / sq
    pdf = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    assert g.gamma[j] == pytest.approx(-2 * pdf / (f * sq), rel=1e-12)
    assert g.vanna_sigma[j] == pytest.approx(-2 * -pdf * (d1 - sq), rel=1e-12)
    assert g.vega[j] == pytest.approx(-2 * 168.377 * 100, rel=2e-3)
    assert g.tau[j] == pytest.approx(t, rel=1e-12)


def test_whalley_wilmott_reads_the_real_book_gamma(replay):
    # with the book's gamma the band is (3 k F Gamma^2 / (2 lambda))^(1/3) > 0 and the
    # policy skips snapshots; a zero gamma would make the band 0 and trade at all 24
    rows = np.where(np.all(np.isfinite(replay.mark_usd), axis=1))[0][:3]
    qty = -np.ones(3)
    deltas = panel_deltas(replay, "MARK_IV")
    g = book_greeks(replay, rows, qty)
    assert np.all(g.gamma[:-1] < 0)  # a short book is short gamma
    lam, k = 1e-4, 6e-4
    r = replay_policy(replay, rows, qty, Policy(PolicyKind.WHALLEY_WILMOTT, (lam, k)), deltas)
    band = (1.5 * k * replay.perp[0] * g.gamma[0] ** 2 / lam) ** (1 / 3)
    assert band > 0.01
    assert 0 < r["mean_trades"] < 24


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
    # the gamma- and vol-dependent policies run on the real book too
    for policy in ("WHALLEY_WILMOTT", "ZAKAMOULINE", "VOL_ADAPTIVE", "GAMMA_WEIGHTED", "LELAND"):
        front = out["frontiers"][f"{policy}/SMILE"]
        assert any(p["mean_trades"] > 0 for p in front), policy
    assert (tmp_path / "frontier.png").stat().st_size > 10_000
    assert "Plotly.newPlot" in (tmp_path / "frontier.html").read_text()


def test_cli_rejects_an_unknown_model():
    from deltahedge.cli import app

    res = CliRunner().invoke(app, ["backtest", "--model", "sabr", "--paths", "10"])
    assert res.exit_code != 0
    assert "sabr" in str(res.exception) or "sabr" in res.output

"""Chains from Deribit's wire format: recorded websocket tickers and REST answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deltahedge.core.errors import DataError
from deltahedge.marketdata import detect_format, load_chain, load_chains
from deltahedge.marketdata.deribit_api import iter_recording
from deltahedge.marketdata.names import parse_option_name

FIXTURES = Path(__file__).parent / "fixtures"


def _latest_tickers(path):
    latest = {}
    for line in Path(path).read_text().splitlines():
        if '"channel":"ticker.' not in line:
            continue
        data = json.loads(line.split(": ", 1)[1])["params"]["data"]
        prev = latest.get(data["instrument_name"])
        if prev is None or data["timestamp"] >= prev["timestamp"]:
            latest[data["instrument_name"]] = data
    return latest


def test_ws_recording_builds_chains_from_the_latest_ticker(shared_data):
    ws = shared_data / "deribit_ws_2021" / "DERIBIT.ws.1.0"
    assert detect_format(ws) == "deribit_ws"
    chains = load_chains(ws, instruments=shared_data / "deribit_ws_2021" / "DERIBIT.0")
    latest = _latest_tickers(ws)
    assert {c.underlying for c in chains} == {"BTC", "ETH"}
    assert sum(len(c) for c in chains) == len(latest) == 10
    for c in chains:
        for i, name in enumerate(c.instrument):
            d = latest[name]
            assert c.mark[i] == d["mark_price"]
            assert c.mark_iv[i] == pytest.approx(d["mark_iv"] / 100.0, rel=1e-15)
            assert c.forward[i] == d["underlying_price"]
            assert c.venue_delta[i] == d["greeks"]["delta"]
            assert c.ts_ns >= d["timestamp"] * 1_000_000


def test_get_instruments_expiries_agree_with_the_names(shared_data):
    folder = shared_data / "deribit_ws_2021"
    with_table = load_chains(folder / "DERIBIT.ws.1.0", instruments=folder / "DERIBIT.0")
    for c in with_table:
        for name, exp, k, kind in zip(c.instrument, c.expiry_ns, c.strike, c.kind, strict=True):
            assert parse_option_name(name)[1:] == (exp, k, kind)  # 08:00 UTC expiries


def test_recording_lines_parse_with_and_without_url(shared_data):
    items = list(iter_recording(shared_data / "deribit_ws_2021" / "DERIBIT.ws.1.0"))
    assert items[0][1] == "<->" and items[0][3] is None  # the connect line
    assert items[1][1] == "<-" and items[1][3]["method"] == "public/subscribe"
    assert all(d == "->" for _, d, _, _ in items[2:])


def test_empty_quote_in_ticker_is_nan(shared_data):
    chain = load_chain(shared_data / "deribit_ws_2021" / "DERIBIT.ws.1.0", underlying="eth")
    i = int(np.flatnonzero(chain.instrument == "ETH-27AUG21-4000-P")[0])
    # recorded best_bid_price = best_ask_price = 0 and bid_iv = ask_iv = 0: no quotes
    assert np.isnan(chain.bid[i]) and np.isnan(chain.ask[i]) and np.isnan(chain.bid_iv[i])
    assert chain.mark[i] == 1.00458


def test_ticker_answer_fixture_loads():
    path = FIXTURES / "deribit_ticker_btc.json"
    assert detect_format(path) == "deribit_ticker"
    c = load_chain(path)
    assert list(c.instrument) == ["BTC-24SEP21-34000-P"]
    assert c.kind[0] == -1 and c.strike[0] == 34000.0
    assert (c.bid[0], c.ask[0], c.mark[0]) == (0.1555, 0.1585, 0.15655506)
    assert (c.bid_iv[0], c.ask_iv[0]) == pytest.approx((0.7593, 0.7774))
    assert (c.venue_vega[0], c.venue_theta[0]) == (53.82204, -32.50706)
    assert c.index_price[0] == 32208.37


def test_book_summary_fixture_keeps_options_only():
    # written from the documented fields; see the fixture's _note
    obj = json.loads((FIXTURES / "deribit_book_summary_btc.json").read_text())
    assert detect_format(obj) == "deribit_book_summary"
    c = load_chain(obj)
    assert len(c) == 3  # the BTC-24SEP21 future is not an option
    i = int(np.flatnonzero(c.instrument == "BTC-24SEP21-8000-P")[0])
    assert np.isnan(c.bid[i]) and c.ask[i] == 0.0015  # null bid -> no quote
    assert c.mark_iv[i] == pytest.approx(1.4278)
    assert np.isnan(c.venue_delta).all()  # no greeks in book summaries
    assert (c.index_price == 32208.37).all()  # estimated_delivery_price


def test_notification_list_in_memory_is_accepted(shared_data):
    msgs = [
        m for _, _, _, m in iter_recording(shared_data / "deribit_ws_2021" / "DERIBIT.ws.1.0") if m
    ]
    assert detect_format(msgs[2:]) == "deribit_ws"
    assert len(load_chain(msgs[2:], underlying="BTC")) == 7


def test_unrecognised_object_is_refused():
    with pytest.raises(DataError, match="unrecognised Deribit API object"):
        load_chains({"foo": 1})


def test_recomputed_quote_and_mark_ivs_match_deribit_ticker_ivs(shared_data):
    # Deribit's ticker carries bid_iv / ask_iv / mark_iv with 2 decimals in percent
    # (+-0.005 vol point) computed from the same message's prices and underlying_price.
    # Bid and ask are exact tick multiples, so the IVs we recompute from them must agree
    # to that rounding. BTC marks have 8 decimals (adds < 1e-4 vol point here); ETH marks
    # 6, and the deep-ITM ETH-27AUG21-4000-P mark IV is 0.07 vol point off, so ETH marks
    # get 0.1. Options within 2 days of expiry are left out (vega too small for the
    # prices to pin the IV).
    from deltahedge.marketdata import chain_greeks, with_quote_ivs

    n = 0
    for c in load_chains(shared_data / "deribit_ws_2021" / "DERIBIT.ws.1.0"):
        ours = with_quote_ivs(c, overwrite=True)
        g = chain_greeks(c)
        far = c.T > 2 / 365
        mark_tol = 0.006 if c.underlying == "BTC" else 0.1
        for venue, mine, tol in (
            (c.bid_iv, ours.bid_iv, 0.006),
            (c.ask_iv, ours.ask_iv, 0.006),
            (c.mark_iv, g.iv, mark_tol),
        ):
            both = far & np.isfinite(venue) & np.isfinite(mine)
            assert np.all(np.abs(mine[both] - venue[both]) * 100 <= tol)
            n += int(both.sum())
    assert n >= 20


def test_ws_chain_as_of_an_earlier_time_uses_earlier_tickers(shared_data):
    ws = shared_data / "deribit_ws_2021" / "DERIBIT.ws.1.0"
    full = load_chain(ws, underlying="BTC")
    cut = full.ts_ns - 5_000_000_000  # 5 s before the last ticker
    early = load_chain(ws, underlying="BTC", at=cut)
    assert early.ts_ns <= cut and len(early) <= len(full)

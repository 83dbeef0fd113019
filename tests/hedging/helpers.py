"""Helpers: a BookRisk with chosen delta and gamma, and a market with a perp mark."""

from __future__ import annotations

import numpy as np

from deltahedge.marketdata.state import MarketState, UnderlyingState
from deltahedge.portfolio.book import BookRisk


def make_risk(
    delta: float,
    gamma: float = 0.0,
    spot: float = 90_000.0,
    ts: int = 10**18,
    vanna_sigma: float = 0.0,
    vega: float = 0.0,
    expiry_ns: int | None = None,
) -> BookRisk:
    one = np.array
    exp = ts + 30 * 86_400 * 10**9 if expiry_ns is None else expiry_ns
    return BookRisk(
        ts_ns=ts,
        numeraire="usd",
        delta_model="black76",
        underlyings=("BTC",),
        index=one([spot]),
        value_usd=one([0.0]),
        delta_coin=one([delta]),
        gamma_coin=one([gamma]),
        vega_usd=one([vega]),
        theta_usd_per_day=one([0.0]),
        funding_usd_per_day=one([0.0]),
        yield_usd_per_day=one([0.0]),
        vanna_sigma_coin=one([vanna_sigma]),
        slot_underlying=np.array([0]),
        slot_expiry_ns=np.array([exp]),
        slot_vega_usd=one([vega]),
        symbols=(),
        row_underlying=np.zeros(0, np.int64),
        contributions=np.zeros((0, 6)),
    )


def make_market(
    spot: float = 90_000.0, ts: int = 10**18, perp_mark: float | None = None
) -> MarketState:
    marks = {} if perp_mark is None else {("deribit", "BTC-PERPETUAL"): perp_mark}
    return MarketState(ts, {"BTC": UnderlyingState(spot, marks=marks)})

"""PnL attribution: the parts add up to the real PnL; the residual is higher order."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deltahedge.core.errors import InvalidInput
from deltahedge.instruments import parse_instrument
from deltahedge.marketdata.state import MarketState, UnderlyingState
from deltahedge.portfolio import Collateral, Position, attribute_pnl, compile_book
from deltahedge.pricing import black76_price

DAY_NS = 86_400 * 10**9
YEAR_NS = 365 * DAY_NS
CALL = parse_instrument("BTC-27MAR26-90000-C", "deribit")
PUT = parse_instrument("BTC-27MAR26-80000-P", "deribit")
PERP = parse_instrument("BTC-PERPETUAL", "deribit")
KEY = ("deribit", "BTC-PERPETUAL")


def _market(ts: int, S: float, rate: float = 1e-4) -> MarketState:
    u = UnderlyingState(
        S,
        np.array([CALL.expiry_ns]),
        np.array([S * 1.005]),
        marks={KEY: S * 1.0002},
        funding={KEY: rate},
    )
    return MarketState(ts, {"BTC": u})


T0 = CALL.expiry_ns - 80 * DAY_NS


def _book(q_call: float, q_put: float, q_perp: float):
    pos = [Position(CALL, q_call), Position(PUT, q_put), Position(PERP, q_perp, 91_000.0)]
    coll = [Collateral("BTC", 2.0, yield_per_year=0.03), Collateral("USDC", 5e4)]
    return compile_book(pos, coll, vols=[0.5, 0.6])


def _value_usd(q_call, q_put, q_perp, m: MarketState, sig_call, sig_put) -> float:
    """The book's USD value from the pricing functions, not from the book's kernel."""
    st = m.underlyings["BTC"]
    S = st.index
    F = S * 1.005  # the forward _market lists for the options' expiry
    T = (CALL.expiry_ns - m.ts_ns) / YEAR_NS
    call = float(black76_price("call", F, 90_000.0, T, sig_call))
    put = float(black76_price("put", F, 80_000.0, T, sig_put))
    perp = q_perp * 10.0 * (st.marks[KEY] / 91_000.0 - 1.0)  # inverse: n c (P/P0 - 1)
    return q_call * call + q_put * put + perp + 2.0 * S + 5e4


@settings(max_examples=60, deadline=None)
@given(
    q=st.tuples(*[st.floats(-50, 50, allow_nan=False)] * 2),
    q_perp=st.floats(-1e5, 1e5, allow_nan=False),
    s1=st.floats(60_000, 130_000),
    dvol=st.tuples(*[st.floats(-0.2, 0.2)] * 2),
    hours=st.floats(0, 240),
    fees=st.floats(0, 500),
    numeraire=st.sampled_from(["usd", "coin"]),
)
def test_parts_add_up_to_real_pnl(q, q_perp, s1, dvol, hours, fees, numeraire):
    book = _book(q[0], q[1], q_perp)
    after_book = book.with_vols(book.sigma + np.array(dvol))
    before = _market(T0, 93_000.0)
    after = _market(T0 + round(hours * 3600e9), s1)
    a = attribute_pnl(book, before, after, after_book, numeraire=numeraire, fees=fees)
    # the real PnL, independently: revalue with Black-76 at both states ...
    v0 = _value_usd(q[0], q[1], q_perp, before, 0.5, 0.6)
    v1 = _value_usd(q[0], q[1], q_perp, after, 0.5 + dvol[0], 0.6 + dvol[1])
    # ... and the carry by hand: 1 bp per 8 h on the perp's USD face q_perp * 10 (the long
    # pays), 3 %/yr on the 2 staked BTC, in USD at the start index 93,000
    elapsed_h = (after.ts_ns - before.ts_ns) / 3600e9
    carry_usd = -q_perp * 10.0 * 1e-4 * elapsed_h / 8 + 2.0 * 0.03 * elapsed_h / 8760 * 93_000
    if numeraire == "usd":
        real = v1 - v0 + carry_usd - fees
    else:  # coin: values over their index, carry converted at the start index
        real = v1 / s1 - v0 / 93_000.0 + carry_usd / 93_000.0 - fees
    tol = 1e-6 if numeraire == "usd" else 1e-11
    assert math.fsum(a.parts().values()) == pytest.approx(real, rel=1e-10, abs=tol)
    assert a.total == pytest.approx(real, rel=1e-10, abs=tol)
    assert a.funding == pytest.approx(carry_usd / (1 if numeraire == "usd" else 93_000.0))


@settings(max_examples=100, deadline=None)
@given(
    move=st.floats(-0.005, 0.005),
    dvol=st.floats(-0.01, 0.01),
    hours=st.floats(0, 6),
    numeraire=st.sampled_from(["usd", "coin"]),
)
def test_residual_of_a_small_move_is_second_order(move, dvol, hours, numeraire):
    # long 10 calls and 5 puts (gamma, vega > 0, theta < 0), short perp: for moves of at most
    # 0.5 % in spot, 1 vol point and 6 h, the residual holds only cross and higher terms
    # (vanna dS dsigma, charm dS dt, volga dsigma^2 / 2, speed dS^3 / 6), each a small
    # fraction of the first-order parts it multiplies: e.g. vanna dS / vega ~ d1 / (S sigma
    # sqrt T) dS ~ 0.3 / 0.24 * 0.005 ~ 0.006
    book = _book(10.0, 5.0, -2_000.0)
    before = _market(T0, 93_000.0)
    after = _market(T0 + round(hours * 3600e9), 93_000.0 * (1 + move))
    a = attribute_pnl(book, before, after, book.with_vols(book.sigma + dvol), numeraire)
    scale = abs(a.delta) + abs(a.gamma) + abs(a.vega) + abs(a.theta)
    assert abs(a.residual) <= 0.02 * scale + (1e-7 if numeraire == "usd" else 1e-12)


def test_residual_of_a_spot_move_is_third_order():
    # no time, no vol change: residual ~ (1/6) V''' dS^3, so halving dS divides it by ~8
    book = _book(10.0, -7.0, 0.0)
    before = _market(T0, 93_000.0)
    res = [
        attribute_pnl(book, before, _market(T0, 93_000.0 + h)).residual for h in (2000.0, 1000.0)
    ]
    assert 6.0 < res[0] / res[1] < 10.0


def test_perp_only_book_is_all_delta_and_funding():
    # 1,000 inverse contracts (10 USD) entered 91,000: USD value linear in F -> no residual;
    # funding over 1 day at 1 bp / 8 h, long pays: -10,000 * 1e-4 * 3 = -3 USD
    book = compile_book([Position(PERP, 1000.0, 91_000.0)])
    a = attribute_pnl(book, _market(T0, 93_000.0), _market(T0 + DAY_NS, 95_000.0))
    assert a.funding == pytest.approx(-3.0)
    assert a.delta == pytest.approx(10_000 / 91_000 * 2000 * 1.0002, rel=1e-12)
    assert a.gamma == 0.0
    assert abs(a.residual) < 1e-8


def test_coin_attribution_of_multi_underlying_book_is_refused():
    eth = parse_instrument("ETH-PERPETUAL", "deribit")
    book = compile_book([Position(PERP, 1.0, 9e4), Position(eth, 1.0, 3e3)])
    m = _market(T0, 9e4)
    with pytest.raises(InvalidInput, match="one-underlying"):
        attribute_pnl(book, m, m, numeraire="coin")

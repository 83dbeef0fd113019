"""Book + policy + state in a loop: the book's delta after each fill is what the intent
said, and it lands inside the band, in both numeraires, for inverse and linear perps."""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.hedging import HedgeState, WhalleyWilmott
from deltahedge.instruments import parse_hedge_instrument, parse_instrument
from deltahedge.marketdata.state import MarketState, UnderlyingState
from deltahedge.portfolio import Collateral, Position, compile_book

CALL = parse_instrument("BTC-27MAR26-90000-C", "deribit")
T0 = CALL.expiry_ns - 60 * 86_400 * 10**9


@pytest.mark.parametrize("numeraire", ["usd", "coin"])
@pytest.mark.parametrize(
    ("venue", "symbol"), [("deribit", "BTC-PERPETUAL"), ("binance", "BTCUSDT")]
)
def test_fills_move_book_delta_by_intent_and_into_band(numeraire, venue, symbol):
    perp = parse_hedge_instrument(symbol, venue)
    policy = WhalleyWilmott(cost=0.0005, risk_aversion=1e-5, min_band=0.05, instrument=perp)
    rng = np.random.default_rng(11)
    positions = [Position(CALL, -25.0)]
    coll = [Collateral("BTC", 10.0)]
    state = HedgeState()
    spot = 90_000.0
    ts = T0
    hedges = 0
    for _ in range(120):
        ts += 60 * 10**9
        spot *= float(np.exp(0.6 * np.sqrt(1 / 525_600) * rng.standard_normal() * 5))
        u = UnderlyingState(
            spot,
            np.array([CALL.expiry_ns]),
            np.array([spot * 1.004]),
            marks={(venue, symbol): spot * 1.0003},
        )
        m = MarketState(ts, {"BTC": u})
        book = compile_book(positions, coll, vols=[0.6])
        risk = book.risk(m, numeraire)
        intent = policy.decide(risk, m, state)
        if intent is None:
            assert abs(risk.delta("BTC")) <= intent_band(policy, risk) + 1e-12
            continue
        hedges += 1
        mark = m.mark("BTC", venue, symbol)
        positions.append(Position(perp, intent.quantity, entry_price=mark))
        after = compile_book(positions, coll, vols=[0.6]).risk(m, numeraire)
        assert after.delta("BTC") == pytest.approx(risk.delta("BTC") + intent.delta_coin, abs=1e-9)
        assert abs(after.delta("BTC")) <= intent.inputs["band"] + 1e-9
        state = state.after_hedge(intent)
    assert hedges >= 3


def intent_band(policy: WhalleyWilmott, risk) -> float:  # type: ignore[no-untyped-def]
    from deltahedge.hedging import whalley_wilmott_half_width

    w = whalley_wilmott_half_width(
        risk.gamma("BTC"), float(risk.index[0]), policy.cost, policy.risk_aversion
    )
    return max(w, policy.min_band)

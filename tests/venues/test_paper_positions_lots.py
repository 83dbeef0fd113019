"""Paper positions stay on whole lots however many partial fills add up to them."""

from __future__ import annotations

import asyncio

from deltahedge.core import OrderRequest, OrderSide, SimClock
from deltahedge.core.enums import OrderType
from deltahedge.venues.paper import PaperVenue
from deltahedge.venues.specs import BINANCE_BTCUSDT, synthetic_book


def test_many_small_fills_sum_to_an_exact_lot_multiple():
    clock = SimClock(1_000_000_000_000)
    book = synthetic_book("BTCUSDT", levels=400, size_at_touch=0.003, seed=4)
    book.ts_ns = clock.now_ns()
    v = PaperVenue("usdm", [BINANCE_BTCUSDT], {"BTCUSDT": book}, clock=clock)

    async def trade() -> None:
        # 0.1 and 0.2 BTC market orders walk many 0.003-BTC levels: ~100 float additions
        for i, q in enumerate((0.1, 0.2, 0.1, 0.2, 0.001)):
            side = OrderSide.SELL
            req = OrderRequest(f"c{i}", "usdm", "BTCUSDT", side, q, OrderType.MARKET)
            await v.submit(req)

    asyncio.run(trade())
    pos = asyncio.run(v.positions())["BTCUSDT"]
    # 0.1 + 0.2 + 0.1 + 0.2 + 0.001 = 0.601 BTC sold: exactly -0.601 as printed, no drift
    assert pos == -0.601 and repr(pos) == "-0.601"

"""Atomic option + hedge: the option trade stands only if its hedge fills within the limit.

Run from the repository root: PYTHONPATH=src python docs/examples/vault_atomic.py
"""

import asyncio

from deltahedge.core import OptionKind, OrderRequest, OrderSide, OrderType, Settlement, SimClock
from deltahedge.execution import AtomicExecutor, InstrumentInfo, OrderManager
from deltahedge.venues.binance_replay import load_book
from deltahedge.venues.book import L2Book
from deltahedge.venues.paper import PaperVenue
from deltahedge.venues.specs import BINANCE_BTCUSDT

# the vault sells 2 calls to a user (quoted in BTC) only if 1.2 BTC of perp hedge fills
CALL = InstrumentInfo(
    "BTC-27SEP24-60000-C",
    "vault",
    "option",
    "BTC",
    Settlement.INVERSE,
    1.0,
    0.1,
    0.0005,
    0.0003,
    0.0003,
    strike=60_000.0,
    option_kind=OptionKind.CALL,
)
opt_book = L2Book(CALL.symbol)
opt_book.load([(0.0500, 5.0), (0.0495, 10.0)], [(0.0510, 5.0), (0.0515, 10.0)])
perp_book = load_book("../shared/data/binance_l2_2024/usdm_btcusdt_20240808.gz", "BTCUSDT", 60)
clock = SimClock(perp_book.ts_ns)
venues = {
    "vault": PaperVenue("vault", [CALL], {CALL.symbol: opt_book}, clock=clock),
    "usdm": PaperVenue("usdm", [BINANCE_BTCUSDT], {"BTCUSDT": perp_book}, clock=clock),
}
ex = AtomicExecutor(OrderManager(venues, clock=clock))


def trade(hedge_btc, max_bps, rfq):
    option = OrderRequest(
        "", "vault", CALL.symbol, OrderSide.SELL, 2.0, OrderType.LIMIT, 0.0500, intent_id=rfq
    )
    hedge = OrderRequest("", "usdm", "BTCUSDT", OrderSide.BUY, hedge_btc)
    r = asyncio.run(ex.execute_atomic(option, hedge, max_slippage_bps=max_bps))
    print(rfq, r.committed, r.guarantee, r.reason, f"slippage {r.hedge_slippage_bps:.2f} bp")


trade(1.2, 2.0, "rfq-1")  # fits in the book within 2 bp: both legs stand
trade(60.0, 0.5, "rfq-2")  # would walk the book past 0.5 bp: neither leg is traded
print({n: asyncio.run(v.positions()) for n, v in venues.items()})

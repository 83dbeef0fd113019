"""Hedge 12 BTC of delta on two paper venues built from real Binance books; journal it.

Run from the repository root: PYTHONPATH=src python docs/examples/paper_hedge.py
"""

import asyncio

from deltahedge.core import HedgeIntent, SimClock
from deltahedge.engine.config import load_config
from deltahedge.execution import Hedger, HedgeTarget, OrderManager, RouterConfig, SmartRouter
from deltahedge.store import Journal
from deltahedge.venues.binance_replay import load_book
from deltahedge.venues.paper import PaperVenue
from deltahedge.venues.specs import BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT

# real Binance books (2024-08-08), 60 s after the recorded depth snapshot
d = "../shared/data/binance_l2_2024/"
lin = load_book(d + "usdm_btcusdt_20240808.gz", "BTCUSDT", 60.0)  # linear, BTC
inv = load_book(d + "coinm_btcusd_perp_20240808.gz", "BTCUSD_PERP", 60.0)  # inverse, 100 USD
clock = SimClock(max(lin.ts_ns, inv.ts_ns))
venues = {
    "usdm": PaperVenue("usdm", [BINANCE_BTCUSDT], {"BTCUSDT": lin}, clock=clock),
    "coinm": PaperVenue("coinm", [BINANCE_BTCUSD_PERP], {"BTCUSD_PERP": inv}, clock=clock),
}
journal = Journal("/tmp/dh-paper.sqlite", clock=clock)
journal.record_run(load_config("examples/paper.toml"))
hedger = Hedger(
    OrderManager(venues, journal=journal, clock=clock),
    [HedgeTarget("usdm", "BTCUSDT"), HedgeTarget("coinm", "BTCUSD_PERP")],
    SmartRouter(RouterConfig(max_age_ns=10**12)),  # the recorded books are old
)

intent = HedgeIntent("demo-1", clock.now_ns(), "BTC", -12.0, "sell 12 BTC of delta")
(report,) = asyncio.run(hedger.hedge(intent))
print(
    report.status,
    {k: round(v, 3) for k, v in report.filled.items()},
    {k: round(v, 2) for k, v in report.avg_price.items()},
)
for v in venues.values():
    fees = sum(f.fee for f in v.fill_log())
    print(v.name, asyncio.run(v.positions()), f"fees {fees:.6g} {v.fill_log()[0].fee_currency}")

"""Execution benchmarks: decision-to-order latency on the paper venue, and routing costs on real books.

1. **Decision to order submitted**: from a :class:`HedgeIntent` in hand to the paper
   venue's ``submit`` being called, through the :class:`Hedger` (reading the BTCUSDT and
   BTCUSD_PERP books, specs and funding through the Venue port), the smart router, the
   order manager (journal write, idempotent id, in-flight guard) and the ``before_send``
   hook. Target: <= 200 us. Peers in the same run: routing on ready book snapshots, and
   the order manager sending one market order with no routing. Each path is warmed up
   with 200 untimed intents first; the collector is off while timing, as ``timeit``
   does. p50 and p99 are given for wall-clock and process CPU time.
2. **Routing cost** for 10 / 50 / 100 BTC on the real Binance books 60 s after their
   snapshots: linear alone, inverse alone, routed split (USD over each book's mid,
   slippage + 5 bp taker fee).
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from deltahedge.core.clock import SimClock
from deltahedge.core.enums import OrderSide
from deltahedge.core.errors import InvalidInput
from deltahedge.core.events import HedgeIntent, OrderRequest
from deltahedge.execution.hedger import Hedger, HedgeTarget
from deltahedge.execution.journal import MemoryJournal
from deltahedge.execution.orders import OrderManager
from deltahedge.execution.router import BookSource, SmartRouter
from deltahedge.execution.venue import InstrumentInfo
from deltahedge.venues.binance_replay import load_book
from deltahedge.venues.book import L2Book
from deltahedge.venues.paper import PaperVenue
from deltahedge.venues.specs import BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT, synthetic_book

_SHARED = Path(
    os.environ.get("DELTAHEDGE_SHARED", Path(__file__).resolve().parents[3].parent / "shared")
)
_DATA = _SHARED / "data" / "binance_l2_2024"
_WARMUP = 200


def _books() -> tuple[L2Book, L2Book, str]:
    lin_path = _DATA / "usdm_btcusdt_20240808.gz"
    inv_path = _DATA / "coinm_btcusd_perp_20240808.gz"
    if lin_path.is_file() and inv_path.is_file():
        return (
            load_book(lin_path, "BTCUSDT", 60.0),
            load_book(inv_path, "BTCUSD_PERP", 60.0),
            "real Binance books, 2024-08-08, 60 s after the snapshot",
        )
    return (
        synthetic_book("BTCUSDT", levels=1000, size_at_touch=2.0),
        synthetic_book("BTCUSD_PERP", levels=1000, size_at_touch=1500.0),
        f"synthetic books (real data not found at {_DATA})",
    )


def _source(book: L2Book, spec: InstrumentInfo, venue: str, depth: int) -> BookSource:
    bp, bq = book.side_arrays(OrderSide.BUY)
    ap, aq = book.side_arrays(OrderSide.SELL)
    return BookSource(
        venue,
        spec,
        np.column_stack([bp[:depth], bq[:depth]]),
        np.column_stack([ap[:depth], aq[:depth]]),
        book.ts_ns,
    )


async def _latency(
    lin: L2Book, inv: L2Book, n: int, mode: str, warmup: int = _WARMUP
) -> np.ndarray:
    """Decision-to-submit latency of ``n`` intents (after ``warmup`` untimed ones).

    ``mode``: ``"hedger"`` (books through the Venue port, route, order manager),
    ``"routed"`` (route on ready snapshots + order manager) or ``"direct"`` (order manager,
    one market order). Returns an (n, 2) array: wall-clock and process CPU time, us, from
    the intent in hand to the first ``submit`` of the paper venue being called.
    """
    if mode not in ("hedger", "routed", "direct"):
        raise InvalidInput(f"mode {mode!r}; allowed: 'hedger', 'routed', 'direct'")
    clock = SimClock(lin.ts_ns)
    v_lin = PaperVenue("binance_usdm", [BINANCE_BTCUSDT], {"BTCUSDT": lin.copy()}, clock=clock)
    v_inv = PaperVenue(
        "binance_coinm", [BINANCE_BTCUSD_PERP], {"BTCUSD_PERP": inv.copy()}, clock=clock
    )
    om = OrderManager({"binance_usdm": v_lin, "binance_coinm": v_inv}, MemoryJournal(), clock)
    router = SmartRouter()
    hedger = Hedger(
        om,
        [HedgeTarget("binance_usdm", "BTCUSDT"), HedgeTarget("binance_coinm", "BTCUSD_PERP")],
        router,
    )
    sources = [
        _source(lin, BINANCE_BTCUSDT, "binance_usdm", 200),
        _source(inv, BINANCE_BTCUSD_PERP, "binance_coinm", 200),
    ]
    stamps: list[tuple[int, int]] = []

    async def before_send(req: OrderRequest) -> None:
        if not stamps or stamps[-1][0] < 0:
            stamps.append((time.perf_counter_ns(), time.process_time_ns()))

    om.before_send = before_send
    out = np.empty((n, 2))  # wall us, process CPU us
    gc.collect()
    gc.disable()  # as timeit does: no collector pauses inside the timed path
    try:
        await _loop(
            n, out, mode, lin, inv, v_lin, v_inv, om, hedger, sources, stamps, clock, warmup
        )
    finally:
        gc.enable()
    return out


async def _loop(
    n, out, mode, lin, inv, v_lin, v_inv, om, hedger, sources, stamps, clock, warmup
) -> None:  # type: ignore[no-untyped-def]
    # the first _WARMUP intents are not timed (imports, caches, lazily built state); no
    # collection inside the timed loop either: a gc.collect() evicts the CPU caches and
    # the next intent then measures the collector, not the hedge path
    for i in range(-warmup, n):
        # every intent meets the same books, as the router's snapshot (outside the timing);
        # the copies keep their sorted views, as a book the market-data side maintains would
        v_lin.books["BTCUSDT"] = book_lin = lin.copy()
        v_inv.books["BTCUSD_PERP"] = book_inv = inv.copy()
        book_lin.side_arrays(OrderSide.BUY), book_lin.side_arrays(OrderSide.SELL)
        book_inv.side_arrays(OrderSide.BUY), book_inv.side_arrays(OrderSide.SELL)
        coin = 0.5 if i % 2 == 0 else -0.5
        intent = HedgeIntent(f"b{i}", clock.now_ns(), "BTC", coin, "bench")
        stamps.append((-1, -1))
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        if mode == "hedger":
            await hedger.hedge(intent)
        elif mode == "routed":
            await om.execute(intent, hedger.router.route(coin, sources).to_orders(intent))
        else:
            side = OrderSide.BUY if coin > 0 else OrderSide.SELL
            await om.execute(intent, [OrderRequest("", "binance_usdm", "BTCUSDT", side, abs(coin))])
        if i >= 0:
            out[i] = ((stamps[-1][0] - t0) / 1e3, (stamps[-1][1] - c0) / 1e3)


def _cost_table(console: Console, lin: L2Book, inv: L2Book, what: str) -> None:
    sources = [
        _source(lin, BINANCE_BTCUSDT, "binance_usdm", 10**6),
        _source(inv, BINANCE_BTCUSD_PERP, "binance_coinm", 10**6),
    ]
    router = SmartRouter()
    table = Table(
        title=f"Routing cost, buy N BTC of delta ({what}); USD over each book's mid incl. 5 bp taker fee"
    )
    for col in (
        "BTC",
        "linear alone",
        "inverse alone",
        "routed split",
        "split (lin BTC / inv contracts)",
        "saving vs best single",
    ):
        table.add_column(col, justify="right")
    for q in (10.0, 50.0, 100.0):
        a = router.route(q, sources[:1])
        b = router.route(q, sources[1:])
        c = router.route(q, sources)
        split = " / ".join(f"{x.contracts:g}" for x in c.allocations)
        best = min(a.cost_usd, b.cost_usd)
        table.add_row(
            f"{q:g}",
            f"{a.cost_usd:,.0f}",
            f"{b.cost_usd:,.0f}",
            f"{c.cost_usd:,.0f}",
            split,
            f"{best - c.cost_usd:,.0f} USD ({(best - c.cost_usd) / best:.1%})",
        )
    console.print(table)


def run(console: Console, quick: bool) -> None:
    """Print the latency and routing-cost tables."""
    lin, inv, what = _books()
    n = 500 if quick else 5000
    full = asyncio.run(_latency(lin, inv, n, "hedger"))
    routed = asyncio.run(_latency(lin, inv, n, "routed"))
    direct = asyncio.run(_latency(lin, inv, n, "direct"))
    table = Table(
        title=f"Decision (HedgeIntent) to order submitted on the paper venue, {n} intents of 0.5 BTC"
    )
    cols = (
        "path",
        "p50 us",
        "p99 us",
        "CPU p50 us",
        "CPU p99 us",
        "p50 <= 200 us",
        "CPU p99 <= 200 us",
    )
    for col in cols:
        table.add_column(col, justify="right")
    rows = (
        ("Hedger: books via the Venue port + route + order manager", full),
        ("route on 2 book snapshots + order manager", routed),
        ("order manager only, one market order (peer)", direct),
    )
    for name, x in rows:
        p50, p99 = np.percentile(x[:, 0], [50, 99])
        c50, c99 = np.percentile(x[:, 1], [50, 99])
        table.add_row(
            name,
            f"{p50:.1f}",
            f"{p99:.1f}",
            f"{c50:.1f}",
            f"{c99:.1f}",
            "yes" if p50 <= 200 else "no",
            "yes" if c99 <= 200 else "no",
        )
    console.print(table)
    console.print(
        "wall-clock p99 includes time this process was descheduled on a busy machine; "
        "CPU columns count only this process's own CPU time"
    )
    med = {name: float(np.median(x[:, 0])) for name, x in rows}
    base = med[rows[2][0]]
    console.print(
        f"medians relative to the order manager alone: Hedger x{med[rows[0][0]] / base:.1f}, "
        f"routing on snapshots x{med[rows[1][0]] / base:.1f}"
    )
    _cost_table(console, lin, inv, what)


__all__ = ["run"]

"""Short soak at 100 ticks a simulated second through the demo engine (journal, refits,
paper books re-centred every second, funding polls, dashboard publishing on every tick),
in two equal halves after a warm-up.

Nothing here reads a clock: growth is measured in tracked Python objects (both halves) and
in ``tracemalloc`` bytes still held from the second half's allocations; drift in the work
per tick is the median number of Python function calls per tick (``sys.setprofile``, a
count) at the end of each half; and every history the engine keeps is checked bounded, or
proportional to the trading it records (orders and fills that recovery needs).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import tracemalloc

from deltahedge.bench.engine import CallCounter
from deltahedge.dashboard import ReadModel
from deltahedge.engine.engine import EngineSettings
from deltahedge.engine.scenario import build_demo
from deltahedge.marketdata.feeds import SimulatedFeed
from deltahedge.store import Journal

RATE = 100.0  # ticks per simulated second
WARM = 2_000
HALF = 5_000  # 50 simulated seconds
PROBE = 200


def test_soak_at_100_ticks_a_second_keeps_memory_work_and_histories_bounded(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite", synchronous="NORMAL")
    rm = ReadModel(max_points=100, max_hedges=10)
    settings = EngineSettings(seed=4, max_log=10, publish_hz=1e6, surface_refit_s=5.0,
                              greeks_snapshot_s=5.0, venue_sync_s=1.0, funding_poll_s=10.0)  # fmt: skip
    sc = build_demo(journal=journal, read_model=rm, band_coin=0.05, seed=4, settings=settings)
    e = sc.engine

    def feed(n: int) -> SimulatedFeed:
        return SimulatedFeed(sc.surface.spot, sc.clock, ticks_per_second=RATE,
                             duration_s=(n + 0.5) / RATE, seed=sc.clock.now_ns() % 1000,
                             glitch_rate=1e-3, start_ns=sc.clock.now_ns() + 10_000_000)  # fmt: skip

    async def probe() -> float:
        """Median Python calls per tick over the next PROBE ticks."""
        counts, counter = [], CallCounter()
        async for tick in feed(PROBE):
            with counter:
                await e.on_tick(tick)
            counts.append(counter.n)
        return statistics.median(counts)

    asyncio.run(e.start())
    asyncio.run(e.run(feed(WARM)))  # JIT, caches, first refits
    halves = []
    for k in range(2):
        if k == 1:
            tracemalloc.start()
        gc.collect()
        objects0, hedges0, orders0 = len(gc.get_objects()), e.counters.hedges, len(e.om.orders)
        asyncio.run(e.run(feed(HALF)))
        calls = asyncio.run(probe())
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] if k == 1 else 0
        halves.append({
            "objects": len(gc.get_objects()) - objects0, "hedges": e.counters.hedges - hedges0,
            "orders": len(e.om.orders) - orders0, "calls": calls, "held_bytes": held,
        })  # fmt: skip
    tracemalloc.stop()
    journal.close()
    a, b = halves
    c = e.counters
    assert c.ticks >= WARM + 2 * (HALF + PROBE) and c.errors == 0
    assert sum(c.rejected.values()) >= 5  # bad ticks were injected, rejected, survived
    assert b["hedges"] > 10 and a["hedges"] > 10  # more than the logs keep
    # work per tick does not grow with the run (a count, not a time: ~150 calls a tick)
    assert abs(b["calls"] - a["calls"]) <= 0.05 * a["calls"], halves
    # memory: what the second half still holds is bounded by the records recovery needs
    # (orders, fills: ~12 objects, ~3 kB a hedge measured) plus a constant; and the second
    # half grows no faster than the first
    assert b["objects"] <= 500 + 40 * b["hedges"], halves
    assert b["objects"] <= 1.5 * a["objects"] + 500, halves
    assert b["held_bytes"] <= 1_500_000 + 8_000 * b["hedges"], halves
    # retained records follow the trading, not the ticks: one or two orders a hedge
    assert b["hedges"] <= b["orders"] <= 2 * b["hedges"] + 2
    assert e.account.n_fills() == len(e.account.fill_ids)
    # bounded histories and queues
    assert len(e.hedge_log) == 10 and len(e._new_hedges) <= 10
    snap = rm.snapshot()
    assert len(snap.hedges) <= 10 and all(len(s.ts_ns) <= 100 for s in snap.delta_history)
    assert len(e._last_log) <= 10 and len(e._tasks) <= 1 and not e._option_quotes
    assert len(e.guard._window) <= c.hedges and len(e.venue_data_ns) <= len(e.venues)
    assert len(e.vol.returns) == 0  # the EWMA keeps no returns (GARCH keeps its window)
    assert len(e.latency.counts) == len(e.latency.edges)  # fixed buckets

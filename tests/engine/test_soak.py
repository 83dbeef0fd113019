"""Short soak: 20,000 ticks (10 a second: 33 simulated minutes) through the demo engine (journal, refits, dashboard publishing)
with bounded memory growth (tracemalloc) and bounded in-memory histories."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

from deltahedge.dashboard import ReadModel
from deltahedge.engine.engine import EngineSettings
from deltahedge.engine.scenario import build_demo
from deltahedge.marketdata.feeds import SimulatedFeed
from deltahedge.store import Journal

N = 20_000


def test_twenty_thousand_ticks_keep_memory_and_histories_bounded(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite", synchronous="NORMAL")
    rm = ReadModel(max_points=100, max_hedges=10)
    sc = build_demo(journal=journal, read_model=rm, band_coin=0.3, seed=4,
                    settings=EngineSettings(seed=4, max_log=10, publish_hz=1e6,
                                            surface_refit_s=5.0, greeks_snapshot_s=5.0))  # fmt: skip
    engine = sc.engine

    async def run(n: int) -> None:
        feed = SimulatedFeed(sc.surface.spot, sc.clock, ticks_per_second=10.0,
                             duration_s=n / 10.0, seed=sc.clock.now_ns() % 1000,
                             glitch_rate=1e-3, start_ns=sc.clock.now_ns() + 100_000_000)  # fmt: skip
        await engine.run(feed)

    asyncio.run(engine.start())
    asyncio.run(run(2_000))  # warm-up: JIT, caches, first refits
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    hedges0 = engine.counters.hedges
    asyncio.run(run(N))
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    journal.close()
    c = engine.counters
    assert c.ticks >= N + 2_000 and c.errors == 0
    assert sum(c.rejected.values()) >= 5  # bad ticks were injected, rejected, survived
    assert c.hedges - hedges0 > 10  # the soak hedged more than the log keeps
    assert len(engine.hedge_log) == 10  # bounded
    snap = rm.snapshot()
    assert len(snap.hedges) <= 10 and all(len(s.ts_ns) <= 100 for s in snap.delta_history)
    # the order manager keeps its orders (recovery needs them): ~1-2 kB each is allowed
    allowance = 4_000 * (c.hedges - hedges0)
    assert growth < 3_000_000 + allowance, f"grew {growth / 1e6:.1f} MB over {N} ticks"

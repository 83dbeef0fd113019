"""The engine process the crash test kills: a paper run against a durable paper venue.

``python crash_worker.py FOLDER SEED N_TICKS`` recovers from ``FOLDER/journal.sqlite`` (reconciling
with the venue in ``FOLDER/venue.sqlite``) and then hedges the demo book on a seeded
simulated market for ``N_TICKS`` ticks; the market continues from the venue's last traded
price and time, so each restart carries on where the killed run left off. It prints ``READY`` once recovered and
``DONE <index> <ts_ns> <net delta>`` at the end of the path, and ``COMMIT <client order id>``
each time a venue has committed an order. With ``KILL_AFTER_SUBMIT=p`` it also kills itself
(SIGKILL) right after a venue has committed an order and before it answers, with
probability ``p`` per order
(seeded): the worst moment, the order at the exchange and its answer lost. Not a test
module (no ``test_`` prefix).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path


async def main(folder: Path, seed: int, n_ticks: int) -> None:
    """Recover, then run ``n_ticks`` more ticks of the market from where the venues stopped."""
    from deltahedge.core.clock import SimClock
    from deltahedge.engine.durable_venue import DurablePaperVenue
    from deltahedge.engine.engine import Engine, EngineSettings
    from deltahedge.engine.risk_guard import RiskGuard, RiskLimits
    from deltahedge.engine.scenario import (
        book_follower,
        demo_market,
        demo_options,
        load_demo_surface,
    )
    from deltahedge.hedging.policies import FixedThreshold
    from deltahedge.marketdata.feeds import SimulatedFeed
    from deltahedge.store import Journal
    from deltahedge.venues.specs import BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT

    surface = load_demo_surface()
    market = demo_market(surface)
    clock = SimClock(market.ts_ns)
    hedges = [BINANCE_BTCUSDT, BINANCE_BTCUSD_PERP]
    venues = {
        h.venue: DurablePaperVenue(h.venue, [h], folder / f"venue-{h.venue}.sqlite", clock)
        for h in hedges
    }
    # restart where the last run stopped: the latest price any venue has recorded
    last = max(
        (v._mid.get(h.symbol, (0.0, 0))[1] for h, v in zip(hedges, venues.values(), strict=True)),
        default=0,
    )
    start = max(last, market.ts_ns)
    clock.set(start)
    p_kill = float(os.environ.get("KILL_AFTER_SUBMIT", "0"))
    rng = random.Random(seed)

    def committed(coid: str) -> None:
        # the test counts these lines to kill at a point of the run, not of the wall clock
        print("COMMIT", coid, flush=True)
        if p_kill > 0 and rng.random() < p_kill:
            os.kill(os.getpid(), signal.SIGKILL)

    for v in venues.values():
        v.after_commit = committed
    _, book = demo_options(surface, market)
    journal = Journal(folder / "journal.sqlite", clock=clock, synchronous="NORMAL")
    limits = RiskLimits(max_jump_fraction=0.5, max_notional_per_minute_usd=1e12)
    engine = Engine(
        options=book, policy=FixedThreshold(threshold=0.1), venues=venues, hedges=hedges,
        market=market, clock=clock, guard=RiskGuard(limits, clock), journal=journal,
        settings=EngineSettings(surface_refit_s=0, greeks_snapshot_s=0, seed=seed),
        venue_sync=book_follower(venues, hedges),
    )  # fmt: skip
    await engine.start()
    print("READY", flush=True)
    s0 = venues[hedges[0].venue]._mid.get(hedges[0].symbol, (surface.spot, 0))[0]
    feed = SimulatedFeed(
        s0, clock, ticks_per_second=10.0, duration_s=n_ticks / 10.0, seed=seed,
        start_ns=start + 100_000_000,
    )  # fmt: skip
    await engine.run(feed)
    # where the path ended, for the test to value the book there itself
    m = engine.market
    print("DONE", repr(m.index("BTC")), m.ts_ns, repr(float(engine._risk().delta_coin[0])),
          flush=True)  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))

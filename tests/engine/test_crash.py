"""Crash test: kill -9 the engine at random seeded points, restart with recovery, >= 20 times.

The engine (``crash_worker.py``, a subprocess) hedges against paper venues whose
exchange-side state is durable (``DurablePaperVenue``: orders and fills committed in their
own SQLite file before the answer is sent). After every kill the engine restarts, reconciles
with the venues and resumes. At the end:

- the journal and the venues agree on every fill (same fill ids, quantities, prices);
- no client order id was ever submitted twice (the venues log every submit call);
- the final hedge position is right: the venues' positions equal the journal's, and the
  book's net delta is inside the band (plus one lot) after a final recovered run.
"""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("crash_worker.py")
SRC = Path(__file__).resolve().parents[2] / "src"
KILLS = 20
LONG = 1_000_000  # ticks: a killed run never reaches the end
FINAL = 3_000  # ticks of the last run, which ends normally


def _start(
    folder: Path, seed: int, kill_after_submit: float = 0.0, n_ticks: int = LONG
) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(SRC), KILL_AFTER_SUBMIT=str(kill_after_submit))
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(folder), str(seed), str(n_ticks)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def _wait_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    while line.startswith("COMMIT"):  # recovery may resend a replaced order before READY
        line = proc.stdout.readline()
    assert line.strip() == "READY", f"worker did not start: {line!r}"


def _wait_commits(proc: subprocess.Popen[str], n: int, timeout_s: float = 60.0) -> None:
    """Read the worker's output until it has reported ``n`` committed orders (or ended).

    Kill points are drawn in orders committed, not in seconds, so a slow (loaded) machine
    kills at the same points of the run as a fast one.
    """
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stdout = proc.stdout

    def pump() -> None:  # blocking reads in a thread, so the wait below can time out
        for line in stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    seen = 0
    while seen < n:
        left = deadline - time.monotonic()
        assert left > 0, f"worker committed {seen} of {n} orders in {timeout_s} s"
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            continue
        if not line:  # the worker died (its own kill after a commit) or ended
            return
        seen += line.startswith("COMMIT")


@pytest.mark.slow
def test_kill9_twenty_times_then_journal_and_venue_agree_and_nothing_sent_twice(tmp_path):
    rng = np.random.default_rng(20261125)
    kills = 0
    for k in range(KILLS + 5):
        if kills >= KILLS:
            break
        # odd runs also die right after a venue commits an order (answer lost)
        proc = _start(tmp_path, seed=k, kill_after_submit=0.3 if k % 2 else 0.0)
        _wait_ready(proc)
        # a random point of the run: after 0 to 3 committed orders, then a short random delay
        _wait_commits(proc, int(rng.integers(0, 4)))
        time.sleep(float(rng.uniform(0.0, 0.2)))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        kills += proc.returncode == -signal.SIGKILL
    # a last run to the end of the path, recovering from the last kill
    proc = _start(tmp_path, seed=99, n_ticks=FINAL)
    _wait_ready(proc)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "DONE" in out
    assert kills >= 20
    done = next(line.split() for line in out.splitlines() if line.startswith("DONE"))
    index, ts, worker_delta = float(done[1]), int(done[2]), float(done[3])

    from deltahedge.engine.durable_venue import DurablePaperVenue
    from deltahedge.store import Journal
    from deltahedge.venues.specs import BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT

    class _Clock:
        def now_ns(self) -> int:
            return 0

    journal = Journal(tmp_path / "journal.sqlite")
    venue_fills = {}
    positions = {}
    sent = 0
    for spec in (BINANCE_BTCUSDT, BINANCE_BTCUSD_PERP):
        v = DurablePaperVenue(spec.venue, [spec], tmp_path / f"venue-{spec.venue}.sqlite", _Clock())
        counts = v.submit_counts()
        sent += len(counts)
        assert all(n == 1 for n in counts.values()), {c: n for c, n in counts.items() if n > 1}
        for f in v.fill_log():
            venue_fills[(f.venue, f.fill_id)] = (f.client_order_id, f.side, f.quantity, f.price)
        positions.update({(spec.venue, s): q for s, q in asyncio.run(v.positions()).items()})
        v.close()
    journal_fills = {
        (f.venue, f.fill_id): (f.client_order_id, f.side, f.quantity, f.price)
        for f in journal.fills()
    }
    assert journal_fills == venue_fills
    assert sent >= 10 and len(venue_fills) >= 10
    ours = journal.positions_from_fills()
    for key, q in positions.items():
        assert ours.get(key, 0.0) == pytest.approx(q, abs=1e-9)
    # the net delta where the path ended, valued here from the journal's fills (which are
    # the venues', above) and the demo book: inside the band (0.1 BTC) plus at most a lot of
    # each perpetual (0.001 BTC linear; 100 USD / ~93,000 = 0.0011 BTC inverse)
    from deltahedge.engine.accounts import HedgeAccount
    from deltahedge.engine.scenario import demo_market, demo_options, load_demo_surface

    surface = load_demo_surface()
    market = demo_market(surface)
    _, book = demo_options(surface, market)
    account = HedgeAccount([BINANCE_BTCUSDT, BINANCE_BTCUSD_PERP])
    for f in journal.fills():
        account.apply(f)
    options_delta = float(book.risk(market.with_index("BTC", index, ts)).delta_coin[0])
    net = options_delta + account.delta_coin()
    assert net == pytest.approx(worker_delta, abs=1e-9)  # the engine's own figure agrees
    assert abs(net) <= 0.1 + 0.0025, net
    # orders the journal left in flight: none (every one reconciled)
    assert journal.in_flight_orders() == []
    # recovery had real work: orders whose answer was lost were learned from the venue
    recovered = [
        e
        for e in journal.events(kinds=["reconcile"])
        if e["payload"]["updated"] or e["payload"]["imported_fills"]
    ]
    assert len(recovered) >= 2, recovered
    journal.close()


@pytest.mark.slow
def test_after_a_kill_the_recovered_engine_holds_the_venues_legs_and_hedges_into_the_band(
    tmp_path,
):
    """Kill mid-run (also right after a venue commit), recover, and check the position:
    the engine's legs are the venues', and one tick later the book is inside the band."""
    proc = _start(tmp_path, seed=1, kill_after_submit=0.2)
    _wait_ready(proc)
    _wait_commits(proc, 3)  # a run with orders at the venues (or its own kill after a commit)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)

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
    from deltahedge.marketdata.feeds import Tick, TickKind
    from deltahedge.store import Journal
    from deltahedge.venues.specs import BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT

    surface = load_demo_surface()
    market = demo_market(surface)
    clock = SimClock(market.ts_ns)
    hedges = [BINANCE_BTCUSDT, BINANCE_BTCUSD_PERP]
    venues = {
        h.venue: DurablePaperVenue(h.venue, [h], tmp_path / f"venue-{h.venue}.sqlite", clock)
        for h in hedges
    }
    # the market where the killed run last traded
    mid, ts = max((v._mid[h.symbol] for h, v in zip(hedges, venues.values(), strict=True)
                   if h.symbol in v._mid), key=lambda x: x[1])  # fmt: skip
    clock.set(ts)
    _, book = demo_options(surface, market)
    journal = Journal(tmp_path / "journal.sqlite", clock=clock)
    limits = RiskLimits(max_jump_fraction=0.5, max_notional_per_minute_usd=1e12)
    engine = Engine(
        options=book, policy=FixedThreshold(threshold=0.1), venues=venues, hedges=hedges,
        market=market.with_index("BTC", mid, ts), clock=clock, guard=RiskGuard(limits, clock),
        journal=journal, settings=EngineSettings(surface_refit_s=0, greeks_snapshot_s=0),
        venue_sync=book_follower(venues, hedges),
    )  # fmt: skip
    asyncio.run(engine.start())
    for h, v in zip(hedges, venues.values(), strict=True):
        venue_pos = asyncio.run(v.positions())[h.symbol]
        assert engine.account.contracts()[(h.venue, h.symbol)] == pytest.approx(venue_pos)
    assert engine.account.n_fills() == len(journal.fills()) > 0
    t = clock.advance(0.1)
    asyncio.run(engine.on_tick(Tick(TickKind.INDEX, "BTC", "sim", "BTC", mid, t, t)))
    # inside the band (0.1 BTC) with at most a lot of each perp left over
    assert abs(engine._risk().delta_coin[0]) <= 0.1 + 0.0025
    journal.close()

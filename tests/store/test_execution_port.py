"""The journal as the order manager's durable store (``deltahedge.execution.journal.Journal``).

The order manager upserts ``OrderRecord`` objects and rebuilds itself with ``load()``;
here it runs on the paper venue against a SQLite/PostgreSQL journal that is closed and
reopened (a new process) at every simulated crash.
"""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.core import (
    ExecutionError,
    HedgeIntent,
    OrderRequest,
    OrderSide,
    OrderStatus,
    SimClock,
    client_order_id,
)
from deltahedge.execution.journal import Journal as JournalPort
from deltahedge.execution.journal import OrderRecord
from deltahedge.execution.orders import OrderManager, RetryPolicy
from deltahedge.store import Journal, OrderJournal, reconcile
from deltahedge.venues.paper import FaultConfig, PaperVenue
from deltahedge.venues.specs import BINANCE_BTCUSDT, synthetic_book

LOT = BINANCE_BTCUSDT.lot_size


def test_store_journal_satisfies_the_execution_port(journal: Journal) -> None:
    assert isinstance(journal, JournalPort)
    assert isinstance(OrderJournal(journal), JournalPort)


def test_order_record_upserts_append_transitions_and_load_rebuilds(journal: Journal) -> None:
    intent = HedgeIntent("int-1", 5, "BTC", 0.3, "band", inputs={"delta": -0.3})
    req = OrderRequest(client_order_id("int-1", 0, 0), "v", "BTCUSDT", OrderSide.BUY, 0.3,
                       intent_id="int-1", ts_ns=6)  # fmt: skip
    rec = OrderRecord(req, OrderStatus.NEW, 0.0, leg=0, attempt=0, leg_target=0.3)
    journal.record_intent(intent)
    journal.record_order(rec)
    journal.record_order(rec)  # unchanged: nothing written
    filled = OrderRecord(req, OrderStatus.FILLED, 0.3, 0, 0, 0.3, confirmed=True, avg_price=101.5)
    journal.record_order(filled)
    state = journal.load()
    assert state.intents == {"int-1": intent}
    assert state.orders == {req.client_order_id: filled}
    assert [e["payload"]["status"] for e in journal.events(kinds=["order_update"])] == ["filled"]
    assert journal.in_flight_orders() == []


class _Crash(Exception):
    """The process died just before or just after a send."""


class _CrashingVenue:
    """Forwards to the paper venue; 'kills the process' around some submits."""

    def __init__(self, inner: PaperVenue, rng: np.random.Generator) -> None:
        self._inner = inner
        self._rng = rng

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    async def submit(self, request: OrderRequest):
        if self._rng.random() < 0.25:
            raise _Crash("before send")
        update = await self._inner.submit(request)
        if self._rng.random() < 0.25:
            raise _Crash("after send")
        return update


async def _schedule(db_url: str, seed: int) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    clock = SimClock(0)
    faults = FaultConfig(disconnect_after=0.3, drop_fill=0.3, duplicate_fill=0.3, drop_update=0.3)
    book = synthetic_book("BTCUSDT", levels=300, size_at_touch=0.4, seed=seed)
    v = f"v{seed}"  # the schedules share one journal: one venue name each
    paper = PaperVenue(v, [BINANCE_BTCUSDT], {"BTCUSDT": book}, clock=clock, faults=faults,
                       seed=seed)  # fmt: skip

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    kw = dict(clock=clock, retry=RetryPolicy(max_tries=6, max_attempts=40), sleep=sleep)
    journal = Journal(db_url, clock=clock)
    venues = {v: _CrashingVenue(paper, rng)}
    om = OrderManager(venues, OrderJournal(journal), **kw)
    intended = 0.0
    restarts = 0
    for k in range(3):
        qty = round(float(rng.uniform(LOT, 1.5)) / LOT) * LOT
        side = OrderSide.BUY if rng.random() < 0.5 else OrderSide.SELL
        intended += side.sign * qty
        intent = HedgeIntent(f"s{seed}-i{k}", clock.now_ns(), "BTC", side.sign * qty, "t")
        for rounds in range(200):
            try:
                if rounds == 0:
                    await om.execute(intent, [OrderRequest("", v, "BTCUSDT", side, qty)])
                else:
                    await om.reconcile()
                    await om.resume()
            except ExecutionError:
                pass
            except _Crash:  # the process dies: a fresh journal object and order manager
                om.close()
                journal.close()
                journal = Journal(db_url, clock=clock)
                om = OrderManager.recover(venues, OrderJournal(journal), **kw)
                restarts += 1
            if om.in_flight("BTC") is None:
                break
        else:
            raise AssertionError(f"seed {seed}: {intent.intent_id} never finished")
    paper.faults = type(paper.faults)(None, 0)  # a clean line for the final check
    await om.reconcile()
    venue_fills = paper.fill_log()
    assert {f.fill_id for f in journal.fills(v)} == {f.fill_id for f in venue_fills}
    assert len(journal.fills(v)) == len(venue_fills)
    (pos,) = journal.positions_from_fills(v).values()
    assert pos == pytest.approx(paper._positions["BTCUSDT"], abs=1e-9)
    assert abs(pos - intended) <= LOT / 2
    assert paper.duplicate_submits == 0
    report = await reconcile(journal, paper)
    assert report.clean, report.summary()
    journal.close()
    return restarts, len(venue_fills)


async def test_order_manager_on_the_durable_journal_survives_restarts(db_url: str) -> None:
    results = [await _schedule(db_url, seed) for seed in range(4)]
    assert sum(r for r, _ in results) > 0  # restarts from the journal were exercised
    assert all(n > 0 for _, n in results)

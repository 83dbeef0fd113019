"""Seeded random fault schedules against the order manager on the paper venue.

Each schedule draws fault probabilities (rejects, rate limits, disconnects before and after
a send, failing look-ups, dropped and duplicated fill messages, dropped updates) and crash
points (the process dies just before or just after a send; the order manager is rebuilt
from its journal and reconciles), then executes hedge intents. Invariants checked after
every schedule: the venue position equals the intended one (to the lot), every venue fill
is counted exactly once in the journal and in the manager's position, no client order id
reaches the venue twice and no intent is over- or under-filled.

Two families:

1. ``N_SCHEDULES`` schedules of three market-order intents on one venue.
2. ``N_ROUTED`` schedules on two venues with 2 ms latency (linear BTCUSDT and inverse
   BTCUSD_PERP): intents routed by the :class:`Hedger` across both books (stale-book
   faults make a venue report itself unhealthy, and the router goes around it), and
   intents of resting limit orders on both venues that fill later, when the market
   trades through them. The stale-book fault only matters where a health check is read,
   i.e. in this family (the order manager alone never asks).
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from deltahedge.core import (
    ExecutionError,
    HedgeIntent,
    OrderRequest,
    OrderSide,
    SimClock,
)
from deltahedge.core.enums import OrderType
from deltahedge.execution.hedger import Hedger, HedgeTarget
from deltahedge.execution.journal import MemoryJournal
from deltahedge.execution.orders import ManagedOrder, OrderManager, RetryPolicy
from deltahedge.venues.paper import FaultConfig, PaperVenue
from deltahedge.venues.specs import BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT, synthetic_book

N_SCHEDULES = 1000
N_ROUTED = 1000
LOT = BINANCE_BTCUSDT.lot_size


class _Crash(Exception):
    """The process died (not a venue error: the order manager must not catch it)."""


class _CrashingVenue:
    """Forwards to a paper venue; may 'kill the process' just before or after a submit."""

    def __init__(
        self, inner: PaperVenue, rng: np.random.Generator, p_before: float, p_after: float
    ):
        self._inner = inner
        self._rng = rng
        self._p_before = p_before
        self._p_after = p_after
        self.crashes = 0

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    async def submit(self, request: OrderRequest):
        if self._rng.random() < self._p_before:
            self.crashes += 1
            raise _Crash("before send")
        update = await self._inner.submit(request)
        if self._rng.random() < self._p_after:
            self.crashes += 1
            raise _Crash("after send")
        return update


async def _run_schedule(seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    clock = SimClock(0)
    u = rng.uniform
    faults = FaultConfig(
        reject=u(0, 0.3),
        rate_limit=u(0, 0.2),
        disconnect_before=u(0, 0.2),
        disconnect_after=u(0, 0.2),
        disconnect_query=u(0, 0.3),
        drop_fill=u(0, 0.4),
        duplicate_fill=u(0, 0.4),
        drop_update=u(0, 0.4),
    )
    book = synthetic_book("BTCUSDT", levels=300, size_at_touch=0.4, seed=seed)
    paper = PaperVenue(
        "v", [BINANCE_BTCUSDT], {"BTCUSDT": book}, clock=clock, faults=faults, seed=seed
    )
    venue = _CrashingVenue(paper, rng, u(0, 0.15), u(0, 0.15))
    journal = MemoryJournal()

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    def make(recover: bool) -> OrderManager:
        kw = dict(clock=clock, retry=RetryPolicy(max_tries=6, max_attempts=40), sleep=sleep)
        if recover:
            return OrderManager.recover({"v": venue}, journal, **kw)
        return OrderManager({"v": venue}, journal, **kw)

    om = make(False)
    intended = 0.0
    targets: dict[str, float] = {}
    restarts = skipped = 0
    for k in range(3):
        qty = round(float(u(LOT, 2.0)) / LOT) * LOT
        side = OrderSide.BUY if rng.random() < 0.5 else OrderSide.SELL
        intent = HedgeIntent(f"s{seed}-i{k}", clock.now_ns(), "BTC", side.sign * qty, "fault test")
        legs = [OrderRequest("", "v", "BTCUSDT", side, qty)]
        intended += side.sign * qty
        targets[intent.intent_id] = qty
        for rounds in range(300):
            try:
                if rounds == 0:
                    await om.execute(intent, legs)
                else:
                    await om.reconcile()
                    # a second hedge of the same exposure while this one is in flight is refused
                    if om.in_flight("BTC") is not None:
                        other = HedgeIntent(
                            f"s{seed}-dup{k}-{rounds}", clock.now_ns(), "BTC", 1.0, "dup"
                        )
                        rep = await om.execute(
                            other, [OrderRequest("", "v", "BTCUSDT", OrderSide.BUY, 1.0)]
                        )
                        assert rep.status == "skipped", rep
                        skipped += 1
                    await om.resume()
                if om.in_flight("BTC") is None:
                    break
            except _Crash:
                om.close()
                om = make(True)
                restarts += 1
            except ExecutionError:
                pass  # fate unknown for now: reconcile on the next round
        else:
            raise AssertionError(f"seed {seed}: intent {intent.intent_id} never finished")
    for _ in range(50):
        try:
            diffs = await om.reconcile()
            break
        except ExecutionError:
            continue
    else:
        raise AssertionError(f"seed {seed}: final reconcile never got through")

    venue_fills = paper.fill_log()
    venue_pos = paper._positions["BTCUSDT"]
    # final position = intended, within one lot
    assert abs(venue_pos - intended) <= LOT / 2, (seed, venue_pos, intended)
    # every venue fill journaled and counted exactly once
    assert set(journal.fills) == {f.fill_id for f in venue_fills}, seed
    assert len(journal.fills) == len(venue_fills)
    assert sum(f.signed_quantity for f in journal.fills.values()) == pytest.approx(
        venue_pos, abs=1e-9
    )
    assert om.positions.get(("v", "BTCUSDT"), 0.0) == pytest.approx(venue_pos, abs=1e-9)
    assert all(abs(d) < 1e-9 for d in diffs.values()), diffs
    # no client order id sent twice, no intent over- or under-filled
    assert paper.duplicate_submits == 0, seed
    by_intent: dict[str, float] = {}
    coid_intent = {o.request.client_order_id: o.request.intent_id for o in om.orders.values()}
    for f in venue_fills:
        by_intent[coid_intent[f.client_order_id]] = (
            by_intent.get(coid_intent[f.client_order_id], 0.0) + f.quantity
        )
    for iid, qty in targets.items():
        assert by_intent.get(iid, 0.0) == pytest.approx(qty, abs=1e-9), (seed, iid)
    return {
        "restarts": restarts,
        "skipped": skipped,
        "duplicates_seen": om.duplicate_fills,
        **paper.faults.counts,
    }


def test_random_fault_schedules_position_exact_and_no_double_counting():
    async def run_all() -> dict[str, int]:
        totals: dict[str, int] = {}
        for seed in range(N_SCHEDULES):
            for key, n in (await _run_schedule(seed)).items():
                totals[key] = totals.get(key, 0) + n
        return totals

    totals = asyncio.run(run_all())
    # the schedules really exercised every fault kind (so the invariants were tested under them)
    for kind in (
        "reject",
        "rate_limit",
        "disconnect_before",
        "disconnect_after",
        "disconnect_query",
        "drop_fill",
        "duplicate_fill",
        "drop_update",
        "restarts",
        "skipped",
    ):
        assert totals.get(kind, 0) > 50, (kind, totals)


# ---------------------------------------------------------------------------- family 2
_SPECS = {"lin": BINANCE_BTCUSDT, "inv": BINANCE_BTCUSD_PERP}
_SYMBOL = {"lin": "BTCUSDT", "inv": "BTCUSD_PERP"}
LATENCY_NS = 2_000_000


def _faults(u) -> FaultConfig:
    return FaultConfig(
        reject=u(0, 0.3),
        rate_limit=u(0, 0.2),
        disconnect_before=u(0, 0.2),
        disconnect_after=u(0, 0.2),
        disconnect_query=u(0, 0.3),
        drop_fill=u(0, 0.4),
        duplicate_fill=u(0, 0.4),
        drop_update=u(0, 0.4),
        stale_book=u(0, 0.5),
    )


def _trade_through(paper: dict[str, PaperVenue]) -> None:
    """The market trades through every resting order: a sale far below, a purchase far above."""
    for name, v in paper.items():
        v.on_trade(_SYMBOL[name], 1.0, 1e12, OrderSide.SELL)  # fills resting bids
        v.on_trade(_SYMBOL[name], 1e9, 1e12, OrderSide.BUY)  # fills resting offers


async def _run_routed_schedule(seed: int) -> dict[str, int]:
    rng = np.random.default_rng(10_000 + seed)
    u = rng.uniform
    clock = SimClock(1_000_000_000_000)
    books = {
        "lin": synthetic_book("BTCUSDT", levels=60, size_at_touch=0.5, seed=seed),
        "inv": synthetic_book("BTCUSD_PERP", levels=60, size_at_touch=300.0, seed=seed + 1),
    }
    paper = {
        name: PaperVenue(
            name,
            [_SPECS[name]],
            {_SYMBOL[name]: books[name]},
            clock=clock,
            latency_ns=LATENCY_NS,
            faults=_faults(u),
            seed=seed * 2 + k,
        )
        for k, name in enumerate(("lin", "inv"))
    }
    p_before, p_after = u(0, 0.1), u(0, 0.1)
    venues = {n: _CrashingVenue(v, rng, p_before, p_after) for n, v in paper.items()}
    journal = MemoryJournal()

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    def fresh_books() -> None:  # the market-data side keeps the books current
        for b in books.values():
            b.ts_ns = clock.now_ns()

    def make(recover: bool) -> tuple[OrderManager, Hedger]:
        kw = dict(clock=clock, retry=RetryPolicy(max_tries=6, max_attempts=40), sleep=sleep)
        om = (
            OrderManager.recover(venues, journal, **kw)
            if recover
            else OrderManager(venues, journal, **kw)
        )
        targets = [HedgeTarget(n, _SYMBOL[n], depth=60) for n in ("lin", "inv")]
        return om, Hedger(om, targets, sleep=sleep)

    om, hedger = make(False)
    restarts = skipped = routed_legs = resting_legs = 0
    for k in range(4):
        resting = k % 2 == 1
        side = OrderSide.BUY if rng.random() < 0.5 else OrderSide.SELL
        coin = side.sign * round(float(u(0.2, 1.5)), 3)
        for attempt in range(20):  # a routed intent with every venue stale is decided again
            iid = f"r{seed}-i{k}-a{attempt}"
            intent = HedgeIntent(iid, clock.now_ns(), "BTC", coin, "fault test")
            fresh_books()
            try:
                if resting:
                    legs = [
                        OrderRequest(
                            "", n, _SYMBOL[n], side, q, OrderType.LIMIT,
                            books[n].best_bid if side is OrderSide.BUY else books[n].best_ask,
                        )
                        for n, q in (("lin", abs(coin)), ("inv", 5.0))
                    ]  # fmt: skip
                    await om.execute(intent, legs)
                else:
                    (rep,) = await hedger.hedge(intent)
                    if rep.status == "failed" and not rep.orders:
                        assert "nothing routable" in rep.reason, rep
                        continue  # both venues stale: nothing was sent
            except _Crash:
                om.close()
                om, hedger = make(True)
                restarts += 1
            except ExecutionError:
                pass
            break
        else:
            raise AssertionError(f"seed {seed}: intent {k} never found a healthy venue")
        for rounds in range(400):
            try:
                if rounds:
                    clock.advance(LATENCY_NS / 1e9)
                    _trade_through(paper)
                    await om.reconcile()
                    if om.in_flight("BTC") is not None:
                        dup = HedgeIntent(f"{iid}-dup{rounds}", clock.now_ns(), "BTC", 1.0, "dup")
                        fresh_books()
                        (rep,) = await hedger.hedge(dup)
                        assert rep.status == "skipped", rep
                        skipped += 1
                    await om.resume()
                if om.in_flight("BTC") is None:
                    break
            except _Crash:
                om.close()
                om, hedger = make(True)
                restarts += 1
            except ExecutionError:
                pass
        else:
            raise AssertionError(f"seed {seed}: intent {iid} never finished")
        n_legs = len(om._legs(iid))
        if resting:
            resting_legs += n_legs
        else:
            routed_legs += n_legs
    for _ in range(50):
        try:
            diffs = await om.reconcile()
            break
        except ExecutionError:
            continue
    else:
        raise AssertionError(f"seed {seed}: final reconcile never got through")

    # what each intent asked of each venue: its legs' targets, signed
    wanted: dict[str, float] = {"lin": 0.0, "inv": 0.0}
    legs_of: dict[tuple[str, int], ManagedOrder] = {}
    for mo in om.orders.values():
        legs_of.setdefault((mo.request.intent_id, mo.record.leg), mo)
    for mo in legs_of.values():
        wanted[mo.request.venue] += mo.request.side.sign * mo.record.leg_target
    coid_intent = {o.request.client_order_id: o.request.intent_id for o in om.orders.values()}
    for name, v in paper.items():
        symbol, lot = _SYMBOL[name], _SPECS[name].lot_size
        fills = v.fill_log()
        pos = v._positions[symbol]
        # final position = intended, within one lot; every fill counted once, none lost
        assert abs(pos - wanted[name]) <= lot / 2, (seed, name, pos, wanted[name])
        assert {f.fill_id for f in fills} <= set(journal.fills), (seed, name)
        assert sum(f.signed_quantity for f in fills) == pytest.approx(pos, abs=1e-9)
        assert om.positions.get((name, symbol), 0.0) == pytest.approx(pos, abs=1e-9)
        assert abs(diffs.get((name, symbol), 0.0)) < 1e-9, diffs
        # no client order id reached a venue twice: no duplicate hedge order
        assert v.duplicate_submits == 0, (seed, name)
        assert len(v.placed) == len(set(v.placed)), (seed, name)
        # and no intent got more (or less) than its legs' targets
        by_leg: dict[tuple[str, int], float] = {}
        for f in fills:
            mo = om.orders[f.client_order_id]
            key = (coid_intent[f.client_order_id], mo.record.leg)
            by_leg[key] = by_leg.get(key, 0.0) + f.quantity
        for key, mo in legs_of.items():
            if mo.request.venue == name:
                assert by_leg.get(key, 0.0) == pytest.approx(mo.record.leg_target, abs=1e-9), (
                    seed,
                    key,
                )
    assert len(journal.fills) == sum(len(v.fill_log()) for v in paper.values())
    counts: dict[str, int] = {
        "restarts": restarts,
        "skipped": skipped,
        "routed_legs": routed_legs,
        "resting_legs": resting_legs,
        "duplicates_seen": om.duplicate_fills,
    }
    for v in paper.values():
        for key, n in v.faults.counts.items():
            counts[key] = counts.get(key, 0) + n
    return counts


def test_routed_and_resting_fault_schedules_on_two_latent_venues():
    async def run_all() -> dict[str, int]:
        totals: dict[str, int] = {}
        for seed in range(N_ROUTED):
            for key, n in (await _run_routed_schedule(seed)).items():
                totals[key] = totals.get(key, 0) + n
        return totals

    totals = asyncio.run(run_all())
    for kind in (
        "stale_book",
        "reject",
        "rate_limit",
        "disconnect_before",
        "disconnect_after",
        "disconnect_query",
        "drop_fill",
        "duplicate_fill",
        "drop_update",
        "restarts",
        "skipped",
    ):
        assert totals.get(kind, 0) > 50, (kind, totals)
    # the router really split hedges across both venues, and resting legs really rested
    assert totals["routed_legs"] > N_ROUTED * 2 and totals["resting_legs"] >= N_ROUTED * 2

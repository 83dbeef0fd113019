"""Atomic option + hedge across restarts: seeded crash points between every step.

Each schedule runs one atomic trade on two paper venues (an option venue and a perpetual),
with a crash ("the process dies") injected at a seeded point: before or after any intent
or new-order journal write (plan, hedge, option, unwind), or before or after any order
submit; the option venue may reject, the quote may expire during a restart, and fill
messages may be dropped or duplicated. After each crash the order manager is rebuilt from
its journal and :func:`recover_atomic` runs (and may crash again, less and less often).
Invariants: both legs stand or neither does (the hedge position back to zero within one
lot), no client order id reaches a venue twice, every venue fill is journaled and counted
once, and a further recovery changes nothing.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from deltahedge.core import ExecutionError, OrderRequest, OrderSide, OrderType, SimClock
from deltahedge.core.enums import OrderStatus
from deltahedge.execution.atomic import AtomicExecutor
from deltahedge.execution.atomic_recovery import AtomicPlan, recover_atomic
from deltahedge.execution.journal import MemoryJournal, OrderRecord
from deltahedge.execution.orders import OrderManager, RetryPolicy
from deltahedge.venues.paper import FaultConfig, PaperVenue
from deltahedge.venues.specs import BINANCE_BTCUSDT, synthetic_book

from .test_atomic import CALL, _option_book

N_SCHEDULES = 1000
LOT = BINANCE_BTCUSDT.lot_size
OPT_QTY = 2.0
HEDGE_QTY = 1.2


class _Crash(Exception):
    """The process died (not a venue error: nothing may catch it but the test)."""


class _Crasher:
    """Decides, from a seeded generator, whether the process dies at a crash point."""

    def __init__(self, rng: np.random.Generator, p: float) -> None:
        self.rng = rng
        self.p = p
        self.points: list[str] = []

    def maybe(self, where: str) -> None:
        if self.p > 0 and self.rng.random() < self.p:
            self.points.append(where)
            raise _Crash(where)


class _CrashingJournal(MemoryJournal):
    """A memory journal whose writes of intents and new orders may crash before or after."""

    def __init__(self, crasher: _Crasher) -> None:
        super().__init__()
        self.crasher = crasher

    def record_intent(self, intent) -> None:  # type: ignore[no-untyped-def]
        self.crasher.maybe(f"before intent {intent.intent_id}")
        # as the durable journal: an intent id is recorded once, never with other values
        known = self.state.intents.get(intent.intent_id)
        assert known is None or known == intent, (known, intent)
        super().record_intent(intent)
        self.crasher.maybe(f"after intent {intent.intent_id}")

    def record_order(self, record: OrderRecord) -> None:
        # only the journal-first write of a new order (never inside a venue callback)
        new = record.status is OrderStatus.NEW and not record.confirmed
        if new:
            self.crasher.maybe(f"before order {record.request.client_order_id}")
        super().record_order(record)
        if new:
            self.crasher.maybe(f"after order {record.request.client_order_id}")


class _CrashingVenue:
    """Forwards to a paper venue; the process may die just before or just after a submit."""

    def __init__(self, inner: PaperVenue, crasher: _Crasher) -> None:
        self._inner = inner
        self._crasher = crasher

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._inner, name)

    async def submit(self, request: OrderRequest):  # type: ignore[no-untyped-def]
        self._crasher.maybe(f"before submit {request.client_order_id}")
        update = await self._inner.submit(request)
        self._crasher.maybe(f"after submit {request.client_order_id}")
        return update


async def _run_schedule(seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    clock = SimClock(0)
    u = rng.uniform
    crasher = _Crasher(rng, u(0.05, 0.35))
    opt = PaperVenue(
        "opt",
        [CALL],
        {CALL.symbol: _option_book()},
        clock=clock,
        faults=FaultConfig(reject=u(0, 0.5), drop_fill=u(0, 0.5), duplicate_fill=u(0, 0.5)),
        seed=seed,
    )
    perp = PaperVenue(
        "perp",
        [BINANCE_BTCUSDT],
        {
            "BTCUSDT": synthetic_book(
                "BTCUSDT", mid=60_000.0, levels=50, size_at_touch=1.0, growth=0.0, seed=3
            )
        },
        clock=clock,
        faults=FaultConfig(drop_fill=u(0, 0.5), duplicate_fill=u(0, 0.5), drop_update=u(0, 0.5)),
        seed=seed + 1,
    )
    venues = {"opt": _CrashingVenue(opt, crasher), "perp": _CrashingVenue(perp, crasher)}
    journal = _CrashingJournal(crasher)
    valid_ns = int(u(0.5, 3.0) * 1e9)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    def make(recover: bool) -> OrderManager:
        kw = dict(clock=clock, retry=RetryPolicy(max_attempts=3), sleep=sleep)
        if recover:
            return OrderManager.recover(venues, journal, **kw)
        return OrderManager(venues, journal, **kw)

    om = make(False)
    option = OrderRequest(
        "",
        "opt",
        CALL.symbol,
        OrderSide.BUY,
        OPT_QTY,
        OrderType.LIMIT,
        0.0510,
        intent_id=f"rfq-{seed}",
    )
    hedge = OrderRequest("", "perp", "BTCUSDT", OrderSide.SELL, HEDGE_QTY)
    crashed_first = False
    try:
        await AtomicExecutor(om).execute_atomic(option, hedge, 5.0, valid_until_ns=valid_ns)
    except (_Crash, ExecutionError):
        crashed_first = True
    restarts = 0
    for _ in range(200):
        om.close()
        om = make(True)
        restarts += 1
        clock.advance(float(u(0, 1.5)))  # the restart takes a while: the quote may expire
        try:
            await recover_atomic(om, journal)
            break
        except (_Crash, ExecutionError):
            crasher.p *= 0.7
    else:
        raise AssertionError(f"seed {seed}: recovery never got through")

    # a further restart and recovery finds everything settled: no new order, same decision
    crasher.p = 0.0
    placed = (list(opt.placed), list(perp.placed))
    decision = journal.state.intents.get(f"rfq-{seed}:atomic:decision")
    om.close()
    om = make(True)
    again = await recover_atomic(om, journal)
    assert (opt.placed, perp.placed) == placed, seed
    assert all(r.action in ("none", "nothing_sent", "abandoned") for r in again), (seed, again)
    if decision is not None:
        assert journal.state.intents[decision.intent_id].inputs == decision.inputs, seed

    opt_pos = opt._positions[CALL.symbol]
    perp_pos = perp._positions["BTCUSDT"]
    # both legs stand or neither does
    if abs(opt_pos) > 1e-9:
        assert opt_pos == pytest.approx(OPT_QTY), seed
        assert abs(perp_pos + HEDGE_QTY) <= LOT / 2, (seed, perp_pos)
    else:
        assert abs(perp_pos) <= LOT / 2, (seed, perp_pos, crasher.points)
    # the decision journaled agrees with the venues (when a plan was journaled)
    if f"rfq-{seed}:atomic" in journal.state.intents:
        decision = journal.state.intents[f"rfq-{seed}:atomic:decision"]
        assert decision.inputs["committed"] == (1.0 if abs(opt_pos) > 1e-9 else 0.0), seed
    else:
        assert opt.placed == [] and perp.placed == [], seed
    # no order sent twice; every fill journaled and counted once
    for venue, sym in ((opt, CALL.symbol), (perp, "BTCUSDT")):
        assert venue.duplicate_submits == 0, seed
        log = venue.fill_log()
        mine = {k: f for k, f in journal.fills.items() if f.venue == venue.name}
        assert set(mine) == {f.fill_id for f in log}, seed
        assert om.positions.get((venue.name, sym), 0.0) == pytest.approx(
            venue._positions[sym], abs=1e-9
        )
    committed = abs(opt_pos) > 1e-9
    return {
        "crashed_first": int(crashed_first),
        "restarts": restarts,
        "committed": int(committed),
        "unwound": int(
            any(
                o.request.intent_id == f"rfq-{seed}:unwind" and o.counted > 0
                for o in om.orders.values()
            )
        ),
        "completed_after_restart": int(committed and crashed_first),
        **{f"crash {p.split()[0]} {p.split()[1]}": 1 for p in crasher.points},
    }


def test_seeded_crash_points_leave_both_legs_or_neither_and_nothing_twice():
    async def run_all() -> dict[str, int]:
        totals: dict[str, int] = {}
        for seed in range(N_SCHEDULES):
            for key, n in (await _run_schedule(seed)).items():
                totals[key] = totals.get(key, 0) + n
        return totals

    totals = asyncio.run(run_all())
    print(totals)
    # every kind of crash point and both outcomes were exercised
    for key in (
        "crash before intent",
        "crash after intent",
        "crash before order",
        "crash after order",
        "crash before submit",
        "crash after submit",
        "committed",
        "unwound",
        "completed_after_restart",
    ):
        assert totals.get(key, 0) >= 10, (key, totals)


class _CrashAfterHedge(Exception):
    pass


async def _lone_hedge(valid_ns: int):
    """A trade whose process dies right after the hedge filled, before the option intent."""
    clock = SimClock(0)
    opt = PaperVenue("opt", [CALL], {CALL.symbol: _option_book()}, clock=clock)
    perp = PaperVenue(
        "perp",
        [BINANCE_BTCUSDT],
        {
            "BTCUSDT": synthetic_book(
                "BTCUSDT", mid=60_000.0, levels=50, size_at_touch=1.0, growth=0.0, seed=3
            )
        },
        clock=clock,
    )
    venues = {"opt": opt, "perp": perp}

    class J(MemoryJournal):
        def record_intent(self, intent) -> None:  # type: ignore[no-untyped-def]
            if intent.intent_id.endswith(":option") and not getattr(self, "healed", False):
                raise _CrashAfterHedge
            super().record_intent(intent)

    journal = J()
    om = OrderManager(venues, journal, clock=clock)
    option = OrderRequest(
        "", "opt", CALL.symbol, OrderSide.BUY, OPT_QTY, OrderType.LIMIT, 0.0510, intent_id="q1"
    )
    with pytest.raises(_CrashAfterHedge):
        await AtomicExecutor(om).execute_atomic(
            option, OrderRequest("", "perp", "BTCUSDT", OrderSide.SELL, HEDGE_QTY), 5.0, valid_ns
        )
    assert perp._positions["BTCUSDT"] == pytest.approx(-HEDGE_QTY)  # a lone hedge stands
    assert opt._positions[CALL.symbol] == 0.0
    journal.healed = True  # type: ignore[attr-defined]
    om.close()
    clock.advance(1.0)  # the restart takes 1 s
    return OrderManager.recover(venues, journal, clock=clock), journal, opt, perp


def test_lone_hedge_within_the_quote_validity_completes_the_option_leg():
    async def go():
        om, journal, opt, perp = await _lone_hedge(valid_ns=5_000_000_000)
        (res,) = await recover_atomic(om, journal)
        return res, journal, opt, perp

    res, journal, opt, perp = asyncio.run(go())
    assert res.committed and res.action == "completed_option"
    assert opt._positions[CALL.symbol] == pytest.approx(OPT_QTY)
    assert perp._positions["BTCUSDT"] == pytest.approx(-HEDGE_QTY)
    assert journal.state.intents["q1:atomic:decision"].inputs["committed"] == 1.0
    # the plan kept the limits it was decided with: the option's limit price, the hedge's FOK limit
    plan = AtomicPlan.from_intent(journal.state.intents["q1:atomic"])
    assert plan is not None and plan.option.price == 0.0510
    assert plan.hedge.price == pytest.approx(plan.reference * (1 - 5.0e-4))


def test_lone_hedge_after_the_quote_expired_is_unwound_and_the_reason_journaled():
    async def go():
        om, journal, opt, perp = await _lone_hedge(valid_ns=500_000_000)
        (res,) = await recover_atomic(om, journal)
        om.close()
        again = await recover_atomic(
            OrderManager.recover(om.venues, journal, clock=om.clock), journal
        )
        return res, again, journal, opt, perp

    res, again, journal, opt, perp = asyncio.run(go())
    assert not res.committed and res.action == "unwound" and res.unwound == pytest.approx(HEDGE_QTY)
    assert "expired" in journal.state.intents["q1:atomic:decision"].reason
    assert opt._positions[CALL.symbol] == 0.0 and opt.placed == []
    assert perp._positions["BTCUSDT"] == pytest.approx(0.0, abs=1e-12)
    # a second restart: settled, nothing new sent
    assert again[0].action == "none" and len(perp.placed) == 2


def test_recovery_after_a_completed_trade_sends_nothing_and_keeps_the_decision():
    async def go():
        clock = SimClock(0)
        opt = PaperVenue("opt", [CALL], {CALL.symbol: _option_book()}, clock=clock)
        perp = PaperVenue(
            "perp",
            [BINANCE_BTCUSDT],
            {"BTCUSDT": synthetic_book("BTCUSDT", mid=60_000.0, levels=50, seed=3)},
            clock=clock,
        )
        journal = _CrashingJournal(_Crasher(np.random.default_rng(0), 0.0))  # strict, no crash
        om = OrderManager({"opt": opt, "perp": perp}, journal, clock=clock)
        option = OrderRequest(
            "", "opt", CALL.symbol, OrderSide.BUY, 1.0, OrderType.LIMIT, 0.0510, intent_id="q2"
        )
        hedge = OrderRequest("", "perp", "BTCUSDT", OrderSide.SELL, 0.6)
        done = await AtomicExecutor(om).execute_atomic(option, hedge, 5.0)
        decision = journal.state.intents["q2:atomic:decision"]
        clock.advance(1.0)
        # the same trade id again: resumed, nothing new sent, nothing journaled twice
        redo = await AtomicExecutor(om).execute_atomic(option, hedge, 5.0)
        assert redo.committed
        clock.advance(10.0)
        same = await recover_atomic(om, journal)  # on the same manager, then after a restart
        om.close()
        later = await recover_atomic(OrderManager.recover(om.venues, journal, clock=clock))
        return done, decision, same, later, journal, opt, perp

    done, decision, same, later, journal, opt, perp = asyncio.run(go())
    assert done.committed and decision.inputs["committed"] == 1.0
    assert [r.action for r in same + later] == ["none", "none"]
    assert all(r.committed for r in same + later)
    assert journal.state.intents["q2:atomic:decision"] == decision
    assert len(opt.placed) == 1 and len(perp.placed) == 1


def test_resume_leaves_an_expired_option_leg_to_the_atomic_recovery():
    async def go():
        clock = SimClock(0)
        opt = PaperVenue("opt", [CALL], {CALL.symbol: _option_book()}, clock=clock)
        perp = PaperVenue(
            "perp",
            [BINANCE_BTCUSDT],
            {"BTCUSDT": synthetic_book("BTCUSDT", mid=60_000.0, levels=50, seed=3)},
            clock=clock,
        )
        crasher = _Crasher(np.random.default_rng(0), 0.0)

        class J(_CrashingJournal):
            def record_order(self, record: OrderRecord) -> None:
                super().record_order(record)
                if record.request.instrument == CALL.symbol and self.crasher.p == 0.0:
                    self.crasher.p = 1.0  # dies right after journaling the option order
                    self.crasher.maybe("after order option")

        journal = J(crasher)
        venues = {"opt": opt, "perp": perp}
        om = OrderManager(venues, journal, clock=clock)
        option = OrderRequest(
            "", "opt", CALL.symbol, OrderSide.BUY, 1.0, OrderType.LIMIT, 0.0510, intent_id="q3"
        )
        hedge = OrderRequest("", "perp", "BTCUSDT", OrderSide.SELL, 0.6)
        with pytest.raises(_Crash):
            await AtomicExecutor(om).execute_atomic(option, hedge, 5.0, valid_until_ns=10**9)
        crasher.p = -1.0  # no more crashes
        om.close()
        clock.advance(5.0)  # the quote expired during the restart
        om = OrderManager.recover(venues, journal, clock=clock)
        await om.reconcile()
        await om.resume()  # the engine's generic resume must not send the stale option order
        sent_before_recovery = list(opt.placed)
        (res,) = await recover_atomic(om, journal)
        return sent_before_recovery, res, opt, perp

    sent, res, opt, perp = asyncio.run(go())
    assert sent == [] and opt.placed == []
    assert not res.committed and res.action == "unwound"
    assert perp._positions["BTCUSDT"] == pytest.approx(0.0, abs=1e-12)

"""The engine loop: hedging into the band, journal first, bad ticks, errors, kill switch,
staleness, dashboard publishing and the store-journal adapter."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from deltahedge.dashboard import ReadModel
from deltahedge.engine.engine import EngineControls, EngineSettings
from deltahedge.engine.risk_guard import KillState, RiskLimits
from deltahedge.engine.scenario import build_demo
from deltahedge.marketdata.feeds import Tick, TickKind
from deltahedge.store import Journal

S = EngineSettings(surface_refit_s=0, greeks_snapshot_s=0)


class ListFeed:
    def __init__(self, ticks):  # type: ignore[no-untyped-def]
        self.ticks = list(ticks)

    def __aiter__(self):  # type: ignore[no-untyped-def]
        return self._run()

    async def _run(self):  # type: ignore[no-untyped-def]
        for t in self.ticks:
            yield t

    async def close(self) -> None:
        pass


def _tick(sc, price: float, dt_s: float = 0.1, age_s: float = 0.0) -> Tick:  # type: ignore[no-untyped-def]
    ts = sc.clock.advance(dt_s)
    return Tick(TickKind.INDEX, "BTC", "sim", "BTC", price, ts - round(age_s * 1e9), ts)


def _breach_price(sc, band: float) -> float:  # type: ignore[no-untyped-def]
    """A spot where the short-gamma demo book's delta is beyond the band (found by bisection)."""
    e = sc.engine
    s0 = e.market.index("BTC")
    lo, hi = s0, s0 * 1.05
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        d = e.cbook.risk(e.market.with_index("BTC", mid)).delta_coin[0]
        lo, hi = (mid, hi) if abs(d) <= 1.5 * band else (lo, mid)
    return hi


def test_breaching_tick_is_hedged_back_to_zero_and_journaled_before_fills(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    sc = build_demo(journal=journal, band_coin=2.0, settings=S)
    e = sc.engine
    asyncio.run(e.start())
    price = _breach_price(sc, 2.0)
    intent = asyncio.run(e.on_tick(_tick(sc, price)))
    assert intent is not None and abs(intent.delta_coin) > 2.0
    # fixed threshold hedges back to 0: what is left is below one lot of either perp
    # (0.001 BTC linear; 100 USD / 93,000 = 0.0011 BTC inverse)
    assert abs(e._risk().delta_coin[0]) < 0.0025
    kinds = [ev["kind"] for ev in journal.events(kinds=["intent", "order", "fill"])]
    assert kinds[0] == "intent" and kinds.index("order") < kinds.index("fill")
    # the journal's positions are the engine's
    pos = journal.positions_from_fills()
    assert pos == pytest.approx({k: v for k, v in e.account.contracts().items() if v})
    journal.close()


def test_bad_ticks_are_rejected_counted_journaled_and_the_loop_goes_on(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    sc = build_demo(journal=journal, settings=S)
    e = sc.engine
    s0 = e.market.index("BTC")
    ticks = [_tick(sc, s0), _tick(sc, math.nan), _tick(sc, -5.0), _tick(sc, s0 * 1.5),
             _tick(sc, s0 * 1.001)]  # fmt: skip
    asyncio.run(e.run(ListFeed(ticks)))
    assert e.counters.rejected == {"not_finite": 1, "non_positive": 1, "jump": 1}
    assert journal.rejected_counts() == {"not_finite": 1, "non_positive": 1, "jump": 1}
    assert e.market.index("BTC") == pytest.approx(s0 * 1.001)
    assert e.counters.errors == 0
    journal.close()


def test_an_exception_in_the_policy_is_counted_and_the_next_tick_is_processed():
    sc = build_demo(settings=S)
    e = sc.engine
    real = e.policy
    calls = []

    class Flaky:
        name = "flaky"
        threshold = 2.0

        def decide(self, *a):  # type: ignore[no-untyped-def]
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("boom")
            return real.decide(*a)

    e.policy = Flaky()
    s0 = e.market.index("BTC")
    asyncio.run(e.run(ListFeed([_tick(sc, s0), _tick(sc, s0 + 1), _tick(sc, s0 + 2)])))
    assert e.counters.errors == 1 and len(calls) == 3 and e.counters.ticks == 3


def test_freeze_sends_nothing_and_flatten_closes_the_hedge_legs_then_freezes():
    sc = build_demo(band_coin=2.0, settings=S)
    e = sc.engine
    asyncio.run(e.start())
    price = _breach_price(sc, 2.0)
    asyncio.run(e.on_tick(_tick(sc, price)))
    assert any(abs(q) > 0 for q in e.account.contracts().values())
    controls = EngineControls(e)
    controls.kill("freeze")
    n = e.counters.hedges
    asyncio.run(e.on_tick(_tick(sc, price * 1.02)))  # a breach, but frozen
    assert e.counters.hedges == n and e.mode == "frozen"
    controls.kill("flatten")
    asyncio.run(e.on_tick(_tick(sc, price * 1.02)))
    assert all(abs(q) < 1e-12 for q in e.account.contracts().values())
    asyncio.run(e.on_tick(_tick(sc, price * 1.02)))
    assert e.kill_switch.state is KillState.FROZEN
    controls.resume()
    assert e.mode == "running"


def test_stale_index_refuses_the_hedge_then_hedging_resumes_by_itself():
    sc = build_demo(band_coin=2.0, settings=S, limits=RiskLimits(max_staleness_s=2.0))
    e = sc.engine
    asyncio.run(e.start())
    price = _breach_price(sc, 2.0)
    assert asyncio.run(e.on_tick(_tick(sc, price, age_s=5.0))) is None  # a 5 s old price
    assert e.counters.denied == 1 and "old" in e.message
    assert asyncio.run(e.on_tick(_tick(sc, price * 1.0001))) is not None


def test_dashboard_gets_the_engines_numbers_in_its_units():
    rm = ReadModel()
    sc = build_demo(read_model=rm, band_coin=2.0, settings=S)
    e = sc.engine
    asyncio.run(e.start())
    asyncio.run(e.on_tick(_tick(sc, _breach_price(sc, 2.0))))
    e.publish(force=True)
    snap = rm.snapshot()
    r = e.last_risk
    u = snap.underlyings[0]
    assert u.delta_coin == pytest.approx(float(r.delta_coin[0]))
    assert u.vega_usd == pytest.approx(float(r.vega_usd[0]) / 100)  # per vol point
    S0 = float(r.index[0])
    assert u.gamma_cash_usd == pytest.approx(float(r.gamma_coin[0]) * S0 * S0 / 100)
    assert (u.band_lower_coin, u.band_upper_coin) == (-2.0, 2.0)
    assert len(snap.hedges) >= 1 and snap.hedges[0].status == "filled"
    assert snap.pnl is not None and snap.pnl.total == pytest.approx(e.pnl.total)


def test_journal_rebuilds_the_order_managers_records(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    sc = build_demo(journal=journal, band_coin=2.0, settings=S)
    e = sc.engine
    asyncio.run(e.start())
    asyncio.run(e.on_tick(_tick(sc, _breach_price(sc, 2.0))))
    live = {c: mo.record for c, mo in e.om.orders.items()}
    state = journal.load()
    assert set(state.orders) == set(live) and live
    for coid, rec in live.items():
        got = state.orders[coid]
        assert (got.leg, got.attempt, got.leg_target, got.status, got.filled_quantity) == (
            rec.leg,
            rec.attempt,
            rec.leg_target,
            rec.status,
            rec.filled_quantity,
        )
    assert set(state.intents) == set(e.om.intents)
    assert set(state.fills) == {f for mo in e.om.orders.values() for f in mo.fills}
    journal.close()


def test_kill_switch_request_in_the_journal_freezes_the_engine_and_survives_restart(tmp_path):
    from deltahedge.store import request_kill_switch

    journal = Journal(tmp_path / "j.sqlite")
    sc = build_demo(journal=journal, band_coin=2.0, settings=S)
    e = sc.engine
    asyncio.run(e.start())
    request_kill_switch(journal, "frozen", "cli", "test", "deltahedge")
    e._next_ks_poll = 0.0
    price = _breach_price(sc, 2.0)
    assert asyncio.run(e.on_tick(_tick(sc, price))) is None  # polled before deciding
    assert e.kill_switch.state is KillState.FROZEN and e.counters.hedges == 0
    # a new engine on the same journal starts frozen
    sc2 = build_demo(journal=journal, band_coin=2.0, settings=S)
    asyncio.run(sc2.engine.start())
    assert sc2.engine.kill_switch.state is KillState.FROZEN
    journal.close()


def test_margin_watch_derisks_a_leg_near_maintenance_and_flattens_at_it():
    from deltahedge.core.enums import Settlement
    from deltahedge.engine.margin import MarginWatch
    from deltahedge.engine.risk_guard import LiquidationMonitor, MarginLevel, MarginModel

    sc = build_demo(band_coin=2.0, settings=S)
    e = sc.engine
    asyncio.run(e.start())
    asyncio.run(e.on_tick(_tick(sc, _breach_price(sc, 2.0))))
    n0 = e.account.contracts()[("binance_usdm", "BTCUSDT")]
    assert abs(n0) > 0.5
    S0 = e.market.index("BTC")
    # maintenance 1 % of |n| S; collateral such that the ratio is ~0.8 (de-risk at 0.7)
    mm = 0.01 * abs(n0) * S0
    model = MarginModel(Settlement.LINEAR, 1.0, 0.02, 0.01)
    e.margin = MarginWatch(LiquidationMonitor({"binance_usdm": model}), {"binance_usdm": mm / 0.8})
    asyncio.run(e.on_tick(_tick(sc, S0)))
    status = e.margin.last["binance_usdm"]
    assert status.level is MarginLevel.DERISK
    n1 = e.account.contracts()[("binance_usdm", "BTCUSDT")]
    # reduced to the target ratio 0.4: |n| scaled by 0.4 / ratio (one lot of rounding)
    assert abs(n1) == pytest.approx(abs(n0) * 0.4 / status.margin_ratio, abs=0.0011)
    # collateral below maintenance: unwind everything (kill switch flattens, then freezes)
    e.margin = MarginWatch(LiquidationMonitor({"binance_usdm": model}), {"binance_usdm": 1.0})
    for _ in range(3):
        asyncio.run(e.on_tick(_tick(sc, S0, dt_s=1.5)))
    assert all(abs(q) < 1e-12 for q in e.account.contracts().values())
    assert e.kill_switch.state is KillState.FROZEN


def test_sigusr1_freezes_a_running_engine_and_duration_stops_it():
    import os
    import signal

    from deltahedge.engine.runner import run_engine
    from deltahedge.marketdata.feeds import SimulatedFeed

    sc = build_demo(settings=S)
    e = sc.engine
    feed = SimulatedFeed(sc.surface.spot, sc.clock, ticks_per_second=10.0, speed=50.0, seed=2)

    async def go() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, os.kill, os.getpid(), signal.SIGUSR1)
        await run_engine(e, feed, duration_s=1.0, view=False)

    asyncio.run(go())
    assert e.kill_switch.state is KillState.FROZEN
    assert e.counters.ticks > 50  # it ran until the duration ended, then stopped cleanly


@pytest.mark.parametrize("numeraire", ["usd", "coin"])
def test_pnl_attribution_explains_the_pnl_in_either_numeraire(numeraire):
    """400 one-second ticks of a 0.08 %-vol random walk with hedging: delta + gamma + theta +
    vega + fees explain the USD PnL to within 0.5 % of the explained amounts; then a surface
    refit a day later (same spot, vols rolled along the term structure) is vega PnL."""
    settings = EngineSettings(numeraire=numeraire, surface_refit_s=0, greeks_snapshot_s=0)
    sc = build_demo(band_coin=2.0, settings=settings)
    e = sc.engine
    asyncio.run(e.start())
    rng = np.random.default_rng(5)
    price = e.market.index("BTC")

    async def walk() -> None:
        nonlocal price
        for _ in range(400):
            price *= float(np.exp(rng.normal(0.0, 0.0008)))
            await e.on_tick(_tick(sc, price, dt_s=1.0))

    asyncio.run(walk())
    p = e.pnl
    assert e.counters.hedges >= 5  # the hedge legs' PnL is part of what must be explained
    scale = abs(p.delta) + abs(p.gamma) + abs(p.theta) + abs(p.fees)
    assert abs(p.residual) < 0.005 * scale, (p, scale)
    total0, vega0 = p.total, p.vega

    async def a_day_later() -> None:
        await e.on_tick(_tick(sc, price, dt_s=86_400.0))
        await e.refit_now()
        await e.on_tick(_tick(sc, price, dt_s=0.001))

    asyncio.run(a_day_later())
    # the refit's jump in option value is the vega line, not residual
    assert p.vega != vega0
    assert abs(p.residual) < 0.005 * scale + 0.01 * abs(p.total - total0)

"""Engine/simulator parity: the backtest simulator and a replay of the same path through
the engine give the same trades, costs and PnL (same policy, zero latency, same costs).

Set-up, identical on both sides: a GBM path of 240 one-minute steps; a short strangle
(10 calls K = 95,000 at 55 % and 10 puts K = 85,000 at 65 %, 30 days, linear, Black-76
at each leg's vol, r = 0, forward = index); a fixed threshold of 0.05 BTC hedged back to 0
with a linear perp in lots of 0.001 BTC, filled at the mid with a 5 bp taker fee (the
engine's venue: a durable paper venue with no spread). The simulator decides at steps
0..n-1 and marks at n; the engine gets ticks 0..n-1, then is frozen for the last mark.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from deltahedge.backtest.models import GBM_BTC, simulate_paths
from deltahedge.backtest.policies import Policy, PolicyKind
from deltahedge.backtest.simulator import Book, Costs, simulate
from deltahedge.core.clock import SimClock
from deltahedge.core.enums import OptionKind, Settlement
from deltahedge.core.units import NS_PER_SECOND, SECONDS_PER_YEAR
from deltahedge.engine.durable_venue import DurablePaperVenue
from deltahedge.engine.engine import Engine, EngineSettings
from deltahedge.engine.risk_guard import RiskGuard, RiskLimits
from deltahedge.engine.scenario import book_follower
from deltahedge.execution.venue import InstrumentInfo
from deltahedge.hedging.policies import FixedThreshold
from deltahedge.instruments import Option
from deltahedge.marketdata.feeds import Tick, TickKind
from deltahedge.marketdata.state import MarketState, UnderlyingState
from deltahedge.portfolio import Position, compile_book

T0 = 1_767_225_600 * NS_PER_SECOND
STEP_S = 60.0
N = 240
FEE = 0.0005
LOT = 0.001
LEGS = ((OptionKind.CALL, 95_000.0, 0.55), (OptionKind.PUT, 85_000.0, 0.65))
EXPIRY_Y = 30 / 365


def _engine_run(path: np.ndarray, tmp_path) -> Engine:
    clock = SimClock(T0)
    expiry_ns = T0 + round(EXPIRY_Y * SECONDS_PER_YEAR * NS_PER_SECOND)
    positions = [
        Position(
            Option(
                f"OPT{i}",
                "x",
                "BTC",
                Settlement.LINEAR,
                1.0,
                "USD",
                0.1,
                0.1,
                0.01,
                strike=k,
                expiry_ns=expiry_ns,
                kind=kind,
            ),
            -10.0,
        )
        for i, (kind, k, _) in enumerate(LEGS)
    ]
    book = compile_book(positions, vols=[v for _, _, v in LEGS])
    perp = InstrumentInfo("PERP", "paper", "perpetual", "BTC", Settlement.LINEAR, 1.0, LOT, 0.1,
                          taker_fee=FEE)  # fmt: skip
    venue = DurablePaperVenue("paper", [perp], tmp_path / "venue.sqlite", clock, half_spread=0.0)
    limits = RiskLimits(max_order_coin=1e6, max_position_coin=1e6, max_jump_fraction=0.5,
                        max_notional_per_minute_usd=1e15, max_daily_loss_usd=1e15)  # fmt: skip
    engine = Engine(
        options=book, policy=FixedThreshold(threshold=0.05), venues={"paper": venue},
        hedges=[perp], market=MarketState(T0, {"BTC": UnderlyingState(float(path[0]))}),
        clock=clock, guard=RiskGuard(limits, clock),
        settings=EngineSettings(surface_refit_s=0, greeks_snapshot_s=0),
        venue_sync=book_follower({"paper": venue}, [perp]),
    )  # fmt: skip

    async def go() -> None:
        await engine.start()
        for j, f in enumerate(path):
            ts = T0 + round(j * STEP_S * NS_PER_SECOND)
            clock.set(ts)
            if j == len(path) - 1:
                engine.kill_switch.freeze("test", "last mark only")
            await engine.on_tick(Tick(TickKind.INDEX, "BTC", "sim", "BTC", float(f), ts, ts))

    asyncio.run(go())
    return engine


@pytest.mark.parametrize("seed", [5, 11])
def test_engine_replay_of_a_path_matches_the_simulator_trades_costs_and_pnl(seed, tmp_path):
    dt = STEP_S / SECONDS_PER_YEAR
    f, _ = simulate_paths(GBM_BTC, 90_000.0, dt, N, 1, seed=seed)
    book = Book(
        cp=np.array([1.0, -1.0]), strike=np.array([95_000.0, 85_000.0]),
        expiry=np.array([EXPIRY_Y, EXPIRY_Y]), qty=np.array([-10.0, -10.0]),
        vol=np.array([0.55, 0.65]),
    )  # fmt: skip
    sim = simulate(
        book, Policy(PolicyKind.FIXED_THRESHOLD, (0.05,)), paths=f, dt=dt,
        costs=Costs(taker_fee=FEE, lot=LOT),
    )  # fmt: skip
    engine = _engine_run(f[0], tmp_path)
    assert sim.trades[0] >= 3  # the case is not trivial
    assert engine.counters.hedges == int(sim.trades[0])
    assert -engine.pnl.fees == pytest.approx(float(sim.cost[0]), rel=1e-9)
    # turnover: sum |q| f over the trades, USD
    fills = [f_ for mo in engine.om.orders.values() for f_ in mo.fills.values()]
    assert sum(x.quantity * x.price for x in fills) == pytest.approx(
        float(sim.turnover[0]), rel=1e-9
    )
    assert engine.pnl.total == pytest.approx(float(sim.pnl[0]), abs=1e-6 * 90_000 * 20)

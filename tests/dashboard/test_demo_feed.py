"""The synthetic publisher behaves like an engine: inside the band while running, no hedges
while paused, hedge legs closed when flattening; reproducible from its seed."""

from __future__ import annotations

import pytest

from deltahedge.core.clock import SimClock
from deltahedge.dashboard.demo_feed import DemoDesk
from deltahedge.dashboard.models import EngineMode, KillMode


def _desk(seed: int = 5) -> DemoDesk:
    return DemoDesk(seed=seed, clock=SimClock(1_000), step_seconds=60.0)


def test_running_desk_ends_every_step_inside_its_band() -> None:
    desk = _desk()
    hedges = 0
    for _ in range(300):
        update = desk.step()
        hedges += len(update.new_hedges)
        for u in update.underlyings:
            assert u.band_lower_coin <= u.delta_coin <= u.band_upper_coin
            assert u.delta_usd == pytest.approx(u.delta_coin * u.spot_usd)
        for h in update.new_hedges:
            # the hedge took the delta it saw back to zero
            assert h.size_coin == pytest.approx(-h.book_delta_coin)
            assert (h.side == "buy") == (h.size_coin > 0)
    assert hedges > 10


def test_paused_desk_sends_no_hedges_and_resumes() -> None:
    desk = _desk()
    desk.pause()
    assert all(not desk.step().new_hedges for _ in range(200))
    assert desk.step().mode is EngineMode.PAUSED
    desk.resume()
    assert desk.step().mode is EngineMode.RUNNING
    assert desk.calls == ["pause", "resume"]


def test_flatten_closes_the_hedge_legs_then_stops_hedging() -> None:
    desk = _desk()
    legs: dict[str, float] = {}
    for _ in range(100):
        for h in desk.step().new_hedges:
            legs[h.underlying] = legs.get(h.underlying, 0.0) + h.size_coin
    desk.kill(KillMode.FLATTEN)
    closing = desk.step()
    assert closing.mode is EngineMode.FLATTENING
    for h in closing.new_hedges:
        legs[h.underlying] += h.size_coin
    assert legs == pytest.approx(dict.fromkeys(legs, 0.0))
    assert not any(desk.step().new_hedges for _ in range(20))


def test_same_seed_same_updates() -> None:
    a, b = _desk(9), _desk(9)
    for _ in range(30):
        assert a.step() == b.step()

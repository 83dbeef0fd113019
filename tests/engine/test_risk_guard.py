"""Risk guard: price checks, staleness, limits, kill switch, liquidation distance."""

from __future__ import annotations

import math
import os
import signal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deltahedge.core import HedgeIntent, RiskLimitBreached, Settlement, SimClock, StaleMarketData
from deltahedge.engine.risk_guard import (
    KillState,
    KillSwitch,
    LiquidationMonitor,
    MarginAccount,
    MarginLevel,
    MarginModel,
    RejectReason,
    RiskGuard,
    RiskLimits,
    Verdict,
    install_kill_switch_signals,
)
from deltahedge.store import Journal

S = 1_000_000_000
PERP = "BTC-PERPETUAL"


@pytest.fixture
def clock() -> SimClock:
    return SimClock(1_767_225_600 * S)


@pytest.fixture
def guard(clock: SimClock) -> RiskGuard:
    g = RiskGuard(RiskLimits(), clock)
    assert g.check_price(PERP, 100_000.0, clock.now_ns()).accepted
    return g


def _intent(delta: float) -> HedgeIntent:
    return HedgeIntent("i", 0, "BTC", delta, "test")


# ------------------------------------------------------------------ prices
@pytest.mark.parametrize(
    ("price", "reason"),
    [
        (float("nan"), RejectReason.NOT_FINITE),
        (float("inf"), RejectReason.NOT_FINITE),
        (0.0, RejectReason.NON_POSITIVE),
        (-5.0, RejectReason.NON_POSITIVE),
    ],
)
def test_bad_price_rejected_and_counted(guard: RiskGuard, clock: SimClock, price, reason) -> None:
    check = guard.check_price(PERP, price, clock.now_ns())
    assert (check.accepted, check.reason) == (False, reason)
    assert guard.rejected_counts[reason.value] == 1
    assert guard.last_price(PERP) == 100_000.0


def test_out_of_order_price_rejected(guard: RiskGuard, clock: SimClock) -> None:
    check = guard.check_price(PERP, 100_100.0, clock.now_ns() - 1)
    assert check.reason is RejectReason.OUT_OF_ORDER


def test_jump_rejected_until_confirmed_by_three_ticks(guard: RiskGuard, clock: SimClock) -> None:
    t = clock.now_ns()
    # 100k -> 115k is a 15% jump, over the 10% limit: two ticks rejected, the third accepted.
    first = guard.check_price(PERP, 115_000.0, t + 1)
    assert first.reason is RejectReason.JUMP
    assert first.message == (
        "BTC-PERPETUAL price 115000 jumps 15.0% from 100000 (limit 10%); "
        "rejected (1 of 3 ticks needed to confirm)"
    )
    assert guard.check_price(PERP, 115_500.0, t + 2).reason is RejectReason.JUMP
    assert guard.check_price(PERP, 114_800.0, t + 3).accepted
    assert guard.last_price(PERP) == 114_800.0
    assert guard.rejected_counts["jump"] == 2


def test_isolated_spike_never_becomes_the_price(guard: RiskGuard, clock: SimClock) -> None:
    t = clock.now_ns()
    for i, p in enumerate([150_000.0, 100_050.0, 60_000.0, 100_020.0, 150_000.0], start=1):
        guard.check_price(PERP, p, t + i)
    assert guard.last_price(PERP) == 100_020.0
    assert guard.rejected_counts["jump"] == 3


# ------------------------------------------------------------------ staleness
def test_stale_price_pauses_once_and_resumes_by_itself(guard: RiskGuard, clock: SimClock) -> None:
    assert guard.check_fresh(PERP).fresh
    clock.advance(12.3)
    f = guard.check_fresh(PERP)
    assert (f.fresh, f.changed) == (False, True)
    assert f.message == "BTC-PERPETUAL mark is 12.3 s old, limit 2 s; hedging paused"
    assert guard.check_fresh(PERP).changed is False  # reported once, not on every tick
    with pytest.raises(StaleMarketData, match=r"12\.3 s old, limit 2 s; hedging paused"):
        guard.require_fresh(PERP)
    decision = guard.check_intent(_intent(1.0), PERP, position_coin=0.0)
    assert decision.verdict is Verdict.DENY and "hedging paused" in decision.reasons[0]
    guard.check_price(PERP, 100_010.0, clock.now_ns())
    back = guard.check_fresh(PERP)
    assert (back.fresh, back.changed) == (True, True)
    assert back.message == "BTC-PERPETUAL mark is 0.0 s old; hedging resumed"
    assert guard.require_fresh(PERP) == 100_010.0


def test_never_seen_instrument_is_stale(guard: RiskGuard) -> None:
    f = guard.check_fresh("ETH-PERPETUAL")
    assert (
        not f.fresh and f.message == "ETH-PERPETUAL mark is never seen, limit 2 s; hedging paused"
    )


# ------------------------------------------------------------------ limits
def test_small_hedge_allowed_as_asked(guard: RiskGuard) -> None:
    d = guard.check_intent(_intent(-1.5), PERP, position_coin=0.0)
    assert (d.verdict, d.approved_coin, d.reasons) == (Verdict.ALLOW, -1.5, ())
    assert guard.notional_last_minute() == pytest.approx(150_000.0)  # 1.5 BTC x 100k


def test_order_size_clipped_to_limit(guard: RiskGuard) -> None:
    d = guard.check_intent(_intent(-8.0), PERP, position_coin=0.0)
    assert (d.verdict, d.approved_coin) == (Verdict.CLIP, -5.0)
    assert d.reasons == ("order 8 coin clipped to the limit 5",)


def test_position_limit_clips_growth_but_allows_reduction(guard: RiskGuard) -> None:
    d = guard.check_intent(_intent(4.0), PERP, position_coin=48.0)
    assert d.approved_coin == pytest.approx(2.0)  # room to 50
    assert guard.check_intent(_intent(1.0), PERP, position_coin=50.0).verdict is Verdict.DENY
    assert guard.check_intent(_intent(-4.0), PERP, position_coin=52.0).approved_coin == -4.0


def test_notional_per_rolling_minute(clock: SimClock) -> None:
    g = RiskGuard(RiskLimits(max_notional_per_minute_usd=1_000_000.0), clock)
    g.check_price(PERP, 100_000.0, clock.now_ns())
    assert g.check_intent(_intent(4.0), PERP, 0.0).approved_coin == 4.0  # 400k used
    clock.advance(30)
    g.check_price(PERP, 100_000.0, clock.now_ns())
    d = g.check_intent(_intent(5.0), PERP, 0.0)  # 500k wanted, 600k left
    assert d.verdict is Verdict.ALLOW
    d = g.check_intent(_intent(5.0), PERP, 0.0)  # 100k left -> 1 coin
    assert (d.verdict, d.approved_coin) == (Verdict.CLIP, pytest.approx(1.0))
    assert g.check_intent(_intent(1.0), PERP, 0.0).verdict is Verdict.DENY
    clock.advance(30.5)  # the first 400k left the window at t = 60 s
    g.check_price(PERP, 100_000.0, clock.now_ns())
    assert g.notional_last_minute() == pytest.approx(600_000.0)
    assert g.check_intent(_intent(4.0), PERP, 0.0).verdict is Verdict.ALLOW


def test_daily_loss_limit_denies_and_raises(guard: RiskGuard) -> None:
    d = guard.check_intent(_intent(1.0), PERP, 0.0, daily_pnl_usd=-250_000.0)
    assert d.verdict is Verdict.DENY
    with pytest.raises(RiskLimitBreached, match="daily loss 250,000 USD reached the limit"):
        d.raise_if_denied()
    assert guard.check_intent(_intent(1.0), PERP, 0.0, daily_pnl_usd=-249_999.0).allowed


def test_nan_intent_denied(guard: RiskGuard) -> None:
    assert guard.check_intent(_intent(math.nan), PERP, 0.0).verdict is Verdict.DENY


# ------------------------------------------------------------------ kill switch
def test_kill_switch_blocks_hedges_and_is_journaled(clock: SimClock, tmp_path) -> None:
    ks = KillSwitch(clock)
    journal = Journal(tmp_path / "j.sqlite", clock=clock)
    ks.journal_to(journal)
    g = RiskGuard(RiskLimits(), clock, ks)
    g.check_price(PERP, 100_000.0, clock.now_ns())
    assert ks.freeze("cli", "operator") is not None
    assert ks.freeze("dashboard") is None  # already frozen: no change, nothing journaled
    d = g.check_intent(_intent(1.0), PERP, 0.0)
    assert d.reasons == ("kill switch is frozen; no new hedges",)
    ks.flatten("dashboard", "margin")
    ks.resume("cli")
    assert g.check_intent(_intent(1.0), PERP, 0.0).allowed
    events = journal.events(kinds=["kill_switch"])
    assert [(e["payload"]["previous"], e["key"], e["payload"]["source"]) for e in events] == [
        ("running", "frozen", "cli"),
        ("frozen", "flattening", "dashboard"),
        ("flattening", "running", "cli"),
    ]
    with pytest.raises(ValueError, match="allowed: running, frozen, flattening"):
        ks.set("paused", "cli")


def test_kill_switch_follows_signals(clock: SimClock) -> None:
    ks = KillSwitch(clock)
    seen = []
    ks.subscribe(seen.append)
    old = {s: signal.getsignal(s) for s in (signal.SIGUSR1, signal.SIGUSR2)}
    try:
        install_kill_switch_signals(ks)
        os.kill(os.getpid(), signal.SIGUSR1)
        assert ks.state is KillState.FROZEN
        os.kill(os.getpid(), signal.SIGUSR2)
        assert ks.state is KillState.FLATTENING
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    assert [(c.state, c.source, c.reason) for c in seen] == [
        (KillState.FROZEN, "signal", f"signal {int(signal.SIGUSR1)}"),
        (KillState.FLATTENING, "signal", f"signal {int(signal.SIGUSR2)}"),
    ]


# ------------------------------------------------------------------ liquidation
INVERSE = MarginModel(Settlement.INVERSE, 10.0, 0.02, 0.005)
LINEAR = MarginModel(Settlement.LINEAR, 0.001, 0.02, 0.005)


def test_inverse_long_liquidation_price_hand_computed() -> None:
    # 10,000 contracts x 10 USD = N = 100,000 USD long at E = 100,000, C = 0.1 BTC, m = 0.5%:
    # P = N (1 + m) / (C + N/E) = 100,000 x 1.005 / 1.1 = 91,363.636...
    p = INVERSE.liquidation_price(0.1, 10_000, 100_000.0)
    assert p == pytest.approx(91_363.6364, rel=1e-9)
    # There, equity = 0.1 + 1 - 100,000/p = 1.1 - 1.0945274 = 0.0054726 BTC, which is the
    # maintenance margin 0.005 x 100,000 / p = 0.005 x 1.0945274.
    assert INVERSE.equity(0.1, 10_000, 100_000.0, p) == pytest.approx(0.0054726, rel=1e-4)
    assert INVERSE.maintenance_margin(10_000, p) == pytest.approx(0.0054726, rel=1e-4)


def test_linear_short_liquidation_price_hand_computed() -> None:
    # Short 1,000 contracts x 0.001 = q = -1 BTC at E = 50,000, C = 10,000 USD, m = 0.5%:
    # P = (qE - C) / (q - m|q|) = (-50,000 - 10,000) / (-1.005) = 59,701.49...
    assert LINEAR.liquidation_price(10_000.0, -1_000, 50_000.0) == pytest.approx(59_701.4925)


def test_no_liquidation_for_fully_collateralised_positions() -> None:
    assert LINEAR.liquidation_price(60_000.0, 1_000, 50_000.0) is None  # long, C > qE
    assert INVERSE.liquidation_price(2.0, -10_000, 100_000.0) is None  # short, C > N/E
    assert INVERSE.liquidation_price(1.0, 0, 100_000.0) is None


@given(
    model=st.sampled_from([INVERSE, LINEAR]),
    contracts=st.floats(100, 1e6) | st.floats(-1e6, -100),
    entry=st.floats(1_000, 200_000),
    collateral_fraction=st.floats(0.01, 0.9),
)
def test_equity_equals_maintenance_at_the_liquidation_price(
    model, contracts, entry, collateral_fraction
) -> None:
    notional = abs(contracts) * model.contract_size  # coin (linear) or USD (inverse)
    collateral = collateral_fraction * (notional * entry if model is LINEAR else notional / entry)
    p = model.liquidation_price(collateral, contracts, entry)
    assert p is not None
    assert model.equity(collateral, contracts, entry, p) == pytest.approx(
        model.maintenance_margin(contracts, p), rel=1e-6, abs=1e-9 * collateral
    )
    # Longs liquidate below entry, shorts above.
    assert (p < entry) if contracts > 0 else (p > entry)


def test_monitor_levels_and_derisk_order() -> None:
    mon = LiquidationMonitor({"deribit": INVERSE})
    acct = MarginAccount("deribit", collateral=0.1, contracts=10_000, entry_price=100_000.0)
    ok = mon.check(acct, 100_000.0)
    # equity 0.1 BTC, MM = 0.005 x 100,000 / 100,000 = 0.005 BTC -> ratio 0.05
    assert ok.level is MarginLevel.OK and ok.margin_ratio == pytest.approx(0.05)
    assert ok.distance_fraction == pytest.approx(1 - 91_363.6364 / 100_000, rel=1e-6)
    assert ok.order_contracts == 0.0
    # At 92,000: equity = 0.1 + 1 - 100,000/92,000 = 0.0130435; MM = 500/92,000 = 0.0054348
    # ratio = 0.41667 -> OK (< 0.5). At 91,700: equity 0.0094875, MM 0.0054526, ratio 0.5747
    warn = mon.check(acct, 91_700.0)
    assert warn.level is MarginLevel.WARN and warn.order_contracts == 0.0
    # At 91,500: equity = 0.1 + 1 - 1.0928962 = 0.0071038; MM = 0.0054645; ratio = 0.76923
    d = mon.check(acct, 91_500.0)
    assert d.level is MarginLevel.DERISK
    assert d.margin_ratio == pytest.approx(0.76923, rel=1e-4)
    # Reduce to ratio 0.4: keep 10,000 x 0.4 / 0.76923 = 5,200 contracts -> sell 4,800.
    assert d.order_contracts == pytest.approx(-4_800.0, rel=1e-4)
    assert "derisk: trade -4800" in d.message
    # At 91,390: equity = 1.1 - 1.0942116 = 0.0057884; MM = 0.0054711; ratio 0.945 >= 0.9
    e = mon.check(acct, 91_390.0)
    assert e.level is MarginLevel.EMERGENCY and not e.unwind_all
    # At 91,300: equity 0.0047097 < MM 0.0054765: past maintenance, unwind everything.
    gone = mon.check(acct, 91_300.0)
    assert gone.unwind_all and gone.order_contracts == -10_000


def test_monitor_unknown_venue_and_bad_mark_raise() -> None:
    mon = LiquidationMonitor({"deribit": INVERSE})
    with pytest.raises(ValueError, match="no margin model for venue 'okx'"):
        mon.check(MarginAccount("okx", 1.0, 1.0, 1.0), 1.0)
    with pytest.raises(ValueError, match="mark nan must be a finite positive price"):
        mon.check(MarginAccount("deribit", 1.0, 1.0, 1.0), math.nan)


@given(
    want=st.floats(-100, 100).filter(lambda x: abs(x) > 1e-6),
    position=st.floats(-80, 80),
    used=st.floats(0, 3e6),
)
def test_approved_hedge_never_breaks_a_limit(want: float, position: float, used: float) -> None:
    clock = SimClock(10**18)
    lim = RiskLimits(max_order_coin=5.0, max_position_coin=50.0, max_notional_per_minute_usd=2e6)
    g = RiskGuard(lim, clock)
    g.check_price(PERP, 100_000.0, clock.now_ns())
    g.record_hedge(used)
    d = g.check_intent(_intent(want), PERP, position)
    a = d.approved_coin
    if d.verdict is Verdict.DENY:
        assert a == 0.0 and d.reasons
        return
    assert math.copysign(1.0, a) == math.copysign(1.0, want)  # same direction
    assert abs(a) <= min(abs(want), lim.max_order_coin) + 1e-12  # never more than asked
    new = position + a
    assert abs(new) <= max(lim.max_position_coin, abs(position)) + 1e-9  # no growth past limit
    assert used + abs(a) * 100_000.0 <= max(lim.max_notional_per_minute_usd, used) + 1e-3
    assert (d.verdict is Verdict.ALLOW) == (a == want)

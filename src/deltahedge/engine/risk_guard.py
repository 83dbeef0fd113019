"""Risk guard, kill switch and liquidation-distance monitor: pure, fast, clock injected.

Nothing here does I/O. The engine feeds prices in (``RiskGuard.check_price``), asks before
hedging (``RiskGuard.check_intent``) and logs/journals what the typed results say.

* **Prices**: NaN/inf, non-positive and out-of-order prices are rejected; a jump larger
  than ``max_jump_fraction`` from the last accepted price is rejected until
  ``jump_confirm_ticks`` consecutive ticks confirm the new level. Counters by reason.
* **Staleness**: no hedging on a price older than ``max_staleness_s``; the transition is
  reported once ("BTC-PERPETUAL mark is 12.3 s old, limit 2 s; hedging paused") and hedging
  resumes by itself on the next fresh price.
* **Limits**: order size, hedge notional per rolling minute, hedge position, daily loss;
  oversize hedges are clipped where clipping is safe, refused otherwise.
* **Kill switch**: running / frozen / flattening, settable from any thread (command line,
  dashboard, a signal); every change goes to the subscribed sinks (the journal).
* **Liquidation distance**: a per-venue margin model (initial/maintenance rates, linear or
  inverse) gives equity, maintenance margin, margin ratio and liquidation price, and asks to
  de-risk (or unwind) before maintenance margin is reached (``engine.liquidation``,
  re-exported here).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from deltahedge.core.clock import Clock
from deltahedge.core.errors import InvalidInput, RiskLimitBreached, StaleMarketData
from deltahedge.core.events import HedgeIntent
from deltahedge.core.frozen import builder
from deltahedge.core.units import NS_PER_SECOND
from deltahedge.engine.liquidation import (
    LiquidationMonitor,
    LiquidationStatus,
    LiquidationThresholds,
    MarginAccount,
    MarginLevel,
    MarginModel,
)

WINDOW_NS = 60 * NS_PER_SECOND


# --------------------------------------------------------------------------- limits
@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Limits of the risk guard (see ``RiskConfig`` for the TOML keys).

    Parameters
    ----------
    max_staleness_s : float
        Oldest price (seconds) the engine may hedge on.
    max_jump_fraction : float
        Relative move from the last accepted price rejected as implausible (0.10 = 10%).
    jump_confirm_ticks : int
        Consecutive ticks near a new level needed to accept it after a jump.
    max_order_coin : float
        Largest single hedge, coin.
    max_notional_per_minute_usd : float
        Hedge notional allowed in any rolling 60 s, USD.
    max_position_coin : float
        Largest absolute hedge position, coin.
    max_daily_loss_usd : float
        Loss of the day (USD, positive) beyond which hedging stops.
    """

    max_staleness_s: float = 2.0
    max_jump_fraction: float = 0.10
    jump_confirm_ticks: int = 3
    max_order_coin: float = 5.0
    max_notional_per_minute_usd: float = 2_000_000.0
    max_position_coin: float = 50.0
    max_daily_loss_usd: float = 250_000.0


class RejectReason(StrEnum):
    """Why a price was rejected (the label of the rejected-ticks counter)."""

    NOT_FINITE = "not_finite"
    NON_POSITIVE = "non_positive"
    OUT_OF_ORDER = "out_of_order"
    JUMP = "jump"


@dataclass(frozen=True, slots=True)
class PriceCheck:
    """Result of ``RiskGuard.check_price``; ``reason`` is None when accepted."""

    accepted: bool
    reason: RejectReason | None = None
    message: str = ""


_ACCEPTED = PriceCheck(True)


@dataclass(frozen=True, slots=True)
class Freshness:
    """Result of ``RiskGuard.check_fresh``; ``changed`` marks a pause or a resume."""

    fresh: bool
    age_s: float
    changed: bool
    message: str


class Verdict(StrEnum):
    ALLOW = "allow"
    CLIP = "clip"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """What the guard allows of an intent.

    Attributes
    ----------
    verdict : Verdict
        ALLOW (as asked), CLIP (smaller, same sign), DENY (nothing).
    requested_coin, approved_coin : float
        Signed delta asked for and allowed, coin.
    reasons : tuple of str
        Why it was clipped or denied, one sentence each.
    notice : str
        Set exactly when hedging pauses on a stale price or resumes on a fresh one (the
        line to log once per transition); empty otherwise.
    stale : bool
        Denied because the price is too old (said once by ``notice``, not on every tick).
    """

    verdict: Verdict
    requested_coin: float
    approved_coin: float
    reasons: tuple[str, ...] = ()
    notice: str = ""
    stale: bool = False

    @property
    def allowed(self) -> bool:
        return self.verdict is not Verdict.DENY

    def raise_if_denied(self) -> RiskDecision:
        """Return self, or raise ``RiskLimitBreached`` with the reasons when denied."""
        if not self.allowed:
            raise RiskLimitBreached("; ".join(self.reasons))
        return self


# the hot path's constructors (deltahedge.core.frozen): neither class has checks to skip
_new_freshness = builder(Freshness)
_new_decision = builder(RiskDecision)


# --------------------------------------------------------------------------- kill switch
class KillState(StrEnum):
    RUNNING = "running"
    FROZEN = "frozen"  # no new hedges; open orders left alone
    FLATTENING = "flattening"  # no new hedges; the engine closes the hedge position


@dataclass(frozen=True, slots=True)
class KillSwitchChange:
    """One change of the kill switch, as journaled."""

    previous: KillState
    state: KillState
    source: str  # "cli", "dashboard", "signal", "risk", ...
    reason: str
    ts_ns: int


class EventSink(Protocol):
    """Anything with ``record_event`` (the Journal)."""

    def record_event(self, kind: str, key: str, payload: Any, ts_ns: int | None = None) -> None: ...


class KillSwitch:
    """Running / frozen / flattening; thread-safe, so a signal or the dashboard can set it.

    Parameters
    ----------
    clock : Clock
        Stamps the changes.
    state : KillState
        Initial state (restore the last journaled one on restart).
    """

    def __init__(self, clock: Clock, state: KillState = KillState.RUNNING) -> None:
        self._clock = clock
        self._state = KillState(state)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[KillSwitchChange], None]] = []

    @property
    def state(self) -> KillState:
        return self._state

    @property
    def allows_hedging(self) -> bool:
        return self._state is KillState.RUNNING

    def subscribe(self, listener: Callable[[KillSwitchChange], None]) -> None:
        """Call ``listener(change)`` after every change."""
        self._listeners.append(listener)

    def journal_to(self, sink: EventSink) -> None:
        """Record every change as a ``kill_switch`` event in ``sink`` (the Journal)."""

        def _record(ch: KillSwitchChange) -> None:
            payload = {
                "previous": ch.previous.value,
                "state": ch.state.value,
                "source": ch.source,
                "reason": ch.reason,
            }
            sink.record_event("kill_switch", ch.state.value, payload, ts_ns=ch.ts_ns)

        self.subscribe(_record)

    def set(self, state: KillState | str, source: str, reason: str = "") -> KillSwitchChange | None:
        """Move to ``state``; return the change, or None if already there."""
        try:
            new = KillState(state)
        except ValueError:
            allowed = ", ".join(s.value for s in KillState)
            raise InvalidInput(f"kill switch state {state!r}; allowed: {allowed}") from None
        with self._lock:
            if new is self._state:
                return None
            change = KillSwitchChange(self._state, new, source, reason, self._clock.now_ns())
            self._state = new
        for listener in list(self._listeners):
            listener(change)
        return change

    def freeze(self, source: str, reason: str = "") -> KillSwitchChange | None:
        return self.set(KillState.FROZEN, source, reason)

    def flatten(self, source: str, reason: str = "") -> KillSwitchChange | None:
        return self.set(KillState.FLATTENING, source, reason)

    def resume(self, source: str, reason: str = "") -> KillSwitchChange | None:
        return self.set(KillState.RUNNING, source, reason)

    def signal_handler(self, state: KillState) -> Callable[[int, Any], None]:
        """A handler for ``signal.signal`` that moves the switch to ``state``."""

        def _handle(signum: int, _frame: Any) -> None:
            self.set(state, "signal", f"signal {signum}")

        return _handle


def install_kill_switch_signals(kill_switch: KillSwitch) -> None:
    """Make SIGUSR1 freeze and SIGUSR2 flatten ``kill_switch`` (call from the main thread).

    The one process-level side effect of this module; POSIX only (a no-op elsewhere).
    """
    import signal

    for name, state in (("SIGUSR1", KillState.FROZEN), ("SIGUSR2", KillState.FLATTENING)):
        signum = getattr(signal, name, None)
        if signum is not None:
            signal.signal(signum, kill_switch.signal_handler(state))


# --------------------------------------------------------------------------- guard
class RiskGuard:
    """Pre-trade and market-data checks of one engine.

    Parameters
    ----------
    limits : RiskLimits
    clock : Clock
        Injected, so live and simulated runs share the code.
    kill_switch : KillSwitch, optional
        Consulted by ``check_intent``; a running one is made if none is given.
    """

    def __init__(self, limits: RiskLimits, clock: Clock, kill_switch: KillSwitch | None = None):
        self.limits = limits
        self.clock = clock
        self.kill_switch = kill_switch or KillSwitch(clock)
        self._last: dict[str, tuple[float, int]] = {}  # instrument -> (price, ts_ns)
        self._pending: dict[str, tuple[float, int]] = {}  # instrument -> (level, count)
        self._paused: set[str] = set()
        self._rejected: dict[str, int] = {r.value: 0 for r in RejectReason}
        self._window: deque[tuple[int, float]] = deque()
        self._window_sum = 0.0

    # ---------------------------------------------------------------- prices
    @property
    def rejected_counts(self) -> dict[str, int]:
        """Rejected prices so far, by reason."""
        return dict(self._rejected)

    def last_price(self, instrument: str) -> float | None:
        """The last accepted price of ``instrument``."""
        last = self._last.get(instrument)
        return None if last is None else last[0]

    def _reject(self, reason: RejectReason, message: str) -> PriceCheck:
        self._rejected[reason.value] += 1
        return PriceCheck(False, reason, message)

    def check_price(self, instrument: str, price: float, ts_ns: int) -> PriceCheck:
        """Accept or reject a price tick (and remember it when accepted).

        Parameters
        ----------
        instrument : str
            e.g. ``"BTC-PERPETUAL"``.
        price : float
            Quote currency per unit.
        ts_ns : int
            The venue's timestamp of the price, UTC ns.
        """
        if not math.isfinite(price):
            return self._reject(RejectReason.NOT_FINITE, f"{instrument} price {price} rejected")
        if price <= 0:
            return self._reject(
                RejectReason.NON_POSITIVE, f"{instrument} price {price} <= 0 rejected"
            )
        last = self._last.get(instrument)
        if last is not None and ts_ns < last[1]:
            return self._reject(
                RejectReason.OUT_OF_ORDER,
                f"{instrument} price at {ts_ns} ns is older than the last one ({last[1]} ns)",
            )
        if last is not None:
            move = abs(price / last[0] - 1.0)
            lim = self.limits
            if move > lim.max_jump_fraction:
                level, count = self._pending.get(instrument, (price, 0))
                count = count + 1 if abs(price / level - 1.0) <= lim.max_jump_fraction else 1
                if count < lim.jump_confirm_ticks:
                    self._pending[instrument] = (level if count > 1 else price, count)
                    return self._reject(
                        RejectReason.JUMP,
                        f"{instrument} price {price:g} jumps {move:.1%} from {last[0]:g} "
                        f"(limit {lim.max_jump_fraction:.0%}); rejected ({count} of "
                        f"{lim.jump_confirm_ticks} ticks needed to confirm)",
                    )
        if self._pending:
            self._pending.pop(instrument, None)
        self._last[instrument] = (float(price), int(ts_ns))
        return _ACCEPTED

    def check_fresh(self, instrument: str, label: str = "mark") -> Freshness:
        """Whether the last accepted price of ``instrument`` is young enough to hedge on.

        ``changed`` is True exactly when hedging on it pauses or resumes, so the caller
        logs one line per transition.
        """
        limit = self.limits.max_staleness_s
        last = self._last.get(instrument)
        age = math.inf if last is None else (self.clock.now_ns() - last[1]) / NS_PER_SECOND
        fresh = age <= limit
        was_paused = instrument in self._paused
        if fresh:
            self._paused.discard(instrument)
            msg = f"{instrument} {label} is {age:.1f} s old; hedging resumed" if was_paused else ""
            return _new_freshness(True, age, was_paused, msg)
        self._paused.add(instrument)
        seen = "never seen" if last is None else f"{age:.1f} s old"
        msg = f"{instrument} {label} is {seen}, limit {limit:g} s; hedging paused"
        return Freshness(False, age, not was_paused, msg)

    def require_fresh(self, instrument: str, label: str = "mark") -> float:
        """Return the last price of ``instrument``; raise ``StaleMarketData`` if too old."""
        f = self.check_fresh(instrument, label)
        if not f.fresh:
            raise StaleMarketData(f.message)
        return self._last[instrument][0]

    # ---------------------------------------------------------------- intents
    def notional_last_minute(self) -> float:
        """Hedge notional committed in the last 60 s, USD."""
        self._prune(self.clock.now_ns())
        return self._window_sum

    def _prune(self, now: int) -> None:
        while self._window and self._window[0][0] <= now - WINDOW_NS:
            self._window_sum -= self._window.popleft()[1]
        if not self._window:
            self._window_sum = 0.0

    def record_hedge(self, notional_usd: float, ts_ns: int | None = None) -> None:
        """Add a sent hedge's notional (USD) to the rolling minute."""
        now = self.clock.now_ns() if ts_ns is None else ts_ns
        self._window.append((now, abs(notional_usd)))
        self._window_sum += abs(notional_usd)

    def check_intent(
        self,
        intent: HedgeIntent,
        market: str,
        position_coin: float,
        daily_pnl_usd: float = 0.0,
        commit: bool = True,
        label: str = "mark",
    ) -> RiskDecision:
        """Decide how much of a hedge intent may go out.

        Parameters
        ----------
        intent : HedgeIntent
            ``delta_coin`` is the signed hedge asked for, coin.
        market : str
            Instrument whose last accepted price values the hedge (USD per coin) and must
            be fresh, e.g. ``"BTC-PERPETUAL"``.
        position_coin : float
            Current signed hedge position, coin.
        daily_pnl_usd : float
            PnL of the day so far, USD (a loss is negative).
        commit : bool
            Add the approved notional to the rolling minute (as if sent).
        label : str
            What the price of ``market`` is, for the staleness lines ("index", "mark").

        Returns
        -------
        RiskDecision
        """
        lim = self.limits
        want = float(intent.delta_coin)

        notice = ""

        def deny(reason: str) -> RiskDecision:
            return RiskDecision(Verdict.DENY, want, 0.0, (reason,), notice)

        if not self.kill_switch.allows_hedging:
            return deny(f"kill switch is {self.kill_switch.state.value}; no new hedges")
        if not math.isfinite(want) or want == 0.0:
            return deny(f"hedge size {want} coin is not a finite non-zero number")
        fresh = self.check_fresh(market, label)
        notice = fresh.message if fresh.changed else ""
        if not fresh.fresh:
            return RiskDecision(Verdict.DENY, want, 0.0, (fresh.message,), notice, stale=True)
        price = self._last[market][0]
        if daily_pnl_usd <= -lim.max_daily_loss_usd:
            return deny(
                f"daily loss {-daily_pnl_usd:,.0f} USD reached the limit "
                f"{lim.max_daily_loss_usd:,.0f} USD; hedging stopped, freeze and review"
            )
        reasons: list[str] = []
        size = abs(want)
        sign = math.copysign(1.0, want)
        if size > lim.max_order_coin:
            reasons.append(f"order {size:g} coin clipped to the limit {lim.max_order_coin:g}")
            size = lim.max_order_coin
        new_pos = position_coin + sign * size
        if abs(new_pos) > lim.max_position_coin and abs(new_pos) > abs(position_coin):
            room = max(0.0, lim.max_position_coin - sign * position_coin)
            if room <= 0.0:
                return deny(
                    f"position {position_coin:g} coin is at the limit "
                    f"{lim.max_position_coin:g}; no hedge that grows it"
                )
            reasons.append(
                f"position would be {new_pos:g} coin, limit {lim.max_position_coin:g}; "
                f"clipped to {room:g}"
            )
            size = min(size, room)
        left = lim.max_notional_per_minute_usd - self.notional_last_minute()
        if size * price > left:
            if left <= 0.0:
                return deny(
                    f"hedge notional in the last minute reached the limit "
                    f"{lim.max_notional_per_minute_usd:,.0f} USD"
                )
            reasons.append(
                f"notional {size * price:,.0f} USD exceeds the {left:,.0f} USD left this minute"
            )
            size = left / price
        if commit:
            self.record_hedge(size * price)
        verdict = Verdict.CLIP if reasons else Verdict.ALLOW
        return _new_decision(verdict, want, sign * size, tuple(reasons), notice, False)


__all__ = [
    "WINDOW_NS",
    "EventSink",
    "Freshness",
    "KillState",
    "KillSwitch",
    "KillSwitchChange",
    "LiquidationMonitor",
    "LiquidationStatus",
    "LiquidationThresholds",
    "MarginAccount",
    "MarginLevel",
    "MarginModel",
    "PriceCheck",
    "RejectReason",
    "RiskDecision",
    "RiskGuard",
    "RiskLimits",
    "Verdict",
    "install_kill_switch_signals",
]

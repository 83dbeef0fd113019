"""Records the engine keeps: the hedge log entry, PnL attribution, counters, and the
journal tee that tells the engine about each fill the order manager journals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from deltahedge.core.events import Fill, HedgeIntent
from deltahedge.execution.journal import Journal as JournalPort
from deltahedge.execution.journal import JournalState, OrderRecord


@dataclass(frozen=True, slots=True)
class HedgeLogEntry:
    """One executed hedge intent, for the dashboard and the terminal view."""

    ts_ns: int
    intent_id: str
    reason: str
    delta_coin: float  # asked, coin
    filled_coin: float  # signed, coin
    status: str
    legs: tuple[tuple[str, str, float, float], ...]  # (venue, symbol, signed contracts, avg price)
    fees_usd: float
    book_delta_coin: float
    mid: float


@dataclass(slots=True)
class PnL:
    """Cumulative PnL attribution since start, USD."""

    delta: float = 0.0
    gamma: float = 0.0
    theta: float = 0.0
    vega: float = 0.0
    funding: float = 0.0
    fees: float = 0.0
    residual: float = 0.0
    total: float = 0.0


class TeeJournal:
    """Forwards to the order manager's journal and tells the engine about each fill."""

    def __init__(self, inner: JournalPort, on_fill: Callable[[Fill], None]) -> None:
        self.inner = inner
        self.on_fill = on_fill

    def record_intent(self, intent: HedgeIntent) -> None:
        self.inner.record_intent(intent)

    def record_order(self, record: OrderRecord) -> None:
        self.inner.record_order(record)

    def record_fill(self, fill: Fill) -> None:
        self.inner.record_fill(fill)
        self.on_fill(fill)

    def load(self) -> JournalState:
        return self.inner.load()


@dataclass(slots=True)
class EngineCounters:
    """What the engine has done so far (bounded: counters only)."""

    ticks: int = 0
    decisions: int = 0
    intents: int = 0
    hedges: int = 0
    denied: int = 0
    errors: int = 0
    refits: int = 0  # surface refits started (timer or quotes moved)
    refits_on_move: int = 0  # of which started because the quotes or the index moved
    rejected: dict[str, int] = field(default_factory=dict)


__all__ = ["EngineCounters", "HedgeLogEntry", "PnL", "TeeJournal"]

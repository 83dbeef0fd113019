"""The journal port of the order manager, and an in-memory journal for tests and paper runs.

The order manager writes every intent and every order *before* sending it, and every fill
as it is counted, so that a restarted process can rebuild its state
(:meth:`deltahedge.execution.orders.OrderManager.recover`) and ask the venue what became
of each order. The durable implementation (SQLAlchemy) lives in ``deltahedge.store`` and
implements the same :class:`Journal` protocol; its methods are synchronous so that a
record is written before the coroutine that sends the order goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from deltahedge.core.enums import OrderStatus
from deltahedge.core.events import Fill, HedgeIntent, OrderRequest


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """The order manager's view of one order, as journaled.

    Attributes
    ----------
    request : OrderRequest
    status : OrderStatus
    filled_quantity : float
        Cumulative contracts filled, as last reported by the venue.
    leg : int
        Index of the hedge leg (one per venue/instrument of the route).
    attempt : int
        0 for the first order of the leg; a new attempt gets a new client order id.
    leg_target : float
        Contracts the whole leg must fill (all attempts together), > 0.
    confirmed : bool
        True once the venue has acknowledged the order (or reported on it).
    avg_price : float
    """

    request: OrderRequest
    status: OrderStatus
    filled_quantity: float
    leg: int
    attempt: int
    leg_target: float
    confirmed: bool = False
    avg_price: float = 0.0


@runtime_checkable
class Journal(Protocol):
    """Where the order manager persists intents, orders and fills (writes are upserts)."""

    def record_intent(self, intent: HedgeIntent) -> None: ...

    def record_order(self, record: OrderRecord) -> None: ...

    def record_fill(self, fill: Fill) -> None: ...

    def load(self) -> JournalState:
        """Everything recorded so far, to rebuild an order manager after a restart."""
        ...


@dataclass(slots=True)
class JournalState:
    """Intents by id, orders by client order id, fills by fill id (insertion ordered)."""

    intents: dict[str, HedgeIntent] = field(default_factory=dict)
    orders: dict[str, OrderRecord] = field(default_factory=dict)
    fills: dict[str, Fill] = field(default_factory=dict)


class MemoryJournal:
    """A :class:`Journal` in memory; survives an order manager being thrown away."""

    def __init__(self) -> None:
        self.state = JournalState()
        self.writes = 0

    def record_intent(self, intent: HedgeIntent) -> None:
        self.writes += 1
        self.state.intents[intent.intent_id] = intent

    def record_order(self, record: OrderRecord) -> None:
        self.writes += 1
        self.state.orders[record.request.client_order_id] = record

    def record_fill(self, fill: Fill) -> None:
        self.writes += 1
        self.state.fills[fill.fill_id] = fill

    def load(self) -> JournalState:
        s = self.state
        return JournalState(dict(s.intents), dict(s.orders), dict(s.fills))

    @property
    def fills(self) -> Mapping[str, Fill]:
        return self.state.fills


__all__ = ["Journal", "JournalState", "MemoryJournal", "OrderRecord"]

"""Adapters between the store's durable ``Journal`` and the ports the engine wires it to.

- :class:`StoreJournal` makes :class:`deltahedge.store.Journal` (SQLAlchemy; append-only
  events, one row per order with its last state) serve as the order manager's
  :class:`deltahedge.execution.journal.Journal` port (upserts of ``OrderRecord`` and a
  ``load()`` that rebuilds a :class:`~deltahedge.execution.journal.JournalState`).
  An order is inserted with status ``new`` the first time it is recorded (before it is
  sent) and moved forward with ``record_order_update`` afterwards. The order manager's
  ``leg``/``attempt`` are not columns of the store: they are recovered from the client
  order id, which is ``client_order_id(intent_id, leg, attempt)`` (a hash), by trying the
  few possible pairs; ``leg_target`` is the quantity of the leg's first attempt.
- :class:`VenueQueryAdapter` gives a :class:`deltahedge.execution.venue.Venue` the
  ``VenueQuery`` shape that :func:`deltahedge.store.reconcile` asks (``get_order`` None
  when unknown, ``get_fills(since)``, ``get_positions``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from deltahedge.core.enums import OrderStatus
from deltahedge.core.errors import UnknownOrder
from deltahedge.core.events import Fill, HedgeIntent, OrderUpdate
from deltahedge.core.ids import client_order_id
from deltahedge.execution.journal import JournalState, OrderRecord
from deltahedge.execution.venue import Venue
from deltahedge.store import Journal
from deltahedge.store import schema as S

_MAX_LEGS = 8
_MAX_ATTEMPTS = 16


def _leg_attempt(intent_id: str, coid: str) -> tuple[int, int]:
    for leg in range(_MAX_LEGS):
        for attempt in range(_MAX_ATTEMPTS):
            if client_order_id(intent_id, leg, attempt) == coid:
                return leg, attempt
    return 0, 0


def _intent_from_payload(p: Mapping[str, Any]) -> HedgeIntent:
    return HedgeIntent(
        intent_id=str(p["intent_id"]),
        ts_ns=int(p["ts_ns"]),
        underlying=str(p["underlying"]),
        delta_coin=float(p["delta_coin"]),
        reason=str(p.get("reason", "")),
        policy=str(p.get("policy", "")),
        inputs=MappingProxyType({k: float(v) for k, v in (p.get("inputs") or {}).items()}),
        instrument=p.get("instrument"),
        quantity=None if p.get("quantity") is None else float(p["quantity"]),
        allow_slicing=bool(p.get("allow_slicing", False)),
        max_slippage_bps=p.get("max_slippage_bps"),
    )


class StoreJournal:
    """The order manager's journal port over a durable :class:`deltahedge.store.Journal`.

    Parameters
    ----------
    journal : deltahedge.store.Journal
    """

    def __init__(self, journal: Journal) -> None:
        self.store = journal
        self._known: set[str] = set()
        self._state: dict[str, tuple[OrderStatus, float]] = {}
        with journal.engine.connect() as conn:
            rows = conn.execute(
                sa.select(S.orders.c.client_order_id, S.orders.c.status, S.orders.c.filled_quantity)
            )
            for coid, status, filled in rows:
                self._known.add(coid)
                self._state[coid] = (OrderStatus(status), float(filled))
        self.writes = 0

    def record_intent(self, intent: HedgeIntent) -> None:
        self.writes += 1
        self.store.record_intent(intent)

    def record_order(self, record: OrderRecord) -> None:
        req = record.request
        coid = req.client_order_id
        self.writes += 1
        if coid not in self._known:
            self.store.record_order(req)
            self._known.add(coid)
            self._state[coid] = (OrderStatus.NEW, 0.0)
        if self._state[coid] != (record.status, record.filled_quantity):
            self.store.record_order_update(
                OrderUpdate(
                    coid,
                    req.venue,
                    record.status,
                    record.filled_quantity,
                    self.store.clock.now_ns(),
                    avg_price=record.avg_price,
                )
            )
            self._state[coid] = (record.status, record.filled_quantity)

    def record_fill(self, fill: Fill) -> None:
        self.writes += 1
        self.store.record_fill(fill)

    def load(self) -> JournalState:
        """Intents, orders (with leg, attempt and leg target) and fills from the store."""
        state = JournalState()
        for ev in self.store.events(kinds=["intent"]):
            intent = _intent_from_payload(ev["payload"])
            state.intents[intent.intent_id] = intent
        with self.store.engine.connect() as conn:
            rows = list(conn.execute(sa.select(S.orders).order_by(S.orders.c.ts_ns)))
            updates = {
                r[0] for r in conn.execute(sa.select(S.order_updates.c.client_order_id).distinct())
            }
        from deltahedge.store.journal import _order_from_row

        first_qty: dict[tuple[str, int], float] = {}
        parsed = []
        for row in rows:
            jo = _order_from_row(row)
            leg, attempt = _leg_attempt(jo.request.intent_id, jo.request.client_order_id)
            if attempt == 0:
                first_qty[(jo.request.intent_id, leg)] = jo.request.quantity
            parsed.append((jo, leg, attempt))
        for jo, leg, attempt in parsed:
            coid = jo.request.client_order_id
            target = first_qty.get((jo.request.intent_id, leg), jo.request.quantity)
            state.orders[coid] = OrderRecord(
                jo.request,
                jo.status,
                jo.filled_quantity,
                leg,
                attempt,
                target,
                confirmed=jo.status is not OrderStatus.NEW or coid in updates,
            )
        for fill in self.store.fills():
            state.fills[fill.fill_id] = fill
        return state


class VenueQueryAdapter:
    """A :class:`~deltahedge.execution.venue.Venue` seen as a ``store.VenueQuery``.

    ``get_fills`` asks ``fills_for`` each client order id the journal sent to this venue
    (the Venue port has no account-wide fill history).
    """

    def __init__(self, venue: Venue, journal: Journal) -> None:
        self.venue = venue
        self.name = venue.name
        self._journal = journal

    async def get_order(self, client_order_id: str) -> OrderUpdate | None:
        try:
            return await self.venue.get_order(client_order_id)
        except UnknownOrder:
            return None

    async def get_fills(self, since_ns: int) -> Sequence[Fill]:
        with self._journal.engine.connect() as conn:
            coids = [
                r[0]
                for r in conn.execute(
                    sa.select(S.orders.c.client_order_id).where(S.orders.c.venue == self.name)
                )
            ]
        out: list[Fill] = []
        for coid in coids:
            try:
                fills = await self.venue.fills_for(coid)
            except UnknownOrder:
                continue
            out.extend(f for f in fills if f.ts_ns >= since_ns)
        return out

    async def get_positions(self) -> Mapping[str, float]:
        return await self.venue.positions()


__all__ = ["StoreJournal", "VenueQueryAdapter"]

"""Read side of the journal: orders in flight, fills, positions, events, the full state.

``JournalReaders`` is mixed into ``Journal``; it only needs ``self.engine``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from deltahedge.core.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from deltahedge.core.events import Fill, HedgeIntent, OrderRequest
from deltahedge.store import schema as S

if TYPE_CHECKING:
    from deltahedge.execution.journal import JournalState

_TERMINAL = tuple(s.value for s in OrderStatus if s.is_terminal)
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class JournaledOrder:
    """An order as the journal knows it: the request and its last recorded state."""

    request: OrderRequest
    status: OrderStatus
    filled_quantity: float
    venue_order_id: str
    updated_ns: int


def _order_from_row(row: Any) -> JournaledOrder:
    req = OrderRequest(
        client_order_id=row.client_order_id,
        venue=row.venue,
        instrument=row.instrument,
        side=OrderSide(row.side),
        quantity=float(row.quantity),
        order_type=OrderType(row.order_type),
        price=None if row.price is None else float(row.price),
        time_in_force=TimeInForce(row.time_in_force),
        reduce_only=bool(row.reduce_only),
        intent_id=row.intent_id,
        ts_ns=int(row.ts_ns),
    )
    return JournaledOrder(
        request=req,
        status=OrderStatus(row.status),
        filled_quantity=float(row.filled_quantity),
        venue_order_id=row.venue_order_id,
        updated_ns=int(row.updated_ns),
    )


def _fill_from_row(row: Any) -> Fill:
    return Fill(
        fill_id=row.fill_id,
        client_order_id=row.client_order_id,
        venue=row.venue,
        instrument=row.instrument,
        side=OrderSide(row.side),
        quantity=float(row.quantity),
        price=float(row.price),
        fee=float(row.fee),
        fee_currency=row.fee_currency,
        ts_ns=int(row.ts_ns),
        liquidity=row.liquidity,
    )


def _intent_from_payload(payload: str) -> HedgeIntent:
    d = json.loads(payload)
    d["inputs"] = dict(d.get("inputs") or {})
    return HedgeIntent(**d)


class JournalReaders:
    """Queries over the journal's tables (mixed into ``Journal``)."""

    engine: Engine

    def in_flight_orders(self, venue: str | None = None) -> list[JournaledOrder]:
        """Orders whose last recorded state is not terminal (new, acked, partially filled).

        These may have reached the venue: on restart ask the venue about each one
        (``reconcile``) and never send them, or their intent, again.
        """
        q = sa.select(S.orders).where(S.orders.c.status.not_in(_TERMINAL))
        if venue is not None:
            q = q.where(S.orders.c.venue == venue)
        with self.engine.connect() as conn:
            return [_order_from_row(r) for r in conn.execute(q.order_by(S.orders.c.ts_ns))]

    def order(self, client_order_id: str) -> JournaledOrder | None:
        """The journal's view of one order, or None."""
        q = sa.select(S.orders).where(S.orders.c.client_order_id == client_order_id)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return None if row is None else _order_from_row(row)

    def fills(self, venue: str | None = None, since_ns: int | None = None) -> list[Fill]:
        """Fills in the order they were recorded, optionally of one venue and since a time."""
        q = sa.select(S.fills)
        if venue is not None:
            q = q.where(S.fills.c.venue == venue)
        if since_ns is not None:
            q = q.where(S.fills.c.ts_ns >= since_ns)
        with self.engine.connect() as conn:
            return [_fill_from_row(r) for r in conn.execute(q.order_by(S.fills.c.seq))]

    def has_fill(self, venue: str, fill_id: str) -> bool:
        """Whether ``(venue, fill_id)`` is already journaled."""
        q = sa.select(sa.literal(1)).where(
            (S.fills.c.venue == venue) & (S.fills.c.fill_id == fill_id)
        )
        with self.engine.connect() as conn:
            return conn.execute(q).first() is not None

    def positions_from_fills(self, venue: str | None = None) -> dict[tuple[str, str], float]:
        """Net signed contracts per ``(venue, instrument)``, summed over journaled fills."""
        signed = sa.case(
            (S.fills.c.side == OrderSide.BUY.value, S.fills.c.quantity), else_=-S.fills.c.quantity
        )
        q = sa.select(S.fills.c.venue, S.fills.c.instrument, sa.func.sum(signed)).group_by(
            S.fills.c.venue, S.fills.c.instrument
        )
        if venue is not None:
            q = q.where(S.fills.c.venue == venue)
        with self.engine.connect() as conn:
            return {(v, i): float(qty) for v, i, qty in conn.execute(q)}

    def intents_without_orders(self) -> list[str]:
        """Intent ids with no order journaled: nothing of them was sent, so nothing is in flight."""
        q = (
            sa.select(S.intents.c.intent_id)
            .where(~sa.exists().where(S.orders.c.intent_id == S.intents.c.intent_id))
            .order_by(S.intents.c.ts_ns)
        )
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(q)]

    def rejected_counts(self) -> dict[str, int]:
        """Rejected inputs counted by reason."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(S.rejected_inputs.c.reason, S.rejected_inputs.c["count"]))
            return {r: int(c) for r, c in rows}

    def events(
        self,
        kinds: list[str] | None = None,
        since_ns: int | None = None,
        limit: int | None = None,
        *,
        after_seq: int | None = None,
        last: int | None = None,
    ) -> list[dict[str, Any]]:
        """Events in order (``seq``), as dicts with the payload decoded from JSON.

        Parameters
        ----------
        kinds : list of str, optional
            Keep these kinds only.
        since_ns : int, optional
            Keep events stamped at or after this UTC ns time.
        limit : int, optional
            At most this many, from the first.
        after_seq : int, optional
            Keep events with ``seq`` greater than this (to poll for new ones).
        last : int, optional
            Only the last ``last`` events (still returned oldest first).
        """
        q = sa.select(S.events)
        if kinds:
            q = q.where(S.events.c.kind.in_(kinds))
        if since_ns is not None:
            q = q.where(S.events.c.ts_ns >= since_ns)
        if after_seq is not None:
            q = q.where(S.events.c.seq > after_seq)
        if last is not None:
            q = q.order_by(S.events.c.seq.desc()).limit(last)
        else:
            q = q.order_by(S.events.c.seq)
            if limit is not None:
                q = q.limit(limit)
        with self.engine.connect() as conn:
            out = []
            for r in conn.execute(q):
                d = dict(r._mapping)
                d["payload"] = json.loads(d["payload"])
                out.append(d)
        if last is not None:
            out.reverse()
        return out

    def orders_missing_fills(self, venue: str | None = None) -> list[JournaledOrder]:
        """Orders whose reported filled quantity exceeds the sum of their journaled fills.

        Their fills were reported by an order update but some never reached the journal
        (a crash between the two, a dropped message): ask the venue for them.
        """
        got = (
            sa.select(S.fills.c.client_order_id, sa.func.sum(S.fills.c.quantity).label("qty"))
            .group_by(S.fills.c.client_order_id)
            .subquery()
        )
        q = (
            sa.select(S.orders)
            .select_from(
                S.orders.outerjoin(got, got.c.client_order_id == S.orders.c.client_order_id)
            )
            .where(S.orders.c.filled_quantity > sa.func.coalesce(got.c.qty, 0.0) + _EPS)
        )
        if venue is not None:
            q = q.where(S.orders.c.venue == venue)
        with self.engine.connect() as conn:
            return [_order_from_row(r) for r in conn.execute(q.order_by(S.orders.c.ts_ns))]

    def load(self) -> JournalState:
        """Everything the order manager needs to rebuild itself after a restart.

        Implements ``deltahedge.execution.journal.Journal.load``: intents by id, orders
        (``OrderRecord``) by client order id and fills by fill id, in the order recorded.
        """
        from deltahedge.execution.journal import JournalState, OrderRecord

        state = JournalState()
        with self.engine.connect() as conn:
            for r in conn.execute(sa.select(S.intents.c.payload).order_by(S.intents.c.ts_ns)):
                intent = _intent_from_payload(r.payload)
                state.intents[intent.intent_id] = intent
            for r in conn.execute(sa.select(S.orders).order_by(S.orders.c.ts_ns)):
                jo = _order_from_row(r)
                state.orders[jo.request.client_order_id] = OrderRecord(
                    request=jo.request,
                    status=jo.status,
                    filled_quantity=jo.filled_quantity,
                    leg=int(r.leg),
                    attempt=int(r.attempt),
                    leg_target=float(r.leg_target),
                    confirmed=bool(r.confirmed),
                    avg_price=float(r.avg_price),
                )
            for r in conn.execute(sa.select(S.fills).order_by(S.fills.c.seq)):
                f = _fill_from_row(r)
                key = f.fill_id if f.fill_id not in state.fills else f"{f.venue}:{f.fill_id}"
                state.fills[key] = f
        return state


__all__ = ["JournalReaders", "JournaledOrder"]

"""Recovery after a restart: ask the venue what became of every order in flight.

``reconcile(journal, venue)`` compares the journal with what a venue reports and returns
a ``ReconcileReport``: the order updates and fills the journal missed (to apply), the
orders the venue does not know, and the position differences that remain. It never sends
an order. An order that may have reached the venue is only ever *asked about*; the engine
then decides afresh from the reconciled positions, so a hedge is never sent twice.

The venue side is the small ``VenueQuery`` protocol below (``get_order``, ``fills_for``,
``positions``), a subset of the Venue port of ``deltahedge.execution.venue``, which every
venue adapter (paper, ccxt, AMM) therefore satisfies. The order manager
(``deltahedge.execution.orders.OrderManager.recover`` + ``reconcile``) does the same for
its own in-memory state; this function is the journal's side, usable before the order
manager exists and from ``deltahedge journal`` tooling.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from deltahedge.core.enums import OrderStatus
from deltahedge.core.errors import UnknownOrder
from deltahedge.core.events import Fill, OrderUpdate
from deltahedge.store.journal import Journal
from deltahedge.store.readers import JournaledOrder


@runtime_checkable
class VenueQuery(Protocol):
    """What recovery needs from a venue: a subset of ``deltahedge.execution.venue.Venue``."""

    name: str

    async def get_order(self, client_order_id: str) -> OrderUpdate | None:
        """The venue's current state of an order; ``UnknownOrder`` (or None) if unknown."""
        ...

    async def fills_for(self, client_order_id: str) -> Sequence[Fill]:
        """Every fill of an order, as the venue recorded it."""
        ...

    async def positions(self) -> Mapping[str, float]:
        """Signed positions in contracts by instrument."""
        ...


@dataclass(frozen=True, slots=True)
class PositionDifference:
    """A position on which the journal and the venue disagree (signed contracts)."""

    venue: str
    instrument: str
    journal: float
    venue_reported: float

    @property
    def difference(self) -> float:
        """Venue minus journal, contracts."""
        return self.venue_reported - self.journal


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What ``reconcile`` found; ``applied`` says whether the journal was updated.

    Attributes
    ----------
    venue : str
        Venue reconciled.
    in_flight : tuple of JournaledOrder
        Orders the journal had in flight before reconciliation.
    order_updates : tuple of OrderUpdate
        The venue's state of in-flight orders whose status or fill differs from the journal.
    unknown_orders : tuple of JournaledOrder
        In-flight orders the venue does not know: never received, so nothing to cancel.
        With ``apply=True`` they are marked ``expired`` ("not found at venue").
    fills_to_import : tuple of Fill
        Fills of our orders that the venue reports and the journal lacks.
    position_differences : tuple of PositionDifference
        Remaining disagreements after the fills are accounted for (trades made outside
        this engine, or positions held before the journal began: see ``baseline``).
    """

    venue: str
    in_flight: tuple[JournaledOrder, ...] = ()
    order_updates: tuple[OrderUpdate, ...] = ()
    unknown_orders: tuple[JournaledOrder, ...] = ()
    fills_to_import: tuple[Fill, ...] = ()
    position_differences: tuple[PositionDifference, ...] = ()
    applied: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def clean(self) -> bool:
        """True when the journal already agreed with the venue on everything."""
        return not (
            self.order_updates
            or self.unknown_orders
            or self.fills_to_import
            or self.position_differences
        )

    def summary(self) -> str:
        """One line for the log."""
        return (
            f"reconcile {self.venue}: {len(self.in_flight)} in flight, "
            f"{len(self.order_updates)} updated, {len(self.unknown_orders)} unknown at venue, "
            f"{len(self.fills_to_import)} fills imported, "
            f"{len(self.position_differences)} position differences"
            + ("" if self.applied else " (dry run)")
        )


def normalise_positions(raw: Any) -> dict[str, float]:
    """Turn what ``get_positions`` returns into instrument -> signed contracts."""
    if isinstance(raw, Mapping):
        return {str(k): float(v) for k, v in raw.items()}
    out: dict[str, float] = {}
    for p in raw if isinstance(raw, Iterable) else ():
        out[str(p.instrument)] = out.get(str(p.instrument), 0.0) + float(p.quantity)
    return out


async def _venue_state(venue: VenueQuery, client_order_id: str) -> OrderUpdate | None:
    try:
        return await venue.get_order(client_order_id)
    except UnknownOrder:
        return None


async def reconcile(
    journal: Journal,
    venue: VenueQuery,
    *,
    apply: bool = True,
    baseline: Mapping[str, float] | None = None,
    tolerance: float = 1e-9,
) -> ReconcileReport:
    """Reconcile the journal with one venue; never send anything.

    Asks the venue about every order the journal has in flight, and for the fills of
    every order whose fills are incomplete (in flight, or reported filled beyond the fills
    journaled); then compares positions. ``VenueDisconnected`` and ``RateLimited`` from the
    venue propagate: call again later, nothing has been resent meanwhile.

    Parameters
    ----------
    journal : Journal
        The journal to check (and update when ``apply``).
    venue : VenueQuery
        The venue to ask; ``venue.name`` selects the journal's orders and fills.
    apply : bool
        Record the venue's order updates, mark orders it does not know as expired, and
        import the missing fills (duplicates are recognised and ignored).
    baseline : mapping, optional
        Positions held before the journal began (instrument -> signed contracts), added to
        the journal's fills before comparing with the venue.
    tolerance : float
        Quantity differences at or below this many contracts are ignored.

    Returns
    -------
    ReconcileReport
    """
    name = venue.name
    in_flight = journal.in_flight_orders(name)
    updates: list[OrderUpdate] = []
    unknown: list[JournaledOrder] = []
    ask_fills: dict[str, JournaledOrder] = {}
    for order in in_flight:
        state = await _venue_state(venue, order.request.client_order_id)
        if state is None:
            unknown.append(order)
            continue
        ask_fills[order.request.client_order_id] = order
        if state.status != order.status or not math.isclose(
            state.filled_quantity, order.filled_quantity, abs_tol=tolerance
        ):
            updates.append(state)
    for order in journal.orders_missing_fills(name):
        ask_fills.setdefault(order.request.client_order_id, order)

    missing: list[Fill] = []
    for coid in ask_fills:
        for f in await venue.fills_for(coid):
            if not journal.has_fill(f.venue or name, f.fill_id):
                missing.append(f)

    if apply:
        with journal.batch():
            for upd in updates:
                journal.record_order_update(upd)
            for order in unknown:
                journal.record_order_update(
                    OrderUpdate(
                        client_order_id=order.request.client_order_id,
                        venue=name,
                        status=OrderStatus.EXPIRED,
                        filled_quantity=order.filled_quantity,
                        ts_ns=journal.clock.now_ns(),
                        message="not found at venue on recovery",
                    )
                )
            for f in missing:
                journal.record_fill(f)

    # Positions: the journal's fills (plus those about to be imported) against the venue.
    held: dict[str, float] = {i: q for (v, i), q in journal.positions_from_fills(name).items()}
    if not apply:
        for f in missing:
            held[f.instrument] = held.get(f.instrument, 0.0) + f.signed_quantity
    for inst, qty in (baseline or {}).items():
        held[inst] = held.get(inst, 0.0) + float(qty)
    reported = normalise_positions(await venue.positions())
    diffs = [
        PositionDifference(name, inst, held.get(inst, 0.0), reported.get(inst, 0.0))
        for inst in sorted(set(held) | set(reported))
        if abs(held.get(inst, 0.0) - reported.get(inst, 0.0)) > tolerance
    ]
    report = ReconcileReport(
        venue=name,
        in_flight=tuple(in_flight),
        order_updates=tuple(updates),
        unknown_orders=tuple(unknown),
        fills_to_import=tuple(missing),
        position_differences=tuple(diffs),
        applied=apply,
    )
    if apply:
        journal.record_event(
            "reconcile",
            name,
            {
                "summary": report.summary(),
                "updated": [u.client_order_id for u in updates],
                "unknown": [o.request.client_order_id for o in unknown],
                "imported_fills": [f.fill_id for f in missing],
                "position_differences": [
                    {"instrument": d.instrument, "journal": d.journal, "venue": d.venue_reported}
                    for d in diffs
                ],
            },
        )
    return report


__all__ = [
    "PositionDifference",
    "ReconcileReport",
    "VenueQuery",
    "normalise_positions",
    "reconcile",
]

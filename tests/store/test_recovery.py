"""Recovery: reconcile the journal with a venue, importing what it missed, sending nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from deltahedge.core import (
    Fill,
    HedgeIntent,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderUpdate,
    UnknownOrder,
    client_order_id,
)
from deltahedge.store import Journal, VenueQuery, normalise_positions, reconcile

T0 = 1_767_225_600_000_000_000


class FakeVenue:
    """Answers recovery's questions from fixed state; any attempt to trade fails the test."""

    def __init__(self, orders=None, fills=(), positions=None, name: str = "paper") -> None:
        self.name = name
        self.orders: dict[str, OrderUpdate] = dict(orders or {})
        self.fills_: list[Fill] = list(fills)
        self.positions_: dict[str, float] = dict(positions or {})
        self.asked_fills: list[str] = []

    async def get_order(self, client_order_id: str) -> OrderUpdate:
        if client_order_id not in self.orders:
            raise UnknownOrder(f"no order {client_order_id}", self.name)
        return self.orders[client_order_id]

    async def fills_for(self, client_order_id: str) -> Sequence[Fill]:
        self.asked_fills.append(client_order_id)
        return [f for f in self.fills_ if f.client_order_id == client_order_id]

    async def positions(self) -> dict[str, float]:
        return self.positions_

    async def submit(self, req: OrderRequest) -> None:  # pragma: no cover - must not run
        raise AssertionError(f"recovery tried to send {req.client_order_id}")


class NoneVenue(FakeVenue):
    """A venue that answers None (instead of raising) for an unknown order."""

    async def get_order(self, client_order_id: str) -> OrderUpdate | None:  # type: ignore[override]
        return self.orders.get(client_order_id)


def _send(journal: Journal, n: int, qty: float) -> str:
    """Journal an intent and its order, as the engine does before sending it."""
    iid = f"int-{n}"
    coid = client_order_id(iid)
    journal.record_intent(HedgeIntent(iid, T0 + n, "BTC", qty, "test"))
    side = OrderSide.BUY if qty > 0 else OrderSide.SELL
    journal.record_order(
        OrderRequest(coid, "paper", "BTC-PERPETUAL", side, abs(qty), intent_id=iid, ts_ns=T0 + n)
    )
    return coid


def _fill(fid: str, coid: str, qty: float, ts: int) -> Fill:
    side = OrderSide.BUY if qty > 0 else OrderSide.SELL
    return Fill(fid, coid, "paper", "BTC-PERPETUAL", side, abs(qty), 93_000.0, 0.0, "USD", ts)


def test_fake_venue_satisfies_the_protocol() -> None:
    assert isinstance(FakeVenue(), VenueQuery)


async def test_order_filled_while_down_is_updated_and_its_fill_imported(journal: Journal) -> None:
    coid = _send(journal, 1, 2.0)
    journal.record_order_update(OrderUpdate(coid, "paper", OrderStatus.ACKED, 0.0, T0 + 2))
    f = _fill("f-1", coid, 2.0, T0 + 3)
    venue = FakeVenue(
        orders={coid: OrderUpdate(coid, "paper", OrderStatus.FILLED, 2.0, T0 + 3)},
        fills=[f],
        positions={"BTC-PERPETUAL": 2.0},
    )
    report = await reconcile(journal, venue)
    assert [u.client_order_id for u in report.order_updates] == [coid]
    assert report.fills_to_import == (f,)
    assert report.position_differences == () and report.applied
    assert journal.in_flight_orders() == []
    assert journal.fills() == [f]
    assert venue.asked_fills == [coid]
    # A second pass finds nothing left to do and imports nothing twice.
    again = await reconcile(journal, venue)
    assert again.clean and journal.fills() == [f]
    assert "reconcile paper" in journal.events(kinds=["reconcile"])[0]["payload"]["summary"]


@pytest.mark.parametrize("venue_cls", [FakeVenue, NoneVenue])
async def test_order_unknown_at_venue_is_expired_not_resent(journal: Journal, venue_cls) -> None:
    coid = _send(journal, 1, -1.0)
    venue = venue_cls()
    report = await reconcile(journal, venue)
    assert [o.request.client_order_id for o in report.unknown_orders] == [coid]
    o = journal.order(coid)
    assert o is not None and o.status is OrderStatus.EXPIRED
    assert journal.in_flight_orders() == []


async def test_dry_run_reports_without_touching_the_journal(journal: Journal) -> None:
    coid = _send(journal, 1, 1.0)
    f = _fill("f-1", coid, 1.0, T0 + 3)
    venue = FakeVenue(
        orders={coid: OrderUpdate(coid, "paper", OrderStatus.FILLED, 1.0, T0 + 3)},
        fills=[f],
        positions={"BTC-PERPETUAL": 1.0},
    )
    n_events = len(journal.events())
    report = await reconcile(journal, venue, apply=False)
    # The fill about to be imported accounts for the venue's position: no difference.
    assert report.position_differences == () and not report.applied
    assert report.fills_to_import == (f,)
    assert len(journal.events()) == n_events
    assert [o.status for o in journal.in_flight_orders()] == [OrderStatus.NEW]


async def test_partial_fill_stays_in_flight_with_venue_quantity(journal: Journal) -> None:
    coid = _send(journal, 1, 3.0)
    venue = FakeVenue(
        orders={coid: OrderUpdate(coid, "paper", OrderStatus.PARTIALLY_FILLED, 1.0, T0 + 3)},
        fills=[_fill("f-1", coid, 1.0, T0 + 3)],
        positions={"BTC-PERPETUAL": 1.0},
    )
    await reconcile(journal, venue)
    (jo,) = journal.in_flight_orders()
    assert jo.status is OrderStatus.PARTIALLY_FILLED and jo.filled_quantity == 1.0


async def test_unexplained_position_is_reported_and_baseline_explains_it(
    journal: Journal,
) -> None:
    coid = _send(journal, 1, 1.0)
    journal.record_order_update(OrderUpdate(coid, "paper", OrderStatus.FILLED, 1.0, T0 + 2))
    journal.record_fill(_fill("f-1", coid, 1.0, T0 + 2))
    # Venue: +1 (ours) and 4 ETH held before the journal began.
    venue = FakeVenue(positions={"BTC-PERPETUAL": 1.0, "ETH-PERPETUAL": 4.0})
    report = await reconcile(journal, venue)
    assert report.fills_to_import == () and venue.asked_fills == []  # nothing was missing
    (diff,) = report.position_differences
    assert (diff.instrument, diff.journal, diff.venue_reported, diff.difference) == (
        "ETH-PERPETUAL",
        0.0,
        4.0,
        4.0,
    )
    with_baseline = await reconcile(journal, venue, baseline={"ETH-PERPETUAL": 4.0})
    assert with_baseline.clean


async def test_filled_order_with_a_lost_fill_gets_it_from_the_venue(journal: Journal) -> None:
    # The update "filled 1.0" was journaled, then the process died before the fill was.
    coid = _send(journal, 1, 1.0)
    journal.record_order_update(OrderUpdate(coid, "paper", OrderStatus.FILLED, 1.0, T0 + 2))
    assert [o.request.client_order_id for o in journal.orders_missing_fills()] == [coid]
    f = _fill("f-1", coid, 1.0, T0 + 2)
    venue = FakeVenue(orders={coid: OrderUpdate(coid, "paper", OrderStatus.FILLED, 1.0, T0 + 2)},
                      fills=[f], positions={"BTC-PERPETUAL": 1.0})  # fmt: skip
    report = await reconcile(journal, venue)
    assert report.in_flight == () and report.fills_to_import == (f,) and report.clean is False
    assert journal.orders_missing_fills() == [] and (await reconcile(journal, venue)).clean


@dataclass
class _Pos:
    instrument: str
    quantity: float


def test_positions_given_as_objects_are_summed_per_instrument() -> None:
    raw = [_Pos("BTC-PERPETUAL", 1.5), _Pos("BTC-PERPETUAL", -0.5), _Pos("ETH-PERPETUAL", 2.0)]
    assert normalise_positions(raw) == {"BTC-PERPETUAL": 1.0, "ETH-PERPETUAL": 2.0}
    assert normalise_positions({"X": 3}) == {"X": 3.0}


@pytest.mark.parametrize("status", [OrderStatus.CANCELLED, OrderStatus.REJECTED])
async def test_order_closed_at_venue_leaves_in_flight(journal: Journal, status) -> None:
    coid = _send(journal, 1, 1.0)
    venue = FakeVenue(orders={coid: OrderUpdate(coid, "paper", status, 0.0, T0 + 3)})
    report = await reconcile(journal, venue)
    assert report.order_updates[0].status is status
    assert journal.in_flight_orders() == []

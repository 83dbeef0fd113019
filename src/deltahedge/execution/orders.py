"""The order manager: one state machine per order, idempotent sends, reconciliation, no double hedge.

Guarantees (tested under seeded random fault schedules in ``tests/execution``):

- **Idempotent ids.** Leg ``k``, attempt ``a`` of intent ``i`` is sent under
  ``client_order_id(i, k, a)``; re-executing a known intent resumes it instead of
  sending new orders.
- **Journal first.** The intent and each order are journaled before the order is sent;
  every fill is journaled as it is counted.
- **Never blind resends.** After a send whose answer was lost (:class:`VenueDisconnected`),
  the order is looked up with ``get_order`` until the venue answers; only an
  :class:`UnknownOrder` answer (never placed) allows sending it again, under the same id.
  A new attempt (a new id) is only sent for the unfilled rest of a leg whose previous
  orders are all terminal.
- **One hedge per exposure.** While an intent on an underlying is in flight, another
  intent on the same underlying is refused (status ``skipped``).
- **Fills once.** Fills are de-duplicated by ``fill_id``; a terminal order whose counted
  fills fall short of its reported filled quantity has its fills fetched from the venue.
- **Top-ups.** A leg whose order was rejected (it never reached the book), or a market
  order that ran out of book, gets a new attempt for its unfilled rest, except after an
  :class:`UnknownInstrument` rejection: no retry can succeed, so the leg is closed. A limit leg that
  expired or was cancelled (IOC/FOK at its limit) is closed as partial: re-sending at the
  same limit would not fill, and the atomic option+hedge relies on a fill-or-kill leg
  never being topped up.
- **Retries** use capped exponential backoff, ``min(cap, base * factor**n)``, and honour
  :class:`RateLimited` ``retry_after``.

State machine (``OrderStatus``): NEW -> ACKED -> PARTIALLY_FILLED -> FILLED, and from any
non-terminal state to CANCELLED, REJECTED or EXPIRED. Updates that would move an order
backwards (late or repeated messages) are ignored; terminal states are final.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from deltahedge.core.clock import Clock, LiveClock
from deltahedge.core.enums import OrderStatus, OrderType, TimeInForce
from deltahedge.core.errors import (
    ExecutionError,
    InsufficientMargin,
    OrderRejected,
    RateLimited,
    UnknownInstrument,
    UnknownOrder,
    VenueDisconnected,
)
from deltahedge.core.events import Fill, HedgeIntent, OrderRequest, OrderUpdate
from deltahedge.core.ids import client_order_id
from deltahedge.execution._ids import leg_order_id
from deltahedge.execution.journal import Journal, MemoryJournal, OrderRecord
from deltahedge.execution.venue import Venue

_EPS = 1e-9
_T = TypeVar("_T")
_RANK = {OrderStatus.NEW: 0, OrderStatus.ACKED: 1, OrderStatus.PARTIALLY_FILLED: 2}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff: attempt ``n`` waits ``min(cap_s, base_s * factor**n)`` seconds.

    ``max_tries`` bounds the calls of one operation (a send, a lookup); ``max_attempts``
    bounds the orders (client ids) sent for one leg.
    """

    base_s: float = 0.05
    factor: float = 2.0
    cap_s: float = 2.0
    max_tries: int = 8
    max_attempts: int = 6

    def delay(self, n: int) -> float:
        """Seconds to wait before retry ``n`` (0-based)."""
        return min(self.cap_s, self.base_s * self.factor**n)


@dataclass(slots=True)
class ManagedOrder:
    """The order manager's live record of one order."""

    record: OrderRecord
    fills: dict[str, Fill] = field(default_factory=dict)
    venue_order_id: str = ""
    #: why the venue refused it; ``reject_final`` when no new attempt can succeed
    #: (an unknown instrument)
    reject_reason: str = ""
    reject_final: bool = False

    @property
    def request(self) -> OrderRequest:
        return self.record.request

    @property
    def status(self) -> OrderStatus:
        return self.record.status

    @property
    def counted(self) -> float:
        """Contracts filled according to the fills counted."""
        return sum(f.quantity for f in self.fills.values())


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """Outcome of an intent: ``status`` is filled, partial, failed, working or skipped.

    ``fees_by_currency`` sums the fills' fees per fee currency (a linear leg pays USDT, an
    inverse one BTC). ``fees`` is their sum when there is a single currency, and NaN when
    the legs paid in several: adding BTC to USDT would be a wrong number, so a caller must
    convert ``fees_by_currency`` at its own prices.
    """

    intent_id: str
    status: str
    filled: Mapping[int, float]  # leg -> contracts filled
    targets: Mapping[int, float]  # leg -> contracts wanted
    avg_price: Mapping[int, float]
    fees: float
    reason: str = ""
    orders: tuple[str, ...] = ()
    fees_by_currency: Mapping[str, float] = field(default_factory=dict)


BeforeSend = Callable[[OrderRequest], Awaitable[None]]


class OrderManager:
    """Places, tracks and reconciles the orders of hedge intents across venues.

    Parameters
    ----------
    venues : Mapping[str, Venue]
        By venue name (``OrderRequest.venue``).
    journal : Journal, optional
        Where intents, orders and fills are recorded before they matter (memory by default).
    clock : Clock, optional
    retry : RetryPolicy, optional
    sleep : callable, optional
        ``await sleep(seconds)``; inject a simulated one in tests.
    before_send : callable, optional
        ``await before_send(request)`` runs after the journal write, before each send.
    """

    def __init__(
        self,
        venues: Mapping[str, Venue],
        journal: Journal | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        before_send: BeforeSend | None = None,
    ) -> None:
        self.venues = dict(venues)
        self.journal: Journal = journal if journal is not None else MemoryJournal()
        self.clock = clock or LiveClock()
        self.retry = retry or RetryPolicy()
        self._sleep = sleep or asyncio.sleep
        self.before_send = before_send
        self.orders: dict[str, ManagedOrder] = {}
        self.intents: dict[str, HedgeIntent] = {}
        self.fill_ids: set[str] = set()
        self.positions: dict[tuple[str, str], float] = {}
        self.duplicate_fills = 0
        self._last_reject = ""
        self.orphans: list[OrderUpdate] = []
        self._in_flight: dict[str, str] = {}
        self._by_intent: dict[str, dict[int, list[ManagedOrder]]] = {}
        self._lots: dict[tuple[str, str], float] = {}
        for venue in self.venues.values():
            venue.subscribe(self.on_event)

    # ------------------------------------------------------------------ construction
    @classmethod
    def recover(cls, venues: Mapping[str, Venue], journal: Journal, **kwargs) -> OrderManager:
        """Rebuild an order manager from its journal after a restart (then call :meth:`reconcile`)."""
        om = cls(venues, journal, **kwargs)
        state = journal.load()
        om.intents = dict(state.intents)
        for rec in sorted(state.orders.values(), key=lambda r: r.attempt):
            om._index(ManagedOrder(rec))
        for fill in state.fills.values():
            om._count_fill(fill, journal_it=False)
        for intent in om.intents.values():
            if not om._intent_done(intent.intent_id):
                om._in_flight.setdefault(intent.underlying, intent.intent_id)
        return om

    def close(self) -> None:
        """Stop listening to the venues (before this manager is replaced)."""
        for venue in self.venues.values():
            unsubscribe = getattr(venue, "unsubscribe", None)
            if unsubscribe is not None:
                unsubscribe(self.on_event)

    # ------------------------------------------------------------------ events
    def on_event(self, event: OrderUpdate | Fill) -> None:
        """Apply a pushed order update or fill (duplicates and stale updates are ignored)."""
        if isinstance(event, Fill):
            if event.client_order_id in self.orders:
                self._count_fill(event)
        else:
            self._apply_update(event)

    def _apply_update(self, upd: OrderUpdate) -> None:
        mo = self.orders.get(upd.client_order_id)
        if mo is None:
            return
        rec = mo.record
        if upd.venue_order_id:
            mo.venue_order_id = upd.venue_order_id
        new_status = rec.status
        if not rec.status.is_terminal and (
            upd.status.is_terminal or _RANK[upd.status] >= _RANK[rec.status]
        ):
            new_status = upd.status
        filled = max(rec.filled_quantity, upd.filled_quantity)
        avg = (
            upd.avg_price
            if upd.filled_quantity >= rec.filled_quantity and upd.avg_price
            else rec.avg_price
        )
        if (new_status, filled, True) != (rec.status, rec.filled_quantity, rec.confirmed):
            mo.record = replace(
                rec, status=new_status, filled_quantity=filled, confirmed=True, avg_price=avg
            )
            self.journal.record_order(mo.record)

    def _count_fill(self, fill: Fill, journal_it: bool = True) -> bool:
        if fill.fill_id in self.fill_ids:
            self.duplicate_fills += 1
            return False
        self.fill_ids.add(fill.fill_id)
        self.orders[fill.client_order_id].fills[fill.fill_id] = fill
        key = (fill.venue, fill.instrument)
        self.positions[key] = self.positions.get(key, 0.0) + fill.signed_quantity
        if journal_it:
            self.journal.record_fill(fill)
        return True

    # ------------------------------------------------------------------ execution
    def in_flight(self, underlying: str) -> str | None:
        """The intent id in flight on ``underlying``, or None."""
        return self._in_flight.get(underlying)

    async def execute(self, intent: HedgeIntent, legs: Sequence[OrderRequest]) -> ExecutionReport:
        """Execute a hedge intent as the given legs (one order request per venue/instrument).

        Each leg's ``quantity`` is its target in contracts; its ``client_order_id`` is
        replaced by ``client_order_id(intent_id, leg, attempt)`` and its ``ts_ns`` by the
        clock's time, unless the leg already carries this id and intent (as
        :meth:`~deltahedge.execution.router.Route.to_orders` makes them): such a leg is
        sent as it is. Returns when every
        marketable leg has reached a terminal state (resting limit legs: when placed).
        An intent already known is resumed, never sent twice; an intent on an underlying
        with another intent in flight is refused with status ``skipped``.
        """
        known = intent.intent_id in self.intents
        if known and (not legs or self._legs(intent.intent_id)):
            return await self._drive(intent.intent_id)
        # new, or journaled by a process that died before journaling any of its orders
        # (nothing was sent): its legs are placed now, under the same idempotent ids
        holder = self._in_flight.get(intent.underlying)
        if holder is not None and holder != intent.intent_id:
            return ExecutionReport(
                intent.intent_id,
                "skipped",
                {},
                {},
                {},
                0.0,
                reason=f"hedge {holder} on {intent.underlying} is still in flight; not hedging twice",
            )
        self._in_flight[intent.underlying] = intent.intent_id
        if not known:
            self.intents[intent.intent_id] = intent
            self.journal.record_intent(intent)
        now = self.clock.now_ns()
        for k, leg in enumerate(legs):
            coid = leg_order_id(intent.intent_id, k, 0)
            if leg.client_order_id == coid and leg.intent_id == intent.intent_id:
                self._new_order(leg, k, 0, float(leg.quantity))  # Route.to_orders made it
                continue
            # built field by field: dataclasses.replace costs ~13 us, on the hedge's hot path
            req = OrderRequest(
                client_order_id=coid,
                venue=leg.venue,
                instrument=leg.instrument,
                side=leg.side,
                quantity=leg.quantity,
                order_type=leg.order_type,
                price=leg.price,
                time_in_force=leg.time_in_force,
                reduce_only=leg.reduce_only,
                intent_id=intent.intent_id,
                ts_ns=now,
            )
            self._new_order(req, k, 0, float(leg.quantity))
        return await self._drive(intent.intent_id)

    async def resume(self) -> list[ExecutionReport]:
        """Drive every intent that is not finished (after :meth:`recover` and :meth:`reconcile`).

        The legs of an atomic option + hedge trade (``<id>:hedge``, ``:option``, ``:unwind``
        with a journaled plan ``<id>:atomic``) are left to
        :func:`deltahedge.execution.atomic_recovery.recover_atomic`, which knows their limits
        (an option quote that expired must not be sent).
        """
        return [
            await self._drive(i)
            for i in list(self.intents)
            if not self._intent_done(i) and not self._atomic_leg(i)
        ]

    def _atomic_leg(self, intent_id: str) -> bool:
        base, sep, leg = intent_id.rpartition(":")
        return (
            bool(sep) and leg in ("hedge", "option", "unwind") and base + ":atomic" in self.intents
        )

    async def reconcile(self) -> dict[tuple[str, str], float]:
        """Ask the venues about every order not known to be finished and fetch missing fills.

        Returns the position differences ``venue - ours`` by (venue, instrument) for the
        instruments we traded (all zero when our fills match the venue's positions and
        nothing else traded there). Open orders at the venues that carry one of our client
        ids but are not in our journal (a lost journal, another process) are listed in
        ``self.orphans`` for the operator; they are not cancelled automatically.
        """
        for mo in list(self.orders.values()):
            if not mo.status.is_terminal or mo.counted < mo.record.filled_quantity - _EPS:
                await self._lookup(mo)
                await self._sync_fills(mo)
        diffs: dict[tuple[str, str], float] = {}
        self.orphans = []
        for venue in self.venues.values():
            for upd in await self._call(venue.open_orders):
                if upd.client_order_id.startswith("dh") and upd.client_order_id not in self.orders:
                    self.orphans.append(upd)
        for venue_name, venue in self.venues.items():
            pos = await self._call(venue.positions)
            for (vname, instr), ours in self.positions.items():
                if vname == venue_name:
                    diffs[(vname, instr)] = pos.get(instr, 0.0) - ours
        for intent_id in list(self.intents):
            self._release_if_done(intent_id)
        return diffs

    async def abandon_unsent(self, intent_id: str) -> bool:
        """Close the limit orders of an intent that were journaled but never reached a venue.

        For each leg whose last order is still NEW and unconfirmed, the venue is asked
        first (:meth:`Venue.get_order`); only an order the venue does not know is marked
        CANCELLED (a closed limit leg is never topped up), so it will not be sent. Used by
        the atomic recovery when a trade's validity ran out before its order was sent.
        Returns True when at least one order was abandoned.
        """
        abandoned = False
        for orders in self._legs(intent_id).values():
            last = orders[-1]
            if (
                last.status is not OrderStatus.NEW
                or last.record.confirmed
                or last.request.order_type is not OrderType.LIMIT
            ):
                continue
            if await self._lookup(last, quiet=True):
                continue  # the venue has it after all: it is driven like any other
            last.record = replace(last.record, status=OrderStatus.CANCELLED, confirmed=True)
            self.journal.record_order(last.record)
            abandoned = True
        if intent_id in self.intents:
            self._release_if_done(intent_id)
        return abandoned

    # ------------------------------------------------------------------ internals
    def _new_order(self, req: OrderRequest, leg: int, attempt: int, target: float) -> ManagedOrder:
        rec = OrderRecord(req, OrderStatus.NEW, 0.0, leg, attempt, target)
        self.journal.record_order(rec)
        return self._index(ManagedOrder(rec))

    def _index(self, mo: ManagedOrder) -> ManagedOrder:
        self.orders[mo.request.client_order_id] = mo
        legs = self._by_intent.setdefault(mo.request.intent_id, {})
        legs.setdefault(mo.record.leg, []).append(mo)
        return mo

    def _legs(self, intent_id: str) -> dict[int, list[ManagedOrder]]:
        """Orders of an intent by leg, in attempt order (the lists are live)."""
        return self._by_intent.get(intent_id, {})

    def _intent_done(self, intent_id: str) -> bool:
        for orders in self._legs(intent_id).values():
            last = orders[-1]
            if not last.status.is_terminal or last.counted < last.record.filled_quantity - _EPS:
                return False
            if self._leg_remaining(orders) > 0 and len(orders) < self.retry.max_attempts:
                return False
        return True

    def _release_if_done(self, intent_id: str) -> None:
        intent = self.intents[intent_id]
        if self._in_flight.get(intent.underlying) == intent_id and self._intent_done(intent_id):
            del self._in_flight[intent.underlying]

    def _leg_remaining(self, orders: list[ManagedOrder]) -> float:
        last = orders[-1]
        if last.reject_final:
            return 0.0  # a new attempt would be refused the same way
        if last.request.order_type is OrderType.LIMIT and last.status in (
            OrderStatus.CANCELLED,
            OrderStatus.EXPIRED,
        ):
            # a limit leg that met its limit (IOC/FOK) or was cancelled is closed, not topped
            # up at the same price: the caller re-decides on fresh books
            return 0.0
        target = orders[0].record.leg_target
        filled = sum(m.counted for m in orders)
        lot = self._lots.get((orders[0].request.venue, orders[0].request.instrument), 0.0)
        rest = target - filled
        if lot > 0:
            rest = round(rest / lot) * lot
        return rest if rest > _EPS else 0.0

    async def _lot(self, req: OrderRequest) -> float:
        key = (req.venue, req.instrument)
        if key not in self._lots:
            specs = await self._call(self.venues[req.venue].instruments)
            spec = specs.get(req.instrument)
            self._lots[key] = spec.lot_size if spec is not None else 0.0
        return self._lots[key]

    async def _drive(self, intent_id: str) -> ExecutionReport:
        reason = ""
        for leg, orders in sorted(self._legs(intent_id).items()):
            await self._lot(orders[0].request)
            while True:
                last = orders[-1]
                if not last.record.confirmed and last.status is OrderStatus.NEW:
                    await self._send(last)
                    continue
                if not last.status.is_terminal:
                    if not _marketable(last.request):
                        break  # resting order: fills arrive by events
                    await self._lookup(last, wait=True)
                    continue
                await self._sync_fills(last)
                rest = self._leg_remaining(orders)
                if last.reject_final:
                    reason = f"leg {leg}: {last.reject_reason}"
                if rest <= 0:
                    break
                if len(orders) >= self.retry.max_attempts:
                    reason = f"leg {leg}: {rest} contracts unfilled after {len(orders)} orders"
                    if last.reject_reason:
                        reason += f"; last refusal: {last.reject_reason}"
                    break
                nxt = replace(
                    last.request,
                    client_order_id=client_order_id(intent_id, leg, len(orders)),
                    quantity=rest,
                    ts_ns=self.clock.now_ns(),
                )
                self._new_order(
                    nxt, leg, len(orders), last.record.leg_target
                )  # appends to ``orders``
        self._release_if_done(intent_id)
        return self._report(intent_id, reason)

    async def _send(self, mo: ManagedOrder) -> None:
        """Send ``mo`` (journaled already); resolve a lost answer by looking the order up."""
        req = mo.request
        venue = self.venues[req.venue]
        for n in range(self.retry.max_tries):
            if self.before_send is not None:
                await self.before_send(req)
            try:
                upd = await venue.submit(req)
            except RateLimited as exc:
                await self._sleep(max(exc.retry_after, self.retry.delay(n)))
                continue
            except (OrderRejected, InsufficientMargin) as exc:
                if await self._lookup(mo, quiet=True):
                    return  # it was placed after all (e.g. a duplicate id after a lost answer)
                mo.record = replace(mo.record, status=OrderStatus.REJECTED, confirmed=True)
                self.journal.record_order(mo.record)
                self._last_reject = mo.reject_reason = str(exc)
                mo.reject_final = isinstance(exc, UnknownInstrument)
                return
            except VenueDisconnected:
                await self._sleep(self.retry.delay(n))
                if await self._lookup(mo, quiet=True):
                    return
                continue  # the venue does not know it: never placed, send it again (same id)
            self._apply_update(upd)
            return
        raise ExecutionError(
            f"order {req.client_order_id} on {req.venue}: no definite answer after "
            f"{self.retry.max_tries} tries; will be reconciled before anything is resent"
        )

    async def _lookup(self, mo: ManagedOrder, quiet: bool = False, wait: bool = False) -> bool:
        """Ask the venue for ``mo``; True when the venue knows it (state applied).

        Raises ExecutionError when the venue cannot be reached after the retries (the
        order's fate stays unknown, so nothing may be resent).
        """
        venue = self.venues[mo.request.venue]
        for n in range(self.retry.max_tries):
            try:
                upd = await venue.get_order(mo.request.client_order_id)
            except UnknownOrder:
                return False
            except (VenueDisconnected, RateLimited):
                await self._sleep(self.retry.delay(n))
                continue
            self._apply_update(upd)
            if wait and not mo.status.is_terminal:
                await self._sleep(self.retry.delay(n))
                continue
            return True
        if wait and mo.record.confirmed:
            raise ExecutionError(
                f"order {mo.request.client_order_id} on {mo.request.venue} still {mo.status.value} "
                f"after {self.retry.max_tries} checks; it stays in flight until reconciled"
            )
        raise ExecutionError(
            f"cannot learn the state of {mo.request.client_order_id} on {mo.request.venue} "
            f"after {self.retry.max_tries} tries; hedging on {mo.request.instrument} paused"
        )

    async def _sync_fills(self, mo: ManagedOrder) -> None:
        if mo.counted >= mo.record.filled_quantity - _EPS:
            return
        venue = self.venues[mo.request.venue]
        fills = await self._call(lambda: venue.fills_for(mo.request.client_order_id))
        for fill in fills:
            self._count_fill(fill)

    async def _call(self, fn: Callable[[], Awaitable[_T]]) -> _T:
        for n in range(self.retry.max_tries):
            try:
                return await fn()
            except (VenueDisconnected, RateLimited):
                await self._sleep(self.retry.delay(n))
        raise ExecutionError(
            f"venue call failed {self.retry.max_tries} times; will retry at reconcile"
        )

    def _report(self, intent_id: str, reason: str) -> ExecutionReport:
        legs = self._legs(intent_id)
        filled: dict[int, float] = {}
        targets: dict[int, float] = {}
        avg: dict[int, float] = {}
        by_ccy: dict[str, float] = {}
        working = False
        for leg, orders in legs.items():
            fills = [f for m in orders for f in m.fills.values()]
            q = sum(f.quantity for f in fills)
            filled[leg] = q
            targets[leg] = orders[0].record.leg_target
            avg[leg] = sum(f.quantity * f.price for f in fills) / q if q > 0 else 0.0
            for f in fills:
                by_ccy[f.fee_currency] = by_ccy.get(f.fee_currency, 0.0) + f.fee
            working |= not orders[-1].status.is_terminal
        short = any(
            filled[k]
            < targets[k]
            - max(
                self._lots.get((legs[k][0].request.venue, legs[k][0].request.instrument), 0.0) / 2,
                _EPS,
            )
            for k in legs
        )
        if working:
            status = "working"
        elif not short:
            status = "filled"
        else:
            status = "partial" if any(v > 0 for v in filled.values()) else "failed"
            reason = reason or self._last_reject or "unfilled"
        coids = tuple(m.request.client_order_id for orders in legs.values() for m in orders)
        fees = sum(by_ccy.values()) if len(by_ccy) <= 1 else math.nan
        return ExecutionReport(
            intent_id, status, filled, targets, avg, fees, reason, coids, fees_by_currency=by_ccy
        )


def _marketable(req: OrderRequest) -> bool:
    return req.order_type is OrderType.MARKET or req.time_in_force in (
        TimeInForce.IOC,
        TimeInForce.FOK,
    )


__all__ = ["BeforeSend", "ExecutionReport", "ManagedOrder", "OrderManager", "RetryPolicy"]

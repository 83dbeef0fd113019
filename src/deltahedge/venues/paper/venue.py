"""``PaperVenue``: a matching engine over L2 books, with queue position, fees, latency and faults.

Matching rules
--------------
- Market, IOC and FOK orders, and the crossing part of a limit order, walk the book
  level by level (taker fee); our own trade removes the liquidity it took.
- A resting limit order joins the back of its price level: ``queue_ahead`` starts at the
  size resting there. Trades at our price (:meth:`PaperVenue.on_trade`) first consume
  the volume ahead of us, then fill us (maker fee). A level shrinking in a book update
  (a cancel) lowers ``queue_ahead`` to at most the new level size. A trade through our
  price fills us completely.
- Post-only orders that would cross are rejected; reduce-only orders are clipped to the
  position they reduce and rejected when they would increase it.
- Latency: an order sent at ``t`` reaches the matching engine at ``t + latency_ns`` of
  the injected clock; before then it waits (status NEW) and :meth:`PaperVenue.pump`
  matches it once the clock has moved. Only a venue with zero latency reports itself
  ``synchronous`` (see :attr:`PaperVenue.latency_ns`).
- Faults (:class:`FaultConfig`) come from a seeded generator: rejects, rate limits,
  disconnects before or after the order is placed, dropped and duplicated fill messages,
  dropped order updates, stale books. The venue's own records (``get_order``,
  ``fills_for``, ``positions``) are always right, as a real venue's are.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from deltahedge.core.clock import Clock, SimClock
from deltahedge.core.enums import OrderSide, OrderStatus, OrderType, Settlement, TimeInForce
from deltahedge.core.errors import (
    InvalidInput,
    OrderRejected,
    RateLimited,
    UnknownInstrument,
    UnknownOrder,
    VenueDisconnected,
)
from deltahedge.core.events import Fill, OrderRequest, OrderUpdate
from deltahedge.execution.venue import (
    Balance,
    BookSnapshot,
    FundingRate,
    InstrumentInfo,
    Listener,
    VenueCapabilities,
)
from deltahedge.venues.book import L2Book
from deltahedge.venues.paper.faults import FaultConfig, FaultInjector

_EPS = 1e-9


@dataclass(slots=True)
class _Order:
    request: OrderRequest
    venue_order_id: str
    active_ns: int
    status: OrderStatus = OrderStatus.NEW
    quantity: float = 0.0
    filled: float = 0.0
    notional: float = 0.0
    queue_ahead: float = 0.0
    resting: bool = False
    fills: list[Fill] = field(default_factory=list)

    @property
    def remaining(self) -> float:
        return self.quantity - self.filled


class PaperVenue:
    """A simulated venue matching our orders against L2 books (see module docstring).

    Parameters
    ----------
    name : str
        Venue name written into updates and fills.
    instruments : Sequence[InstrumentInfo]
        Specs (contract size, lot, fees) of the instruments traded.
    books : Mapping[str, L2Book]
        Order book per symbol; the venue matches against and modifies them.
    clock : Clock, optional
        Injected clock (a :class:`SimClock` at 0 by default).
    latency_ns : int
        One-way latency from submit to the matching engine, ns.
    faults : FaultConfig, optional
    seed : int
        Seed of the fault generator.
    stale_after_ns : int or None
        ``is_healthy`` is False when the book is older than this (by the clock).
    funding : Mapping[str, float], optional
        Funding rate per 8 h by symbol.
    balances : Mapping[str, float], optional
        Starting balance by currency; fees are taken from it (PnL stays unrealised).
    """

    def __init__(
        self,
        name: str,
        instruments: Sequence[InstrumentInfo],
        books: Mapping[str, L2Book],
        clock: Clock | None = None,
        latency_ns: int = 0,
        faults: FaultConfig | None = None,
        seed: int = 0,
        stale_after_ns: int | None = None,
        funding: Mapping[str, float] | None = None,
        balances: Mapping[str, float] | None = None,
    ) -> None:
        self.name = name
        self._instruments = {i.symbol: i for i in instruments}
        missing = [s for s in self._instruments if s not in books]
        if missing:
            raise InvalidInput(f"PaperVenue {name}: no book for {missing}; books: {sorted(books)}")
        self.books = dict(books)
        self.clock: Clock = clock if clock is not None else SimClock()
        self.latency_ns = int(latency_ns)
        self.faults = FaultInjector(faults, seed)
        self.stale_after_ns = stale_after_ns
        self._funding = dict(funding or {})
        self._orders: dict[str, _Order] = {}
        self._positions: dict[str, float] = dict.fromkeys(self._instruments, 0.0)
        self._traded: dict[str, float] = dict.fromkeys(self._instruments, 0.0)  # exact sums
        self._fees: dict[str, float] = {}
        self._start = dict(balances or {})
        self._listeners: list[Listener] = []
        self._ids = itertools.count(1)
        self.connected = True
        #: every submit call that reached the venue with an already-known client id
        self.duplicate_submits = 0
        #: orders placed (accepted by the matching engine), in order
        self.placed: list[str] = []

    # ------------------------------------------------------------------ port
    @property
    def latency_ns(self) -> int:
        """One-way latency to the matching engine, ns; setting it updates the capabilities."""
        return self._latency_ns

    @latency_ns.setter
    def latency_ns(self, value: int) -> None:
        # FOK is all-or-none; matching is synchronous (and combos atomic) only at zero
        # latency: with latency an order waits in flight while the book may change (other
        # trades, depth updates), so a check of the book before sending guarantees nothing
        # about the fill. The atomic executor must then not claim an exact guarantee, and
        # submit_combo, whose legs also wait, is not offered as atomic.
        if value < 0:
            raise InvalidInput(f"PaperVenue {self.name}: latency_ns must be >= 0, got {value}")
        self._latency_ns = int(value)
        instant = self._latency_ns == 0
        self.capabilities = VenueCapabilities(
            atomic_fill_or_kill=True, combo_orders=instant, synchronous=instant
        )

    async def instruments(self) -> Mapping[str, InstrumentInfo]:
        return dict(self._instruments)

    async def order_book(self, instrument: str, depth: int = 50) -> BookSnapshot:
        book = self._book(instrument)
        # read-only slices of the book's sorted rows: no copy (they are rebuilt, never
        # modified, when the book changes, so the snapshot stays as it was)
        return BookSnapshot(
            instrument,
            book.side_rows(OrderSide.BUY)[:depth],
            book.side_rows(OrderSide.SELL)[:depth],
            book.ts_ns,
        )

    async def positions(self) -> Mapping[str, float]:
        return dict(self._positions)

    async def balances(self) -> Mapping[str, Balance]:
        out = {}
        for c in {*self._start, *self._fees}:
            total = self._start.get(c, 0.0) - self._fees.get(c, 0.0)
            out[c] = Balance(c, total, total)
        return out

    async def funding_rate(self, instrument: str) -> FundingRate:
        self._spec(instrument)
        return FundingRate(instrument, self._funding.get(instrument, 0.0))

    async def submit(self, request: OrderRequest) -> OrderUpdate:
        return self.submit_now(request)

    def submit_now(self, request: OrderRequest) -> OrderUpdate:
        """Synchronous :meth:`submit` (the async one only wraps it)."""
        self._check_connected()
        if self.faults.hit("rate_limit"):
            raise RateLimited(f"{self.name}: too many requests; retry after 0.1 s", self.name, 0.1)
        if self.faults.hit("disconnect_before"):
            raise VenueDisconnected(
                f"{self.name}: connection lost before the order was sent", self.name
            )
        if self.faults.hit("reject"):
            raise OrderRejected(
                f"{self.name}: order {request.client_order_id} rejected (injected)", self.name
            )
        if request.client_order_id in self._orders:
            self.duplicate_submits += 1
            raise OrderRejected(
                f"{self.name}: duplicate client order id {request.client_order_id}; "
                "query it with get_order instead",
                self.name,
            )
        update = self._place(request)
        if self.faults.hit("disconnect_after"):
            raise VenueDisconnected(
                f"{self.name}: connection lost after sending {request.client_order_id}; "
                "its fate is unknown until reconciled",
                self.name,
            )
        return update

    async def submit_combo(self, legs: Sequence[OrderRequest]) -> list[OrderUpdate]:
        """Fill every leg completely within its limit, or place none (all EXPIRED).

        Legs must be on different instruments; each is checked against its book before
        any is executed, and nothing else runs in between (the matching is synchronous).
        """
        self._check_connected()
        if self.faults.hit("reject"):
            raise OrderRejected(f"{self.name}: combo rejected (injected)", self.name)
        for req in legs:
            if req.client_order_id in self._orders:
                raise OrderRejected(
                    f"{self.name}: duplicate client order id {req.client_order_id}", self.name
                )
            self._validate(req, self._spec(req.instrument))
        if len({r.instrument for r in legs}) != len(legs):
            raise OrderRejected(
                f"{self.name}: combo legs must be on distinct instruments", self.name
            )
        ok = all(
            self.books[r.instrument]
            .walk(r.side, r.quantity, r.price if r.order_type is OrderType.LIMIT else None)
            .filled
            >= r.quantity - _EPS
            for r in legs
        )
        fok = [replace(r, time_in_force=TimeInForce.FOK) for r in legs]
        if not ok:
            out = []
            for r in fok:
                order = _Order(
                    r, f"{self.name}-{next(self._ids)}", self.clock.now_ns(), quantity=r.quantity
                )
                self._orders[r.client_order_id] = order
                order.status = OrderStatus.EXPIRED
                out.append(self._update(order))
            return out
        return [self._place(r) for r in fok]

    def _place(self, request: OrderRequest) -> OrderUpdate:
        spec = self._spec(request.instrument)
        self._validate(request, spec)
        order = _Order(
            request,
            f"{self.name}-{next(self._ids)}",
            self.clock.now_ns() + self.latency_ns,
            quantity=float(request.quantity),
        )
        self._orders[request.client_order_id] = order
        self.placed.append(request.client_order_id)
        if self.latency_ns == 0:
            self._activate(order)
        return self._update(order)

    async def cancel(self, client_order_id: str) -> OrderUpdate:
        self._check_connected()
        order = self._order(client_order_id)
        if not order.status.is_terminal:
            order.status = OrderStatus.CANCELLED
            order.resting = False
            self._push(self._update(order))
        return self._update(order)

    async def get_order(self, client_order_id: str) -> OrderUpdate:
        self._check_query()
        self.pump()
        return self._update(self._order(client_order_id))

    async def open_orders(self) -> Sequence[OrderUpdate]:
        self._check_query()
        return [self._update(o) for o in self._orders.values() if not o.status.is_terminal]

    async def fills_for(self, client_order_id: str) -> Sequence[Fill]:
        self._check_query()
        return list(self._order(client_order_id).fills)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop pushing to ``listener`` (e.g. an order manager that is being replaced)."""
        self._listeners = [x for x in self._listeners if x != listener]

    def is_healthy(self) -> bool:
        if not self.connected or self.faults.hit("stale_book"):
            return False
        if self.stale_after_ns is None:
            return True
        now = self.clock.now_ns()
        return all(now - b.ts_ns <= self.stale_after_ns for b in self.books.values())

    # ------------------------------------------------------------------ market data
    def on_trade(
        self, instrument: str, price: float, quantity: float, aggressor: OrderSide
    ) -> None:
        """A market trade of ``quantity`` contracts at ``price``; may fill our resting orders.

        ``aggressor`` is the taker's side: a SELL aggressor trades against bids (our buys).
        """
        self.pump()
        ours = OrderSide.BUY if aggressor is OrderSide.SELL else OrderSide.SELL
        for order in list(self._orders.values()):
            req = order.request
            if not order.resting or req.instrument != instrument or req.side is not ours:
                continue
            if req.price is None:
                continue
            through = price < req.price if ours is OrderSide.BUY else price > req.price
            if through:
                self._fill(order, req.price, order.remaining, "maker")
            elif price == req.price:
                left = quantity - order.queue_ahead
                order.queue_ahead = max(0.0, order.queue_ahead - quantity)
                if left > _EPS:
                    self._fill(order, req.price, min(left, order.remaining), "maker")

    def on_level(self, instrument: str, side: OrderSide, price: float, size: float) -> None:
        """Set a book level (a depth update); a shrinking level shortens our queue."""
        self._book(instrument).set_level(side, price, size)
        for order in self._orders.values():
            req = order.request
            if (
                order.resting
                and req.instrument == instrument
                and req.side is side
                and req.price == price
            ):
                order.queue_ahead = min(order.queue_ahead, size)
        self.pump()

    def pump(self) -> None:
        """Match every order whose latency has elapsed by the clock."""
        now = self.clock.now_ns()
        for order in list(self._orders.values()):
            if order.status is OrderStatus.NEW and order.active_ns <= now:
                self._activate(order)

    def fill_log(self) -> list[Fill]:
        """Every fill the venue executed for us, in order (its own truth, for audits and tests)."""
        return [f for o in self._orders.values() for f in o.fills]

    def disconnect(self) -> None:
        """Drop the connection: every call raises VenueDisconnected until :meth:`reconnect`."""
        self.connected = False

    def reconnect(self) -> None:
        self.connected = True

    # ------------------------------------------------------------------ internals
    def _spec(self, instrument: str) -> InstrumentInfo:
        spec = self._instruments.get(instrument)
        if spec is None:
            raise UnknownInstrument(
                f"{self.name}: unknown instrument {instrument!r}; known: {sorted(self._instruments)}",
                self.name,
            )
        return spec

    def _book(self, instrument: str) -> L2Book:
        self._spec(instrument)
        return self.books[instrument]

    def _order(self, client_order_id: str) -> _Order:
        order = self._orders.get(client_order_id)
        if order is None:
            raise UnknownOrder(
                f"{self.name}: no order with client id {client_order_id!r}", self.name
            )
        return order

    def _check_connected(self) -> None:
        if not self.connected:
            raise VenueDisconnected(
                f"{self.name}: not connected; reconnect and reconcile", self.name
            )

    def _check_query(self) -> None:
        self._check_connected()
        if self.faults.hit("disconnect_query"):
            raise VenueDisconnected(
                f"{self.name}: connection lost during a query; retry", self.name
            )

    def _validate(self, req: OrderRequest, spec: InstrumentInfo) -> None:
        lots = req.quantity / spec.lot_size
        if not req.quantity > 0 or abs(lots - round(lots)) > 1e-6:
            raise OrderRejected(
                f"{self.name}: quantity {req.quantity} of {req.instrument} must be a positive "
                f"multiple of the lot {spec.lot_size}",
                self.name,
            )
        if req.order_type is OrderType.LIMIT and req.price is None:
            raise OrderRejected(
                f"{self.name}: limit order {req.client_order_id} has no price", self.name
            )

    def _activate(self, order: _Order) -> None:
        req = order.request
        book = self.books[req.instrument]
        order.status = OrderStatus.ACKED
        if req.reduce_only:
            pos = self._positions[req.instrument]
            room = max(0.0, -pos * req.side.sign)
            if room <= _EPS:
                self._finish(order, OrderStatus.REJECTED)
                return
            order.quantity = min(order.quantity, room)
        limit = req.price if req.order_type is OrderType.LIMIT else None
        crosses = limit is None or (
            limit >= book.best_ask if req.side is OrderSide.BUY else limit <= book.best_bid
        )
        tif = req.time_in_force
        if tif is TimeInForce.POST_ONLY and crosses:
            self._finish(order, OrderStatus.REJECTED)
            return
        if (
            tif is TimeInForce.FOK
            and book.walk(req.side, order.quantity, limit).filled < order.quantity - _EPS
        ):
            self._finish(order, OrderStatus.EXPIRED)
            return
        if crosses:
            for price, qty in book.consume(req.side, order.quantity, limit):
                self._fill(order, price, qty, "taker", push_update=False)
        if order.remaining <= _EPS:
            self._finish(order, OrderStatus.FILLED)
        elif limit is None or tif in (TimeInForce.IOC, TimeInForce.FOK):
            self._finish(order, OrderStatus.EXPIRED if order.filled == 0 else OrderStatus.CANCELLED)
        else:
            order.resting = True
            order.queue_ahead = book.size_at(req.side, limit)
            self._push(self._update(order))

    def _fill(
        self, order: _Order, price: float, qty: float, liquidity: str, push_update: bool = True
    ) -> None:
        req = order.request
        spec = self._instruments[req.instrument]
        rate = spec.maker_fee if liquidity == "maker" else spec.taker_fee
        if spec.kind == "option":
            # Deribit-style: a fraction of the underlying per contract, in the coin (cap ignored)
            fee, ccy = qty * spec.contract_size * rate, spec.underlying
        elif spec.settlement is Settlement.LINEAR:
            fee, ccy = qty * spec.contract_size * price * rate, "USDT"
        else:
            fee, ccy = qty * spec.contract_size / price * rate, spec.underlying
        fill = Fill(
            f"{order.venue_order_id}-f{len(order.fills) + 1}",
            req.client_order_id,
            self.name,
            req.instrument,
            req.side,
            qty,
            price,
            fee,
            ccy,
            self.clock.now_ns() + self.latency_ns,
            liquidity,
        )
        order.fills.append(fill)
        order.filled += qty
        order.notional += qty * price
        # positions are whole lots: snap the running sum of the fills (0.1 + 0.2 style drift)
        # onto them; the sum itself is kept unsnapped, so that fills of parts of a lot (a
        # book level of 228.484 contracts of lot 1) add up to the whole lots they make
        self._traded[req.instrument] += req.side.sign * qty
        pos = self._traded[req.instrument]
        self._positions[req.instrument] = round(round(pos / spec.lot_size) * spec.lot_size, 12)
        self._fees[ccy] = self._fees.get(ccy, 0.0) + fee
        if not self.faults.hit("drop_fill"):
            self._emit(fill)
            if self.faults.hit("duplicate_fill"):
                self._emit(fill)
        if order.remaining <= _EPS:
            self._finish(order, OrderStatus.FILLED)
        elif push_update:
            order.status = OrderStatus.PARTIALLY_FILLED
            self._push(self._update(order))
        else:
            order.status = OrderStatus.PARTIALLY_FILLED

    def _finish(self, order: _Order, status: OrderStatus) -> None:
        if order.status.is_terminal:
            return
        order.status = status
        order.resting = False
        self._push(self._update(order))

    def _update(self, order: _Order) -> OrderUpdate:
        return OrderUpdate(
            order.request.client_order_id,
            self.name,
            order.status,
            order.filled,
            self.clock.now_ns() + self.latency_ns,
            order.venue_order_id,
            avg_price=order.notional / order.filled if order.filled > 0 else 0.0,
        )

    def _push(self, update: OrderUpdate) -> None:
        if not self.faults.hit("drop_update"):
            self._emit(update)

    def _emit(self, event: OrderUpdate | Fill) -> None:
        for listener in self._listeners:
            listener(event)


__all__ = ["PaperVenue"]

"""A paper venue whose exchange-side state is durable: it survives the engine being killed.

A real exchange keeps its orders and fills whatever happens to the client; a
:class:`~deltahedge.venues.paper.PaperVenue` lives in the engine's memory and dies with
it. :class:`DurablePaperVenue` keeps its orders, fills and positions in its own SQLite file
and matches each order inside one transaction: an order either reached the "exchange"
(order and fills committed) or it did not. The answer to the engine is sent only after the
commit, so a ``kill -9`` between the two leaves exactly the situation recovery must
handle: an order at the venue whose answer was lost.

Matching is simple and deterministic: market and marketable limit orders fill completely
at the touch of a one-level book around the price set by :meth:`set_price` (``mid *
(1 -+ half_spread)``; a limit beyond the touch expires), taker fee on notional. Every
submit call is logged (``submits`` table), so a test can prove no client order id was
sent twice.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from deltahedge.core.enums import OrderSide, OrderStatus, OrderType, Settlement
from deltahedge.core.errors import OrderRejected, UnknownOrder
from deltahedge.core.events import Fill, OrderRequest, OrderUpdate
from deltahedge.execution.venue import (
    Balance,
    BookSnapshot,
    FundingRate,
    InstrumentInfo,
    Listener,
    VenueCapabilities,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
  coid TEXT PRIMARY KEY, venue_order_id TEXT, instrument TEXT, side TEXT, quantity REAL,
  filled REAL, avg_price REAL, status TEXT, ts_ns INTEGER);
CREATE TABLE IF NOT EXISTS fills (
  fill_id TEXT PRIMARY KEY, coid TEXT, instrument TEXT, side TEXT, quantity REAL, price REAL,
  fee REAL, fee_currency TEXT, ts_ns INTEGER);
CREATE TABLE IF NOT EXISTS submits (seq INTEGER PRIMARY KEY AUTOINCREMENT, coid TEXT, ts_ns INTEGER);
CREATE TABLE IF NOT EXISTS prices (instrument TEXT PRIMARY KEY, mid REAL, ts_ns INTEGER);
"""


class DurablePaperVenue:
    """A :class:`~deltahedge.execution.venue.Venue` with its state in a SQLite file.

    Parameters
    ----------
    name : str
    instruments : sequence of InstrumentInfo
    path : str or Path
        The venue's own SQLite file (not the engine's journal).
    clock : Clock-like
        ``now_ns()`` stamps orders and fills.
    half_spread : float
        Half the bid-ask spread, fraction of the mid.
    depth_coin : float
        Size of the one book level on each side, coin.
    after_commit : callable, optional
        ``after_commit(client_order_id)`` runs once an order is committed and before its
        answer and events are sent: crash tests kill the process there (answer lost).
    """

    def __init__(
        self,
        name: str,
        instruments: Sequence[InstrumentInfo],
        path: str | Path,
        clock: object,
        half_spread: float = 0.0001,
        depth_coin: float = 1_000.0,
        after_commit: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.capabilities = VenueCapabilities(post_only=False, reduce_only=False)
        self._specs = {i.symbol: i for i in instruments}
        self.path = Path(path)
        self.clock = clock
        self.half_spread = half_spread
        self.depth_coin = depth_coin
        self.after_commit = after_commit
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._listeners: list[Listener] = []
        self._mid: dict[str, tuple[float, int]] = {
            r[0]: (float(r[1]), int(r[2])) for r in self._db.execute("SELECT * FROM prices")
        }

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ prices
    def set_price(self, instrument: str, mid: float, ts_ns: int) -> None:
        """Move the book of ``instrument`` to ``mid`` (kept in memory; saved on fills)."""
        self._mid[instrument] = (float(mid), int(ts_ns))

    def _touch(self, instrument: str, side: OrderSide) -> float:
        mid = self._mid.get(instrument)
        if mid is None:
            raise OrderRejected(f"{self.name}: no price for {instrument} yet", self.name)
        return mid[0] * (1.0 + side.sign * self.half_spread)

    # ------------------------------------------------------------------ port
    async def instruments(self) -> Mapping[str, InstrumentInfo]:
        return dict(self._specs)

    async def order_book(self, instrument: str, depth: int = 50) -> BookSnapshot:
        spec = self._spec(instrument)
        mid, ts = self._mid.get(instrument, (math.nan, 0))
        bid, ask = self._touch(instrument, OrderSide.SELL), self._touch(instrument, OrderSide.BUY)
        size = (
            self.depth_coin / spec.contract_size
            if spec.settlement is Settlement.LINEAR
            else self.depth_coin * mid / spec.contract_size
        )
        return BookSnapshot(instrument, np.array([[bid, size]]), np.array([[ask, size]]), ts)

    async def positions(self) -> Mapping[str, float]:
        out = dict.fromkeys(self._specs, 0.0)
        for inst, side, q in self._db.execute("SELECT instrument, side, quantity FROM fills"):
            out[inst] = out.get(inst, 0.0) + OrderSide(side).sign * q
        return out

    async def balances(self) -> Mapping[str, Balance]:
        rows = self._db.execute("SELECT fee_currency, SUM(fee) FROM fills GROUP BY fee_currency")
        return {c: Balance(c, -f, -f) for c, f in rows}

    async def funding_rate(self, instrument: str) -> FundingRate:
        self._spec(instrument)
        return FundingRate(instrument, 0.0)

    async def submit(self, request: OrderRequest) -> OrderUpdate:
        now = int(self.clock.now_ns())  # type: ignore[attr-defined]
        coid = request.client_order_id
        spec = self._spec(request.instrument)
        db = self._db
        db.execute("INSERT INTO submits (coid, ts_ns) VALUES (?, ?)", (coid, now))
        lots = request.quantity / spec.lot_size
        if not request.quantity > 0 or abs(lots - round(lots)) > 1e-6:
            raise OrderRejected(
                f"{self.name}: quantity {request.quantity} must be a positive multiple of "
                f"the lot {spec.lot_size}",
                self.name,
            )
        price = self._touch(request.instrument, request.side)
        limit = request.price if request.order_type is OrderType.LIMIT else None
        fills = limit is None or (
            price <= limit + 1e-9 if request.side is OrderSide.BUY else price >= limit - 1e-9
        )
        voi = f"{self.name}-{coid[-10:]}"
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM orders WHERE coid = ?", (coid,)).fetchone():
                db.execute("ROLLBACK")
                raise OrderRejected(
                    f"{self.name}: duplicate client order id {coid}; query it with get_order",
                    self.name,
                )
            status = OrderStatus.FILLED if fills else OrderStatus.EXPIRED
            filled = request.quantity if fills else 0.0
            db.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (coid, voi, request.instrument, request.side.value, request.quantity, filled,
                 price if fills else 0.0, status.value, now),
            )  # fmt: skip
            fill = None
            if fills:
                fee, ccy = self._fee(spec, request.quantity, price)
                fill = Fill(
                    f"{voi}-f1", coid, self.name, request.instrument, request.side,
                    request.quantity, price, fee, ccy, now,
                )  # fmt: skip
                db.execute(
                    "INSERT INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (fill.fill_id, coid, fill.instrument, fill.side.value, fill.quantity,
                     fill.price, fill.fee, fill.fee_currency, now),
                )  # fmt: skip
                mid, ts = self._mid[request.instrument]
                db.execute(
                    "INSERT OR REPLACE INTO prices VALUES (?, ?, ?)", (request.instrument, mid, ts)
                )
            db.execute("COMMIT")
        except OrderRejected:
            raise
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        if self.after_commit is not None:
            self.after_commit(coid)
        update = OrderUpdate(
            coid, self.name, status, filled, now, voi, avg_price=price if fills else 0.0
        )
        if fill is not None:
            self._emit(fill)
        self._emit(update)
        return update

    async def cancel(self, client_order_id: str) -> OrderUpdate:
        return await self.get_order(client_order_id)  # every order is terminal at once

    async def get_order(self, client_order_id: str) -> OrderUpdate:
        row = self._db.execute(
            "SELECT venue_order_id, filled, avg_price, status, ts_ns FROM orders WHERE coid = ?",
            (client_order_id,),
        ).fetchone()
        if row is None:
            raise UnknownOrder(f"{self.name}: no order {client_order_id!r}", self.name)
        voi, filled, avg, status, ts = row
        return OrderUpdate(
            client_order_id, self.name, OrderStatus(status), filled, ts, voi, avg_price=avg
        )

    async def open_orders(self) -> Sequence[OrderUpdate]:
        return []

    async def fills_for(self, client_order_id: str) -> Sequence[Fill]:
        await self.get_order(client_order_id)
        rows = self._db.execute(
            "SELECT fill_id, instrument, side, quantity, price, fee, fee_currency, ts_ns "
            "FROM fills WHERE coid = ?",
            (client_order_id,),
        )
        return [
            Fill(fid, client_order_id, self.name, inst, OrderSide(side), q, p, fee, ccy, ts)
            for fid, inst, side, q, p, fee, ccy, ts in rows
        ]

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners = [x for x in self._listeners if x != listener]

    def is_healthy(self) -> bool:
        return True

    # ------------------------------------------------------------------ audit
    def submit_counts(self) -> dict[str, int]:
        """Submit calls per client order id (a correct client never exceeds 1)."""
        rows = self._db.execute("SELECT coid, COUNT(*) FROM submits GROUP BY coid")
        return {c: int(n) for c, n in rows}

    def fill_log(self) -> list[Fill]:
        """Every fill, in order (the venue's own truth)."""
        out: list[Fill] = []
        for (coid,) in self._db.execute("SELECT coid FROM orders ORDER BY rowid"):
            out.extend(
                Fill(fid, coid, self.name, inst, OrderSide(side), q, p, fee, ccy, ts)
                for fid, inst, side, q, p, fee, ccy, ts in self._db.execute(
                    "SELECT fill_id, instrument, side, quantity, price, fee, fee_currency, ts_ns "
                    "FROM fills WHERE coid = ?",
                    (coid,),
                )
            )
        return out

    # ------------------------------------------------------------------ internals
    def _spec(self, instrument: str) -> InstrumentInfo:
        spec = self._specs.get(instrument)
        if spec is None:
            raise OrderRejected(
                f"{self.name}: unknown instrument {instrument!r}; known: {sorted(self._specs)}",
                self.name,
            )
        return spec

    @staticmethod
    def _fee(spec: InstrumentInfo, qty: float, price: float) -> tuple[float, str]:
        if spec.settlement is Settlement.LINEAR:
            return qty * spec.contract_size * price * spec.taker_fee, "USDT"
        return qty * spec.contract_size / price * spec.taker_fee, spec.underlying

    def _emit(self, event: OrderUpdate | Fill) -> None:
        for listener in list(self._listeners):
            listener(event)


__all__ = ["DurablePaperVenue"]

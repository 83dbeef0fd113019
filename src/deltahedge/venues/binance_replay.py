"""Replay of recorded Binance futures streams: keep an L2 book from a snapshot and depth diffs.

The files (``../shared/data/binance_l2_2024/*.gz``) hold one message a line,
``<local receive ns> <json>``: combined-stream envelopes ``{"stream", "data"}`` for
``@depth@0ms`` diffs, ``@bookTicker`` and ``@trade``, and one REST depth snapshot
(``{"lastUpdateId", "bids", "asks", ...}``).

Book maintenance follows Binance's documented procedure for USD-M and COIN-M futures
("How to manage a local order book correctly", Binance derivatives API docs):

1. buffer the diffs received before the snapshot;
2. drop any diff with ``u < lastUpdateId``;
3. the first diff applied must have ``U <= lastUpdateId <= u``;
4. each following diff must have ``pu`` equal to the previous diff's ``u``, otherwise
   a gap is detected (the book must be re-initialised from a new snapshot);
5. a size of 0 deletes the level; sizes are absolute, not increments.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deltahedge.core.enums import OrderSide
from deltahedge.core.errors import DataError
from deltahedge.venues.book import L2Book

_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class BookTicker:
    """A ``@bookTicker`` message: the venue's own best bid/ask at update id ``update_id``."""

    ts_ns: int  # transaction time T, ns
    recv_ns: int
    update_id: int
    bid: float
    bid_size: float
    ask: float
    ask_size: float


@dataclass(frozen=True, slots=True)
class Trade:
    """A ``@trade`` message; ``buyer_is_maker`` True means an aggressive sell."""

    ts_ns: int
    recv_ns: int
    price: float
    quantity: float
    buyer_is_maker: bool


@dataclass(frozen=True, slots=True)
class DepthApplied:
    """A depth diff was applied; the book now stands at ``update_id`` (= the diff's ``u``)."""

    ts_ns: int
    recv_ns: int
    update_id: int
    first_update_id: int


ReplayEvent = BookTicker | Trade | DepthApplied


class BinanceBookBuilder:
    """Apply a Binance futures snapshot and diffs to an :class:`L2Book`, checking sequence ids.

    Parameters
    ----------
    book : L2Book
        The book to maintain.
    strict : bool
        Raise :class:`DataError` on a gap (default); otherwise count it and stop applying
        until :meth:`apply_snapshot` is called again.
    on_level : callable, optional
        ``on_level(side, price, size)`` applies each level change instead of writing to
        ``book`` directly (it must update ``book`` itself).
    """

    def __init__(
        self,
        book: L2Book,
        strict: bool = True,
        on_level: Callable[[OrderSide, float, float], None] | None = None,
    ) -> None:
        self.book = book
        self.on_level = on_level
        self.strict = strict
        self.last_update_id: int | None = None  # snapshot's lastUpdateId
        self.prev_u: int | None = None  # u of the last applied diff
        self.synced = False
        self.gaps = 0
        self.dropped = 0
        self.applied = 0

    def apply_snapshot(self, snap: dict[str, Any], recv_ns: int = 0) -> None:
        """Load a REST depth snapshot (``lastUpdateId``, ``bids``, ``asks``, ``T`` in ms)."""
        ts = int(snap.get("T", snap.get("E", 0))) * _MS or recv_ns
        self.book.load(
            ((float(p), float(q)) for p, q in snap["bids"]),
            ((float(p), float(q)) for p, q in snap["asks"]),
            ts_ns=ts,
            update_id=int(snap["lastUpdateId"]),
        )
        self.last_update_id = int(snap["lastUpdateId"])
        self.prev_u = None
        self.synced = True

    def apply_diff(self, diff: dict[str, Any], recv_ns: int = 0) -> DepthApplied | None:
        """Apply one ``depthUpdate``; return what was applied, or None when it was dropped."""
        if self.last_update_id is None or not self.synced:
            self.dropped += 1
            return None
        first, last, prev = int(diff["U"]), int(diff["u"]), int(diff["pu"])
        if self.prev_u is None:
            if last < self.last_update_id:
                self.dropped += 1
                return None
            if not first <= self.last_update_id <= last:
                self._gap(
                    f"first diff after snapshot {self.last_update_id} has U={first}, u={last}; "
                    "Binance requires U <= lastUpdateId <= u"
                )
                return None
        elif prev != self.prev_u:
            self._gap(f"diff pu={prev} does not follow previous u={self.prev_u}")
            return None
        book = self.book
        if self.on_level is None:
            for p, q in diff["b"]:
                book.set_bid(float(p), float(q))
            for p, q in diff["a"]:
                book.set_ask(float(p), float(q))
        else:  # e.g. a paper venue that also shortens the queues of our resting orders
            for p, q in diff["b"]:
                self.on_level(OrderSide.BUY, float(p), float(q))
            for p, q in diff["a"]:
                self.on_level(OrderSide.SELL, float(p), float(q))
        self.prev_u = last
        book.update_id = last
        book.ts_ns = int(diff["T"]) * _MS
        self.applied += 1
        return DepthApplied(book.ts_ns, recv_ns, last, first)

    def _gap(self, message: str) -> None:
        self.gaps += 1
        self.synced = False
        if self.strict:
            raise DataError(f"{self.book.instrument}: sequence gap: {message}; re-snapshot needed")


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with gzip.open(path, "rt") as fh:
        for line in fh:
            head, _, body = line.partition(" ")
            if body:
                yield int(head), json.loads(body)


def replay_binance(
    path: str | Path,
    book: L2Book,
    strict: bool = True,
    on_level: Callable[[OrderSide, float, float], None] | None = None,
) -> Iterator[ReplayEvent]:
    """Replay a recorded Binance futures stream file, maintaining ``book``.

    Diffs seen before the snapshot are buffered and applied (or dropped) per the rules in
    the module docstring once the snapshot arrives. Book tickers and trades are yielded as
    they come (those before the snapshot too); each applied diff yields a
    :class:`DepthApplied` after ``book`` has been updated.
    """
    builder = BinanceBookBuilder(book, strict=strict, on_level=on_level)
    pending: list[tuple[int, dict[str, Any]]] = []
    for recv, msg in _lines(Path(path)):
        if "lastUpdateId" in msg:
            builder.apply_snapshot(msg, recv)
            for r, d in pending:
                ev = builder.apply_diff(d, r)
                if ev is not None:
                    yield ev
            pending.clear()
            continue
        data = msg.get("data", msg)
        kind = data.get("e")
        if kind == "depthUpdate":
            if builder.last_update_id is None:
                pending.append((recv, data))
                continue
            ev = builder.apply_diff(data, recv)
            if ev is not None:
                yield ev
        elif kind == "bookTicker":
            yield BookTicker(
                int(data["T"]) * _MS,
                recv,
                int(data["u"]),
                float(data["b"]),
                float(data["B"]),
                float(data["a"]),
                float(data["A"]),
            )
        elif kind == "trade":
            yield Trade(
                int(data["T"]) * _MS, recv, float(data["p"]), float(data["q"]), bool(data["m"])
            )


def load_book(path: str | Path, instrument: str, seconds_after_snapshot: float = 0.0) -> L2Book:
    """The book of a recorded file ``seconds_after_snapshot`` (venue time) after its snapshot."""
    book = L2Book(instrument)
    t_end: int | None = None
    for ev in replay_binance(path, book):
        if isinstance(ev, DepthApplied):
            if t_end is None:
                t_end = ev.ts_ns + round(seconds_after_snapshot * 1e9)
            if ev.ts_ns >= t_end:
                break
    if not book.bids:
        raise DataError(f"{path}: no snapshot found; cannot build the {instrument} book")
    return book


def replay_into_paper(
    path: str | Path, venue: Any, instrument: str, clock: Any, until_ns: int | None = None
) -> Iterator[ReplayEvent]:
    """Replay a recorded file through a :class:`~deltahedge.venues.paper.PaperVenue`.

    The venue's book for ``instrument`` is rebuilt from the file; every level change goes
    through ``venue.on_level`` (queue positions shrink on cancels), every trade through
    ``venue.on_trade`` (our resting orders fill once the volume ahead has traded), and
    the :class:`~deltahedge.core.clock.SimClock` ``clock`` follows the venue's timestamps.
    Events are yielded after they are applied, so a caller can place orders between them.
    """
    book = venue.books[instrument]

    def on_level(side: OrderSide, price: float, size: float) -> None:
        venue.on_level(instrument, side, price, size)

    for ev in replay_binance(path, book, on_level=on_level):
        if until_ns is not None and ev.ts_ns > until_ns:
            return
        if ev.ts_ns > clock.now_ns():
            clock.set(ev.ts_ns)
        if isinstance(ev, Trade):
            aggressor = OrderSide.SELL if ev.buyer_is_maker else OrderSide.BUY
            venue.on_trade(instrument, ev.price, ev.quantity, aggressor)
        yield ev


__all__ = [
    "BinanceBookBuilder",
    "BookTicker",
    "DepthApplied",
    "ReplayEvent",
    "Trade",
    "load_book",
    "replay_binance",
    "replay_into_paper",
]

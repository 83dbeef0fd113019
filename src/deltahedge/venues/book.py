"""An L2 order book (price -> size per side) with cheap best-price queries and book walks.

Levels live in two dicts; the best bid and ask are tracked incrementally (a new level can
only improve the best, deleting the best triggers one ``max``/``min`` over the side), so
applying a Binance diff and reading the top of book costs O(levels in the diff). Sorted
views (for walking the book) are built on demand and cached until the side changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.core.enums import OrderSide
from deltahedge.core.errors import InvalidInput

_NAN = float("nan")


@dataclass(frozen=True, slots=True)
class WalkResult:
    """What a marketable order of ``requested`` contracts gets from one side of a book.

    Attributes
    ----------
    filled : float
        Contracts filled (<= requested; less when the book runs out or the limit binds).
    notional : float
        sum(price_i * qty_i) over the levels taken, in quote currency per contract unit.
    avg_price : float
        notional / filled (nan when nothing filled).
    worst_price : float
        Price of the last level touched (nan when nothing filled).
    levels : int
        Number of levels touched.
    """

    filled: float
    notional: float
    avg_price: float
    worst_price: float
    levels: int


class L2Book:
    """A price-level order book of one instrument.

    Parameters
    ----------
    instrument : str
        Symbol, e.g. ``"BTCUSDT"``.
    """

    __slots__ = (
        "_ask_cache",
        "_best_ask",
        "_best_bid",
        "_bid_cache",
        "asks",
        "bids",
        "instrument",
        "ts_ns",
        "update_id",
    )

    def __init__(self, instrument: str) -> None:
        self.instrument = instrument
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self._best_bid = _NAN
        self._best_ask = _NAN
        self._bid_cache: tuple[FloatArray, FloatArray] | None = None
        self._ask_cache: tuple[FloatArray, FloatArray] | None = None
        self.ts_ns = 0
        self.update_id = 0

    # ------------------------------------------------------------------ building
    def clear(self) -> None:
        """Remove every level."""
        self.bids.clear()
        self.asks.clear()
        self._best_bid = self._best_ask = _NAN
        self._bid_cache = self._ask_cache = None

    def load(
        self,
        bids: Iterable[tuple[float, float]],
        asks: Iterable[tuple[float, float]],
        ts_ns: int = 0,
        update_id: int = 0,
    ) -> None:
        """Replace the book by a snapshot of ``(price, size)`` pairs (size 0 is skipped)."""
        self.clear()
        self.bids.update((float(p), float(q)) for p, q in bids if float(q) > 0)
        self.asks.update((float(p), float(q)) for p, q in asks if float(q) > 0)
        self._best_bid = max(self.bids) if self.bids else _NAN
        self._best_ask = min(self.asks) if self.asks else _NAN
        self.ts_ns = ts_ns
        self.update_id = update_id

    def set_bid(self, price: float, size: float) -> None:
        """Set the bid level at ``price`` to ``size`` contracts; 0 deletes it."""
        self._bid_cache = None
        if size > 0.0:
            self.bids[price] = size
            if not price <= self._best_bid:  # also true when best is nan
                self._best_bid = price
        elif self.bids.pop(price, None) is not None and price == self._best_bid:
            self._best_bid = max(self.bids) if self.bids else _NAN

    def set_ask(self, price: float, size: float) -> None:
        """Set the ask level at ``price`` to ``size`` contracts; 0 deletes it."""
        self._ask_cache = None
        if size > 0.0:
            self.asks[price] = size
            if not price >= self._best_ask:
                self._best_ask = price
        elif self.asks.pop(price, None) is not None and price == self._best_ask:
            self._best_ask = min(self.asks) if self.asks else _NAN

    def set_level(self, side: OrderSide, price: float, size: float) -> None:
        """Set a level on the bid (``BUY``) or ask (``SELL``) side."""
        if side is OrderSide.BUY:
            self.set_bid(price, size)
        else:
            self.set_ask(price, size)

    # ------------------------------------------------------------------ queries
    @property
    def best_bid(self) -> float:
        """Highest bid price (nan when the side is empty)."""
        return self._best_bid

    @property
    def best_ask(self) -> float:
        """Lowest ask price (nan when the side is empty)."""
        return self._best_ask

    @property
    def mid(self) -> float:
        """(best bid + best ask) / 2."""
        return 0.5 * (self._best_bid + self._best_ask)

    def size_at(self, side: OrderSide, price: float) -> float:
        """Resting size at ``price`` on the bid (``BUY``) or ask (``SELL``) side."""
        return (self.bids if side is OrderSide.BUY else self.asks).get(price, 0.0)

    def side_arrays(self, side: OrderSide) -> tuple[FloatArray, FloatArray]:
        """Prices and sizes of one side, best first (bids descending, asks ascending)."""
        if side is OrderSide.BUY:
            if self._bid_cache is None:
                p = np.fromiter(self.bids.keys(), float, len(self.bids))
                q = np.fromiter(self.bids.values(), float, len(self.bids))
                order = np.argsort(-p, kind="stable")
                self._bid_cache = (p[order], q[order])
            return self._bid_cache
        if self._ask_cache is None:
            p = np.fromiter(self.asks.keys(), float, len(self.asks))
            q = np.fromiter(self.asks.values(), float, len(self.asks))
            order = np.argsort(p, kind="stable")
            self._ask_cache = (p[order], q[order])
        return self._ask_cache

    def walk(self, side: OrderSide, quantity: float, limit: float | None = None) -> WalkResult:
        """Walk the book as a marketable order of ``quantity`` contracts would, without changing it.

        Parameters
        ----------
        side : OrderSide
            Side of *our* order: a buy takes the asks, a sell takes the bids.
        quantity : float
            Contracts wanted (> 0).
        limit : float, optional
            Worst price accepted (a buy takes asks <= limit, a sell bids >= limit).
        """
        if not quantity > 0:
            raise InvalidInput(f"walk quantity must be > 0 contracts, got {quantity}")
        prices, sizes = self.side_arrays(OrderSide.SELL if side is OrderSide.BUY else OrderSide.BUY)
        if limit is not None:
            ok = prices <= limit if side is OrderSide.BUY else prices >= limit
            n_ok = int(np.count_nonzero(ok))
            prices, sizes = prices[:n_ok], sizes[:n_ok]
        cum = np.cumsum(sizes)
        n = int(np.searchsorted(cum, quantity, side="left"))
        if n >= len(sizes):
            filled = float(cum[-1]) if len(cum) else 0.0
            notional = float(prices @ sizes) if len(cum) else 0.0
            k = len(sizes)
        else:
            before = float(cum[n - 1]) if n > 0 else 0.0
            filled = float(quantity)
            notional = float(prices[:n] @ sizes[:n]) + (quantity - before) * float(prices[n])
            k = n + 1
        if filled <= 0:
            return WalkResult(0.0, 0.0, _NAN, _NAN, 0)
        return WalkResult(filled, notional, notional / filled, float(prices[k - 1]), k)

    def consume(
        self, side: OrderSide, quantity: float, limit: float | None = None
    ) -> list[tuple[float, float]]:
        """Take liquidity like :meth:`walk` and remove it from the book; return ``(price, qty)`` fills."""
        book_side = OrderSide.SELL if side is OrderSide.BUY else OrderSide.BUY
        prices, sizes = self.side_arrays(book_side)
        n = int(np.searchsorted(np.cumsum(sizes), quantity, side="left")) + 1  # levels needed
        fills: list[tuple[float, float]] = []
        left = quantity
        for p, q in zip(prices[:n].tolist(), sizes[:n].tolist(), strict=True):
            if left <= 1e-12:
                break
            if limit is not None and (p > limit if side is OrderSide.BUY else p < limit):
                break
            take = min(q, left)
            fills.append((p, take))
            left -= take
            rest = q - take
            self.set_level(book_side, p, rest if rest > 1e-12 else 0.0)
        return fills

    def copy(self) -> L2Book:
        """An independent copy (levels, best prices, timestamps)."""
        other = L2Book(self.instrument)
        other.bids = dict(self.bids)
        other.asks = dict(self.asks)
        other._best_bid = self._best_bid
        other._best_ask = self._best_ask
        other.ts_ns = self.ts_ns
        other.update_id = self.update_id
        return other

    def __repr__(self) -> str:
        return (
            f"L2Book({self.instrument!r}, bid={self._best_bid}, ask={self._best_ask}, "
            f"levels={len(self.bids)}/{len(self.asks)}, update_id={self.update_id})"
        )


__all__ = ["L2Book", "WalkResult"]

"""Live feed over ccxt.pro websockets: index/mark prices, perp books, option tickers.

Thin by design: the network loop (``watch_ticker`` / ``watch_order_book`` per symbol,
merged into one queue) is not tested against a network here; the message handling
(:func:`ticker_to_ticks`, :func:`order_book_to_tick`) is pure and tested offline on
recorded Deribit ticker messages parsed by ccxt's own ``parse_ticker``.

Only this module (and ``deltahedge.venues.ccxt``) imports ccxt, lazily.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from deltahedge.core.clock import Clock, LiveClock
from deltahedge.marketdata.feeds.base import Tick, TickKind

_MS = 1_000_000


def _f(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def ticker_to_ticks(
    ticker: Mapping[str, Any], venue: str, underlying: str, recv_ns: int, option: bool = False
) -> list[Tick]:
    """Ticks from one ccxt unified ticker (``watch_ticker`` result).

    Deribit's raw ``info`` carries ``index_price``, ``mark_price`` and ``mark_iv``
    (percent); they become an index tick, a mark tick (perps) or an option tick with the
    IV as a decimal. Missing or malformed fields give NaN prices, which the engine's risk
    guard rejects and counts (nothing is dropped silently here).
    """
    info = ticker.get("info") or {}
    raw_ts = ticker.get("timestamp") or info.get("timestamp")
    ts = int(raw_ts) * _MS if raw_ts else recv_ns  # integer ms -> ns, no float rounding
    symbol = str(info.get("instrument_name") or ticker.get("symbol") or "")
    bid, ask = _f(ticker.get("bid")), _f(ticker.get("ask"))
    out: list[Tick] = []
    index = _f(info.get("index_price"))
    if not math.isnan(index):
        out.append(Tick(TickKind.INDEX, underlying, venue, underlying, index, ts, recv_ns))
    mark = _f(info.get("mark_price", ticker.get("last")))
    if option:
        iv = _f(info.get("mark_iv")) / 100.0
        out.append(
            Tick(TickKind.OPTION, underlying, venue, symbol, mark, ts, recv_ns, bid, ask, iv=iv)
        )
    else:
        out.append(Tick(TickKind.MARK, underlying, venue, symbol, mark, ts, recv_ns, bid, ask))
    return out


def order_book_to_tick(
    book: Mapping[str, Any], venue: str, symbol: str, underlying: str, recv_ns: int
) -> Tick | None:
    """A quote tick from a ccxt order book (``watch_order_book``); None when a side is empty."""
    bids, asks = book.get("bids") or [], book.get("asks") or []
    if not bids or not asks:
        return None
    (bp, bq), (ap, aq) = bids[0][:2], asks[0][:2]
    ts = int(book["timestamp"]) * _MS if book.get("timestamp") else recv_ns
    return Tick(
        TickKind.QUOTE, underlying, venue, symbol, 0.5 * (bp + ap), ts, recv_ns, bp, ap, bq, aq
    )


class CcxtProFeed:
    """Merge ccxt.pro ticker and order-book streams into one tick iterator.

    Parameters
    ----------
    exchange : ccxt.pro exchange
        e.g. ``ccxt.pro.deribit({...})`` (built by the caller with its credentials).
    venue, underlying : str
    tickers : sequence of str
        Perps/futures whose tickers give index and mark prices.
    books : sequence of str
        Hedge instruments whose top of book becomes quote ticks.
    options : sequence of str
        Option symbols whose tickers give marks and mark IVs.
    clock : Clock
    """

    def __init__(
        self,
        exchange: Any,
        venue: str,
        underlying: str,
        tickers: Sequence[str] = (),
        books: Sequence[str] = (),
        options: Sequence[str] = (),
        clock: Clock | None = None,
        maxsize: int = 10_000,
    ) -> None:
        self.exchange = exchange
        self.venue, self.underlying = venue, underlying
        self.tickers, self.books, self.options = tuple(tickers), tuple(books), tuple(options)
        self.clock = clock or LiveClock()
        self._queue: asyncio.Queue[Tick] = asyncio.Queue(maxsize)
        self._tasks: list[asyncio.Task[None]] = []

    async def _watch_ticker(self, symbol: str, option: bool) -> None:
        while True:
            t = await self.exchange.watch_ticker(symbol)
            for tick in ticker_to_ticks(
                t, self.venue, self.underlying, self.clock.now_ns(), option
            ):
                await self._queue.put(tick)

    async def _watch_book(self, symbol: str) -> None:
        while True:
            b = await self.exchange.watch_order_book(symbol)
            tick = order_book_to_tick(b, self.venue, symbol, self.underlying, self.clock.now_ns())
            if tick is not None:
                await self._queue.put(tick)

    def __aiter__(self) -> AsyncIterator[Tick]:
        return self._run()

    async def _run(self) -> AsyncIterator[Tick]:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._watch_ticker(s, False)) for s in self.tickers]
            self._tasks += [asyncio.create_task(self._watch_ticker(s, True)) for s in self.options]
            self._tasks += [asyncio.create_task(self._watch_book(s)) for s in self.books]
        while True:
            yield await self._queue.get()

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        close = getattr(self.exchange, "close", None)
        if close is not None:
            await close()


__all__ = ["CcxtProFeed", "order_book_to_tick", "ticker_to_ticks"]

"""The ``Venue`` port: what the execution layer needs from any trading venue.

``execution`` owns this protocol; adapters in ``deltahedge.venues`` implement it (paper,
ccxt, AMM). Every method is async; failures raise the typed errors of
:mod:`deltahedge.core.errors`:

- :class:`~deltahedge.core.errors.OrderRejected`: the venue refused the order;
- :class:`~deltahedge.core.errors.RateLimited`: slow down (``retry_after`` seconds);
- :class:`~deltahedge.core.errors.VenueDisconnected`: the order's fate is unknown; ask
  :meth:`Venue.get_order` before sending it again;
- :class:`~deltahedge.core.errors.InsufficientMargin`;
- :class:`~deltahedge.core.errors.UnknownOrder`: no order with that client id.

Order updates and fills arrive through listeners (:meth:`Venue.subscribe`), which is how
both websocket adapters and the paper venue push them; :class:`EventStream` turns them
into async iterators for code that prefers ``async for``. Streams may drop or repeat
messages: the order manager reconciles with :meth:`Venue.get_order` and
:meth:`Venue.fills_for`, and de-duplicates fills by ``fill_id``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from deltahedge._typing import FloatArray
from deltahedge.core.enums import OptionKind, Settlement
from deltahedge.core.events import Fill, OrderRequest, OrderUpdate


@dataclass(frozen=True, slots=True)
class InstrumentInfo:
    """Contract specification of one tradeable instrument at one venue.

    Attributes
    ----------
    symbol : str
        The venue's symbol (``"BTCUSDT"``, ``"BTC-PERPETUAL"``, ``"BTC-24SEP21-40000-P"``).
    venue : str
    kind : str
        ``"perpetual"``, ``"future"``, ``"option"`` or ``"spot"``.
    underlying : str
        Coin whose delta the instrument carries, e.g. ``"BTC"``.
    settlement : Settlement
        Linear (quote-settled; contract size in coin) or inverse (coin-settled; size in USD).
    contract_size : float
        Coin per contract when linear (0.001 BTC ...), USD per contract when inverse (10, 100).
    lot_size : float
        Smallest quantity step, in contracts.
    tick_size : float
        Price step, in quote currency.
    maker_fee, taker_fee : float
        Fee rates as fractions of notional (0.0002 = 2 bp); negative is a rebate.
    expiry_ns : int or None
    strike : float or None
    option_kind : OptionKind or None
    """

    symbol: str
    venue: str
    kind: str
    underlying: str
    settlement: Settlement
    contract_size: float
    lot_size: float
    tick_size: float
    maker_fee: float = 0.0
    taker_fee: float = 0.0
    expiry_ns: int | None = None
    strike: float | None = None
    option_kind: OptionKind | None = None

    def coin_delta(self, contracts: float, price: float) -> float:
        """Delta in coin of ``contracts`` at ``price`` (USD per coin).

        Linear: ``contracts * contract_size``. Inverse: ``contracts * contract_size / price``
        (the USD value of an inverse position, ``n c (F/F_entry - 1)``, has dV/dF =
        ``n c / F_entry``; see DESIGN.md).
        """
        if self.settlement is Settlement.LINEAR:
            return contracts * self.contract_size
        return contracts * self.contract_size / price

    def contracts_for(self, coin: float, price: float) -> float:
        """Contracts (unrounded) carrying ``coin`` of delta at ``price``."""
        if self.settlement is Settlement.LINEAR:
            return coin / self.contract_size
        return coin * price / self.contract_size


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """Top levels of an order book: rows of (price, size in contracts), best first."""

    instrument: str
    bids: FloatArray
    asks: FloatArray
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Balance:
    """Balance of one currency; ``free`` excludes margin in use."""

    currency: str
    total: float
    free: float


@dataclass(frozen=True, slots=True)
class FundingRate:
    """Funding of a perpetual: ``rate`` per ``interval_s`` (0.0001 = 1 bp per 8 h)."""

    instrument: str
    rate: float
    interval_s: float = 8 * 3600.0
    next_ts_ns: int = 0


@dataclass(frozen=True, slots=True)
class VenueCapabilities:
    """What a venue supports; the router and the atomic executor read these flags."""

    market: bool = True
    limit: bool = True
    ioc: bool = True
    post_only: bool = True
    reduce_only: bool = True
    combo_orders: bool = False
    block_trades: bool = False
    atomic_fill_or_kill: bool = False  # a trade either executes fully or not at all, with no race
    synchronous: bool = (
        False  # matching runs in-process: nothing trades between our calls (paper, AMM)
    )
    streams: bool = True
    options: bool = False


Listener = Callable[[OrderUpdate | Fill], None]


@runtime_checkable
class Venue(Protocol):
    """The port every venue adapter implements (all I/O methods are coroutines)."""

    name: str
    capabilities: VenueCapabilities

    async def instruments(self) -> Mapping[str, InstrumentInfo]:
        """Instrument specs by symbol."""
        ...

    async def order_book(self, instrument: str, depth: int = 50) -> BookSnapshot:
        """The top ``depth`` levels of each side."""
        ...

    async def positions(self) -> Mapping[str, float]:
        """Signed positions in contracts by symbol."""
        ...

    async def balances(self) -> Mapping[str, Balance]:
        """Balances by currency."""
        ...

    async def funding_rate(self, instrument: str) -> FundingRate:
        """Current funding rate of a perpetual."""
        ...

    async def submit(self, request: OrderRequest) -> OrderUpdate:
        """Send an order; the answer is its state as acknowledged.

        Raises OrderRejected, RateLimited, VenueDisconnected (fate unknown),
        InsufficientMargin.
        """
        ...

    async def cancel(self, client_order_id: str) -> OrderUpdate:
        """Cancel an order; raises UnknownOrder when the venue does not know it."""
        ...

    async def get_order(self, client_order_id: str) -> OrderUpdate:
        """The venue's current view of an order; raises UnknownOrder."""
        ...

    async def open_orders(self) -> Sequence[OrderUpdate]:
        """Every order not yet in a terminal state."""
        ...

    async def fills_for(self, client_order_id: str) -> Sequence[Fill]:
        """Every fill of an order, as the venue recorded it (for reconciliation)."""
        ...

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with each order update and fill pushed by the venue."""
        ...

    def is_healthy(self) -> bool:
        """False while disconnected or while the market data is stale."""
        ...


class EventStream:
    """An async iterator over a venue's pushed order updates and fills.

    ``stream = EventStream(venue)`` subscribes; ``async for ev in stream`` yields them.
    """

    def __init__(self, venue: Venue, maxsize: int = 0) -> None:
        self._queue: asyncio.Queue[OrderUpdate | Fill] = asyncio.Queue(maxsize)
        venue.subscribe(self._queue.put_nowait)

    def __aiter__(self) -> AsyncIterator[OrderUpdate | Fill]:
        return self

    async def __anext__(self) -> OrderUpdate | Fill:
        return await self._queue.get()

    def pending(self) -> int:
        """Events waiting to be read."""
        return self._queue.qsize()


__all__ = [
    "Balance",
    "BookSnapshot",
    "EventStream",
    "FundingRate",
    "InstrumentInfo",
    "Listener",
    "Venue",
    "VenueCapabilities",
]

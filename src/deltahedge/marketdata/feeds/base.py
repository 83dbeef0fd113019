"""Market-data events and the ``Feed`` port every feed implements.

A feed is an async iterator of :class:`Tick`; each tick carries the venue's own
timestamp (``venue_ts_ns``) and the time we received it (``recv_ts_ns``), both UTC ns,
so the engine can measure staleness and tick-to-decision latency, and the risk guard can
reject out-of-order prices. Feeds stamp ``recv_ts_ns`` from their injected clock, which is
how the same engine runs live (``LiveClock``) and in accelerated time (``SimClock``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from deltahedge.core.clock import Clock, SimClock

_NAN = math.nan


class TickKind(StrEnum):
    """What a tick's ``price`` is."""

    INDEX = "index"  # the underlying's index (spot) price, USD
    MARK = "mark"  # a perpetual's or future's mark price, USD
    QUOTE = "quote"  # best bid/ask of a hedge instrument (price = mid)
    OPTION = "option"  # an option's mark (coin) with its mark IV and bid/ask


@dataclass(frozen=True, slots=True)
class Tick:
    """One market-data event.

    Parameters
    ----------
    kind : TickKind
    underlying : str
        Coin, e.g. ``"BTC"``.
    venue : str
        Where the price comes from (``"deribit"``, ``"binance_usdm"``, ``"sim"``).
    symbol : str
        The venue's symbol (``"BTC-PERPETUAL"``); the underlying for index ticks.
    price : float
        Index or mark (USD), the mid of a quote, or an option's mark (coin).
    venue_ts_ns, recv_ts_ns : int
        Venue timestamp and receipt time, UTC ns.
    bid, ask, bid_size, ask_size : float
        Best quotes (NaN when not given); sizes in contracts.
    iv : float
        Option mark implied vol, decimal (NaN when not given).
    """

    kind: TickKind
    underlying: str
    venue: str
    symbol: str
    price: float
    venue_ts_ns: int
    recv_ts_ns: int
    bid: float = _NAN
    ask: float = _NAN
    bid_size: float = _NAN
    ask_size: float = _NAN
    iv: float = _NAN

    @property
    def key(self) -> str:
        """``venue:symbol``, the name the risk guard tracks prices under."""
        return f"{self.venue}:{self.symbol}"


@runtime_checkable
class Feed(Protocol):
    """An async iterator of ticks; ``close`` releases connections and files."""

    def __aiter__(self) -> AsyncIterator[Tick]: ...

    async def close(self) -> None: ...


class Pacer:
    """Paces a feed in simulated time: ``speed`` simulated seconds per real second.

    With a :class:`SimClock` the clock is set to each event's time; ``speed = inf`` runs as
    fast as possible (yielding to the event loop every ``yield_every`` events, so other
    tasks such as the dashboard keep running). With a live clock nothing is set or slept.
    """

    def __init__(self, clock: Clock, speed: float = math.inf, yield_every: int = 256) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0 simulated seconds per real second, got {speed}")
        self.clock = clock
        self.speed = speed
        self.yield_every = yield_every
        self._t0_sim: int | None = None
        self._t0_real = 0.0
        self._n = 0

    async def wait_until(self, ts_ns: int) -> None:
        """Wait until simulated time ``ts_ns`` is due; a :class:`SimClock` is moved there.

        With a finite ``speed`` the wait is paced in real time (for any clock); with
        ``speed = inf`` nothing sleeps (the event loop is still yielded to regularly).
        """
        self._n += 1
        sim = isinstance(self.clock, SimClock)
        if math.isfinite(self.speed):
            if self._t0_sim is None:
                self._t0_sim, self._t0_real = ts_ns, time.monotonic()
            delay = self._t0_real + (ts_ns - self._t0_sim) / 1e9 / self.speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                if sim and ts_ns > self.clock.now_ns():
                    self.clock.set(ts_ns)  # type: ignore[attr-defined]
                return
        if sim and ts_ns > self.clock.now_ns():
            self.clock.set(ts_ns)  # type: ignore[attr-defined]
        if self._n % self.yield_every == 0:
            await asyncio.sleep(0)


__all__ = ["Feed", "Pacer", "Tick", "TickKind"]

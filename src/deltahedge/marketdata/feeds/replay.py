"""Replay feeds over recorded real data: Bitstamp minutes, Deribit snapshots, Binance L2.

Each replays a file in its own time order, pacing an injected
:class:`~deltahedge.core.clock.SimClock` (``speed`` simulated seconds per real second;
``inf`` as fast as possible):

- :class:`BitstampMinuteFeed`: ``../shared/data/bitstamp_1min_2025`` OHLCV minutes; one
  index tick per minute at its close, stamped at the end of the minute.
- :class:`DeribitSnapshotFeed`: option-chain snapshots (``deribit_chain_2026``, read by
  ``deltahedge.marketdata.load_chain``): per snapshot an index tick, the BTC-PERPETUAL
  mark (``perpetual_futures_prices.csv``) when given, and one option tick per quoted row
  (mark in coin, mark IV, bid/ask).
- :class:`BinanceBookFeed`: a recorded Binance futures stream (``binance_l2_2024``), the
  book kept by the execution helper's replayer (``deltahedge.venues.binance_replay``);
  one quote tick per ``@bookTicker`` (the venue's transaction time and our receive time).
"""

from __future__ import annotations

import csv
import math
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import numpy as np

from deltahedge.core.clock import Clock, SimClock
from deltahedge.core.errors import DataError
from deltahedge.marketdata.feeds.base import Pacer, Tick, TickKind

_S = 1_000_000_000


class BitstampMinuteFeed:
    """Index ticks from a Bitstamp 1-minute OHLCV CSV (``timestamp`` in unix seconds).

    Parameters
    ----------
    path : str or Path
    clock : Clock
    speed : float
        Simulated seconds per real second.
    limit : int or None
        Stop after this many minutes.
    underlying : str
    """

    def __init__(
        self,
        path: str | Path,
        clock: Clock,
        speed: float = math.inf,
        limit: int | None = None,
        underlying: str = "BTC",
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(f"{self.path}: no such Bitstamp minute file")
        self.clock = clock
        self.pacer = Pacer(clock, speed)
        self.limit = limit
        self.underlying = underlying
        self._closed = False

    def __aiter__(self) -> AsyncIterator[Tick]:
        return self._run()

    async def _run(self) -> AsyncIterator[Tick]:
        with self.path.open(newline="") as fh:
            for n, row in enumerate(csv.DictReader(fh)):
                if self._closed or (self.limit is not None and n >= self.limit):
                    return
                ts = (int(row["timestamp"]) + 60) * _S  # the close is known at the minute's end
                await self.pacer.wait_until(ts)
                recv = ts if isinstance(self.clock, SimClock) else self.clock.now_ns()
                u = self.underlying
                yield Tick(TickKind.INDEX, u, "bitstamp", u, float(row["close"]), ts, recv)

    async def close(self) -> None:
        self._closed = True


def _perp_marks(path: Path | None, coin: str) -> dict[str, tuple[str, float]]:
    if path is None:
        return {}
    out: dict[str, tuple[str, float]] = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["coin"] == coin and row["perp_futures_mark_price"]:
                out[row["snapshot_file"]] = (
                    row["instrument_name"],
                    float(row["perp_futures_mark_price"]),
                )
    return out


class DeribitSnapshotFeed:
    """Index, perpetual-mark and option ticks from Deribit chain snapshot CSVs.

    Parameters
    ----------
    paths : sequence of paths
        ``deribit_options_snapshot_<UTC>.csv`` files (sorted by time here).
    clock : Clock
    perp_marks : path, optional
        ``perpetual_futures_prices.csv`` beside the snapshots.
    underlying : str
    speed : float
    options : bool
        Emit one tick per option with a mark IV.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        clock: Clock,
        perp_marks: str | Path | None = None,
        underlying: str = "BTC",
        speed: float = math.inf,
        options: bool = True,
    ) -> None:
        self.paths = sorted(Path(p) for p in paths)
        if not self.paths:
            raise DataError("DeribitSnapshotFeed needs at least one snapshot file")
        self.clock = clock
        self.pacer = Pacer(clock, speed)
        self.underlying = underlying
        self.options = options
        self._marks = _perp_marks(Path(perp_marks) if perp_marks else None, underlying)
        self._closed = False

    def __aiter__(self) -> AsyncIterator[Tick]:
        return self._run()

    async def _run(self) -> AsyncIterator[Tick]:
        from deltahedge.marketdata import load_chain

        u = self.underlying
        for path in self.paths:
            if self._closed:
                return
            chain = load_chain(path, underlying=u)
            ts = int(chain.ts_ns)
            await self.pacer.wait_until(ts)
            recv = ts if isinstance(self.clock, SimClock) else self.clock.now_ns()
            index = float(np.nanmedian(chain.index_price))
            yield Tick(TickKind.INDEX, u, "deribit", u, index, ts, recv)
            mark = self._marks.get(path.name)
            if mark is not None:
                yield Tick(TickKind.MARK, u, "deribit", mark[0], mark[1], ts, recv)
            if not self.options:
                continue
            for i in np.flatnonzero(np.isfinite(chain.mark_iv)).tolist():
                yield Tick(
                    TickKind.OPTION,
                    u,
                    "deribit",
                    str(chain.instrument[i]),
                    float(chain.mark[i]),
                    ts,
                    recv,
                    bid=float(chain.bid[i]),
                    ask=float(chain.ask[i]),
                    iv=float(chain.mark_iv[i]),
                )

    async def close(self) -> None:
        self._closed = True


class BinanceBookFeed:
    """Quote ticks (best bid/ask) from a recorded Binance futures stream file.

    Parameters
    ----------
    path : str or Path
        ``usdm_btcusdt_20240808.gz`` or ``coinm_btcusd_perp_20240808.gz``.
    symbol, venue : str
        e.g. ``"BTCUSDT"``, ``"binance_usdm"``.
    clock : Clock
    speed : float
    limit : int or None
        Stop after this many quote ticks.
    """

    def __init__(
        self,
        path: str | Path,
        symbol: str,
        venue: str,
        clock: Clock,
        speed: float = math.inf,
        limit: int | None = None,
        underlying: str = "BTC",
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(f"{self.path}: no such Binance stream file")
        self.symbol, self.venue, self.clock = symbol, venue, clock
        self.pacer = Pacer(clock, speed)
        self.limit = limit
        self.underlying = underlying
        self._closed = False

    def __aiter__(self) -> AsyncIterator[Tick]:
        return self._run()

    async def _run(self) -> AsyncIterator[Tick]:
        from deltahedge.venues.binance_replay import BookTicker, replay_binance
        from deltahedge.venues.book import L2Book

        book = L2Book(self.symbol)
        n = 0
        for ev in replay_binance(self.path, book, strict=False):
            if self._closed or (self.limit is not None and n >= self.limit):
                return
            if not isinstance(ev, BookTicker):
                continue
            await self.pacer.wait_until(ev.ts_ns)
            recv = ev.recv_ns if isinstance(self.clock, SimClock) else self.clock.now_ns()
            n += 1
            yield Tick(
                TickKind.QUOTE,
                self.underlying,
                self.venue,
                self.symbol,
                0.5 * (ev.bid + ev.ask),
                ev.ts_ns,
                recv,
                bid=ev.bid,
                ask=ev.ask,
                bid_size=ev.bid_size,
                ask_size=ev.ask_size,
            )

    async def close(self) -> None:
        self._closed = True


__all__ = ["BinanceBookFeed", "BitstampMinuteFeed", "DeribitSnapshotFeed"]

"""A simulated market: index (and perpetual mark) ticks along a path model's price path.

The path comes from :func:`deltahedge.backtest.models.simulate_paths` (GBM, Merton,
Heston, Bates, SVCJ), generated in chunks so an hour or a day of ticks costs little
memory; chunk ``c`` is seeded with ``(seed, c)``, so a run is reproducible from its seed.
Time is the injected clock's: a :class:`~deltahedge.core.clock.SimClock` is moved to each
tick (accelerated by ``speed``, or as fast as possible), a live clock only stamps receipts.

``glitch_rate`` injects bad ticks (NaN, a negative price, a 40 % jump) with that
probability per tick, to show and test that the engine rejects, counts and survives them.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator, Sequence

import numpy as np

from deltahedge.backtest.models import GBM_BTC, PathModel, simulate_paths
from deltahedge.core.clock import Clock, SimClock
from deltahedge.core.errors import InvalidInput
from deltahedge.core.units import NS_PER_SECOND, SECONDS_PER_YEAR
from deltahedge.marketdata.feeds.base import Pacer, Tick, TickKind

_CHUNK = 4096


class SimulatedFeed:
    """Index ticks (and perp marks equal to the index) along a simulated path.

    Parameters
    ----------
    s0 : float
        Starting index, USD.
    clock : Clock
        A SimClock (moved to each tick) or a live clock.
    model : PathModel
        Path model (``GBM_BTC`` by default: GBM at 60 % vol).
    ticks_per_second : float
        Ticks per simulated second.
    duration_s : float or None
        Simulated seconds to run; None: forever.
    seed : int
    speed : float
        Simulated seconds per real second (``inf``: as fast as possible).
    underlying : str
    marks : sequence of (venue, symbol)
        Perpetuals whose mark ticks follow the index (zero basis).
    glitch_rate : float
        Probability of a bad tick (NaN, negative, +40 % jump) per tick, in [0, 1).
    start_ns : int or None
        Time of the first tick; default: the clock's time.
    """

    def __init__(
        self,
        s0: float,
        clock: Clock,
        model: PathModel = GBM_BTC,
        ticks_per_second: float = 10.0,
        duration_s: float | None = None,
        seed: int = 0,
        speed: float = math.inf,
        underlying: str = "BTC",
        marks: Sequence[tuple[str, str]] = (),
        glitch_rate: float = 0.0,
        start_ns: int | None = None,
    ) -> None:
        if not (s0 > 0 and ticks_per_second > 0 and 0.0 <= glitch_rate < 1.0):
            raise InvalidInput(
                f"SimulatedFeed needs s0 > 0, ticks_per_second > 0, 0 <= glitch_rate < 1; got "
                f"{s0}, {ticks_per_second}, {glitch_rate}"
            )
        self.s0 = float(s0)
        self.clock = clock
        self.model = model
        self.step_ns = round(NS_PER_SECOND / ticks_per_second)
        self.n_ticks = None if duration_s is None else int(duration_s * ticks_per_second)
        self.seed = seed
        self.pacer = Pacer(clock, speed)
        self.underlying = underlying
        self.marks = tuple(marks)
        self.glitch_rate = glitch_rate
        self.start_ns = clock.now_ns() if start_ns is None else int(start_ns)
        self.ticks_sent = 0
        self._closed = False

    def prices(self) -> Iterator[float]:
        """The index path, chunk by chunk (an iterator of floats, USD)."""
        dt = self.step_ns / NS_PER_SECOND / SECONDS_PER_YEAR
        s = self.s0
        chunk = 0
        while True:
            f, _ = simulate_paths(
                self.model, s, dt, _CHUNK, 1, seed=(self.seed * 1_000_003 + chunk)
            )
            yield from f[0, 1:].tolist()
            s = float(f[0, -1])
            chunk += 1

    def __aiter__(self) -> AsyncIterator[Tick]:
        return self._run()

    async def _run(self) -> AsyncIterator[Tick]:
        rng = np.random.default_rng(self.seed + 17)
        u = self.underlying
        i = 0
        prices = self.prices()
        price = self.s0
        while not self._closed and (self.n_ticks is None or i < self.n_ticks):
            ts = self.start_ns + i * self.step_ns
            await self.pacer.wait_until(ts)
            recv = self.clock.now_ns() if not isinstance(self.clock, SimClock) else ts
            if i > 0:
                price = next(prices)
            shown = price
            if self.glitch_rate and rng.random() < self.glitch_rate:
                shown = (math.nan, -price, price * 1.4)[int(rng.integers(3))]
            yield Tick(TickKind.INDEX, u, "sim", u, shown, ts, recv)
            for venue, symbol in self.marks:
                yield Tick(TickKind.MARK, u, venue, symbol, price, ts, recv)
            self.ticks_sent += 1
            i += 1

    async def close(self) -> None:
        self._closed = True


__all__ = ["SimulatedFeed"]

"""Hedge positions, their delta and PnL, and a bounded latency histogram.

:class:`HedgeAccount` folds fills of the hedge instruments (perpetuals, futures, spot)
into running sums from which their coin delta and USD PnL follow in O(instruments):

- linear (size ``s`` coin a contract): ``V = sum n s (P - p_i)``, delta ``sum n s``;
- inverse (``c`` USD a contract): ``V = sum n c (P/p_i - 1) = P * sum(n c / p_i) - sum n c``
  (DESIGN.md), delta ``dV/dP = sum n c / p_i`` coin.

In the ``coin`` numeraire (``delta = S d(V/S)/dS = dV/dS - V/S``, DESIGN.md) both kinds give
``delta = sum n c / P`` (inverse) or ``sum n s p_i / P`` (linear), i.e. ``usd / P`` with the
running USD sum above, and ``gamma = d(delta)/dP = -usd / P^2``: a hedge's coin-numeraire
delta moves with the price, unlike its USD-numeraire one.

Fees are converted to USD at the fill price (coin fees) or taken at par (USDT).

:class:`LatencyHistogram` keeps counts in fixed log-spaced buckets (memory does not grow
with the number of ticks) and answers quantiles to a bucket's resolution (~5 %).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from deltahedge.core.enums import Settlement
from deltahedge.core.events import Fill
from deltahedge.execution.venue import InstrumentInfo
from deltahedge.portfolio.positions import USD_LIKE


@dataclass(slots=True)
class _Leg:
    spec: InstrumentInfo
    contracts: float = 0.0
    coin: float = 0.0  # linear: sum n s; inverse: sum n c / p
    usd: float = 0.0  # linear: sum n s p; inverse: sum n c
    fees_usd: float = 0.0
    n_fills: int = 0


class HedgeAccount:
    """Positions of the hedge instruments, from fills.

    Parameters
    ----------
    specs : sequence of InstrumentInfo
        The hedge instruments, keyed by ``(venue, symbol)``.
    """

    def __init__(self, specs: list[InstrumentInfo]) -> None:
        self.legs = {(s.venue, s.symbol): _Leg(s) for s in specs}
        self.fill_ids: set[str] = set()
        # sums over the legs, read several times a tick; computed on demand after a fill
        self._delta: float | None = None
        self._usd: float | None = None
        self._fees: float | None = None

    def apply(self, fill: Fill) -> bool:
        """Count a fill once (by ``fill_id``); False when already counted or not a hedge leg."""
        leg = self.legs.get((fill.venue, fill.instrument))
        if leg is None or fill.fill_id in self.fill_ids:
            return False
        self.fill_ids.add(fill.fill_id)
        self._delta = self._usd = self._fees = None
        n = fill.signed_quantity
        cs = leg.spec.contract_size
        leg.contracts += n
        if leg.spec.settlement is Settlement.LINEAR:
            leg.coin += n * cs
            leg.usd += n * cs * fill.price
        else:
            leg.coin += n * cs / fill.price
            leg.usd += n * cs
        fee = fill.fee if fill.fee_currency.upper() in USD_LIKE else fill.fee * fill.price
        leg.fees_usd += fee
        leg.n_fills += 1
        return True

    def delta_coin(self) -> float:
        """Coin delta of all hedge legs (``dV/dP`` in coin)."""
        d = self._delta
        if d is None:
            d = self._delta = sum(leg.coin for leg in self.legs.values())
        return d

    def delta(self, numeraire: str, price: float) -> tuple[float, float]:
        """``(delta coin, gamma coin per USD)`` of the hedge legs in ``numeraire`` at ``price``.

        ``usd``: ``(delta_coin(), 0)``; ``coin``: ``(usd / P, -usd / P^2)`` summed over legs
        (module docstring). E.g. short 1,000 inverse contracts of 10 USD filled at 50,000
        and marked at 40,000: usd numeraire -0.2 BTC, coin numeraire -10,000/40,000 =
        -0.25 BTC.
        """
        if numeraire != "coin":
            return self.delta_coin(), 0.0
        if not price > 0.0:
            return math.nan, math.nan
        usd = self._usd
        if usd is None:
            usd = self._usd = sum(leg.usd for leg in self.legs.values())
        return usd / price, -usd / (price * price)

    def value_usd(self, price: float) -> float:
        """Mark-to-market PnL of the hedge legs at ``price`` (USD per coin), before fees."""
        out = 0.0
        for leg in self.legs.values():
            if leg.spec.settlement is Settlement.LINEAR:
                out += leg.coin * price - leg.usd
            else:
                out += price * leg.coin - leg.usd
        return out

    def fees_usd(self) -> float:
        """Fees paid, USD."""
        f = self._fees
        if f is None:
            f = self._fees = sum(leg.fees_usd for leg in self.legs.values())
        return f

    def n_fills(self) -> int:
        return sum(leg.n_fills for leg in self.legs.values())

    def contracts(self) -> dict[tuple[str, str], float]:
        """Signed contracts by ``(venue, symbol)``."""
        return {k: leg.contracts for k, leg in self.legs.items()}


_EDGES = np.concatenate([[0.0], np.geomspace(1e-7, 10.0, 400)])  # seconds
_EDGE_LIST = _EDGES.tolist()


class LatencyHistogram:
    """Counts of latencies (seconds) in 400 log-spaced buckets from 0.1 us to 10 s."""

    edges = _EDGES

    def __init__(self) -> None:
        self._counts = [0] * len(_EDGES)  # a list: += 1 on it is the per-tick cost
        self.n = 0
        self.max = 0.0

    @property
    def counts(self) -> np.ndarray:
        """Latencies counted per bucket (a copy): ``counts[i]`` in ``[edges[i], edges[i+1])``."""
        return np.array(self._counts, dtype=np.int64)

    def observe(self, seconds: float) -> None:
        # bisect on a list: the bucket np.searchsorted(side="right") gives, at a fifth the cost
        i = bisect_right(_EDGE_LIST, seconds) - 1
        self._counts[i if i > 0 else 0] += 1
        self.n += 1
        if seconds > self.max:
            self.max = seconds

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0..1), seconds: the upper edge of its bucket (NaN if empty)."""
        if self.n == 0:
            return math.nan
        k = int(np.searchsorted(np.cumsum(self._counts), q * self.n, side="left"))
        return float(_EDGES[min(k + 1, len(_EDGES) - 1)])

    def reset(self) -> None:
        self._counts = [0] * len(_EDGES)
        self.n = 0
        self.max = 0.0


__all__ = ["HedgeAccount", "LatencyHistogram"]

"""``BookRisk``: the book's risk at one time, per underlying and per position.

Units as in ``deltahedge.portfolio.book`` (DESIGN.md, Units and conventions): deltas in
coin, gamma in coin per USD, vega USD per 1.00 vol, theta, funding and collateral yield
USD per day in both numeraires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from deltahedge._typing import FloatArray, IntArray
from deltahedge.core.errors import InvalidInput
from deltahedge.core.units import NS_PER_SECOND

#: Columns of ``BookRisk.contributions``.
COLUMNS = (
    "value_usd",
    "delta_coin",
    "gamma_coin",
    "vega_usd",
    "theta_usd_per_year",
    "vanna_sigma_coin",
)


@dataclass(frozen=True, slots=True, eq=False)
class BookRisk:
    """The book's risk at ``ts_ns``, per underlying and per position.

    Attributes
    ----------
    underlyings : tuple of str
        Order of the per-underlying arrays.
    index : ndarray
        Index price per underlying, USD.
    value_usd, delta_coin, gamma_coin, vega_usd, theta_usd_per_day, funding_usd_per_day
        Per underlying; see the module docstring for units. ``funding_usd_per_day`` is the
        funding the perps earn per day at the current rates (> 0 = income).
    yield_usd_per_day : ndarray
        Staking / lending yield of the collateral per day (``Collateral.yield_per_year``),
        USD at the current index, per underlying (USD balances count under the underlying
        they are measured in).
    vanna_sigma_coin : ndarray
        ``sigma d(delta_coin)/d(sigma)`` per underlying: the delta change, in coin, if every
        option's vol is scaled by ``1 + x``, per unit ``x`` (Black-76 part).
    slot_underlying, slot_expiry_ns, slot_vega_usd : ndarray
        Vega per (underlying, expiry), USD per 1.00 vol.
    symbols : tuple of str
        Row labels of ``contributions``: options, then linear positions, then collateral.
    row_underlying : ndarray of int
        Underlying index per row.
    contributions : ndarray, shape (rows, 6)
        Per row: value USD, delta coin, gamma coin/USD, vega USD, theta USD per year,
        vanna_sigma coin; each column sums to the per-underlying totals.
    """

    ts_ns: int
    numeraire: str
    delta_model: str
    underlyings: tuple[str, ...]
    index: FloatArray
    value_usd: FloatArray
    delta_coin: FloatArray
    gamma_coin: FloatArray
    vega_usd: FloatArray
    theta_usd_per_day: FloatArray
    funding_usd_per_day: FloatArray
    yield_usd_per_day: FloatArray
    vanna_sigma_coin: FloatArray
    slot_underlying: IntArray
    slot_expiry_ns: IntArray
    slot_vega_usd: FloatArray
    symbols: tuple[str, ...]
    row_underlying: IntArray
    contributions: FloatArray

    @property
    def delta_usd(self) -> FloatArray:
        """``delta_coin * index``, USD per underlying."""
        return self.delta_coin * self.index

    @property
    def cash_gamma_usd(self) -> FloatArray:
        """USD change of ``delta_usd`` for a 1 % move: ``gamma S^2 / 100``."""
        return self.gamma_coin * self.index**2 / 100.0

    @property
    def carry_usd_per_day(self) -> FloatArray:
        """Income per day at unchanged prices, USD: perp funding + collateral yield."""
        return self.funding_usd_per_day + self.yield_usd_per_day

    @property
    def usd_drift_per_day(self) -> FloatArray:
        """USD change of the book per day at unchanged prices: theta + funding + yield."""
        return self.theta_usd_per_day + self.funding_usd_per_day + self.yield_usd_per_day

    def carry(self, underlying: str) -> dict[str, float]:
        """Per-day income and drift of ``underlying``, in this risk's numeraire.

        A basis book (long or staked collateral, short perp) is read from it: ``funding``
        (perps, > 0 = received), ``yield`` (collateral staking / lending), ``theta``
        (options) and ``drift``, their sum: the change of the book's value per day at
        unchanged prices. USD per day in the ``usd`` numeraire; coin of ``underlying`` per
        day in the ``coin`` numeraire (the USD amounts over the index).
        """
        u = self.position(underlying)
        scale = 1.0 / float(self.index[u]) if self.numeraire == "coin" else 1.0
        parts = {
            "funding": float(self.funding_usd_per_day[u]) * scale,
            "yield": float(self.yield_usd_per_day[u]) * scale,
            "theta": float(self.theta_usd_per_day[u]) * scale,
        }
        parts["drift"] = parts["funding"] + parts["yield"] + parts["theta"]
        return parts

    def position(self, underlying: str) -> int:
        """Index of ``underlying`` in the per-underlying arrays."""
        try:
            return self.underlyings.index(underlying)
        except ValueError:
            raise InvalidInput(
                f"underlying {underlying!r} not in the book; have {self.underlyings}"
            ) from None

    def delta(self, underlying: str) -> float:
        """Net delta of ``underlying`` in coin units."""
        return float(self.delta_coin[self.position(underlying)])

    def gamma(self, underlying: str) -> float:
        """Gamma of ``underlying``, coin per USD."""
        return float(self.gamma_coin[self.position(underlying)])

    def vega_by_expiry(self, underlying: str) -> dict[int, float]:
        """Vega per expiry (UTC ns) of ``underlying``, USD per 1.00 vol."""
        u = self.position(underlying)
        sel = self.slot_underlying == u
        return {
            int(e): float(v)
            for e, v in zip(self.slot_expiry_ns[sel], self.slot_vega_usd[sel], strict=True)
        }

    def vega_by_tenor(
        self, underlying: str, edges_days: Sequence[float] = (7, 30, 90, 180)
    ) -> dict[str, float]:
        """Vega of ``underlying`` in tenor buckets, USD per 1.00 vol.

        Buckets are ``(lo, hi]`` days to expiry between consecutive ``edges_days``, labelled
        ``"<=7d"``, ``"7-30d"``, ..., ``">180d"``.
        """
        edges = [float(e) for e in edges_days]
        labels = [f"<={edges[0]:g}d"]
        labels += [f"{a:g}-{b:g}d" for a, b in pairwise(edges)]
        labels.append(f">{edges[-1]:g}d")
        out = dict.fromkeys(labels, 0.0)
        for e, v in self.vega_by_expiry(underlying).items():
            days = (e - self.ts_ns) / (NS_PER_SECOND * 86_400.0)
            out[labels[int(np.searchsorted(edges, days, side="left"))]] += v
        return out

    def contribution(self, symbol: str) -> dict[str, float]:
        """One row of ``contributions`` as a dict, by symbol (the first match)."""
        try:
            r = self.symbols.index(symbol)
        except ValueError:
            raise InvalidInput(f"no position {symbol!r} in the book") from None
        return {c: float(x) for c, x in zip(COLUMNS, self.contributions[r], strict=True)}


__all__ = ["COLUMNS", "BookRisk"]

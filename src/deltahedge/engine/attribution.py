"""The engine's running PnL attribution (delta, gamma, vega, theta, funding, fees, residual),
USD, and the PnL of the UTC day that the daily loss limit reads.

Between two decisions the book's USD PnL is explained by USD sensitivities taken at the
start of the interval: the options' ``dV/dS`` and ``d2V/dS2`` and theta, plus the hedge
legs' PnL, which is exactly their ``dV/dS`` times the move (perpetual and future PnL is
linear in the price, inverse ones too in USD: ``V = P sum(n c / p_i) - sum n c``), taken
with the legs held over the interval (after the last hedge). Trading at a price other
than the index shows up in residual. In the coin numeraire the book reports
``delta_c = dV/dS - V/S`` and ``gamma_c = d2V/dS2 - (dV/dS)/S + V/S^2`` (DESIGN.md), which
is undone here for the options (``V`` their value). A surface refit revalues the options
at the same market: that jump is the vega line.

**Funding** of the perpetual legs accrues at each venue's quoted rate (``rate`` per
``interval_s``, polled by the engine): longs pay ``notional * rate`` per interval when the
rate is positive, the notional being ``n s S`` USD for a linear leg (``s`` coin a
contract) and ``n c`` USD for an inverse one (``c`` USD a contract; paid in coin,
``n c / S * rate``, worth ``n c rate`` USD). It is a cost the engine computes from the
rate; a venue that quotes no rate (the paper venues quote 0 unless configured) accrues
nothing. Funding enters the total as well, so it never lands in residual.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from deltahedge.core.enums import Settlement
from deltahedge.core.units import NS_PER_SECOND
from deltahedge.engine.accounts import HedgeAccount
from deltahedge.engine.records import PnL
from deltahedge.portfolio.book import BookRisk

DAY_NS = 86_400 * NS_PER_SECOND

#: ``(venue, symbol) -> (rate per interval, interval in seconds)``
FundingRates = Mapping[tuple[str, str], tuple[float, float]]


def funding_usd(account: HedgeAccount, rates: FundingRates, price: float, dt_ns: int) -> float:
    """Funding received (> 0) or paid (< 0) by the hedge legs over ``dt_ns``, USD.

    E.g. long 2 BTCUSDT (linear, 1 BTC a contract) at 100,000 USD with 1 bp per 8 h, over
    8 h: ``-2 * 1 * 100,000 * 0.0001 = -20`` USD; short 1,000 inverse contracts of 10 USD
    at the same rate: ``+1,000 * 10 * 0.0001 = +1`` USD.
    """
    out = 0.0
    for key, leg in account.legs.items():
        r = rates.get(key)
        if r is None or not r[0] or not leg.contracts:
            continue
        spec = leg.spec
        notional = leg.contracts * spec.contract_size
        if spec.settlement is Settlement.LINEAR:
            notional *= price
        out -= notional * r[0] * (dt_ns / NS_PER_SECOND) / r[1]
    return out


class Attribution:
    """Accumulates ``pnl`` (a :class:`PnL`) tick by tick for one underlying.

    Parameters
    ----------
    numeraire : {"usd", "coin"}
        The numeraire the book's risk is reported in.
    """

    def __init__(self, numeraire: str) -> None:
        self.numeraire = numeraire
        self.pnl = PnL()
        self._value0: float | None = None
        self._prev: tuple[float, float, float, float, int] | None = None  # S, dV, d2V, theta, ts

    @property
    def started(self) -> bool:
        return self._prev is not None

    def step(
        self,
        risk: BookRisk,
        u: int,
        account: HedgeAccount,
        now: int,
        funding: FundingRates | None = None,
    ) -> None:
        """Attribute the PnL since the last step; ``risk`` includes the hedge legs' delta.

        ``funding`` holds the perpetual legs' current rates (see :func:`funding_usd`).
        """
        S = float(risk.index[u])
        value = float(risk.value_usd[u])
        if self._value0 is None:
            self._value0 = value
        p = self.pnl
        if self._prev is not None:
            S0, d0, g0, th0, t0 = self._prev
            dS = S - S0
            p.delta += (d0 + account.delta_coin()) * dS  # legs held since the last hedge
            p.gamma += 0.5 * g0 * dS * dS
            p.theta += th0 * (now - t0) / DAY_NS
            if funding:
                p.funding += funding_usd(account, funding, S0, now - t0)
        p.fees = -account.fees_usd()
        p.total = value - self._value0 + account.value_usd(S) + p.fees + p.funding
        p.residual = p.total - (p.delta + p.gamma + p.theta + p.vega + p.funding + p.fees)
        hd, hg = account.delta(self.numeraire, S)
        dV = float(risk.delta_coin[u]) - hd
        d2V = float(risk.gamma_coin[u]) - hg
        if self.numeraire == "coin" and S > 0:
            dV = dV + value / S
            d2V = d2V + dV / S - value / (S * S)
        self._prev = (S, dV, d2V, float(risk.theta_usd_per_day[u]), now)

    def revalue(self, old_value: float, new_value: float) -> None:
        """The options' value jumped from ``old_value`` to ``new_value`` (a new surface)."""
        if math.isfinite(new_value - old_value):
            self.pnl.vega += new_value - old_value


class DailyPnL:
    """The PnL of the current UTC day, USD, from the engine's cumulative PnL.

    ``value = carried + total - base``: ``base`` is the cumulative total at the day's first
    step in this process (at midnight UTC, or at the start), ``carried`` the day's PnL made
    before a restart, restored from the journal (:meth:`restore`) when it holds a snapshot
    of the same day; at midnight both reset.
    """

    def __init__(self) -> None:
        self.day: int | None = None  # days since the epoch, UTC
        self.base = 0.0
        self.carried = 0.0
        self.value = 0.0
        self._restored: tuple[int, float] | None = None

    def restore(self, day: int, pnl_usd: float) -> None:
        """Carry ``pnl_usd`` made earlier on UTC day ``day`` (if the engine starts that day)."""
        self._restored = (int(day), float(pnl_usd))

    def update(self, now_ns: int, total_usd: float) -> float:
        """The day's PnL at ``now_ns`` given the engine's cumulative ``total_usd``."""
        day = now_ns // DAY_NS
        if day != self.day:
            first = self.day is None
            self.day, self.base, self.carried = day, total_usd, 0.0
            if first and self._restored is not None and self._restored[0] == day:
                self.carried = self._restored[1]
            self._restored = None
        self.value = self.carried + total_usd - self.base
        return self.value


def options_value(book: Any, market: Any, numeraire: str, delta_model: str, u: int) -> float:
    """USD value of a compiled book's options at ``market``."""
    return float(book.risk(market, numeraire, delta_model).value_usd[u])


__all__ = ["DAY_NS", "Attribution", "DailyPnL", "FundingRates", "funding_usd", "options_value"]

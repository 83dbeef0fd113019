"""The engine's running PnL attribution (delta, gamma, vega, theta, fees, residual), USD.

Between two decisions the book's USD PnL is explained by USD sensitivities taken at the
start of the interval: the options' ``dV/dS`` and ``d2V/dS2`` and theta, plus the hedge
legs' PnL, which is exactly their ``dV/dS`` times the move (perpetual and future PnL is
linear in the price, inverse ones too in USD: ``V = P sum(n c / p_i) - sum n c``), taken
with the legs held over the interval (after the last hedge). Trading at a price other
than the index shows up in residual. In the coin numeraire the book reports
``delta_c = dV/dS - V/S`` and ``gamma_c = d2V/dS2 - (dV/dS)/S + V/S^2`` (DESIGN.md), which
is undone here for the options (``V`` their value). A surface refit revalues the options
at the same market: that jump is the vega line.
"""

from __future__ import annotations

import math
from typing import Any

from deltahedge.core.units import NS_PER_SECOND
from deltahedge.engine.accounts import HedgeAccount
from deltahedge.engine.records import PnL
from deltahedge.portfolio.book import BookRisk


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

    def step(self, risk: BookRisk, u: int, account: HedgeAccount, now: int) -> None:
        """Attribute the PnL since the last step; ``risk`` includes the hedge legs' delta."""
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
            p.theta += th0 * (now - t0) / (86_400 * NS_PER_SECOND)
        p.fees = -account.fees_usd()
        p.total = value - self._value0 + account.value_usd(S) + p.fees
        p.residual = p.total - (p.delta + p.gamma + p.theta + p.vega + p.fees)
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


def options_value(book: Any, market: Any, numeraire: str, delta_model: str, u: int) -> float:
    """USD value of a compiled book's options at ``market``."""
    return float(book.risk(market, numeraire, delta_model).value_usd[u])


__all__ = ["Attribution", "options_value"]

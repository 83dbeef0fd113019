"""PnL attribution of a book between two market states.

For a book held unchanged from ``before`` to ``after`` (Taylor expansion at ``before``):

- delta    ``sum_u Delta_u dS_u``
- gamma    ``sum_u Gamma_u dS_u^2 / 2``
- vega     ``sum_i vega_i (sigma_i,after - sigma_i,before)``
- theta    ``Theta dt`` (``dt`` in years)
- funding  the carry: perpetual funding plus collateral yield, accrued at the ``before``
           rates and index for the elapsed time (or the amount passed in)
- fees     minus the fees paid (passed in)
- residual the real PnL minus all of the above (higher-order terms, cross terms)

The real PnL is ``V(after) - V(before) + funding - fees``; ``residual`` is *defined* as the
remainder, so the parts add up to it exactly (up to one rounding of the final sum).

In the ``coin`` numeraire (one underlying only) values are ``V/S`` and the Greeks are those
of ``V/S``: ``d(V/S)/dS = delta_coin / S`` and ``d2(V/S)/dS2 = gamma_coin/S - delta_coin/S^2``
with ``delta_coin, gamma_coin`` of the coin-numeraire ``BookRisk``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from deltahedge.core.errors import InvalidInput
from deltahedge.core.units import NS_PER_SECOND, SECONDS_PER_YEAR
from deltahedge.marketdata.state import MarketState
from deltahedge.portfolio.book import CompiledBook


@dataclass(frozen=True, slots=True)
class PnLAttribution:
    """PnL parts in ``numeraire`` units (USD, or coin of the book's underlying)."""

    numeraire: str
    total: float
    delta: float
    gamma: float
    vega: float
    theta: float
    funding: float
    fees: float
    residual: float

    def parts(self) -> dict[str, float]:
        """The seven parts (everything but ``total`` and ``numeraire``)."""
        d = asdict(self)
        d.pop("numeraire")
        d.pop("total")
        return d


def attribute_pnl(
    book: CompiledBook,
    before: MarketState,
    after: MarketState,
    book_after: CompiledBook | None = None,
    numeraire: str = "usd",
    fees: float = 0.0,
    funding: float | None = None,
) -> PnLAttribution:
    """Split the PnL of ``book`` from ``before`` to ``after`` into Greek parts and a residual.

    Parameters
    ----------
    book : CompiledBook
        The positions with the vols of ``before``.
    before, after : MarketState
        The two snapshots; ``after.ts_ns >= before.ts_ns``.
    book_after : CompiledBook, optional
        The same positions with the vols of ``after`` (``book.with_vols``); default: vols
        unchanged.
    numeraire : {"usd", "coin"}
    fees : float
        Fees paid over the period, in numeraire units (> 0 is a cost).
    funding : float, optional
        Funding and collateral yield received over the period, numeraire units; default:
        accrued at the rates of ``before`` for the elapsed time.

    Returns
    -------
    PnLAttribution
    """
    after_book = book if book_after is None else book_after
    if after_book.symbols != book.symbols:
        raise InvalidInput("book_after must hold the same positions as book")
    if after.ts_ns < before.ts_ns:
        raise InvalidInput(f"after ({after.ts_ns} ns) is earlier than before ({before.ts_ns} ns)")
    coin = numeraire == "coin"
    if not coin and numeraire != "usd":
        raise InvalidInput(f"unknown numeraire {numeraire!r}; allowed: 'usd', 'coin'")
    if coin and len(book.underlyings) != 1:
        raise InvalidInput(
            f"coin-numeraire attribution needs a one-underlying book, got {book.underlyings}"
        )
    r0 = book.risk(before, numeraire)
    r1 = after_book.risk(after, numeraire)
    S0, S1 = r0.index, r1.index
    dS = S1 - S0
    dt = (after.ts_ns - before.ts_ns) / (NS_PER_SECOND * SECONDS_PER_YEAR)
    n_opt = book.n_options
    dsig = after_book.sigma - book.sigma
    vega_i = r0.contributions[:n_opt, 3]
    if coin:
        s0 = float(S0[0])
        v0 = float(r0.value_usd[0]) / s0
        v1 = float(r1.value_usd[0]) / float(S1[0])
        d = r0.delta_coin / S0
        g = r0.gamma_coin / S0 - r0.delta_coin / S0**2
        vega = float(np.dot(vega_i, dsig)) / s0
        theta = float(r0.theta_usd_per_day[0]) * 365.0 * dt / s0
        fund = float(r0.carry_usd_per_day[0]) * 365.0 * dt / s0
    else:
        v0 = float(r0.value_usd.sum())
        v1 = float(r1.value_usd.sum())
        d = r0.delta_coin
        g = r0.gamma_coin
        vega = float(np.dot(vega_i, dsig))
        theta = float(r0.theta_usd_per_day.sum()) * 365.0 * dt
        fund = float(r0.carry_usd_per_day.sum()) * 365.0 * dt
    if funding is not None:
        fund = float(funding)
    delta = float(np.dot(d, dS))
    gamma = float(0.5 * np.dot(g, dS * dS))
    total = v1 - v0 + fund - fees
    explained = math.fsum([delta, gamma, vega, theta, fund, -fees])
    return PnLAttribution(
        numeraire="coin" if coin else "usd",
        total=total,
        delta=delta,
        gamma=gamma,
        vega=vega,
        theta=theta,
        funding=fund,
        fees=-fees,
        residual=total - explained,
    )


__all__ = ["PnLAttribution", "attribute_pnl"]

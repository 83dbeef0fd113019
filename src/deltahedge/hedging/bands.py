"""No-trade band widths and modified-vol delta shifts, as plain float functions.

Units: deltas and half-widths in coin; gamma in coin per USD (``d delta / dS``); prices in
USD; risk aversion in 1/USD (exponential utility of USD wealth); costs as proportional
rates (0.0005 = 5 bp of notional per trade); vols annualised decimals; times in years.
"""

from __future__ import annotations

import math


def whalley_wilmott_half_width(
    gamma: float, spot: float, cost: float, risk_aversion: float
) -> float:
    """Half-width of the Whalley-Wilmott no-transaction band, in coin.

    ``w = (3 c Gamma^2 S / (2 lambda))^(1/3)`` (Whalley and Wilmott 1997, "An asymptotic
    analysis of an optimal hedging model for option pricing with transaction costs",
    Mathematical Finance 7(3) 307-324, with r = 0; the same form as pfhedge's
    ``pfhedge.nn.functional.ww_width``). Dimensions: ``c`` 1, ``Gamma`` 1/USD, ``S`` USD,
    ``lambda`` 1/USD, so ``w`` is a number of coins.

    Parameters
    ----------
    gamma : float
        Book gamma, coin per USD.
    spot : float
        USD.
    cost : float
        Proportional cost of trading the hedge (fee + half-spread + slippage), e.g. 0.0005.
    risk_aversion : float
        ``lambda`` > 0, 1/USD.
    """
    return (3.0 * cost * gamma * gamma * spot / (2.0 * risk_aversion)) ** (1.0 / 3.0)


def zakamouline_half_width(
    gamma: float, spot: float, sigma: float, tau: float, cost: float, risk_aversion: float
) -> float:
    """Half-width ``H0 + H1`` of Zakamouline's band around the modified-vol delta, coin.

    Zakamouline (2006), "Efficient analytic approximation of the optimal hedging strategy
    for a European call option with transaction costs", Quantitative Finance 6(5), r = 0:
    ``H0 = c / (lambda S sigma^2 tau)``,
    ``H1 = 1.12 c^0.31 tau^0.05 (1/sigma)^0.25 (|Gamma| / lambda)^0.5``.
    """
    h0 = cost / (risk_aversion * spot * sigma * sigma * tau)
    h1 = (
        1.12
        * cost**0.31
        * tau**0.05
        * (1.0 / sigma) ** 0.25
        * math.sqrt(abs(gamma) / risk_aversion)
    )
    return h0 + h1


def zakamouline_vol_factor(
    gamma: float, spot: float, sigma: float, tau: float, cost: float, risk_aversion: float
) -> float:
    """``sigma_m / sigma`` of Zakamouline's modified vol (same paper, r = 0).

    ``K = -4.76 c^0.78 / tau^0.02 (1/sigma)^0.25 (lambda S^2 |Gamma|)^0.15``;
    ``sigma_m^2 = sigma^2 (1 + K)`` for a long-gamma book, ``(1 - K)`` for a short one.
    """
    k = (
        -4.76
        * cost**0.78
        / tau**0.02
        * (1.0 / sigma) ** 0.25
        * (risk_aversion * spot * spot * abs(gamma)) ** 0.15
    )
    m = 1.0 + k if gamma >= 0 else 1.0 - k
    return math.sqrt(max(m, 0.0))


def leland_vol_factor(sigma: float, cost: float, dt: float, gamma: float) -> float:
    """``sigma_L / sigma`` of Leland's adjusted vol.

    Leland (1985), "Option pricing and replication with transactions costs", Journal of
    Finance 40(5): ``sigma_L^2 = sigma^2 (1 + Le)``, ``Le = sqrt(2/pi) k / (sigma sqrt(dt))``
    with ``k`` the round-trip proportional cost and ``dt`` the rebalancing interval
    (years); ``+Le`` for a short-gamma book, ``-Le`` for a long one (floored at 0).
    """
    le = math.sqrt(2.0 / math.pi) * cost / (sigma * math.sqrt(dt))
    m = 1.0 + le if gamma < 0 else 1.0 - le
    return math.sqrt(max(m, 0.0))


__all__ = [
    "leland_vol_factor",
    "whalley_wilmott_half_width",
    "zakamouline_half_width",
    "zakamouline_vol_factor",
]

"""Inverse (coin-settled) options: Black-76 in USD, premium and exposures in the coin.

An inverse option (Deribit, OKX BTC/ETH options) has the USD payoff of a vanilla option
on the forward F (USD per coin), but its premium and settlement are in coin: one option
on one coin is worth ``P = C_usd / F`` coins, where ``C_usd`` is Black-76 with r = 0 (the
venue marks on the forward without discounting).

Derivations (``C = C_usd``, ``Delta = dC/dF = phi N(phi d1)``, ``Gamma = d2C/dF2``,
``n`` the normal density)::

    P          = C / F                                             [coin]
    dP/dF      = Delta/F - C/F^2 = (Delta - P) / F                 [coin per USD]
    delta_pa   = F dP/dF = Delta - P                               [coin]
       the premium-adjusted delta: the coin exposure of a coin-valued position, i.e. the
       change in its coin value per unit relative move of F, times F. Deribit shows
       Delta (= N(d1) for a call, N(d1) - 1 for a put) as the per-instrument delta.
    gamma_usd  = Gamma = n(d1) / (F sigma sqrt T)                  [1/USD]
    gamma_coin = d delta_pa / dF = Gamma - dP/dF = Gamma - delta_pa / F   [1/USD]
    vega_usd   = dC/dsigma = F n(d1) sqrt T                        [USD per 1.00 vol]
    vega_coin  = dP/dsigma = vega_usd / F = n(d1) sqrt T           [coin per 1.00 vol]
    theta_usd  = -dC/dT = -F n(d1) sigma / (2 sqrt T)              [USD per year]
    theta_coin = -dP/dT = theta_usd / F                            [coin per year]

(F held fixed when T moves.) Deribit quotes vega per 1% and theta per day in USD:
``vega_usd / 100`` and ``theta_usd / 365``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from deltahedge._typing import ArrayLike, FloatArray
from deltahedge.pricing import _loops
from deltahedge.pricing._arrays import as_phi, flatten, loop_args


@dataclass(frozen=True, slots=True)
class InverseGreeks:
    """Greeks of coin-settled options on one coin each (units in the module doc).

    Attributes
    ----------
    price_coin, price_usd : FloatArray
        Premium in coin (``C_usd / F``) and in USD.
    delta : FloatArray
        Black-76 delta ``phi N(phi d1)``, the venue's per-instrument delta (coin).
    delta_premium_adjusted : FloatArray
        ``delta - price_coin = F dP/dF`` (coin).
    gamma_usd, gamma_coin : FloatArray
        ``d delta / dF`` and ``d delta_premium_adjusted / dF`` (per USD).
    vega_usd, vega_coin : FloatArray
        Per 1.00 of vol, in USD and in coin.
    theta_usd, theta_coin : FloatArray
        Per year, in USD and in coin.
    """

    price_coin: FloatArray
    price_usd: FloatArray
    delta: FloatArray
    delta_premium_adjusted: FloatArray
    gamma_usd: FloatArray
    gamma_coin: FloatArray
    vega_usd: FloatArray
    vega_coin: FloatArray
    theta_usd: FloatArray
    theta_coin: FloatArray


def inverse_black76(
    kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike
) -> InverseGreeks:
    """Price and Greeks of inverse (coin-settled) European options, r = 0.

    Parameters
    ----------
    kind : OptionKind, str, int or array-like
        Call or put.
    F : array_like
        Forward of the expiry, USD per coin, > 0.
    K : array_like
        Strike, USD per coin, > 0.
    T : array_like
        Years, >= 0.
    sigma : array_like
        Volatility, decimal.

    Returns
    -------
    InverseGreeks
        Arrays of the broadcast shape; NaN where the inputs are invalid. Edge cases at
        T = 0 or sigma = 0 follow ``black76``.
    """
    phi = as_phi(kind)
    shape, n, flat = flatten(phi, F, K, T, sigma)
    out = np.empty((10, n), dtype=np.float64)
    loop: Any = _loops.inverse_loop
    loop(*loop_args(flat), out)
    return InverseGreeks(*(out[j].reshape(shape) for j in range(10)))


__all__ = ["InverseGreeks", "inverse_black76"]

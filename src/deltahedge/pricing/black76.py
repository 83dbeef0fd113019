"""Black-76 and Black-Scholes-Merton prices and Greeks, vectorised over any shapes.

Formulas (Black 1976; Haug 2007, "The Complete Guide to Option Pricing Formulas", 2nd ed.,
ch. 1-2), with ``phi`` = +1 call / -1 put, ``DF = exp(-r T)``, ``n`` the normal density and
``N`` the normal distribution, ``d1 = ln(F/K)/(sigma sqrt T) + sigma sqrt(T)/2``,
``d2 = d1 - sigma sqrt T``. Every Greek is per one unit of the underlying, in the currency
of F and K; the forward F is held fixed when time or rates move::

    price = DF phi (F N(phi d1) - K N(phi d2))
    delta = dV/dF        = DF phi N(phi d1)
    gamma = d2V/dF2      = DF n(d1) / (F sigma sqrt T)
    vega  = dV/dsigma    = DF F n(d1) sqrt T                  per 1.00 of vol (not 1%)
    theta = -dV/dT       = r V - DF F n(d1) sigma / (2 sqrt T)  per year; < 0 = decay
    rho   = dV/dr        = -T V                                 per 1.00 of rate
    vanna = d2V/dF dsigma = -DF n(d1) d2 / sigma
    volga = d2V/dsigma2   = vega d1 d2 / sigma
    charm = -d delta/dT   = r delta + DF n(d1) d2 / (2 T)       per year

Edge cases: NaN/inf inputs, F or K <= 0, T < 0, sigma < 0 give NaN in every field (never
an exception). At T = 0 or sigma = 0 the option is worth ``DF max(phi(F-K), 0)``; delta is
the step ``DF phi 1{phi(F-K) > 0}`` with ``DF phi / 2`` at F == K (the limit of N(d1) as
sigma sqrt T -> 0); gamma, vega, vanna, volga are 0 (their off-the-money limits, also
reported at F == K where gamma diverges), theta = r V, rho = -T V, charm = r delta; except
that for T > 0, sigma = 0 and F == K vega and vanna take their finite limits
``DF F sqrt(T) n(0)`` and ``DF sqrt(T) n(0) / 2``.

Accuracy: within a few ulps of each Greek's natural scale (tests: against the reference
twin, QuantLib and finite differences). The compiled loop runs in SIMD blocks, so the same
option may differ in the last bit depending on its position in the array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from deltahedge._typing import ArrayLike, FloatArray
from deltahedge.pricing import _loops
from deltahedge.pricing._arrays import as_phi, fast_loop_args, flatten, loop_args


@dataclass(frozen=True, slots=True)
class Greeks:
    """Price and Greeks of options, each an array of the broadcast input shape.

    Attributes
    ----------
    price : FloatArray
        Present value, currency of the strike.
    delta, gamma : FloatArray
        dV/dX and d2V/dX2 per unit of the underlying X (F for ``black76``, S for ``bsm``).
    vega : FloatArray
        dV/dsigma per 1.00 of vol.
    theta : FloatArray
        dV/dt per year of calendar time (= -dV/dT); negative for time decay.
    rho : FloatArray
        dV/dr per 1.00 of rate.
    vanna, volga, charm : FloatArray
        d2V/dX dsigma, d2V/dsigma2, and d delta/dt per year (= -d delta/dT).
    """

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    rho: FloatArray
    vanna: FloatArray
    volga: FloatArray
    charm: FloatArray


@dataclass(frozen=True, slots=True)
class RiskGreeks:
    """The book-risk subset: price, delta, gamma, vega (per 1.00), theta (per year)."""

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray


def _run_rows(loop: Any, rows: int, kind: Any, *args: ArrayLike) -> list[FloatArray]:
    phi = as_phi(kind)
    fast = fast_loop_args(phi, *args)
    if fast is not None:  # 1-D arrays and scalars: a chain repriced in a loop
        out = np.empty((rows, fast[0]), dtype=np.float64)
        loop(*fast[1], out)
        return list(out)
    shape, n, flat = flatten(phi, *args)
    out = np.empty((rows, n), dtype=np.float64)
    loop(*loop_args(flat), out)
    if len(shape) == 1:
        return list(out)  # row views (a third of the cost of one reshape per row)
    return [out[j].reshape(shape) for j in range(rows)]


def black76(
    kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, r: ArrayLike = 0.0
) -> Greeks:
    """Black-76 price and Greeks of European options on a forward (formulas in the module doc).

    Parameters
    ----------
    kind : OptionKind, str, int or array-like of these
        Call or put (see ``deltahedge.core.parse_kind``); invalid values raise ValueError.
    F, K : array_like
        Forward and strike, same currency, > 0.
    T : array_like
        Years to expiry (ACT/365), >= 0.
    sigma : array_like
        Volatility, decimal (0.5 = 50%), >= 0.
    r : array_like, default 0.0
        Continuously compounded discount rate.

    Returns
    -------
    Greeks
        Arrays of the broadcast shape of the inputs (0-d for scalars).
    """
    return Greeks(*_run_rows(_loops.greeks_loop, 9, kind, F, K, T, sigma, r))


def black76_risk(
    kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, r: ArrayLike = 0.0
) -> RiskGreeks:
    """Black-76 price, delta, gamma, vega, theta only: the fast path for book risk.

    Same arguments, units and edge cases as ``black76``.
    """
    return RiskGreeks(*_run_rows(_loops.greeks_loop, 5, kind, F, K, T, sigma, r))


def black76_price(
    kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, r: ArrayLike = 0.0
) -> FloatArray:
    """Black-76 price only (arguments and units as ``black76``)."""
    return _run_rows(_loops.greeks_loop, 1, kind, F, K, T, sigma, r)[0]


def black76_delta(
    kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, r: ArrayLike = 0.0
) -> FloatArray:
    """Black-76 forward delta ``DF phi N(phi d1)`` only (arguments as ``black76``)."""
    return _run_rows(_loops.greeks_loop, 2, kind, F, K, T, sigma, r)[1]


def bsm(
    kind: Any,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    sigma: ArrayLike,
    r: ArrayLike = 0.0,
    q: ArrayLike = 0.0,
) -> Greeks:
    """Black-Scholes-Merton price and Greeks on spot, written through Black-76.

    The forward is ``F = S exp((r - q) T)`` (q: dividend yield, or the foreign rate for
    Garman-Kohlhagen FX options). With ``g = exp((r - q) T) = dF/dS`` and the Black-76
    Greeks ``G76`` at that forward (spot S, not F, held fixed when time moves)::

        delta = g delta76                 gamma = g^2 gamma76        vega  = vega76
        vanna = g vanna76                 volga = volga76
        theta = theta76 - (r - q) F delta76               (F drifts as T shrinks)
        rho   = rho76 + T F delta76                        (F moves with r)
        charm = -(r - q) delta + g (charm76 - (r - q) F gamma76)

    Parameters
    ----------
    kind : OptionKind, str, int or array-like
        Call or put.
    S, K : array_like
        Spot and strike, > 0.
    T : array_like
        Years, >= 0.
    sigma : array_like
        Volatility, decimal.
    r, q : array_like
        Continuously compounded domestic rate and dividend yield / foreign rate.

    Returns
    -------
    Greeks
        Per unit of spot; theta and charm per year; vega per 1.00 of vol.
    """
    S_, K_, T_, sig_, r_, q_ = (np.asarray(a, dtype=np.float64) for a in (S, K, T, sigma, r, q))
    with np.errstate(invalid="ignore", over="ignore"):
        carry = r_ - q_
        g = np.exp(carry * T_)
        F = S_ * g
        b = black76(kind, F, K_, T_, sig_, r_)
        delta = np.asarray(g * b.delta)
        return Greeks(
            price=b.price,
            delta=delta,
            gamma=np.asarray(g * g * b.gamma),
            vega=b.vega,
            theta=np.asarray(b.theta - carry * F * b.delta),
            rho=np.asarray(b.rho + T_ * F * b.delta),
            vanna=np.asarray(g * b.vanna),
            volga=b.volga,
            charm=np.asarray(-carry * delta + g * (b.charm - carry * F * b.gamma)),
        )


__all__ = [
    "Greeks",
    "RiskGreeks",
    "black76",
    "black76_delta",
    "black76_price",
    "black76_risk",
    "bsm",
]

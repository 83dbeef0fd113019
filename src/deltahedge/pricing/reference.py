"""Readable, slow twins of the fast kernels; the tests hold the compiled code to these.

Plain numpy with ``scipy.special.ndtr`` for N (a different implementation from the fast
path's Cody/erfc), textbook formulas written out in full (Haug 2007, "The Complete Guide
to Option Pricing Formulas", 2nd ed., sections 1.1-1.5 and 2.1-2.3), and ``bsm`` on spot
directly rather than through the forward, so the chain rule of ``pricing.bsm`` is checked
too. Implied vol: bisection on the price, 200 halvings (slow, needs no first guess).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtr

from deltahedge._typing import ArrayLike, FloatArray
from deltahedge.pricing._arrays import as_phi
from deltahedge.pricing.black76 import Greeks
from deltahedge.pricing.inverse import InverseGreeks


def _pdf(x: FloatArray) -> FloatArray:
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _bad(F: Any, K: Any, T: Any, sigma: Any, r: Any) -> Any:
    finite = np.isfinite(F) & np.isfinite(K) & np.isfinite(T) & np.isfinite(sigma)
    return ~(finite & np.isfinite(r) & (F > 0) & (K > 0) & (T >= 0) & (sigma >= 0))


def black76(
    kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, r: ArrayLike = 0.0
) -> Greeks:
    """Black-76 price and Greeks, same conventions and edge cases as ``pricing.black76``."""
    phi, F, K, T, sigma, r = np.broadcast_arrays(
        as_phi(kind), *(np.asarray(a, dtype=np.float64) for a in (F, K, T, sigma, r))
    )
    with np.errstate(all="ignore"):
        df = np.exp(-r * T)
        sqrt_t = np.sqrt(T)
        sst = sigma * sqrt_t
        d1 = np.log(F / K) / sst + 0.5 * sst
        d2 = d1 - sst
        n1 = _pdf(d1)
        price = df * phi * (F * ndtr(phi * d1) - K * ndtr(phi * d2))
        delta = df * phi * ndtr(phi * d1)
        gamma = df * n1 / (F * sst)
        vega = df * F * n1 * sqrt_t
        theta = r * price - df * F * n1 * sigma / (2.0 * sqrt_t)
        rho = -T * price
        vanna = -df * n1 * d2 / sigma
        volga = vega * d1 * d2 / sigma
        charm = r * delta + df * n1 * d2 / (2.0 * T)

        # expiry or zero vol: intrinsic value, step delta (midpoint at F == K)
        flat = sst == 0
        intrinsic = df * np.maximum(phi * (F - K), 0.0)
        step = np.where(F == K, 0.5, (phi * (F - K) > 0).astype(np.float64))
        price = np.where(flat, intrinsic, price)
        delta = np.where(flat, df * phi * step, delta)
        atm_limit = flat & (F == K) & (T > 0)
        vega = np.where(
            flat, np.where(atm_limit, df * F * sqrt_t / math.sqrt(2 * math.pi), 0), vega
        )
        vanna = np.where(
            flat, np.where(atm_limit, 0.5 * df * sqrt_t / math.sqrt(2 * math.pi), 0), vanna
        )
        gamma = np.where(flat, 0.0, gamma)
        volga = np.where(flat, 0.0, volga)
        theta = np.where(flat, r * price, theta)
        rho = np.where(flat, -T * price, rho)
        charm = np.where(flat, r * delta, charm)

    bad = _bad(F, K, T, sigma, r)
    fields = [price, delta, gamma, vega, theta, rho, vanna, volga, charm]
    return Greeks(*(np.where(bad, np.nan, v) for v in fields))


def bsm(
    kind: Any,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    sigma: ArrayLike,
    r: ArrayLike = 0.0,
    q: ArrayLike = 0.0,
) -> Greeks:
    """Generalised Black-Scholes-Merton on spot with carry b = r - q (Haug 2007, 2.1-2.3).

    Defined for T > 0 and sigma > 0 (the tests compare edge cases through ``black76``).
    """
    phi, S, K, T, sigma, r, q = np.broadcast_arrays(
        as_phi(kind), *(np.asarray(a, dtype=np.float64) for a in (S, K, T, sigma, r, q))
    )
    b = r - q
    sqrt_t = np.sqrt(T)
    d1 = (np.log(S / K) + (b + 0.5 * sigma**2) * T) / (sigma * sqrt_t)
    d2 = d1 - sigma * sqrt_t
    eq = np.exp((b - r) * T)  # e^{-qT}
    er = np.exp(-r * T)
    n1 = _pdf(d1)
    price = phi * (S * eq * ndtr(phi * d1) - K * er * ndtr(phi * d2))
    delta = phi * eq * ndtr(phi * d1)
    gamma = eq * n1 / (S * sigma * sqrt_t)
    vega = S * eq * n1 * sqrt_t
    theta = (
        -S * eq * n1 * sigma / (2 * sqrt_t)
        - phi * (b - r) * S * eq * ndtr(phi * d1)
        - phi * r * K * er * ndtr(phi * d2)
    )
    rho = phi * T * K * er * ndtr(phi * d2)
    vanna = -eq * n1 * d2 / sigma
    volga = vega * d1 * d2 / sigma
    # charm = d delta / dt (Haug 2.3.3 with the sign of calendar time)
    charm = -eq * (n1 * (b / (sigma * sqrt_t) - d2 / (2 * T)) + phi * (b - r) * ndtr(phi * d1))
    return Greeks(price, delta, gamma, vega, theta, rho, vanna, volga, charm)


def inverse_black76(
    kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike
) -> InverseGreeks:
    """Coin-settled Greeks from the USD Black-76 ones (derivations in ``pricing.inverse``)."""
    g = black76(kind, F, K, T, sigma, 0.0)
    F_ = np.broadcast_to(np.asarray(F, dtype=np.float64), g.price.shape)
    price_coin = g.price / F_
    delta_pa = g.delta - price_coin
    return InverseGreeks(
        price_coin=price_coin,
        price_usd=g.price,
        delta=g.delta,
        delta_premium_adjusted=delta_pa,
        gamma_usd=g.gamma,
        gamma_coin=g.gamma - delta_pa / F_,
        vega_usd=g.vega,
        vega_coin=g.vega / F_,
        theta_usd=g.theta,
        theta_coin=g.theta / F_,
    )


def implied_vol(
    price: ArrayLike, kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike = 0.0
) -> FloatArray:
    """Implied vol by bisection on sigma in [0, 20] (slow: for tests on small samples).

    NaN below intrinsic value, at or above the upper bound, or for invalid inputs.
    """
    phi, P, F, K, T, r = np.broadcast_arrays(
        as_phi(kind), *(np.asarray(a, dtype=np.float64) for a in (price, F, K, T, r))
    )
    out = np.full(P.shape, np.nan)
    for idx in np.ndindex(P.shape):
        args = (phi[idx], F[idx], K[idx], T[idx])
        p, rr = float(P[idx]), float(r[idx])
        if not np.isfinite(p) or float(_bad(F[idx], K[idx], T[idx], 0.0, rr)) or T[idx] == 0:
            continue
        intrinsic = float(black76(args[0], *args[1:], 0.0, rr).price)
        upper = math.exp(-rr * T[idx]) * (F[idx] if phi[idx] > 0 else K[idx])
        if p < intrinsic or p >= upper:
            continue
        lo, hi = 0.0, 20.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if float(black76(args[0], *args[1:], mid, rr).price) < p:
                lo = mid
            else:
                hi = mid
        out[idx] = 0.5 * (lo + hi)
    return out


__all__ = ["black76", "bsm", "implied_vol", "inverse_black76"]

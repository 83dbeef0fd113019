"""Black-76 on the forward (r = 0) for the surface code: price, delta, vega, implied vol.

Vectorised numpy; the surface needs only these four and must not wait on I/O-free
pricing kernels elsewhere. Price ``phi (F N(phi d1) - K N(phi d2))``, delta
``N(d1)`` for calls and ``N(d1) - 1`` for puts, vega ``F n(d1) sqrt(T)`` per 1.00 of vol
(Black 1976; Hull, "Options, Futures and Other Derivatives", ch. 18).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from deltahedge._typing import FloatArray


def _d1(F: FloatArray, K: FloatArray, T: FloatArray, sigma: FloatArray) -> FloatArray:
    sd = sigma * np.sqrt(T)
    return (np.log(F / K) + 0.5 * sd * sd) / sd


def black_price(phi, F, K, T, sigma):  # type: ignore[no-untyped-def]
    d1 = _d1(F, K, T, sigma)
    d2 = d1 - sigma * np.sqrt(T)
    return phi * (F * ndtr(phi * d1) - K * ndtr(phi * d2))


def black_delta(phi, F, K, T, sigma):  # type: ignore[no-untyped-def]
    return ndtr(_d1(F, K, T, sigma)) - (phi < 0)


def black_vega(F, K, T, sigma):  # type: ignore[no-untyped-def]
    d1 = _d1(F, K, T, sigma)
    return F * np.exp(-0.5 * d1 * d1) / np.sqrt(2.0 * np.pi) * np.sqrt(T)


def black_implied_vol(phi, F, K, T, price, n_iter: int = 60):  # type: ignore[no-untyped-def]
    """Implied vol by bisection on ``[1e-4, 10]`` (monotone in vol); NaN where no root."""
    phi, F, K, T, price = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (phi, F, K, T, price))
    )
    intrinsic = np.maximum(phi * (F - K), 0.0)
    upper = np.where(phi > 0, F, K)
    ok = np.isfinite(price) & (price > intrinsic) & (price < upper) & (T > 0)
    lo = np.full(price.shape, 1e-4)
    hi = np.full(price.shape, 10.0)
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        above = black_price(phi, F, K, T, mid) > price
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return np.where(ok, 0.5 * (lo + hi), np.nan)

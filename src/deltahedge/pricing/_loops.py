"""Compiled ufunc-style loops over flat arrays, writing into preallocated outputs.

Each input comes as a 1-D float64 array and a stride (0 for a broadcast scalar, 1 for a
full array), so a scalar rate or kind costs no copy. The loops call the scalar kernels
of ``kernels.py``; numba inlines them, so d1, d2, the density and the two distribution
values are computed once per option.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from deltahedge.pricing.kernels import (
    INV_SQRT_2PI,
    b76_delta,
    b76_greeks,
    b76_implied_vol_status,
    b76_price,
    b76_undiscounted,
)


@njit(cache=True, error_model="numpy")
def greeks_loop(phi, sp, F, sF, K, sK, T, sT, sig, ss, r, sr, out):  # type: ignore[no-untyped-def]
    """``out[j, i]`` = j-th Greek of option i (price, delta, ..., charm)."""
    n = out.shape[1]
    for i in range(n):
        g = b76_greeks(phi[i * sp], F[i * sF], K[i * sK], T[i * sT], sig[i * ss], r[i * sr])
        out[0, i] = g[0]
        out[1, i] = g[1]
        out[2, i] = g[2]
        out[3, i] = g[3]
        out[4, i] = g[4]
        out[5, i] = g[5]
        out[6, i] = g[6]
        out[7, i] = g[7]
        out[8, i] = g[8]


@njit(cache=True, error_model="numpy")
def core_greeks_loop(phi, sp, F, sF, K, sK, T, sT, sig, ss, r, sr, out):  # type: ignore[no-untyped-def]
    """``out[j, i]`` for j = price, delta, gamma, vega, theta: the book-risk subset."""
    n = out.shape[1]
    for i in range(n):
        p = phi[i * sp]
        f = F[i * sF]
        k = K[i * sK]
        t = T[i * sT]
        s = sig[i * ss]
        rr = r[i * sr]
        sqrt_t = math.sqrt(t)
        sst = s * sqrt_t
        ok = f > 0.0 and k > 0.0 and t >= 0.0 and s >= 0.0 and (p == 1.0 or p == -1.0)
        if ok and sst > 0.0 and math.isfinite(f + k + t + s + rr):
            df = math.exp(-rr * t) if rr != 0.0 else 1.0
            d1 = math.log(f / k) / sst + 0.5 * sst
            d2 = d1 - sst
            pdf = INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)
            value, nd1 = b76_undiscounted(p, f, k, d1, d2, pdf)
            dfpdf = df * pdf
            price = df * value
            out[0, i] = price
            out[1, i] = df * p * nd1
            out[2, i] = dfpdf / (f * sst)
            out[3, i] = dfpdf * f * sqrt_t
            out[4, i] = rr * price - dfpdf * f * s / (2.0 * sqrt_t)
        else:
            g = b76_greeks(p, f, k, t, s, rr)
            out[0, i] = g[0]
            out[1, i] = g[1]
            out[2, i] = g[2]
            out[3, i] = g[3]
            out[4, i] = g[4]


@njit(cache=True, error_model="numpy")
def price_loop(phi, sp, F, sF, K, sK, T, sT, sig, ss, r, sr, out):  # type: ignore[no-untyped-def]
    for i in range(out.shape[0]):
        out[i] = b76_price(phi[i * sp], F[i * sF], K[i * sK], T[i * sT], sig[i * ss], r[i * sr])


@njit(cache=True, error_model="numpy")
def delta_loop(phi, sp, F, sF, K, sK, T, sT, sig, ss, r, sr, out):  # type: ignore[no-untyped-def]
    for i in range(out.shape[0]):
        out[i] = b76_delta(phi[i * sp], F[i * sF], K[i * sK], T[i * sT], sig[i * ss], r[i * sr])


@njit(cache=True, error_model="numpy")
def inverse_loop(phi, sp, F, sF, K, sK, T, sT, sig, ss, out):  # type: ignore[no-untyped-def]
    """Coin-settled Greeks (r = 0); rows as in ``InverseGreeks``."""
    n = out.shape[1]
    for i in range(n):
        p = phi[i * sp]
        f = F[i * sF]
        g = b76_greeks(p, f, K[i * sK], T[i * sT], sig[i * ss], 0.0)
        price_usd = g[0]
        delta = g[1]
        price_coin = price_usd / f
        delta_pa = delta - price_coin
        out[0, i] = price_coin
        out[1, i] = price_usd
        out[2, i] = delta
        out[3, i] = delta_pa
        out[4, i] = g[2]  # gamma_usd
        out[5, i] = g[2] - delta_pa / f  # gamma_coin = d delta_pa / dF
        out[6, i] = g[3]  # vega_usd
        out[7, i] = g[3] / f  # vega_coin
        out[8, i] = g[4]  # theta_usd
        out[9, i] = g[4] / f  # theta_coin


@njit(cache=True, error_model="numpy")
def implied_vol_loop(price, spr, phi, sp, F, sF, K, sK, T, sT, r, sr, out, status):  # type: ignore[no-untyped-def]
    for i in range(out.shape[0]):
        v, c = b76_implied_vol_status(
            price[i * spr], phi[i * sp], F[i * sF], K[i * sK], T[i * sT], r[i * sr]
        )
        out[i] = v
        status[i] = c


def empty_status(n: int) -> np.ndarray:
    return np.empty(n, dtype=np.int8)


__all__ = [
    "core_greeks_loop",
    "delta_loop",
    "empty_status",
    "greeks_loop",
    "implied_vol_loop",
    "inverse_loop",
    "price_loop",
]

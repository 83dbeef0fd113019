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

from deltahedge.pricing._special import tail_and_erf_branchless
from deltahedge.pricing.kernels import (
    ERF_SMALL_D,
    FM,
    INV_SQRT_2PI,
    b76_greeks,
    b76_implied_vol_status,
)

_BLOCK = 256


@njit(cache=True, error_model="numpy", fastmath=FM)
def greeks_loop(phi, sp, F, sF, K, sK, T, sT, sig, ss, r, sr, out):  # type: ignore[no-untyped-def]
    """``out[j, i]`` = j-th Greek of option i: price, delta, gamma, vega, theta, then (when
    ``out`` has 9 rows) rho, vanna, volga, charm. Five rows give the book-risk subset.

    The hot path of book risk, in blocks of 256 options, as alternating passes so that
    everything but the C library's log and exp compiles to SIMD code: (1) gather the
    inputs and take ln(F/K); (2) SIMD: sqrt(T), d1, d2, validity; (3) exp for n(d1) (and
    the discount factor), ``n(d2) = n(d1) F/K``; (4) SIMD: Cody's rationals for both
    distribution values, the near-the-money erf form and the Greeks; (5) copy out, and
    redo edge cases (T = 0, sigma = 0, invalid inputs) with ``b76_greeks``. Same
    formulas as ``b76_greeks``.
    """
    n = out.shape[1]
    rows = out.shape[0]
    blk = np.empty((14, _BLOCK))  # p f k s r d1 d2 pdf pdf2 sqrt(T) 1/(s sqrt T) DF ok T
    res = np.empty((9, _BLOCK))
    for b0 in range(0, n, _BLOCK):
        m = min(_BLOCK, n - b0)
        for j in range(m):  # (1) gather, one log
            i = b0 + j
            f = F[i * sF]
            k = K[i * sK]
            blk[0, j] = phi[i * sp]
            blk[1, j] = f
            blk[2, j] = k
            blk[3, j] = sig[i * ss]
            blk[4, j] = r[i * sr]
            blk[13, j] = T[i * sT]
            blk[5, j] = math.log(f / k)
        for j in range(m):  # (2) SIMD
            p = blk[0, j]
            f = blk[1, j]
            k = blk[2, j]
            s = blk[3, j]
            t = blk[13, j]
            sqrt_t = math.sqrt(t)
            sst = s * sqrt_t
            inv = 1.0 / sst
            d1 = blk[5, j] * inv + 0.5 * sst
            ok = (f > 0.0) & (k > 0.0) & (sst > 0.0) & ((p == 1.0) | (p == -1.0))
            ok = ok & (abs(f + k + t + s + blk[4, j]) < math.inf)
            blk[5, j] = d1
            blk[6, j] = d1 - sst
            blk[7, j] = -0.5 * d1 * d1
            blk[8, j] = f / k
            blk[9, j] = sqrt_t
            blk[10, j] = inv
            blk[12, j] = 1.0 if ok else 0.0
        for j in range(m):  # (3) exp
            pdf = INV_SQRT_2PI * math.exp(blk[7, j])
            pdf2 = pdf * blk[8, j]
            if not (pdf > 1e-280 and pdf2 < 1e300):
                d2 = blk[6, j]
                pdf2 = INV_SQRT_2PI * math.exp(-0.5 * d2 * d2)
            blk[7, j] = pdf
            blk[8, j] = pdf2
            rr = blk[4, j]
            blk[11, j] = math.exp(-rr * blk[13, j]) if rr != 0.0 else 1.0
        for j in range(m):  # (4) SIMD
            p = blk[0, j]
            f = blk[1, j]
            k = blk[2, j]
            s = blk[3, j]
            rr = blk[4, j]
            d1 = blk[5, j]
            d2 = blk[6, j]
            pd1 = p * d1
            pd2 = p * d2
            t1, e1 = tail_and_erf_branchless(pd1, blk[7, j])
            t2, e2 = tail_and_erf_branchless(pd2, blk[8, j])
            nd1 = t1 if pd1 < 0.0 else 1.0 - t1
            nd2 = t2 if pd2 < 0.0 else 1.0 - t2
            value = p * (f * nd1 - k * nd2)
            # near the money: phi (F - K)/2 + (F erf(d1/sqrt2) - K erf(d2/sqrt2))/2
            e1s = e1 if d1 >= 0.0 else -e1
            e2s = e2 if d2 >= 0.0 else -e2
            near = abs(d1) <= ERF_SMALL_D and abs(d2) <= ERF_SMALL_D
            value = 0.5 * p * (f - k) + 0.5 * (f * e1s - k * e2s) if near else value
            nd1 = 0.5 + 0.5 * p * e1s if near else nd1
            value = max(value, max(p * (f - k), 0.0))
            df = blk[11, j]
            dfpdf = df * blk[7, j]
            price = df * value
            t = blk[13, j]
            delta = df * p * nd1
            vega = dfpdf * f * blk[9, j]
            res[0, j] = price
            res[1, j] = delta
            res[2, j] = dfpdf * blk[10, j] / f
            res[3, j] = vega
            res[4, j] = rr * price - 0.5 * dfpdf * f * s / blk[9, j]
            res[5, j] = -t * price
            res[6, j] = -dfpdf * d2 / s
            res[7, j] = vega * d1 * d2 / s
            res[8, j] = rr * delta + 0.5 * dfpdf * d2 / t
        for q in range(rows):  # (5) copy out, then redo the edge cases
            for j in range(m):
                out[q, b0 + j] = res[q, j]
        for j in range(m):
            if blk[12, j] == 0.0:
                i = b0 + j
                g = b76_greeks(phi[i * sp], F[i * sF], K[i * sK], T[i * sT], sig[i * ss], r[i * sr])
                for q in range(rows):
                    out[q, i] = g[q]


@njit(cache=True, error_model="numpy")
def inverse_loop(phi, sp, F, sF, K, sK, T, sT, sig, ss, out):  # type: ignore[no-untyped-def]
    """Coin-settled Greeks (r = 0); rows as in ``InverseGreeks``.

    The USD Greeks come from ``greeks_loop`` (rows 0-4 of a scratch block), then each is
    turned into its coin view (derivations in ``pricing.inverse``).
    """
    n = out.shape[1]
    usd = np.empty((5, n))
    zero = np.zeros(1)
    greeks_loop(phi, sp, F, sF, K, sK, T, sT, sig, ss, zero, 0, usd)
    for i in range(n):
        f = F[i * sF]
        price_usd = usd[0, i]
        delta = usd[1, i]
        price_coin = price_usd / f
        delta_pa = delta - price_coin
        out[0, i] = price_coin
        out[1, i] = price_usd
        out[2, i] = delta
        out[3, i] = delta_pa
        out[4, i] = usd[2, i]  # gamma_usd
        out[5, i] = usd[2, i] - delta_pa / f  # gamma_coin = d delta_pa / dF
        out[6, i] = usd[3, i]  # vega_usd
        out[7, i] = usd[3, i] / f  # vega_coin
        out[8, i] = usd[4, i]  # theta_usd
        out[9, i] = usd[4, i] / f  # theta_coin


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
    "empty_status",
    "greeks_loop",
    "implied_vol_loop",
    "inverse_loop",
]

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

from deltahedge.pricing._special import (
    INV_SQRT2,
    NEAR_Y,
    tail_and_erf_branchless,
    tail_and_erf_near,
)
from deltahedge.pricing._vmath import exp_in_range, log_in_range, vexp, vlog
from deltahedge.pricing.kernels import (
    ERF_SMALL_D,
    FM,
    INV_SQRT_2PI,
    b76_greeks,
    b76_implied_vol_status,
)

_BLOCK = 256


@njit(cache=True, error_model="numpy", inline="always")
def _gather(blk, row, src, stride, b0, m):  # type: ignore[no-untyped-def]
    # blk[row, :m] = the options b0 .. b0 + m - 1 of a (flat array, stride 0 or 1) input
    if stride == 0:
        c = src[0]
        for j in range(m):
            blk[row, j] = c
    elif stride == 1:
        v = src[b0 : b0 + m]
        for j in range(m):
            blk[row, j] = v[j]
    else:
        for j in range(m):
            blk[row, j] = src[(b0 + j) * stride]


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def _risk_from_tails(p, f, k, s, rr, d1, d2, df, pdf, sqrt_t, inv, t1, e1, t2, e2):  # type: ignore[no-untyped-def]
    # price, delta, gamma, vega, theta and DF n(d1), given t = N(-|phi d|) and
    # e = erf(|d|/sqrt 2) for d1 and d2 (scalars only: array arguments of an inlined
    # function cost reference counting, which stops the vectoriser)
    nd1 = t1 if p * d1 < 0.0 else 1.0 - t1
    nd2 = t2 if p * d2 < 0.0 else 1.0 - t2
    value = p * (f * nd1 - k * nd2)
    # near the money: phi (F - K)/2 + (F erf(d1/sqrt2) - K erf(d2/sqrt2))/2
    e1s = e1 if d1 >= 0.0 else -e1
    e2s = e2 if d2 >= 0.0 else -e2
    near = (abs(d1) <= ERF_SMALL_D) & (abs(d2) <= ERF_SMALL_D)
    value = 0.5 * p * (f - k) + 0.5 * (f * e1s - k * e2s) if near else value
    nd1 = 0.5 + 0.5 * p * e1s if near else nd1
    value = max(value, max(p * (f - k), 0.0))
    dfpdf = df * pdf
    price = df * value
    gamma = dfpdf * inv / f
    vega = dfpdf * f * sqrt_t
    theta = rr * price - 0.5 * dfpdf * f * (s * s) * inv  # s / sqrt(T) = s^2 inv: no division
    return price, df * p * nd1, gamma, vega, theta, dfpdf


@njit(cache=True, error_model="numpy", fastmath=FM)
def greeks_loop(phi, sp, F, sF, K, sK, T, sT, sig, ss, r, sr, out):  # type: ignore[no-untyped-def]
    """``out[j, i]`` = j-th Greek of option i: price, delta, gamma, vega, theta, then (when
    ``out`` has 9 rows) rho, vanna, volga, charm. Five rows give the book-risk subset.

    The hot path of book risk, in blocks of 256 options, as passes that each compile to
    SIMD code: (1) gather the inputs; (2) F/K and ln(F/K) by ``_vmath.vlog``; (3)
    sqrt(T), d1, d2, validity; (4) n(d1) by ``_vmath.vexp``, ``n(d2) = n(d1) F/K``, and
    the discount factor; (5) Cody's rationals for both distribution values (the first
    two ranges only when no |d| of the block reaches the third, |d| > 4 sqrt 2), the
    near-the-money erf form and the Greeks (rho, vanna, volga, charm only for 9 rows);
    copy out; (6) redo edge cases (T = 0, sigma = 0, invalid inputs) with
    ``b76_greeks``. Arguments outside the range of the fast exp and log, and densities
    that underflow, take the C library's (scalar) functions. Passes are kept small: one
    fused pass measured slower (register spills). Same formulas as ``b76_greeks``.
    """
    n = out.shape[1]
    rows = out.shape[0]
    # p f k s r d1 d2 pdf pdf2 sqrt(T) 1/(s sqrt T) DF ok T F/K DF*pdf
    blk = np.empty((16, _BLOCK))
    res = np.empty((9, _BLOCK))
    no_rate = sr == 0 and r[0] == 0.0
    for b0 in range(0, n, _BLOCK):
        m = min(_BLOCK, n - b0)
        # (1) gather (numba wraps negative indices: a block view keeps the index >= 0, so
        # the copies vectorise)
        _gather(blk, 0, phi, sp, b0, m)
        _gather(blk, 1, F, sF, b0, m)
        _gather(blk, 2, K, sK, b0, m)
        _gather(blk, 3, sig, ss, b0, m)
        _gather(blk, 4, r, sr, b0, m)
        _gather(blk, 13, T, sT, b0, m)
        nbad = 0
        for j in range(m):  # (2) SIMD: F/K and ln(F/K)
            q = blk[1, j] / blk[2, j]
            blk[14, j] = q
            blk[5, j] = vlog(q)
            nbad += not log_in_range(q)
        nedge = 0
        for j in range(m):  # (3) SIMD: d1, d2, validity
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
            blk[9, j] = sqrt_t
            blk[10, j] = inv
            blk[12, j] = 1.0 if ok else 0.0
            nedge += not ok
        for j in range(m):  # (4) SIMD: n(d1), n(d2) = n(d1) F/K
            d1 = blk[5, j]
            a = -0.5 * d1 * d1
            pdf = INV_SQRT_2PI * vexp(a)
            pdf2 = pdf * blk[14, j]
            blk[7, j] = pdf
            blk[8, j] = pdf2
            nbad += not (exp_in_range(a) & (pdf > 1e-280) & (pdf2 < 1e300))
        if nbad:  # the C library's log and exp where the fast ones do not hold
            for j in range(m):
                q = blk[14, j]
                d1 = blk[5, j]
                a = -0.5 * d1 * d1
                pdf = blk[7, j]
                if log_in_range(q) and exp_in_range(a) and pdf > 1e-280 and blk[8, j] < 1e300:
                    continue
                sst = blk[3, j] * blk[9, j]
                d1 = math.log(q) * blk[10, j] + 0.5 * sst
                d2 = d1 - sst
                pdf = INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)
                pdf2 = pdf * q
                if not (pdf > 1e-280 and pdf2 < 1e300):
                    pdf2 = INV_SQRT_2PI * math.exp(-0.5 * d2 * d2)
                blk[5, j] = d1
                blk[6, j] = d2
                blk[7, j] = pdf
                blk[8, j] = pdf2
        nfar = nbad  # the lanes fixed above may lie anywhere
        for j in range(m):
            nfar += (abs(blk[5, j]) * INV_SQRT2 > NEAR_Y) | (abs(blk[6, j]) * INV_SQRT2 > NEAR_Y)
        if no_rate:
            for j in range(m):
                blk[11, j] = 1.0
        else:
            nbad = 0
            for j in range(m):
                a = -blk[4, j] * blk[13, j]
                blk[11, j] = vexp(a)
                nbad += not exp_in_range(a)
            if nbad:
                for j in range(m):
                    rr = blk[4, j]
                    a = -rr * blk[13, j]
                    if not exp_in_range(a):
                        blk[11, j] = math.exp(a) if rr != 0.0 else 1.0
        # (5) SIMD: N(phi d1), N(phi d2), the Greeks; Cody's third range only when needed
        if nfar:
            for j in range(m):
                pd1 = blk[0, j] * blk[5, j]
                pd2 = blk[0, j] * blk[6, j]
                t1, e1 = tail_and_erf_branchless(pd1, blk[7, j])
                t2, e2 = tail_and_erf_branchless(pd2, blk[8, j])
                g = _risk_from_tails(
                    blk[0, j], blk[1, j], blk[2, j], blk[3, j], blk[4, j], blk[5, j], blk[6, j],
                    blk[11, j], blk[7, j], blk[9, j], blk[10, j], t1, e1, t2, e2,
                )  # fmt: skip
                res[0, j] = g[0]
                res[1, j] = g[1]
                res[2, j] = g[2]
                res[3, j] = g[3]
                res[4, j] = g[4]
                blk[15, j] = g[5]
        else:
            for j in range(m):
                pd1 = blk[0, j] * blk[5, j]
                pd2 = blk[0, j] * blk[6, j]
                t1, e1 = tail_and_erf_near(pd1, blk[7, j])
                t2, e2 = tail_and_erf_near(pd2, blk[8, j])
                g = _risk_from_tails(
                    blk[0, j], blk[1, j], blk[2, j], blk[3, j], blk[4, j], blk[5, j], blk[6, j],
                    blk[11, j], blk[7, j], blk[9, j], blk[10, j], t1, e1, t2, e2,
                )  # fmt: skip
                res[0, j] = g[0]
                res[1, j] = g[1]
                res[2, j] = g[2]
                res[3, j] = g[3]
                res[4, j] = g[4]
                blk[15, j] = g[5]
        if rows == 9:
            for j in range(m):
                s = blk[3, j]
                t = blk[13, j]
                d1 = blk[5, j]
                d2 = blk[6, j]
                dfpdf = blk[15, j]
                res[5, j] = -t * res[0, j]
                res[6, j] = -dfpdf * d2 / s
                res[7, j] = res[3, j] * d1 * d2 / s
                res[8, j] = blk[4, j] * res[1, j] + 0.5 * dfpdf * d2 / t
        ob = out[:, b0 : b0 + m]
        for q in range(rows):  # copy out
            for j in range(m):
                ob[q, j] = res[q, j]
        if nedge:  # (6) T = 0, sigma = 0, invalid inputs
            for j in range(m):
                if blk[12, j] == 0.0:
                    i = b0 + j
                    g = b76_greeks(
                        phi[i * sp], F[i * sF], K[i * sK], T[i * sT], sig[i * ss], r[i * sr]
                    )
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
def implied_vol_scalar_loop(price, spr, phi, sp, F, sF, K, sK, T, sT, r, sr, out, status):  # type: ignore[no-untyped-def]
    """``b76_implied_vol_status`` option by option: the plain twin of
    ``_iv_block.implied_vol_loop`` (which the public functions use)."""
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
    "implied_vol_scalar_loop",
    "inverse_loop",
]

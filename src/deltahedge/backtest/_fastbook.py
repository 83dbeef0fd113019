"""The simulator's hot path in SIMD passes: a book's Black-76 delta and mark per step.

``simulator._book_greeks`` walks the legs one at a time with the C library's ``erfc``:
one call per leg for the delta, and on a book marked on SVI slices two more for the
price at the surface vol (about 60 ns per leg and marked step on the 10-option bench
book). For the common case (Black-76 delta at each leg's own vol, times Leland's or a
flat-vol factor; the mark at the leg's vol or sticky moneyness on its SVI slice) this
module computes the same numbers as straight-line passes over the legs, which numba
compiles to AVX2 code, as ``pricing._loops`` does for book risk: the density by
``pricing._vmath.vexp`` (``n(d2) = n(d1) F/K`` for the price), the tails by Cody's
rationals times that density (``pricing._special``; the first two ranges only, unless a
live leg has ``|d| > 4 sqrt 2``). Both are within a few ulps of the ``erfc`` form, so
deltas, marks and PnL agree with ``_book_greeks`` to rounding (tests/backtest/
test_fastbook.py holds them to each other and to the pure-Python twin).

``book_fast`` is inlined into ``simulator._sim_kernel``, which therefore compiles with
``error_model="numpy"`` (no zero-division branch that stops the vectoriser) and FMA
contraction (the polynomials are latency-bound: a step is one chain from ln F to the
policy). Inlined, it ran the bench book at about twice the speed of a call: numba's
reference counting on each call's seven arrays, and no FMA without contraction. Below
``use_simd``'s size the scalar loop is faster (a pass has a fixed cost of ~60 ns).

Legs are the columns of ``leg_rows`` (rows ``R_*``); the leg count is padded to a
multiple of ``LANES`` with zero-quantity legs far from expiry so every pass runs whole
vectors. Settled legs keep a zero quantity in the per-path copy ``qe`` (their value is in
``st[ST_SETTLED]``), so the passes need no per-leg branch.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.pricing._special import (
    FM,
    INV_SQRT_2PI,
    NEAR_Y,
    SQRT2,
    tail_and_erf_branchless,
    tail_and_erf_near,
)
from deltahedge.pricing._vmath import EXP_MAX, vexp

__all__ = [
    "LANES",
    "N_SCRATCH",
    "ST_MIN_EXPIRY",
    "ST_SETTLED",
    "book_fast",
    "leg_rows",
    "use_simd",
]

#: legs per AVX2 vector of float64
LANES = 4
#: rows of leg_rows
R_CP, R_K, R_LNK, R_QTY, R_EXP, R_VOL, R_VOL0, R_SVI = 0, 1, 2, 3, 4, 5, 6, 7
N_ROWS = R_SVI + 6
#: rows of the per-path scratch: x = ln(F/K), sqrt(tau), d1, n(d1), d2, n(d2), output
S_X, S_SQT, S_D1, S_PDF1, S_D2, S_PDF2, S_OUT = 0, 1, 2, 3, 4, 5, 6
N_SCRATCH = 7
#: |d| up to which Cody's first two ranges hold (tail_and_erf_near)
_NEAR_D = NEAR_Y * SQRT2
#: per-path state: value of the settled legs (USD), earliest expiry of a live leg (years)
ST_SETTLED, ST_MIN_EXPIRY = 0, 1
_PAD_EXPIRY = 1e6  # years: a padding leg never expires in a run


def leg_rows(
    cp: FloatArray,
    strike: FloatArray,
    expiry: FloatArray,
    qty: FloatArray,
    vol: FloatArray,
    mult: FloatArray,
    svi: FloatArray,
) -> FloatArray:
    """The legs as the columns of one C-contiguous array, padded to a multiple of LANES.

    Rows: cp, strike (USD), ln strike, qty, expiry (years), vol (per year^0.5), the delta
    vol ``vol * mult`` and the six raw-SVI parameters ``(a, b, rho, m, sigma, t)``.
    Padding legs have zero quantity, strike 1, vol 1, expiry 1e6 years and a flat slice.
    """
    n = len(cp)
    m = -(-n // LANES) * LANES
    out = np.zeros((N_ROWS, m))
    out[R_CP] = 1.0
    out[R_K] = 1.0
    out[R_EXP] = _PAD_EXPIRY
    out[R_VOL] = 1.0
    out[R_VOL0] = 1.0
    out[R_SVI, n:] = 1.0  # a = 1, b = 0, s = 1, t = 1: vol 1
    out[R_SVI + 4, n:] = 1.0
    out[R_SVI + 5, n:] = 1.0
    out[R_CP, :n] = cp
    out[R_K, :n] = strike
    out[R_LNK, :n] = np.log(strike)
    out[R_QTY, :n] = qty
    out[R_EXP, :n] = expiry
    out[R_VOL, :n] = vol
    out[R_VOL0, :n] = vol * mult
    out[R_SVI : R_SVI + 6, :n] = np.asarray(svi, dtype=np.float64).T
    return out


def use_simd(n_leg: int, svi: bool, delta_vol: FloatArray) -> bool:
    """Whether ``book_fast`` beats ``simulator._book_greeks`` for this book (measured:
    from 8 legs, or 4 marked on SVI slices; below, the scalar ``erfc`` loop is faster),
    and holds for it (every delta vol > 0, per year^0.5: a zero one takes the payoff's
    slope in ``_book_greeks``).
    """
    return (n_leg >= 8 or (svi and n_leg >= 4)) and bool(np.all(np.asarray(delta_vol) > 0.0))


@nb.njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def _density(d: float) -> float:
    # n(d) by vexp; 0 beyond vexp's range (N(-|d|) < 1e-300 there, as erfc's underflow)
    a = -0.5 * d * d
    pdf = INV_SQRT_2PI * vexp(max(a, -EXP_MAX))
    return pdf if a >= -EXP_MAX else 0.0


@nb.njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def _cdf_far(cp: float, d: float, pdf: float) -> float:
    # N(cp d) given pdf = n(d), any d
    tail, _ = tail_and_erf_branchless(d, pdf)
    return tail if cp * d < 0.0 else 1.0 - tail


@nb.njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def _cdf_near(cp: float, d: float, pdf: float) -> float:
    # N(cp d) given pdf = n(d), |d| <= NEAR_Y sqrt 2 only
    tail, _ = tail_and_erf_near(d, pdf)
    return tail if cp * d < 0.0 else 1.0 - tail


@nb.njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def book_fast(
    f: float,
    t: float,
    lr: np.ndarray,
    n_leg: int,
    qe: np.ndarray,
    st: np.ndarray,
    scr: np.ndarray,
    settled: np.ndarray,
    settle_val: np.ndarray,
    need_price: bool,
    use_svi: bool,
) -> tuple[float, float]:
    """(value, delta) of the book at forward ``f`` (USD) and time ``t`` (years).

    ``qe`` is the path's copy of the quantities (zeroed as legs settle) and ``st`` its
    state (``ST_*``; ``st[ST_MIN_EXPIRY]`` starts at the earliest expiry). A leg settles
    at ``F`` once ``expiry - t <= 1e-12``, as in ``simulator._book_greeks``. The delta is
    Black-76 at each leg's delta vol; the value (0 without ``need_price``) is at the
    leg's vol, or sticky moneyness on its SVI slice with ``use_svi``.
    """
    if st[ST_MIN_EXPIRY] - t <= 1e-12:  # a leg expires: settle it (rare, scalar)
        nxt = math.inf
        for i in range(n_leg):
            if settled[i]:
                continue
            if lr[R_EXP, i] - t <= 1e-12:
                pay = lr[R_CP, i] * (f - lr[R_K, i])
                settle_val[i] = pay if pay > 0.0 else 0.0
                settled[i] = True
                qe[i] = 0.0
                st[ST_SETTLED] += lr[R_QTY, i] * settle_val[i]
            elif lr[R_EXP, i] < nxt:
                nxt = lr[R_EXP, i]
        st[ST_MIN_EXPIRY] = nxt
    lf = math.log(f)
    m = lr.shape[1]
    far = 0
    for i in range(m):  # SIMD: d1 at the delta vol and its density
        x = lf - lr[R_LNK, i]
        te = lr[R_EXP, i] - t
        sqt = math.sqrt(te) if te > 0.0 else 1.0  # settled legs: any finite value
        sq0 = lr[R_VOL0, i] * sqt
        d = x / sq0 + 0.5 * sq0
        scr[S_X, i] = x
        scr[S_SQT, i] = sqt
        scr[S_D1, i] = d
        scr[S_PDF1, i] = _density(d)
        far += (abs(d) > _NEAR_D) & (qe[i] != 0.0)  # padding and settled legs: any value
    if far:
        for i in range(m):
            cp = lr[R_CP, i]
            scr[S_OUT, i] = qe[i] * (cp * _cdf_far(cp, scr[S_D1, i], scr[S_PDF1, i]))
    else:
        for i in range(m):
            cp = lr[R_CP, i]
            scr[S_OUT, i] = qe[i] * (cp * _cdf_near(cp, scr[S_D1, i], scr[S_PDF1, i]))
    dlt = 0.0
    for i in range(n_leg):
        dlt += scr[S_OUT, i]
    if not need_price:
        return 0.0, dlt
    if use_svi:
        for i in range(m):  # SIMD: the leg's vol on its slice at k = ln(K/F)
            km = -scr[S_X, i] - lr[R_SVI + 3, i]
            s = lr[R_SVI + 4, i]
            r = math.sqrt(km * km + s * s)
            w = lr[R_SVI, i] + lr[R_SVI + 1, i] * (lr[R_SVI + 2, i] * km + r)
            w = max(w, 1e-12)
            scr[S_OUT, i] = math.sqrt(w / lr[R_SVI + 5, i])
    else:
        for i in range(m):
            scr[S_OUT, i] = lr[R_VOL, i]
    far = 0
    for i in range(m):  # SIMD: d1, d2 at that vol, n(d1) and n(d2) = n(d1) F / K
        sq = scr[S_OUT, i] * scr[S_SQT, i]
        d1 = scr[S_X, i] / sq + 0.5 * sq
        d2 = d1 - sq
        pdf = _density(d1)
        scr[S_D1, i] = d1
        scr[S_PDF1, i] = pdf
        scr[S_D2, i] = d2
        scr[S_PDF2, i] = pdf * (f / lr[R_K, i])
        far += ((abs(d1) > _NEAR_D) | (abs(d2) > _NEAR_D)) & (qe[i] != 0.0)
    if far:  # n(d1) may underflow where n(d2) does not: each its own density
        for i in range(m):
            cp = lr[R_CP, i]
            n1 = _cdf_far(cp, scr[S_D1, i], scr[S_PDF1, i])
            n2 = _cdf_far(cp, scr[S_D2, i], _density(scr[S_D2, i]))
            scr[S_OUT, i] = qe[i] * (cp * (f * n1 - lr[R_K, i] * n2))
    else:
        for i in range(m):
            cp = lr[R_CP, i]
            n1 = _cdf_near(cp, scr[S_D1, i], scr[S_PDF1, i])
            n2 = _cdf_near(cp, scr[S_D2, i], scr[S_PDF2, i])
            scr[S_OUT, i] = qe[i] * (cp * (f * n1 - lr[R_K, i] * n2))
    val = st[ST_SETTLED]
    for i in range(n_leg):
        val += scr[S_OUT, i]
    return val, dlt

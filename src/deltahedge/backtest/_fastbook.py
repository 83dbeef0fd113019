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
from deltahedge.backtest._b76 import density
from deltahedge.pricing._special import (
    FM,
    NEAR_Y,
    SQRT2,
    tail_and_erf_branchless,
    tail_and_erf_near,
)
from deltahedge.pricing._vmath import vlog

__all__ = [
    "BLOCK",
    "LANES",
    "N_BLOCK_ROWS",
    "N_SCRATCH",
    "ST_MIN_EXPIRY",
    "ST_SETTLED",
    "book_fast",
    "fill_block",
    "leg_rows",
    "settle_steps",
    "use_blocks",
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
def _slice_vol(lr: np.ndarray, i: int, k: float) -> float:
    # leg i's implied vol on its raw SVI slice at log-moneyness k = ln(K/F)
    km = k - lr[R_SVI + 3, i]
    s = lr[R_SVI + 4, i]
    w = lr[R_SVI, i] + lr[R_SVI + 1, i] * (lr[R_SVI + 2, i] * km + math.sqrt(km * km + s * s))
    return math.sqrt(max(w, 1e-12) / lr[R_SVI + 5, i])


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
        scr[S_PDF1, i] = density(d)
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
            scr[S_OUT, i] = _slice_vol(lr, i, -scr[S_X, i])
    else:
        for i in range(m):
            scr[S_OUT, i] = lr[R_VOL, i]
    far = 0
    for i in range(m):  # SIMD: d1, d2 at that vol, n(d1) and n(d2) = n(d1) F / K
        sq = scr[S_OUT, i] * scr[S_SQT, i]
        d1 = scr[S_X, i] / sq + 0.5 * sq
        d2 = d1 - sq
        pdf = density(d1)
        scr[S_D1, i] = d1
        scr[S_PDF1, i] = pdf
        scr[S_D2, i] = d2
        scr[S_PDF2, i] = pdf * (f / lr[R_K, i])
        far += ((abs(d1) > _NEAR_D) | (abs(d2) > _NEAR_D)) & (qe[i] != 0.0)
    if far:  # n(d1) may underflow where n(d2) does not: each its own density
        for i in range(m):
            cp = lr[R_CP, i]
            n1 = _cdf_far(cp, scr[S_D1, i], scr[S_PDF1, i])
            n2 = _cdf_far(cp, scr[S_D2, i], density(scr[S_D2, i]))
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


#: steps per block of ``fill_block`` (the scratch is (N_BLOCK_ROWS, BLOCK) per path)
BLOCK = 256
#: rows of the block scratch: ln F, d, n(d), d2, n(d2), output
B_LF, B_D, B_PDF, B_D2, B_PDF2, B_OUT = 0, 1, 2, 3, 4, 5
N_BLOCK_ROWS = 6


def use_blocks(simd: bool, every: int, delta_vol: FloatArray, vol: FloatArray) -> bool:
    """Whether the simulator takes ``fill_block``: a book below ``use_simd``'s size, with
    a decision every step and positive delta vols and vols (per year^0.5): its delta and
    mark depend on the path's forward and the time only, so they are computed ahead, a
    block of steps at a time, in passes over the steps that compile to AVX2 code.
    """
    return (
        not simd
        and every == 1
        and bool(np.all(np.asarray(delta_vol) > 0.0))
        and bool(np.all(np.asarray(vol) > 0.0))
    )


@nb.njit(cache=True)
def settle_steps(lr: np.ndarray, n_leg: int, dt: float, n_steps: int) -> np.ndarray:
    """Per leg, the first step ``j`` with ``expiry - j dt <= 1e-12`` (the step it settles
    on in ``simulator._book_greeks``), or ``n_steps + 1`` when it outlives the run."""
    js = np.full(n_leg, n_steps + 1, dtype=np.int64)
    for i in range(n_leg):
        for j in range(n_steps + 1):
            if lr[R_EXP, i] - j * dt <= 1e-12:
                js[i] = j
                break
    return js


@nb.njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def _leg_mark(lr: np.ndarray, i: int, use_svi: bool, f: float, x: float, te: float) -> float:
    # Black-76 price of one unit of leg i at f (x = ln(F/K), te = time left > 0) at the
    # leg's vol, or sticky moneyness on its SVI slice; book_fast's formulas
    vol = _slice_vol(lr, i, -x) if use_svi else lr[R_VOL, i]
    sq = vol * math.sqrt(te)
    d1 = x / sq + 0.5 * sq
    d2 = d1 - sq
    cp = lr[R_CP, i]
    n1 = _cdf_far(cp, d1, density(d1))
    n2 = _cdf_far(cp, d2, density(d2))
    return cp * (f * n1 - lr[R_K, i] * n2)


@nb.njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def fill_block(
    fbuf: np.ndarray,
    j0: int,
    j1: int,
    dt: float,
    lr: np.ndarray,
    n_leg: int,
    js: np.ndarray,
    me: int,
    n_steps: int,
    use_svi: bool,
    scr: np.ndarray,
    bd: np.ndarray,
    bv: np.ndarray,
) -> None:
    """Book delta (``bd``) and value (``bv``) at steps ``j0 <= j < j1`` of one path.

    The same numbers as ``book_fast`` step by step (a leg settles at ``F`` on step
    ``js[i]`` and is worth its payoff after), but each leg's pass runs over the steps, so
    a one-option book is vectorised too. The value is computed on the marked steps only
    (``j % me == 0`` and the last step); elsewhere ``bv`` is left 0.
    """
    n = j1 - j0
    for jj in range(n):
        scr[B_LF, jj] = vlog(fbuf[j0 + jj])  # vectorises; math.log (a libm call) does not
        bd[jj] = 0.0
        bv[jj] = 0.0
    first = (-j0) % me  # the first marked step of the block, relative to j0
    for i in range(n_leg):
        cp = lr[R_CP, i]
        k = lr[R_K, i]
        lnk = lr[R_LNK, i]
        q = lr[R_QTY, i]
        e = lr[R_EXP, i]
        v0 = lr[R_VOL0, i]
        live = min(max(js[i] - j0, 0), n)  # steps [0, live) before settlement
        if js[i] <= n_steps and live < n:
            pay = cp * (fbuf[js[i]] - k)
            pay = q * (pay if pay > 0.0 else 0.0)
            for jj in range(live, n):
                bv[jj] += pay
        far = 0
        for jj in range(live):  # SIMD over steps: d1 at the delta vol and its density
            sq0 = v0 * math.sqrt(e - (j0 + jj) * dt)
            d = (scr[B_LF, jj] - lnk) / sq0 + 0.5 * sq0
            scr[B_D, jj] = d
            scr[B_PDF, jj] = density(d)
            far += abs(d) > _NEAR_D
        if far:
            for jj in range(live):
                bd[jj] += q * (cp * _cdf_far(cp, scr[B_D, jj], scr[B_PDF, jj]))
        else:
            for jj in range(live):
                bd[jj] += q * (cp * _cdf_near(cp, scr[B_D, jj], scr[B_PDF, jj]))
        # the mark on the marked steps (every step when me = 1: a SIMD pass)
        if me == 1:  # every step marked: book_fast's passes, over the steps
            if use_svi:
                for jj in range(live):  # the leg's vol on its slice at k = ln(K/F)
                    scr[B_OUT, jj] = _slice_vol(lr, i, lnk - scr[B_LF, jj])
            else:
                for jj in range(live):
                    scr[B_OUT, jj] = lr[R_VOL, i]
            far = 0
            for jj in range(live):  # d1, d2, n(d1) and n(d2) = n(d1) F / K
                sq = scr[B_OUT, jj] * math.sqrt(e - (j0 + jj) * dt)
                d1 = (scr[B_LF, jj] - lnk) / sq + 0.5 * sq
                d2 = d1 - sq
                pdf = density(d1)
                scr[B_D, jj] = d1
                scr[B_PDF, jj] = pdf
                scr[B_D2, jj] = d2
                scr[B_PDF2, jj] = pdf * (fbuf[j0 + jj] / k)
                far += (abs(d1) > _NEAR_D) | (abs(d2) > _NEAR_D)
            if far:  # n(d1) may underflow where n(d2) does not: each its own density
                for jj in range(live):
                    n1 = _cdf_far(cp, scr[B_D, jj], scr[B_PDF, jj])
                    n2 = _cdf_far(cp, scr[B_D2, jj], density(scr[B_D2, jj]))
                    bv[jj] += q * (cp * (fbuf[j0 + jj] * n1 - k * n2))
            else:
                for jj in range(live):
                    n1 = _cdf_near(cp, scr[B_D, jj], scr[B_PDF, jj])
                    n2 = _cdf_near(cp, scr[B_D2, jj], scr[B_PDF2, jj])
                    bv[jj] += q * (cp * (fbuf[j0 + jj] * n1 - k * n2))
            continue
        for jj in range(first, live, me):
            te = e - (j0 + jj) * dt
            bv[jj] += q * _leg_mark(lr, i, use_svi, fbuf[j0 + jj], scr[B_LF, jj] - lnk, te)
        last = n_steps - j0
        if 0 <= last < live and last % me != first:
            # the last step is always marked (here it is off the stride)
            te = e - n_steps * dt
            bv[last] += q * _leg_mark(lr, i, use_svi, fbuf[n_steps], scr[B_LF, last] - lnk, te)

"""Fused book-risk kernel (numba) and its readable numpy twin.

One call values every option of a book with Black-76 (r = 0, crypto convention) on its
forward, adds the smile term of the chosen delta model, values the linear items (perps,
futures, collateral), converts to the chosen numeraire, and sums per underlying and per
(underlying, expiry) slot.

Black-76 with r = 0 (Black 1976; Hull, *Options, Futures and Other Derivatives*, ch. 18):
``d1 = (ln(F/K) + sigma^2 T / 2) / (sigma sqrt T)``, ``d2 = d1 - sigma sqrt T``,
price ``phi (F N(phi d1) - K N(phi d2))``, delta ``phi N(phi d1)``,
gamma ``n(d1) / (F sigma sqrt T)``, vega ``F n(d1) sqrt T``, theta ``-F n(d1) sigma / (2 sqrt T)``.

Every forward ``F_i`` moves in proportion to the index ``S`` (``b_i = F_i / S`` fixed), so
``dV/dS = sum_i dV/dF_i * b_i`` and ``d2V/dS2 = sum_i d2V/dF_i2 * b_i^2``.
Smile term (DESIGN.md): ``delta += vega * dsigma/dF``.

Coin numeraire (DESIGN.md, Units and conventions): with ``V`` the USD value,
``delta_coin = S d(V/S)/dS = dV/dS - V/S`` (premium-adjusted delta for options), and
``gamma_coin = d(delta_coin)/dS = d2V/dS2 - (dV/dS)/S + V/S^2``.

Linear items have ``V = a + b P`` with ``P`` their price (mark, or index for collateral):
``dV/dS = b P / S``; gamma 0 in USD.

Outputs per row (options first, then linear items): value USD, delta (coin), gamma
(coin per USD), vega (USD per 1.00 vol), theta (USD per year), and ``vanna_sigma`` =
``sigma d(delta)/d(sigma)`` (coin; Black-76 ``-n(d1) d2`` per unit on the forward), the
change of delta when every vol is scaled by ``1 + x``, per unit ``x``; the Leland and
Zakamouline policies use it to shift the book's delta to a modified vol.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.special import ndtr

from deltahedge._typing import FloatArray, IntArray

SQRT_2PI = math.sqrt(2.0 * math.pi)
MODEL_NONE, MODEL_STICKY_MONEYNESS, MODEL_MIN_VARIANCE, MODEL_EXTERNAL = 0, 1, 2, 3
_YEAR_NS_F = 1e9 * 365.0 * 86_400.0  # ns in a year (ACT/365), as deltahedge.core.units


@njit(cache=True, error_model="numpy")
def ncdf_hart(x: float, e: float) -> float:
    """Standard normal CDF ``N(x)`` given ``e = exp(-x^2/2)``, to double precision.

    Hart (1968), *Computer Approximations*, algorithm 5666, as given by West (2005),
    "Better approximations to cumulative normal functions", Wilmott Magazine. Taking
    ``e`` as an argument lets the kernel reuse ``n(d1)`` and ``n(d2) = n(d1) F / K``, so a
    whole option costs one ``exp`` and one ``log``.
    """
    a = abs(x)
    if a > 37.0:
        c = 0.0
    elif a < 7.07106781186547:
        num = 3.52624965998911e-02 * a + 0.700383064443688
        num = num * a + 6.37396220353165
        num = num * a + 33.912866078383
        num = num * a + 112.079291497871
        num = num * a + 221.213596169931
        num = num * a + 220.206867912376
        den = 8.83883476483184e-02 * a + 1.75566716318264
        den = den * a + 16.064177579207
        den = den * a + 86.7807322029461
        den = den * a + 296.564248779674
        den = den * a + 637.333633378831
        den = den * a + 793.826512519948
        den = den * a + 440.413735824752
        c = e * num / den
    else:
        b = a + 0.65
        b = a + 4.0 / b
        b = a + 3.0 / b
        b = a + 2.0 / b
        b = a + 1.0 / b
        c = e / b / 2.506628274631
    return 1.0 - c if x > 0 else c


@njit(cache=True, error_model="numpy")
def slot_forwards_kernel(
    query_ns: IntArray, exp_ns: IntArray, fwd: FloatArray, index: float, ts_ns: int
) -> FloatArray:
    """Forwards for ``query_ns`` expiries: log-basis linear in T (see MarketState.forward)."""
    out = np.empty(query_ns.size)
    m = exp_ns.size
    year = 1e9 * 365.0 * 86400.0
    for q in range(query_ns.size):
        e = query_ns[q]
        if m == 0:
            out[q] = index
            continue
        i = np.searchsorted(exp_ns, e)
        if i < m and exp_ns[i] == e:
            out[q] = fwd[i]
            continue
        t = (e - ts_ns) / year
        if i == 0:
            t0 = (exp_ns[0] - ts_ns) / year
            lb0 = math.log(fwd[0] / index)
            lb = lb0 * max(t, 0.0) / t0 if t0 > 0 else lb0
        elif i == m:
            tl = (exp_ns[m - 1] - ts_ns) / year
            lbl = math.log(fwd[m - 1] / index)
            lb = lbl * t / tl if tl > 0 else lbl
        else:
            ta = (exp_ns[i - 1] - ts_ns) / year
            tb = (exp_ns[i] - ts_ns) / year
            la = math.log(fwd[i - 1] / index)
            lbb = math.log(fwd[i] / index)
            lb = la + (t - ta) / (tb - ta) * (lbb - la)
        out[q] = index * math.exp(lb)
    return out


@njit(cache=True, error_model="numpy")
def book_kernel(
    # options
    opt_units: FloatArray,  # quantity * contract_size, coin
    opt_strike: FloatArray,
    opt_logk: FloatArray,  # ln(strike), precomputed
    opt_phi: FloatArray,  # +1 call, -1 put
    opt_sigma: FloatArray,
    opt_slot: IntArray,  # index into slot arrays
    opt_aux: FloatArray,  # sticky moneyness: dsigma/dk; external: dsigma/dF
    # (underlying, expiry) slots
    slot_fwd: FloatArray,
    slot_T: FloatArray,
    slot_und: IntArray,
    # linear items
    lin_a: FloatArray,
    lin_b: FloatArray,
    lin_price: FloatArray,
    lin_und: IntArray,
    # per underlying
    index: FloatArray,
    # settings
    coin_numeraire: bool,
    model: int,
    mv_a: float,
    mv_b: float,
    mv_c: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-row contributions ``(n_rows, 6)``, per-underlying sums ``(n_und, 6)``, slot vega."""
    n_opt = opt_units.size
    n_lin = lin_a.size
    rows = np.empty((n_opt + n_lin, 6))
    sums = np.zeros((index.size, 6))
    n_slot = slot_fwd.size
    slot_vega = np.zeros(n_slot)
    slot_logf = np.log(slot_fwd)
    slot_sqt = np.sqrt(np.maximum(slot_T, 0.0))
    slot_b = np.empty(n_slot)  # F / S per slot
    for s in range(n_slot):
        slot_b[s] = slot_fwd[s] / index[slot_und[s]]
    inv_sqrt_2pi = 1.0 / SQRT_2PI
    for i in range(n_opt):
        s = opt_slot[i]
        u = slot_und[s]
        F = slot_fwd[s]
        S = index[u]
        K = opt_strike[i]
        phi = opt_phi[i]
        sig = opt_sigma[i]
        b = slot_b[s]
        sqT = slot_sqt[s]
        if slot_T[s] <= 0.0 or sig <= 0.0:
            price = max(phi * (F - K), 0.0)
            dF = phi if phi * (F - K) > 0.0 else 0.0
            gF = 0.0
            vega = 0.0
            theta = 0.0
            vanna = 0.0
        else:
            sd = sig * sqT
            isd = 1.0 / sd
            d1 = (slot_logf[s] - opt_logk[i]) * isd + 0.5 * sd
            d2 = d1 - sd
            e1 = math.exp(-0.5 * d1 * d1)
            e2 = e1 * (F / K)  # n(d2) = n(d1) F / K
            pdf = e1 * inv_sqrt_2pi
            if phi > 0:
                n1 = ncdf_hart(d1, e1)
                price = F * n1 - K * ncdf_hart(d2, e2)
                dF = n1
            else:
                m1 = ncdf_hart(-d1, e1)  # N(-d1), no cancellation for far puts
                price = K * ncdf_hart(-d2, e2) - F * m1
                dF = -m1
            vega = F * pdf * sqT
            gF = pdf * isd / F
            theta = -0.5 * vega * sig / (sqT * sqT)  # -F n(d1) sigma / (2 sqrt T)
            vanna = -pdf * d2  # sigma * d(delta_F)/d(sigma)
            if model == 1:
                dF += vega * (-opt_aux[i] / F)
            elif model == 2:
                dF += vega / (F * sqT) * (mv_a + mv_b * dF + mv_c * dF * dF)
            elif model == 3:
                dF += vega * opt_aux[i]
        n = opt_units[i]
        v = n * price
        d = n * dF * b
        g = n * gF * b * b
        vs = n * vanna * b
        ve = n * vega
        th = n * theta
        if coin_numeraire:
            g = g - d / S + v / (S * S)
            d = d - v / S
            vs = vs - ve * sig / S
        rows[i, 0] = v
        rows[i, 1] = d
        rows[i, 2] = g
        rows[i, 3] = ve
        rows[i, 4] = th
        rows[i, 5] = vs
        slot_vega[s] += ve
        sums[u, 0] += v
        sums[u, 1] += d
        sums[u, 2] += g
        sums[u, 3] += ve
        sums[u, 4] += th
        sums[u, 5] += vs
    for j in range(n_lin):
        u = lin_und[j]
        S = index[u]
        v = lin_a[j] + lin_b[j] * lin_price[j]
        d = lin_b[j] * lin_price[j] / S
        g = 0.0
        if coin_numeraire:
            g = -d / S + v / (S * S)
            d = d - v / S
        r = n_opt + j
        rows[r, 0] = v
        rows[r, 1] = d
        rows[r, 2] = g
        rows[r, 3] = 0.0
        rows[r, 4] = 0.0
        rows[r, 5] = 0.0
        sums[u, 0] += v
        sums[u, 1] += d
        sums[u, 2] += g
    return rows, sums, slot_vega


@njit(cache=True, error_model="numpy")
def book_kernel_curve(
    opt_units: FloatArray,
    opt_strike: FloatArray,
    opt_logk: FloatArray,
    opt_phi: FloatArray,
    opt_sigma: FloatArray,
    opt_slot: IntArray,
    opt_aux: FloatArray,
    slot_exp: IntArray,  # expiry of each slot, UTC ns
    slot_und: IntArray,  # all 0: one underlying
    curve_exp: IntArray,  # the underlying's forward curve: listed expiries, UTC ns
    curve_fwd: FloatArray,  # and their forwards, USD
    index: FloatArray,  # the index, USD: one element
    ts_ns: int,
    lin_a: FloatArray,
    lin_b: FloatArray,
    lin_price: FloatArray,
    lin_und: IntArray,  # all 0
    coin_numeraire: bool,
    model: int,
    mv_a: float,
    mv_b: float,
    mv_c: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``book_kernel`` for a book of one underlying, taking its forward curve as it is.

    The slot forwards (``slot_forwards_kernel``) and times to expiry (``(expiry - ts_ns) /
    year``, as numpy computes them) are worked out here, so a tick costs one dispatch.
    Returns ``book_kernel``'s three arrays and theta per day (``sums[:, 4] / 365``).
    """
    n_slot = slot_exp.size
    slot_fwd = slot_forwards_kernel(slot_exp, curve_exp, curve_fwd, index[0], ts_ns)
    slot_T = np.empty(n_slot)
    for s in range(n_slot):
        slot_T[s] = (slot_exp[s] - ts_ns) / _YEAR_NS_F
    rows, sums, slot_vega = book_kernel(
        opt_units, opt_strike, opt_logk, opt_phi, opt_sigma, opt_slot, opt_aux, slot_fwd,
        slot_T, slot_und, lin_a, lin_b, lin_price, lin_und, index, coin_numeraire, model, mv_a,
        mv_b, mv_c,
    )  # fmt: skip
    return rows, sums, slot_vega, sums[:, 4] / 365.0


def book_reference(
    opt_units: FloatArray,
    opt_strike: FloatArray,
    opt_logk: FloatArray,
    opt_phi: FloatArray,
    opt_sigma: FloatArray,
    opt_slot: IntArray,
    opt_aux: FloatArray,
    slot_fwd: FloatArray,
    slot_T: FloatArray,
    slot_und: IntArray,
    lin_a: FloatArray,
    lin_b: FloatArray,
    lin_price: FloatArray,
    lin_und: IntArray,
    index: FloatArray,
    coin_numeraire: bool,
    model: int,
    mv_a: float,
    mv_b: float,
    mv_c: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Readable numpy twin of ``book_kernel`` (same arguments, same results)."""
    F = slot_fwd[opt_slot]
    T = np.maximum(slot_T[opt_slot], 1e-300)
    und = slot_und[opt_slot]
    S = index[und]
    K, phi, sig = opt_strike, opt_phi, opt_sigma
    live = (slot_T[opt_slot] > 0) & (sig > 0)
    sd = np.where(live, sig * np.sqrt(T), 1.0)
    d1 = (np.log(F / K) + 0.5 * sd**2) / sd
    d2 = d1 - sd
    pdf = np.exp(-0.5 * d1**2) / SQRT_2PI
    price = np.where(live, phi * (F * ndtr(phi * d1) - K * ndtr(phi * d2)), 0.0)
    price = np.where(live, price, np.maximum(phi * (F - K), 0.0))
    dF = np.where(phi > 0, ndtr(d1), ndtr(d1) - 1.0)
    dF = np.where(live, dF, np.where(phi * (F - K) > 0, phi, 0.0))
    gF = np.where(live, pdf / (F * sd), 0.0)
    vega = np.where(live, F * pdf * np.sqrt(T), 0.0)
    theta = np.where(live, -F * pdf * sig / (2.0 * np.sqrt(T)), 0.0)
    vanna = np.where(live, -pdf * d2, 0.0)
    if model == MODEL_STICKY_MONEYNESS:
        dF = dF + np.where(live, vega * (-opt_aux / F), 0.0)
    elif model == MODEL_MIN_VARIANCE:
        dF = dF + np.where(live, vega / (F * np.sqrt(T)) * (mv_a + mv_b * dF + mv_c * dF**2), 0.0)
    elif model == MODEL_EXTERNAL:
        dF = dF + np.where(live, vega * opt_aux, 0.0)
    b = F / S
    v = opt_units * price
    d = opt_units * dF * b
    g = opt_units * gF * b * b
    vs = opt_units * vanna * b
    lS = index[lin_und]
    lv = lin_a + lin_b * lin_price
    ld = lin_b * lin_price / lS
    lg = np.zeros_like(lv)
    if coin_numeraire:
        g, d = g - d / S + v / S**2, d - v / S
        vs = vs - opt_units * vega * sig / S
        lg, ld = lg - ld / lS + lv / lS**2, ld - lv / lS
    opt_rows = np.column_stack([v, d, g, opt_units * vega, opt_units * theta, vs])
    zero = np.zeros_like(lv)
    lin_rows = np.column_stack([lv, ld, lg, zero, zero, zero])
    rows = np.vstack([opt_rows, lin_rows])
    und_all = np.concatenate([und, lin_und]).astype(np.int64)
    sums = np.zeros((index.size, 6))
    for c in range(6):
        sums[:, c] = np.bincount(und_all, weights=rows[:, c], minlength=index.size)
    slot_vega = np.bincount(opt_slot, weights=opt_units * vega, minlength=slot_fwd.size).astype(
        np.float64
    )
    return rows, sums, slot_vega


__all__ = [
    "MODEL_EXTERNAL",
    "MODEL_MIN_VARIANCE",
    "MODEL_NONE",
    "MODEL_STICKY_MONEYNESS",
    "book_kernel",
    "book_kernel_curve",
    "book_reference",
    "ncdf_hart",
    "slot_forwards_kernel",
]

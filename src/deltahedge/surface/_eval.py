"""Compiled evaluation of a fitted surface: total variance, its k-slope, smile deltas.

Slices are raw SVI rows ``(a, b, rho, m, sigma)`` at expiries ``Tn`` (ascending).
Between two expiries total variance is linear in ``T`` at fixed ``k``; before the first
and after the last it is proportional to ``T`` (flat implied vol at fixed ``k``).
The forward is log-linear in ``T`` through ``(0, spot)`` and the slices' forwards, and
extrapolated with the last segment's carry. Each kernel's ``.py_func`` is its readable
twin.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from deltahedge.pricing.kernels import norm_cdf_given_pdf

DYN_STICKY_STRIKE = 0
DYN_STICKY_MONEYNESS = 1
DYN_MIN_VARIANCE = 2


@njit(cache=True, fastmath={"contract", "arcp", "afn", "reassoc"}, error_model="numpy")
def _slice_w(P, j, k):  # type: ignore[no-untyped-def]
    a, b, rho, m, s = P[j, 0], P[j, 1], P[j, 2], P[j, 3], P[j, 4]
    x = k - m
    r = math.sqrt(x * x + s * s)
    return a + b * (rho * x + r), b * (rho + x / r)


@njit(cache=True, fastmath={"contract", "arcp", "afn", "reassoc"}, error_model="numpy")
def _w_at(Tn, P, k, t):  # type: ignore[no-untyped-def]
    # Total variance and dw/dk at log-moneyness k and expiry t (years).
    n = Tn.shape[0]
    if t <= Tn[0]:
        w, w1 = _slice_w(P, 0, k)
        f = t / Tn[0]
        return f * w, f * w1
    if t >= Tn[n - 1]:
        w, w1 = _slice_w(P, n - 1, k)
        f = t / Tn[n - 1]
        return f * w, f * w1
    j = 1
    while Tn[j] < t:
        j += 1
    wa, w1a = _slice_w(P, j - 1, k)
    wb, w1b = _slice_w(P, j, k)
    u = (t - Tn[j - 1]) / (Tn[j] - Tn[j - 1])
    return (1.0 - u) * wa + u * wb, (1.0 - u) * w1a + u * w1b


@njit(cache=True, fastmath={"contract", "arcp", "afn", "reassoc"}, error_model="numpy")
def _log_forward(Tn, lfn, lspot, t):  # type: ignore[no-untyped-def]
    n = Tn.shape[0]
    if t <= Tn[0]:
        return lspot + (lfn[0] - lspot) * t / Tn[0]
    if t >= Tn[n - 1]:
        if n == 1:
            slope = (lfn[0] - lspot) / Tn[0]
        else:
            slope = (lfn[n - 1] - lfn[n - 2]) / (Tn[n - 1] - Tn[n - 2])
        return lfn[n - 1] + slope * (t - Tn[n - 1])
    j = 1
    while Tn[j] < t:
        j += 1
    u = (t - Tn[j - 1]) / (Tn[j] - Tn[j - 1])
    return (1.0 - u) * lfn[j - 1] + u * lfn[j]


@njit(cache=True, fastmath={"contract", "arcp", "afn", "reassoc"}, error_model="numpy")
def total_variance_kernel(Tn, P, k, T, out):  # type: ignore[no-untyped-def]
    """Total variance at log-moneyness k and expiry T (years), in place."""
    for i in range(k.shape[0]):
        out[i] = _w_at(Tn, P, k[i], T[i])[0]


@njit(cache=True, fastmath={"contract", "arcp", "afn", "reassoc"}, error_model="numpy")
def forward_kernel(Tn, lfn, lspot, T, out):  # type: ignore[no-untyped-def]
    """Forward curve at expiries T (years), in place."""
    for i in range(T.shape[0]):
        out[i] = math.exp(_log_forward(Tn, lfn, lspot, T[i]))


@njit(cache=True, fastmath={"contract", "arcp", "afn", "reassoc"}, error_model="numpy")
def vol_kernel(Tn, lfn, lspot, P, K, T, out_vol, out_dvol_dk):  # type: ignore[no-untyped-def]
    """Implied vol and d(vol)/dk at strikes K (USD) and expiries T (years), in place.

    Returns the number of inputs with ``K <= 0`` or ``T <= 0`` (their outputs are NaN).
    """
    n = K.shape[0]
    bad = 0
    for i in range(n):  # pass 1: w and w' (kept in the outputs)
        t = T[i]
        if not (t > 0.0 and K[i] > 0.0):
            bad += 1
            out_vol[i] = math.nan
            out_dvol_dk[i] = math.nan
            continue
        k = math.log(K[i]) - _log_forward(Tn, lfn, lspot, t)
        w, w1 = _w_at(Tn, P, k, t)
        out_vol[i] = w
        out_dvol_dk[i] = w1
    for i in range(n):  # pass 2 (see vol_delta_kernel for why two passes)
        t = T[i]
        v = math.sqrt(max(out_vol[i], 0.0) / t)
        out_vol[i] = v
        out_dvol_dk[i] = out_dvol_dk[i] / (2.0 * v * t) if v > 0 else 0.0
    if bad:
        for i in range(n):
            if not (T[i] > 0.0 and K[i] > 0.0):
                out_vol[i] = math.nan
                out_dvol_dk[i] = math.nan
    return bad


@njit(cache=True, error_model="numpy")
def _is_bad(phi, F, K, T, i):  # type: ignore[no-untyped-def]
    return not (T[i] > 0.0 and F[i] > 0.0 and K[i] > 0.0 and (phi[i] == 1 or phi[i] == -1))


@njit(cache=True, fastmath={"contract", "arcp", "afn", "reassoc"}, error_model="numpy")
def delta_kernel(Tn, P, phi, F, K, T, dyn, ca, cb, cc, out_delta):  # type: ignore[no-untyped-def]
    """Smile-adjusted forward delta ``delta_BS + vega dsigma/dF`` of each option, in place.

    ``dyn``: 0 sticky strike (dsigma/dF = 0), 1 sticky moneyness
    (``dsigma/dF = -(1/F) dsigma/dk``), 2 minimum variance (Hull and White 2017:
    ``delta_BS + vega / (F sqrt(T)) (ca + cb delta_BS + cc delta_BS**2)``).
    With ``s = sqrt(w)``, ``vega / (F sqrt(T)) = n(d1)`` and
    ``vega dsigma/dk / F = n(d1) w' / (2 s)``, so no ``sqrt(T)`` is needed.
    Returns the number of inputs with a non-positive F, K or T or a kind other than
    +1/-1 (their outputs are NaN).
    """
    n = K.shape[0]
    bad = 0
    inv_sqrt_2pi = 1.0 / math.sqrt(2.0 * math.pi)
    s1 = np.empty(n)
    s2 = np.empty(n)
    s3 = np.empty(n)
    # three passes with short dependency chains (see vol_delta_kernel)
    for i in range(n):  # pass 1: k, w, w'
        t = T[i]
        f = F[i]
        if not (t > 0.0 and f > 0.0 and K[i] > 0.0 and (phi[i] == 1.0 or phi[i] == -1.0)):
            bad += 1
            s1[i] = math.nan
            s2[i] = math.nan
            s3[i] = math.nan
            continue
        k = math.log(K[i] / f)
        w, w1 = _w_at(Tn, P, k, t)
        s1[i] = k
        s2[i] = w
        s3[i] = w1
    for i in range(n):  # pass 2: d1, n(d1), sqrt(w)
        sd = math.sqrt(max(s2[i], 1e-300))
        d1 = -s1[i] / sd + 0.5 * sd
        s1[i] = d1
        s2[i] = math.exp(-0.5 * d1 * d1) * inv_sqrt_2pi
        out_delta[i] = sd
    for i in range(n):  # pass 3: N(d1) from n(d1) (one exp for both), minus 1 for puts
        nd = s2[i]
        dbs = norm_cdf_given_pdf(s1[i], nd) - 0.5 * (1.0 - phi[i])
        if dyn == DYN_STICKY_MONEYNESS:
            out_delta[i] = dbs - nd * s3[i] / (2.0 * out_delta[i])
        elif dyn == DYN_MIN_VARIANCE:
            out_delta[i] = dbs + nd * (ca + cb * dbs + cc * dbs * dbs)
        else:
            out_delta[i] = dbs
    if bad:
        for i in range(n):
            if _is_bad(phi, F, K, T, i):
                out_delta[i] = math.nan
    return bad


@njit(cache=True, fastmath={"contract", "arcp", "afn", "reassoc"}, error_model="numpy")
def vol_delta_kernel(  # type: ignore[no-untyped-def]
    Tn, P, phi, F, K, T, dyn, ca, cb, cc, out_vol, out_delta, out_dbs, out_vega, out_dvk
):
    """Vol, smile delta, Black-76 delta and vega and d(vol)/dk of each option, in place.

    Per option: ``k = ln(K / F)``, total variance ``w`` and ``w' = dw/dk`` (interpolated
    in T as ``_w_at``), ``vol = sqrt(w / T)``, ``dvol/dk = w' / (2 vol T)``,
    ``d1 = -k / sqrt(w) + sqrt(w) / 2``, Black-76 forward delta ``N(d1)`` (minus 1 for a
    put), vega ``F n(d1) sqrt(T)`` (per 1.00 of vol) and the smile-adjusted delta of
    ``delta_kernel`` for ``dyn``. ``phi`` may be int8 or float64 (+1 call, -1 put).

    The work is split in three passes over the options, with the intermediates
    (``k, w, w'``, then ``d1, n(d1), sqrt(w)``) kept in the output arrays: each pass has
    a short chain of dependent operations, so the CPU overlaps many options at once
    (one pass per option is bound by the latency of log -> SVI -> sqrt -> exp -> N;
    measured 1.5x slower). Returns the number of inputs with a non-positive F, K or T or
    a kind other than +1/-1 (all their outputs are NaN).
    """
    n = K.shape[0]
    bad = 0
    inv_sqrt_2pi = 1.0 / math.sqrt(2.0 * math.pi)
    for i in range(n):  # pass 1: k, w, w'
        t = T[i]
        f = F[i]
        ph = phi[i]
        if not (t > 0.0 and f > 0.0 and K[i] > 0.0 and (ph == 1 or ph == -1)):
            bad += 1
            out_dbs[i] = math.nan
            out_vol[i] = math.nan
            out_dvk[i] = math.nan
            continue
        k = math.log(K[i] / f)
        w, w1 = _w_at(Tn, P, k, t)
        out_dbs[i] = k
        out_vol[i] = w
        out_dvk[i] = w1
    for i in range(n):  # pass 2: vol, d1, n(d1), sqrt(w)
        k = out_dbs[i]
        sw = math.sqrt(max(out_vol[i], 0.0))
        sd = sw if sw > 0.0 else 1e-150
        d1 = -k / sd + 0.5 * sd
        out_vol[i] = sw / math.sqrt(T[i])
        out_dbs[i] = d1
        out_vega[i] = math.exp(-0.5 * d1 * d1) * inv_sqrt_2pi
        out_delta[i] = sd
    for i in range(n):  # pass 3: N(d1) (minus 1 for puts, no branch), smile delta, vega
        nd = out_vega[i]
        sd = out_delta[i]
        w1 = out_dvk[i]
        v = out_vol[i]
        t = T[i]
        dbs = norm_cdf_given_pdf(out_dbs[i], nd) - 0.5 * (1.0 - phi[i])
        if dyn == DYN_STICKY_MONEYNESS:
            d = dbs - nd * w1 / (2.0 * sd)
        elif dyn == DYN_MIN_VARIANCE:
            d = dbs + nd * (ca + cb * dbs + cc * dbs * dbs)
        else:
            d = dbs
        out_delta[i] = d
        out_dbs[i] = dbs
        out_vega[i] = F[i] * nd * math.sqrt(t)
        out_dvk[i] = w1 / (2.0 * v * t) if v > 0.0 else 0.0
    if bad:
        for i in range(n):
            if _is_bad(phi, F, K, T, i):
                out_vol[i] = math.nan
                out_delta[i] = math.nan
                out_dbs[i] = math.nan
                out_vega[i] = math.nan
                out_dvk[i] = math.nan
    return bad

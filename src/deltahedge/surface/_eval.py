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
    bad = 0
    for i in range(K.shape[0]):
        t = T[i]
        if not (t > 0.0 and K[i] > 0.0):
            bad += 1
            out_vol[i] = math.nan
            out_dvol_dk[i] = math.nan
            continue
        k = math.log(K[i]) - _log_forward(Tn, lfn, lspot, t)
        w, w1 = _w_at(Tn, P, k, t)
        v = math.sqrt(max(w, 0.0) / t)
        out_vol[i] = v
        out_dvol_dk[i] = w1 / (2.0 * v * t) if v > 0 else 0.0
    return bad


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
    bad = 0
    inv_sqrt_2pi = 1.0 / math.sqrt(2.0 * math.pi)
    for i in range(K.shape[0]):
        t = T[i]
        f = F[i]
        if not (t > 0.0 and f > 0.0 and K[i] > 0.0 and (phi[i] == 1.0 or phi[i] == -1.0)):
            bad += 1
            out_delta[i] = math.nan
            continue
        k = math.log(K[i] / f)
        w, w1 = _w_at(Tn, P, k, t)
        sd = math.sqrt(max(w, 1e-300))
        d1 = -k / sd + 0.5 * sd
        nd = math.exp(-0.5 * d1 * d1) * inv_sqrt_2pi
        dbs = norm_cdf_given_pdf(d1, nd)  # N(d1) from n(d1): one exp for both
        if phi[i] < 0.0:
            dbs -= 1.0
        if dyn == DYN_STICKY_MONEYNESS:
            out_delta[i] = dbs - nd * w1 / (2.0 * sd)
        elif dyn == DYN_MIN_VARIANCE:
            out_delta[i] = dbs + nd * (ca + cb * dbs + cc * dbs * dbs)
        else:
            out_delta[i] = dbs
    return bad

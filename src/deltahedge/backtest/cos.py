"""Heston, Bates and SVCJ European prices and model deltas by the COS method.

Characteristic function of ``X = ln(F_T / F_0)`` (r = 0) in the "little trap" form of
Albrecher, Mayer, Schoutens and Tistaert (2007), which stays on the principal branch::

    phi(u) = exp(C(u) + D(u) v0 + J(u))
    beta = kappa - i rho sigma_v u,   d = sqrt(beta^2 + sigma_v^2 (i u + u^2))
    g = (beta - d) / (beta + d)
    C = kappa theta / sigma_v^2 [(beta - d) T - 2 ln((1 - g e^{-dT}) / (1 - g))]
    D(s) = (beta - d) / sigma_v^2 (1 - e^{-ds}) / (1 - g e^{-ds})

Jumps (Duffie, Pan and Singleton 2000, section 4, "SVCJ"; Eraker, Johannes and Polson
2003): at rate ``lam`` the variance jumps by ``Zv ~ Exp(mean mu_v)`` and the log price
by ``Zy | Zv ~ N(mu_j + rho_j Zv, sigma_j^2)``. The jumps enter only ``C``: with the
joint jump transform ``theta(c_y, c_v) = E[exp(c_y Zy + c_v Zv)]
= exp(mu_j c_y + sigma_j^2 c_y^2 / 2) / (1 - mu_v (c_v + rho_j c_y))``::

    J(u) = lam int_0^T [theta(i u, D(s)) - 1] ds - i u lam kbar T
         = lam [jy I(u) - T - i u kbar T],   jy = exp(i u mu_j - sigma_j^2 u^2 / 2)
    I(u) = int_0^T ds / (1 - c - mu_v D(s)),   c = i u rho_j mu_v

and, with ``y = e^{-ds}``, ``1 - c - mu_v D = (P + Q y) / (1 - g y)`` where
``P = 1 - c - mu_v a``, ``Q = mu_v a - (1 - c) g``, ``a = (beta - d) / sigma_v^2``, so
by partial fractions::

    I(u) = T / P - (g P + Q) / (P Q d) ln((P + Q) / (P + Q e^{-dT}))

(``I -> T`` as ``mu_v -> 0``: the Bates (1996) term). The log is taken as
``-ln((1 - g e^{-dT}) / (1 - g)) - ln((1 - c - mu_v D(T)) / (1 - c))``: the first is
the little-trap log, the second a ratio of two numbers with positive real part
(``Re D <= 0``), so both stay on the principal branch. ``kbar = E[e^Zy] - 1 =
exp(mu_j + sigma_j^2/2) / (1 - rho_j mu_v) - 1`` keeps the forward a martingale.

The put on ``y = ln(F_T/K)`` is priced by the COS expansion of Fang and Oosterlee (2008),
eq. (30) with the put coefficients of their eq. (29); the call follows by parity
``C = P + F - K``. The model delta ``dV/dF0`` differentiates the series term by term
(``d/dx0 exp(i u (x0 - a)) = i u exp(...)``), holding ``v0`` fixed.

Parameters are given as the 11-array of ``PathModel.as_array()`` (GBM and Merton, with
``sigma_v = kappa = 0``, are not priced here).
"""

from __future__ import annotations

import cmath
import math

import numba as nb
import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.backtest.models import (
    P_KAPPA,
    P_LAM,
    P_MUJ,
    P_MUV,
    P_RHO,
    P_RHOJ,
    P_SIGV,
    P_SJ,
    P_THETA,
    PathModel,
)
from deltahedge.core.errors import InvalidInput

__all__ = ["cos_price_delta", "jump_integral", "model_delta_table", "table_delta"]


@nb.njit(cache=True)
def _svcj_integral(
    u: float, t: float, beta: complex, d: complex, g: complex, sv: float, muv: float, rhoj: float
) -> complex:
    iu = 1j * u
    c = iu * rhoj * muv
    a = (beta - d) / (sv * sv)
    p = 1.0 - c - muv * a
    q = muv * a - (1.0 - c) * g
    edt = cmath.exp(-d * t)
    d_t = a * (1.0 - edt) / (1.0 - g * edt)
    # ln((P + Q) / (P + Q e^{-dT})), split into two principal-branch logs (module docstring)
    log_ratio = -cmath.log((1.0 - g * edt) / (1.0 - g)) - cmath.log(
        (1.0 - c - muv * d_t) / (1.0 - c)
    )
    if abs(q) < 1e-12 * abs(p):  # Q -> 0 (u -> 0): ln(...) -> Q (1 - e^{-dT}) / P
        return t / p - g * (1.0 - edt) / (p * d)
    return t / p - (g * p + q) / (p * q * d) * log_ratio


@nb.njit(cache=True)
def jump_integral(u: float, t: float, p: np.ndarray) -> complex:
    """``I(u) = int_0^T ds / (1 - i u rho_j mu_v - mu_v D(s))`` in closed form (module docstring).

    ``u`` the transform variable, ``t`` years, ``p`` ``PathModel.as_array()`` with
    ``sigma_v > 0``; equals ``t`` when ``mu_v = 0``.
    """
    kappa, sv, rho = p[P_KAPPA], p[P_SIGV], p[P_RHO]
    iu = 1j * u
    beta = kappa - rho * sv * iu
    d = cmath.sqrt(beta * beta + sv * sv * (iu + u * u))
    g = (beta - d) / (beta + d)
    if p[P_MUV] == 0.0:
        return complex(t)
    return _svcj_integral(u, t, beta, d, g, sv, p[P_MUV], p[P_RHOJ])


@nb.njit(cache=True)
def _cf(u: float, t: float, v0: float, p: np.ndarray) -> complex:
    kappa, theta, sv, rho = p[P_KAPPA], p[P_THETA], p[P_SIGV], p[P_RHO]
    iu = 1j * u
    beta = kappa - rho * sv * iu
    d = cmath.sqrt(beta * beta + sv * sv * (iu + u * u))
    g = (beta - d) / (beta + d)
    edt = cmath.exp(-d * t)
    c = kappa * theta / (sv * sv) * ((beta - d) * t - 2.0 * cmath.log((1.0 - g * edt) / (1.0 - g)))
    dd = (beta - d) / (sv * sv) * (1.0 - edt) / (1.0 - g * edt)
    out = c + dd * v0
    lam = p[P_LAM]
    if lam > 0.0:
        mj, sj, muv, rhoj = p[P_MUJ], p[P_SJ], p[P_MUV], p[P_RHOJ]
        kbar = math.exp(mj + 0.5 * sj * sj) / (1.0 - rhoj * muv) - 1.0
        jy = cmath.exp(iu * mj - 0.5 * sj * sj * u * u)
        integral = complex(t)
        if muv > 0.0:
            integral = _svcj_integral(u, t, beta, d, g, sv, muv, rhoj)
        out += lam * (jy * integral - t - iu * kbar * t)
    return cmath.exp(out)


@nb.njit(cache=True)
def cos_price_delta(
    cp: float, f: float, k: float, t: float, v0: float, p: np.ndarray, n_terms: int = 256
) -> tuple[float, float]:
    """Heston/Bates/SVCJ price (USD) and model delta dV/dF of a call (cp=+1) or put (cp=-1).

    Parameters
    ----------
    cp : float
        +1 call, -1 put.
    f, k : float
        Forward and strike (USD).
    t : float
        Time to expiry in years.
    v0 : float
        Current variance per year.
    p : array
        ``PathModel.as_array()``.
    n_terms : int
        Number of cosine terms.
    """
    if t <= 0.0:
        intrinsic = cp * (f - k)
        return (intrinsic, cp) if intrinsic > 0.0 else (0.0, 0.0)
    kappa, theta = p[P_KAPPA], p[P_THETA]
    lam = p[P_LAM]
    muv = p[P_MUV]
    # variance of X, roughly: the mean integrated variance (variance jumps raise its long-run
    # level by lam mu_v / kappa) plus the price jumps' second moment
    if kappa > 0.0:
        theta = theta + lam * muv / kappa
    if kappa * t > 1e-8:
        w = theta * t + (v0 - theta) * (1.0 - math.exp(-kappa * t)) / kappa
    else:
        w = v0 * t
    zy = p[P_MUJ] + p[P_RHOJ] * muv
    w += lam * t * (zy * zy + p[P_SJ] ** 2 + (p[P_RHOJ] * muv) ** 2)
    # truncation range of y = ln(F_T/K) = x0 + X from the first two cumulants of X
    # (L = 12; Fang and Oosterlee 2008, eq. 49), centred on x0 + c1
    x0 = math.log(f / k)
    c1 = -0.5 * w
    half = 12.0 * math.sqrt(w) + 1e-6
    a = x0 + c1 - half
    b = x0 + c1 + half
    if a >= 0.0:  # the put is out of the money with certainty
        return (f - k, 1.0) if cp > 0 else (0.0, 0.0)
    d = b if b < 0.0 else 0.0
    bma = b - a
    price = 0.0
    dprice = 0.0
    ed = math.exp(d)
    ea = math.exp(a)
    for j in range(n_terms):
        u = j * math.pi / bma
        # put payoff K (1 - e^y)^+ on [a, d]: V_j = 2/(b-a) K (psi_j(a,d) - chi_j(a,d))
        cd = math.cos(u * (d - a))
        sd = math.sin(u * (d - a))
        chi = (cd * ed - ea + u * sd * ed) / (1.0 + u * u)
        psi = sd / u if j > 0 else (d - a)
        vj = 2.0 / bma * k * (psi - chi)
        term = _cf(u, t, v0, p) * cmath.exp(1j * u * (x0 - a))
        wgt = 0.5 if j == 0 else 1.0
        price += wgt * term.real * vj
        dprice += wgt * (1j * u * term).real * vj
    put = price
    put_delta = dprice / f
    if cp > 0:
        return put + f - k, put_delta + 1.0
    return put, put_delta


@nb.njit(cache=True, parallel=True)
def _table_kernel(
    cps: np.ndarray,
    strikes: np.ndarray,
    taus: np.ndarray,
    xs: np.ndarray,
    vs: np.ndarray,
    p: np.ndarray,
    out: np.ndarray,
) -> None:
    n_leg, n_t, n_x, n_v = out.shape
    for flat in nb.prange(n_leg * n_t):
        i = flat // n_t
        a = flat % n_t
        tau = taus[a] * taus[a]
        for b in range(n_x):
            f = strikes[i] * math.exp(xs[b] * taus[a])
            for c in range(n_v):
                out[i, a, b, c] = cos_price_delta(cps[i], f, strikes[i], tau, vs[c] ** 2, p, 192)[1]


def model_delta_table(
    model: PathModel,
    cps: FloatArray,
    strikes: FloatArray,
    tau_max: float,
    n_tau: int = 32,
    n_x: int = 121,
    n_v: int = 16,
    v_max: float | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Tabulate each leg's model delta on a (sqrt(tau), ln(F/K)/sqrt(tau), sqrt(v)) grid.

    Returns ``(table, sqrt_tau_grid, z_grid, sqrt_v_grid)`` with ``table`` of shape
    (n_legs, n_tau, n_x, n_v); ``table_delta`` interpolates it trilinearly.
    """
    if model.sigma_v <= 0 or model.kappa <= 0:
        raise InvalidInput(
            f"model deltas need a stochastic-variance model (sigma_v > 0, kappa > 0), got {model}"
        )
    vmax = v_max if v_max is not None else max(4.0 * model.long_run_variance, 4.0 * model.v0)
    # axes: sqrt(tau) and z = ln(F/K) / sqrt(tau), so the grid follows the delta's
    # sharpening near expiry
    taus = np.linspace(math.sqrt(2e-6), math.sqrt(max(tau_max, 1e-5)), n_tau)
    zmax = 3.0 * math.sqrt(vmax)
    xs = np.linspace(-zmax, zmax, n_x)
    vs = np.linspace(0.02, math.sqrt(vmax), n_v)  # sqrt(v) axis
    out = np.empty((len(strikes), n_tau, n_x, n_v))
    _table_kernel(
        np.asarray(cps, dtype=np.float64),
        np.asarray(strikes, dtype=np.float64),
        taus,
        xs,
        vs,
        model.as_array(),
        out,
    )
    return out, taus, xs, vs


@nb.njit(cache=True, inline="always")
def _locate(grid: np.ndarray, x: float) -> tuple[int, float]:
    n = grid.shape[0]
    if x <= grid[0]:
        return 0, 0.0
    if x >= grid[n - 1]:
        return n - 2, 1.0
    h = (grid[n - 1] - grid[0]) / (n - 1)
    i = int((x - grid[0]) / h)
    if i > n - 2:
        i = n - 2
    return i, (x - grid[i]) / h


@nb.njit(cache=True)
def table_delta(
    table: np.ndarray,
    leg: int,
    taus: np.ndarray,
    xs: np.ndarray,
    vs: np.ndarray,
    tau: float,
    x: float,
    v: float,
) -> float:
    """Trilinear interpolation of a leg's tabulated model delta at (tau, x = ln(F/K), v)."""
    st = math.sqrt(tau)
    a, wa = _locate(taus, st)
    b, wb = _locate(xs, x / st)
    c, wc = _locate(vs, math.sqrt(v) if v > 0.0 else 0.0)
    out = 0.0
    for da in range(2):
        fa = wa if da else 1.0 - wa
        for db in range(2):
            fb = wb if db else 1.0 - wb
            for dc in range(2):
                fc = wc if dc else 1.0 - wc
                out += fa * fb * fc * table[leg, a + da, b + db, c + dc]
    return out

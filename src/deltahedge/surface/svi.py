"""Raw SVI smiles: formulas, Durrleman's butterfly function and a fast calibration.

Raw SVI (Gatheral 2004; Gatheral and Jacquier 2014, eq. 3.1) gives the total implied
variance ``w = sigma_imp**2 * T`` of one expiry as a function of log-moneyness
``k = ln(K / F)``::

    w(k) = a + b * (rho * (k - m) + sqrt((k - m)**2 + s**2))

with ``b >= 0``, ``|rho| < 1``, ``s > 0`` and ``a + b * s * sqrt(1 - rho**2) >= 0`` (the
minimum of ``w`` is non-negative). The slopes of the wings, ``b (1 + rho)`` and
``b (1 - rho)``, are kept ``<= 2`` (Lee's moment formula, Lee 2004).

Calibration is the quasi-explicit method of Zeliade Systems (2009, "Quasi-explicit
calibration of Gatheral's SVI model"): for fixed ``(m, s)`` and ``y = (k - m) / s`` the
smile is linear in ``(a, d, c) = (a, rho*b*s, b*s)``; writing ``u = c + d`` and
``v = c - d`` the admissible set is the box ``0 <= u, v <= 2 s``, so the inner problem
is a box-constrained weighted linear least squares, solved exactly by enumerating the
27 active sets. The outer 2-D search over ``(m, s)`` is a grid followed by zooms.
Both loops are compiled with numba; ``_qe_search_py`` is their readable reference twin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from deltahedge._typing import ArrayLike, FloatArray
from deltahedge.core.errors import InvalidInput

#: Wing slope bound of total variance in k (Lee 2004): ``b (1 + |rho|) <= 2``.
LEE_SLOPE = 2.0
#: ``|rho|`` is clipped to this after calibration so that ``|rho| < 1`` holds strictly.
RHO_MAX = 0.999


@dataclass(frozen=True)
class SVIParams:
    """Raw SVI parameters of one expiry (total variance, log-moneyness ``k = ln(K/F)``).

    Parameters
    ----------
    a : float
        Level of total variance (years * vol**2).
    b : float
        Angle between the wings, ``>= 0``.
    rho : float
        Rotation, ``-1 < rho < 1``.
    m : float
        Horizontal shift, in log-moneyness.
    sigma : float
        ATM curvature (smoothness), ``> 0``, in log-moneyness.
    """

    a: float
    b: float
    rho: float
    m: float
    sigma: float

    def __post_init__(self) -> None:
        bad = self.violations()
        if bad:
            raise InvalidInput(f"invalid raw SVI parameters {self}: {'; '.join(bad)}")

    def violations(self) -> list[str]:
        """The parameter constraints that do not hold (empty when all hold)."""
        out = []
        if not all(math.isfinite(x) for x in (self.a, self.b, self.rho, self.m, self.sigma)):
            out.append("all parameters must be finite")
            return out
        if self.b < 0:
            out.append(f"b = {self.b} must be >= 0")
        if not -1 < self.rho < 1:
            out.append(f"rho = {self.rho} must be in (-1, 1)")
        if self.sigma <= 0:
            out.append(f"sigma = {self.sigma} must be > 0")
        if self.min_variance() < -1e-12:
            out.append(
                f"minimum total variance a + b sigma sqrt(1 - rho^2) = {self.min_variance()} < 0"
            )
        return out

    def min_variance(self) -> float:
        """Minimum over k of the total variance, ``a + b sigma sqrt(1 - rho^2)``."""
        return self.a + self.b * self.sigma * math.sqrt(max(1.0 - self.rho**2, 0.0))

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        """``(a, b, rho, m, sigma)``."""
        return (self.a, self.b, self.rho, self.m, self.sigma)


def svi_total_variance(p: SVIParams, k: ArrayLike) -> FloatArray:
    """Raw SVI total variance ``w(k)`` (Gatheral and Jacquier 2014, eq. 3.1).

    Parameters
    ----------
    p : SVIParams
        The slice.
    k : array-like
        Log-moneyness ``ln(K / F)``.

    Returns
    -------
    ndarray
        Total variance ``sigma_imp**2 * T``, shape of ``k``.
    """
    x = np.asarray(k, dtype=np.float64) - p.m
    return p.a + p.b * (p.rho * x + np.sqrt(x * x + p.sigma * p.sigma))


def svi_derivatives(p: SVIParams, k: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``w``, ``dw/dk`` and ``d2w/dk2`` of a raw SVI slice.

    ``w' = b (rho + x / r)`` and ``w'' = b s**2 / r**3`` with ``x = k - m``,
    ``r = sqrt(x**2 + s**2)``.
    """
    x = np.asarray(k, dtype=np.float64) - p.m
    r = np.sqrt(x * x + p.sigma * p.sigma)
    w = p.a + p.b * (p.rho * x + r)
    w1 = p.b * (p.rho + x / r)
    w2 = p.b * p.sigma * p.sigma / (r * r * r)
    return w, w1, w2


def durrleman_g(k: ArrayLike, w: ArrayLike, w1: ArrayLike, w2: ArrayLike) -> FloatArray:
    """Durrleman's function ``g(k)``; a slice is free of butterfly arbitrage iff ``g >= 0``.

    ``g(k) = (1 - k w' / (2 w))**2 - (w'**2 / 4) (1 / w + 1 / 4) + w'' / 2``
    (Gatheral and Jacquier 2014, Lemma 2.2 and eq. 2.1). ``g`` is the risk-neutral
    density times a positive factor, so ``g < 0`` means a negative density.

    Parameters
    ----------
    k, w, w1, w2 : array-like
        Log-moneyness, total variance and its first two derivatives in ``k``.

    Returns
    -------
    ndarray
        ``g(k)``; ``-inf`` where ``w <= 0``.
    """
    k = np.asarray(k, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    w1 = np.asarray(w1, dtype=np.float64)
    w2 = np.asarray(w2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (1.0 - k * w1 / (2.0 * w)) ** 2 - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2
    return np.where(w > 0, g, -np.inf)


def svi_g(p: SVIParams, k: ArrayLike) -> FloatArray:
    """Durrleman's ``g(k)`` of a raw SVI slice (see ``durrleman_g``)."""
    kk = np.asarray(k, dtype=np.float64)
    return durrleman_g(kk, *svi_derivatives(p, kk))


# --------------------------------------------------------------------------------------
# Quasi-explicit calibration: inner box-constrained LSQ and outer (m, s) search.


def _solve_small_py(G: np.ndarray, h: np.ndarray, n: int, out: np.ndarray) -> bool:
    # Gaussian elimination with partial pivoting on the leading n x n block (n <= 3).
    A = np.empty((3, 4))
    for i in range(n):
        for j in range(n):
            A[i, j] = G[i, j]
        A[i, 3] = h[i]
    for col in range(n):
        piv = col
        for r in range(col + 1, n):
            if abs(A[r, col]) > abs(A[piv, col]):
                piv = r
        if abs(A[piv, col]) < 1e-300:
            return False
        if piv != col:
            for j in range(4):
                A[col, j], A[piv, j] = A[piv, j], A[col, j]
        for r in range(col + 1, n):
            f = A[r, col] / A[col, col]
            for j in range(col, 4):
                A[r, j] -= f * A[col, j]
    for i in range(n - 1, -1, -1):
        acc = A[i, 3]
        for j in range(i + 1, n):
            acc -= A[i, j] * out[j]
        out[i] = acc / A[i, i]
    return True


_solve_small = njit(cache=True)(_solve_small_py)


def _qe_inner_py(
    m: float,
    s: float,
    k: np.ndarray,
    w: np.ndarray,
    wt: np.ndarray,
    a_hi: float,
    theta: np.ndarray,
) -> float:
    # Minimise sum wt (a + u p + v q - w)^2 over the box u, v in
    # [0, LEE_SLOPE s] and a in [-LEE_SLOPE s, a_hi], p = (y + z)/2, q = (z - y)/2, y = (k - m)/s, z = sqrt(y^2 + 1).
    # Writes the optimum (a, u, v) into theta and returns the objective (inf if none
    # is feasible, including the constraint a + sqrt(u v) >= 0).
    G = np.zeros((3, 3))
    h = np.zeros(3)
    ww = 0.0
    for i in range(k.shape[0]):
        y = (k[i] - m) / s
        z = math.sqrt(y * y + 1.0)
        x0 = 1.0
        x1 = 0.5 * (y + z)
        x2 = 0.5 * (z - y)
        wi = wt[i]
        G[0, 0] += wi
        G[0, 1] += wi * x1
        G[0, 2] += wi * x2
        G[1, 1] += wi * x1 * x1
        G[1, 2] += wi * x1 * x2
        G[2, 2] += wi * x2 * x2
        h[0] += wi * x0 * w[i]
        h[1] += wi * x1 * w[i]
        h[2] += wi * x2 * w[i]
        ww += wi * w[i] * w[i]
    G[1, 0] = G[0, 1]
    G[2, 0] = G[0, 2]
    G[2, 1] = G[1, 2]
    lo = np.array([-LEE_SLOPE * s, 0.0, 0.0])
    hi = np.array([a_hi, LEE_SLOPE * s, LEE_SLOPE * s])
    best = np.inf
    cand = np.empty(3)
    # The problem is convex on the box: an unconstrained minimum inside it (and with a
    # non-negative minimum variance) is the answer, no active set needed.
    if _solve_small(G, h, 3, cand):
        inside = True
        for j in range(3):
            if cand[j] < lo[j] or cand[j] > hi[j]:
                inside = False
        if inside and cand[0] + math.sqrt(cand[1] * cand[2]) >= 0.0:
            obj = ww
            for i in range(3):
                obj -= 2.0 * h[i] * cand[i]
                for j in range(3):
                    obj += cand[i] * G[i, j] * cand[j]
            for j in range(3):
                theta[j] = cand[j]
            return obj
    free_idx = np.empty(3, dtype=np.int64)
    Gr = np.empty((3, 3))
    hr = np.empty(3)
    sol = np.empty(3)
    for combo in range(27):
        c = combo
        nfree = 0
        for j in range(3):
            st = c % 3
            c //= 3
            if st == 0:
                free_idx[nfree] = j
                nfree += 1
                cand[j] = 0.0
            elif st == 1:
                cand[j] = lo[j]
            else:
                cand[j] = hi[j]
        ok = True
        if nfree > 0:
            for r in range(nfree):
                jr = free_idx[r]
                acc = h[jr]
                for j in range(3):
                    is_free = False
                    for q in range(nfree):
                        if free_idx[q] == j:
                            is_free = True
                    if not is_free:
                        acc -= G[jr, j] * cand[j]
                hr[r] = acc
                for q in range(nfree):
                    Gr[r, q] = G[jr, free_idx[q]]
            ok = _solve_small(Gr, hr, nfree, sol)
            if ok:
                for r in range(nfree):
                    jr = free_idx[r]
                    cand[jr] = sol[r]
                    if cand[jr] < lo[jr] - 1e-14 or cand[jr] > hi[jr] + 1e-14:
                        ok = False
        if not ok:
            continue
        if cand[0] + math.sqrt(max(cand[1], 0.0) * max(cand[2], 0.0)) < 0.0:
            continue
        obj = ww
        for i in range(3):
            obj -= 2.0 * h[i] * cand[i]
            for j in range(3):
                obj += cand[i] * G[i, j] * cand[j]
        if obj < best:
            best = obj
            for j in range(3):
                theta[j] = cand[j]
    return best


_qe_inner = njit(cache=True)(_qe_inner_py)


def _min_g_py(a: float, u: float, v: float, m: float, s: float, kg: np.ndarray) -> float:
    # Minimum of Durrleman's g over the grid kg for the slice (a, u, v, m, s).
    c = 0.5 * (u + v)
    d = 0.5 * (u - v)
    b = c / s
    rho = d / c if c > 0 else 0.0
    gmin = np.inf
    for i in range(kg.shape[0]):
        x = kg[i] - m
        r = math.sqrt(x * x + s * s)
        w = a + b * (rho * x + r)
        if w <= 0.0:
            return -np.inf
        w1 = b * (rho + x / r)
        w2 = b * s * s / (r * r * r)
        t = 1.0 - kg[i] * w1 / (2.0 * w)
        g = t * t - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2
        if g < gmin:
            gmin = g
    return gmin


_min_g = njit(cache=True)(_min_g_py)


def _g_negative_py(a: float, u: float, v: float, m: float, s: float, kg: np.ndarray) -> bool:
    # ``_min_g(...) < 0`` without visiting the rest of the grid once the answer is known.
    c = 0.5 * (u + v)
    d = 0.5 * (u - v)
    b = c / s
    rho = d / c if c > 0 else 0.0
    for i in range(kg.shape[0]):
        x = kg[i] - m
        r = math.sqrt(x * x + s * s)
        w = a + b * (rho * x + r)
        if w <= 0.0:
            return True
        w1 = b * (rho + x / r)
        w2 = b * s * s / (r * r * r)
        t = 1.0 - kg[i] * w1 / (2.0 * w)
        if t * t - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2 < 0.0:
            return True
    return False


_g_negative = njit(cache=True)(_g_negative_py)


@njit(cache=True)
def _qe_search(k, w, wt, m_lo, m_hi, ls_lo, ls_hi, n_grid, n_zoom, kg, out):  # type: ignore[no-untyped-def]
    # Grid over (m, ln s), then n_zoom finer grids around the best point so far.
    # Writes (a, u, v, m, s) into out and returns the objective. When kg is not empty,
    # candidates with Durrleman's g < 0 somewhere on kg are rejected (butterfly-free fit).
    a_hi = np.max(w)
    theta = np.empty(3)
    best = np.inf
    bm = 0.5 * (m_lo + m_hi)
    bls = 0.5 * (ls_lo + ls_hi)
    hm = 0.5 * (m_hi - m_lo)
    hls = 0.5 * (ls_hi - ls_lo)
    for _ in range(n_zoom + 1):
        cm = bm
        cls = bls
        for i in range(n_grid):
            mi = cm - hm + 2.0 * hm * i / (n_grid - 1)
            for j in range(n_grid):
                lsj = cls - hls + 2.0 * hls * j / (n_grid - 1)
                s = math.exp(lsj)
                obj = _qe_inner(mi, s, k, w, wt, a_hi, theta)
                if obj < best and kg.shape[0] > 0:
                    if _g_negative(theta[0], theta[1], theta[2], mi, s, kg):
                        continue
                if obj < best:
                    best = obj
                    bm = mi
                    bls = lsj
                    out[0] = theta[0]
                    out[1] = theta[1]
                    out[2] = theta[2]
                    out[3] = mi
                    out[4] = s
        hm *= 2.5 / (n_grid - 1)
        hls *= 2.5 / (n_grid - 1)
    return best


#: The readable twin of the compiled search (same code, run by the Python interpreter).
_qe_search_py = _qe_search.py_func


def _params_from_search(out: np.ndarray) -> SVIParams:
    a, u, v, m, s = (float(x) for x in out)
    c = 0.5 * (u + v)
    d = 0.5 * (u - v)
    b = c / s
    rho = d / c if c > 0 else 0.0
    rho = min(max(rho, -RHO_MAX), RHO_MAX)
    # keep the minimum variance non-negative after the rho clip
    a = max(a, -b * s * math.sqrt(1.0 - rho * rho))
    return SVIParams(a=a, b=b, rho=rho, m=m, sigma=s)


def calibrate_svi(
    k: ArrayLike,
    w: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    n_grid: int = 15,
    n_zoom: int = 4,
    butterfly_grid: ArrayLike | None = None,
    near: SVIParams | None = None,
    reference: bool = False,
) -> SVIParams:
    """Fit a raw SVI slice to total variances by weighted least squares (quasi-explicit).

    Parameters
    ----------
    k : array-like
        Log-moneyness ``ln(K / F)`` of the quotes; at least 5 points.
    w : array-like
        Target total variance ``sigma_imp**2 * T`` (years * vol**2), same length.
    weights : array-like, optional
        Non-negative weight of each squared total-variance error (default all 1).
    n_grid, n_zoom : int
        Outer search: an ``n_grid x n_grid`` grid over ``(m, ln s)`` then ``n_zoom``
        zoomed grids around the best point.
    butterfly_grid : array-like, optional
        Log-moneyness points where Durrleman's ``g >= 0`` is imposed: candidates with a
        negative ``g`` there are rejected, so the fit is free of butterfly arbitrage on
        that grid (a constrained refit; slower).
    near : SVIParams, optional
        Warm start: search only ``m`` within 15 % of the quoted span and ``s`` within a
        factor ``e**0.5`` of ``near``'s (used by refits of a nearby target).
    reference : bool
        Use the pure-Python twin instead of the numba kernel (slow; for tests).

    Returns
    -------
    SVIParams
        Satisfying ``b >= 0``, ``|rho| < 1``, ``s > 0``, non-negative minimum variance
        and wing slopes ``<= 2``.

    Raises
    ------
    InvalidInput
        Fewer than 5 finite points, non-positive variances or negative weights.
    """
    kk = np.ascontiguousarray(k, dtype=np.float64)
    ww = np.ascontiguousarray(w, dtype=np.float64)
    wt = np.ones_like(kk) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    if kk.shape != ww.shape or kk.shape != wt.shape or kk.ndim != 1:
        raise InvalidInput(
            f"k, w and weights must be 1-D of one length, got {kk.shape}, {ww.shape}, {wt.shape}"
        )
    ok = np.isfinite(kk) & np.isfinite(ww) & np.isfinite(wt)
    kk, ww, wt = kk[ok], ww[ok], wt[ok]
    if kk.size < 5:
        raise InvalidInput(f"an SVI fit needs at least 5 finite points, got {kk.size}")
    if np.any(ww <= 0):
        raise InvalidInput(f"total variances must be > 0, got min {ww.min()}")
    if np.any(wt < 0):
        raise InvalidInput(f"weights must be >= 0, got min {wt.min()}")
    wt = wt / wt.sum()
    span = max(float(kk.max() - kk.min()), 1e-4)
    if near is None:
        m_lo, m_hi = float(kk.min()) - 0.5 * span, float(kk.max()) + 0.5 * span
        ls_lo, ls_hi = math.log(max(span * 1e-3, 1e-5)), math.log(max(2.0 * span, 1e-3))
    else:
        m_lo, m_hi = near.m - 0.15 * span, near.m + 0.15 * span
        ls_lo, ls_hi = math.log(near.sigma) - 0.5, math.log(near.sigma) + 0.5
    kg = (
        np.zeros(0)
        if butterfly_grid is None
        else np.ascontiguousarray(butterfly_grid, dtype=np.float64)
    )
    out = np.full(5, np.nan)
    search = _qe_search_py if reference else _qe_search
    best = search(kk, ww, wt, m_lo, m_hi, ls_lo, ls_hi, n_grid, n_zoom, kg, out)
    if not np.isfinite(best):
        raise InvalidInput(
            "no admissible SVI slice found (every candidate broke a constraint); "
            f"{kk.size} points with k in [{kk.min():.4f}, {kk.max():.4f}]"
        )
    return _params_from_search(out)


__all__ = [
    "LEE_SLOPE",
    "SVIParams",
    "calibrate_svi",
    "durrleman_g",
    "svi_derivatives",
    "svi_g",
    "svi_total_variance",
]

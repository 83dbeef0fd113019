"""SSVI: the surface SVI of Gatheral and Jacquier (2014), free of static arbitrage.

For ATM total variance ``theta_t`` and log-moneyness ``k``
(Gatheral and Jacquier 2014, eq. 4.1)::

    w(k, theta_t) = theta_t / 2 * (1 + rho phi k + sqrt((phi k + rho)**2 + 1 - rho**2))

with ``phi = phi(theta_t)`` either

* power law (GJ 2014, eq. 4.5): ``phi(theta) = eta theta**-gamma (1 + theta)**(gamma - 1)``
* Heston-like (GJ 2014, eq. 4.4): ``phi(theta) = (1 - (1 - exp(-lam theta)) / (lam theta)) / (lam theta)``.

No-arbitrage conditions enforced by the calibration bounds:

* Calendar spreads, GJ 2014 **Theorem 4.1**: free iff ``d theta_t / dt >= 0`` and
  ``0 <= d(theta phi(theta))/d theta <= (1 + sqrt(1 - rho**2)) / rho**2 * phi(theta)``.
  We make ``theta_t`` non-decreasing (running maximum of the ATM total variances). For the
  power law ``d(theta phi)/d theta = phi (1 - gamma) / (1 + theta)``, inside the bounds for
  ``0 <= gamma <= 1``; the Heston-like ``phi`` satisfies it for every ``lam > 0``.
* Butterflies, GJ 2014 **Theorem 4.2**: free if ``theta phi (1 + |rho|) < 4`` and
  ``theta phi**2 (1 + |rho|) <= 4`` for all ``theta > 0``. For the power law both hold when
  ``0 < gamma <= 1/2`` and ``eta (1 + |rho|) <= 2`` (since ``theta phi <= eta`` and
  ``theta phi**2 <= eta**2``); for the Heston-like ``phi``, **Corollary 4.1**:
  ``lam >= (1 + |rho|) / 4``.

An SSVI slice at fixed ``theta`` is a raw SVI slice (GJ 2014, section 4):
``a = theta (1 - rho**2) / 2, b = theta phi / 2, m = -rho / phi, sigma = sqrt(1 - rho**2) / phi``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import least_squares

from deltahedge._typing import ArrayLike, FloatArray
from deltahedge.core.errors import InvalidInput
from deltahedge.surface.svi import SVIParams

PhiKind = Literal["power_law", "heston"]
#: Bounds kept by the calibration (see the module docstring for the theorems).
GAMMA_MAX = 0.5
RHO_BOUND = 0.999


@dataclass(frozen=True)
class SSVIParams:
    """Global SSVI parameters (the ATM term structure ``theta_t`` is kept apart).

    Parameters
    ----------
    rho : float
        Spot-vol correlation parameter, ``|rho| < 1``.
    phi_kind : {"power_law", "heston"}
        Which ``phi`` function.
    eta, gamma : float
        Power-law parameters (``gamma`` in ``(0, 1/2]``, ``eta (1 + |rho|) <= 2``).
    lam : float
        Heston-like parameter, ``>= (1 + |rho|) / 4``.
    """

    rho: float
    phi_kind: PhiKind = "power_law"
    eta: float = 1.0
    gamma: float = 0.5
    lam: float = 1.0

    def __post_init__(self) -> None:
        if self.phi_kind not in ("power_law", "heston"):
            raise InvalidInput(
                f"phi_kind {self.phi_kind!r} is not allowed; use 'power_law' or 'heston'"
            )
        if not -1 < self.rho < 1:
            raise InvalidInput(f"SSVI rho = {self.rho} must be in (-1, 1)")

    def phi(self, theta: ArrayLike) -> FloatArray:
        """``phi(theta)`` of the chosen kind (theta: ATM total variance, > 0)."""
        th = np.asarray(theta, dtype=np.float64)
        if self.phi_kind == "power_law":
            return self.eta * th ** (-self.gamma) * (1.0 + th) ** (self.gamma - 1.0)
        x = self.lam * th
        return (1.0 - (1.0 - np.exp(-x)) / x) / x

    def arbitrage_conditions(self) -> list[str]:
        """The sufficient no-arbitrage conditions (Theorems 4.1, 4.2, Corollary 4.1) that fail."""
        out = []
        r = abs(self.rho)
        if self.phi_kind == "power_law":
            if not 0 < self.gamma <= GAMMA_MAX:
                out.append(f"gamma = {self.gamma} outside (0, 1/2] (Theorem 4.2)")
            if self.eta * (1 + r) > 2 + 1e-12:
                out.append(f"eta (1 + |rho|) = {self.eta * (1 + r):.4f} > 2 (Theorem 4.2)")
        elif self.lam < (1 + r) / 4 - 1e-12:
            out.append(f"lam = {self.lam} < (1 + |rho|) / 4 (Corollary 4.1)")
        return out


def ssvi_total_variance(p: SSVIParams, k: ArrayLike, theta: ArrayLike) -> FloatArray:
    """SSVI total variance ``w(k, theta)`` (GJ 2014, eq. 4.1); broadcasts ``k`` and ``theta``."""
    kk = np.asarray(k, dtype=np.float64)
    th = np.asarray(theta, dtype=np.float64)
    ph = p.phi(th)
    x = ph * kk
    return 0.5 * th * (1.0 + p.rho * x + np.sqrt((x + p.rho) ** 2 + 1.0 - p.rho**2))


def ssvi_slice_as_svi(p: SSVIParams, theta: float) -> SVIParams:
    """The raw SVI parameters of the SSVI slice at ATM total variance ``theta``."""
    ph = float(p.phi(theta))
    return SVIParams(
        a=0.5 * theta * (1.0 - p.rho**2),
        b=0.5 * theta * ph,
        rho=p.rho,
        m=-p.rho / ph,
        sigma=math.sqrt(1.0 - p.rho**2) / ph,
    )


def monotone_theta(theta: ArrayLike) -> FloatArray:
    """Running maximum of ATM total variances (ascending expiries): Theorem 4.1's ``d theta/dt >= 0``."""
    th = np.asarray(theta, dtype=np.float64)
    return np.maximum.accumulate(th)


def _unpack(x: np.ndarray, phi_kind: PhiKind) -> SSVIParams:
    rho = float(x[0])
    if phi_kind == "power_law":
        return SSVIParams(
            rho, "power_law", eta=2.0 * float(x[1]) / (1.0 + abs(rho)), gamma=float(x[2])
        )
    return SSVIParams(rho, "heston", lam=(1.0 + abs(rho)) / 4.0 + float(x[1]))


def calibrate_ssvi(
    k: list[FloatArray],
    vol: list[FloatArray],
    T: ArrayLike,
    theta: ArrayLike,
    weights: list[FloatArray] | None = None,
    phi_kind: PhiKind = "power_law",
) -> SSVIParams:
    """Fit ``rho`` and ``phi``'s parameters to implied vols of all expiries at once.

    Parameters
    ----------
    k : list of ndarray
        Log-moneyness of the quotes, one array per expiry.
    vol : list of ndarray
        Target implied vols (decimals), same shapes.
    T : array-like
        Expiries, years, ascending.
    theta : array-like
        ATM total variance per expiry, non-decreasing (see ``monotone_theta``).
    weights : list of ndarray, optional
        Weight of each squared vol error (default 1).
    phi_kind : {"power_law", "heston"}
        Which ``phi``.

    Returns
    -------
    SSVIParams
        Inside the bounds of Theorems 4.1 and 4.2 (or Corollary 4.1), so the surface is
        free of static arbitrage for any non-decreasing ``theta``.
    """
    TT = np.asarray(T, dtype=np.float64)
    th = np.asarray(theta, dtype=np.float64)
    if np.any(np.diff(th) < 0) or np.any(th <= 0):
        raise InvalidInput(f"theta must be positive and non-decreasing, got {th}")
    if not (len(k) == len(vol) == len(TT) == len(th)):
        raise InvalidInput("k, vol, T and theta must have one entry per expiry")
    kk = np.concatenate(k)
    vv = np.concatenate(vol)
    tt = np.concatenate([np.full(len(a), t) for a, t in zip(k, TT, strict=True)])
    thh = np.concatenate([np.full(len(a), t) for a, t in zip(k, th, strict=True)])
    sw = np.sqrt(np.concatenate(weights)) if weights is not None else np.ones_like(kk)

    def resid(x: np.ndarray) -> np.ndarray:
        p = _unpack(x, phi_kind)
        w = ssvi_total_variance(p, kk, thh)
        return (np.sqrt(np.maximum(w, 0.0) / tt) - vv) * sw

    if phi_kind == "power_law":
        x0, lo, hi = [-0.2, 0.5, 0.4], [-RHO_BOUND, 1e-4, 1e-3], [RHO_BOUND, 1.0, GAMMA_MAX]
    elif phi_kind == "heston":
        x0, lo, hi = [-0.2, 1.0], [-RHO_BOUND, 0.0], [RHO_BOUND, 1e4]
    else:
        raise InvalidInput(f"phi_kind {phi_kind!r} is not allowed; use 'power_law' or 'heston'")
    best = None
    for start in (x0, [0.2, *x0[1:]]):
        res = least_squares(resid, start, bounds=(lo, hi), x_scale="jac", max_nfev=400)
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    return _unpack(best.x, phi_kind)


def calibrate_ssvi_joint(
    k: list[FloatArray],
    vol: list[FloatArray],
    T: ArrayLike,
    theta: ArrayLike,
    weights: list[FloatArray] | None = None,
    phi_kind: PhiKind = "power_law",
) -> tuple[SSVIParams, FloatArray]:
    """Fit ``rho``, ``phi`` *and* the ATM term structure ``theta`` together.

    ``theta`` is parameterised as ``theta_1 + cumulative sums of non-negative steps``, so
    it stays non-decreasing (Theorem 4.1) whatever the optimiser does; the global
    parameters keep the bounds of ``calibrate_ssvi``, which supplies the start.

    Returns
    -------
    (SSVIParams, ndarray)
        The parameters and the fitted non-decreasing ``theta`` per expiry.
    """
    p0 = calibrate_ssvi(k, vol, T, theta, weights, phi_kind)
    th0 = monotone_theta(theta)
    TT = np.asarray(T, dtype=np.float64)
    n = len(th0)
    kk = np.concatenate(k)
    vv = np.concatenate(vol)
    idx = np.concatenate([np.full(len(a), i) for i, a in enumerate(k)])
    tt = TT[idx]
    sw = np.sqrt(np.concatenate(weights)) if weights is not None else np.ones_like(kk)
    if phi_kind == "power_law":
        g0 = [p0.rho, p0.eta * (1 + abs(p0.rho)) / 2, p0.gamma]
        glo, ghi = [-RHO_BOUND, 1e-4, 1e-3], [RHO_BOUND, 1.0, GAMMA_MAX]
    else:
        g0 = [p0.rho, p0.lam - (1 + abs(p0.rho)) / 4]
        glo, ghi = [-RHO_BOUND, 0.0], [RHO_BOUND, 1e4]
    ng = len(g0)
    steps = np.diff(th0, prepend=0.0)
    x0 = np.concatenate([g0, steps])
    lo = np.concatenate([glo, np.full(n, 0.0)])
    lo[ng] = 1e-8
    hi = np.concatenate([ghi, np.full(n, np.inf)])
    x0 = np.clip(x0, lo, hi)

    def resid(x: np.ndarray) -> np.ndarray:
        p = _unpack(x[:ng], phi_kind)
        th = np.cumsum(x[ng:])
        w = ssvi_total_variance(p, kk, th[idx])
        return (np.sqrt(np.maximum(w, 0.0) / tt) - vv) * sw

    res = least_squares(resid, x0, bounds=(lo, hi), x_scale="jac", max_nfev=200)
    return _unpack(res.x[:ng], phi_kind), np.cumsum(res.x[ng:])


__all__ = [
    "GAMMA_MAX",
    "PhiKind",
    "SSVIParams",
    "calibrate_ssvi",
    "calibrate_ssvi_joint",
    "monotone_theta",
    "ssvi_slice_as_svi",
    "ssvi_total_variance",
]

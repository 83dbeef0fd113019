"""Smile-adjusted deltas and Hull and White's minimum-variance delta, with its "gain".

``delta = delta_BS + vega * dsigma/dF`` (Black-76 forward delta at the surface vol; vega
per 1.00 of vol, USD per USD of forward), with ``dsigma/dF`` from the dynamics:

* ``sticky_strike``: 0 (the vol of a fixed strike does not move with the forward);
* ``sticky_moneyness``: ``-(1/F) dsigma/dk`` (the smile moves with ``k = ln(K/F)``);
* ``min_variance``: Hull and White (2017, eq. 7):
  ``delta_MV = delta_BS + vega / (F sqrt(T)) (a + b delta_BS + c delta_BS**2)``.

``fit_min_variance`` estimates ``(a, b, c)`` by least squares on consecutive snapshots,
Hull and White (2017, eq. 8)::

    dV - delta_BS dF = vega / sqrt(T) * dF / F * (a + b delta_BS + c delta_BS**2) + e

(``V`` the USD value of the option, ``F`` its expiry's forward, ``delta_BS`` and
``vega`` at the option's own mark IV at the start of the step). The "gain" of a delta
is ``1 - SSE(dV - delta dF) / SSE(dV - delta_BS dF)``: the reduction of the variance
of one-step hedging errors against Black-Scholes delta (Hull and White 2017, eq. 9).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np

from deltahedge._typing import ArrayLike, FloatArray
from deltahedge.core.enums import parse_kind
from deltahedge.core.errors import InvalidInput
from deltahedge.marketdata.chain import OptionChain
from deltahedge.pricing import black76_risk
from deltahedge.surface import _eval

Dynamics = Literal["sticky_strike", "sticky_moneyness", "min_variance"]
_DYN = {
    "sticky_strike": _eval.DYN_STICKY_STRIKE,
    "sticky_moneyness": _eval.DYN_STICKY_MONEYNESS,
    "min_variance": _eval.DYN_MIN_VARIANCE,
}


def smile_delta(
    surface,  # type: ignore[no-untyped-def]
    kind: object,
    F: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    dynamics: Dynamics = "sticky_moneyness",
    coeffs: tuple[float, float, float] | None = None,
) -> FloatArray:
    """Smile-adjusted forward delta of options on a fitted surface.

    Parameters
    ----------
    surface : Surface
        The fitted surface; the vol is read at ``k = ln(K / F)`` and ``T``.
    kind : OptionKind, str, int or array-like of these
        Call or put (see ``core.enums.parse_kind``).
    F : array-like
        Forward of each option's expiry, USD.
    K : array-like
        Strike, USD.
    T : array-like
        Years to expiry, > 0.
    dynamics : {"sticky_strike", "sticky_moneyness", "min_variance"}
        How the smile moves with the forward (module docstring).
    coeffs : (a, b, c), optional
        Minimum-variance coefficients (``fit_min_variance``); required for ``min_variance``.

    Returns
    -------
    ndarray
        ``dV/dF`` of the USD value per unit of forward (not premium-adjusted), broadcast shape.

    Raises
    ------
    InvalidInput
        Unknown dynamics, missing coefficients, or non-positive ``F``, ``K`` or ``T``.
    """
    if dynamics not in _DYN:
        raise InvalidInput(f"dynamics {dynamics!r} is not allowed; use one of {sorted(_DYN)}")
    if dynamics == "min_variance":
        if coeffs is None or len(coeffs) != 3:
            raise InvalidInput(
                f"min_variance needs coeffs=(a, b, c) from fit_min_variance, got {coeffs!r}"
            )
        ca, cb, cc = (float(x) for x in coeffs)
    else:
        ca = cb = cc = 0.0
    if isinstance(kind, np.ndarray) and kind.dtype in (np.int8, np.float64):
        phi = kind.astype(np.float64)  # validated in the kernel
    else:
        phi = np.asarray(parse_kind(kind), dtype=np.float64)
    arrs = [phi, *(np.asarray(x, dtype=np.float64) for x in (F, K, T))]
    shape = arrs[2].shape
    if any(a.shape != shape for a in arrs):
        arrs = list(np.broadcast_arrays(*arrs))
        shape = arrs[0].shape
    ph, FF, KK, TT = (np.ascontiguousarray(a).reshape(-1) for a in arrs)
    out = np.empty(KK.size)
    bad = _eval.delta_kernel(
        surface.T, surface.params, ph, FF, KK, TT, _DYN[dynamics], ca, cb, cc, out
    )
    if bad:
        raise InvalidInput(
            f"{bad} option(s) with F, K or T <= 0 or a kind other than call/put (+1/-1)"
        )
    return out.reshape(shape)


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class HedgeSteps:
    """One-step hedging data for options seen in two consecutive snapshots.

    Parameters
    ----------
    kind : ndarray of int8
        +1 call, -1 put.
    dV : ndarray
        Change of the option's USD value (mark in coin times forward), USD.
    dF : ndarray
        Change of its expiry's forward, USD.
    F, K, T, sigma : ndarray
        Forward, strike, years to expiry and mark IV at the start of the step.
    delta_bs, vega : ndarray
        Black-76 delta and vega (per 1.00 vol, USD) at the mark IV at the start.
    step : ndarray of int64
        Index of the step (snapshot pair) each row belongs to.
    """

    kind: np.ndarray
    dV: FloatArray
    dF: FloatArray
    F: FloatArray
    K: FloatArray
    T: FloatArray
    sigma: FloatArray
    delta_bs: FloatArray
    vega: FloatArray
    step: np.ndarray

    def select(self, mask: np.ndarray) -> HedgeSteps:
        """The rows where ``mask`` holds."""
        return HedgeSteps(**{k: getattr(self, k)[mask] for k in self.__dataclass_fields__})


def hedge_steps(chains: list[OptionChain], max_T: float = 2.0) -> HedgeSteps:
    """Pair each option with itself in the next snapshot (same instrument name).

    Parameters
    ----------
    chains : list of OptionChain
        Snapshots of one underlying, ascending in time.
    max_T : float
        Options with more years than this to expiry are left out.
    """
    cols: dict[str, list[np.ndarray]] = {k: [] for k in HedgeSteps.__dataclass_fields__}
    for s, (a, b) in enumerate(itertools.pairwise(chains)):
        if a.underlying != b.underlying:
            raise InvalidInput(f"chains mix underlyings {a.underlying} and {b.underlying}")
        idx_b = {name: i for i, name in enumerate(b.instrument.tolist())}
        ia = np.array([i for i, n in enumerate(a.instrument.tolist()) if n in idx_b], dtype=int)
        ib = np.array([idx_b[a.instrument[i]] for i in ia], dtype=int)
        if ia.size == 0:
            continue
        va = a.to_usd(a.mark)[ia]
        vb = b.to_usd(b.mark)[ib]
        ok = (
            np.isfinite(va)
            & np.isfinite(vb)
            & np.isfinite(a.mark_iv[ia])
            & (a.mark_iv[ia] > 0)
            & (a.T[ia] > 0)
            & (b.T[ib] > 0)
            & (a.T[ia] <= max_T)
        )
        ia, ib = ia[ok], ib[ok]
        F, K, T, sig = a.forward[ia], a.strike[ia], a.T[ia], a.mark_iv[ia]
        g = black76_risk(a.kind[ia], F, K, T, sig)
        cols["kind"].append(a.kind[ia])
        cols["dV"].append(vb[ok] - va[ok])
        cols["dF"].append(b.forward[ib] - F)
        cols["F"].append(F)
        cols["K"].append(K)
        cols["T"].append(T)
        cols["sigma"].append(sig)
        cols["delta_bs"].append(g.delta)
        cols["vega"].append(g.vega)
        cols["step"].append(np.full(ia.size, s, dtype=np.int64))
    if not cols["dV"]:
        raise InvalidInput("no option appears in two consecutive snapshots")
    return HedgeSteps(**{k: np.concatenate(v) for k, v in cols.items()})


def _regressors(h: HedgeSteps) -> tuple[FloatArray, FloatArray]:
    base = h.vega / np.sqrt(h.T) * h.dF / h.F
    X = np.column_stack([base, base * h.delta_bs, base * h.delta_bs**2])
    y = h.dV - h.delta_bs * h.dF
    return X, y


def fit_min_variance_steps(h: HedgeSteps) -> tuple[float, float, float]:
    """Least-squares ``(a, b, c)`` of Hull and White (2017, eq. 8) on hedge steps ``h``."""
    if len(h.dV) < 3:
        raise InvalidInput(f"need at least 3 hedge steps to fit (a, b, c), got {len(h.dV)}")
    X, y = _regressors(h)
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return float(coef[0]), float(coef[1]), float(coef[2])


def fit_min_variance(
    chains: list[OptionChain], kind: Literal["call", "put", "both"] = "both"
) -> tuple[float, float, float]:
    """Fit Hull and White's minimum-variance coefficients on consecutive real snapshots.

    Parameters
    ----------
    chains : list of OptionChain
        Snapshots of one underlying, ascending in time.
    kind : {"call", "put", "both"}
        Which options enter the regression (Hull and White fit calls and puts apart).

    Returns
    -------
    (a, b, c) : tuple of float
        For ``smile_delta(..., dynamics="min_variance", coeffs=(a, b, c))``.
    """
    h = hedge_steps(chains)
    if kind != "both":
        h = h.select(h.kind == parse_kind(kind))
    return fit_min_variance_steps(h)


__all__ = [
    "Dynamics",
    "HedgeSteps",
    "fit_min_variance",
    "fit_min_variance_steps",
    "hedge_steps",
    "smile_delta",
]

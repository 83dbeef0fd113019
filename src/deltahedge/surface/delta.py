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
from typing import Literal, NamedTuple

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


def _dyn_args(dynamics: str, coeffs: tuple[float, float, float] | None) -> tuple[int, ...]:
    dyn = _DYN.get(dynamics)
    if dyn is None:
        raise InvalidInput(f"dynamics {dynamics!r} is not allowed; use one of {sorted(_DYN)}")
    if dyn == _eval.DYN_MIN_VARIANCE:
        if coeffs is None or len(coeffs) != 3:
            raise InvalidInput(
                f"min_variance needs coeffs=(a, b, c) from fit_min_variance, got {coeffs!r}"
            )
        ca, cb, cc = (float(x) for x in coeffs)
        return dyn, ca, cb, cc  # type: ignore[return-value]
    return dyn, 0.0, 0.0, 0.0  # type: ignore[return-value]


def _phi(kind: object) -> np.ndarray:
    # int8 or float64 arrays go to the kernels as they are (validated there).
    if type(kind) is np.ndarray and kind.dtype.char in "bd":
        return kind
    return np.asarray(parse_kind(kind), dtype=np.float64)


def _is_flat(x: object, n: int) -> bool:
    return (
        type(x) is np.ndarray
        and x.ndim == 1
        and x.shape[0] == n
        and x.dtype.char == "d"
        and x.flags.c_contiguous
    )


def _flat_inputs(
    phi: np.ndarray, F: ArrayLike, K: ArrayLike, T: ArrayLike
) -> tuple[tuple[np.ndarray, ...], tuple[int, ...]]:
    # 1-D contiguous float64 inputs of one length are used as they are (no copies);
    # anything else is converted and broadcast.
    if type(K) is np.ndarray and K.ndim == 1:
        n = K.shape[0]
        if (
            _is_flat(F, n)
            and _is_flat(K, n)
            and _is_flat(T, n)
            and phi.ndim == 1
            and phi.shape[0] == n
            and phi.flags.c_contiguous
        ):
            return (phi, F, K, T), (n,)  # type: ignore[return-value]
    arrs = [phi, *(np.asarray(x, dtype=np.float64) for x in (F, K, T))]
    shape = arrs[2].shape
    if any(a.shape != shape for a in arrs):
        arrs = list(np.broadcast_arrays(*arrs))
        shape = arrs[0].shape
    return tuple(np.ascontiguousarray(a).reshape(-1) for a in arrs), shape


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
    dyn, ca, cb, cc = _dyn_args(dynamics, coeffs)
    (ph, FF, KK, TT), shape = _flat_inputs(_phi(kind), F, K, T)
    out = np.empty(KK.shape[0])
    bad = _eval.delta_kernel(surface.T, surface.params, ph, FF, KK, TT, dyn, ca, cb, cc, out)
    if bad:
        raise InvalidInput(
            f"{bad} option(s) with F, K or T <= 0 or a kind other than call/put (+1/-1)"
        )
    return out.reshape(shape)


class VolDelta(NamedTuple):
    """What ``smile_vol_delta`` computes for each option (arrays of the broadcast shape).

    Parameters
    ----------
    vol : ndarray
        Surface implied vol at ``k = ln(K / F)`` and ``T`` (decimal).
    delta : ndarray
        Smile-adjusted forward delta for the chosen dynamics (USD per USD of forward).
    delta_bs : ndarray
        Black-76 forward delta at ``vol``.
    vega : ndarray
        Black-76 vega at ``vol``, USD per 1.00 of vol per unit of underlying (undiscounted).
    dvol_dk : ndarray
        ``d vol / d k`` (per unit of log-moneyness).
    """

    vol: FloatArray
    delta: FloatArray
    delta_bs: FloatArray
    vega: FloatArray
    dvol_dk: FloatArray


def smile_vol_delta(
    surface,  # type: ignore[no-untyped-def]
    kind: object,
    F: ArrayLike | None,
    K: ArrayLike,
    T: ArrayLike,
    dynamics: Dynamics = "sticky_moneyness",
    coeffs: tuple[float, float, float] | None = None,
    out: VolDelta | None = None,
) -> VolDelta:
    """Vol and smile-adjusted delta (with Black-76 delta, vega, dvol/dk) in one compiled pass.

    The fused form of ``Surface.vol`` and ``smile_delta``: one loop per option
    (``_eval.vol_delta_kernel``). 1-D contiguous float64 inputs of one length (and an
    int8 or float64 ``kind`` array) are passed to the kernel without copies; ``out``
    takes preallocated outputs so that a hot loop allocates nothing.

    Parameters
    ----------
    surface : Surface
        The fitted surface.
    kind : OptionKind, str, int or array-like of these
        Call or put (see ``core.enums.parse_kind``); an int8/float64 array of +1/-1 is
        used as it is.
    F : array-like or None
        Forward of each option's expiry, USD; ``None`` reads the surface's forward curve
        ``surface.forward(T)`` (then ``vol`` equals ``surface.vol(K, T)``).
    K : array-like
        Strike, USD.
    T : array-like
        Years to expiry, > 0.
    dynamics : {"sticky_strike", "sticky_moneyness", "min_variance"}
        How the smile moves with the forward (module docstring).
    coeffs : (a, b, c), optional
        Minimum-variance coefficients; required for ``min_variance``.
    out : VolDelta, optional
        Five 1-D float64 arrays of the (flat) number of options to write into.

    Returns
    -------
    VolDelta
        ``out`` when given (1-D), else new arrays of the broadcast shape.

    Raises
    ------
    InvalidInput
        Unknown dynamics, missing coefficients, non-positive ``F``, ``K`` or ``T``, or
        ``out`` of the wrong size.
    """
    dyn, ca, cb, cc = _dyn_args(dynamics, coeffs)
    if F is None:
        F = surface.forward(T)
    (ph, FF, KK, TT), shape = _flat_inputs(_phi(kind), F, K, T)
    n = KK.shape[0]
    if out is None:
        res = VolDelta(np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n))
    else:
        if len(out) != 5 or any(not _is_flat(a, n) for a in out):
            raise InvalidInput(f"out must be 5 contiguous float64 arrays of length {n}")
        res = out
    bad = _eval.vol_delta_kernel(surface.T, surface.params, ph, FF, KK, TT, dyn, ca, cb, cc, *res)
    if bad:
        raise InvalidInput(
            f"{bad} option(s) with F, K or T <= 0 or a kind other than call/put (+1/-1)"
        )
    if out is None and shape != (n,):
        return VolDelta(*(a.reshape(shape) for a in res))
    return res


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
    "VolDelta",
    "fit_min_variance",
    "fit_min_variance_steps",
    "hedge_steps",
    "smile_delta",
    "smile_vol_delta",
]

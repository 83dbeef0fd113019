"""``Surface``: a fitted implied-volatility surface and ``fit_surface`` that builds it.

A surface is a set of raw SVI slices (one per listed expiry; an SSVI surface stores each
expiry's SSVI slice in its raw SVI form, GJ 2014 section 4) with the forward curve.
Between expiries total variance is linear in ``T`` at constant log-moneyness
``k = ln(K / F(T))``; before the first expiry and after the last, implied vol is flat
at constant ``k`` (total variance proportional to ``T``). Linear interpolation in ``T``
keeps calendar-arbitrage-free slices free of it. The forward is log-linear in ``T``
through ``(0, spot)`` and the expiries' forwards (constant carry between expiries, the
last segment's carry beyond the last one).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np

from deltahedge._typing import ArrayLike, FloatArray, IntArray
from deltahedge.core.errors import InvalidInput
from deltahedge.marketdata.chain import OptionChain
from deltahedge.marketdata.forwards import with_forwards
from deltahedge.surface import _eval
from deltahedge.surface.arbitrage import (
    ArbitrageViolation,
    calendar_violations,
)
from deltahedge.surface.delta import Dynamics, VolDelta, smile_vol_delta
from deltahedge.surface.fit import SliceDiagnostics, diagnose_slice, fit_svi_slice
from deltahedge.surface.quotes import MIN_SPREAD, SliceQuotes, usable_quotes
from deltahedge.surface.ssvi import (
    PhiKind,
    SSVIParams,
    calibrate_ssvi_joint,
    monotone_theta,
    ssvi_slice_as_svi,
)
from deltahedge.surface.svi import SVIParams, svi_total_variance

Method = Literal["svi", "ssvi"]


@dataclass(frozen=True, eq=False)
class Surface:
    """A fitted volatility surface of one underlying at one time.

    Parameters
    ----------
    method : {"svi", "ssvi"}
        How the slices were fitted.
    underlying : str
        Coin, e.g. ``"BTC"``.
    ts_ns : int
        Snapshot time, UTC ns.
    spot : float
        Index price at the snapshot, USD (anchors the forward curve at ``T = 0``).
    expiry_ns : ndarray of int64, shape (n,)
        Expiries, ascending, UTC ns.
    T : ndarray, shape (n,)
        Years to each expiry.
    forwards : ndarray, shape (n,)
        Forward of each expiry, USD (``forward(T)`` interpolates them).
    params : ndarray, shape (n, 5)
        Raw SVI ``(a, b, rho, m, sigma)`` of each expiry (total variance in ``k``).
    ssvi : SSVIParams or None
        Global SSVI parameters when ``method == "ssvi"``; ``theta`` then holds the ATM
        total variances.
    theta : ndarray or None
        SSVI ATM total variance per expiry.
    diagnostics : tuple of SliceDiagnostics
        Per-slice fit statistics and butterfly checks.
    calendar : tuple of ArbitrageViolation
        Calendar-spread violations between consecutive expiries (empty when free).
    n_rows : int
        Rows of the chain fitted (0 when unknown, e.g. a surface built by hand).
    skipped : dict[str, int]
        Rows of the chain the fit did not use, per reason of ``quotes.SKIP_REASONS``.
    forwards_filled : int
        Rows whose missing forward ``fit_surface`` filled from put-call parity.
    """

    method: str
    underlying: str
    ts_ns: int
    spot: float
    expiry_ns: IntArray
    T: FloatArray
    forwards: FloatArray
    params: FloatArray
    ssvi: SSVIParams | None = None
    theta: FloatArray | None = None
    diagnostics: tuple[SliceDiagnostics, ...] = ()
    calendar: tuple[ArbitrageViolation, ...] = ()
    n_rows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    forwards_filled: int = 0
    _lfn: FloatArray = field(init=False, repr=False)
    _lspot: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.T)
        if n == 0:
            raise InvalidInput("a Surface needs at least one expiry, got none")
        if self.params.shape != (n, 5) or len(self.forwards) != n or len(self.expiry_ns) != n:
            raise InvalidInput(
                f"Surface arrays disagree: {n} expiries, params {self.params.shape}, "
                f"{len(self.forwards)} forwards, {len(self.expiry_ns)} expiry times"
            )
        if np.any(np.diff(self.T) <= 0) or self.T[0] <= 0:
            raise InvalidInput(f"Surface expiries must be positive and ascending, got {self.T}")
        # the kernels' inputs, computed once (not dataclass fields: replace() recomputes them)
        object.__setattr__(self, "T", np.ascontiguousarray(self.T, dtype=np.float64))
        object.__setattr__(self, "params", np.ascontiguousarray(self.params, dtype=np.float64))
        object.__setattr__(self, "_lfn", np.log(np.asarray(self.forwards, dtype=np.float64)))
        object.__setattr__(self, "_lspot", float(np.log(self.spot)))

    # ---------------------------------------------------------------- evaluation
    def slice_params(self, i: int) -> SVIParams:
        """Raw SVI parameters of expiry ``i``."""
        return SVIParams(*(float(x) for x in self.params[i]))

    def forward(self, T: ArrayLike) -> FloatArray:
        """The forward curve ``F(T)`` for expiry ``T`` (years), USD (see the module docstring)."""
        tt = np.asarray(T, dtype=np.float64)
        flat = np.ascontiguousarray(tt).reshape(-1)
        out = np.empty(flat.size)
        _eval.forward_kernel(self.T, self._lfn, self._lspot, flat, out)
        return out.reshape(tt.shape)

    def total_variance(self, k: ArrayLike, T: ArrayLike) -> FloatArray:
        """Total implied variance ``sigma**2 T`` at log-moneyness ``k`` and expiry ``T`` (years)."""
        kk, tt = np.broadcast_arrays(
            np.asarray(k, dtype=np.float64), np.asarray(T, dtype=np.float64)
        )
        tf = np.ascontiguousarray(tt).reshape(-1)
        if np.any(tf <= 0):
            raise InvalidInput("expiries must be > 0 years")
        out = np.empty(tf.size)
        _eval.total_variance_kernel(
            self.T, self.params, np.ascontiguousarray(kk).reshape(-1), tf, out
        )
        return out.reshape(kk.shape)

    def _vol_and_slope(self, K: ArrayLike, T: ArrayLike) -> tuple[FloatArray, FloatArray]:
        if (
            type(K) is np.ndarray
            and type(T) is np.ndarray
            and K.ndim == 1
            and K.shape == T.shape
            and K.dtype.char == "d"
            and T.dtype.char == "d"
            and K.flags.c_contiguous
            and T.flags.c_contiguous
        ):  # already flat float64: no conversion, no copy
            Kf, Tf, shape = K, T, K.shape
        else:
            KK = np.asarray(K, dtype=np.float64)
            TT = np.asarray(T, dtype=np.float64)
            if KK.shape != TT.shape:
                KK, TT = np.broadcast_arrays(KK, TT)
            shape = KK.shape
            Kf = np.ascontiguousarray(KK).reshape(-1)
            Tf = np.ascontiguousarray(TT).reshape(-1)
        vol = np.empty(Kf.size)
        dvk = np.empty(Kf.size)
        bad = _eval.vol_kernel(self.T, self._lfn, self._lspot, self.params, Kf, Tf, vol, dvk)
        if bad:
            raise InvalidInput(f"{bad} strike(s) or expiry(ies) <= 0; both must be > 0")
        return vol.reshape(shape), dvk.reshape(shape)

    def vol(self, K: ArrayLike, T: ArrayLike) -> FloatArray:
        """Implied vol (decimal) at strike ``K`` (USD) and expiry ``T`` (years); vectorised."""
        return self._vol_and_slope(K, T)[0]

    def dvol_dk(self, K: ArrayLike, T: ArrayLike) -> FloatArray:
        """Analytic ``d sigma / d k`` at ``(K, T)``: ``w'(k) / (2 sigma T)`` (per unit of log-moneyness)."""
        return self._vol_and_slope(K, T)[1]

    def vol_and_smile_delta(
        self,
        kind: object,
        F: ArrayLike | None,
        K: ArrayLike,
        T: ArrayLike,
        dynamics: Dynamics = "sticky_moneyness",
        coeffs: tuple[float, float, float] | None = None,
        out: VolDelta | None = None,
    ) -> VolDelta:
        """Vol and smile-adjusted delta in one compiled pass (``delta.smile_vol_delta``)."""
        return smile_vol_delta(self, kind, F, K, T, dynamics, coeffs, out)

    # --------------------------------------------------------------- arbitrage
    def check_calendar(self, k: ArrayLike | None = None, n: int = 201) -> list[ArbitrageViolation]:
        """Calendar violations between consecutive expiries at fixed log-moneyness.

        Parameters
        ----------
        k : array-like, optional
            Grid of log-moneyness for every pair. By default each pair of consecutive
            expiries is checked on ``n`` points over the union of their quoted ranges
            (``[-1, 1]`` without diagnostics): beyond the quotes the wings are
            extrapolation, which ``Surface`` does not claim to be arbitrage-free for SVI.
        """
        out: list[ArbitrageViolation] = []
        for i in range(len(self.T) - 1):
            kk = self._pair_grid(i, n) if k is None else np.asarray(k, dtype=np.float64)
            W = np.array([svi_total_variance(self.slice_params(j), kk) for j in (i, i + 1)])
            out.extend(calendar_violations(self.T[i : i + 2], kk, W))
        return out

    def _pair_grid(self, i: int, n: int) -> FloatArray:
        if not self.diagnostics:
            return np.linspace(-1.0, 1.0, n)
        d0, d1 = self.diagnostics[i], self.diagnostics[i + 1]
        return np.linspace(min(d0.k_min, d1.k_min), max(d0.k_max, d1.k_max), n)

    # -------------------------------------------------------------------- JSON
    def to_json(self) -> str:
        """The surface as a JSON string (parameters, forwards, diagnostics)."""
        d: dict[str, Any] = {
            "method": self.method,
            "underlying": self.underlying,
            "ts_ns": int(self.ts_ns),
            "spot": float(self.spot),
            "expiry_ns": [int(x) for x in self.expiry_ns],
            "T": self.T.tolist(),
            "forwards": self.forwards.tolist(),
            "params": self.params.tolist(),
            "ssvi": asdict(self.ssvi) if self.ssvi is not None else None,
            "theta": self.theta.tolist() if self.theta is not None else None,
            "diagnostics": [asdict(x) for x in self.diagnostics],
            "calendar": [asdict(x) for x in self.calendar],
            "n_rows": int(self.n_rows),
            "skipped": dict(self.skipped),
            "forwards_filled": int(self.forwards_filled),
        }
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> Surface:
        """Rebuild a surface written by ``to_json``."""
        d = json.loads(text)
        diags = []
        for x in d.get("diagnostics", []):
            x = dict(x)
            x["butterfly"] = tuple(ArbitrageViolation(**v) for v in x.get("butterfly", []))
            diags.append(SliceDiagnostics(**x))
        return cls(
            method=d["method"],
            underlying=d["underlying"],
            ts_ns=int(d["ts_ns"]),
            spot=float(d["spot"]),
            expiry_ns=np.asarray(d["expiry_ns"], dtype=np.int64),
            T=np.asarray(d["T"], dtype=np.float64),
            forwards=np.asarray(d["forwards"], dtype=np.float64),
            params=np.asarray(d["params"], dtype=np.float64).reshape(-1, 5),
            ssvi=SSVIParams(**d["ssvi"]) if d.get("ssvi") else None,
            theta=np.asarray(d["theta"], dtype=np.float64) if d.get("theta") else None,
            diagnostics=tuple(diags),
            calendar=tuple(ArbitrageViolation(**v) for v in d.get("calendar", [])),
            n_rows=int(d.get("n_rows", 0)),
            skipped={str(k): int(v) for k, v in d.get("skipped", {}).items()},
            forwards_filled=int(d.get("forwards_filled", 0)),
        )


def _spot(chain: OptionChain, quotes: list[SliceQuotes]) -> float:
    idx = chain.index_price[np.isfinite(chain.index_price) & (chain.index_price > 0)]
    return float(np.median(idx)) if idx.size else float(quotes[0].forward)


def _repair_calendar(surf: Surface) -> np.ndarray:
    # Raise each slice's level a (its minimum variance) by the largest drop below the
    # previous slice on the pair's check grid (the one check_calendar uses), in
    # ascending order of expiry.
    out = surf.params.copy()
    for i in range(1, len(surf.T)):
        kk = surf._pair_grid(i - 1, 201)
        prev = svi_total_variance(SVIParams(*out[i - 1]), kk)
        drop = float(np.max(prev - svi_total_variance(SVIParams(*out[i]), kk)))
        if drop > 0:
            out[i, 0] += drop * (1.0 + 1e-9) + 1e-14
    return out


def fit_surface(
    chain: OptionChain,
    method: Method = "svi",
    *,
    phi: PhiKind = "power_law",
    repair: bool = True,
    repair_calendar: bool = False,
    min_strikes: int = 5,
) -> Surface:
    """Fit a volatility surface to one chain.

    Parameters
    ----------
    chain : OptionChain
        One underlying's snapshot; bid/ask IVs are implied from prices where missing.
        Rows without a forward get their expiry's forward from put-call parity
        (``marketdata.forwards.with_forwards``, as ``clean_chain`` does); rows the fit
        cannot use are counted per reason in ``Surface.skipped``.
    method : {"svi", "ssvi"}
        ``"svi"``: raw SVI per expiry (``fit.fit_svi_slice``); ``"ssvi"``: one SSVI surface
        (``ssvi.calibrate_ssvi_joint``: ``rho``, ``phi`` and a non-decreasing ATM term
        structure ``theta``), free of calendar and butterfly arbitrage by construction.
    phi : {"power_law", "heston"}
        SSVI's ``phi`` function.
    repair : bool
        SVI: refit slices with butterfly arbitrage under the constraint ``g >= 0``.
    repair_calendar : bool
        SVI only: raise the level ``a`` of slices whose total variance falls below the
        previous expiry's (honest but crude: it worsens the fit; the diagnostics show by
        how much).
    min_strikes : int
        Expiries with fewer usable strikes are left out (``skipped["few_strikes"]``).

    Returns
    -------
    Surface

    Raises
    ------
    InvalidInput
        Unknown method, ``repair_calendar`` with SSVI, ``min_strikes`` < 5, or no expiry
        with enough usable strikes (the message counts the rows left out per reason).
    """
    if method not in ("svi", "ssvi"):
        raise InvalidInput(f"method {method!r} is not allowed; use 'svi' or 'ssvi'")
    if repair_calendar and method != "svi":
        raise InvalidInput(
            "repair_calendar applies to method='svi' only; an SSVI surface is free of "
            "calendar arbitrage by construction"
        )
    if min_strikes < 5:
        raise InvalidInput(f"min_strikes={min_strikes}: an SVI slice needs at least 5 strikes")
    filled = 0
    if len(chain) and not np.all(np.isfinite(chain.forward) & (chain.forward > 0)):
        chain, filled = with_forwards(chain)
    sel = usable_quotes(chain, min_strikes=min_strikes)
    quotes = sel.slices
    if not quotes:
        why = ", ".join(f"{k}={v}" for k, v in sel.skipped.items() if v) or "no rows"
        hint = (
            "; rows without a forward are at expiries with no call and put of one strike "
            "to imply it from by put-call parity: load the chain with its forwards (listed "
            "futures or the venue's underlying price)"
            if sel.skipped["no_forward"]
            else ""
        )
        raise InvalidInput(
            f"{chain.underlying} chain at {chain.ts_ns}: no expiry has {min_strikes} usable "
            f"strikes (mark IV and two-sided quotes); of {sel.n_rows} rows, not used: "
            f"{why}{hint}"
        )
    T = np.array([q.T for q in quotes])
    fwd = np.array([q.forward for q in quotes])
    exp = np.array([q.expiry_ns for q in quotes], dtype=np.int64)
    ssvi_p = None
    theta = None
    if method == "svi":
        fits = [fit_svi_slice(q, repair=repair) for q in quotes]
        params = np.array([p.as_tuple() for p, _ in fits])
        diags = [d for _, d in fits]
    else:
        atm = np.array([np.interp(0.0, q.k, q.mark_iv**2 * q.T) for q in quotes])
        theta = monotone_theta(atm)
        wts = []
        for q in quotes:
            raw = q.ask_iv - q.bid_iv
            wts.append(np.sqrt(q.vega / q.vega.max()) / np.maximum(raw, MIN_SPREAD) ** 2)
        ssvi_p, theta = calibrate_ssvi_joint(
            [q.k for q in quotes], [q.mark_iv for q in quotes], T, theta, wts, phi_kind=phi
        )
        params = np.array([ssvi_slice_as_svi(ssvi_p, float(t)).as_tuple() for t in theta])
        diags = [diagnose_slice(SVIParams(*params[i]), q) for i, q in enumerate(quotes)]
    surf = Surface(
        method=method,
        underlying=chain.underlying,
        ts_ns=int(chain.ts_ns),
        spot=_spot(chain, quotes),
        expiry_ns=exp,
        T=T,
        forwards=fwd,
        params=params,
        ssvi=ssvi_p,
        theta=theta,
        diagnostics=tuple(diags),
        n_rows=sel.n_rows,
        skipped=dict(sel.skipped),
        forwards_filled=filled,
    )
    if method == "svi" and repair_calendar:
        new = _repair_calendar(surf)
        diags = [
            diagnose_slice(SVIParams(*new[i]), q, d.n_butterfly_before_repair)
            for i, (q, d) in enumerate(zip(quotes, diags, strict=True))
        ]
        surf = replace(surf, params=new, diagnostics=tuple(diags))
    return replace(surf, calendar=tuple(surf.check_calendar()))


__all__ = ["Method", "Surface", "fit_surface"]

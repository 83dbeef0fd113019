"""Fitting smiles to quotes: raw SVI per expiry and SSVI across expiries, with diagnostics.

SVI slice fit (``fit_svi_slice``), in implied-vol terms:

1. Target the mark IV moved inside the quoted bid-ask IV interval (clipped to its inner
   80%); weight each squared vol error by ``sqrt(vega / max vega) / spread**2`` (vega
   and the inverse bid-ask spread), i.e. total-variance weights divided by
   ``(2 sigma T)**2``; fit with the quasi-explicit method (``svi.calibrate_svi``).
2. While some fitted vols lie outside their bid-ask interval, project: new targets are
   the fitted vols clipped into the inner 70% of each interval, refit (at most 6 times;
   the fit with the most quoted rows inside, then the least mark error, is kept).
3. Check Durrleman's ``g >= 0`` on ``arbitrage.check_grid``; with ``repair`` a violating
   slice is refitted with ``g >= 0`` imposed on that grid (candidates breaking it are
   rejected by the search), and the violation count before repair is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.surface.arbitrage import ArbitrageViolation, butterfly_violations, check_grid
from deltahedge.surface.quotes import MIN_SPREAD, SliceQuotes
from deltahedge.surface.svi import SVIParams, calibrate_svi, svi_g, svi_total_variance

#: Projection rounds of step 2.
N_PROJECT = 6


@dataclass(frozen=True)
class SliceDiagnostics:
    """Fit quality and arbitrage checks of one expiry.

    Parameters
    ----------
    expiry_ns : int
        Expiry, UTC ns.
    T : float
        Years to expiry.
    forward : float
        Forward, USD.
    n_strikes : int
        Usable strikes fitted.
    rmse_vol_pts, median_abs_err_vol_pts, max_abs_err_vol_pts : float
        Fitted vol minus mark IV over usable strikes, in vol points (1 = 1%).
    n_quoted_rows : int
        Rows (calls and puts) with both a bid and an ask IV.
    share_inside : float
        Share of those rows whose fitted vol lies inside their bid-ask IV (NaN if none).
    min_g : float
        Minimum of Durrleman's ``g`` on the check grid.
    butterfly : tuple of ArbitrageViolation
        Butterfly violations of the final slice (empty when free).
    n_butterfly_before_repair : int
        Violations found before the constrained refit (0 when none was needed).
    k_min, k_max : float
        Quoted log-moneyness range.
    """

    expiry_ns: int
    T: float
    forward: float
    n_strikes: int
    rmse_vol_pts: float
    median_abs_err_vol_pts: float
    max_abs_err_vol_pts: float
    n_quoted_rows: int
    share_inside: float
    min_g: float
    butterfly: tuple[ArbitrageViolation, ...] = ()
    n_butterfly_before_repair: int = 0
    k_min: float = -1.0
    k_max: float = 1.0

    @property
    def n_inside(self) -> int:
        """Quoted rows whose fitted vol is inside their bid-ask IV."""
        return 0 if self.n_quoted_rows == 0 else round(self.share_inside * self.n_quoted_rows)


def _vol(p: SVIParams, k: FloatArray, T: float) -> FloatArray:
    return np.sqrt(np.maximum(svi_total_variance(p, k), 0.0) / T)


def _score(p: SVIParams, q: SliceQuotes) -> tuple[int, float]:
    fr = _vol(p, q.row_k, q.T)
    n_out = int(np.sum((fr < q.row_bid_iv) | (fr > q.row_ask_iv)))
    err = float(np.median(np.abs(_vol(p, q.k, q.T) - q.mark_iv)))
    return n_out, err


def _fit_quotes(q: SliceQuotes, grid: FloatArray | None) -> SVIParams:
    raw = q.ask_iv - q.bid_iv
    sp = np.maximum(raw, MIN_SPREAD)
    vn = np.sqrt(q.vega / q.vega.max())
    tgt = np.clip(q.mark_iv, q.bid_iv + 0.1 * raw, q.ask_iv - 0.1 * raw)
    wt = vn / sp**2 / (2.0 * tgt * q.T) ** 2
    p = calibrate_svi(q.k, tgt * tgt * q.T, wt, butterfly_grid=grid)
    best, best_score = p, _score(p, q)
    for _ in range(N_PROJECT):
        fv = _vol(p, q.k, q.T)
        if not np.any((fv < q.bid_iv) | (fv > q.ask_iv)):
            break
        t2 = np.clip(fv, q.bid_iv + 0.15 * raw, q.ask_iv - 0.15 * raw)
        p = calibrate_svi(
            q.k,
            t2 * t2 * q.T,
            vn / (2.0 * t2 * q.T) ** 2,
            butterfly_grid=grid,
            near=p,
            n_grid=9,
            n_zoom=3,
        )
        sc = _score(p, q)
        if sc < best_score:
            best, best_score = p, sc
    return best


def diagnose_slice(p: SVIParams, q: SliceQuotes, n_before_repair: int = 0) -> SliceDiagnostics:
    """Fit statistics and butterfly check of the slice ``p`` against the quotes ``q``."""
    err = (_vol(p, q.k, q.T) - q.mark_iv) * 100.0
    fr = _vol(p, q.row_k, q.T)
    inside = (fr >= q.row_bid_iv) & (fr <= q.row_ask_iv)
    grid = check_grid(q.k, float(np.median(q.mark_iv**2 * q.T)))
    g = svi_g(p, grid)
    return SliceDiagnostics(
        expiry_ns=q.expiry_ns,
        T=q.T,
        forward=q.forward,
        n_strikes=len(q),
        rmse_vol_pts=float(np.sqrt(np.mean(err**2))),
        median_abs_err_vol_pts=float(np.median(np.abs(err))),
        max_abs_err_vol_pts=float(np.max(np.abs(err))),
        n_quoted_rows=int(inside.size),
        share_inside=float(inside.mean()) if inside.size else float("nan"),
        min_g=float(g.min()),
        butterfly=tuple(butterfly_violations(q.T, grid, g)),
        n_butterfly_before_repair=n_before_repair,
        k_min=float(q.k.min()),
        k_max=float(q.k.max()),
    )


def fit_svi_slice(q: SliceQuotes, repair: bool = True) -> tuple[SVIParams, SliceDiagnostics]:
    """Fit one expiry's raw SVI smile (see the module docstring) and diagnose it.

    Parameters
    ----------
    q : SliceQuotes
        Usable quotes of the expiry (at least 5 strikes).
    repair : bool
        Refit with Durrleman's ``g >= 0`` imposed when the free fit has butterfly
        arbitrage on the check grid.

    Returns
    -------
    (SVIParams, SliceDiagnostics)
    """
    p = _fit_quotes(q, None)
    diag = diagnose_slice(p, q)
    if diag.butterfly and repair:
        grid = check_grid(q.k, float(np.median(q.mark_iv**2 * q.T)))
        p = _fit_quotes(q, grid)
        diag = diagnose_slice(p, q, n_before_repair=len(diag.butterfly))
    return p, diag


__all__ = ["N_PROJECT", "SliceDiagnostics", "diagnose_slice", "fit_svi_slice"]

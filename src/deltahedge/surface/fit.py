"""Fitting smiles to quotes: raw SVI per expiry and SSVI across expiries, with diagnostics.

SVI slice fit (``fit_svi_slice``), in implied-vol terms:

1. Target the mark IV moved inside the quoted bid-ask IV interval (clipped to its inner
   80%); weight each squared vol error by ``sqrt(vega / max vega) / spread**2`` (vega
   and the inverse bid-ask spread), i.e. total-variance weights divided by
   ``(2 sigma T)**2``; fit with the quasi-explicit method (``svi.calibrate_svi``).
2. While some fitted vols lie outside their bid-ask interval, project: new targets are
   the fitted vols clipped into the inner 70% of each interval, refit (at most 6 times).
   Of all fits tried, the one missing the fewest per-slice targets (median
   ``|fit - mark| <= 0.5`` vol point, ``>= 90 %`` of quoted rows inside), then with the
   fewest rows outside, then the least median mark error, is kept.
3. Only when that fit still misses a target (mostly the last days before expiry, where
   the marks are not an SVI smile, and BTC slices with sub-vol-point spreads), three
   more searches offer candidates, each an iteratively reweighted least squares (IRLS)
   run of the same quasi-explicit fit: (a) projection with weights
   ``eps**2 / (d**2 + eps**2)`` (``d`` the distance to the inner 40 % of the interval),
   whose weighted squares approximate the number of strikes outside; (b) least absolute
   deviations from the mark (weights ``1 / max(|fit - mark|, 0.1 vol pt)``), then
   projected; (c) the mark clipped into the bid-ask, weights ``(1 + 30 [outside]) /
   |residual|``, starting from a fresh full ``(m, s)`` grid (a second start); and if
   the targets are still missed, (d) differential evolution directly on the score
   (``_refine.de_refine``: targets missed, then rows outside, then median error),
   butterfly-free on the check grid by construction, at most two seeded runs (~5-20 ms CPU;
   deterministic, but which slices it rescues depends on the seeds).
4. Check Durrleman's ``g >= 0`` on ``arbitrage.check_grid``; with ``repair`` a violating
   slice is refitted with ``g >= 0`` imposed on that grid (candidates breaking it are
   rejected by the search), and the violation count before repair is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.surface._refine import INSIDE_TARGET, MEDIAN_TARGET, de_refine
from deltahedge.surface.arbitrage import ArbitrageViolation, butterfly_violations, check_grid
from deltahedge.surface.quotes import MIN_SPREAD, SliceQuotes
from deltahedge.surface.svi import (
    LEE_SLOPE,
    RHO_MAX,
    SVIParams,
    calibrate_svi,
    svi_g,
    svi_total_variance,
)

#: Projection rounds of step 2.
N_PROJECT = 6
#: Differential-evolution runs of step 3d: (population, generations), one seed each.
DE_RUNS = ((30, 150), (40, 300))
#: Floor of |residual| in the L1 reweighting (0.1 vol point).
L1_EPS = 0.001
#: Scale of the "count of strikes outside" reweighting (0.2 vol point).
HINGE_EPS = 0.002


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


def _median(x: FloatArray) -> float:
    # np.median's value (the middle of the sorted values, or the mean of the two middle
    # ones) without its overhead: the fit scores hundreds of candidates per slice
    s = np.sort(x)
    n = s.size
    return float(0.5 * (s[(n - 1) // 2] + s[n // 2]))


def _score(p: SVIParams, q: SliceQuotes) -> tuple[int, int, float]:
    # (targets missed, quoted rows outside their bid-ask IV, median |fit - mark|): smaller
    # is better, compared in this order.
    fr = _vol(p, q.row_k, q.T)
    n_out = int(np.count_nonzero((fr < q.row_bid_iv) | (fr > q.row_ask_iv)))
    err = _median(np.abs(_vol(p, q.k, q.T) - q.mark_iv))
    missed = int(err > MEDIAN_TARGET) + int((fr.size - n_out) / fr.size < INSIDE_TARGET)
    return missed, n_out, err


class _Keeper:
    """The best candidate slice seen so far by ``_score``."""

    def __init__(self, p: SVIParams, q: SliceQuotes) -> None:
        self.q = q
        self.p = p
        self.score = _score(p, q)

    def offer(self, p: SVIParams) -> tuple[int, int, float]:
        sc = _score(p, self.q)
        if sc < self.score:
            self.p, self.score = p, sc
        return sc

    @property
    def missed(self) -> bool:
        return self.score[0] > 0


def _project(
    keep: _Keeper,
    p: SVIParams,
    grid: FloatArray | None,
    rounds: int,
    inner: float,
    weight: str,
) -> None:
    # Projection rounds: targets are the fitted vols clipped into the middle part of each
    # bid-ask interval (``inner`` cut from each side), refit near the last fit.
    q = keep.q
    raw = q.ask_iv - q.bid_iv
    vn = np.sqrt(q.vega / q.vega.max())
    for _ in range(rounds):
        fv = _vol(p, q.k, q.T)
        if not np.any((fv < q.bid_iv) | (fv > q.ask_iv)):
            return
        t2 = np.clip(fv, q.bid_iv + inner * raw, q.ask_iv - inner * raw)
        if weight == "vega":
            w = vn
        elif weight == "count":
            # eps^2 / (d^2 + eps^2) * d^2 ~ 1 for each strike outside by d >> eps: the
            # weighted sum of squares approximates the number of strikes outside (IRLS)
            w = HINGE_EPS**2 / ((fv - t2) ** 2 + HINGE_EPS**2)
        else:  # "mark": least absolute deviations from the mark (IRLS)
            w = 1.0 / np.maximum(np.abs(fv - q.mark_iv), L1_EPS)
        p = calibrate_svi(
            q.k,
            t2 * t2 * q.T,
            w / (2.0 * t2 * q.T) ** 2,
            butterfly_grid=grid,
            near=p,
            n_grid=9,
            n_zoom=3,
        )
        keep.offer(p)


def _fit_quotes(q: SliceQuotes, grid: FloatArray | None) -> SVIParams:
    raw = q.ask_iv - q.bid_iv
    sp = np.maximum(raw, MIN_SPREAD)
    vn = np.sqrt(q.vega / q.vega.max())
    tgt = np.clip(q.mark_iv, q.bid_iv + 0.1 * raw, q.ask_iv - 0.1 * raw)
    wt = vn / sp**2 / (2.0 * tgt * q.T) ** 2
    p0 = calibrate_svi(q.k, tgt * tgt * q.T, wt, butterfly_grid=grid)
    keep = _Keeper(p0, q)
    _project(keep, p0, grid, N_PROJECT, 0.15, "vega")  # step 2
    if keep.missed:  # step 3a: fewest strikes outside
        _project(keep, p0, grid, 2 * N_PROJECT, 0.3, "count")
    if keep.missed:  # step 3b: least absolute deviations from the mark, then projected
        p = p0
        best_l1, score_l1 = p0, _score(p0, q)
        for _ in range(N_PROJECT):
            w = 1.0 / np.maximum(np.abs(_vol(p, q.k, q.T) - q.mark_iv), L1_EPS)
            p = calibrate_svi(
                q.k,
                q.mark_iv**2 * q.T,
                w / (2.0 * q.mark_iv * q.T) ** 2,
                butterfly_grid=grid,
                near=p,
                n_grid=9,
                n_zoom=3,
            )
            sc = keep.offer(p)
            if sc < score_l1:
                best_l1, score_l1 = p, sc
        if keep.missed:
            _project(keep, best_l1, grid, 4, 0.3, "mark")
    if keep.missed:  # step 3c: both at once, from a fresh (m, s) search
        p = p0
        for i in range(8):
            fv = _vol(p, q.k, q.T)
            out = (fv < q.bid_iv) | (fv > q.ask_iv)
            w = (1.0 + 30.0 * out) / np.maximum(np.abs(fv - tgt), 0.5 * L1_EPS)
            p = calibrate_svi(
                q.k,
                tgt * tgt * q.T,
                w / (2.0 * tgt * q.T) ** 2,
                butterfly_grid=grid,
                near=p if i else None,
                n_grid=9 if i else 15,
                n_zoom=3 if i else 4,
            )
            keep.offer(p)
    if keep.missed:  # step 3d: differential evolution on the score itself
        _de_search(keep)
    return keep.p


def _de_search(keep: _Keeper) -> None:
    # Search raw SVI parameters on the per-slice score (``_refine.de_refine``), butterfly-
    # free on the check grid by construction; two runs (the second larger, another seed),
    # stopping once the targets are met.
    q, p = keep.q, keep.p
    grid = check_grid(q.k, float(np.median(q.mark_iv**2 * q.T)))
    w = q.mark_iv**2 * q.T
    span = float(q.k.max() - q.k.min())
    ls = math.log(p.sigma)
    lo = np.array(
        [min(-w.max(), p.a), 0.0, -RHO_MAX, min(q.k.min() - 0.5 * span, p.m), min(-9.2, ls)]
    )
    hi = np.array(
        [max(w.max(), p.a), LEE_SLOPE, RHO_MAX, max(q.k.max() + 0.5 * span, p.m), max(0.7, ls)]
    )
    x0 = np.array([p.a, p.b, p.rho, p.m, ls])
    out = np.empty(5)
    for seed, (n_pop, n_gen) in enumerate(DE_RUNS, start=1):
        score = de_refine(
            x0,
            lo,
            hi,
            q.T,
            q.k,
            q.mark_iv,
            q.row_k,
            q.row_bid_iv,
            q.row_ask_iv,
            grid,
            RHO_MAX,
            n_pop,
            n_gen,
            seed,
            out,
        )
        if not math.isfinite(score):
            continue
        keep.offer(SVIParams(out[0], out[1], out[2], out[3], math.exp(out[4])))
        if not keep.missed:
            return


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


__all__ = [
    "DE_RUNS",
    "INSIDE_TARGET",
    "MEDIAN_TARGET",
    "N_PROJECT",
    "SliceDiagnostics",
    "diagnose_slice",
    "fit_svi_slice",
]

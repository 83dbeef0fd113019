"""Volatility surfaces: SVI / SSVI calibration, no-arbitrage checks, ``Surface``, smile deltas.

Pure functions and frozen objects only: no I/O, logging or plotting (DESIGN.md).
``fit_surface(chain, method="svi"|"ssvi") -> Surface``; ``Surface.vol(K, T)``;
``smile_delta(surface, kind, F, K, T, dynamics=...)``; ``smile_vol_delta`` (vol and
smile delta in one compiled pass); ``fit_min_variance(chains)``.
"""

from deltahedge.surface.arbitrage import (
    ArbitrageViolation,
    butterfly_violations,
    calendar_violations,
    check_grid,
)
from deltahedge.surface.delta import (
    Dynamics,
    HedgeSteps,
    VolDelta,
    fit_min_variance,
    fit_min_variance_steps,
    hedge_steps,
    smile_delta,
    smile_vol_delta,
)
from deltahedge.surface.fit import SliceDiagnostics, diagnose_slice, fit_svi_slice
from deltahedge.surface.gain import GainRow, hedge_gain_table
from deltahedge.surface.quotes import (
    SKIP_REASONS,
    QuoteSelection,
    SliceQuotes,
    quote_ivs,
    slice_quotes,
    usable_quotes,
)
from deltahedge.surface.ssvi import (
    SSVIParams,
    calibrate_ssvi,
    calibrate_ssvi_joint,
    monotone_theta,
    ssvi_slice_as_svi,
    ssvi_total_variance,
)
from deltahedge.surface.surface import Surface, fit_surface
from deltahedge.surface.svi import (
    SVIParams,
    calibrate_svi,
    durrleman_g,
    svi_derivatives,
    svi_g,
    svi_total_variance,
)

__all__ = [
    "SKIP_REASONS",
    "ArbitrageViolation",
    "Dynamics",
    "GainRow",
    "HedgeSteps",
    "QuoteSelection",
    "SSVIParams",
    "SVIParams",
    "SliceDiagnostics",
    "SliceQuotes",
    "Surface",
    "VolDelta",
    "butterfly_violations",
    "calendar_violations",
    "calibrate_ssvi",
    "calibrate_ssvi_joint",
    "calibrate_svi",
    "check_grid",
    "diagnose_slice",
    "durrleman_g",
    "fit_min_variance",
    "fit_min_variance_steps",
    "fit_surface",
    "fit_svi_slice",
    "hedge_gain_table",
    "hedge_steps",
    "monotone_theta",
    "quote_ivs",
    "slice_quotes",
    "smile_delta",
    "smile_vol_delta",
    "ssvi_slice_as_svi",
    "ssvi_total_variance",
    "svi_derivatives",
    "svi_g",
    "svi_total_variance",
    "usable_quotes",
]

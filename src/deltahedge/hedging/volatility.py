"""Realised-vol forecasts for the volatility-adaptive policies, fitted off the hot path.

- EWMA (RiskMetrics 1996): ``var_t = lam var_{t-1} + (1 - lam) r_t^2``, ``lam = 0.94``
  for daily data in the RiskMetrics technical document.
- GARCH(1,1) (Bollerslev 1986) with the ``arch`` package: ``var_t = omega + alpha r_{t-1}^2
  + beta var_{t-1}``, zero mean; the forecast is the mean variance over the horizon.

Returns are log returns per period; forecasts are annualised decimals
(``sqrt(var * periods_per_year)``), ready for ``HedgeState.with_vol_forecast``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from deltahedge._typing import ArrayLike
from deltahedge.core.errors import InvalidInput

MINUTES_PER_YEAR = 365.0 * 24.0 * 60.0


def ewma_update(var: float, ret: float, lam: float = 0.94) -> float:
    """One EWMA step: ``lam var + (1 - lam) ret^2`` (per-period variance)."""
    return lam * var + (1.0 - lam) * ret * ret


def ewma_vol(
    returns: ArrayLike,
    lam: float = 0.94,
    periods_per_year: float = MINUTES_PER_YEAR,
    init_var: float | None = None,
) -> float:
    """Annualised EWMA vol after the last return.

    Parameters
    ----------
    returns : array-like
        Log returns per period.
    lam : float
        Decay in (0, 1).
    periods_per_year : float
        525,600 for minute returns.
    init_var : float, optional
        Starting per-period variance; default the mean squared return.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1 or r.size == 0 or not np.all(np.isfinite(r)):
        raise InvalidInput(f"ewma_vol needs a non-empty 1-d array of finite returns, got {r.shape}")
    if not 0.0 < lam < 1.0:
        raise InvalidInput(f"ewma_vol: lam must be in (0, 1), got {lam!r}")
    var = float(np.mean(r * r)) if init_var is None else float(init_var)
    for x in r.tolist():
        var = ewma_update(var, x, lam)
    return math.sqrt(var * periods_per_year)


@dataclass(frozen=True, slots=True)
class GarchForecast:
    """A GARCH(1,1) fit: per-period parameters and the annualised vol forecast."""

    omega: float
    alpha: float
    beta: float
    vol_annual: float
    horizon: int


def garch_forecast(
    returns: ArrayLike, horizon: int = 1, periods_per_year: float = MINUTES_PER_YEAR
) -> GarchForecast:
    """Fit a zero-mean GARCH(1,1) with ``arch`` and forecast the vol over ``horizon`` periods.

    Returns are scaled by 100 for the fit (``arch``'s recommended range) and the parameters
    scaled back, so ``omega`` is a per-period variance of the unscaled returns.
    """
    from arch import arch_model  # heavy import, off the hot path

    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1 or r.size < 100 or not np.all(np.isfinite(r)):
        raise InvalidInput(f"garch_forecast needs >= 100 finite returns, got shape {r.shape}")
    if horizon < 1:
        raise InvalidInput(f"garch_forecast: horizon must be >= 1 period, got {horizon}")
    res = arch_model(100.0 * r, mean="Zero", vol="GARCH", p=1, q=1, rescale=False).fit(disp="off")
    var = res.forecast(horizon=horizon, reindex=False).variance.to_numpy()[-1]
    p = res.params
    return GarchForecast(
        omega=float(p["omega"]) / 1e4,
        alpha=float(p["alpha[1]"]),
        beta=float(p["beta[1]"]),
        vol_annual=math.sqrt(float(np.mean(var)) / 1e4 * periods_per_year),
        horizon=horizon,
    )


__all__ = ["MINUTES_PER_YEAR", "GarchForecast", "ewma_update", "ewma_vol", "garch_forecast"]

"""The engine's realised-vol forecast from the index ticks, for the vol-dependent policies.

``zakamouline``, ``leland`` and ``gamma_weighted`` (with ``sigma = 0``) and ``vol_adaptive``
read ``HedgeState.vol_forecast``; the engine keeps it here:

- **EWMA, on the hot path** (a log, a power and a few products per sample): the index is
  sampled at most once every ``sample_s`` clock seconds and each log return ``r`` over
  ``dt`` years updates the annualised variance rate with a decay set by time, so irregular
  tick spacing is handled: ``var <- lam var + (1 - lam) r^2 / dt`` with
  ``lam = 2^(-dt / half_life)`` (RiskMetrics 1996 with a half-life instead of a per-period
  ``lambda``).
- **GARCH(1,1), off the loop** (``model = "garch"``): every ``garch_refit_s`` clock seconds
  the last ``garch_window`` returns (each rescaled to one ``sample_s`` period) are fitted in
  an executor with :func:`deltahedge.hedging.volatility.garch_forecast`, and the forecast is
  the mean vol over the horizon until the next refit. The returns are scaled to unit
  standard deviation for the fit (``arch``'s optimiser is poorly conditioned on one-second
  returns of ~1e-4) and the vol scaled back: a zero-mean GARCH is scale-equivariant
  (``omega`` scales with the variance, ``alpha`` and ``beta`` do not).
- **Fallback**: until ``min_returns`` returns exist (and before the first GARCH fit, the
  EWMA), the forecast is the surface's at-the-money vol of its nearest expiry; the EWMA
  starts from that variance so the hand-over is smooth.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from deltahedge.core.errors import ConfigError
from deltahedge.core.units import NS_PER_SECOND, SECONDS_PER_YEAR

_YEAR_NS = NS_PER_SECOND * SECONDS_PER_YEAR
_LN2 = math.log(2.0)
#: fewest returns ``garch_forecast`` fits
GARCH_MIN_RETURNS = 100
MODELS = ("ewma", "garch")


@dataclass(frozen=True, slots=True)
class VolSettings:
    """How the engine forecasts realised vol (``[volatility]`` in the TOML file).

    Parameters
    ----------
    model : {"ewma", "garch"}
        EWMA only, or GARCH(1,1) refitted off the loop (EWMA until the first fit).
    sample_s : float
        Least clock seconds between two index samples (0: every index tick).
    half_life_s : float
        EWMA half-life, clock seconds.
    min_returns : int
        Returns needed before the forecast replaces the surface's ATM vol.
    garch_refit_s : float
        Clock seconds between GARCH fits.
    garch_window : int
        Returns kept for the GARCH fit (memory is bounded by it).
    """

    model: str = "ewma"
    sample_s: float = 1.0
    half_life_s: float = 600.0
    min_returns: int = 30
    garch_refit_s: float = 300.0
    garch_window: int = 2_000

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(f"volatility.model = {self.model!r}; allowed: {', '.join(MODELS)}")
        for name in ("half_life_s", "garch_refit_s"):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise ConfigError(f"volatility.{name} = {v!r}: must be a finite number > 0")
        if not (self.sample_s >= 0 and math.isfinite(self.sample_s)):
            raise ConfigError(f"volatility.sample_s = {self.sample_s!r}: must be >= 0")
        if self.min_returns < 1:
            raise ConfigError(f"volatility.min_returns = {self.min_returns!r}: must be >= 1")
        if self.garch_window < GARCH_MIN_RETURNS:
            raise ConfigError(
                f"volatility.garch_window = {self.garch_window!r}: must be >= "
                f"{GARCH_MIN_RETURNS} (the fewest returns a GARCH(1,1) fit takes)"
            )


def atm_vol(surface: Any) -> float:
    """The surface's at-the-money vol of its nearest expiry (decimal), NaN if it has none."""
    if surface is None:
        return math.nan
    try:
        for T, F in zip(np.asarray(surface.T), np.asarray(surface.forwards), strict=True):
            if T > 0 and F > 0:
                v = float(surface.vol(float(F), float(T)))
                return v if v > 0 and math.isfinite(v) else math.nan
    except Exception:  # a surface we cannot read gives no fallback, not a crash
        return math.nan
    return math.nan


class VolForecaster:
    """Realised-vol forecast of one underlying's index (see module docstring).

    Parameters
    ----------
    settings : VolSettings
    fallback : float
        Annualised vol used until enough returns exist (the surface's ATM vol).
    """

    def __init__(self, settings: VolSettings = VolSettings(), fallback: float = math.nan) -> None:
        self.settings = settings
        self.fallback = math.nan
        self.n_returns = 0
        self.garch_vol = math.nan
        self.garch_fits = 0
        self._var = math.nan  # annualised variance rate
        self._px = math.nan
        self._ts = 0
        self._sample_ns = int(settings.sample_s * NS_PER_SECOND)
        self._hl_ns = settings.half_life_s * NS_PER_SECOND
        self._garch = settings.model == "garch"
        self.returns: deque[float] = deque(maxlen=settings.garch_window)
        #: the forecast now (``forecast()``, kept up to date so the hot path only reads it)
        self.value = 0.0
        self.set_fallback(fallback)

    def set_fallback(self, vol: float) -> None:
        """Use ``vol`` (annualised) until enough returns exist; seeds the EWMA if still empty."""
        if vol > 0 and math.isfinite(vol):
            self.fallback = float(vol)
            if self.n_returns == 0:
                self._var = vol * vol
        self.value = self.forecast()

    def on_index(self, price: float, ts_ns: int) -> None:
        """Feed an accepted index price (USD) stamped ``ts_ns`` (UTC ns); the hot path."""
        if self._ts == 0:
            self._px, self._ts = price, ts_ns
            return
        dt = ts_ns - self._ts
        if dt <= 0 or dt < self._sample_ns:
            return
        r = math.log(price / self._px)
        self._px, self._ts = price, ts_ns
        obs = r * r * _YEAR_NS / dt
        if self._var != self._var:  # NaN: no fallback and no return yet
            self._var = obs
        else:
            lam = math.exp(-_LN2 * dt / self._hl_ns)
            self._var = lam * self._var + (1.0 - lam) * obs
        self.n_returns += 1
        if self._garch:
            # a return over dt rescaled to one sampling period (variance proportional to time)
            self.returns.append(r * math.sqrt(self._sample_ns / dt) if self._sample_ns else r)
        self.value = self.forecast()

    @property
    def ewma(self) -> float:
        """The EWMA vol now, annualised (NaN before any return and without a fallback)."""
        return math.sqrt(self._var) if self._var >= 0 else math.nan

    def forecast(self) -> float:
        """The vol the policies get now, annualised decimal (0 when nothing is known yet)."""
        if self.n_returns < self.settings.min_returns:
            f = self.fallback
        elif self._garch and self.garch_vol == self.garch_vol:
            f = self.garch_vol
        else:
            f = self.ewma
        return f if f == f else 0.0

    @property
    def source(self) -> str:
        """Where ``forecast`` comes from: ``surface ATM``, ``EWMA`` or ``GARCH``."""
        if self.n_returns < self.settings.min_returns:
            return "surface ATM"
        return "GARCH" if self._garch and self.garch_vol == self.garch_vol else "EWMA"

    def garch_job(self) -> Callable[[], float] | None:
        """A fit to run off the loop, returning the annualised vol; None when not due.

        Call on the loop (it copies the returns); run the result in an executor and hand
        its value to :meth:`garch_done`.
        """
        if not self._garch or len(self.returns) < GARCH_MIN_RETURNS:
            return None
        r = np.fromiter(self.returns, dtype=np.float64, count=len(self.returns))
        s = self.settings
        period = s.sample_s if s.sample_s > 0 else 1.0
        horizon = max(1, round(s.garch_refit_s / period))

        def fit() -> float:
            from deltahedge.hedging.volatility import garch_forecast

            sd = float(np.std(r))
            if not sd > 0:
                return 0.0
            k = 0.01 / sd  # 100 k r (arch's scale) has unit standard deviation
            g = garch_forecast(r * k, horizon=horizon, periods_per_year=SECONDS_PER_YEAR / period)
            return g.vol_annual / k

        return fit

    def garch_done(self, vol: float) -> None:
        """Take a finished fit's vol (annualised); an unusable one keeps the last."""
        if vol > 0 and math.isfinite(vol):
            self.garch_vol = float(vol)
            self.garch_fits += 1
            self.value = self.forecast()


__all__ = ["GARCH_MIN_RETURNS", "MODELS", "VolForecaster", "VolSettings", "atm_vol"]

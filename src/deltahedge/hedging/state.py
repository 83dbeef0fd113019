"""What a hedging policy remembers between decisions (owned by the caller), and jitter."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from deltahedge.core.errors import ConfigError
from deltahedge.core.events import HedgeIntent


@dataclass(frozen=True, slots=True)
class HedgeState:
    """What a policy remembers between decisions; owned and updated by the caller.

    Attributes
    ----------
    last_hedge_ns : int
        Time of the last hedge, UTC ns (0 = never).
    n_hedges : int
        Hedges so far (makes intent ids unique and reproducible).
    jitter_u : float
        Timing-jitter draw in [-1, 1] for the current interval.
    vol_forecast : float
        Annualised realised-vol forecast (decimal), 0 when none; set off the hot path
        (``hedging.volatility``).
    """

    last_hedge_ns: int = 0
    n_hedges: int = 0
    jitter_u: float = 0.0
    vol_forecast: float = 0.0

    def after_hedge(
        self, intent: HedgeIntent, rng: np.random.Generator | None = None
    ) -> HedgeState:
        """The state once ``intent`` is acted on; draws the next timing jitter from ``rng``."""
        u = float(rng.uniform(-1.0, 1.0)) if rng is not None else 0.0
        return HedgeState(intent.ts_ns, self.n_hedges + 1, u, self.vol_forecast)

    def with_vol_forecast(self, vol: float) -> HedgeState:
        """The same state with a new annualised vol forecast."""
        return replace(self, vol_forecast=float(vol))


@dataclass(frozen=True, slots=True)
class Jitter:
    """Randomisation: ``timing`` and ``size`` are fractions in [0, 1)."""

    timing: float = 0.0
    size: float = 0.0

    def __post_init__(self) -> None:
        for name in ("timing", "size"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ConfigError(f"jitter.{name} must be in [0, 1), got {v!r}")


__all__ = ["HedgeState", "Jitter"]

"""Injectable faults for the paper venue, drawn from a seeded generator (reproducible)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class FaultConfig(BaseModel):
    """Probabilities (each in [0, 1]) of faults on each call or message.

    Attributes
    ----------
    reject : float
        ``submit`` raises OrderRejected without placing the order.
    rate_limit : float
        ``submit`` raises RateLimited without placing the order.
    disconnect_before : float
        ``submit`` raises VenueDisconnected and the order was *not* placed.
    disconnect_after : float
        ``submit`` places the order, then raises VenueDisconnected (the answer is lost).
    disconnect_query : float
        ``get_order`` / ``fills_for`` / ``open_orders`` raise VenueDisconnected.
    drop_fill, duplicate_fill : float
        A pushed fill message is lost, or delivered twice.
    drop_update : float
        A pushed order update is lost.
    stale_book : float
        The venue reports itself unhealthy (stale market data) at a health check.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reject: float = Field(0.0, ge=0, le=1)
    rate_limit: float = Field(0.0, ge=0, le=1)
    disconnect_before: float = Field(0.0, ge=0, le=1)
    disconnect_after: float = Field(0.0, ge=0, le=1)
    disconnect_query: float = Field(0.0, ge=0, le=1)
    drop_fill: float = Field(0.0, ge=0, le=1)
    duplicate_fill: float = Field(0.0, ge=0, le=1)
    drop_update: float = Field(0.0, ge=0, le=1)
    stale_book: float = Field(0.0, ge=0, le=1)


class FaultInjector:
    """Draws faults from ``config`` with a ``numpy`` generator seeded by ``seed``."""

    def __init__(self, config: FaultConfig | None = None, seed: int = 0) -> None:
        self.config = config or FaultConfig()
        self.rng = np.random.default_rng(seed)
        self.counts: dict[str, int] = {}

    def hit(self, name: str) -> bool:
        """True with probability ``config.<name>``; counts the hits."""
        p = getattr(self.config, name)
        if p <= 0.0:
            return False
        if self.rng.random() < p:
            self.counts[name] = self.counts.get(name, 0) + 1
            return True
        return False


__all__ = ["FaultConfig", "FaultInjector"]

"""Injectable faults for the paper venue, drawn from a seeded generator (reproducible)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

#: a probability in [0, 1]
Prob = Annotated[float, Field(ge=0.0, le=1.0)]


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

    reject: Prob = 0.0
    rate_limit: Prob = 0.0
    disconnect_before: Prob = 0.0
    disconnect_after: Prob = 0.0
    disconnect_query: Prob = 0.0
    drop_fill: Prob = 0.0
    duplicate_fill: Prob = 0.0
    drop_update: Prob = 0.0
    stale_book: Prob = 0.0


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

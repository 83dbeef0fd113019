"""Liquidation-distance watch: the risk guard's margin model applied to the hedge legs.

Every ``every_s`` of engine time, each venue's account (its collateral and the engine's
hedge position there, at its average entry) is checked by
:class:`~deltahedge.engine.liquidation.LiquidationMonitor` at the index. The margin ratio
goes to the metrics; a warning is logged once per level change; at ``derisk`` or
``emergency`` the engine trades the monitor's reduce-only size on that venue (back to the
target ratio); at a ratio of 1 (maintenance margin reached) the kill switch flattens.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deltahedge.core.enums import OrderSide, OrderType, Settlement
from deltahedge.core.events import HedgeIntent, OrderRequest
from deltahedge.core.units import NS_PER_SECOND
from deltahedge.engine.liquidation import (
    LiquidationMonitor,
    LiquidationStatus,
    MarginAccount,
    MarginLevel,
)

if TYPE_CHECKING:
    from deltahedge.engine.engine import Engine

log = logging.getLogger("deltahedge.engine")


@dataclass(slots=True)
class MarginWatch:
    """Per-venue collateral and the monitor; ``step`` runs one check of every venue.

    Parameters
    ----------
    monitor : LiquidationMonitor
        Margin models by venue name.
    collateral : Mapping[str, float]
        Collateral per venue: coin for inverse venues, USD for linear ones.
    every_s : float
        Engine-clock seconds between checks.
    """

    monitor: LiquidationMonitor
    collateral: Mapping[str, float]
    every_s: float = 1.0
    last: dict[str, LiquidationStatus] = field(default_factory=dict)
    _next_ns: int = 0

    async def step(self, engine: Engine, now: int) -> list[LiquidationStatus]:
        """Check every venue with a margin model; act on de-risk and unwind levels."""
        if now < self._next_ns:
            return []
        self._next_ns = now + int(self.every_s * NS_PER_SECOND)
        index = engine.market.index(engine.settings.underlying)
        out = []
        for (venue, symbol), leg in engine.account.legs.items():
            if venue not in self.monitor.models:
                continue
            entry = leg.usd / leg.coin if leg.coin else index
            if leg.spec.settlement is Settlement.INVERSE and leg.coin:
                entry = leg.usd / leg.coin  # harmonic mean of the fill prices
            acct = MarginAccount(
                venue, float(self.collateral.get(venue, 0.0)), leg.contracts, entry
            )
            status = self.monitor.check(acct, index)
            out.append(status)
            if engine.metrics is not None:
                engine.metrics.margin(venue, status.margin_ratio)
            prev = self.last.get(venue)
            self.last[venue] = status
            if prev is None or prev.level is not status.level:
                if status.level is not MarginLevel.OK:
                    log.warning("%s", status.message)
                if engine.journal is not None:
                    engine.journal.record_event("margin", venue, {"message": status.message})
            if status.unwind_all:
                engine.kill_switch.flatten("risk", status.message)
            elif status.order_contracts and status.level in (
                MarginLevel.DERISK,
                MarginLevel.EMERGENCY,
            ):
                await _reduce(engine, venue, symbol, status.order_contracts, now)
        return out


async def _reduce(engine: Engine, venue: str, symbol: str, contracts: float, now: int) -> None:
    om = engine.om
    if om is None or om.in_flight(engine.settings.underlying) is not None:
        return
    spec = engine.account.legs[(venue, symbol)].spec
    lots = int(abs(contracts) / spec.lot_size)
    if lots == 0:
        return
    qty = round(lots * spec.lot_size, 12)
    side = OrderSide.BUY if contracts > 0 else OrderSide.SELL
    intent = HedgeIntent(
        f"derisk:{venue}:{now}:{engine.hedge_state.n_hedges}", now, engine.settings.underlying,
        0.0, f"margin: reduce {symbol} on {venue} by {contracts:+g} contracts", policy="margin",
    )  # fmt: skip
    req = OrderRequest("", venue, symbol, side, qty, OrderType.MARKET, reduce_only=True)
    if engine.venue_sync is not None:
        engine.venue_sync(engine.market)
    await om.execute(intent, [req])
    engine.hedge_state = engine.hedge_state.after_hedge(intent, engine.rng)


__all__ = ["MarginWatch"]

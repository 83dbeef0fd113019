"""Liquidation distance: a per-venue margin model and the monitor that asks to de-risk.

A venue's margin model (initial/maintenance rates, linear or inverse contracts) gives
equity, maintenance margin, margin ratio and liquidation price of a hedge leg; the
:class:`LiquidationMonitor` turns them into a level (ok, warn, derisk, emergency) and the
reduce-only size that brings the ratio back to its target, before maintenance margin is
reached. Pure and fast, like the rest of the risk guard (``risk_guard`` re-exports these
names); the engine applies them in ``engine.margin``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from deltahedge.core.enums import Settlement
from deltahedge.core.errors import InvalidInput


# --------------------------------------------------------------------------- margin
@dataclass(frozen=True, slots=True)
class MarginModel:
    """A venue's simple margin model for one perpetual or future.

    Linear (``contract_size`` in coin, collateral and equity in USD)::

        equity = C + n s (F - E),          MM = m |n| s F

    Inverse (``contract_size`` in USD, collateral and equity in coin; DESIGN.md)::

        equity = C + n s (1/E - 1/F),      MM = m |n| s / F

    with ``n`` signed contracts, ``s`` the contract size, ``E`` the entry price, ``F`` the
    mark and ``m`` the maintenance margin rate. Setting equity = MM and solving for F gives
    the liquidation price: linear ``(qE - C) / (q - m|q|)`` with ``q = n s``; inverse
    ``(N + m|N|) / (C + N/E)`` with ``N = n s``. No positive root: no liquidation.
    """

    settlement: Settlement
    contract_size: float
    initial_margin_rate: float
    maintenance_margin_rate: float

    def equity(self, collateral: float, contracts: float, entry: float, mark: float) -> float:
        """Collateral plus unrealised PnL (USD if linear, coin if inverse)."""
        s = self.contract_size
        if self.settlement is Settlement.LINEAR:
            return collateral + contracts * s * (mark - entry)
        return collateral + contracts * s * (1.0 / entry - 1.0 / mark)

    def _margin(self, rate: float, contracts: float, mark: float) -> float:
        s = self.contract_size
        if self.settlement is Settlement.LINEAR:
            return rate * abs(contracts) * s * mark
        return rate * abs(contracts) * s / mark

    def maintenance_margin(self, contracts: float, mark: float) -> float:
        """Maintenance margin (USD if linear, coin if inverse)."""
        return self._margin(self.maintenance_margin_rate, contracts, mark)

    def initial_margin(self, contracts: float, mark: float) -> float:
        """Initial margin (USD if linear, coin if inverse)."""
        return self._margin(self.initial_margin_rate, contracts, mark)

    def liquidation_price(self, collateral: float, contracts: float, entry: float) -> float | None:
        """Mark at which equity falls to maintenance margin, or None if there is none."""
        if contracts == 0.0:
            return None
        m = self.maintenance_margin_rate
        q = contracts * self.contract_size
        if self.settlement is Settlement.LINEAR:
            price = (q * entry - collateral) / (q - m * abs(q))
        else:
            den = collateral + q / entry
            if den == 0.0:
                return None
            price = (q + m * abs(q)) / den
        return price if price > 0.0 and math.isfinite(price) else None


@dataclass(frozen=True, slots=True)
class MarginAccount:
    """A venue account holding one hedge position."""

    venue: str
    collateral: float  # coin (inverse) or USD (linear)
    contracts: float  # signed
    entry_price: float


@dataclass(frozen=True, slots=True)
class LiquidationThresholds:
    """Margin ratios (maintenance margin / equity) at which the monitor acts."""

    target_ratio: float = 0.4
    warn_ratio: float = 0.5
    derisk_ratio: float = 0.7
    emergency_ratio: float = 0.9


class MarginLevel(StrEnum):
    OK = "ok"
    WARN = "warn"  # alert
    DERISK = "derisk"  # reduce the position back to the target ratio
    EMERGENCY = "emergency"  # unwind now (reduce-only market orders)


@dataclass(frozen=True, slots=True)
class LiquidationStatus:
    """Where an account stands against liquidation.

    Attributes
    ----------
    margin_ratio : float
        Maintenance margin / equity (inf when equity <= 0).
    liquidation_price : float or None
        Mark at which maintenance margin is reached.
    distance_fraction : float or None
        ``|mark - liquidation| / mark``.
    order_contracts : float
        Signed contracts to trade (reduce-only) to get back to the target ratio; 0 at OK/WARN.
    unwind_all : bool
        Equity at or below maintenance margin: close the whole position.
    """

    venue: str
    level: MarginLevel
    margin_ratio: float
    equity: float
    maintenance_margin: float
    liquidation_price: float | None
    distance_fraction: float | None
    order_contracts: float
    unwind_all: bool
    message: str


class LiquidationMonitor:
    """Per-venue liquidation distance, alerts and de-risk / unwind decisions."""

    def __init__(
        self, models: dict[str, MarginModel], thresholds: LiquidationThresholds | None = None
    ) -> None:
        self.models = dict(models)
        self.thresholds = thresholds or LiquidationThresholds()

    def check(self, account: MarginAccount, mark: float) -> LiquidationStatus:
        """Assess ``account`` at ``mark`` (USD per coin)."""
        model = self.models.get(account.venue)
        if model is None:
            raise InvalidInput(
                f"no margin model for venue {account.venue!r}; known: {sorted(self.models)}"
            )
        if not (math.isfinite(mark) and mark > 0):
            raise InvalidInput(f"mark {mark} must be a finite positive price")
        n = account.contracts
        eq = model.equity(account.collateral, n, account.entry_price, mark)
        mm = model.maintenance_margin(n, mark)
        ratio = 0.0 if mm == 0.0 else (math.inf if eq <= 0.0 else mm / eq)
        liq = model.liquidation_price(account.collateral, n, account.entry_price)
        dist = None if liq is None else abs(mark - liq) / mark
        th = self.thresholds
        if ratio >= th.emergency_ratio:
            level = MarginLevel.EMERGENCY
        elif ratio >= th.derisk_ratio:
            level = MarginLevel.DERISK
        elif ratio >= th.warn_ratio:
            level = MarginLevel.WARN
        else:
            level = MarginLevel.OK
        unwind_all = ratio >= 1.0
        order = 0.0
        if unwind_all:
            order = -n
        elif level in (MarginLevel.DERISK, MarginLevel.EMERGENCY):
            # Closing at the mark leaves equity unchanged and MM is proportional to |n|.
            order = -math.copysign(abs(n) * (1.0 - th.target_ratio / ratio), n)
        unit = "USD" if model.settlement is Settlement.LINEAR else "coin"
        where = "none" if liq is None else f"{liq:,.1f} ({dist:.1%} away)"
        msg = (
            f"{account.venue}: margin ratio {ratio:.2f} (maintenance {mm:.6g} / equity "
            f"{eq:.6g} {unit}), liquidation at {where}; {level.value}"
        )
        if order:
            msg += f": trade {order:+.6g} contracts reduce-only" + (
                " (unwind all)" if unwind_all else f" to ratio {th.target_ratio:.2f}"
            )
        return LiquidationStatus(
            account.venue, level, ratio, eq, mm, liq, dist, order, unwind_all, msg
        )


__all__ = [
    "LiquidationMonitor",
    "LiquidationStatus",
    "LiquidationThresholds",
    "MarginAccount",
    "MarginLevel",
    "MarginModel",
]

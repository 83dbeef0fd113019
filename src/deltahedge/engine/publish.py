"""Turn the engine's state into the dashboard's ``DashboardUpdate`` (numbers only, no risk math).

Units follow ``deltahedge.dashboard.models``: vega per 1 vol point (the kernels give it
per 1.00, so /100), cash gamma ``Gamma S^2 / 100`` USD per 1 % move, theta USD per day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from deltahedge.core.errors import InvalidInput
from deltahedge.core.units import ns_to_datetime
from deltahedge.dashboard.models import (
    DashboardUpdate,
    EngineMode,
    ExpiryVega,
    HedgeRecord,
    PnlAttribution,
    RiskLimit,
    UnderlyingRisk,
    VenueStatus,
)

if TYPE_CHECKING:
    from deltahedge.engine.engine import Engine, HedgeLogEntry


def band_of(policy: object, last_inputs: dict[str, float] | None = None) -> float | None:
    """The policy's no-hedge half-width in coin, when it has a fixed one (else the last used)."""
    for name in ("threshold", "outer", "base_band"):
        v = getattr(policy, name, None)
        if isinstance(v, (int, float)) and math.isfinite(v):
            return float(v)
    if last_inputs and math.isfinite(last_inputs.get("band", math.nan)):
        return float(last_inputs["band"])
    return None


def hedge_records(entries: Sequence[HedgeLogEntry], underlying: str) -> tuple[HedgeRecord, ...]:
    """One dashboard record per executed leg."""
    out = []
    for e in entries:
        for venue, symbol, contracts, price in e.legs:
            out.append(
                HedgeRecord(
                    ts_ns=e.ts_ns,
                    intent_id=e.intent_id,
                    underlying=underlying,
                    reason=e.reason,
                    side="buy"
                    if contracts > 0 or (contracts == 0 and e.delta_coin > 0)
                    else "sell",
                    size=abs(contracts),
                    size_coin=e.filled_coin,
                    instrument=symbol,
                    venue=venue,
                    price=price or None,
                    slippage_bps=(
                        1e4 * (price / e.mid - 1.0) * (1 if contracts > 0 else -1)
                        if price and e.mid
                        else None
                    ),
                    fees_usd=e.fees_usd,
                    status=e.status,
                    book_delta_coin=e.book_delta_coin,
                )
            )
    return tuple(out)


def build_update(engine: Engine, new: Sequence[HedgeLogEntry]) -> DashboardUpdate:
    """The dashboard update of the engine's current state and the hedges since the last one."""
    r = engine.last_risk
    if r is None:
        raise InvalidInput("nothing to publish yet: the engine has not priced the book")
    u = engine._ui
    S = float(r.index[u])
    band = band_of(engine.policy)
    vega_exp = tuple(
        ExpiryVega(expiry=f"{ns_to_datetime(int(exp)):%Y-%m-%d}", vega_usd=v / 100.0)
        for exp, v in sorted(r.vega_by_expiry(engine.settings.underlying).items())
    )
    risk = UnderlyingRisk(
        underlying=engine.settings.underlying,
        spot_usd=S,
        delta_coin=float(r.delta_coin[u]),
        delta_usd=float(r.delta_coin[u]) * S,
        band_lower_coin=-band if band is not None else None,
        band_upper_coin=band,
        gamma_cash_usd=float(r.gamma_coin[u]) * S * S / 100.0,
        vega_usd=float(r.vega_usd[u]) / 100.0,
        theta_usd_per_day=float(r.theta_usd_per_day[u]),
        vega_by_expiry=vega_exp,
        policy=getattr(engine.policy, "name", type(engine.policy).__name__),
    )
    p = engine.pnl
    pnl = PnlAttribution(
        delta=p.delta, gamma=p.gamma, vega=p.vega, theta=p.theta, fees=p.fees, residual=p.residual
    )
    now = engine.clock.now_ns()
    limits = engine.guard.limits
    venues = []
    for name, venue in engine.venues.items():
        age = (now - engine.last_index_ns) / 1e9 if engine.last_index_ns else None
        venues.append(
            VenueStatus(
                venue=name,
                connected=venue.is_healthy(),
                staleness_s=age if age is not None and math.isfinite(age) else None,
                staleness_limit_s=limits.max_staleness_s,
            )
        )
    used = [
        RiskLimit(name="hedge position", used=engine.account.delta_coin(),
                  limit=limits.max_position_coin, unit="coin"),
        RiskLimit(name="hedge notional / min", used=engine.guard.notional_last_minute(),
                  limit=limits.max_notional_per_minute_usd, unit="USD"),
        RiskLimit(name="daily loss", used=max(0.0, -p.total),
                  limit=limits.max_daily_loss_usd, unit="USD"),
    ]  # fmt: skip
    return DashboardUpdate(
        ts_ns=now,
        mode=EngineMode(engine.mode),
        underlyings=(risk,),
        pnl=pnl,
        venues=tuple(venues),
        limits=tuple(used),
        new_hedges=hedge_records(new, engine.settings.underlying),
        message=engine.message,
    )


__all__ = ["band_of", "build_update", "hedge_records"]

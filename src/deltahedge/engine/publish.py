"""Turn the engine's state into the dashboard's ``DashboardUpdate`` (numbers only, no risk math).

Units follow ``deltahedge.dashboard.models``: vega per 1 vol point (the kernels give it
per 1.00, so /100), cash gamma ``Gamma S^2 / 100`` USD per 1 % move, theta USD per day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from deltahedge.core.errors import InvalidInput
from deltahedge.core.units import ns_to_datetime
from deltahedge.dashboard.models import (
    DashboardUpdate,
    EngineMode,
    ExpiryVega,
    HedgeRecord,
    PnlAttribution,
    RiskLimit,
    SmileFit,
    SmileQuote,
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


def leg_coin(spec: Any, contracts: float, price: float) -> float | None:
    """The coin delta of one leg: ``n s`` (linear), ``n c / price`` (inverse); None if no spec."""
    if spec is None:
        return None
    if getattr(spec.settlement, "value", spec.settlement) == "linear":
        return contracts * spec.contract_size
    return contracts * spec.contract_size / price if price else None


def hedge_records(
    entries: Sequence[HedgeLogEntry],
    underlying: str,
    specs: Mapping[tuple[str, str], Any] | None = None,
) -> tuple[HedgeRecord, ...]:
    """One dashboard record per executed leg.

    ``specs`` (``(venue, symbol) -> InstrumentInfo``) gives each leg its own coin delta;
    without it (or for an unknown leg) the leg shows the whole hedge's filled delta. The
    hedge's fees are split over its legs in proportion to their coin size (exact when the
    venues charge the same rate).
    """
    out = []
    for e in entries:
        coins = []
        for venue, symbol, contracts, price in e.legs:
            coin = leg_coin((specs or {}).get((venue, symbol)), contracts, price)
            coins.append(e.filled_coin if coin is None else coin)  # no spec: the hedge's total
        total = sum(abs(c) for c in coins)
        for (venue, symbol, contracts, price), coin in zip(e.legs, coins, strict=True):
            # the hedge's fees are known in total: each leg shows its share by coin size
            share = abs(coin) / total if total > 0 and len(coins) > 1 else 1.0
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
                    size_coin=coin,
                    instrument=symbol,
                    venue=venue,
                    price=price or None,
                    slippage_bps=(
                        1e4 * (price / e.mid - 1.0) * (1 if contracts > 0 else -1)
                        if price and e.mid
                        else None
                    ),
                    fees_usd=e.fees_usd * share,
                    status=e.status,
                    book_delta_coin=e.book_delta_coin,
                )
            )
    return tuple(out)


#: expiries of a surface drawn on the dashboard, and points on each fitted curve
MAX_SMILES = 6
SMILE_POINTS = 41


def smile_fits(
    surface: Any,
    underlying: str,
    quotes: Mapping[int, tuple[SmileQuote, ...]] | None = None,
    model: str = "svi",
) -> tuple[SmileFit, ...]:
    """The surface's smiles for the dashboard: each expiry's fitted vol on a strike grid of
    +-3.5 ATM standard deviations around its forward, with the quotes it was fitted to
    (``quotes`` keyed by the surface's expiry index; OTM side per strike)."""
    out = []
    n = min(len(surface.T), MAX_SMILES)
    for i in range(n):
        T, F = float(surface.T[i]), float(surface.forwards[i])
        if not (T > 0 and F > 0):
            continue
        atm = float(surface.vol(F, T))
        z = np.linspace(-3.5, 3.5, SMILE_POINTS) * atm * math.sqrt(T)
        strikes = F * np.exp(z)
        vols = np.asarray(surface.vol(strikes, np.full_like(strikes, T)), dtype=float)
        ok = np.isfinite(vols)
        out.append(
            SmileFit(
                underlying=underlying,
                expiry=f"{ns_to_datetime(int(surface.expiry_ns[i])):%Y-%m-%d}",
                forward=F,
                t_years=T,
                strikes=tuple(float(k) for k in strikes[ok]),
                fitted_iv=tuple(float(v) for v in vols[ok]),
                quotes=(quotes or {}).get(i, ()),
                model=model,
            )
        )
    return tuple(out)


def smile_quotes_from_chain(surface: Any, chain: Any) -> dict[int, tuple[SmileQuote, ...]]:
    """Market IVs of ``chain`` by ``surface``'s expiry index, out-of-the-money side per strike.

    Mark IVs are the chain's; bid and ask IVs are solved from its bid/ask prices (coin
    prices for an inverse chain, USD otherwise) off each row's forward.
    """
    from deltahedge.pricing import implied_vol, implied_vol_inverse

    F_row, T_row = np.asarray(chain.forward, dtype=float), np.asarray(chain.T, dtype=float)
    solve = implied_vol_inverse if chain.inverse else implied_vol
    side_iv = {
        side: solve(
            np.asarray(getattr(chain, side), dtype=float), chain.kind, F_row, chain.strike, T_row
        )
        for side in ("bid", "ask")
    }

    def iv(x: float) -> float | None:
        return float(x) if np.isfinite(x) and x > 0 else None

    out: dict[int, tuple[SmileQuote, ...]] = {}
    expiries = np.asarray(chain.expiry_ns)
    for i, e in enumerate(np.asarray(surface.expiry_ns)):
        F = float(surface.forwards[i])
        quotes = []
        for r in np.flatnonzero(expiries == int(e)):
            K, kind = float(chain.strike[r]), int(chain.kind[r])
            if (kind > 0) != (K >= F):  # keep the out-of-the-money option of each strike
                continue
            quotes.append(SmileQuote(strike=K, bid_iv=iv(side_iv["bid"][r]),
                                     ask_iv=iv(side_iv["ask"][r]), mark_iv=iv(chain.mark_iv[r])))  # fmt: skip
        if quotes:
            out[i] = tuple(sorted(quotes, key=lambda q: q.strike))
    return out


def _smiles(engine: Engine) -> tuple[SmileFit, ...]:
    # recomputed only when a refit swaps the surface in (the update goes out ~4 times a second)
    surface = engine.surface
    if surface is None:
        return ()
    cached = getattr(engine, "_smile_cache", None)
    if cached is not None and cached[0] is surface:
        return cached[1]
    try:
        fits = smile_fits(
            surface, engine.settings.underlying, getattr(engine, "smile_quotes", None)
        )
    except Exception:  # a drawing must never stop publishing the risk
        fits = ()
    engine._smile_cache = (surface, fits)  # type: ignore[attr-defined]
    return fits


def funding_note(engine: Engine, venue: str) -> str:
    """What the venue's perpetual legs accrue in funding, for its row on the dashboard."""
    rates = [(sym, r) for (v, sym), r in engine.funding.items() if v == venue]
    if not rates:
        perps = [h for h in engine.hedges if h.venue == venue and h.kind == "perpetual"]
        return "funding rate not read yet" if perps else ""
    parts = []
    for sym, (rate, interval_s) in rates:
        name = f"{sym} " if len(rates) > 1 else ""
        if rate == 0.0:
            parts.append(f"{name}funding rate 0: none accrues")
        else:
            parts.append(f"{name}funding {1e4 * rate:+.2f} bp/{interval_s / 3600:g}h")
    return "; ".join(parts)


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
        delta=p.delta, gamma=p.gamma, vega=p.vega, theta=p.theta, funding=p.funding, fees=p.fees,
        residual=p.residual,
    )  # fmt: skip
    now = engine.clock.now_ns()
    limits = engine.guard.limits
    ages = engine.venue_ages(now)
    venues = []
    for name, venue in engine.venues.items():
        age = ages.get(name)
        venues.append(
            VenueStatus(
                venue=name,
                connected=venue.is_healthy(),
                staleness_s=age if age is not None and math.isfinite(age) else None,
                staleness_limit_s=limits.max_staleness_s,
                message=funding_note(engine, name),
            )
        )
    used = [
        RiskLimit(name="hedge position", used=engine.account.delta_coin(),
                  limit=limits.max_position_coin, unit="coin"),
        RiskLimit(name="hedge notional / min", used=engine.guard.notional_last_minute(),
                  limit=limits.max_notional_per_minute_usd, unit="USD"),
        RiskLimit(name="daily loss (UTC day)", used=max(0.0, -engine.daily.value),
                  limit=limits.max_daily_loss_usd, unit="USD"),
    ]  # fmt: skip
    return DashboardUpdate(
        ts_ns=now,
        mode=EngineMode(engine.mode),
        underlyings=(risk,),
        pnl=pnl,
        venues=tuple(venues),
        limits=tuple(used),
        new_hedges=hedge_records(
            new, engine.settings.underlying, {(h.venue, h.symbol): h for h in engine.hedges}
        ),
        smiles=_smiles(engine),
        message=engine.message,
    )


__all__ = [
    "band_of",
    "build_update",
    "funding_note",
    "hedge_records",
    "leg_coin",
    "smile_fits",
    "smile_quotes_from_chain",
]

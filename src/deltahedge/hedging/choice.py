"""Hedge-instrument choice: the cheapest linear instrument for the expected holding horizon.

For a hedge of ``delta_coin`` held ``horizon_s`` seconds, each candidate costs (USD):

- fees        ``legs * taker_fee_bps * N / 1e4`` (``N = |delta| S``; ``legs`` = 2, entry and
              exit, or 1 for a future that expires within the horizon)
- half-spread ``legs * half_spread_bps * N / 1e4`` from the market's best bid/ask
- slippage    ``legs * impact_bps_per_musd * (N / 1e6) * N / 1e4`` (linear impact)
- carry       perpetual: ``side * funding_rate * N * horizon / funding_interval`` (longs
              pay a positive rate); future: ``side * (F - S) / S * N * min(h, T) / T`` (the
              basis bought or sold decays to 0 at expiry ``T``); spot: a short pays
              ``borrow_rate_apr * N * h / year``
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from deltahedge.core.errors import InvalidInput
from deltahedge.core.units import NS_PER_SECOND, SECONDS_PER_YEAR
from deltahedge.instruments.specs import Future, Perpetual, Spot
from deltahedge.marketdata.state import MarketState


@dataclass(frozen=True, slots=True)
class HedgeVenue:
    """A candidate hedge instrument and what trading it costs.

    Parameters
    ----------
    instrument : Perpetual, Future or Spot
    taker_fee_bps : float
        Fee per trade, bp of notional.
    impact_bps_per_musd : float
        Expected slippage beyond the half-spread, bp per 1 million USD traded.
    borrow_rate_apr : float
        Spot only: yearly cost of borrowing the coin to be short (decimal).
    """

    instrument: Perpetual | Future | Spot
    taker_fee_bps: float = 5.0
    impact_bps_per_musd: float = 0.0
    borrow_rate_apr: float = 0.0


@dataclass(frozen=True, slots=True)
class HedgeCost:
    """Expected cost of one candidate, USD (``carry_usd`` < 0 is income)."""

    venue: str
    symbol: str
    contracts: float
    notional_usd: float
    fee_usd: float
    spread_usd: float
    slippage_usd: float
    carry_usd: float

    @property
    def total_usd(self) -> float:
        return self.fee_usd + self.spread_usd + self.slippage_usd + self.carry_usd


def _contracts(ins: Perpetual | Future | Spot, delta: float, spot: float, price: float) -> float:
    per = (ins.contract_size if ins.is_inverse else ins.contract_size * price) / spot
    lots = round(delta / per / ins.lot_size)
    return round(lots * ins.lot_size, 12)


def hedge_cost(
    venue: HedgeVenue, delta_coin: float, market: MarketState, horizon_s: float
) -> HedgeCost:
    """Expected cost of hedging ``delta_coin`` (coin, signed) with ``venue`` for ``horizon_s``."""
    ins = venue.instrument
    u = market.underlyings.get(ins.underlying)
    if u is None:
        raise InvalidInput(f"no market for {ins.underlying} (hedge candidate {ins.symbol})")
    spot = u.index
    key = (ins.venue, ins.symbol)
    quote = u.quotes.get(key)
    if quote is None:
        raise InvalidInput(f"no best bid/ask for {ins.venue}:{ins.symbol} in the market state")
    price = u.marks.get(key, quote.mid)
    notional = abs(delta_coin) * spot
    side = 1.0 if delta_coin > 0 else -1.0
    legs = 2.0
    carry = 0.0
    if isinstance(ins, Perpetual):
        rate = u.funding.get(key, 0.0)
        carry = side * rate * notional * horizon_s / ins.funding_interval_s
    elif isinstance(ins, Future):
        t_exp = (ins.expiry_ns - market.ts_ns) / NS_PER_SECOND
        if t_exp <= 0:
            raise InvalidInput(f"future {ins.symbol} has expired")
        held = min(horizon_s, t_exp)
        if horizon_s >= t_exp:
            legs = 1.0  # settles at expiry, no exit trade
        carry = side * (price - spot) / spot * notional * held / t_exp
    elif isinstance(ins, Spot) and side < 0:
        carry = venue.borrow_rate_apr * notional * horizon_s / SECONDS_PER_YEAR
    fee = legs * venue.taker_fee_bps * notional / 1e4
    spread = legs * quote.half_spread_bps * notional / 1e4
    slip = legs * venue.impact_bps_per_musd * (notional / 1e6) * notional / 1e4
    return HedgeCost(
        venue=ins.venue,
        symbol=ins.symbol,
        contracts=_contracts(ins, delta_coin, spot, price),
        notional_usd=notional,
        fee_usd=fee,
        spread_usd=spread,
        slippage_usd=slip,
        carry_usd=carry,
    )


def choose_hedge(
    delta_coin: float,
    candidates: Sequence[HedgeVenue],
    market: MarketState,
    horizon_s: float,
) -> list[HedgeCost]:
    """Rank the candidates by expected total cost (cheapest first).

    Parameters
    ----------
    delta_coin : float
        Delta to add, coin (from a ``HedgeIntent``).
    candidates : sequence of HedgeVenue
        Spot, perpetuals and dated futures on the configured venues; those without a
        quote in ``market`` are left out.
    market : MarketState
    horizon_s : float
        Expected holding time of the hedge, seconds.

    Returns
    -------
    list of HedgeCost
        Cheapest first.

    Raises
    ------
    InvalidInput
        If no candidate can be priced.
    """
    if not (horizon_s >= 0 and math.isfinite(horizon_s)):
        raise InvalidInput(f"horizon_s must be finite and >= 0, got {horizon_s!r}")
    priced = []
    skipped = []
    for c in candidates:
        try:
            priced.append(hedge_cost(c, delta_coin, market, horizon_s))
        except InvalidInput as exc:
            skipped.append(str(exc))
    if not priced:
        raise InvalidInput(f"no hedge candidate could be priced: {skipped}")
    return sorted(priced, key=lambda h: h.total_usd)


__all__ = ["HedgeCost", "HedgeVenue", "choose_hedge", "hedge_cost"]

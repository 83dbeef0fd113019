"""Frozen events that cross layer boundaries: intents, order requests, updates, fills.

Quantities are signed where a side is implied (long > 0). Prices are in the instrument's
quote currency (USD for BTC perps, coin for Deribit options). Timestamps are UTC ns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from deltahedge.core.enums import OrderSide, OrderStatus, OrderType, TimeInForce


def _empty() -> Mapping[str, float]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class HedgeIntent:
    """What a policy wants: change the book's delta in ``underlying`` by ``delta_coin``.

    Parameters
    ----------
    intent_id : str
        Unique; client order ids derive from it.
    ts_ns : int
        Decision time, UTC ns.
    underlying : str
        Coin whose delta is hedged, e.g. ``"BTC"``.
    delta_coin : float
        Signed delta to add, in coin units (buy 2.5 BTC of delta: +2.5).
    reason : str
        Human-readable reason, e.g. ``"|delta| 3.1 > band 2.0 (whalley_wilmott)"``.
    policy : str
        Name of the policy that decided.
    inputs : Mapping[str, float]
        The numbers the decision used (delta, band, gamma, vol forecast, ...).
    instrument : str or None
        Hedge instrument chosen, or None to let the router choose.
    quantity : float or None
        Signed size in contracts of ``instrument`` (rounded to its lot), if chosen.
    allow_slicing : bool
        Whether the router may slice the hedge over time (TWAP clips).
    max_slippage_bps : float or None
        Refuse fills worse than this many basis points from the mid.
    """

    intent_id: str
    ts_ns: int
    underlying: str
    delta_coin: float
    reason: str
    policy: str = ""
    inputs: Mapping[str, float] = field(default_factory=_empty)
    instrument: str | None = None
    quantity: float | None = None
    allow_slicing: bool = False
    max_slippage_bps: float | None = None


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order to send to a venue; ``client_order_id`` makes resubmission idempotent."""

    client_order_id: str
    venue: str
    instrument: str
    side: OrderSide
    quantity: float  # > 0, in contracts
    order_type: OrderType = OrderType.MARKET
    price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    intent_id: str = ""
    ts_ns: int = 0


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A change of an order's state reported by a venue."""

    client_order_id: str
    venue: str
    status: OrderStatus
    filled_quantity: float  # cumulative, contracts
    ts_ns: int
    venue_order_id: str = ""
    message: str = ""
    avg_price: float = 0.0  # volume-weighted price of the fills so far (0 when none)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. ``fill_id`` is unique per venue, so duplicates are recognised."""

    fill_id: str
    client_order_id: str
    venue: str
    instrument: str
    side: OrderSide
    quantity: float  # > 0, contracts
    price: float
    fee: float  # in ``fee_currency``; > 0 is a cost
    fee_currency: str
    ts_ns: int
    liquidity: str = "taker"  # or "maker"

    @property
    def signed_quantity(self) -> float:
        return self.side.sign * self.quantity


__all__ = ["Fill", "HedgeIntent", "OrderRequest", "OrderUpdate"]

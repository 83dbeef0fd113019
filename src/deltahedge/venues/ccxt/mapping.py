"""Pure conversions between ccxt's unified structures and deltahedge's (no I/O)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import ccxt

from deltahedge.core.enums import OptionKind, OrderSide, OrderStatus, Settlement
from deltahedge.core.errors import (
    InsufficientMargin,
    OrderRejected,
    RateLimited,
    UnknownOrder,
    VenueDisconnected,
    VenueError,
)
from deltahedge.core.events import Fill, OrderUpdate
from deltahedge.execution.venue import InstrumentInfo

_KIND = {"swap": "perpetual", "future": "future", "option": "option", "spot": "spot"}
_STATUS = {
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
    "expired": OrderStatus.EXPIRED,
}


def instrument_from_market(market: Mapping[str, Any], venue: str) -> InstrumentInfo:
    """An :class:`InstrumentInfo` from a ccxt market (``load_markets`` value).

    ``symbol`` is the venue's own id (``BTC-PERPETUAL``); contract size, lot (ccxt's
    amount precision in tick-size mode), tick, fees, expiry (ms -> ns), strike and option
    kind are copied; ``inverse`` markets are coin-settled.
    """
    precision = market.get("precision") or {}
    option = market.get("optionType")
    expiry = market.get("expiry")
    return InstrumentInfo(
        symbol=str(market["id"]),
        venue=venue,
        kind=_KIND.get(str(market.get("type")), str(market.get("type"))),
        underlying=str(market["base"]),
        settlement=Settlement.INVERSE if market.get("inverse") else Settlement.LINEAR,
        contract_size=float(market.get("contractSize") or 1.0),
        lot_size=float(
            precision.get("amount")
            or (market.get("limits") or {}).get("amount", {}).get("min")
            or 1.0
        ),
        tick_size=float(precision.get("price") or 0.0),
        maker_fee=float(market.get("maker") or 0.0),
        taker_fee=float(market.get("taker") or 0.0),
        expiry_ns=int(expiry) * 1_000_000 if expiry else None,
        strike=float(market["strike"]) if market.get("strike") else None,
        option_kind=(OptionKind.CALL if option == "call" else OptionKind.PUT) if option else None,
    )


def contract_spec(
    exchange: str, market: Mapping[str, Any], venue: str
) -> tuple[InstrumentInfo, float]:
    """The spec of a ccxt market in contracts, and ccxt's ``amount`` per contract.

    :func:`instrument_from_market`, corrected where ccxt's unified market is not in
    contracts of the size the exchange trades:

    - **Deribit** inverse futures and perpetuals: ccxt's ``amount`` is in USD (Deribit's
      API sizes them in USD, BTC-PERPETUAL in multiples of 10), so one contract is
      ``contract_size`` of ccxt's amount and the lot is divided by it.
    - **OKX**: a contract is ``ctVal * ctMult`` of ``ctValCcy`` (BTC options since
      2022-07-14: ``ctVal`` 0.01 x ``ctMult`` 1 = 0.01 BTC; before, ``ctVal`` 1 x
      ``ctMult`` 0.1); ccxt reads ``ctVal`` alone.
    - **Bybit** inverse contracts are sized in USD, one USD each; ccxt takes the minimum
      order quantity as the contract size, which is 1 USD only while the minimum is 1.
    - **Hyperliquid**: ccxt's market id is the asset's index (``"0"`` for BTC); the
      venue's own name of the perpetual is the coin (``"BTC"``), used as the symbol.

    Returns
    -------
    spec : InstrumentInfo
    scale : float
        ccxt ``amount`` per contract (orders multiply by it, fills and books divide).
    """
    spec = instrument_from_market(market, venue)
    info = market.get("info") or {}
    scale = 1.0
    if exchange == "deribit" and market.get("inverse") and spec.kind != "option":
        scale = spec.contract_size
        spec = replace(spec, lot_size=spec.lot_size / scale)
    elif exchange == "okx" and info.get("ctVal") and info.get("ctMult"):
        spec = replace(spec, contract_size=float(info["ctVal"]) * float(info["ctMult"]))
    elif exchange == "bybit" and market.get("inverse"):
        spec = replace(spec, contract_size=1.0)
    elif exchange == "hyperliquid" and market.get("baseName"):
        spec = replace(spec, symbol=str(market["baseName"]))
    return spec, scale


def to_venue_client_id(exchange: str, client_order_id: str) -> str:
    """Our client order id in the form ``exchange`` accepts.

    Hyperliquid wants a 128-bit hex ``cloid`` (``0x`` + 32 hex digits): our ids are ``dh`` +
    24 hex digits, sent as ``0x`` + those 24 digits + 8 zeros (reversible); other ids are
    hashed first. Deribit, OKX, Bybit and Binance take our ids as they are (<= 32 chars,
    letters and digits).
    """
    if exchange != "hyperliquid":
        return client_order_id
    digits = (
        client_order_id[2:]
        if client_order_id.startswith("dh") and len(client_order_id) == 26
        else (hashlib.sha256(client_order_id.encode()).hexdigest()[:24])
    )
    return "0x" + digits + "0" * 8


def from_venue_client_id(exchange: str, venue_client_id: str) -> str:
    """Inverse of :func:`to_venue_client_id` for ids we sent."""
    if (
        exchange == "hyperliquid"
        and venue_client_id.startswith("0x")
        and len(venue_client_id) == 34
    ):
        return "dh" + venue_client_id[2:26]
    return venue_client_id


def client_id_of(order: Mapping[str, Any]) -> str:
    """Our client order id in a ccxt order (``clientOrderId``, or Deribit's ``label``)."""
    info = order.get("info") or {}
    return str(order.get("clientOrderId") or info.get("label") or info.get("clOrdId") or "")


def update_from_order(order: Mapping[str, Any], venue: str) -> OrderUpdate:
    """An :class:`OrderUpdate` from a ccxt order; open orders are acked or partially filled."""
    filled = float(order.get("filled") or 0.0)
    status = _STATUS.get(str(order.get("status")))
    if status is None:
        status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACKED
    ts = order.get("lastUpdateTimestamp") or order.get("timestamp") or 0
    return OrderUpdate(
        client_id_of(order),
        venue,
        status,
        filled,
        int(ts) * 1_000_000,
        str(order.get("id") or ""),
        avg_price=float(order.get("average") or 0.0),
    )


def fill_from_trade(
    trade: Mapping[str, Any], venue: str, instrument: str, client_order_id: str
) -> Fill:
    """A :class:`Fill` from a ccxt trade (``fetch_my_trades`` / ``watch_my_trades``)."""
    fee = trade.get("fee") or {}
    return Fill(
        fill_id=f"{venue}:{trade['id']}",
        client_order_id=client_order_id,
        venue=venue,
        instrument=instrument,
        side=OrderSide(str(trade["side"])),
        quantity=float(trade["amount"]),
        price=float(trade["price"]),
        fee=float(fee.get("cost") or 0.0),
        fee_currency=str(fee.get("currency") or ""),
        ts_ns=int(trade.get("timestamp") or 0) * 1_000_000,
        liquidity=str(trade.get("takerOrMaker") or "taker"),
    )


#: ccxt exception class -> deltahedge VenueError class, most specific first.
_ERRORS: tuple[tuple[type[Exception], type[VenueError]], ...] = (
    (ccxt.InsufficientFunds, InsufficientMargin),
    (ccxt.OrderNotFound, UnknownOrder),
    (ccxt.RateLimitExceeded, RateLimited),
    (ccxt.DDoSProtection, RateLimited),
    (ccxt.InvalidOrder, OrderRejected),
    (ccxt.NetworkError, VenueDisconnected),
    (ccxt.ExchangeNotAvailable, VenueDisconnected),
)


def translate_error(exc: Exception, venue: str) -> VenueError:
    """The typed deltahedge error for a ccxt exception (credentials never appear in messages)."""
    for ccxt_cls, ours in _ERRORS:
        if isinstance(exc, ccxt_cls):
            return ours(f"{venue}: {type(exc).__name__}: {exc}", venue)
    if isinstance(exc, ccxt.ExchangeError):
        return OrderRejected(f"{venue}: {type(exc).__name__}: {exc}", venue)
    return VenueError(f"{venue}: {type(exc).__name__}: {exc}", venue)


def order_params(
    client_param: str, client_order_id: str, post_only: bool, reduce_only: bool, tif: str | None
) -> dict[str, Any]:
    """ccxt ``params`` carrying our client id and order flags (unified ccxt names)."""
    params: dict[str, Any] = {client_param: client_order_id}
    if post_only:
        params["postOnly"] = True
    if reduce_only:
        params["reduceOnly"] = True
    if tif:
        params["timeInForce"] = tif
    return params


__all__ = [
    "client_id_of",
    "contract_spec",
    "fill_from_trade",
    "from_venue_client_id",
    "instrument_from_market",
    "order_params",
    "to_venue_client_id",
    "translate_error",
    "update_from_order",
]

"""``CcxtVenue``: the Venue port on a live exchange through ccxt (REST) and ccxt.pro (websockets).

- Keys come only from environment variables named in :class:`CcxtVenueConfig`; they are
  handed to ccxt and never stored on this object, logged or shown in ``repr``.
- ccxt's own rate limiter is on (``enableRateLimit``); ``testnet`` turns on the sandbox.
- Our client order id travels in the exchange's own field (Deribit ``label``, OKX
  ``clOrdId``, Bybit ``orderLinkId``, Binance ``newClientOrderId``), so ``get_order``
  finds an order after a restart by scanning open and recent closed orders for it.
- Streams: :meth:`CcxtVenue.run_streams` loops on ``watch_orders`` and ``watch_my_trades``
  and pushes :class:`OrderUpdate` / :class:`Fill` to the listeners.
- Every ccxt exception is translated into the typed errors of ``deltahedge.core.errors``.
- Quantities are in contracts everywhere in deltahedge. Deribit's API (and so ccxt's
  ``amount``) sizes inverse futures and perpetuals in USD (BTC-PERPETUAL: multiples of
  10 USD), so for those the adapter multiplies by the contract size on the way out and
  divides on the way in: orders, fills, order updates, positions and order books.
  Contract sizes are corrected where ccxt's are not the exchange's
  (:func:`~deltahedge.venues.ccxt.mapping.contract_spec`).
- Instruments are named by the venue's own symbol (``BTC-PERPETUAL``, ``BTC-USD-SWAP``,
  ``BTCUSD_PERP``, Hyperliquid ``BTC``); an unknown one raises
  :class:`~deltahedge.core.errors.UnknownInstrument`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from deltahedge.core.enums import OrderType, TimeInForce
from deltahedge.core.errors import UnknownInstrument, UnknownOrder, VenueError
from deltahedge.core.events import Fill, OrderRequest, OrderUpdate
from deltahedge.execution.venue import (
    Balance,
    BookSnapshot,
    FundingRate,
    InstrumentInfo,
    Listener,
    VenueCapabilities,
)
from deltahedge.venues.ccxt.config import CLIENT_ID_PARAM, CcxtVenueConfig
from deltahedge.venues.ccxt.mapping import (
    client_id_of,
    contract_spec,
    fill_from_trade,
    from_venue_client_id,
    order_params,
    to_venue_client_id,
    translate_error,
    update_from_order,
)

_TIF = {
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
    TimeInForce.GTC: None,
    TimeInForce.POST_ONLY: None,
}


def make_exchange(config: CcxtVenueConfig) -> Any:
    """A ccxt.pro exchange for ``config`` with rate limiting on and keys from the environment."""
    import ccxt.pro as ccxtpro

    cls = getattr(ccxtpro, config.exchange)
    exchange = cls({"enableRateLimit": True, **config.credentials()})
    if config.testnet:
        exchange.set_sandbox_mode(True)
    return exchange


class CcxtVenue:
    """A live venue through ccxt (see module docstring).

    Parameters
    ----------
    config : CcxtVenueConfig
    exchange : object, optional
        A ready ccxt(.pro) exchange (tests inject one that answers from recordings).
    """

    def __init__(self, config: CcxtVenueConfig, exchange: Any | None = None) -> None:
        self.config = config
        self.name = config.venue_name
        self.exchange = exchange if exchange is not None else make_exchange(config)
        # Deribit has combo orders and block trades, but this adapter does not place them
        # yet: combo_orders stays False so the atomic executor never claims that guarantee
        self.capabilities = VenueCapabilities(
            combo_orders=False,
            block_trades=False,
            options=config.exchange in ("deribit", "okx", "bybit"),
        )
        self._client_param = CLIENT_ID_PARAM[config.exchange]
        self._listeners: list[Listener] = []
        self._specs: dict[str, InstrumentInfo] = {}
        self._unified: dict[str, str] = {}  # venue id -> ccxt symbol
        self._ours: dict[str, str] = {}  # ccxt symbol -> venue id
        self._venue_ids: dict[str, str] = {}  # our client id -> venue order id
        self._order_symbol: dict[str, str] = {}
        self._scale: dict[str, float] = {}  # ccxt symbol -> ccxt amount per contract
        self._last_msg = 0.0
        self.connected = False

    def __repr__(self) -> str:
        creds = "<redacted>" if self.config.credentials() else "none"
        return f"CcxtVenue({self.config.exchange!r}, testnet={self.config.testnet}, keys={creds})"

    async def _do(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            result = await getattr(self.exchange, method)(*args, **kwargs)
        except VenueError:
            raise
        except Exception as exc:  # ccxt raises its own hierarchy; translate every case
            raise translate_error(exc, self.name) from None
        self.connected = True
        return result

    # ------------------------------------------------------------------ reference data
    async def instruments(self) -> Mapping[str, InstrumentInfo]:
        if not self._specs:
            markets = await self._do("load_markets")
            for symbol, market in markets.items():
                spec, scale = contract_spec(self.config.exchange, market, self.name)
                self._scale[symbol] = scale
                self._specs[spec.symbol] = spec
                self._unified[spec.symbol] = symbol
                self._ours[symbol] = spec.symbol
        return dict(self._specs)

    def _name(self, ccxt_symbol: object) -> str:
        """Our (the venue's) name of a ccxt unified symbol."""
        return self._ours.get(str(ccxt_symbol), str(ccxt_symbol))

    async def _symbol(self, instrument: str) -> str:
        if not self._unified:
            await self.instruments()
        try:
            return self._unified[instrument]
        except KeyError:
            raise UnknownInstrument(
                f"{self.name}: unknown instrument {instrument!r}; the venue lists "
                f"{len(self._unified)} instruments, e.g. {sorted(self._unified)[:3]}",
                self.name,
            ) from None

    async def order_book(self, instrument: str, depth: int = 50) -> BookSnapshot:
        symbol = await self._symbol(instrument)
        book = await self._do("fetch_order_book", symbol, depth)
        return book_snapshot(instrument, book, self._scale.get(symbol, 1.0))

    async def positions(self) -> Mapping[str, float]:
        """Signed positions in contracts by instrument.

        ccxt's ``contracts`` is the size and ``side`` its sign; Deribit's raw ``size`` is
        itself signed (negative when short), so the size is taken without its sign.
        """
        if not self._unified:
            await self.instruments()
        out: dict[str, float] = {}
        for p in await self._do("fetch_positions"):
            sign = -1.0 if p.get("side") == "short" else 1.0
            scale = self._scale.get(str(p.get("symbol")), 1.0)
            out[self._name(p.get("symbol"))] = sign * abs(float(p.get("contracts") or 0.0)) / scale
        return out

    async def balances(self) -> Mapping[str, Balance]:
        bal = await self._do("fetch_balance")
        return {
            c: Balance(c, float(v or 0.0), float((bal.get("free") or {}).get(c) or 0.0))
            for c, v in (bal.get("total") or {}).items()
        }

    async def funding_rate(self, instrument: str) -> FundingRate:
        fr = await self._do("fetch_funding_rate", await self._symbol(instrument))
        return FundingRate(
            instrument,
            float(fr.get("fundingRate") or 0.0),
            interval_s=_interval_s(fr.get("interval")),
            next_ts_ns=int(fr.get("fundingTimestamp") or 0) * 1_000_000,
        )

    # ------------------------------------------------------------------ orders
    async def submit(self, request: OrderRequest) -> OrderUpdate:
        symbol = await self._symbol(request.instrument)
        params = order_params(
            self._client_param,
            to_venue_client_id(self.config.exchange, request.client_order_id),
            request.time_in_force is TimeInForce.POST_ONLY,
            request.reduce_only,
            _TIF[request.time_in_force],
        )
        kind = "market" if request.order_type is OrderType.MARKET else "limit"
        amount = request.quantity * self._scale.get(symbol, 1.0)
        order = await self._do(
            "create_order", symbol, kind, request.side.value, amount, request.price, params
        )
        order.setdefault("clientOrderId", request.client_order_id)
        self._venue_ids[request.client_order_id] = str(order.get("id"))
        self._order_symbol[request.client_order_id] = symbol
        return self._update(order)

    def _update(self, order: dict[str, Any]) -> OrderUpdate:
        upd = update_from_order(order, self.name)
        coid = from_venue_client_id(self.config.exchange, upd.client_order_id)
        if coid != upd.client_order_id:
            upd = replace(upd, client_order_id=coid)
        scale = self._scale.get(str(order.get("symbol")), 1.0)
        return replace(upd, filled_quantity=upd.filled_quantity / scale) if scale != 1.0 else upd

    def _fill(self, trade: dict[str, Any], instrument: str, coid: str) -> Fill:
        fill = fill_from_trade(trade, self.name, instrument, coid)
        scale = self._scale.get(str(trade.get("symbol")), 1.0)
        return replace(fill, quantity=fill.quantity / scale) if scale != 1.0 else fill

    async def cancel(self, client_order_id: str) -> OrderUpdate:
        order = await self._find(client_order_id)
        done = await self._do("cancel_order", order["id"], order.get("symbol"))
        done.setdefault("clientOrderId", client_order_id)
        return self._update(done)

    async def get_order(self, client_order_id: str) -> OrderUpdate:
        order = await self._find(client_order_id)
        order.setdefault("clientOrderId", client_order_id)
        return self._update(order)

    async def _find(self, client_order_id: str) -> dict[str, Any]:
        vid = self._venue_ids.get(client_order_id)
        if vid is not None:
            return await self._do("fetch_order", vid, self._order_symbol.get(client_order_id))
        for method in ("fetch_open_orders", "fetch_closed_orders"):
            for params in await self._scan_params():
                orders = await self._do(method, None, None, None, params)
                found = self._match(orders, client_order_id)
                if found is not None:
                    return found
        raise UnknownOrder(f"{self.name}: no order with client id {client_order_id!r}", self.name)

    async def _scan_params(self) -> list[dict[str, Any]]:
        # Deribit lists orders per currency (ccxt asks for BTC alone when none is given):
        # an ETH or USDC order must be looked for under its own settlement currency
        if self.config.exchange != "deribit":
            return [{}]
        if not self._unified:
            await self.instruments()
        markets = getattr(self.exchange, "markets", None) or {}
        codes = sorted({str(m.get("settleId") or m.get("settle")) for m in markets.values()})
        return [{"currency": c} for c in codes if c != "None"] or [{}]

    def _match(
        self, orders: Sequence[dict[str, Any]], client_order_id: str
    ) -> dict[str, Any] | None:
        for order in orders:
            if from_venue_client_id(self.config.exchange, client_id_of(order)) == client_order_id:
                self._venue_ids[client_order_id] = str(order["id"])
                self._order_symbol[client_order_id] = str(order.get("symbol"))
                return order
        return None

    async def open_orders(self) -> Sequence[OrderUpdate]:
        out: list[OrderUpdate] = []
        for params in await self._scan_params():
            out += [
                self._update(o)
                for o in await self._do("fetch_open_orders", None, None, None, params)
            ]
        return out

    async def fills_for(self, client_order_id: str) -> Sequence[Fill]:
        """The order's trades: by order id where ccxt can (``fetch_order_trades``), else the
        instrument's recent trades filtered by order id (Hyperliquid)."""
        order = await self._find(client_order_id)
        symbol = str(order.get("symbol"))
        if (getattr(self.exchange, "has", None) or {}).get("fetchOrderTrades") is True:
            trades = await self._do("fetch_order_trades", str(order["id"]), symbol)
        else:
            trades = await self._do("fetch_my_trades", symbol)
        instrument = self._name(symbol)
        return [
            self._fill(t, instrument, client_order_id)
            for t in trades
            if str(t.get("order")) == str(order["id"])
        ]

    # ------------------------------------------------------------------ streams
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners = [x for x in self._listeners if x != listener]

    async def run_streams(self) -> None:
        """Push order updates and fills from ccxt.pro's ``watch_orders`` / ``watch_my_trades``."""
        await asyncio.gather(self._pump_orders(), self._pump_trades())

    async def _pump_orders(self) -> None:
        while True:
            for order in await self._do("watch_orders"):
                self._last_msg = time.monotonic()
                self._emit(self._update(order))

    async def _pump_trades(self) -> None:
        while True:
            for t in await self._do("watch_my_trades"):
                self._last_msg = time.monotonic()
                coid = next((c for c, v in self._venue_ids.items() if v == str(t.get("order"))), "")
                instrument = self._name(t.get("symbol"))
                self._emit(self._fill(t, instrument, coid))

    def _emit(self, event: OrderUpdate | Fill) -> None:
        for listener in self._listeners:
            listener(event)

    def is_healthy(self) -> bool:
        if not self.connected:
            return False
        return not self._last_msg or time.monotonic() - self._last_msg <= self.config.stale_after_s

    async def close(self) -> None:
        """Close the exchange's HTTP and websocket sessions."""
        await self.exchange.close()


def book_snapshot(instrument: str, book: Mapping[str, Any], scale: float = 1.0) -> BookSnapshot:
    """A :class:`BookSnapshot` from a ccxt order book (``bids``/``asks`` of [price, amount, ...]).

    ``scale`` is ccxt's ``amount`` per contract (10 for Deribit BTC-PERPETUAL, whose book
    is in USD): sizes are divided by it, so the snapshot is in contracts as the port says.
    """
    bids = np.array([row[:2] for row in book.get("bids", [])], dtype=float).reshape(-1, 2)
    asks = np.array([row[:2] for row in book.get("asks", [])], dtype=float).reshape(-1, 2)
    if scale != 1.0:
        bids[:, 1] /= scale
        asks[:, 1] /= scale
    return BookSnapshot(instrument, bids, asks, int(book.get("timestamp") or 0) * 1_000_000)


_UNIT_S = {"m": 60.0, "h": 3600.0, "d": 86400.0}


def _interval_s(interval: object) -> float:
    """Seconds of a ccxt funding ``interval`` (``"8h"``, ``"1h"``); 8 h when not given."""
    text = str(interval or "")
    if len(text) >= 2 and text[-1] in _UNIT_S and text[:-1].isdigit():
        return int(text[:-1]) * _UNIT_S[text[-1]]
    return 8 * 3600.0


__all__ = ["CcxtVenue", "book_snapshot", "make_exchange"]

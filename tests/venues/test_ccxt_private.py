"""CcxtVenue's book, account and order queries, through ccxt's own Deribit code, offline.

Reference data is the recorded 2021 ``public/get_instruments`` answer; books come from
the recorded ``book.*.raw`` notifications and from the example answer of Deribit's
``public/get_order_book`` documentation (BTC-PERPETUAL, sizes in USD). Private answers
(``private/cancel``, ``get_order_state``, ``get_open_orders_by_currency``,
``get_user_trades_by_order``, ``get_positions``, ``get_account_summaries``,
``public/get_funding_rate_value``) have the shape of the examples in Deribit's API
documentation; the numbers in them are chosen so that each conversion is visible.
"""

from __future__ import annotations

import asyncio

import ccxt
import pytest

from deltahedge.core import (
    HedgeIntent,
    OrderRejected,
    OrderRequest,
    OrderSide,
    OrderStatus,
    SimClock,
    UnknownInstrument,
    UnknownOrder,
)
from deltahedge.execution.orders import OrderManager
from deltahedge.venues.ccxt import CcxtVenue, CcxtVenueConfig

from .ccxt_fakes import (
    block_network,
    deribit,
    deribit_markets,
    hand_books,
    load_deribit_recording,
    rpc,
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    block_network(monkeypatch)


@pytest.fixture(scope="module")
def recorded(shared_data) -> dict:
    rec = load_deribit_recording(shared_data / "deribit_ws_2021")
    rec["markets"] = deribit_markets(rec)
    return rec


def _order(order_id: str, label: str, instrument: str, state: str, amount: float, filled: float):
    """A Deribit order object (fields of the docs' ``private/get_order_state`` example)."""
    return {
        "order_id": order_id,
        "label": label,
        "instrument_name": instrument,
        "direction": "buy",
        "amount": amount,
        "filled_amount": filled,
        "average_price": 32000.0 if filled else 0.0,
        "price": 32010.0,
        "order_state": state,
        "order_type": "limit",
        "time_in_force": "good_til_cancelled",
        "creation_timestamp": 1626993723000,
        "last_update_timestamp": 1626993724000,
        "post_only": False,
        "reduce_only": False,
        "api": True,
    }


def _trade(trade_id: str, order_id: str, instrument: str, amount: float, price: float):
    """A Deribit user trade (fields of the docs' ``get_user_trades_by_order`` example)."""
    return {
        "trade_seq": 3,
        "trade_id": trade_id,
        "timestamp": 1626993724500,
        "tick_direction": 1,
        "state": "filled",
        "self_trade": False,
        "reduce_only": False,
        "price": price,
        "post_only": False,
        "order_type": "limit",
        "order_id": order_id,
        "liquidity": "T",
        "instrument_name": instrument,
        "index_price": 32001.0,
        "mark_price": 32000.0,
        "fee_currency": "BTC",
        "fee": 0.0000002,
        "direction": "buy",
        "amount": amount,
    }


def _run(recorded, private, body):
    async def go():
        ex, transport = deribit(recorded, private, recorded["markets"])
        venue = CcxtVenue(CcxtVenueConfig(exchange="deribit"), ex)
        try:
            return await body(venue), transport
        finally:
            await venue.close()

    return asyncio.run(go())


# Deribit docs, public/get_order_book, example answer (BTC-PERPETUAL; amounts in USD)
_DOC_BOOK = {
    "timestamp": 1583781354740,
    "state": "open",
    "instrument_name": "BTC-PERPETUAL",
    "change_id": 17538025952,
    "mark_price": 7813.06,
    "index_price": 7810.12,
    "bids": [[7814, 351820], [7813.5, 207490], [7813, 32160]],
    "asks": [[7814.5, 11880], [7815, 18100], [7815.5, 2640]],
}


def test_order_book_of_recorded_option_books_keeps_sizes_in_contracts(recorded):
    """Deribit option books are sized in BTC = contracts: the recorded books come back as sent."""
    hand = hand_books(recorded["ws"])
    assert len(hand) >= 5

    def book(url, method, body):
        name = url.split("instrument_name=")[1].split("&")[0]
        bids, asks = hand[name]
        return rpc(
            {
                "timestamp": 1626993724000,
                "instrument_name": name,
                "bids": [list(r) for r in sorted(bids.items(), reverse=True)],
                "asks": [list(r) for r in sorted(asks.items())],
            }
        )

    async def body(venue):
        return {name: await venue.order_book(name, 50) for name in hand}

    snaps, _ = _run(recorded, {"public/get_order_book": book}, body)
    for name, (bids, asks) in hand.items():
        assert [tuple(r) for r in snaps[name].bids.tolist()] == sorted(bids.items(), reverse=True)
        assert [tuple(r) for r in snaps[name].asks.tolist()] == sorted(asks.items())


@pytest.mark.parametrize("instrument", ["BTC-PERPETUAL", "BTC-25MAR22"])
def test_order_book_of_inverse_perpetual_and_future_is_in_contracts_not_usd(recorded, instrument):
    async def body(venue):
        return await venue.order_book(instrument, 3)

    snap, transport = _run(
        recorded, {"public/get_order_book": rpc({**_DOC_BOOK, "instrument_name": instrument})}, body
    )
    assert f"instrument_name={instrument}" in transport.paths()[-1]
    # contract size 10 USD: 351,820 USD at 7814 = 35,182 contracts, 11,880 USD = 1,188
    assert snap.bids.tolist() == [[7814.0, 35182.0], [7813.5, 20749.0], [7813.0, 3216.0]]
    assert snap.asks.tolist() == [[7814.5, 1188.0], [7815.0, 1810.0], [7815.5, 264.0]]
    assert snap.ts_ns == 1583781354740 * 1_000_000


def test_cancel_looks_the_order_up_by_client_id_then_cancels_it_by_venue_id(recorded):
    private = {
        "get_open_orders_by_currency": lambda url, m, b: rpc(
            [_order("BTC-9", "dhcancelme", "BTC-PERPETUAL", "open", 50.0, 20.0)]
            if "currency=BTC" in url
            else []
        ),
        "private/cancel": rpc(
            _order("BTC-9", "dhcancelme", "BTC-PERPETUAL", "cancelled", 50.0, 20.0)
        ),
    }

    async def body(venue):
        return await venue.cancel("dhcancelme")

    upd, transport = _run(recorded, private, body)
    cancel_url = next(u for u in transport.paths() if "private/cancel" in u)
    assert "order_id=BTC-9" in cancel_url
    assert upd.client_order_id == "dhcancelme" and upd.status is OrderStatus.CANCELLED
    assert upd.filled_quantity == 2.0  # 20 USD filled of BTC-PERPETUAL = 2 contracts of 10 USD
    assert upd.venue_order_id == "BTC-9"


def test_get_order_by_client_id_scans_every_settlement_currency_after_a_restart(recorded):
    """An ETH order is listed under currency=ETH only; ccxt alone would ask for BTC."""
    private = {
        "get_open_orders_by_currency": lambda url, m, b: rpc(
            [_order("ETH-5", "dheth", "ETH-PERPETUAL", "open", 30.0, 10.0)]
            if "currency=ETH" in url
            else [_order("BTC-1", "dhother", "BTC-PERPETUAL", "open", 10.0, 0.0)]
        ),
        "get_order_state": rpc(_order("ETH-5", "dheth", "ETH-PERPETUAL", "filled", 30.0, 30.0)),
    }

    async def body(venue):
        first = await venue.get_order("dheth")
        again = await venue.get_order("dheth")  # now by its venue id
        return first, again

    (first, again), transport = _run(recorded, private, body)
    scans = [u for u in transport.paths() if "get_open_orders_by_currency" in u]
    assert any("currency=BTC" in u for u in scans) and any("currency=ETH" in u for u in scans)
    assert first.client_order_id == "dheth" and first.venue_order_id == "ETH-5"
    # ETH-PERPETUAL's contract is 1 USD: 10 USD filled = 10 contracts
    assert (first.status, first.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 10.0)
    assert any("get_order_state" in u and "order_id=ETH-5" in u for u in transport.paths())
    assert (again.status, again.filled_quantity) == (OrderStatus.FILLED, 30.0)


def test_get_order_of_an_order_the_venue_never_had_raises_unknown_order(recorded):
    private = {
        "get_open_orders_by_currency": rpc([]),
        "get_order_history_by_currency": rpc([]),
    }

    async def body(venue):
        with pytest.raises(UnknownOrder, match="dhnever"):
            await venue.get_order("dhnever")
        return True

    assert _run(recorded, private, body)[0]


def test_fills_for_fetches_the_orders_trades_in_contracts(recorded):
    trades = [
        _trade("BTC-T1", "BTC-9", "BTC-PERPETUAL", 30.0, 32000.0),
        _trade("BTC-T2", "BTC-9", "BTC-PERPETUAL", 20.0, 32001.0),
    ]
    private = {
        "get_open_orders_by_currency": rpc([]),
        "get_order_history_by_currency": lambda url, m, b: rpc(
            [_order("BTC-9", "dhfills", "BTC-PERPETUAL", "filled", 50.0, 50.0)]
            if "currency=BTC" in url
            else []
        ),
        "get_user_trades_by_order": rpc(trades),
    }

    async def body(venue):
        return await venue.fills_for("dhfills")

    fills, transport = _run(recorded, private, body)
    assert any("get_user_trades_by_order" in u and "order_id=BTC-9" in u for u in transport.paths())
    assert [(f.fill_id, f.client_order_id, f.instrument) for f in fills] == [
        ("deribit:BTC-T1", "dhfills", "BTC-PERPETUAL"),
        ("deribit:BTC-T2", "dhfills", "BTC-PERPETUAL"),
    ]
    assert [f.quantity for f in fills] == [3.0, 2.0]  # 30 and 20 USD / 10 USD per contract
    assert [f.price for f in fills] == [32000.0, 32001.0]
    assert all(f.side is OrderSide.BUY and f.liquidity == "taker" for f in fills)


def test_positions_are_signed_contracts_under_the_venue_names(recorded):
    """Deribit ``size`` is signed and in USD for futures, in coin for options."""
    rows = [
        {"instrument_name": "BTC-PERPETUAL", "kind": "future", "direction": "sell", "size": -500.0,
         "size_currency": -0.0156, "average_price": 32000.0, "mark_price": 32010.0},
        {"instrument_name": "BTC-24SEP21-40000-P", "kind": "option", "direction": "buy",
         "size": 1.5, "size_currency": 1.5, "average_price": 0.27, "mark_price": 0.28},
        {"instrument_name": "ETH-PERPETUAL", "kind": "future", "direction": "buy", "size": 120.0,
         "size_currency": 0.057, "average_price": 2100.0, "mark_price": 2101.0},
    ]  # fmt: skip

    async def body(venue):
        return await venue.positions()

    pos, _ = _run(recorded, {"private/get_positions": rpc(rows)}, body)
    # -500 USD / 10 USD = -50 contracts; options in BTC; ETH-PERPETUAL is 1 USD a contract
    assert pos == {"BTC-PERPETUAL": -50.0, "BTC-24SEP21-40000-P": 1.5, "ETH-PERPETUAL": 120.0}


def test_balances_read_equity_and_available_funds_per_currency(recorded):
    summaries = {
        "summaries": [
            {"currency": "BTC", "equity": 1.25, "balance": 1.2, "available_funds": 0.9,
             "maintenance_margin": 0.1, "initial_margin": 0.3},
            {"currency": "ETH", "equity": 10.0, "balance": 10.0, "available_funds": 10.0,
             "maintenance_margin": 0.0, "initial_margin": 0.0},
        ]
    }  # fmt: skip

    async def body(venue):
        return await venue.balances()

    bal, _ = _run(recorded, {"private/get_account_summaries": rpc(summaries)}, body)
    assert (bal["BTC"].total, bal["BTC"].free) == (1.25, 0.9)
    assert (bal["ETH"].total, bal["ETH"].free) == (10.0, 10.0)


def test_funding_rate_is_deribits_8h_value_with_its_interval(recorded):
    async def body(venue):
        return await venue.funding_rate("BTC-PERPETUAL")

    fr, transport = _run(recorded, {"public/get_funding_rate_value": rpc(0.00012)}, body)
    assert "instrument_name=BTC-PERPETUAL" in transport.paths()[-1]
    assert (fr.instrument, fr.rate, fr.interval_s) == ("BTC-PERPETUAL", 0.00012, 8 * 3600.0)


def test_unknown_instrument_raises_a_typed_error_naming_it(recorded):
    async def body(venue):
        errors = []
        for call in (
            lambda: venue.order_book("BTC-NOPE"),
            lambda: venue.funding_rate("BTC-NOPE"),
            lambda: venue.submit(OrderRequest("dhx", "deribit", "BTC-NOPE", OrderSide.BUY, 1.0)),
        ):
            with pytest.raises(UnknownInstrument, match="BTC-NOPE") as info:
                await call()
            errors.append(info.value)
        return errors

    errors, transport = _run(recorded, {}, body)
    assert all(isinstance(e, OrderRejected) and not isinstance(e, UnknownOrder) for e in errors)
    assert all("private/" not in u for u in transport.paths())  # nothing was sent


def test_order_manager_closes_an_order_for_an_unknown_instrument_as_rejected(recorded):
    private = {
        "get_open_orders_by_currency": rpc([]),
        "get_order_history_by_currency": rpc([]),
    }

    async def body(venue):
        om = OrderManager({"deribit": venue}, clock=SimClock(0))
        intent = HedgeIntent("i-unknown", 0, "BTC", 0.1, "test")
        leg = OrderRequest("", "deribit", "BTC-NOPE", OrderSide.BUY, 1.0)
        return await om.execute(intent, [leg]), om

    (report, om), transport = _run(recorded, private, body)
    assert report.status == "failed" and "BTC-NOPE" in report.reason
    assert [o.status for o in om.orders.values()] == [OrderStatus.REJECTED]
    assert om.in_flight("BTC") is None  # the exposure is free for the next decision
    assert all("private/buy" not in u for u in transport.paths())


def test_ccxt_order_not_found_on_cancel_becomes_unknown_order(recorded):
    def not_found(url, method, body):
        raise ccxt.OrderNotFound("deribit {'code': 10004, 'message': 'order_not_found'}")

    private = {
        "get_open_orders_by_currency": rpc(
            [_order("BTC-9", "dhgone", "BTC-PERPETUAL", "open", 50.0, 0.0)]
        ),
        "private/cancel": not_found,
    }

    async def body(venue):
        with pytest.raises(UnknownOrder, match="order_not_found"):
            await venue.cancel("dhgone")
        return True

    assert _run(recorded, private, body)[0]

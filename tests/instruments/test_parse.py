"""Venue instrument names -> frozen specs."""

from __future__ import annotations

import pytest

from deltahedge.core.enums import OptionKind, Settlement
from deltahedge.core.errors import InvalidInput
from deltahedge.core.units import to_ns
from deltahedge.instruments import (
    FORMS,
    Future,
    Option,
    Perpetual,
    Spot,
    delta_per_contract,
    parse_instrument,
)

MAR27 = to_ns("2026-03-27T08:00:00Z")


@pytest.mark.parametrize(
    ("symbol", "venue", "settle", "size", "kind"),
    [
        ("BTC-27MAR26-90000-C", "deribit", Settlement.INVERSE, 1.0, OptionKind.CALL),
        ("BTC_USDC-27MAR26-90000-P", "deribit", Settlement.LINEAR, 0.01, OptionKind.PUT),
        ("BTC-USD-260327-90000-C", "okx", Settlement.INVERSE, 0.01, OptionKind.CALL),
        ("BTC-27MAR26-90000-P", "bybit", Settlement.LINEAR, 1.0, OptionKind.PUT),
        ("BTC-27MAR26-90000-C-USDT", "bybit", Settlement.LINEAR, 1.0, OptionKind.CALL),
        ("BTC-260327-90000-C", "binance", Settlement.LINEAR, 1.0, OptionKind.CALL),
    ],
)
def test_option_names_parse_to_strike_expiry_kind(symbol, venue, settle, size, kind):
    opt = parse_instrument(symbol, venue)
    assert isinstance(opt, Option)
    assert opt.strike == 90000.0
    assert opt.expiry_ns == MAR27  # 08:00 UTC on every venue
    assert opt.kind is kind
    assert opt.settlement is settle
    assert opt.contract_size == size
    assert opt.underlying == "BTC"


def test_bybit_usdt_option_settles_in_usdt_and_usdc_by_default():
    assert parse_instrument("BTC-27MAR26-90000-C-USDT", "bybit").settlement_coin == "USDT"
    assert parse_instrument("BTC-27MAR26-90000-C", "bybit").settlement_coin == "USDC"


@pytest.mark.parametrize(
    ("symbol", "venue", "settle", "size"),
    [
        ("BTC-PERPETUAL", "deribit", Settlement.INVERSE, 10.0),  # 10 USD a contract
        ("ETH-PERPETUAL", "deribit", Settlement.INVERSE, 1.0),
        ("BTC_USDC-PERPETUAL", "deribit", Settlement.LINEAR, 0.001),
        ("BTC-USD-SWAP", "okx", Settlement.INVERSE, 100.0),
        ("BTC-USDT-SWAP", "okx", Settlement.LINEAR, 0.01),
        ("BTCUSDT", "bybit", Settlement.LINEAR, 1.0),
        ("BTCUSD", "bybit", Settlement.INVERSE, 1.0),
        ("BTCUSDT", "binance", Settlement.LINEAR, 1.0),
        ("BTCUSD_PERP", "binance", Settlement.INVERSE, 100.0),  # COIN-M: 100 USD
        ("ETHUSD_PERP", "binance", Settlement.INVERSE, 10.0),
    ],
)
def test_perpetual_names_parse_with_contract_value(symbol, venue, settle, size):
    perp = parse_instrument(symbol, venue)
    assert isinstance(perp, Perpetual)
    assert perp.settlement is settle
    assert perp.contract_size == size


@pytest.mark.parametrize(
    ("symbol", "venue"),
    [("BTC-27MAR26", "deribit"), ("BTC-USD-260327", "okx"), ("BTCUSD_260327", "binance")],
)
def test_dated_future_names_parse_to_inverse_future(symbol, venue):
    fut = parse_instrument(symbol, venue)
    assert isinstance(fut, Future)
    assert fut.expiry_ns == MAR27
    assert fut.is_inverse


# Real names: Bybit's v5 instrument list (BTCUSDH25/M25/U25/Z25 inverse quarterlies,
# BTC-30AUG24 USDC and BTCUSDT-22AUG25 USDT futures, BTCPERP the USDC perp) and Binance
# USD-M's exchangeInfo (BTCUSDT_250328). Bybit's inverse quarterly names carry only the
# month: it delivers at 08:00 UTC on the month's last Friday, e.g. BTCUSDU21 was listed
# with the alias BTCUSD0924 (Fri 24 Sep 2021) and BTCUSDM21 as BTCUSD0625.
@pytest.mark.parametrize(
    ("symbol", "venue", "settle", "size", "lot", "ccy", "expiry"),
    [
        ("BTCUSDU21", "bybit", Settlement.INVERSE, 1.0, 1.0, "BTC", "2021-09-24"),  # 1 USD
        ("BTCUSDM21", "bybit", Settlement.INVERSE, 1.0, 1.0, "BTC", "2021-06-25"),
        # 31 Mar 2026 is a Tuesday -> last Friday 27 Mar; 31 Dec 2025 a Wednesday -> 26 Dec
        ("BTCUSDH26", "bybit", Settlement.INVERSE, 1.0, 1.0, "BTC", "2026-03-27"),
        ("ETHUSDZ25", "bybit", Settlement.INVERSE, 1.0, 1.0, "ETH", "2025-12-26"),
        ("BTC-30AUG24", "bybit", Settlement.LINEAR, 1.0, 0.001, "USDC", "2024-08-30"),
        ("BTC-27MAR26", "bybit", Settlement.LINEAR, 1.0, 0.001, "USDC", "2026-03-27"),
        ("BTCUSDT-22AUG25", "bybit", Settlement.LINEAR, 1.0, 0.001, "USDT", "2025-08-22"),
        ("BTCUSDT_250328", "binance", Settlement.LINEAR, 1.0, 0.001, "USDT", "2025-03-28"),
        ("ETHUSDT_260327", "binance", Settlement.LINEAR, 1.0, 0.001, "USDT", "2026-03-27"),
    ],
)
def test_bybit_and_binance_usdm_dated_futures_parse(symbol, venue, settle, size, lot, ccy, expiry):
    fut = parse_instrument(symbol, venue)
    assert isinstance(fut, Future)
    assert fut.settlement is settle
    assert (fut.contract_size, fut.lot_size, fut.min_size) == (size, lot, lot)
    assert fut.settlement_coin == ccy
    assert fut.expiry_ns == to_ns(f"{expiry}T08:00:00Z")
    assert fut.underlying == symbol[:3]


def test_bybit_inverse_quarterly_delta_is_face_over_price():
    # 50,000 contracts of 1 USD at 100,000 USD: 0.5 BTC, as a BTCUSD perp of the same size
    fut = parse_instrument("BTCUSDH26", "bybit")
    assert 50_000 * delta_per_contract(fut, 100_000.0) == pytest.approx(0.5)
    assert fut.is_inverse and not parse_instrument("BTCUSDT-27MAR26", "bybit").is_inverse


@pytest.mark.parametrize("symbol", ["BTCPERP", "BTC-PERP"])
def test_bybit_usdc_perpetual_parses_linear_in_usdc(symbol):
    perp = parse_instrument(symbol, "bybit")
    assert isinstance(perp, Perpetual)
    assert perp.settlement is Settlement.LINEAR and perp.settlement_coin == "USDC"
    assert (perp.contract_size, perp.lot_size) == (1.0, 0.001)


def test_spot_pair_parses_on_any_venue():
    spot = parse_instrument("eth/usdc", "binance")
    assert isinstance(spot, Spot)
    assert (spot.underlying, spot.quote) == ("ETH", "USDC")


@pytest.mark.parametrize(
    ("symbol", "venue", "needle"),
    [
        ("BTC-31FEB26-90000-C", "deribit", "not a date"),
        ("BTC-27MAR26-90000-X", "deribit", "neither C nor P"),
        ("BTC-27MAR26-abc-C", "deribit", "not a number"),
        ("BTC-EUR-SWAP", "okx", "BTC-USD-SWAP"),
        ("BTCUSD_PERPX", "binance", "neither DDMMMYY nor YYMMDD"),
        ("BTC-27MAR26-90000-C-EUR", "bybit", "USDT/USDC"),
        ("", "deribit", "empty"),
        ("BTCUSDF26", "bybit", "month code 'F' is not one of H, M, U, Z"),
        ("BTCUSDH2", "bybit", "BTCUSDH26"),  # no form matches: the forms are listed
        ("BTCUSDT-31FEB26", "bybit", "not a date"),
        ("BTCUSDT-2026MAR", "bybit", "neither DDMMMYY nor YYMMDD"),
        ("BTCEUR_250328", "binance", "USD-M quarterlies like BTCUSDT_260327"),
        ("BTCUSDT_251399", "binance", "not a date"),
    ],
)
def test_bad_names_raise_invalid_input_naming_string_and_forms(symbol, venue, needle):
    with pytest.raises(InvalidInput) as info:
        parse_instrument(symbol, venue)
    msg = str(info.value)
    assert needle.lower() in msg.lower()
    assert repr(symbol.upper()) in msg or symbol == ""
    assert all(form in msg for form in FORMS[venue])  # every accepted form is named


def test_unknown_venue_raises_listing_venues():
    with pytest.raises(InvalidInput, match="allowed: \\['binance', 'bybit', 'deribit', 'okx'\\]"):
        parse_instrument("BTC-PERPETUAL", "kraken")


def test_round_to_lot_truncates_toward_zero_and_drops_below_min_size():
    opt = parse_instrument("BTC-27MAR26-90000-C", "deribit")  # lot = min = 0.1
    assert opt.round_to_lot(0.37) == pytest.approx(0.3)
    assert opt.round_to_lot(-0.37) == pytest.approx(-0.3)
    assert opt.round_to_lot(0.09) == 0.0
    perp = parse_instrument("BTCUSDT", "binance")  # lot 0.001
    assert perp.round_to_lot(1.23456) == pytest.approx(1.234)


def test_delta_per_contract_inverse_is_face_over_entry_linear_is_size():
    # Deribit BTC-PERPETUAL: 10 USD / 50,000 USD = 0.0002 BTC a contract
    assert delta_per_contract(parse_instrument("BTC-PERPETUAL", "deribit"), 50_000.0) == 0.0002
    # OKX BTC-USDT-SWAP: 0.01 BTC a contract whatever the price
    assert delta_per_contract(parse_instrument("BTC-USDT-SWAP", "okx"), 50_000.0) == 0.01


def test_spec_with_nonpositive_size_is_refused():
    with pytest.raises(InvalidInput, match="contract_size"):
        Perpetual("X", "v", "BTC", Settlement.LINEAR, 0.0, "USDT", 1.0, 1.0, 0.5)


def test_parse_hedge_instrument_refuses_options():
    from deltahedge.instruments import parse_hedge_instrument

    assert isinstance(parse_hedge_instrument("BTC-PERPETUAL", "deribit"), Perpetual)
    with pytest.raises(InvalidInput, match="is an option"):
        parse_hedge_instrument("BTC-27MAR26-90000-C", "deribit")

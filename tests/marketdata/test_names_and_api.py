"""Deribit name parsing and the package's public names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import deltahedge.marketdata as md
from deltahedge.core.errors import DataError
from deltahedge.marketdata.names import parse_future_name, parse_option_name


def _ns(*args):
    return int(datetime(*args, tzinfo=UTC).timestamp()) * 1_000_000_000


def test_option_names_parse_to_0800_utc_expiries():
    assert parse_option_name("BTC-27MAR26-90000-C") == ("BTC", _ns(2026, 3, 27, 8), 90000.0, 1)
    assert parse_option_name("ETH-3JAN26-2600-P") == ("ETH", _ns(2026, 1, 3, 8), 2600.0, -1)
    # linear USDC options write a decimal strike with 'd'
    assert parse_option_name("XRP_USDC-30JAN26-2d25-C") == (
        "XRP_USDC",
        _ns(2026, 1, 30, 8),
        2.25,
        1,
    )


def test_future_and_synthetic_names_parse():
    assert parse_future_name("SYN.BTC-3JAN26") == ("BTC", _ns(2026, 1, 3, 8))
    assert parse_future_name("ETH-25DEC26") == ("ETH", _ns(2026, 12, 25, 8))


@pytest.mark.parametrize(
    "bad", ["BTC-PERPETUAL", "BTC-27XYZ26-90000-C", "BTC-31FEB26-1-C", "90000-C"]
)
def test_bad_names_raise_with_the_name(bad):
    with pytest.raises(DataError, match=bad.split("-")[0]):
        parse_option_name(bad)


def test_every_public_name_exists():
    for name in md.__all__:
        assert getattr(md, name) is not None, name
    assert set(md.FORMATS) >= {"deribit_snapshot_csv", "deribit_eod", "tardis_options_chain"}

"""Real Binance books (BTCUSDT linear, BTCUSD_PERP inverse) 60 s after their snapshots."""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.core.enums import OrderSide
from deltahedge.execution.router import BookSource
from deltahedge.venues.binance_replay import load_book
from deltahedge.venues.book import L2Book
from deltahedge.venues.specs import BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT


def _source(book: L2Book, spec, venue: str) -> BookSource:
    bp, bq = book.side_arrays(OrderSide.BUY)
    ap, aq = book.side_arrays(OrderSide.SELL)
    return BookSource(venue, spec, np.column_stack([bp, bq]), np.column_stack([ap, aq]), book.ts_ns)


@pytest.fixture(scope="session")
def real_books(shared_data) -> tuple[L2Book, L2Book]:
    d = shared_data / "binance_l2_2024"
    return (
        load_book(d / "usdm_btcusdt_20240808.gz", "BTCUSDT", 60.0),
        load_book(d / "coinm_btcusd_perp_20240808.gz", "BTCUSD_PERP", 60.0),
    )


@pytest.fixture()
def real_sources(real_books) -> tuple[BookSource, BookSource]:
    lin, inv = real_books
    return _source(lin, BINANCE_BTCUSDT, "binance_usdm"), _source(
        inv, BINANCE_BTCUSD_PERP, "binance_coinm"
    )

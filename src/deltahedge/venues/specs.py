"""Minimal contract specs of the venues' hedge instruments, and a synthetic book shaped like Binance's.

Sizes and fees are the venues' published values (Binance USD-M and COIN-M futures
contract specifications, VIP 0 fees as of 2024; Deribit BTC-PERPETUAL). Full instrument
data comes from ``deltahedge.instruments`` or the venue's own ``instruments()``.
"""

from __future__ import annotations

import numpy as np

from deltahedge.core.enums import Settlement
from deltahedge.execution.venue import InstrumentInfo
from deltahedge.venues.book import L2Book

#: Binance USD-M BTCUSDT perpetual: quantity in BTC, lot 0.001 BTC, tick 0.1 USDT,
#: fees 2 bp maker / 5 bp taker.
BINANCE_BTCUSDT = InstrumentInfo(
    symbol="BTCUSDT",
    venue="binance_usdm",
    kind="perpetual",
    underlying="BTC",
    settlement=Settlement.LINEAR,
    contract_size=1.0,
    lot_size=0.001,
    tick_size=0.1,
    maker_fee=0.0002,
    taker_fee=0.0005,
)

#: Binance COIN-M BTCUSD_PERP: contracts of 100 USD, lot 1, tick 0.1 USD,
#: fees 1 bp maker / 5 bp taker.
BINANCE_BTCUSD_PERP = InstrumentInfo(
    symbol="BTCUSD_PERP",
    venue="binance_coinm",
    kind="perpetual",
    underlying="BTC",
    settlement=Settlement.INVERSE,
    contract_size=100.0,
    lot_size=1.0,
    tick_size=0.1,
    maker_fee=0.0001,
    taker_fee=0.0005,
)

#: Deribit BTC-PERPETUAL: contracts of 10 USD, tick 0.5 USD, 0 bp maker / 5 bp taker.
DERIBIT_BTC_PERPETUAL = InstrumentInfo(
    symbol="BTC-PERPETUAL",
    venue="deribit",
    kind="perpetual",
    underlying="BTC",
    settlement=Settlement.INVERSE,
    contract_size=10.0,
    lot_size=1.0,
    tick_size=0.5,
    maker_fee=0.0,
    taker_fee=0.0005,
)


def synthetic_book(
    instrument: str,
    mid: float = 60_000.0,
    tick: float = 0.1,
    levels: int = 200,
    size_at_touch: float = 2.0,
    growth: float = 0.02,
    seed: int = 0,
) -> L2Book:
    """A book shaped like Binance BTC perps: one-tick spread, sizes growing with depth.

    Level ``i`` (0 at the touch) on each side holds ``size_at_touch * (1 + growth*i) * U``
    with ``U ~ Uniform(0.5, 1.5)`` from ``seed``, at ``mid -/+ tick*(i + 1/2)``.
    """
    rng = np.random.default_rng(seed)
    i = np.arange(levels)
    base = size_at_touch * (1.0 + growth * i)
    bid_sz = np.round(base * rng.uniform(0.5, 1.5, levels), 3)
    ask_sz = np.round(base * rng.uniform(0.5, 1.5, levels), 3)
    bid_px = np.round(mid - tick * (i + 0.5), 8)
    ask_px = np.round(mid + tick * (i + 0.5), 8)
    book = L2Book(instrument)
    book.load(
        zip(bid_px.tolist(), bid_sz.tolist(), strict=True),
        zip(ask_px.tolist(), ask_sz.tolist(), strict=True),
    )
    return book


__all__ = ["BINANCE_BTCUSDT", "BINANCE_BTCUSD_PERP", "DERIBIT_BTC_PERPETUAL", "synthetic_book"]

"""Market-data feeds: simulated (path models), replay (recorded real data) and live (ccxt.pro).

Every feed is an async iterator of :class:`Tick` carrying the venue's timestamp and the
receipt time; the engine consumes any of them the same way.
"""

from deltahedge.marketdata.feeds.base import Feed, Pacer, Tick, TickKind
from deltahedge.marketdata.feeds.live import CcxtProFeed, order_book_to_tick, ticker_to_ticks
from deltahedge.marketdata.feeds.replay import (
    BinanceBookFeed,
    BitstampMinuteFeed,
    DeribitSnapshotFeed,
)
from deltahedge.marketdata.feeds.simulated import SimulatedFeed

__all__ = [
    "BinanceBookFeed",
    "BitstampMinuteFeed",
    "CcxtProFeed",
    "DeribitSnapshotFeed",
    "Feed",
    "Pacer",
    "SimulatedFeed",
    "Tick",
    "TickKind",
    "order_book_to_tick",
    "ticker_to_ticks",
]

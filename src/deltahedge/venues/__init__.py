"""Venue adapters implementing :class:`deltahedge.execution.venue.Venue`.

- :mod:`deltahedge.venues.paper`: matching against L2 books (real replays or synthetic);
- :mod:`deltahedge.venues.ccxt`: live exchanges through ccxt / ccxt.pro;
- :mod:`deltahedge.venues.amm`: constant-product and Uniswap v3 pools;
- :mod:`deltahedge.venues.book` and :mod:`deltahedge.venues.binance_replay`: the L2 book
  and the replay of recorded Binance depth streams.
"""

from deltahedge.venues.book import L2Book, WalkResult

__all__ = ["L2Book", "WalkResult"]

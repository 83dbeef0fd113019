"""Live venues through ccxt (REST) and ccxt.pro (websockets): Deribit, OKX, Bybit, Binance, Hyperliquid."""

from deltahedge.venues.ccxt.config import CLIENT_ID_PARAM, CcxtVenueConfig
from deltahedge.venues.ccxt.venue import CcxtVenue, book_snapshot, make_exchange

__all__ = ["CLIENT_ID_PARAM", "CcxtVenue", "CcxtVenueConfig", "book_snapshot", "make_exchange"]

"""The exception hierarchy of deltahedge.

::

    DeltaHedgeError
    ├── InvalidInput (ValueError)      bad argument to a public function
    ├── ConfigError (ValueError)       a configuration key has a bad value
    ├── DataError                      a market-data file or message cannot be used
    │   └── StaleMarketData            a price is older than its limit
    ├── RiskLimitBreached              a risk guard refused an action
    └── ExecutionError
        └── VenueError                 raised by a Venue adapter
            ├── OrderRejected
            │   └── UnknownInstrument  the venue does not list the instrument
            ├── RateLimited
            ├── VenueDisconnected
            ├── InsufficientMargin
            └── UnknownOrder

Messages say what was wrong, the value seen, and what is allowed or what happens next,
e.g. ``StaleMarketData("BTC-PERPETUAL mark is 12.3 s old, limit 2 s; hedging paused")``.
"""

from __future__ import annotations


class DeltaHedgeError(Exception):
    """Base class of every error deltahedge raises on purpose."""


class InvalidInput(DeltaHedgeError, ValueError):
    """A public function got an argument it cannot use."""


class ConfigError(DeltaHedgeError, ValueError):
    """A configuration value is invalid; the message names the key and what is allowed."""


class DataError(DeltaHedgeError):
    """A market-data file, row or message cannot be used."""


class StaleMarketData(DataError):
    """A price is older than the configured limit."""


class RiskLimitBreached(DeltaHedgeError):
    """A risk guard refused an intent or an order."""


class ExecutionError(DeltaHedgeError):
    """An order could not be placed, amended or tracked."""


class VenueError(ExecutionError):
    """Raised by a Venue adapter; ``venue`` names it."""

    def __init__(self, message: str, venue: str = "") -> None:
        super().__init__(message)
        self.venue = venue


class OrderRejected(VenueError):
    """The venue refused the order (bad size, price, post-only would cross, ...)."""


class UnknownInstrument(OrderRejected):
    """The venue does not list the instrument asked for (a book, a funding rate, an order).

    It is an :class:`OrderRejected`: an order for it never reaches a book, and the order
    manager closes it as rejected. The message names the instrument and the venue.
    """


class RateLimited(VenueError):
    """The venue asked us to slow down; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, venue: str = "", retry_after: float = 1.0) -> None:
        super().__init__(message, venue)
        self.retry_after = retry_after


class VenueDisconnected(VenueError):
    """The connection to the venue is down; the order's fate is unknown until reconciled."""


class InsufficientMargin(VenueError):
    """The account lacks margin for the order."""


class UnknownOrder(VenueError):
    """The venue does not know the order id asked about."""


__all__ = [
    "ConfigError",
    "DataError",
    "DeltaHedgeError",
    "ExecutionError",
    "InsufficientMargin",
    "InvalidInput",
    "OrderRejected",
    "RateLimited",
    "RiskLimitBreached",
    "StaleMarketData",
    "UnknownInstrument",
    "UnknownOrder",
    "VenueDisconnected",
    "VenueError",
]

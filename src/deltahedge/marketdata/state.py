"""``MarketState``: a frozen snapshot of what the engine knows about the market at ``ts_ns``.

Per underlying (``UnderlyingState``): the index price, the forward curve (one forward per
listed expiry), the marks of perpetuals and futures, the best bid/ask of hedge instruments,
perpetual funding rates, and when each was stamped by the venue and received by us.

Instruments are keyed by ``(venue, symbol)`` because names collide across venues
(``BTCUSDT`` is both a Bybit and a Binance perpetual). Prices are USD (or USDT/USDC taken at
par); funding rates are decimals per funding interval (0.0001 = 1 bp per 8 h on most
venues), positive when longs pay shorts.

The snapshot is immutable; ``with_index`` gives the state after a spot move with every
forward and mark of that underlying scaled in proportion (constant log-basis), which is how
``book_risk`` defines delta, and how tests and benchmarks move the market.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

from deltahedge._typing import FloatArray, IntArray
from deltahedge.core.errors import InvalidInput, StaleMarketData
from deltahedge.core.frozen import builder
from deltahedge.core.units import NS_PER_SECOND, SECONDS_PER_YEAR
from deltahedge.marketdata.chain import OptionChain

Key = tuple[str, str]  # (venue, symbol)


def _frozen(m: Mapping | None) -> Mapping:
    return MappingProxyType(dict(m or {}))


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid and ask of one instrument, in its quote currency, sizes in contracts.

    ``venue_ts_ns`` is the venue's own timestamp, ``recv_ts_ns`` when we received it.
    """

    bid: float
    ask: float
    bid_size: float = float("inf")
    ask_size: float = float("inf")
    venue_ts_ns: int = 0
    recv_ts_ns: int = 0

    @property
    def mid(self) -> float:
        """(bid + ask) / 2."""
        return 0.5 * (self.bid + self.ask)

    @property
    def half_spread_bps(self) -> float:
        """Half the spread in basis points of the mid."""
        return 1e4 * 0.5 * (self.ask - self.bid) / self.mid


@dataclass(frozen=True, slots=True)
class UnderlyingState:
    """What is known about one underlying coin.

    Parameters
    ----------
    index : float
        Index (spot) price, USD.
    expiries_ns : ndarray of int64
        Listed expiries of the forward curve, UTC ns, increasing.
    forwards : ndarray of float64
        Forward price per expiry, USD.
    marks : Mapping[(venue, symbol), float]
        Mark prices of perpetuals and futures, USD.
    quotes : Mapping[(venue, symbol), Quote]
        Best bid/ask of hedge instruments.
    funding : Mapping[(venue, symbol), float]
        Current funding rate of perpetuals, decimal per funding interval.
    venue_ts_ns, recv_ts_ns : int
        When the index was stamped by the venue and received by us, UTC ns.
    """

    index: float
    expiries_ns: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    forwards: FloatArray = field(default_factory=lambda: np.zeros(0))
    marks: Mapping[Key, float] = field(default_factory=lambda: MappingProxyType({}))
    quotes: Mapping[Key, Quote] = field(default_factory=lambda: MappingProxyType({}))
    funding: Mapping[Key, float] = field(default_factory=lambda: MappingProxyType({}))
    venue_ts_ns: int = 0
    recv_ts_ns: int = 0

    def __post_init__(self) -> None:
        if not (self.index > 0 and np.isfinite(self.index)):
            raise InvalidInput(f"index price must be finite and > 0, got {self.index!r}")
        exp = np.asarray(self.expiries_ns, dtype=np.int64)
        fwd = np.asarray(self.forwards, dtype=np.float64)
        if exp.shape != fwd.shape or exp.ndim != 1:
            raise InvalidInput(
                f"forward curve needs 1-d expiries and forwards of one length, got "
                f"{exp.shape} and {fwd.shape}"
            )
        if exp.size and (np.any(np.diff(exp) <= 0) or np.any(~(fwd > 0))):
            raise InvalidInput("forward curve needs increasing expiries and forwards > 0")
        exp.setflags(write=False)
        fwd.setflags(write=False)
        object.__setattr__(self, "expiries_ns", exp)
        object.__setattr__(self, "forwards", fwd)
        for name in ("marks", "quotes", "funding"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @classmethod
    def from_chain(cls, chain: OptionChain, **extra: object) -> UnderlyingState:
        """The index and forward curve of an option-chain snapshot.

        The index is the chain's first ``index_price``; the forward of each expiry is the
        one its first row is priced off. ``extra`` fills the other fields (``marks``,
        ``quotes``, ``funding``, timestamps).
        """
        exp, first = np.unique(np.asarray(chain.expiry_ns, dtype=np.int64), return_index=True)
        fwd = np.asarray(chain.forward, dtype=np.float64)[first]
        ok = np.isfinite(fwd) & (fwd > 0)
        index = float(chain.index_price[0]) if len(chain) else float("nan")
        return cls(index, exp[ok], fwd[ok], **extra)  # type: ignore[arg-type]

    def forward(self, expiry_ns: int, ts_ns: int) -> float:
        """Forward price for ``expiry_ns`` seen at ``ts_ns``, USD.

        A listed expiry returns its forward. Between listed expiries the log-basis
        ``ln(F/S)`` is interpolated linearly in time; before the first it shrinks linearly
        to 0 at ``ts_ns``; after the last the last carry rate ``ln(F/S)/T`` is held.
        With no curve, the index is returned (zero carry).
        """
        exp = self.expiries_ns
        if exp.size == 0:
            return self.index
        i = int(np.searchsorted(exp, expiry_ns))
        if i < exp.size and exp[i] == expiry_ns:
            return float(self.forwards[i])
        t = (expiry_ns - ts_ns) / (NS_PER_SECOND * SECONDS_PER_YEAR)
        times = (exp - ts_ns) / (NS_PER_SECOND * SECONDS_PER_YEAR)
        logb = np.log(self.forwards / self.index)
        if i == 0:
            lb = logb[0] * max(t, 0.0) / times[0] if times[0] > 0 else logb[0]
        elif i == exp.size:
            lb = logb[-1] * t / times[-1] if times[-1] > 0 else logb[-1]
        else:
            w = (t - times[i - 1]) / (times[i] - times[i - 1])
            lb = logb[i - 1] + w * (logb[i] - logb[i - 1])
        return float(self.index * np.exp(lb))


@dataclass(frozen=True, slots=True)
class MarketState:
    """A frozen snapshot of the market at ``ts_ns`` (UTC ns), per underlying coin."""

    ts_ns: int
    underlyings: Mapping[str, UnderlyingState]

    def __post_init__(self) -> None:
        object.__setattr__(self, "underlyings", _frozen(self.underlyings))

    def _u(self, underlying: str) -> UnderlyingState:
        try:
            return self.underlyings[underlying]
        except KeyError:
            raise InvalidInput(
                f"no market state for underlying {underlying!r}; have {sorted(self.underlyings)}"
            ) from None

    def index(self, underlying: str) -> float:
        """Index price of ``underlying``, USD."""
        return self._u(underlying).index

    def forward(self, underlying: str, expiry_ns: int) -> float:
        """Forward of ``underlying`` for ``expiry_ns``, USD (see ``UnderlyingState.forward``)."""
        return self._u(underlying).forward(expiry_ns, self.ts_ns)

    def mark(self, underlying: str, venue: str, symbol: str) -> float:
        """Mark price of a perpetual or future, USD; raises ``InvalidInput`` if unknown."""
        try:
            return self._u(underlying).marks[(venue, symbol)]
        except KeyError:
            raise InvalidInput(f"no mark for {venue}:{symbol} in the market state") from None

    def quote(self, underlying: str, venue: str, symbol: str) -> Quote | None:
        """Best bid/ask of a hedge instrument, or None when not quoted."""
        return self._u(underlying).quotes.get((venue, symbol))

    def funding_rate(self, underlying: str, venue: str, symbol: str) -> float:
        """Funding rate of a perpetual, decimal per interval; 0 when not known."""
        return self._u(underlying).funding.get((venue, symbol), 0.0)

    def check_fresh(self, max_age_s: float) -> None:
        """Raise ``StaleMarketData`` if any index or quote was received > ``max_age_s`` ago.

        Items with ``recv_ts_ns == 0`` (not stamped, e.g. simulated) are not checked.
        """
        limit = max_age_s * NS_PER_SECOND
        for name, u in self.underlyings.items():
            stamped = [(f"{name} index", u.recv_ts_ns)]
            stamped += [(f"{v}:{s}", q.recv_ts_ns) for (v, s), q in u.quotes.items()]
            for label, ts in stamped:
                if ts and self.ts_ns - ts > limit:
                    age = (self.ts_ns - ts) / NS_PER_SECOND
                    raise StaleMarketData(
                        f"{label} is {age:.1f} s old, limit {max_age_s:g} s; hedging paused"
                    )

    def with_index(self, underlying: str, index: float, ts_ns: int | None = None) -> MarketState:
        """The state after ``underlying`` moves to ``index`` (and time to ``ts_ns``).

        Forwards, marks and quotes of that underlying scale by ``index / old index``.

        This is the engine's per-tick step, so it builds the new snapshot directly: scaling a
        valid state by a finite ``k > 0`` keeps every invariant ``UnderlyingState`` checks
        (expiries unchanged, forwards still > 0), so only ``k`` is checked; anything else
        (a bad ``index``, ``k`` under- or overflowing) takes the checked constructor, which
        raises the usual ``InvalidInput``.
        """
        u = self._u(underlying)
        k = index / u.index
        marks = {key: m * k for key, m in u.marks.items()}
        quotes = {
            key: _new_quote(
                q.bid * k, q.ask * k, q.bid_size, q.ask_size, q.venue_ts_ns, q.recv_ts_ns
            )
            for key, q in u.quotes.items()
        }
        fwd = u.forwards * k
        if index > 0 and k > 0 and math.isfinite(index) and math.isfinite(k):
            fwd.setflags(write=False)
            scaled = _new_underlying(
                index, u.expiries_ns, fwd, MappingProxyType(marks), MappingProxyType(quotes),
                u.funding, u.venue_ts_ns, u.recv_ts_ns,
            )  # fmt: skip
        else:
            scaled = replace(u, index=index, forwards=fwd, marks=marks, quotes=quotes)
        unders = dict(self.underlyings)
        unders[underlying] = scaled
        return _new_market(self.ts_ns if ts_ns is None else ts_ns, MappingProxyType(unders))


# with_index's constructors (deltahedge.core.frozen): no __post_init__, values already checked
_new_quote = builder(Quote)
_new_underlying = builder(UnderlyingState)
_new_market = builder(MarketState)

__all__ = ["Key", "MarketState", "Quote", "UnderlyingState"]

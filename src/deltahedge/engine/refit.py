"""Refit the volatility surface from the option ticks the engine has seen (off the loop).

``chain_refitter()`` returns the ``refit(quotes, market)`` function the engine runs in an
executor on its cadence: it turns the latest option ticks (mark, bid/ask in coin, mark IV)
into an :class:`~deltahedge.marketdata.chain.OptionChain` priced off the market's forward
curve and fits it with :func:`deltahedge.surface.fit_surface`. Pure apart from a cache of
parsed instrument names; no I/O.

:class:`QuoteMoves` tells the engine when the quotes have moved enough since the last fit
to refit before the timer: the mean absolute change of the option mark IVs since the fit
(kept in O(1) per option tick), or the index's relative move.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from deltahedge.core.units import NS_PER_SECOND, SECONDS_PER_YEAR
from deltahedge.instruments import Option, parse_instrument
from deltahedge.marketdata.chain import OptionChain
from deltahedge.marketdata.feeds.base import Tick
from deltahedge.marketdata.state import MarketState

_YEAR_NS = NS_PER_SECOND * SECONDS_PER_YEAR


def quotes_to_chain(
    quotes: Mapping[str, Tick],
    market: MarketState,
    underlying: str = "BTC",
    venue: str = "deribit",
    inverse: bool = True,
    cache: dict[str, Option | None] | None = None,
) -> OptionChain:
    """An option chain of the latest option ticks, each priced off the market's forward.

    Ticks whose symbol does not parse as an option of ``underlying`` are left out; expired
    options too.
    """
    cache = {} if cache is None else cache
    rows = []
    for sym, t in quotes.items():
        if sym not in cache:
            try:
                ins = parse_instrument(sym, venue)
            except Exception:  # a symbol we cannot read is skipped, not fatal
                ins = None
            cache[sym] = ins if isinstance(ins, Option) and ins.underlying == underlying else None
        ins = cache[sym]
        if ins is not None and ins.expiry_ns > market.ts_ns:
            rows.append((sym, ins, t))
    n = len(rows)
    exp = np.array([r[1].expiry_ns for r in rows], dtype=np.int64)
    fwd = np.array([market.forward(underlying, int(e)) for e in exp])
    nan = np.full(n, np.nan)
    index = market.index(underlying)
    return OptionChain(
        underlying=underlying,
        ts_ns=market.ts_ns,
        inverse=inverse,
        instrument=np.array([r[0] for r in rows], dtype=object),
        kind=np.array([int(r[1].kind) for r in rows], dtype=np.int8),
        strike=np.array([r[1].strike for r in rows]),
        expiry_ns=exp,
        T=(exp - market.ts_ns) / _YEAR_NS,
        forward=fwd,
        bid=np.array([r[2].bid for r in rows]),
        ask=np.array([r[2].ask for r in rows]),
        mark=np.array([r[2].price for r in rows]),
        bid_iv=nan.copy(),
        ask_iv=nan.copy(),
        mark_iv=np.array([r[2].iv for r in rows]),
        venue_delta=nan.copy(),
        venue_gamma=nan.copy(),
        venue_vega=nan.copy(),
        venue_theta=nan.copy(),
        open_interest=nan.copy(),
        index_price=np.full(n, index),
        venue=venue,
    )


def chain_refitter(
    underlying: str = "BTC", venue: str = "deribit", method: str = "svi"
) -> Callable[[Mapping[str, Tick], MarketState], Any]:
    """``refit(quotes, market) -> Surface`` for :class:`~deltahedge.engine.engine.Engine`."""
    from deltahedge.surface import fit_surface

    cache: dict[str, Option | None] = {}

    def refit(quotes: Mapping[str, Tick], market: MarketState) -> Any:
        chain = quotes_to_chain(quotes, market, underlying, venue, cache=cache)
        return fit_surface(chain, method=method)  # type: ignore[arg-type]

    return refit


class QuoteMoves:
    """How far the option quotes and the index have moved since the last surface fit.

    ``iv_move()`` is the mean over the quotes of the fit of ``|IV now - IV at the fit|``
    (decimal vol): a running sum updated per option tick, so a single quote's jump moves
    it by ``jump / n`` and a shift of the whole smile by the shift. A quote first seen after
    the fit takes its first IV as its reference.
    """

    def __init__(self) -> None:
        self._ref: dict[str, float] = {}
        self._dev: dict[str, float] = {}
        self._sum = 0.0
        self.index_ref = math.nan

    def reset(self, quotes: Mapping[str, Tick], index: float) -> None:
        """A fit starts on ``quotes`` at ``index`` (USD): they are the new references."""
        self._ref = {s: t.iv for s, t in quotes.items() if math.isfinite(t.iv)}
        self._dev = {}
        self._sum = 0.0
        self.index_ref = index

    def on_quote(self, symbol: str, iv: float) -> None:
        """An option tick's mark IV (decimal); NaN is ignored."""
        if iv != iv:
            return
        ref = self._ref.get(symbol)
        if ref is None:
            self._ref[symbol] = iv
            return
        d = abs(iv - ref)
        self._sum += d - self._dev.get(symbol, 0.0)
        self._dev[symbol] = d

    def iv_move(self) -> float:
        """Mean absolute mark-IV change since the fit, decimal (0 with no quotes)."""
        return self._sum / len(self._ref) if self._ref else 0.0

    def index_move(self, index: float) -> float:
        """``|index / index at the fit - 1|`` (0 before the first fit)."""
        return abs(index / self.index_ref - 1.0) if self.index_ref > 0 else 0.0


__all__ = ["QuoteMoves", "chain_refitter", "quotes_to_chain"]

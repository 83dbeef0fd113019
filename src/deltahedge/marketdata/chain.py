"""``OptionChain``: one snapshot of a venue's option chain, columnar (numpy arrays).

All per-option arrays have the same length ``n``. Missing values are NaN. Prices of inverse
(coin-settled) options are in coin; ``*_usd`` helpers convert with the row's forward.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields, replace

import numpy as np
import numpy.typing as npt

_F = npt.NDArray[np.float64]

#: Per-option array columns, in order.
ARRAY_COLUMNS: tuple[str, ...] = (
    "instrument",  # venue name, e.g. "BTC-27MAR26-90000-C" (object array of str)
    "kind",  # +1 call, -1 put (int8)
    "strike",  # USD
    "expiry_ns",  # UTC ns (int64)
    "T",  # years to expiry, ACT/365 on seconds, from ``ts_ns`` (or the row's own timestamp)
    "forward",  # the forward the option is priced off, USD
    "bid",  # in coin if ``inverse`` else USD; NaN if no quote
    "ask",
    "mark",
    "bid_iv",  # decimals (0.5 = 50%); NaN if absent
    "ask_iv",
    "mark_iv",
    "venue_delta",  # the venue's own greeks, in the venue's conventions; NaN if absent
    "venue_gamma",
    "venue_vega",  # Deribit: USD per 1 vol point
    "venue_theta",  # Deribit: USD per day
    "open_interest",
    "index_price",  # USD
)


@dataclass(frozen=True, eq=False, repr=False)
class OptionChain:
    """A snapshot of one underlying's options on one venue.

    Parameters
    ----------
    underlying : str
        Coin, e.g. ``"BTC"``.
    ts_ns : int
        Snapshot time, UTC ns.
    inverse : bool
        True when prices are in coin (Deribit, OKX), False when in USD.
    instrument ... index_price : ndarray
        See ``ARRAY_COLUMNS``; all of length ``n``.
    venue : str
        Venue name, e.g. ``"deribit"``.
    """

    underlying: str
    ts_ns: int
    inverse: bool
    instrument: npt.NDArray[np.object_]
    kind: npt.NDArray[np.int8]
    strike: _F
    expiry_ns: npt.NDArray[np.int64]
    T: _F
    forward: _F
    bid: _F
    ask: _F
    mark: _F
    bid_iv: _F
    ask_iv: _F
    mark_iv: _F
    venue_delta: _F
    venue_gamma: _F
    venue_vega: _F
    venue_theta: _F
    open_interest: _F
    index_price: _F
    venue: str = "deribit"

    def __post_init__(self) -> None:
        n = len(self.strike)
        for name in ARRAY_COLUMNS:
            arr = getattr(self, name)
            if len(arr) != n:
                raise ValueError(f"OptionChain column {name!r} has length {len(arr)}, expected {n}")

    def __len__(self) -> int:
        return len(self.strike)

    def __repr__(self) -> str:
        from deltahedge.core.units import ns_to_datetime

        when = ns_to_datetime(self.ts_ns).isoformat()
        return (
            f"OptionChain({self.venue} {self.underlying} at {when}: {len(self)} options, "
            f"{len(self.expiries())} expiries, {'inverse' if self.inverse else 'linear'})"
        )

    def select(self, mask: npt.ArrayLike) -> OptionChain:
        """A new chain with the rows where ``mask`` is true (or at the given indices)."""
        idx = np.asarray(mask)
        return replace(self, **{name: getattr(self, name)[idx] for name in ARRAY_COLUMNS})

    def expiries(self) -> npt.NDArray[np.int64]:
        """Distinct expiries, ascending, UTC ns."""
        return np.unique(self.expiry_ns)

    def mid(self) -> _F:
        """Bid-ask mid, in the price unit of the chain; NaN unless both quotes exist."""
        return 0.5 * (self.bid + self.ask)

    def by_expiry(self) -> Iterator[tuple[int, OptionChain]]:
        """Yield ``(expiry_ns, chain of that expiry)`` in expiry order."""
        for e in self.expiries():
            yield int(e), self.select(self.expiry_ns == e)

    def to_usd(self, price: _F) -> _F:
        """USD value of a price column (``bid``, ``ask`` or ``mark``): times the forward if inverse."""
        return price * self.forward if self.inverse else np.asarray(price, dtype=np.float64)

    def columns(self) -> dict[str, np.ndarray]:
        """The array columns as a dict (for DataFrames and CSV export)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in ARRAY_COLUMNS}


__all__ = ["ARRAY_COLUMNS", "OptionChain"]

"""Drop the rows of a chain that cannot be used, counting each reason; never silently.

Each dropped row is counted under the first reason that applies, in this order:

==================  ===============================================================
``bad_strike``      strike missing or <= 0
``expired``         ``T`` missing or <= ``min_T`` (expired or expiring now)
``missing_forward`` forward missing or <= 0 (after filling from parity, if asked)
``duplicate``       instrument seen again in the same chain (the last row is kept)
``crossed``         bid > ask, both quoted
``no_price``        no bid, no ask and no mark
``below_intrinsic`` reference price (mark, else mid) below intrinsic value by more
                    than ``intrinsic_tol`` (coin: ``max(phi (F - K), 0) / F``)
``above_bound``     reference price at or above the no-arbitrage upper bound (call:
                    the forward, i.e. 1 coin for inverse; put: the strike, ``K / F``
                    coin)
==================  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from deltahedge.marketdata.chain import OptionChain
from deltahedge.marketdata.forwards import reference_price, with_forwards

REASONS: tuple[str, ...] = (
    "bad_strike",
    "expired",
    "missing_forward",
    "duplicate",
    "crossed",
    "no_price",
    "below_intrinsic",
    "above_bound",
)
_EXPLAIN = {
    "bad_strike": "strike missing or <= 0",
    "expired": "T <= min_T (expired)",
    "missing_forward": "no usable forward",
    "duplicate": "instrument repeated",
    "crossed": "bid > ask",
    "no_price": "no bid, no ask, no mark",
    "below_intrinsic": "price below intrinsic",
    "above_bound": "price >= upper bound",
}


@dataclass(frozen=True)
class CleaningReport:
    """What :func:`clean_chain` dropped and why.

    Attributes
    ----------
    label : str
        The chain cleaned (underlying and time).
    n_in, n_out : int
        Rows before and after.
    dropped : dict[str, int]
        Rows dropped per reason, every reason of ``REASONS`` present (0 if none).
    examples : dict[str, tuple[str, ...]]
        Up to three instrument names per reason.
    forwards_filled : int
        Rows whose missing forward was filled from put-call parity.
    """

    label: str
    n_in: int
    n_out: int
    dropped: dict[str, int]
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)
    forwards_filled: int = 0

    @property
    def n_dropped(self) -> int:
        return self.n_in - self.n_out

    @classmethod
    def combine(cls, reports: list[CleaningReport], label: str = "") -> CleaningReport:
        """Add up several reports (e.g. every snapshot of a file)."""
        dropped = {r: sum(rep.dropped.get(r, 0) for rep in reports) for r in REASONS}
        examples: dict[str, tuple[str, ...]] = {}
        for rep in reports:
            for k, v in rep.examples.items():
                examples[k] = (examples.get(k, ()) + v)[:3]
        return cls(
            label or f"{len(reports)} chains",
            sum(r.n_in for r in reports),
            sum(r.n_out for r in reports),
            dropped,
            examples,
            sum(r.forwards_filled for r in reports),
        )

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in self.dropped.items() if v]
        return (
            f"{self.label}: kept {self.n_out} of {self.n_in} rows"
            + (f"; dropped {', '.join(parts)}" if parts else "")
            + (f"; {self.forwards_filled} forwards from parity" if self.forwards_filled else "")
        )

    def __rich__(self) -> object:
        from rich.table import Table

        table = Table(title=f"Cleaning: {self.label}", title_justify="left")
        table.add_column("reason")
        table.add_column("meaning")
        table.add_column("rows", justify="right")
        table.add_column("e.g.")
        for reason in REASONS:
            n = self.dropped.get(reason, 0)
            style = None if n else "dim"
            table.add_row(
                reason,
                _EXPLAIN[reason],
                str(n),
                ", ".join(self.examples.get(reason, ())),
                style=style,
            )
        table.add_section()
        table.add_row("kept", "", f"{self.n_out} / {self.n_in}", "", style="bold")
        if self.forwards_filled:
            table.add_row("forwards from parity", "", str(self.forwards_filled), "")
        return table


def clean_chain(
    chain: OptionChain,
    *,
    min_T: float = 0.0,
    intrinsic_tol: float = 1e-8,
    fill_forwards: bool = True,
) -> tuple[OptionChain, CleaningReport]:
    """Drop unusable rows of ``chain`` and say how many for each reason.

    Parameters
    ----------
    chain : OptionChain
    min_T : float
        Rows with ``T <= min_T`` (years) count as expired; 0 by default.
    intrinsic_tol : float
        Allowed shortfall below intrinsic, in the chain's price unit (coin if inverse);
        the default 1e-8 is the rounding of Deribit's 8-decimal marks.
    fill_forwards : bool
        Fill missing forwards from put-call parity before judging them.

    Returns
    -------
    (clean_chain, report)
    """
    from deltahedge.core.units import ns_to_datetime

    filled = 0
    if fill_forwards and len(chain):
        bad_fw = ~(np.isfinite(chain.forward) & (chain.forward > 0))
        if bad_fw.any():
            chain, filled = with_forwards(chain)
    n = len(chain)
    reason = np.full(n, -1, dtype=np.int64)

    def mark(code: int, mask: np.ndarray) -> None:
        reason[(reason < 0) & mask] = code

    K, F, T = chain.strike, chain.forward, chain.T
    mark(0, ~(np.isfinite(K) & (K > 0)))
    mark(1, ~(np.isfinite(T) & (T > min_T)))
    mark(2, ~(np.isfinite(F) & (F > 0)))
    dup = np.zeros(n, dtype=bool)
    if n:
        # keep the last occurrence of each instrument
        _, last_idx = np.unique(chain.instrument[::-1], return_index=True)
        keep = np.zeros(n, dtype=bool)
        keep[n - 1 - last_idx] = True
        dup = ~keep
    mark(3, dup)
    has_bid, has_ask = np.isfinite(chain.bid), np.isfinite(chain.ask)
    mark(4, has_bid & has_ask & (chain.bid > chain.ask))
    has_mark = np.isfinite(chain.mark)
    mark(5, ~has_bid & ~has_ask & ~has_mark)
    price = reference_price(chain)
    with np.errstate(invalid="ignore", divide="ignore"):
        intrinsic = np.maximum(chain.kind * (F - K), 0.0)
        upper = np.where(chain.kind == 1, F, K)
        if chain.inverse:
            intrinsic, upper = intrinsic / F, upper / F
        mark(6, np.isfinite(price) & (price < intrinsic - intrinsic_tol))
        mark(7, np.isfinite(price) & (price >= upper))
    dropped = {name: int(np.count_nonzero(reason == i)) for i, name in enumerate(REASONS)}
    examples = {
        name: tuple(str(x) for x in chain.instrument[reason == i][:3])
        for i, name in enumerate(REASONS)
        if dropped[name]
    }
    label = f"{chain.venue} {chain.underlying} {ns_to_datetime(chain.ts_ns):%Y-%m-%d %H:%M:%S} UTC"
    kept = chain.select(reason < 0)
    return kept, CleaningReport(label, n, len(kept), dropped, examples, filled)


__all__ = ["REASONS", "CleaningReport", "clean_chain"]

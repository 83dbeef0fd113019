"""Forwards per expiry: the venue's (listed future or synthetic) or implied by put-call parity.

Put-call parity with r = 0 (crypto default, DESIGN.md), for one strike ``K``:

- linear options (USD prices): ``C - P = F - K``, so ``F = K + (C - P)``;
- inverse options (coin prices ``C = C_usd / F``): ``C - P = (F - K) / F``, so
  ``F = K / (1 - (C - P))``.

The implied forward of an expiry is the median over the ``n_strikes`` strikes nearest the
money that have both a call and a put price (mark, else bid-ask mid). "Nearest the money"
is measured from the strike where ``|C - P|`` is smallest, as in the CBOE VIX white paper's
choice of the forward strike, so no forward is needed to start from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from deltahedge._typing import FloatArray
from deltahedge.marketdata.chain import OptionChain


def reference_price(chain: OptionChain) -> FloatArray:
    """Mark where present and positive, else the bid-ask mid where both exist, else NaN."""
    mid = 0.5 * (chain.bid + chain.ask)
    return np.where(np.isfinite(chain.mark) & (chain.mark > 0), chain.mark, mid)


def parity_forward_one(
    strike: FloatArray, call: FloatArray, put: FloatArray, inverse: bool, n_strikes: int = 3
) -> tuple[float, int]:
    """Forward implied by parity from aligned (strike, call price, put price) arrays.

    Returns
    -------
    (forward, n_used)
        NaN and 0 when no strike has both prices (or every implied value is invalid).
    """
    ok = np.isfinite(call) & np.isfinite(put) & np.isfinite(strike) & (strike > 0)
    if not ok.any():
        return float("nan"), 0
    K, diff = strike[ok], (call - put)[ok]
    atm = K[np.argmin(np.abs(diff) * (K if not inverse else 1.0))]
    nearest = np.argsort(np.abs(K - atm), kind="stable")[:n_strikes]
    with np.errstate(divide="ignore", invalid="ignore"):
        f = K[nearest] / (1.0 - diff[nearest]) if inverse else K[nearest] + diff[nearest]
    f = f[np.isfinite(f) & (f > 0)]
    if f.size == 0:
        return float("nan"), 0
    return float(np.median(f)), int(f.size)


@dataclass(frozen=True, eq=False)
class ExpiryForwards:
    """One forward per expiry of a chain.

    Attributes
    ----------
    expiry_ns : ndarray of int64
        Distinct expiries, ascending, UTC ns.
    forward : ndarray
        The chosen forward, USD (NaN if neither source has one).
    source : ndarray of str
        ``"venue"`` (the rows' own forward: listed future or synthetic), ``"parity"``,
        or ``"none"``.
    venue_forward, parity_forward : ndarray
        The two candidates, USD; the venue's is the median of the expiry's rows.
    n_pairs : ndarray of int
        Call-put pairs used by parity.
    """

    expiry_ns: npt.NDArray[np.int64]
    forward: FloatArray
    source: npt.NDArray[np.object_]
    venue_forward: FloatArray
    parity_forward: FloatArray
    n_pairs: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.expiry_ns)

    def lookup(self, expiry_ns: npt.ArrayLike) -> FloatArray:
        """Forward of each given expiry (NaN for an expiry not in the table)."""
        exp = np.asarray(expiry_ns, dtype=np.int64)
        idx = np.searchsorted(self.expiry_ns, exp)
        idx_c = np.clip(idx, 0, max(len(self) - 1, 0))
        hit = (idx < len(self)) & (self.expiry_ns[idx_c] == exp) if len(self) else idx < 0
        return np.where(hit, self.forward[idx_c] if len(self) else np.nan, np.nan)


def expiry_forwards(
    chain: OptionChain, *, prefer: str = "venue", n_strikes: int = 3
) -> ExpiryForwards:
    """Forward of each expiry of ``chain``, from the venue's rows or from parity.

    Parameters
    ----------
    chain : OptionChain
    prefer : {"venue", "parity"}
        Which source wins when both exist; the other fills the gaps.
    n_strikes : int
        Strikes nearest the money used by parity.

    Returns
    -------
    ExpiryForwards
    """
    if prefer not in ("venue", "parity"):
        from deltahedge.core.errors import InvalidInput

        raise InvalidInput(f"prefer={prefer!r}; allowed: 'venue', 'parity'")
    expiries = chain.expiries()
    price = reference_price(chain)
    venue = np.full(len(expiries), np.nan)
    parity = np.full(len(expiries), np.nan)
    pairs = np.zeros(len(expiries), dtype=np.int64)
    for j, e in enumerate(expiries):
        rows = chain.expiry_ns == e
        fw = chain.forward[rows]
        fw = fw[np.isfinite(fw) & (fw > 0)]
        if fw.size:
            venue[j] = np.median(fw)
        calls = rows & (chain.kind == 1)
        puts = rows & (chain.kind == -1)
        kc, kp = chain.strike[calls], chain.strike[puts]
        common, ic, ip = np.intersect1d(kc, kp, return_indices=True)
        parity[j], pairs[j] = parity_forward_one(
            common, price[calls][ic], price[puts][ip], chain.inverse, n_strikes
        )
    first, second = (venue, parity) if prefer == "venue" else (parity, venue)
    forward = np.where(np.isfinite(first), first, second)
    names = ("venue", "parity") if prefer == "venue" else ("parity", "venue")
    source = np.where(
        np.isfinite(first), names[0], np.where(np.isfinite(second), names[1], "none")
    ).astype(object)
    return ExpiryForwards(expiries, forward, source, venue, parity, pairs)


def with_forwards(
    chain: OptionChain, forwards: ExpiryForwards | None = None, *, only_missing: bool = True
) -> tuple[OptionChain, int]:
    """Fill each row's forward from its expiry's forward.

    Parameters
    ----------
    chain : OptionChain
    forwards : ExpiryForwards, optional
        Default ``expiry_forwards(chain)``.
    only_missing : bool
        True: replace only NaN / non-positive forwards; False: every row gets its
        expiry's single forward.

    Returns
    -------
    (chain, n_filled)
        The new chain and how many rows changed.
    """
    fw = forwards if forwards is not None else expiry_forwards(chain)
    per_row = fw.lookup(chain.expiry_ns)
    bad = ~(np.isfinite(chain.forward) & (chain.forward > 0))
    target = bad if only_missing else np.ones(len(chain), dtype=bool)
    target &= np.isfinite(per_row)
    if not target.any():
        return chain, 0
    new = np.where(target, per_row, chain.forward)
    return replace(chain, forward=new), int(np.count_nonzero(target & (new != chain.forward)))


__all__ = [
    "ExpiryForwards",
    "expiry_forwards",
    "parity_forward_one",
    "reference_price",
    "with_forwards",
]

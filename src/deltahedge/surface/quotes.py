"""Per-expiry quotes in implied-vol terms, ready for a smile fit, and what was left out.

A strike is *usable* when it has a mark IV and at least one row (call or put) with
both a bid and an ask IV: the fit and its error statistics use usable strikes only.
Missing bid/ask IVs are implied from the bid/ask prices with Black-76 on the row's
forward (``pricing.implied_vol_inverse`` for coin prices).

Rows the fit cannot use are counted, never dropped silently (``QuoteSelection.skipped``);
each is counted under the first reason that applies, in this order:

===============  ====================================================================
``bad_strike``   strike missing or <= 0
``expired``      ``T`` missing or <= 0
``no_forward``   forward missing or <= 0 (``fit_surface`` fills forwards from put-call
                 parity first; this counts the rows parity could not fill)
``no_mark_iv``   mark IV missing or <= 0
``one_sided``    no row at the strike (call or put) has both a bid and an ask IV, so
                 the strike has no bid-ask interval to fit inside
``few_strikes``  the expiry has fewer than ``min_strikes`` usable strikes
===============  ====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deltahedge._typing import FloatArray, IntArray
from deltahedge.marketdata.chain import OptionChain
from deltahedge.pricing import black76_risk, implied_vol, implied_vol_inverse

#: Smallest bid-ask spread (vol, decimals) used in weights: 0.2 vol point.
MIN_SPREAD = 0.002

#: Reasons a row is not used by the fit, in the order they are judged.
SKIP_REASONS: tuple[str, ...] = (
    "bad_strike",
    "expired",
    "no_forward",
    "no_mark_iv",
    "one_sided",
    "few_strikes",
)


@dataclass(frozen=True, eq=False)
class SliceQuotes:
    """Quotes of one expiry.

    Parameters
    ----------
    expiry_ns : int
        Expiry, UTC ns.
    T : float
        Years to expiry.
    forward : float
        Forward of the expiry, USD.
    strike, k, mark_iv, bid_iv, ask_iv, vega : ndarray
        One entry per usable strike, ascending: strike (USD), log-moneyness
        ``ln(K/F)``, mark IV, the tightest bid/ask IV interval quoted at the strike
        (the intersection of the call's and the put's when it is not empty), and the
        Black-76 vega at the mark (USD per 1.00 vol).
    row_k, row_bid_iv, row_ask_iv : ndarray
        Every row of the expiry with both quotes (calls and puts): for the share of
        fitted vols inside the bid-ask IV.
    """

    expiry_ns: int
    T: float
    forward: float
    strike: FloatArray
    k: FloatArray
    mark_iv: FloatArray
    bid_iv: FloatArray
    ask_iv: FloatArray
    vega: FloatArray
    row_k: FloatArray
    row_bid_iv: FloatArray
    row_ask_iv: FloatArray

    def __len__(self) -> int:
        return len(self.strike)


@dataclass(frozen=True, eq=False)
class QuoteSelection:
    """The usable quotes of a chain and the count of rows left out, per reason.

    Parameters
    ----------
    slices : list of SliceQuotes
        One per expiry with at least ``min_strikes`` usable strikes, ascending in ``T``.
    n_rows : int
        Rows of the chain.
    skipped : dict[str, int]
        Rows not used, per reason of ``SKIP_REASONS`` (every reason present, 0 if none).
    """

    slices: list[SliceQuotes]
    n_rows: int
    skipped: dict[str, int]

    @property
    def n_used(self) -> int:
        """Rows whose mark IV enters the fit."""
        return self.n_rows - sum(self.skipped.values())


def quote_ivs(chain: OptionChain) -> tuple[FloatArray, FloatArray]:
    """Bid and ask IVs of every row: the chain's own, implied from prices where missing."""
    bid_iv = np.array(chain.bid_iv, dtype=np.float64)
    ask_iv = np.array(chain.ask_iv, dtype=np.float64)
    need_b = ~np.isfinite(bid_iv) & np.isfinite(chain.bid) & (chain.bid > 0)
    need_a = ~np.isfinite(ask_iv) & np.isfinite(chain.ask) & (chain.ask > 0)
    with np.errstate(invalid="ignore"):
        # rows without a usable forward stay NaN here; they are counted as no_forward
        need_b &= chain.forward > 0
        need_a &= chain.forward > 0
    for need, price, out in ((need_b, chain.bid, bid_iv), (need_a, chain.ask, ask_iv)):
        if need.any():
            solve = implied_vol_inverse if chain.inverse else implied_vol
            out[need] = solve(
                price[need],
                chain.kind[need],
                chain.forward[need],
                chain.strike[need],
                chain.T[need],
            )
    return bid_iv, ask_iv


def _group_median(g: IntArray, v: FloatArray, n_groups: int) -> FloatArray:
    # Median of v within each group g (0 .. n_groups - 1, none empty): the middle of each
    # sorted group, or the mean of the two middle values, as np.median computes it.
    order = np.lexsort((v, g))
    sv = v[order]
    counts = np.bincount(g, minlength=n_groups)
    start = np.cumsum(counts) - counts
    return 0.5 * (sv[start + (counts - 1) // 2] + sv[start + counts // 2])


def usable_quotes(chain: OptionChain, min_strikes: int = 5) -> QuoteSelection:
    """Usable quotes per expiry and the rows left out, counted per reason (module docstring).

    Parameters
    ----------
    chain : OptionChain
        One underlying's snapshot.
    min_strikes : int
        Least number of usable strikes for an expiry to be fitted.

    Returns
    -------
    QuoteSelection
    """
    n = len(chain)
    bid_iv, ask_iv = quote_ivs(chain)
    with np.errstate(invalid="ignore"):
        two_sided = np.isfinite(bid_iv) & np.isfinite(ask_iv) & (ask_iv >= bid_iv)
        ok_K = np.isfinite(chain.strike) & (chain.strike > 0)
        ok_T = np.isfinite(chain.T) & (chain.T > 0)
        ok_F = np.isfinite(chain.forward) & (chain.forward > 0)
        ok_mark = np.isfinite(chain.mark_iv) & (chain.mark_iv > 0)
    reason = np.full(n, -1, dtype=np.int64)
    for code, bad in enumerate((~ok_K, ~ok_T, ~ok_F, ~ok_mark)):
        reason[(reason < 0) & bad] = code
    rows = np.flatnonzero(reason < 0)
    # group the rows by (expiry, strike): sorted by expiry, then strike, then row
    order = np.lexsort((rows, chain.strike[rows], chain.expiry_ns[rows]))
    srows = rows[order]
    e_s, k_s = chain.expiry_ns[srows], chain.strike[srows]
    new = np.ones(srows.size, dtype=bool)
    new[1:] = (e_s[1:] != e_s[:-1]) | (k_s[1:] != k_s[:-1])
    grp = np.cumsum(new) - 1
    n_grp = int(grp[-1]) + 1 if srows.size else 0
    mark = _group_median(grp, chain.mark_iv[srows], n_grp)
    # tightest interval per strike: the highest bid and lowest ask of its two-sided rows
    ts = two_sided[srows]
    lo = np.full(n_grp, -np.inf)
    hi = np.full(n_grp, np.inf)
    np.maximum.at(lo, grp[ts], bid_iv[srows[ts]])
    np.minimum.at(hi, grp[ts], ask_iv[srows[ts]])
    quoted = np.zeros(n_grp, dtype=bool)
    quoted[grp[ts]] = True
    for j in np.flatnonzero(quoted & (lo > hi)):
        # call and put intervals do not overlap: keep the tighter one (first on ties)
        q = srows[(grp == j) & ts]
        t = q[np.argmin(ask_iv[q] - bid_iv[q])]
        lo[j], hi[j] = bid_iv[t], ask_iv[t]
    reason[srows[~quoted[grp]]] = 4
    g_first = np.flatnonzero(new)
    g_exp = e_s[g_first]
    g_strike = k_s[g_first]
    out = []
    for e in np.unique(g_exp):
        gs = np.flatnonzero((g_exp == e) & quoted)
        rows_e = rows[chain.expiry_ns[rows] == e]  # ascending row order
        if gs.size < min_strikes:
            reason[rows_e[reason[rows_e] < 0]] = 5
            continue
        F = float(np.median(chain.forward[rows_e]))
        T = float(np.median(chain.T[rows_e]))
        K = g_strike[gs]
        qrows = rows_e[two_sided[rows_e]]
        out.append(
            SliceQuotes(
                expiry_ns=int(e),
                T=T,
                forward=F,
                strike=K,
                k=np.log(K / F),
                mark_iv=mark[gs],
                bid_iv=lo[gs],
                ask_iv=hi[gs],
                vega=black76_risk(1, F, K, T, mark[gs]).vega,
                row_k=np.log(chain.strike[qrows] / F),
                row_bid_iv=bid_iv[qrows],
                row_ask_iv=ask_iv[qrows],
            )
        )
    skipped = {name: int(np.count_nonzero(reason == i)) for i, name in enumerate(SKIP_REASONS)}
    return QuoteSelection(out, n, skipped)


def slice_quotes(chain: OptionChain, min_strikes: int = 5) -> list[SliceQuotes]:
    """Usable quotes per expiry, ascending in T (``usable_quotes(...).slices``).

    Expiries with fewer than ``min_strikes`` usable strikes are left out; the rows left
    out, with the reason, are counted by :func:`usable_quotes`.

    Parameters
    ----------
    chain : OptionChain
        One underlying's snapshot.
    min_strikes : int
        Least number of usable strikes for an expiry to be fitted.
    """
    return usable_quotes(chain, min_strikes).slices


__all__ = [
    "MIN_SPREAD",
    "SKIP_REASONS",
    "QuoteSelection",
    "SliceQuotes",
    "quote_ivs",
    "slice_quotes",
    "usable_quotes",
]

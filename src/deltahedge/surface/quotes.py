"""Per-expiry quotes in implied-vol terms, ready for a smile fit.

A strike is *usable* when it has a mark IV and at least one row (call or put) with
both a bid and an ask IV: the fit and its error statistics use usable strikes only.
Missing bid/ask IVs are implied from the bid/ask prices with Black-76 on the row's
forward (``pricing.implied_vol_inverse`` for coin prices).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.marketdata.chain import OptionChain
from deltahedge.pricing import black76_risk, implied_vol, implied_vol_inverse

#: Smallest bid-ask spread (vol, decimals) used in weights: 0.2 vol point.
MIN_SPREAD = 0.002


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


def quote_ivs(chain: OptionChain) -> tuple[FloatArray, FloatArray]:
    """Bid and ask IVs of every row: the chain's own, implied from prices where missing."""
    bid_iv = np.array(chain.bid_iv, dtype=np.float64)
    ask_iv = np.array(chain.ask_iv, dtype=np.float64)
    need_b = ~np.isfinite(bid_iv) & np.isfinite(chain.bid) & (chain.bid > 0)
    need_a = ~np.isfinite(ask_iv) & np.isfinite(chain.ask) & (chain.ask > 0)
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


def slice_quotes(chain: OptionChain, min_strikes: int = 5) -> list[SliceQuotes]:
    """Usable quotes per expiry, ascending in T; expiries with fewer than ``min_strikes`` usable strikes are left out.

    Parameters
    ----------
    chain : OptionChain
        One underlying's snapshot.
    min_strikes : int
        Least number of usable strikes for an expiry to be fitted.
    """
    bid_iv, ask_iv = quote_ivs(chain)
    two_sided = np.isfinite(bid_iv) & np.isfinite(ask_iv) & (ask_iv >= bid_iv)
    base = np.isfinite(chain.mark_iv) & (chain.mark_iv > 0) & (chain.T > 0) & (chain.forward > 0)
    out = []
    for e in chain.expiries():
        rows = np.flatnonzero(base & (chain.expiry_ns == e))
        if rows.size == 0:
            continue
        F = float(np.median(chain.forward[rows]))
        T = float(np.median(chain.T[rows]))
        strikes, inv = np.unique(chain.strike[rows], return_inverse=True)
        mark = np.full(len(strikes), np.nan)
        lo = np.full(len(strikes), np.nan)
        hi = np.full(len(strikes), np.nan)
        for j in range(len(strikes)):
            r = rows[inv == j]
            mark[j] = float(np.median(chain.mark_iv[r]))
            q = r[two_sided[r]]
            if q.size == 0:
                continue
            b, a = bid_iv[q].max(), ask_iv[q].min()
            if b > a:  # call and put intervals do not overlap: keep the tighter one
                t = q[np.argmin(ask_iv[q] - bid_iv[q])]
                b, a = bid_iv[t], ask_iv[t]
            lo[j], hi[j] = b, a
        use = np.isfinite(lo)
        if use.sum() < min_strikes:
            continue
        K = strikes[use]
        qrows = rows[two_sided[rows]]
        out.append(
            SliceQuotes(
                expiry_ns=int(e),
                T=T,
                forward=F,
                strike=K,
                k=np.log(K / F),
                mark_iv=mark[use],
                bid_iv=lo[use],
                ask_iv=hi[use],
                vega=black76_risk(1, F, K, T, mark[use]).vega,
                row_k=np.log(chain.strike[qrows] / F),
                row_bid_iv=bid_iv[qrows],
                row_ask_iv=ask_iv[qrows],
            )
        )
    return out


__all__ = ["MIN_SPREAD", "SliceQuotes", "quote_ivs", "slice_quotes"]

"""IV and Greeks of every option of a chain, recomputed and set against the venue's own.

For each row: the implied vol of the mark price (``implied_vol_inverse`` for inverse
chains, ``implied_vol`` for linear ones), then at that vol the Black-76 Greeks (r = 0):
the venue-style delta ``phi N(phi d1)``, the premium-adjusted delta ``delta - price_coin``
(inverse options; equal to delta for linear ones), gamma per USD, vega per vol point in
USD (``F n(d1) sqrt(T) / 100``) and theta per day in USD (``-F n(d1) sigma / (2 sqrt T)
/ 365``), Deribit's presentation units. Differences are recomputed minus venue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from deltahedge._typing import FloatArray
from deltahedge.core.units import ns_to_datetime
from deltahedge.marketdata.chain import OptionChain
from deltahedge.pricing import black76, implied_vol_status, inverse_black76

#: Difference columns summarised by :func:`difference_summary`, with their units.
DIFF_COLUMNS: dict[str, str] = {
    "diff_iv": "vol points (%)",
    "diff_iv_conditioned": "vol points (%)",
    "diff_delta": "delta",
    "diff_gamma": "per USD",
    "diff_vega": "USD per 1%",
    "diff_theta": "USD per day",
}


#: Vega per vol point, as a share of the forward, above which an IV is "well conditioned".
WELL_CONDITIONED_VEGA = 1e-3


@dataclass(frozen=True, eq=False)
class ChainGreeks:
    """Recomputed IV and Greeks of a chain's rows (all arrays of length ``len(chain)``).

    Attributes
    ----------
    chain : OptionChain
        The rows these belong to.
    iv : ndarray
        IV of the mark price, decimal; NaN where there is none (see ``iv_status``).
    iv_status : ndarray of int8
        ``deltahedge.pricing.IVStatus`` codes.
    price_usd : ndarray
        Mark in USD.
    delta, delta_premium_adjusted : ndarray
        ``phi N(phi d1)`` and ``delta - price_coin`` (coin per coin of underlying).
    gamma : ndarray
        Per USD of the forward.
    vega_1pct, theta_day : ndarray
        USD per vol point and USD per day.
    diff_iv : ndarray
        ``(iv - mark_iv) * 100``, vol points.
    diff_delta, diff_gamma, diff_vega, diff_theta : ndarray
        Recomputed minus the venue's column (NaN where the venue has none).
    """

    chain: OptionChain
    iv: FloatArray
    iv_status: npt.NDArray[np.int8]
    price_usd: FloatArray
    delta: FloatArray
    delta_premium_adjusted: FloatArray
    gamma: FloatArray
    vega_1pct: FloatArray
    theta_day: FloatArray
    diff_iv: FloatArray
    diff_delta: FloatArray
    diff_gamma: FloatArray
    diff_vega: FloatArray
    diff_theta: FloatArray

    @property
    def diff_iv_conditioned(self) -> FloatArray:
        """``diff_iv`` where one vol point moves the price by >= 0.1% of the forward
        (10 ticks of 0.0001 coin), NaN elsewhere: the rows whose IV the mark pins down."""
        ok = self.vega_1pct >= WELL_CONDITIONED_VEGA * self.chain.forward
        return np.where(ok, self.diff_iv, np.nan)

    def to_frame(self) -> pd.DataFrame:
        """One row per option: identity, inputs, recomputed values, venue values, diffs."""
        c = self.chain
        return pd.DataFrame(
            {
                "timestamp": ns_to_datetime(c.ts_ns).isoformat(),
                "underlying": c.underlying,
                "instrument": c.instrument,
                "kind": np.where(c.kind == 1, "call", "put"),
                "strike": c.strike,
                "expiry": pd.to_datetime(c.expiry_ns, utc=True).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "T": c.T,
                "forward": c.forward,
                "mark": c.mark,
                "mark_usd": self.price_usd,
                "iv": self.iv,
                "venue_iv": c.mark_iv,
                "delta": self.delta,
                "delta_premium_adjusted": self.delta_premium_adjusted,
                "gamma": self.gamma,
                "vega_1pct_usd": self.vega_1pct,
                "theta_day_usd": self.theta_day,
                "venue_delta": c.venue_delta,
                "venue_gamma": c.venue_gamma,
                "venue_vega": c.venue_vega,
                "venue_theta": c.venue_theta,
                **{
                    name: getattr(self, name)
                    for name in DIFF_COLUMNS
                    if name != "diff_iv_conditioned"
                },
                "iv_status": self.iv_status,
            }
        )


def chain_greeks(chain: OptionChain) -> ChainGreeks:
    """Recompute IV from the mark and the Black-76 Greeks of every row of ``chain``.

    Parameters
    ----------
    chain : OptionChain
        Prices in coin if ``chain.inverse`` else USD; forward, strike in USD; T in years.

    Returns
    -------
    ChainGreeks
    """
    F, K, T, kind = chain.forward, chain.strike, chain.T, chain.kind
    price_usd = chain.to_usd(chain.mark)
    iv, status = implied_vol_status(price_usd, kind, F, K, T)
    if chain.inverse:
        g = inverse_black76(kind, F, K, T, iv)
        delta, delta_pa = g.delta, g.delta_premium_adjusted
        gamma, vega, theta = g.gamma_usd, g.vega_usd, g.theta_usd
    else:
        b = black76(kind, F, K, T, iv)
        delta, delta_pa, gamma, vega, theta = b.delta, b.delta, b.gamma, b.vega, b.theta
    vega_1pct = vega / 100.0
    theta_day = theta / 365.0
    return ChainGreeks(
        chain=chain,
        iv=iv,
        iv_status=status,
        price_usd=price_usd,
        delta=delta,
        delta_premium_adjusted=delta_pa,
        gamma=gamma,
        vega_1pct=vega_1pct,
        theta_day=theta_day,
        diff_iv=(iv - chain.mark_iv) * 100.0,
        diff_delta=delta - chain.venue_delta,
        diff_gamma=gamma - chain.venue_gamma,
        diff_vega=vega_1pct - chain.venue_vega,
        diff_theta=theta_day - chain.venue_theta,
    )


_LABELS = {"diff_iv_conditioned": "iv (vega/F >= 0.1%)"}


def with_quote_ivs(chain: OptionChain, *, overwrite: bool = False) -> OptionChain:
    """Fill ``bid_iv`` / ``ask_iv`` with the implied vols of the bid and ask prices.

    Parameters
    ----------
    chain : OptionChain
    overwrite : bool
        False: only where the venue gave none (NaN); True: recompute every row.

    Returns
    -------
    OptionChain
        A copy; a quote with no IV (below intrinsic, above the bound) stays NaN.
    """
    from dataclasses import replace

    def solve(price: FloatArray, have: FloatArray) -> FloatArray:
        iv, _ = implied_vol_status(
            chain.to_usd(price), chain.kind, chain.forward, chain.strike, chain.T
        )
        return iv if overwrite else np.where(np.isfinite(have), have, iv)

    return replace(
        chain, bid_iv=solve(chain.bid, chain.bid_iv), ask_iv=solve(chain.ask, chain.ask_iv)
    )


@dataclass(frozen=True)
class DifferenceSummary:
    """Median, 99th percentile and max of |recomputed - venue| per quantity.

    ``rows`` maps a diff column name to ``(n, median, p99, max)``; ``n`` counts the rows
    where both values exist.
    """

    label: str
    rows: dict[str, tuple[int, float, float, float]]

    def __rich__(self) -> object:
        from rich.table import Table

        table = Table(title=f"Recomputed vs venue: {self.label}", title_justify="left")
        for col, just in (
            ("quantity", "left"),
            ("unit", "left"),
            ("n", "right"),
            ("median |diff|", "right"),
            ("p99 |diff|", "right"),
            ("max |diff|", "right"),
        ):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for name, (n, med, p99, mx) in self.rows.items():
            table.add_row(
                _LABELS.get(name, name.removeprefix("diff_")),
                DIFF_COLUMNS[name],
                str(n),
                *(f"{x:.3g}" if n else "-" for x in (med, p99, mx)),
            )
        return table


def difference_summary(
    greeks: list[ChainGreeks] | ChainGreeks, label: str = ""
) -> DifferenceSummary:
    """Summarise |differences| over one or more chains (NaNs left out)."""
    items = greeks if isinstance(greeks, list) else [greeks]
    rows: dict[str, tuple[int, float, float, float]] = {}
    for name in DIFF_COLUMNS:
        vals = np.abs(np.concatenate([getattr(g, name) for g in items])) if items else np.array([])
        vals = vals[np.isfinite(vals)]
        if vals.size:
            rows[name] = (
                int(vals.size),
                float(np.median(vals)),
                float(np.percentile(vals, 99)),
                float(vals.max()),
            )
        else:
            rows[name] = (0, float("nan"), float("nan"), float("nan"))
    return DifferenceSummary(label, rows)


__all__ = [
    "DIFF_COLUMNS",
    "WELL_CONDITIONED_VEGA",
    "ChainGreeks",
    "DifferenceSummary",
    "chain_greeks",
    "difference_summary",
    "with_quote_ivs",
]

"""Inputs and outputs of the hedge simulator: the option book, trading costs, results.

Frozen dataclasses; the simulator turns them into the float arrays its kernel reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.core.errors import InvalidInput

__all__ = ["DEMO_SURFACE", "Book", "Costs", "SimResult", "demo_surface"]

#: The embedded BTC surface (SVI, Deribit 2026-01-05 09:25 UTC, 11 to 172 days).
DEMO_SURFACE = "demo_surface_btc.json"


def demo_surface() -> Any:
    """The embedded demo surface, a ``deltahedge.surface.Surface``."""
    from importlib.resources import files

    from deltahedge.surface import Surface

    text = (files("deltahedge") / "data" / DEMO_SURFACE).read_text(encoding="utf-8")
    return Surface.from_json(text)


@dataclass(frozen=True)
class Book:
    """Option legs of a linear (USD-settled) book.

    Parameters
    ----------
    cp : array
        +1 call, -1 put, per leg.
    strike : array
        USD.
    expiry : array
        Years from the start of the simulation.
    qty : array
        Signed coin amount per leg (short < 0).
    vol : array
        Each leg's implied vol at the start (decimal): marks and Black-76 deltas use it.
    svi : array or None
        Optional raw SVI ``(a, b, rho, m, s, T_slice)`` per leg (total variance
        ``a + b (rho (k - m) + sqrt((k - m)^2 + s^2))`` at the slice's maturity
        ``T_slice``, k = ln(K/F)); when given, the legs are marked sticky-moneyness.
    """

    cp: FloatArray
    strike: FloatArray
    expiry: FloatArray
    qty: FloatArray
    vol: FloatArray
    svi: FloatArray | None = None

    def __post_init__(self) -> None:
        n = len(self.cp)
        for name in ("strike", "expiry", "qty", "vol"):
            if len(getattr(self, name)) != n:
                raise InvalidInput(f"Book.{name} has {len(getattr(self, name))} legs, cp has {n}")
        if np.any(np.abs(np.asarray(self.cp)) != 1.0):
            raise InvalidInput(f"Book.cp must be +1 (call) or -1 (put), got {self.cp}")
        if np.any(np.asarray(self.strike) <= 0) or np.any(np.asarray(self.vol) <= 0):
            raise InvalidInput("Book strikes and vols must be > 0")
        if self.svi is not None and np.shape(self.svi) != (n, 6):
            raise InvalidInput(f"Book.svi must have shape ({n}, 6), got {np.shape(self.svi)}")

    @classmethod
    def straddle(cls, f0: float, expiry: float, vol: float, qty: float = -1.0) -> Book:
        """A straddle at strike ``f0`` (short by default), ``qty`` coin per leg."""
        return cls(
            np.array([1.0, -1.0]),
            np.array([f0, f0]),
            np.array([expiry, expiry]),
            np.array([qty, qty]),
            np.array([vol, vol]),
        )

    @classmethod
    def put_strip(
        cls, f0: float, expiry: float, vol: float, moneyness: FloatArray, qty: float = -1.0
    ) -> Book:
        """Puts at strikes ``f0 * moneyness`` (short by default)."""
        m = np.asarray(moneyness, dtype=np.float64)
        n = len(m)
        return cls(-np.ones(n), f0 * m, np.full(n, expiry), np.full(n, qty), np.full(n, vol))

    @classmethod
    def from_csv(cls, path: str | Path) -> Book:
        """A positions file: CSV with header ``kind,strike,expiry_days,qty,vol``.

        ``kind`` is ``call``/``put`` (or ``C``/``P``), ``strike`` USD, ``expiry_days`` from
        the start of the backtest, ``qty`` signed coin, ``vol`` decimal implied vol.
        """
        import csv

        from deltahedge.core.enums import parse_kind

        rows = list(csv.DictReader(Path(path).read_text().splitlines()))
        need = {"kind", "strike", "expiry_days", "qty", "vol"}
        if not rows or not need <= set(rows[0]):
            raise InvalidInput(f"{path}: need a header with columns {sorted(need)}")
        try:
            cp = [float(int(parse_kind(r["kind"]))) for r in rows]
            cols = [[float(r[c]) for r in rows] for c in ("strike", "expiry_days", "qty", "vol")]
        except (ValueError, KeyError) as exc:
            raise InvalidInput(f"{path}: bad value ({exc})") from None
        strike, days, qty, vol = (np.array(c) for c in cols)
        return cls(np.array(cp), strike, days / 365.0, qty, vol)

    def on_surface(self, surface: Any, f0: float) -> Book:
        """The same legs marked sticky-moneyness on a fitted surface.

        Each leg gets the raw SVI slice of ``surface`` (a ``deltahedge.surface.Surface``)
        whose maturity is nearest its expiry; its vol at the start is that slice's vol at
        ``k = ln(K / f0)``, and along a path the vol at ``ln(K / F)`` (the smile moves with
        the price). ``f0`` is the price at the start, USD.
        """
        t_slices = np.asarray(surface.T, dtype=np.float64)
        params = np.asarray(surface.params, dtype=np.float64)
        idx = np.abs(np.asarray(self.expiry)[:, None] - t_slices[None, :]).argmin(axis=1)
        svi = np.column_stack([params[idx], t_slices[idx]])
        a, b, rho, m, s, ts = svi.T
        km = np.log(np.asarray(self.strike) / f0) - m
        vol = np.sqrt(np.maximum(a + b * (rho * km + np.sqrt(km * km + s * s)), 1e-12) / ts)
        return Book(self.cp, self.strike, self.expiry, self.qty, vol, svi)

    def arrays(self) -> tuple[FloatArray, ...]:
        """The legs as contiguous float64 arrays (cp, strike, expiry, qty, vol, svi)."""
        svi = np.zeros((len(self.cp), 6)) if self.svi is None else np.asarray(self.svi, float)
        return tuple(
            np.ascontiguousarray(x, dtype=np.float64)
            for x in (self.cp, self.strike, self.expiry, self.qty, self.vol, svi)
        )


@dataclass(frozen=True)
class Costs:
    """Trading costs of the hedge leg.

    Parameters
    ----------
    taker_fee, maker_fee : float
        Fee rates on notional (0.0005 = 5 bp).
    maker : bool
        Fill passively: maker fee and no half-spread.
    half_spread : float
        Half the bid-ask spread as a fraction of price.
    impact : float
        Square-root impact coefficient: cost ``impact * notional * sqrt(|q| / impact_size)``.
    impact_size : float
        Coin size at which the impact is ``impact`` of notional.
    funding_rate : float
        Perp funding per year paid by longs (0 for a spot hedge).
    lot : float
        Hedge size increment in coin (0: continuous).
    latency : int
        Steps between decision and fill.
    l2_offsets, l2_sizes : arrays
        Optional depth profile of the asks: price offsets from mid (fractions, ascending)
        and the coin size at each level; when given, orders walk it instead of the
        square-root impact.
    l2_bid_offsets, l2_bid_sizes : arrays
        The bids' profile, walked by sells (empty: sells walk ``l2_offsets`` too).
    """

    taker_fee: float = 0.0
    maker_fee: float = 0.0
    maker: bool = False
    half_spread: float = 0.0
    impact: float = 0.0
    impact_size: float = 1.0
    funding_rate: float = 0.0
    lot: float = 0.0
    latency: int = 0
    l2_offsets: FloatArray = field(default_factory=lambda: np.zeros(0))
    l2_sizes: FloatArray = field(default_factory=lambda: np.zeros(0))
    l2_bid_offsets: FloatArray = field(default_factory=lambda: np.zeros(0))
    l2_bid_sizes: FloatArray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        vals = (self.taker_fee, self.maker_fee, self.half_spread, self.impact, self.lot)
        if any(v < 0 for v in vals) or self.latency < 0 or self.impact_size <= 0:
            raise InvalidInput(f"costs must be >= 0 and impact_size > 0: {self}")
        if len(self.l2_offsets) != len(self.l2_sizes):
            raise InvalidInput("l2_offsets and l2_sizes must have the same length")
        if len(self.l2_bid_offsets) != len(self.l2_bid_sizes):
            raise InvalidInput("l2_bid_offsets and l2_bid_sizes must have the same length")
        if len(self.l2_bid_offsets) and not len(self.l2_offsets):
            raise InvalidInput("a bid profile needs an ask profile (l2_offsets) too")

    def as_array(self) -> FloatArray:
        """[fee, half_spread, impact, impact_size, funding, lot, latency] for the kernel."""
        fee = self.maker_fee if self.maker else self.taker_fee
        hs = 0.0 if self.maker else self.half_spread
        return np.array(
            [fee, hs, self.impact, self.impact_size, self.funding_rate, self.lot, self.latency],
            dtype=np.float64,
        )


@dataclass(frozen=True)
class SimResult:
    """Per-path outcomes (arrays of length n_paths, USD unless said) and summaries."""

    pnl: FloatArray
    cost: FloatArray
    funding: FloatArray
    trades: FloatArray
    turnover: FloatArray  #: USD notional traded
    max_drawdown: FloatArray
    step_std: FloatArray  #: std of the per-decision-step PnL changes

    @property
    def mean(self) -> float:
        return float(self.pnl.mean())

    @property
    def std(self) -> float:
        """Hedging error: std of the final PnL across paths (USD)."""
        return float(self.pnl.std(ddof=1))

    def cvar(self, level: float) -> float:
        """Expected loss (USD, positive = loss) in the worst ``1 - level`` of paths."""
        loss = np.sort(-self.pnl)
        n_tail = max(1, math.ceil((1.0 - level) * len(loss)))
        return float(loss[-n_tail:].mean())

    def summary(self) -> dict[str, float]:
        """Means and tail measures across paths, as plain floats."""
        return {
            "paths": float(len(self.pnl)),
            "mean_pnl": self.mean,
            "std_pnl": self.std,
            "se_mean": self.std / math.sqrt(len(self.pnl)),
            "cvar95": self.cvar(0.95),
            "cvar99": self.cvar(0.99),
            "mean_cost": float(self.cost.mean()),
            "mean_funding": float(self.funding.mean()),
            "mean_trades": float(self.trades.mean()),
            "mean_turnover": float(self.turnover.mean()),
            "mean_max_drawdown": float(self.max_drawdown.mean()),
        }


def l2_rows(costs: Costs) -> FloatArray:
    """Ask offsets, ask sizes, bid offsets, bid sizes as the rows of one array.

    Without a bid profile sells walk the asks. The shorter side is padded with its last
    offset and zero size (the walk then charges any rest at that last offset, as before).
    """
    asks = np.asarray(costs.l2_offsets, float), np.asarray(costs.l2_sizes, float)
    bids = (
        (np.asarray(costs.l2_bid_offsets, float), np.asarray(costs.l2_bid_sizes, float))
        if len(costs.l2_bid_offsets)
        else asks
    )
    n = max(len(asks[0]), len(bids[0]))
    out = np.zeros((4, n))
    for r, (off, size) in enumerate((asks, bids)):
        if n:
            out[2 * r] = off[-1]
        out[2 * r, : len(off)] = off
        out[2 * r + 1, : len(size)] = size
    return out


def expiry_slots(expiry: FloatArray) -> tuple[np.ndarray, FloatArray]:
    """Each leg's index into the sorted distinct expiries, and those expiries (years)."""
    exps, slot = np.unique(expiry, return_inverse=True)
    return slot.astype(np.int64), exps.astype(np.float64)

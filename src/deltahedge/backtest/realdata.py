"""Backtests on real market data.

* ``deribit_replay``: real listed BTC options marked at Deribit's marks (coin price x
  the option's forward = USD) at each of the snapshots in ``deribit_chain_2026``,
  hedged with BTC-PERPETUAL at its mark (``perpetual_futures_prices.csv``). The hedge
  is treated as a linear coin position (USD PnL ``h dP``); the inverse perp's extra
  convexity over 6 days is second order. Two measurements:

  - *delta-model error*: for every option of the chosen expiries quoted in two
    consecutive snapshots, the USD PnL of long 1 coin of it, delta-hedged at the start of
    the interval: ``dV - delta dP``; its std across (option, interval) per delta model
    (``BLACK76`` at the option's inception IV, ``MARK_IV`` Black-76 at the current mark
    IV = Deribit's delta, ``SMILE`` sticky-moneyness on an SVI fit of the slice).
  - *policy frontier*: a short ATM straddle plus short 85-95% puts, hedged at the
    snapshots under each policy grid; error = std of the interval hedged PnL.

* ``bitstamp_windows``: the Bitstamp 1-minute closes cut into overlapping windows, each
  rescaled to start at the same price (everything here is homogeneous in price), for the
  compiled simulator with options on an SVI smile fitted to a real Deribit slice.

* ``l2_profile``: the Binance BTCUSDT REST depth snapshot as (offset, size) levels.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.backtest.policies import NO_TRADE, Policy, decide_reference
from deltahedge.core.errors import DataError

__all__ = [
    "DeribitReplay",
    "bitstamp_windows",
    "delta_model_errors",
    "deribit_replay",
    "fit_svi_slice",
    "l2_profile",
    "load_bitstamp_closes",
    "panel_deltas",
    "replay_policy",
]

_SQRT1_2 = 1.0 / math.sqrt(2.0)


def _ncdf(x: FloatArray) -> FloatArray:
    from scipy.special import ndtr

    return ndtr(x)


def _b76_delta_vega(cp: FloatArray, f: FloatArray, k: FloatArray, t: FloatArray, s: FloatArray):
    sq = s * np.sqrt(t)
    d1 = (np.log(f / k) + 0.5 * sq * sq) / sq
    delta = np.where(cp > 0, _ncdf(d1), _ncdf(d1) - 1.0)
    vega = f * np.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi) * np.sqrt(t)
    return delta, vega


def fit_svi_slice(k: FloatArray, iv: FloatArray, t: float) -> tuple[float, ...]:
    """Raw SVI ``(a, b, rho, m, s)`` fitted to one slice's mark IVs (``surface.calibrate_svi``)."""
    from deltahedge.surface.svi import calibrate_svi

    p = calibrate_svi(np.asarray(k), np.asarray(iv) ** 2 * t)
    return p.as_tuple()


def _svi_dvol_dk(p: tuple[float, ...], k: FloatArray, t: float) -> tuple[FloatArray, FloatArray]:
    a, b, rho, m, s = p
    km = k - m
    r = np.sqrt(km * km + s * s)
    w = np.maximum(a + b * (rho * km + r), 1e-12)
    vol = np.sqrt(w / t)
    return vol, b * (rho + km / r) / (2 * vol * t)


@dataclass(frozen=True)
class DeribitReplay:
    """Aligned panel of the snapshots: rows = options, columns = snapshots.

    ``mark_usd``, ``iv``, ``forward``, ``T`` have shape (n_options, n_snapshots), NaN
    where the option is not quoted; ``perp`` the perp mark per snapshot (USD);
    ``names``, ``cp``, ``strike`` describe the options; ``times`` the snapshot times
    (UTC ns).
    """

    names: np.ndarray
    cp: FloatArray
    strike: FloatArray
    expiry_ns: np.ndarray
    times: np.ndarray
    perp: FloatArray
    mark_usd: FloatArray
    iv: FloatArray
    forward: FloatArray
    T: FloatArray


def deribit_replay(folder: str | Path, underlying: str = "BTC") -> DeribitReplay:
    """Load every snapshot of ``deribit_chain_2026`` into one aligned panel."""
    import pandas as pd

    from deltahedge.marketdata.load import load_chain

    folder = Path(folder)
    files = sorted(folder.glob("deribit_options_snapshot_*.csv"))
    if not files:
        raise DataError(f"{folder}: no deribit_options_snapshot_*.csv files")
    perp_file = folder / "perpetual_futures_prices.csv"
    perps = pd.read_csv(perp_file)
    perps = perps[perps["coin"] == underlying].set_index("snapshot_file")
    chains = [load_chain(f, underlying=underlying) for f in files]
    names = sorted({n for c in chains for n in c.instrument})
    idx = {n: i for i, n in enumerate(names)}
    shape = (len(names), len(chains))
    mark, iv, fwd, tt = (np.full(shape, np.nan) for _ in range(4))
    cp = np.zeros(len(names))
    strike = np.zeros(len(names))
    expiry = np.zeros(len(names), dtype=np.int64)
    perp = np.zeros(len(chains))
    for j, (f, c) in enumerate(zip(files, chains, strict=True)):
        if f.name not in perps.index:
            raise DataError(f"{perp_file}: no {underlying} perp mark for snapshot {f.name}")
        perp[j] = float(perps.loc[f.name, "perp_futures_mark_price"])
        rows = np.array([idx[n] for n in c.instrument])
        mark[rows, j] = c.mark * c.forward if c.inverse else c.mark
        iv[rows, j] = c.mark_iv
        fwd[rows, j] = c.forward
        tt[rows, j] = c.T
        cp[rows] = c.kind
        strike[rows] = c.strike
        expiry[rows] = c.expiry_ns
    return DeribitReplay(
        np.array(names, dtype=object),
        cp,
        strike,
        expiry,
        np.array([c.ts_ns for c in chains]),
        perp,
        mark,
        iv,
        fwd,
        tt,
    )


def panel_deltas(rp: DeribitReplay, model: str) -> FloatArray:
    """Deltas (per coin of the option) of every option at every snapshot, by delta model.

    ``BLACK76``: Black-76 at the option's first quoted IV (sticky strike);
    ``MARK_IV``: Black-76 at the current mark IV (Deribit's own delta);
    ``SMILE``: sticky moneyness, ``delta(mark IV) - vega/F dsigma/dk`` with ``dsigma/dk``
    from an SVI fit of the option's expiry slice at that snapshot.
    """
    f, t = rp.forward, rp.T
    cp = rp.cp[:, None] * np.ones_like(f)
    k = rp.strike[:, None] * np.ones_like(f)
    if model == "BLACK76":
        first = np.argmax(np.isfinite(rp.iv), axis=1)
        s0 = rp.iv[np.arange(len(first)), first][:, None] * np.ones_like(f)
        return _b76_delta_vega(cp, f, k, t, s0)[0]
    delta, vega = _b76_delta_vega(cp, f, k, t, rp.iv)
    if model == "MARK_IV":
        return delta
    if model != "SMILE":
        raise DataError(f"delta model {model!r} unknown; allowed: BLACK76, MARK_IV, SMILE")
    out = delta.copy()
    for j in range(f.shape[1]):
        for e in np.unique(rp.expiry_ns):
            rows = np.where((rp.expiry_ns == e) & np.isfinite(rp.iv[:, j]))[0]
            if len(rows) < 8 or np.nanmin(t[rows, j]) < 2 / 365:
                continue
            kk = np.log(rp.strike[rows] / f[rows, j])
            sel = np.abs(kk) < 0.5
            if sel.sum() < 6:
                continue
            tj = float(np.median(t[rows, j]))
            p = fit_svi_slice(kk[sel], rp.iv[rows, j][sel], tj)
            _, dsdk = _svi_dvol_dk(p, kk, tj)
            out[rows, j] = delta[rows, j] - vega[rows, j] * dsdk / f[rows, j]
    return out


def delta_model_errors(
    rp: DeribitReplay,
    models: tuple[str, ...] = ("BLACK76", "MARK_IV", "SMILE"),
    min_days: float = 7.0,
    max_days: float = 120.0,
) -> dict[str, float]:
    """Std (USD per coin) of one-interval delta-hedged PnL, per delta model.

    Uses options with 0.05 < |delta| < 0.95 at the interval's start and ``min_days`` to
    ``max_days`` to expiry, quoted at both ends of the interval.
    """
    dv = rp.mark_usd[:, 1:] - rp.mark_usd[:, :-1]
    dp = rp.perp[1:] - rp.perp[:-1]
    ref = panel_deltas(rp, "MARK_IV")[:, :-1]
    days = rp.T[:, :-1] * 365
    ok = np.isfinite(dv) & (np.abs(ref) > 0.05) & (np.abs(ref) < 0.95)
    ok &= (days > min_days) & (days < max_days)
    out: dict[str, float] = {"n": float(ok.sum())}
    for m in models:
        d = panel_deltas(rp, m)[:, :-1]
        err = (dv - d * dp[None, :])[ok & np.isfinite(d)]
        out[m] = float(err.std())
    return out


def replay_policy(
    rp: DeribitReplay,
    rows: np.ndarray,
    qty: FloatArray,
    policy: Policy,
    deltas: FloatArray,
    fee: float = 5e-4,
    half_spread: float = 1e-4,
) -> dict[str, float]:
    """Hedge the book ``qty`` of options ``rows`` at each snapshot under ``policy``.

    Returns the std of the interval hedged PnL (USD), total cost, trades, final PnL,
    the CVaR of the interval PnL (mean of the worst 5% / 1% intervals) and the drawdown.
    """
    val = np.nansum(qty[:, None] * rp.mark_usd[rows], axis=0)
    dl = np.nansum(qty[:, None] * deltas[rows], axis=0)
    h = cost = trades = pend = 0.0
    incs = []
    for j in range(len(rp.perp)):
        if j > 0:
            incs.append(val[j] - val[j - 1] + h * (rp.perp[j] - rp.perp[j - 1]) - pend)
            pend = 0.0
        if j == len(rp.perp) - 1:
            break
        d = dl[j] + h
        target = decide_reference(policy, d, 0.0, rp.perp[j], j, 0.0)
        if target == NO_TRADE or target == d:
            continue
        q = target - d
        pend = abs(q) * rp.perp[j] * (fee + half_spread)
        h += q
        cost += pend
        trades += 1
    inc = np.array(incs)
    loss = np.sort(-inc)
    tail = {
        f"cvar{int(q * 100)}": float(loss[-max(1, math.ceil((1 - q) * len(loss))) :].mean())
        for q in (0.95, 0.99)
    }
    return {
        "std_pnl": float(inc.std(ddof=1)),
        "mean_cost": cost,
        "mean_trades": trades,
        "mean_pnl": float(inc.sum()),
        "mean_turnover": 0.0,
        "mean_max_drawdown": float(np.max(np.maximum.accumulate(np.cumsum(inc)) - np.cumsum(inc))),
        **tail,
    }


def load_bitstamp_closes(path: str | Path) -> tuple[np.ndarray, FloatArray]:
    """(unix seconds, close USD) of the Bitstamp 1-minute file."""
    data = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(0, 4))
    if data.ndim != 2 or len(data) < 2:
        raise DataError(f"{path}: expected timestamp,open,high,low,close,volume rows")
    return data[:, 0].astype(np.int64), data[:, 1]


def bitstamp_windows(closes: FloatArray, window: int, stride: int, f0: float) -> FloatArray:
    """Overlapping windows of ``window`` steps every ``stride`` steps, rescaled to start at f0."""
    starts = np.arange(0, len(closes) - window, stride)
    if len(starts) == 0:
        raise DataError(f"{len(closes)} closes are fewer than one window of {window} steps")
    out = np.stack([closes[s : s + window + 1] for s in starts])
    return out / out[:, :1] * f0


def l2_profile(
    path: str | Path, side: str = "asks", max_levels: int = 200
) -> tuple[FloatArray, FloatArray]:
    """Depth profile from the first REST snapshot in a Binance recording.

    Returns (offsets as fractions of mid, sizes in coin) of the first ``max_levels``
    levels of ``side`` (``"asks"`` for buys, ``"bids"`` for sells).
    """
    with gzip.open(path, "rt") as fh:
        for line in fh:
            _, _, payload = line.partition(" ")
            if '"lastUpdateId"' in payload and '"stream"' not in payload[:20]:
                snap = json.loads(payload)
                break
        else:
            raise DataError(f"{path}: no REST depth snapshot (lastUpdateId) found")
    bids = np.array(snap["bids"], dtype=float)
    asks = np.array(snap["asks"], dtype=float)
    mid = 0.5 * (bids[0, 0] + asks[0, 0])
    lv = asks if side == "asks" else bids
    lv = lv[:max_levels]
    return np.abs(lv[:, 0] - mid) / mid, lv[:, 1]

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
    snapshots under each policy grid; error = std of the interval hedged PnL. The band
    policies read the book's real gamma, vanna and vega-weighted expiry (``book_greeks``:
    Black-76 at Deribit's mark IVs), the vol-adaptive band an EWMA of the perp's
    realised vol between snapshots, Leland the legs' deltas moved to Leland's vol.

* ``bitstamp_windows``: the Bitstamp 1-minute closes cut into overlapping windows, each
  rescaled to start at the same price (everything here is homogeneous in price), for the
  compiled simulator with options on an SVI smile fitted to a real Deribit slice.

* ``l2_profile``: the Binance BTCUSDT REST depth snapshot as (offset, size) levels of
  one side (the asks for buys, the bids for sells).
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.backtest.policies import (
    INTERVAL_POLICIES,
    NO_TRADE,
    Policy,
    PolicyKind,
    decide_reference,
    leland_vol,
)
from deltahedge.core.errors import DataError, InvalidInput

__all__ = [
    "BookGreeks",
    "DeribitReplay",
    "bitstamp_windows",
    "book_greeks",
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


@dataclass(frozen=True)
class BookGreeks:
    """A replayed book's Greeks at each snapshot (Black-76 at Deribit's mark IVs).

    ``gamma`` coin per USD, ``vanna_sigma`` coin (``sigma d(delta)/d(sigma)``), ``vega``
    USD per 1.00 of vol, ``tau`` the |vega|-weighted years to expiry; one value per
    snapshot. ``leg_vanna_sigma`` (legs x snapshots) per coin of each leg.
    """

    gamma: FloatArray
    vanna_sigma: FloatArray
    vega: FloatArray
    tau: FloatArray
    leg_vanna_sigma: FloatArray


def book_greeks(rp: DeribitReplay, rows: np.ndarray, qty: FloatArray) -> BookGreeks:
    """Gamma, vanna, vega and expiry of the book ``qty`` of options ``rows`` at each snapshot.

    Black-76 on each option's forward at its mark IV (Deribit's own delta convention),
    ``gamma = n(d1) / (F sigma sqrt T)``, ``vega = F n(d1) sqrt T``, ``vanna_sigma =
    -n(d1) d2``; options not quoted at a snapshot contribute nothing there.
    """
    f, t, s = rp.forward[rows], rp.T[rows], rp.iv[rows]
    k = rp.strike[rows][:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        sq = s * np.sqrt(t)
        d1 = (np.log(f / k) + 0.5 * sq * sq) / sq
        pdf = np.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
        gamma = np.nan_to_num(pdf / (f * sq))
        vega = np.nan_to_num(f * pdf * np.sqrt(t))
        vanna = np.nan_to_num(-pdf * (d1 - sq))
    q = np.asarray(qty, dtype=np.float64)[:, None]
    # |vega|-weighted expiry over expiries (as hedging.policies._vega_weighted_tau)
    num = np.zeros(f.shape[1])
    den = np.zeros(f.shape[1])
    for e in np.unique(rp.expiry_ns[rows]):
        sel = rp.expiry_ns[rows] == e
        w = np.abs(np.sum(q[sel] * vega[sel], axis=0))
        num += w * np.nanmax(np.where(np.isfinite(t[sel]), t[sel], np.nan), axis=0)
        den += w
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.where(den > 0, np.maximum(num / den, 1 / 365 / 24), 1 / 365)
    return BookGreeks(
        np.sum(q * gamma, axis=0),
        np.sum(q * vanna, axis=0),
        np.sum(q * vega, axis=0),
        tau,
        vanna,
    )


def _ewma_vol(perp: FloatArray, times: np.ndarray, halflife: float, sig0: float) -> FloatArray:
    """EWMA of the squared log returns per year between snapshots (``sig0`` at the start)."""
    a = 1.0 - 0.5 ** (1.0 / halflife) if halflife > 0 else 0.0
    out = np.empty(len(perp))
    var = sig0 * sig0
    out[0] = sig0
    for j in range(1, len(perp)):
        dt = (times[j] - times[j - 1]) / (365 * 86_400 * 1e9)
        r = math.log(perp[j] / perp[j - 1])
        var = (1 - a) * var + a * r * r / dt
        out[j] = math.sqrt(var)
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

    The policy sees the book's net delta (``deltas`` per coin of each option), its real
    gamma, vanna and expiry (``book_greeks``), and, for the vol-adaptive band, an EWMA of
    the perp's realised vol (half-life ``params[1]`` snapshots, starting at ``sig_ref``).
    An interval policy is due at snapshots ``0, every, 2 every, ...``; Leland moves each
    leg's delta to Leland's vol, first order in the vol change (``delta + vanna_sigma (f -
    1)``, ``f`` from ``leland_vol`` at the mean interval between hedges).

    Returns the std of the interval hedged PnL (USD), total cost, trades, final PnL,
    the CVaR of the interval PnL (mean of the worst 5% / 1% intervals) and the drawdown.
    """
    if any(policy.jitter):
        raise InvalidInput(f"the Deribit replay takes no jitter, got {policy.label}")
    qty = np.asarray(qty, dtype=np.float64)
    g = book_greeks(rp, rows, qty)
    leg_d = deltas[rows]
    if policy.kind == PolicyKind.LELAND:
        step_y = policy.params[0] * float(np.mean(np.diff(rp.times))) / (365 * 86_400 * 1e9)
        iv = np.nan_to_num(rp.iv[rows], nan=1.0)
        fac = np.array(
            [
                [leland_vol(v, policy.params[1], step_y, long=q > 0) / v for v in row]
                for row, q in zip(iv, qty, strict=True)
            ]
        )
        leg_d = leg_d + g.leg_vanna_sigma * (fac - 1.0)
    val = np.nansum(qty[:, None] * rp.mark_usd[rows], axis=0)
    dl = np.nansum(qty[:, None] * leg_d, axis=0)
    sig = np.zeros(len(rp.perp))
    if policy.kind == PolicyKind.VOL_ADAPTIVE:
        sig = _ewma_vol(rp.perp, rp.times, policy.params[1], policy.params[2])
    h = cost = trades = pend = 0.0
    incs = []
    for j in range(len(rp.perp)):
        if j > 0:
            incs.append(val[j] - val[j - 1] + h * (rp.perp[j] - rp.perp[j - 1]) - pend)
            pend = 0.0
        if j == len(rp.perp) - 1:
            break
        d = dl[j] + h
        due = j % int(policy.params[0]) == 0 if policy.kind in INTERVAL_POLICIES else False
        d_eff, target, _ = decide_reference(
            policy, d, g.gamma[j], rp.perp[j], due, sig[j], g.vanna_sigma[j], g.tau[j]
        )
        if target == NO_TRADE or target == d_eff:
            continue
        q = target - d_eff
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
    levels of ``side`` (``"asks"`` for buys, ``"bids"`` for sells), nearest first.
    """
    if side not in ("asks", "bids"):
        raise InvalidInput(f"side {side!r} unknown; allowed: 'asks' (buys), 'bids' (sells)")
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

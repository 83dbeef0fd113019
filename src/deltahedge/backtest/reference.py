"""Readable pure-Python twin of the compiled hedge simulator, for tests.

Covers Black-76 marks at the legs' vols with Black-76 deltas (optionally a flat vol or
Leland's vol) or Hull-White minimum-variance deltas, every policy with its jitter (the
same per-path draws as the kernel), fees, half-spread, square-root impact or L2 profiles
(buys walk the asks, sells the bids), funding, lots and latency, on given paths. Slow;
the compiled kernel is held to it on small cases.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from deltahedge._typing import FloatArray
from deltahedge.backtest.policies import (
    INTERVAL_POLICIES,
    NO_TRADE,
    Policy,
    PolicyKind,
    decide_reference,
    leland_vol,
)
from deltahedge.backtest.simulator import Book, Costs, jitter_seeds

__all__ = ["simulate_path_reference"]


def _b76(cp: float, f: float, k: float, t: float, s: float) -> dict[str, float]:
    if t <= 0:
        return {"price": max(cp * (f - k), 0.0), "delta": 0.0, "gamma": 0.0, "vega": 0.0}
    sq = s * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * sq * sq) / sq
    d2 = d1 - sq
    return {
        "price": cp * (f * norm.cdf(cp * d1) - k * norm.cdf(cp * d2)),
        "delta": cp * norm.cdf(cp * d1),
        "gamma": norm.pdf(d1) / (f * sq),
        "vega": f * norm.pdf(d1) * math.sqrt(t),
        "vanna_sigma": -norm.pdf(d1) * d2,
    }


def _walk(q: float, f: float, offsets: FloatArray, sizes: FloatArray) -> float:
    c = 0.0
    left = abs(q)
    for off, size in zip(offsets, sizes, strict=True):
        take = min(left, size)
        c += take * f * off
        left -= take
    return c + max(left, 0.0) * f * offsets[-1]


def _cost(q: float, f: float, costs: Costs) -> float:
    fee = costs.maker_fee if costs.maker else costs.taker_fee
    spread = 0.0 if costs.maker else costs.half_spread
    c = abs(q) * f * (fee + spread)
    if len(costs.l2_offsets):
        if q < 0 and len(costs.l2_bid_offsets):
            return c + _walk(q, f, costs.l2_bid_offsets, costs.l2_bid_sizes)
        return c + _walk(q, f, costs.l2_offsets, costs.l2_sizes)
    if costs.impact > 0:
        c += costs.impact * abs(q) * f * math.sqrt(abs(q) / costs.impact_size)
    return c


def simulate_path_reference(
    book: Book,
    policy: Policy,
    path: FloatArray,
    dt: float,
    costs: Costs,
    flat_vol: float = 0.0,
    min_variance: tuple[float, float, float] | None = None,
    seed: int = 0,
    path_index: int = 0,
) -> dict[str, float]:
    """Hedge one price path; returns pnl, cost, funding, trades, turnover (USD, counts).

    ``min_variance`` (a, b, c): Hull-White deltas instead of Black-76. ``seed`` and
    ``path_index`` pick the jitter draws, as ``simulate(..., seed=seed)`` does for its
    path ``path_index``.
    """
    legs = list(zip(book.cp, book.strike, book.expiry, book.qty, book.vol, strict=True))
    hedge_vols = [flat_vol if flat_vol > 0 else s for *_, s in legs]
    if policy.kind == PolicyKind.LELAND:
        hedge_vols = [
            leland_vol(s, policy.params[1], dt * policy.params[0], long=leg[3] > 0)
            for s, leg in zip(hedge_vols, legs, strict=True)
        ]
    settled: dict[int, float] = {}
    timing, size = policy.jitter
    rng = np.random.RandomState(int(jitter_seeds(seed, path_index + 1)[path_index]))

    def book_state(f: float, t: float) -> dict[str, float]:
        out = dict.fromkeys(("value", "delta", "gamma", "vanna"), 0.0)
        vega_by_expiry: dict[float, float] = {}
        for i, (cp, k, expiry, qty, vol) in enumerate(legs):
            tau = expiry - t
            if i not in settled and tau <= 1e-12:
                settled[i] = max(cp * (f - k), 0.0)
            if i in settled:
                out["value"] += qty * settled[i]
                continue
            mark = _b76(cp, f, k, tau, vol)
            out["value"] += qty * mark["price"]
            if min_variance is not None:
                a, b, c = min_variance
                d = mark["delta"]
                delta = d + mark["vega"] / (f * math.sqrt(tau)) * (a + b * d + c * d * d)
                gamma = mark["gamma"]
            else:
                hedge = _b76(cp, f, k, tau, hedge_vols[i])
                delta, gamma = hedge["delta"], hedge["gamma"]
            out["delta"] += qty * delta
            out["gamma"] += qty * gamma
            out["vanna"] += qty * mark["vanna_sigma"]
            vega_by_expiry[expiry] = vega_by_expiry.get(expiry, 0.0) + qty * mark["vega"]
        den = sum(abs(v) for v in vega_by_expiry.values())
        num = sum(abs(v) * (e - t) for e, v in vega_by_expiry.items())
        out["tau"] = max(num / den, 1 / 365 / 24) if den > 0 else 1 / 365
        return out

    cash = -book_state(path[0], 0.0)["value"]
    h = cost = funding = trades = turnover = 0.0
    pending_q, fill_at = 0.0, -1
    n_steps = len(path) - 1
    decisions = 0
    n_hedges, last_hedge, u_timing = 0, 0, 0.0
    mtm = 0.0
    for j in range(n_steps + 1):
        f = path[j]
        if j > 0:
            cash += h * (f - path[j - 1])
            fund = h * path[j - 1] * costs.funding_rate * dt
            funding += fund
            cash -= fund
        if j == fill_at:
            c = _cost(pending_q, f, costs)
            h, cost, cash = h + pending_q, cost + c, cash - c
            trades, turnover, fill_at = trades + 1, turnover + abs(pending_q) * f, -1
        st = book_state(f, j * dt)
        mtm = cash + st["value"]
        if j == n_steps or fill_at >= 0:
            decisions += 1
            continue
        d = st["delta"] + h
        due = True
        if policy.kind in INTERVAL_POLICIES:
            every = policy.params[0]
            if timing > 0:
                due = n_hedges == 0 or decisions - last_hedge >= every * (1 + timing * u_timing)
            else:
                due = decisions % int(every) == 0
        d_eff, target, band = decide_reference(
            policy, d, st["gamma"], f, due, 0.0, st["vanna"], st["tau"]
        )
        decisions += 1
        if target == NO_TRADE:
            continue
        q = target - d_eff
        if size > 0:
            q *= 1 + size * rng.uniform(-1.0, 1.0)
            q = min(max(d_eff + q, -band), band) - d_eff
        if costs.lot > 0:
            q = costs.lot * round(q / costs.lot)
        if q == 0.0:
            continue
        n_hedges, last_hedge = n_hedges + 1, decisions - 1
        if timing > 0:
            u_timing = rng.uniform(-1.0, 1.0)
        if costs.latency == 0:
            c = _cost(q, f, costs)
            h, cost, cash = h + q, cost + c, cash - c
            trades, turnover = trades + 1, turnover + abs(q) * f
        else:
            pending_q, fill_at = q, (j + costs.latency if j + costs.latency <= n_steps else -1)
    return {"pnl": mtm, "cost": cost, "funding": funding, "trades": trades, "turnover": turnover}

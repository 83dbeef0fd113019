"""Readable pure-Python twin of the compiled hedge simulator, for tests.

Covers Black-76 deltas at the legs' vols (optionally a flat vol or Leland's vol), every
policy, fees, half-spread, square-root impact or an L2 profile, funding, lots and latency,
on given paths. Slow; the compiled kernel is held to it on small cases.
"""

from __future__ import annotations

import math

from scipy.stats import norm

from deltahedge._typing import FloatArray
from deltahedge.backtest.policies import NO_TRADE, Policy, PolicyKind, decide_reference, leland_vol
from deltahedge.backtest.simulator import Book, Costs

__all__ = ["simulate_path_reference"]


def _b76(cp: float, f: float, k: float, t: float, s: float) -> tuple[float, float]:
    if t <= 0:
        return max(cp * (f - k), 0.0), 0.0
    d1 = (math.log(f / k) + 0.5 * s * s * t) / (s * math.sqrt(t))
    d2 = d1 - s * math.sqrt(t)
    price = cp * (f * norm.cdf(cp * d1) - k * norm.cdf(cp * d2))
    return price, cp * norm.cdf(cp * d1)


def _cost(q: float, f: float, costs: Costs) -> float:
    fee = costs.maker_fee if costs.maker else costs.taker_fee
    spread = 0.0 if costs.maker else costs.half_spread
    c = abs(q) * f * (fee + spread)
    if len(costs.l2_offsets):
        left = abs(q)
        for off, size in zip(costs.l2_offsets, costs.l2_sizes, strict=True):
            take = min(left, size)
            c += take * f * off
            left -= take
        c += max(left, 0.0) * f * costs.l2_offsets[-1]
    elif costs.impact > 0:
        c += costs.impact * abs(q) * f * math.sqrt(abs(q) / costs.impact_size)
    return c


def simulate_path_reference(
    book: Book, policy: Policy, path: FloatArray, dt: float, costs: Costs, flat_vol: float = 0.0
) -> dict[str, float]:
    """Hedge one price path; returns pnl, cost, funding, trades, turnover (USD, counts)."""
    legs = list(zip(book.cp, book.strike, book.expiry, book.qty, book.vol, strict=True))
    hedge_vols = [flat_vol if flat_vol > 0 else s for *_, s in legs]
    if policy.kind == PolicyKind.LELAND:
        hedge_vols = [
            leland_vol(s, policy.params[1], dt * policy.params[0], long=leg[3] > 0)
            for s, leg in zip(hedge_vols, legs, strict=True)
        ]
    settled: dict[int, float] = {}

    def book_state(f: float, t: float) -> tuple[float, float]:
        value = delta = 0.0
        for i, (cp, k, expiry, qty, vol) in enumerate(legs):
            tau = expiry - t
            if i not in settled and tau <= 1e-12:
                settled[i] = max(cp * (f - k), 0.0)
            if i in settled:
                value += qty * settled[i]
                continue
            value += qty * _b76(cp, f, k, tau, vol)[0]
            delta += qty * _b76(cp, f, k, tau, hedge_vols[i])[1]
        return value, delta

    value0, _ = book_state(path[0], 0.0)
    cash = -value0
    h = cost = funding = trades = turnover = 0.0
    pending_q, fill_at = 0.0, -1
    n_steps = len(path) - 1
    decisions = 0
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
        value, delta = book_state(f, j * dt)
        mtm = cash + value
        if j == n_steps or fill_at >= 0:
            decisions += 1
            continue
        d = delta + h
        target = decide_reference(policy, d, 0.0, f, decisions, 0.0)
        decisions += 1
        if target == NO_TRADE:
            continue
        q = target - d
        if costs.lot > 0:
            q = costs.lot * round(q / costs.lot)
        if q == 0.0:
            continue
        if costs.latency == 0:
            c = _cost(q, f, costs)
            h, cost, cash = h + q, cost + c, cash - c
            trades, turnover = trades + 1, turnover + abs(q) * f
        else:
            pending_q, fill_at = q, (j + costs.latency if j + costs.latency <= n_steps else -1)
    return {"pnl": mtm, "cost": cost, "funding": funding, "trades": trades, "turnover": turnover}

"""Delta-gamma-vega overlay: option trades that bring gamma and vega within limits at least
cost, then the delta with a linear instrument.

The option trades solve a linear programme (scipy ``linprog``, HiGHS): with ``q = q+ - q-``
contracts of each candidate, minimise ``sum_j c_j (q+_j + q-_j)`` (``c_j`` = USD cost of
trading one contract: half-spread plus fee) subject to

- ``|Gamma_book + sum_j g_j q_j| <= gamma_max`` (coin per USD), and
- for each limited expiry ``e``: ``|Vega_e + sum_j v_je q_j| <= vega_max[e]`` (USD per 1.00
  vol), ``v_je`` the vega of candidate ``j`` if it expires at ``e``, else 0.

The continuous solution is rounded to each option's lot (to the nearest lot, or away from
zero when the nearest misses a limit); the rounded plan's Greeks are recomputed and
``within_limits`` says whether a limit is still missed. The delta left after
the options is priced with ``choose_hedge``. Alternatives: the optimum, then the optimum
without each option it uses (the next-best ways to get there), ranked by total cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from deltahedge._typing import FloatArray
from deltahedge.core.errors import InvalidInput
from deltahedge.hedging.choice import HedgeCost, HedgeVenue, choose_hedge
from deltahedge.instruments.specs import Option
from deltahedge.marketdata.state import MarketState
from deltahedge.portfolio.book import BookRisk, compile_book
from deltahedge.portfolio.positions import Position


@dataclass(frozen=True, slots=True)
class OverlayLimits:
    """Limits on the book after the overlay; None = no limit.

    ``gamma_max``: |gamma| in coin per USD; ``vega_max_by_expiry``: |vega| per expiry
    (UTC ns) in USD per 1.00 vol.
    """

    gamma_max: float | None = None
    vega_max_by_expiry: Mapping[int, float] | None = None


@dataclass(frozen=True, slots=True)
class OverlayPlan:
    """One way to meet the limits: option trades, then a linear delta hedge.

    Costs in USD; ``gamma_after`` coin/USD; ``vega_after`` per expiry, USD per 1.00 vol;
    ``delta_after_options`` coin (what the linear hedge then takes to ~0).
    """

    trades: tuple[tuple[str, float], ...]
    option_cost_usd: float
    delta_after_options: float
    linear: HedgeCost | None
    gamma_after: float
    vega_after: Mapping[int, float]
    within_limits: bool

    @property
    def total_cost_usd(self) -> float:
        return self.option_cost_usd + (self.linear.total_usd if self.linear else 0.0)


def _solve(
    g0: float,
    v0: FloatArray,
    g: FloatArray,
    V: FloatArray,
    cost: FloatArray,
    gmax: float | None,
    vmax: FloatArray,
    allowed: np.ndarray,
) -> FloatArray | None:
    n = g.size
    rows = []
    rhs = []
    if gmax is not None:
        rows += [np.concatenate([g, -g]), np.concatenate([-g, g])]
        rhs += [gmax - g0, gmax + g0]
    for e in range(v0.size):
        if np.isfinite(vmax[e]):
            rows += [np.concatenate([V[e], -V[e]]), np.concatenate([-V[e], V[e]])]
            rhs += [vmax[e] - v0[e], vmax[e] + v0[e]]
    if not rows:
        return np.zeros(n)
    bounds = [(0.0, None if a else 0.0) for a in np.concatenate([allowed, allowed]).tolist()]
    res = linprog(
        np.concatenate([cost, cost]),
        A_ub=np.array(rows),
        b_ub=np.array(rhs),
        bounds=bounds,
        method="highs",
    )
    if res.status != 0:
        return None
    return res.x[:n] - res.x[n:]


def overlay(
    risk: BookRisk,
    market: MarketState,
    candidates: Sequence[Option],
    vols: Sequence[float] | FloatArray,
    cost_usd_per_contract: Sequence[float] | FloatArray,
    limits: OverlayLimits,
    linear: Sequence[HedgeVenue] = (),
    underlying: str = "BTC",
    horizon_s: float = 86_400.0,
) -> list[OverlayPlan]:
    """Ranked ways (cheapest first) to bring gamma/vega within ``limits``, then hedge delta.

    Parameters
    ----------
    risk : BookRisk
        The book now (its numeraire is used for the candidates' Greeks too).
    market : MarketState
    candidates : sequence of Option
        Listed options that may be traded (same underlying).
    vols : sequence of float
        Implied vol of each candidate.
    cost_usd_per_contract : sequence of float
        USD cost of trading one contract of each (half-spread + fee), > 0.
    limits : OverlayLimits
    linear : sequence of HedgeVenue
        Candidates for the delta hedge after the options (empty: delta not hedged).
    underlying : str
    horizon_s : float
        Holding horizon for the linear hedge's carry.

    Returns
    -------
    list of OverlayPlan
        Empty when no combination meets the limits.
    """
    if not candidates:
        raise InvalidInput("overlay needs at least one candidate option")
    cost = np.asarray(cost_usd_per_contract, dtype=np.float64)
    if cost.shape != (len(candidates),) or np.any(~(cost > 0)):
        raise InvalidInput(f"need one cost > 0 per candidate ({len(candidates)}), got {cost}")
    u = risk.position(underlying)
    cand = compile_book([Position(o, 1.0) for o in candidates], vols=vols).risk(
        market, risk.numeraire
    )
    n = len(candidates)
    d = cand.contributions[:n, 1]
    g = cand.contributions[:n, 2]
    vg = cand.contributions[:n, 3]
    sel = risk.slot_underlying == u
    expiries = sorted(
        set(int(e) for e in risk.slot_expiry_ns[sel]) | {o.expiry_ns for o in candidates}
    )
    book_vega = risk.vega_by_expiry(underlying)
    v0 = np.array([book_vega.get(e, 0.0) for e in expiries])
    V = np.array(
        [[vg[j] if candidates[j].expiry_ns == e else 0.0 for j in range(n)] for e in expiries]
    )
    vm = limits.vega_max_by_expiry or {}
    vmax = np.array([vm.get(e, np.inf) for e in expiries])
    g0 = float(risk.gamma_coin[u])
    d0 = float(risk.delta_coin[u])

    lots = np.array([o.lot_size for o in candidates])

    def within(q: FloatArray) -> tuple[bool, float, FloatArray]:
        g_after = g0 + float(g @ q)
        v_after = v0 + V @ q
        ok = (limits.gamma_max is None or abs(g_after) <= limits.gamma_max * (1 + 1e-9)) and bool(
            np.all(np.abs(v_after) <= vmax * (1 + 1e-9))
        )
        return ok, g_after, v_after

    def plan(q_cont: FloatArray) -> OverlayPlan:
        # nearest lot first; if that misses a limit, whole lots away from zero
        q = np.round(q_cont / lots) * lots
        ok, g_after, v_after = within(q)
        if not ok:
            q_up = np.sign(q_cont) * np.ceil(np.abs(q_cont) / lots - 1e-9) * lots
            ok_up, g_up, v_up = within(q_up)
            if ok_up:
                q, ok, g_after, v_after = q_up, ok_up, g_up, v_up
        d_after = d0 + float(d @ q)
        hedge = choose_hedge(-d_after, linear, market, horizon_s)[0] if linear and d_after else None
        return OverlayPlan(
            trades=tuple(
                (o.symbol, round(float(x), 12)) for o, x in zip(candidates, q, strict=True) if x
            ),
            option_cost_usd=float(cost @ np.abs(q)),
            delta_after_options=d_after,
            linear=hedge,
            gamma_after=g_after,
            vega_after={e: float(v) for e, v in zip(expiries, v_after, strict=True)},
            within_limits=ok,
        )

    allowed = np.ones(n, dtype=bool)
    best = _solve(g0, v0, g, V, cost, limits.gamma_max, vmax, allowed)
    if best is None:
        return []
    plans = [plan(best)]
    for j in np.flatnonzero(np.abs(best) > 1e-12):
        allowed_j = allowed.copy()
        allowed_j[j] = False
        alt = _solve(g0, v0, g, V, cost, limits.gamma_max, vmax, allowed_j)
        if alt is not None:
            plans.append(plan(alt))
    seen = set()
    unique = []
    for p in sorted(plans, key=lambda p: (not p.within_limits, p.total_cost_usd)):
        if p.trades not in seen:
            seen.add(p.trades)
            unique.append(p)
    return unique


__all__ = ["OverlayLimits", "OverlayPlan", "overlay"]

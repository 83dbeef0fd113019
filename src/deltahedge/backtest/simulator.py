"""Vectorised hedge simulator: an option book hedged with a perp or spot over N paths.

The kernel walks every path step by step (paths in parallel with ``numba.prange``):

1. the hedge earns ``h (F_j - F_{j-1})`` and pays funding ``h F_{j-1} rate dt``;
2. an order decided ``latency`` steps earlier fills at ``F_j`` (rounded to lots), paying
   fee, half-spread and impact (square-root, or walking an L2 depth profile);
3. at decision steps the book is marked, its delta and gamma computed by the chosen delta
   model, and the policy (``policies.decide_kernel``) picks a target net delta.

Legs are cash-settled at ``F`` when they expire; legs still alive at the end are marked
on the surface. PnL is in USD of a linear (USD-margined) book with r = 0: premium
received or paid at the start, plus the hedge's gains, minus costs and funding, plus the
final value of the legs.

Delta models: ``BLACK76`` (the leg's fixed vol, or one flat vol), ``SMILE`` (sticky
moneyness on SVI slices: ``delta_BS + vega dsigma/dF``, ``dsigma/dF = -(1/F) dsigma/dk``;
see DESIGN.md), ``MODEL`` (Heston/Bates/SVCJ delta tabulated by ``cos.model_delta_table``,
read at the path's variance).

Not yet covered: the parity test against a replay through the real-time engine (issue
5, "Parity") waits for the engine; it should replay one simulated path through the
engine with a paper venue at the kernel's costs and compare trades and PnL with
``simulate(..., paths=path[None])``. The kernel's policy decisions are already held to
``deltahedge.hedging`` (``tests/backtest/test_policy_parity.py``).

Numba caching: kernels use ``cache=True``; numba re-validates a cached kernel only
against its own file, so after editing a compiled helper in another module (``_b76``,
``cos``, ``policies``, ``models``) delete the ``__pycache__/*.nbi|*.nbc`` files.
"""

from __future__ import annotations

import math
from enum import IntEnum

import numba as nb
import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.backtest._b76 import b76_delta_only, b76_greeks, b76_price_delta
from deltahedge.backtest.book import Book, Costs, SimResult
from deltahedge.backtest.cos import table_delta
from deltahedge.backtest.models import PathModel, _fill_path, path_seeds
from deltahedge.backtest.policies import Policy, PolicyKind, leland_vol
from deltahedge.backtest.policies import decide_kernel as _decide
from deltahedge.core.errors import InvalidInput

__all__ = ["Book", "Costs", "DeltaModel", "SimResult", "simulate"]


class DeltaModel(IntEnum):
    """How the simulator computes the book's delta."""

    BLACK76 = 0
    SMILE = 1
    MODEL = 2


@nb.njit(cache=True, inline="always")
def _svi_vol(sv: np.ndarray, leg: int, k: float) -> tuple[float, float]:
    """Implied vol and dvol/dk of a raw SVI slice at log-moneyness k."""
    a, b, rho, m, s, t = sv[leg, 0], sv[leg, 1], sv[leg, 2], sv[leg, 3], sv[leg, 4], sv[leg, 5]
    km = k - m
    r = math.sqrt(km * km + s * s)
    w = a + b * (rho * km + r)
    if w < 1e-12:
        w = 1e-12
    dw = b * (rho + km / r)
    vol = math.sqrt(w / t)
    return vol, dw / (2.0 * vol * t)


@nb.njit(cache=True)
def _exec_cost(q: float, f: float, ca: np.ndarray, l2o: np.ndarray, l2s: np.ndarray) -> float:
    aq = abs(q)
    notional = aq * f
    cost = notional * (ca[0] + ca[1])
    if l2o.shape[0] > 0:
        left = aq
        for i in range(l2o.shape[0]):
            take = left if left < l2s[i] else l2s[i]
            cost += take * f * l2o[i]
            left -= take
            if left <= 0.0:
                break
        if left > 0.0:
            cost += left * f * l2o[l2o.shape[0] - 1]
    elif ca[2] > 0.0:
        cost += ca[2] * notional * math.sqrt(aq / ca[3])
    return cost


@nb.njit(cache=True, inline="always")
def _book_greeks(
    f: float,
    t: float,
    v: float,
    cp,
    strike,
    expiry,
    qty,
    vol,
    svi,
    use_svi: bool,
    did: int,
    dvol_mult,
    table,
    taus,
    xs,
    vs,
    settled,
    settle_val,
    need_gv: bool,
    need_price: bool,
):
    """Book value, delta and gamma at price f, time t, variance v (settles expiring legs).

    Without ``need_price`` (and ``need_gv``) the value is not computed (returned as 0).
    """
    val = 0.0
    dlt = 0.0
    gam = 0.0
    for i in range(cp.shape[0]):
        if settled[i]:
            val += qty[i] * settle_val[i]
            continue
        tau = expiry[i] - t
        if tau <= 1e-12:
            pay = cp[i] * (f - strike[i])
            settle_val[i] = pay if pay > 0.0 else 0.0
            settled[i] = True
            val += qty[i] * settle_val[i]
            continue
        s = vol[i]
        dsdk = 0.0
        if use_svi:
            s, dsdk = _svi_vol(svi, i, math.log(strike[i] / f))
        g = 0.0
        vg = 0.0
        if need_gv:
            p, d, g, vg = b76_greeks(cp[i], f, strike[i], tau, s)
        elif need_price:
            p, d = b76_price_delta(cp[i], f, strike[i], tau, s)
        else:
            p = 0.0
            d = b76_delta_only(cp[i], f, strike[i], tau, s)
        val += qty[i] * p
        if did == 1 and use_svi:
            d = d - vg * dsdk / f
        elif did == 2:
            d = table_delta(table, i, taus, xs, vs, tau, math.log(f / strike[i]), v)
        elif dvol_mult[i] != 1.0 or (did == 0 and use_svi):
            s0 = vol[i] * dvol_mult[i]
            if need_gv:
                _, d, g, _ = b76_greeks(cp[i], f, strike[i], tau, s0)
            else:
                _, d = b76_price_delta(cp[i], f, strike[i], tau, s0)
        dlt += qty[i] * d
        gam += qty[i] * g
    return val, dlt, gam


@nb.njit(cache=True, parallel=True)
def _sim_kernel(
    paths,
    vpaths,
    gen,
    seeds,
    f0,
    dt,
    n_steps,
    mp,
    kbar,
    cp,
    strike,
    expiry,
    qty,
    vol,
    svi,
    use_svi,
    did,
    dvol_mult,
    table,
    taus,
    xs,
    vs,
    pid,
    pp,
    every,
    mark_every,
    ca,
    l2o,
    l2s,
    o_pnl,
    o_cost,
    o_fund,
    o_trades,
    o_turn,
    o_dd,
    o_std,
):
    n_paths = o_pnl.shape[0]
    n_leg = cp.shape[0]
    latency = int(ca[6])
    lot = ca[5]
    need_gv = pid == 4 or (did == 1 and use_svi)
    a_ewma = 1.0 - 0.5 ** (1.0 / pp[1]) if (pid == 5 and pp[1] > 0.0) else 0.0
    for ip in nb.prange(n_paths):
        if gen:
            fbuf = np.empty(n_steps + 1)
            vbuf = np.empty(n_steps + 1)
            _fill_path(seeds[ip], f0, dt, mp, kbar, fbuf, vbuf)
        else:
            fbuf = paths[ip]
            vbuf = vpaths[ip]
        settled = np.zeros(n_leg, dtype=np.bool_)
        settle_val = np.zeros(n_leg)
        f = fbuf[0]
        val0, dlt, gam = _book_greeks(
            f,
            0.0,
            vbuf[0],
            cp,
            strike,
            expiry,
            qty,
            vol,
            svi,
            use_svi,
            did,
            dvol_mult,
            table,
            taus,
            xs,
            vs,
            settled,
            settle_val,
            need_gv,
            True,
        )
        h = 0.0
        cash = -val0  # premium received for a short book
        cost = 0.0
        fund = 0.0
        trades = 0.0
        turn = 0.0
        pending = 0.0
        fill_at = -1
        sig2 = pp[2] * pp[2] * dt if pid == 5 else 0.0
        peak = 0.0
        dd = 0.0
        prev_mtm = 0.0
        s1 = 0.0
        s2 = 0.0
        n_dec = 0
        n_mark = 0
        to_decide = 0
        to_mark = 0
        for j in range(n_steps + 1):
            if j > 0:
                fprev = f
                f = fbuf[j]
                cash += h * (f - fprev)
                fc = h * fprev * ca[4] * dt
                fund += fc
                cash -= fc
                if a_ewma > 0.0:
                    r = math.log(f / fprev)
                    sig2 = (1.0 - a_ewma) * sig2 + a_ewma * r * r
            if j == fill_at:
                q = pending
                c = _exec_cost(q, f, ca, l2o, l2s)
                h += q
                cost += c
                cash -= c
                trades += 1.0
                turn += abs(q) * f
                fill_at = -1
            # countdowns instead of j % every (an integer division per step)
            if j > 0:
                to_decide -= 1
                to_mark -= 1
            if to_decide > 0 and j != n_steps:
                continue
            to_decide = every
            marking = to_mark <= 0 or j == n_steps
            if to_mark <= 0:
                to_mark = mark_every
            t = j * dt
            val, dlt, gam = _book_greeks(
                f,
                t,
                vbuf[j],
                cp,
                strike,
                expiry,
                qty,
                vol,
                svi,
                use_svi,
                did,
                dvol_mult,
                table,
                taus,
                xs,
                vs,
                settled,
                settle_val,
                need_gv,
                marking,
            )
            if marking:
                mtm = cash + val
                if mtm > peak:
                    peak = mtm
                if peak - mtm > dd:
                    dd = peak - mtm
                inc = mtm - prev_mtm
                prev_mtm = mtm
                s1 += inc
                s2 += inc * inc
                n_mark += 1
            if j == n_steps or fill_at >= 0:
                n_dec += 1
                continue
            d = dlt + h
            sig_hat = math.sqrt(sig2 / dt) if pid == 5 else 0.0
            target = _decide(pid, pp, d, gam, f, n_dec, sig_hat)
            n_dec += 1
            if target == math.inf:
                continue
            q = target - d
            if lot > 0.0:
                q = lot * round(q / lot)
            if q == 0.0:
                continue
            if latency == 0:
                c = _exec_cost(q, f, ca, l2o, l2s)
                h += q
                cost += c
                cash -= c
                trades += 1.0
                turn += abs(q) * f
            else:
                pending = q
                fill_at = j + latency
                if fill_at > n_steps:
                    fill_at = -1
        o_pnl[ip] = prev_mtm
        o_cost[ip] = cost
        o_fund[ip] = fund
        o_trades[ip] = trades
        o_turn[ip] = turn
        o_dd[ip] = dd
        o_std[ip] = math.sqrt(max(s2 / n_mark - (s1 / n_mark) ** 2, 0.0)) if n_mark > 0 else 0.0


def simulate(
    book: Book,
    policy: Policy,
    *,
    paths: FloatArray | None = None,
    variances: FloatArray | None = None,
    model: PathModel | None = None,
    f0: float = 0.0,
    n_paths: int = 0,
    dt: float,
    n_steps: int = 0,
    seed: int | np.random.Generator = 0,
    costs: Costs = Costs(),
    delta_model: DeltaModel = DeltaModel.BLACK76,
    flat_vol: float = 0.0,
    decide_every: int = 1,
    mark_every: int = 1,
    delta_table: tuple[FloatArray, FloatArray, FloatArray, FloatArray] | None = None,
) -> SimResult:
    """Hedge ``book`` under ``policy`` over given paths or paths generated in the kernel.

    Parameters
    ----------
    book : Book
    policy : Policy
    paths : array (n_paths, n_steps + 1), optional
        Price paths in USD (real or pre-simulated). Without it, ``model`` generates
        ``n_paths`` paths of ``n_steps`` steps from ``f0`` inside the kernel (no memory
        for the paths; path ``i`` is the same as ``simulate_paths(..., seed)[i]``).
    variances : array, optional
        Variance per year along ``paths`` (for model deltas).
    dt : float
        Step in years.
    costs : Costs
    delta_model : DeltaModel
    flat_vol : float
        If > 0, Black-76 deltas use this vol for every leg instead of the leg's vol.
    decide_every : int
        Compute Greeks and let the policy decide every this many steps.
    mark_every : int
        Mark the book (for drawdown and step std) every this many decisions (and at the
        end); the final PnL does not depend on it.
    delta_table : tuple, optional
        ``cos.model_delta_table(...)`` output, required for ``DeltaModel.MODEL``.
    """
    cp, strike, expiry, qty, vol, svi = book.arrays()
    if paths is not None:
        paths = np.ascontiguousarray(paths, dtype=np.float64)
        n_paths, n_steps = paths.shape[0], paths.shape[1] - 1
        vp = (
            np.ascontiguousarray(variances, dtype=np.float64)
            if variances is not None
            else np.zeros_like(paths)
        )
        gen = False
        mp = np.zeros(11)
        kbar = 0.0
        seeds = np.zeros(1, dtype=np.uint32)
    else:
        if model is None or f0 <= 0 or n_paths < 1 or n_steps < 1:
            raise InvalidInput("give paths, or model with f0 > 0, n_paths >= 1, n_steps >= 1")
        paths = np.zeros((1, 1))
        vp = paths
        gen = True
        mp = model.as_array()
        kbar = model.jump_compensator
        seeds = path_seeds(seed, n_paths)
    if decide_every < 1 or mark_every < 1:
        raise InvalidInput(f"decide_every={decide_every}, mark_every={mark_every} must be >= 1")
    if delta_model == DeltaModel.MODEL and delta_table is None:
        raise InvalidInput("DeltaModel.MODEL needs delta_table=cos.model_delta_table(...)")
    if delta_model == DeltaModel.SMILE and book.svi is None:
        raise InvalidInput("DeltaModel.SMILE needs the book's SVI slices (Book.svi)")
    table, taus, xs, vs = (
        delta_table if delta_table is not None else (np.zeros((1, 2, 2, 2)),) + (np.zeros(2),) * 3
    )
    mult = np.ones(len(cp))
    if flat_vol > 0:
        mult = flat_vol / vol
    if policy.kind == PolicyKind.LELAND:
        step_dt = dt * decide_every * policy.params[0]
        mult = np.array(
            [
                leland_vol(s * m, policy.params[1], step_dt, long=q > 0) / s
                for s, m, q in zip(vol, mult, qty, strict=True)
            ]
        )
    out = [np.empty(n_paths) for _ in range(7)]
    _sim_kernel(
        paths,
        vp,
        gen,
        seeds,
        float(f0),
        float(dt),
        int(n_steps),
        mp,
        kbar,
        cp,
        strike,
        expiry,
        qty,
        vol,
        svi,
        book.svi is not None,
        int(delta_model),
        mult,
        table,
        taus,
        xs,
        vs,
        int(policy.kind),
        policy.as_array(),
        int(decide_every),
        int(decide_every * mark_every),
        costs.as_array(),
        np.ascontiguousarray(costs.l2_offsets, float),
        np.ascontiguousarray(costs.l2_sizes, float),
        *out,
    )
    return SimResult(*out)

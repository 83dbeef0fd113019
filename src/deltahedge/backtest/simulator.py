"""Vectorised hedge simulator: an option book hedged with a perp or spot over N paths.

The kernel walks every path step by step (paths in parallel with ``numba.prange``):

1. the hedge earns ``h (F_j - F_{j-1})`` and pays funding ``h F_{j-1} rate dt``;
2. an order decided ``latency`` steps earlier fills at ``F_j`` (rounded to lots), paying
   fee, half-spread and impact (square-root, or walking an L2 depth profile: buys the
   asks, sells the bids);
3. at decision steps the book is marked, its delta and gamma computed by the chosen delta
   model, and the policy (``policies.decide_kernel``, with its seeded jitter) picks a
   target net delta.

Legs are cash-settled at ``F`` when they expire; legs still alive at the end are marked
on the surface. PnL is in USD of a linear (USD-margined) book with r = 0: premium
received or paid at the start, plus the hedge's gains, minus costs and funding, plus the
final value of the legs.

Marks: each leg at its own fixed vol (sticky strike), or, when the book carries SVI
slices (``Book.svi``, e.g. ``Book.on_surface`` of the embedded demo surface), sticky
moneyness on them: the vol of a leg follows ``k = ln(K/F)`` along the path.

Delta models (DESIGN.md, "Smile-adjusted delta"):

* ``BLACK76``: Black-76 at the leg's vol at the start (or one flat vol);
* ``SMILE``: sticky moneyness on the SVI slices, ``delta_BS + vega dsigma/dF`` with
  ``dsigma/dF = -(1/F) dsigma/dk``;
* ``MODEL``: the Heston/Bates/SVCJ delta tabulated by ``cos.model_delta_table``, read at
  the path's variance;
* ``MIN_VARIANCE``: Hull and White (2017, eq. 7),
  ``delta_BS + vega / (F sqrt(T)) (a + b delta_BS + c delta_BS^2)`` at the marking vol,
  with ``(a, b, c)`` fitted by ``deltahedge.surface.fit_min_variance`` (on the Deribit
  snapshots: ``runner.deribit_min_variance_coeffs``).

Parity: ``tests/engine/test_parity.py`` replays one simulated path through the real-time
engine (paper venue at the kernel's costs) and holds its trades, costs and PnL to
``simulate(..., paths=path[None])``; ``tests/backtest/test_policy_parity.py`` holds the
kernel's policy decisions to ``deltahedge.hedging``; ``reference.simulate_path_reference``
is the kernel's pure-Python twin.

Speed: Black-76 deltas on books of 8 legs or more (4 on SVI slices) take the SIMD
passes over the legs of ``_fastbook.book_fast``; smaller books deciding every step get
their delta and mark a block of steps ahead (``_fastbook.fill_block``, SIMD over the
steps); both are inlined, and the kernel compiles with numpy's error model and FMA
contraction for them. The other delta models and policies that need gamma, vanna or
vega take the scalar ``_book_greeks``.

Numba caching: kernels use ``cache=True``; numba re-validates a cached kernel only
against its own file, so after editing a compiled helper in another module (``_b76``,
``_fastbook``, ``cos``, ``policies``, ``models``) delete the ``__pycache__/*.nbi|*.nbc``
files.
"""

from __future__ import annotations

import math
from enum import IntEnum

import numba as nb
import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.backtest._b76 import (
    b76_delta_only,
    b76_delta_x,
    b76_greeks,
    b76_price_delta,
    b76_price_delta_x,
    exec_cost,
    vanna_sigma,
)
from deltahedge.backtest._fastbook import (
    BLOCK,
    N_BLOCK_ROWS,
    N_SCRATCH,
    R_EXP,
    R_QTY,
    book_fast,
    fill_block,
    leg_rows,
    settle_steps,
    use_blocks,
    use_simd,
)
from deltahedge.backtest.book import Book, Costs, SimResult, expiry_slots, l2_rows
from deltahedge.backtest.cos import table_delta
from deltahedge.backtest.models import PathModel, _fill_path, path_seeds
from deltahedge.backtest.policies import Policy, PolicyKind, jitter_trade, leland_vol
from deltahedge.backtest.policies import decide_kernel as _decide
from deltahedge.core.errors import InvalidInput

__all__ = ["Book", "Costs", "DeltaModel", "SimResult", "jitter_seeds", "simulate"]


class DeltaModel(IntEnum):
    """How the simulator computes the book's delta."""

    BLACK76 = 0
    SMILE = 1
    MODEL = 2
    MIN_VARIANCE = 3


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


@nb.njit(cache=True, inline="always")
def _book_greeks(
    f: float,
    t: float,
    v: float,
    legs,
    svi,
    use_svi: bool,
    did: int,
    dvol_mult,
    mv,
    table,
    taus,
    xs,
    vs,
    slot,
    slot_exp,
    slot_vega,
    slot_sqt,
    settled,
    settle_val,
    need_gv: bool,
    need_price: bool,
    need_vt: bool,
):
    """Book value, delta, gamma, vanna_sigma and vega-weighted expiry at f, t, variance v.

    ``legs`` rows are (cp, strike, expiry, qty, vol, ln strike); settles expiring legs.
    Without ``need_price`` (and ``need_gv``) the value is not computed (returned as 0);
    vanna and the expiry (``need_vt``, for Zakamouline) are 0 and 1 day otherwise.
    """
    val = 0.0
    dlt = 0.0
    gam = 0.0
    van = 0.0
    if need_vt:
        slot_vega[:] = 0.0
    lf = math.log(f)
    fast = did == 0 and not need_gv and not need_vt
    # sqrt(tau) once per expiry where legs share one; else per leg (no store and reload:
    # a one-leg book's step is latency-bound)
    share = slot_exp.shape[0] < legs.shape[0]
    if fast and share:
        for e in range(slot_exp.shape[0]):
            te = slot_exp[e] - t
            slot_sqt[e] = math.sqrt(te) if te > 0.0 else 0.0
    for i in range(legs.shape[0]):
        cp, strike, expiry, qty, vol = legs[i, 0], legs[i, 1], legs[i, 2], legs[i, 3], legs[i, 4]
        if settled[i]:
            val += qty * settle_val[i]
            continue
        tau = expiry - t
        if tau <= 1e-12:
            pay = cp * (f - strike)
            settle_val[i] = pay if pay > 0.0 else 0.0
            settled[i] = True
            val += qty * settle_val[i]
            continue
        if fast:
            # the hot path: a sticky-strike Black-76 delta at the leg's own vol (times
            # Leland's or a flat-vol factor), the mark at the surface vol when marking
            x = lf - legs[i, 5]
            sqt = slot_sqt[slot[i]] if share else math.sqrt(tau)
            sq0 = vol * dvol_mult[i] * sqt
            if not need_price:
                d = b76_delta_x(cp, x, sq0)
            elif not use_svi:
                p, d = b76_price_delta_x(cp, f, strike, x, vol * sqt)
                if dvol_mult[i] != 1.0:
                    d = b76_delta_x(cp, x, sq0)
                val += qty * p
            else:
                s, _ = _svi_vol(svi, i, -x)
                p, _ = b76_price_delta_x(cp, f, strike, x, s * sqt)
                d = b76_delta_x(cp, x, sq0)
                val += qty * p
            dlt += qty * d
            continue
        s = vol
        dsdk = 0.0
        if use_svi:
            s, dsdk = _svi_vol(svi, i, math.log(strike / f))
        g = 0.0
        vg = 0.0
        if need_gv:
            p, d, g, vg = b76_greeks(cp, f, strike, tau, s)
        elif need_price:
            p, d = b76_price_delta(cp, f, strike, tau, s)
        else:
            p = 0.0
            d = b76_delta_only(cp, f, strike, tau, s)
        val += qty * p
        if did == 1 and use_svi:
            d = d - vg * dsdk / f
        elif did == 2:
            d = table_delta(table, i, taus, xs, vs, tau, math.log(f / strike), v)
        elif did == 3:
            # Hull-White: delta_BS + vega / (F sqrt T) (a + b delta_BS + c delta_BS^2)
            d = d + vg / (f * math.sqrt(tau)) * (mv[0] + mv[1] * d + mv[2] * d * d)
        elif dvol_mult[i] != 1.0 or (did == 0 and use_svi):
            s0 = vol * dvol_mult[i]
            if need_gv:
                _, d, g, _ = b76_greeks(cp, f, strike, tau, s0)
            else:
                _, d = b76_price_delta(cp, f, strike, tau, s0)
        if did != 0 and dvol_mult[i] != 1.0:
            # Leland under a smile, model or min-variance delta: first order in the vol
            # change, as hedging.Leland (delta + vanna_sigma (f - 1))
            d += vanna_sigma(f, strike, tau, s) * (dvol_mult[i] - 1.0)
        if need_vt:
            van += qty * vanna_sigma(f, strike, tau, s)
            slot_vega[slot[i]] += qty * vg
        dlt += qty * d
        gam += qty * g
    tau_b = 1.0 / 365.0
    if need_vt:
        # |vega|-weighted time to expiry over expiries, as hedging.policies._vega_weighted_tau
        num = 0.0
        den = 0.0
        for e in range(slot_vega.shape[0]):
            w = abs(slot_vega[e])
            num += w * (slot_exp[e] - t)
            den += w
        if den > 0.0:
            tau_b = num / den
            if tau_b < 1.0 / 365.0 / 24.0:
                tau_b = 1.0 / 365.0 / 24.0
    return val, dlt, gam, van, tau_b


@nb.njit(cache=True, parallel=True, error_model="numpy", fastmath={"contract"})
def _sim_kernel(
    paths,
    vpaths,
    gen,
    seeds,
    jseeds,
    f0,
    dt,
    n_steps,
    mp,
    kbar,
    legs,
    svi,
    use_svi,
    did,
    dvol_mult,
    mv,
    table,
    taus,
    xs,
    vs,
    slot,
    slot_exp,
    pid,
    pp,
    jit,
    every,
    mark_every,
    ca,
    l2,
    lr,
    simd,
    blk,
    out,
):
    n_paths = out.shape[1]
    n_leg = legs.shape[0]
    latency = int(ca[6])
    lot = ca[5]
    need_gv = pid == 4 or pid == 7 or pid == 8 or (did == 1 and use_svi) or did == 3
    need_vt = pid == 7
    # Black-76 deltas at each leg's own delta vol, on a book large enough: _fastbook's SIMD
    fast = simd and did == 0 and not need_gv and not need_vt
    # the same on a smaller book, deciding every step: whole blocks of steps ahead
    blocks = blk and not fast and did == 0 and not need_gv and not need_vt and every == 1
    j_settle = settle_steps(lr, n_leg, dt, n_steps)
    interval = pid == 0 or pid == 2 or pid == 6
    every_p = pp[0] if interval else 1.0
    jt = jit[0]
    js = jit[1]
    a_ewma = 1.0 - 0.5 ** (1.0 / pp[1]) if (pid == 5 and pp[1] > 0.0) else 0.0
    for ip in nb.prange(n_paths):
        if gen:
            fbuf = np.empty(n_steps + 1)
            vbuf = np.empty(n_steps + 1)
            _fill_path(seeds[ip], f0, dt, mp, kbar, fbuf, vbuf)
        else:
            fbuf = paths[ip]
            vbuf = vpaths[ip]
        if jt > 0.0 or js > 0.0:
            np.random.seed(jseeds[ip])  # noqa: NPY002 (numba's per-thread stream, seeded per path)
        settled = np.zeros(n_leg, dtype=np.bool_)
        settle_val = np.zeros(n_leg)
        slot_vega = np.zeros(slot_exp.shape[0])
        slot_sqt = np.zeros(slot_exp.shape[0])
        qe = lr[R_QTY].copy()
        st = np.array([0.0, lr[R_EXP].min()])
        scr = np.empty((N_SCRATCH, lr.shape[1]))
        bscr = np.empty((N_BLOCK_ROWS, BLOCK))
        bd = np.empty(BLOCK)
        bv = np.empty(BLOCK)
        b0 = 0
        b_end = 0
        f = fbuf[0]
        gam = 0.0
        van = 0.0
        tau_b = 1.0 / 365.0
        h = 0.0
        cash = 0.0  # at j = 0: minus the book's value (premium received for a short book)
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
        n_hedge = 0
        last_dec = 0
        u_t = 0.0
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
                c = exec_cost(q, f, ca, l2)
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
            if fast:
                val, dlt = book_fast(
                    f, t, lr, n_leg, qe, st, scr, settled, settle_val, marking, use_svi
                )
            elif blocks:
                if j >= b_end:
                    b0 = j
                    b_end = min(j + BLOCK, n_steps + 1)
                    fill_block(
                        fbuf,
                        b0,
                        b_end,
                        dt,
                        lr,
                        n_leg,
                        j_settle,
                        mark_every,
                        n_steps,
                        use_svi,
                        bscr,
                        bd,
                        bv,
                    )
                dlt = bd[j - b0]
                val = bv[j - b0]
            else:
                val, dlt, gam, van, tau_b = _book_greeks(
                    f, t, vbuf[j], legs, svi, use_svi, did, dvol_mult, mv, table, taus, xs, vs, slot,
                    slot_exp, slot_vega, slot_sqt, settled, settle_val, need_gv, marking, need_vt,
                )  # fmt: skip
            if j == 0:
                cash = -val
            if marking:
                mtm = cash + val
                # max() rather than two branches: a new peak is a coin flip to the predictor
                peak = max(peak, mtm)
                dd = max(dd, peak - mtm)
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
            due = True
            if interval:
                if jt > 0.0:
                    due = n_hedge == 0 or n_dec - last_dec >= every_p * (1.0 + jt * u_t)
                else:
                    due = n_dec % int(every_p) == 0
            d_eff, target, band = _decide(pid, pp, d, gam, f, due, sig_hat, van, tau_b)
            n_dec += 1
            if target == math.inf:
                continue
            if js > 0.0:
                q = jitter_trade(d_eff, target, band, js, np.random.uniform(-1.0, 1.0))  # noqa: NPY002 (numba's per-thread stream, seeded per path)
            else:
                q = target - d_eff
            if lot > 0.0:
                q = lot * round(q / lot)
            if q == 0.0:
                continue
            n_hedge += 1
            last_dec = n_dec - 1
            if jt > 0.0:
                u_t = np.random.uniform(-1.0, 1.0)  # noqa: NPY002 (numba's per-thread stream, seeded per path)
            if latency == 0:
                c = exec_cost(q, f, ca, l2)
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
        # rows: pnl, cost, funding, trades, turnover, max drawdown, step std (a 2-D array:
        # numba's parallel kernels do not write through a tuple of output arrays)
        out[0, ip] = prev_mtm
        out[1, ip] = cost
        out[2, ip] = fund
        out[3, ip] = trades
        out[4, ip] = turn
        out[5, ip] = dd
        out[6, ip] = math.sqrt(max(s2 / n_mark - (s1 / n_mark) ** 2, 0.0)) if n_mark > 0 else 0.0


def jitter_seeds(seed: int, n_paths: int) -> np.ndarray:
    """One uint32 seed per path for the policy's jitter draws (apart from the paths' own)."""
    return np.random.SeedSequence(int(seed), spawn_key=(1,)).generate_state(
        n_paths, dtype=np.uint32
    )


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
    min_variance: tuple[float, float, float] | None = None,
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
    seed : int or numpy.random.Generator
        Seeds the generated paths and the policy's jitter draws (``jitter_seeds``).
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
    min_variance : (a, b, c), optional
        Hull-White coefficients, required for ``DeltaModel.MIN_VARIANCE``.
    """
    cp, strike, expiry, qty, vol, svi = book.arrays()
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(0, 2**63 - 1))
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
    if delta_model == DeltaModel.MIN_VARIANCE and (min_variance is None or len(min_variance) != 3):
        raise InvalidInput(
            "DeltaModel.MIN_VARIANCE needs min_variance=(a, b, c), e.g. from "
            f"surface.fit_min_variance; got {min_variance!r}"
        )
    table, taus, xs, vs = (
        np.ascontiguousarray(x, dtype=np.float64)
        for x in (
            delta_table
            if delta_table is not None
            else (np.zeros((1, 2, 2, 2)), np.zeros(2), np.zeros(2), np.zeros(2))
        )
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
    slot, slot_exp = expiry_slots(expiry)
    l2 = l2_rows(costs)
    out = np.empty((7, n_paths))
    simd = use_simd(len(cp), book.svi is not None, vol * mult)
    _sim_kernel(
        paths,
        vp,
        gen,
        seeds,
        jitter_seeds(int(seed), n_paths),
        float(f0),
        float(dt),
        int(n_steps),
        mp,
        kbar,
        np.ascontiguousarray(np.column_stack([cp, strike, expiry, qty, vol, np.log(strike)])),
        svi,
        book.svi is not None,
        int(delta_model),
        mult,
        np.array(min_variance if min_variance is not None else (0.0, 0.0, 0.0), dtype=np.float64),
        table,
        taus,
        xs,
        vs,
        slot,
        slot_exp,
        int(policy.kind),
        policy.as_array(),
        np.array(policy.jitter, dtype=np.float64),
        int(decide_every),
        int(decide_every * mark_every),
        costs.as_array(),
        l2,
        leg_rows(cp, strike, expiry, qty, vol, mult, svi),
        simd,
        use_blocks(simd, int(decide_every), vol * mult, vol),
        out,
    )
    return SimResult(*(row.copy() for row in out))

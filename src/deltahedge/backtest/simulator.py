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
see DESIGN.md), ``MODEL`` (Heston/Bates delta tabulated by ``cos.model_delta_table``,
read at the path's variance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

import numba as nb
import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.backtest._b76 import b76_greeks, b76_price_delta
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
        if np.any((np.abs(np.asarray(self.cp)) != 1.0)):
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
        Optional depth profile: price offsets from mid (fractions, ascending) and the coin
        size at each level; when given, orders walk it instead of the square-root impact.
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

    def __post_init__(self) -> None:
        vals = (self.taker_fee, self.maker_fee, self.half_spread, self.impact, self.lot)
        if any(v < 0 for v in vals) or self.latency < 0 or self.impact_size <= 0:
            raise InvalidInput(f"costs must be >= 0 and impact_size > 0: {self}")
        if len(self.l2_offsets) != len(self.l2_sizes):
            raise InvalidInput("l2_offsets and l2_sizes must have the same length")

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
        n_tail = max(1, int(math.ceil((1.0 - level) * len(loss))))
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


@nb.njit(cache=True)
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
):
    """Book value, delta and gamma at price f, time t, variance v (settles expiring legs)."""
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
        if need_gv:
            p, d, g, vg = b76_greeks(cp[i], f, strike[i], tau, s)
        else:
            p, d = b76_price_delta(cp[i], f, strike[i], tau, s)
            g = 0.0
            vg = 0.0
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
            if j % every != 0 and j != n_steps:
                continue
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
            )
            mtm = cash + val
            if mtm > peak:
                peak = mtm
            if peak - mtm > dd:
                dd = peak - mtm
            inc = mtm - prev_mtm
            prev_mtm = mtm
            s1 += inc
            s2 += inc * inc
            if j == n_steps or fill_at >= 0:
                n_dec += 1
                continue
            d = dlt + h
            target = _decide(pid, pp, d, gam, f, n_dec, math.sqrt(sig2 / dt))
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
        o_std[ip] = math.sqrt(max(s2 / n_dec - (s1 / n_dec) ** 2, 0.0)) if n_dec > 0 else 0.0


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
        Mark, compute Greeks and let the policy decide every this many steps.
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
    if decide_every < 1:
        raise InvalidInput(f"decide_every={decide_every} must be >= 1")
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
            [leland_vol(s * m, policy.params[1], step_dt) / s for s, m in zip(vol, mult)]
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
        costs.as_array(),
        np.ascontiguousarray(costs.l2_offsets, float),
        np.ascontiguousarray(costs.l2_sizes, float),
        *out,
    )
    return SimResult(*out)

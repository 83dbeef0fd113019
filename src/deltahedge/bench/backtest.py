"""Benchmark of the hedge simulator, and the policy / delta-model report.

1. Throughput of a one-option Black-76 delta hedge with fees and spread (fixed threshold),
   in path-steps per second per core, against a vectorised-numpy peer and the pure-Python
   twin measured in the same run.
2. The 10-option book (legs expiring at 45 and 90 days, so none expires in the run,
   marked sticky-moneyness on the embedded demo surface) on SVCJ paths at 1-minute steps
   over 30 days, Greeks and policy every minute: the full 10,000 paths (target: within 2
   minutes on 2 cores), marked hourly and marked every minute. ``--quick``
   runs 100 paths of each and extrapolates linearly (paths are independent).
3. On SVCJ BTC paths and on the real Deribit snapshots: at equal hedging error, the cost
   of the best band policy relative to the best fixed-interval and fixed-threshold
   policies; and the error reduction of smile-adjusted, minimum-variance and model
   deltas over Black-76.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import numba
import numpy as np
from rich.console import Console
from rich.table import Table

from deltahedge.backtest.models import GBM_BTC, SVCJ_BTC, simulate_paths
from deltahedge.backtest.policies import Policy, PolicyKind
from deltahedge.backtest.reference import simulate_path_reference
from deltahedge.backtest.simulator import Book, Costs, DeltaModel, simulate
from deltahedge.bench.timing import best_time

__all__ = ["run"]

_MAX_THREADS = numba.get_num_threads()

SHARED = Path(
    os.environ.get("DELTAHEDGE_SHARED", Path(__file__).resolve().parents[3].parent / "shared")
)


def _numpy_peer(
    paths: np.ndarray, k: float, t_exp: float, vol: float, dt: float, band: float, fee: float
) -> np.ndarray:
    """Vectorised numpy twin (across paths, loop over steps): short call, threshold hedge."""
    from scipy.special import ndtr

    n, m1 = paths.shape
    h = np.zeros(n)
    cash = np.zeros(n)
    for j in range(m1):
        f = paths[:, j]
        if j > 0:
            cash += h * (f - paths[:, j - 1])
        tau = max(t_exp - j * dt, 1e-12)
        sq = vol * math.sqrt(tau)
        d = -ndtr(np.log(f / k) / sq + 0.5 * sq) + h
        trade = np.abs(d) > band
        q = np.where(trade, -d, 0.0)
        cash -= np.abs(q) * f * fee
        h += q
    return cash


def _throughput(console: Console, quick: bool) -> None:
    n_paths, n_steps = (2000, 500) if quick else (10000, 2000)
    t_exp = 30 / 365
    dt = t_exp / n_steps
    paths, _ = simulate_paths(GBM_BTC, 90_000.0, dt, n_steps, n_paths, seed=1)
    book = Book(
        np.array([1.0]), np.array([90_000.0]), np.array([t_exp]), np.array([-1.0]), np.array([0.6])
    )
    pol = Policy(PolicyKind.FIXED_THRESHOLD, (0.05,))
    costs = Costs(taker_fee=5e-4, half_spread=1e-4)
    work = n_paths * n_steps
    table = Table(title=f"One-option Black-76 hedge with costs: {n_paths} paths x {n_steps} steps")
    for col in ("implementation", "threads", "s", "M steps/s", "per core", "vs numpy"):
        table.add_column(col, justify="right")
    t_np = best_time(lambda: _numpy_peer(paths, 90_000.0, t_exp, 0.6, dt, 0.05, 6e-4), repeat=2)
    rows = []
    old = numba.get_num_threads()
    for th in sorted({1, min(2, _MAX_THREADS)}):
        numba.set_num_threads(th)
        for mark_every, label in ((1, "numba, mark each step"), (60, "numba, mark every 60")):

            def call(me: int = mark_every) -> object:
                return simulate(book, pol, paths=paths, dt=dt, costs=costs, mark_every=me)

            t = best_time(
                call,
                repeat=3,
            )
            rows.append((label, th, t))
    numba.set_num_threads(old)
    one = paths[0, :201]
    t_py = best_time(lambda: simulate_path_reference(book, pol, one, dt, costs), repeat=1)
    t_py_full = t_py * work / 200
    for label, th, t in rows:
        table.add_row(
            label,
            str(th),
            f"{t:.3f}",
            f"{work / t / 1e6:.1f}",
            f"{work / t / th / 1e6:.1f}",
            f"{t_np / t:.1f}x",
        )
    table.add_row(
        "numpy vectorised",
        "1",
        f"{t_np:.3f}",
        f"{work / t_np / 1e6:.1f}",
        f"{work / t_np / 1e6:.1f}",
        "1.0x",
    )
    table.add_row(
        "Python twin (extrap.)",
        "1",
        f"{t_py_full:.0f}",
        f"{work / t_py_full / 1e6:.3f}",
        f"{work / t_py_full / 1e6:.3f}",
        f"{t_np / t_py_full:.3f}x",
    )
    console.print(table)
    console.print("target: >= 20 M path-steps/s per core (one option, with costs)")


def _svcj_book(console: Console, quick: bool) -> None:
    from deltahedge.backtest.sweep import Scenario

    target_paths = 10_000
    # legs at 45 and 90 days: alive for the whole 30-day run
    sc = Scenario(book="ten", days=30.0, expiry_days=45.0, step_minutes=1.0)
    book = sc.make_book()
    pol = Policy(PolicyKind.FIXED_THRESHOLD, (0.5,))
    numba.set_num_threads(min(2, _MAX_THREADS))
    simulate(
        book, pol, model=SVCJ_BTC, f0=sc.f0, n_paths=2, dt=sc.dt, n_steps=100, costs=sc.costs()
    )
    table = Table(
        title=f"10-option book (45/90-day legs) on SVCJ paths, 30 days of 1-minute steps "
        f"({sc.n_steps} steps), Greeks and policy every minute"
    )
    for col in ("marking", "paths", "s", "M path-steps/s", "10k paths (s)", "target (s)"):
        table.add_column(col, justify="right")
    runs = ((60, 100), (1, 100)) if quick else ((60, target_paths), (1, target_paths))
    load = os.getloadavg()[0]
    for mark_every, n_paths in runs:
        t0 = time.perf_counter()
        simulate(
            book,
            pol,
            model=SVCJ_BTC,
            f0=sc.f0,
            n_paths=n_paths,
            dt=sc.dt,
            n_steps=sc.n_steps,
            costs=sc.costs(),
            mark_every=mark_every,
            seed=7,
        )
        t = time.perf_counter() - t0
        est = t * target_paths / n_paths
        table.add_row(
            f"every {mark_every} min",
            f"{n_paths:,}",
            f"{t:.1f}",
            f"{n_paths * sc.n_steps / t / 1e6:.2f}",
            f"{est:.0f}" + ("" if n_paths == target_paths else " (extrap.)"),
            "120",
        )
    console.print(table)
    console.print(
        f"threads: {numba.get_num_threads()}; paths generated inside the kernel; "
        f"1-minute load average before / after: {load:.2f} / {os.getloadavg()[0]:.2f} (other "
        "work on the machine slows the figures)"
    )


def _fmt(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) and math.isfinite(x) else "n/a"


def _report(console: Console, title: str, result: dict[str, Any]) -> None:
    t = Table(title=title)
    for col in ("delta", "err std", "band $", "interval $", "thresh. $", "band/int", "band/thr"):
        t.add_column(col, justify="right")
    for dm, c in result["comparison"].items():
        t.add_row(
            dm,
            _fmt(c.get("target_std")),
            _fmt(c.get("band_cost")),
            _fmt(c.get("interval_cost")),
            _fmt(c.get("threshold_cost")),
            _fmt(c.get("band_vs_interval")),
            _fmt(c.get("band_vs_threshold")),
        )
    console.print(t)
    idle = [dm for dm, c in result["comparison"].items() if c.get("band_cost") == 0.0]
    if idle:
        console.print(
            f"band $ 0 ({', '.join(idle)}): a band that never trades already has that error, "
            "so hedging with that delta does not lower the error on these paths"
        )
    dm = result["delta_models"]
    red = ", ".join(f"{k}: {v:+.1%}" for k, v in dm.get("reduction_vs_black76", {}).items())
    errs = ", ".join(f"{k} {v:,.1f}" for k, v in dm["error_std"].items())
    console.print(f"hedging error std by delta model (USD): {errs}")
    console.print(f"error reduction over Black-76: {red}")


def run(console: Console, quick: bool) -> None:
    """Print the throughput tables and the policy / delta-model report."""
    from deltahedge.backtest.runner import (
        deribit_min_variance_coeffs,
        deribit_svi_slice,
        run_deribit,
        run_sim,
    )
    from deltahedge.backtest.sweep import Scenario

    _throughput(console, quick)
    _svcj_book(console, quick)
    data = SHARED / "data" / "deribit_chain_2026"
    real = data.is_dir()
    svi = deribit_svi_slice(data, 7.0) if real else None
    mv = deribit_min_variance_coeffs(data) if real else None
    dms: tuple[DeltaModel, ...] = (DeltaModel.BLACK76, DeltaModel.SMILE, DeltaModel.MODEL)
    dms += (DeltaModel.MIN_VARIANCE,) if mv else ()
    sc = Scenario(
        model=SVCJ_BTC,
        n_paths=200 if quick else 2000,
        days=7.0,
        expiry_days=7.0,
        step_minutes=15.0 if quick else 5.0,
        svi=svi,
        min_variance=mv,
    )
    t0 = time.perf_counter()
    res = run_sim(sc, dms, n_points=4 if quick else 7)
    marks = "the 7-day Deribit slice" if svi else "the embedded demo surface"
    _report(
        console,
        f"SVCJ BTC paths: short 7-day ATM straddle marked on {marks}, {sc.n_paths} paths, "
        f"{sc.step_minutes:g}-min steps ({time.perf_counter() - t0:.0f} s)",
        res,
    )
    if real:
        _report(
            console, "Real Deribit snapshots (25, 2026-01-01..07), perp-hedged", run_deribit(data)
        )
    else:
        console.print(f"[yellow]Deribit snapshots not found at {data}; real-data report skipped")

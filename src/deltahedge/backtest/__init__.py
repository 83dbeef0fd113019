"""Hedging-policy lab: seeded path models, a compiled hedge simulator, real-data replays,
cost-versus-error frontiers and sweeps (in-process or on Dask).

Typical use::

    from deltahedge.backtest import SVCJ_BTC, Book, Costs, Policy, PolicyKind, simulate
    book = Book.straddle(90_000.0, 7 / 365, 0.6)
    res = simulate(book, Policy(PolicyKind.FIXED_THRESHOLD, (0.1,)), model=SVCJ_BTC,
                   f0=90_000.0, n_paths=2000, dt=5 / 525600, n_steps=2016,
                   costs=Costs(taker_fee=5e-4), seed=1)
    res.summary()
"""

from deltahedge.backtest.book import Book, Costs, SimResult
from deltahedge.backtest.cos import cos_price_delta, model_delta_table
from deltahedge.backtest.frontier import compare_policies, cost_at_std, pareto
from deltahedge.backtest.models import (
    BATES_BTC,
    GBM_BTC,
    HESTON_BTC,
    MERTON_BTC,
    SVCJ_BTC,
    ModelKind,
    PathModel,
    bootstrap_paths,
    simulate_paths,
)
from deltahedge.backtest.policies import Policy, PolicyKind, leland_vol
from deltahedge.backtest.simulator import DeltaModel, simulate
from deltahedge.backtest.sweep import Scenario, SweepTask, default_grid, run_sweep

__all__ = [
    "BATES_BTC",
    "GBM_BTC",
    "HESTON_BTC",
    "MERTON_BTC",
    "SVCJ_BTC",
    "Book",
    "Costs",
    "DeltaModel",
    "ModelKind",
    "PathModel",
    "Policy",
    "PolicyKind",
    "Scenario",
    "SimResult",
    "SweepTask",
    "bootstrap_paths",
    "compare_policies",
    "cos_price_delta",
    "cost_at_std",
    "default_grid",
    "leland_vol",
    "model_delta_table",
    "pareto",
    "run_sweep",
    "simulate",
    "simulate_paths",
]

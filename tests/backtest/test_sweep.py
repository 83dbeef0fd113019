"""Sweeps: a real local Dask cluster gives exactly the in-process numbers; frontier maths."""

from __future__ import annotations

import math

import pytest

from deltahedge.backtest.frontier import (
    compare_policies,
    cost_at_std,
    pareto,
    write_html,
    write_png,
)
from deltahedge.backtest.models import GBM_BTC
from deltahedge.backtest.policies import Policy, PolicyKind
from deltahedge.backtest.sweep import Scenario, SweepTask, default_grid, run_sweep

SMALL = Scenario(model=GBM_BTC, n_paths=64, days=1.0, expiry_days=2.0, step_minutes=30.0)


def test_local_dask_cluster_reproduces_in_process_results_exactly():
    pytest.importorskip("distributed")
    tasks = [
        SweepTask(SMALL, Policy(PolicyKind.FIXED_INTERVAL, (2.0,))),
        SweepTask(SMALL, Policy(PolicyKind.FIXED_THRESHOLD, (0.1,))),
        SweepTask(SMALL, Policy(PolicyKind.HYSTERESIS, (0.2, 0.05))),
    ]
    here = run_sweep(tasks)
    done: list[int] = []
    there = run_sweep(tasks, local=True, n_workers=2, progress=lambda d, n: done.append(d))
    assert done[-1] == 3
    assert here == there  # every float equal, in task order


def test_default_grid_covers_every_policy_and_scales_bands_to_the_book():
    tasks = default_grid(SMALL, n_points=4)
    kinds = {t.policy.kind for t in tasks}
    assert kinds == set(PolicyKind)
    bands = [t.policy.params[0] for t in tasks if t.policy.kind == PolicyKind.FIXED_THRESHOLD]
    # straddle: 2 legs of 1 coin -> size 2; fractions 0.005 .. 0.5
    assert min(bands) == pytest.approx(0.01) and max(bands) == pytest.approx(1.0)


def _row(policy, std, cost, dm="BLACK76"):
    return {
        "policy": policy,
        "delta_model": dm,
        "params": "x",
        "std_pnl": std,
        "mean_cost": cost,
        "cvar95": 0.0,
        "cvar99": 0.0,
        "mean_trades": 1.0,
        "mean_turnover": 0.0,
        "mean_max_drawdown": 0.0,
        "mean_pnl": 0.0,
    }


def test_pareto_drops_dominated_points_and_interpolates_cost():
    rows = [_row("A", 1.0, 10.0), _row("A", 2.0, 4.0), _row("A", 1.5, 12.0), _row("A", 3.0, 1.0)]
    front = pareto(rows)
    assert [r["std_pnl"] for r in front] == [1.0, 2.0, 3.0]
    # halfway between (2, 4) and (3, 1): cost 2.5
    assert cost_at_std(front, 2.5) == pytest.approx(2.5)
    assert math.isnan(cost_at_std(front, 5.0))


def test_band_policy_cost_ratios_at_a_common_error():
    rows = [
        _row("FIXED_INTERVAL", 1.0, 8.0),
        _row("FIXED_INTERVAL", 3.0, 2.0),
        _row("FIXED_THRESHOLD", 1.0, 6.0),
        _row("FIXED_THRESHOLD", 3.0, 2.0),
        _row("HYSTERESIS", 1.0, 4.0),
        _row("HYSTERESIS", 3.0, 1.0),
    ]
    out = compare_policies(rows, ["HYSTERESIS"])
    # common range [1, 3], target sqrt(3); interval cost 8 - 3 (sqrt3 - 1) = 5.80...
    t = math.sqrt(3)
    assert out["target_std"] == pytest.approx(t)
    assert out["band_vs_interval"] == pytest.approx((4 - 1.5 * (t - 1)) / (8 - 3 * (t - 1)))
    assert out["band_vs_threshold"] == pytest.approx((4 - 1.5 * (t - 1)) / (6 - 2 * (t - 1)))


def test_reports_are_written_self_contained(tmp_path):
    rows = run_sweep(default_grid(SMALL, n_points=3))
    png = write_png(rows, tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = write_html(rows, tmp_path / "f.html", title="t").read_text()
    assert "Plotly.newPlot" in page and "<script src=" not in page
    assert len(page) > 1_000_000  # plotly.js is inlined


def test_cli_sweep_on_a_scheduler_address_matches_in_process(tmp_path):
    import json

    from dask.distributed import LocalCluster
    from typer.testing import CliRunner

    from deltahedge.backtest.runner import run_sim
    from deltahedge.backtest.simulator import DeltaModel
    from deltahedge.cli import app

    args = [
        "--model",
        "gbm",
        "--paths",
        "16",
        "--days",
        "0.5",
        "--step-minutes",
        "60",
        "--delta",
        "black76",
        "--points",
        "2",
        "--seed",
        "5",
    ]
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        res = CliRunner().invoke(
            app,
            [
                "sweep",
                "--scheduler",
                cluster.scheduler_address,
                *args,
                "--json",
                "--out",
                str(tmp_path),
            ],
        )
    assert res.exit_code == 0, res.output
    remote = json.loads((tmp_path / "rows.json").read_text())
    sc = Scenario(model=GBM_BTC, days=0.5, expiry_days=0.5, step_minutes=60, n_paths=16, seed=5)
    local = run_sim(sc, (DeltaModel.BLACK76,), 2)["rows"]
    assert remote == local


def test_band_policy_costs_without_overlapping_frontiers():
    rows = [
        _row("FIXED_INTERVAL", 1.0, 8.0),
        _row("FIXED_INTERVAL", 1.2, 5.0),
        _row("FIXED_THRESHOLD", 2.0, 3.0),
        _row("FIXED_THRESHOLD", 2.5, 2.0),
        _row("HYSTERESIS", 1.5, 4.0),
        _row("HYSTERESIS", 3.0, 1.0),
    ]
    out = compare_policies(rows, ["HYSTERESIS"])
    # smallest error all reach: 2.0; cheapest at or below it: interval 5, threshold 3, band 4
    assert out["target_std"] == 2.0 and out["interpolated"] == 0.0
    assert out["band_vs_interval"] == pytest.approx(4 / 5)
    assert out["band_vs_threshold"] == pytest.approx(4 / 3)


def test_scenarios_are_marked_on_the_demo_surface_by_default():
    from deltahedge.backtest.book import demo_surface
    from deltahedge.core.errors import InvalidInput

    surf = demo_surface()
    book = Scenario(expiry_days=7.0).make_book()
    # nearest slice to 7 days is the first one (11 days, T = 0.029975); ATM k = 0:
    # vol = sqrt(w(0) / T_slice), w(0) = a + b (-rho m + sqrt(m^2 + s^2))
    a, b, rho, m, s = surf.params[0]
    w0 = a + b * (-rho * m + math.sqrt(m * m + s * s))
    assert book.svi is not None
    assert book.svi[0, 5] == pytest.approx(surf.T[0])
    assert book.vol[0] == pytest.approx(math.sqrt(w0 / surf.T[0]), rel=1e-12)
    # a 60-day leg takes the 53-day slice (T = 0.145)
    far = Scenario(expiry_days=60.0).make_book()
    assert far.svi[0, 5] == pytest.approx(surf.T[3])
    assert Scenario(surface="flat").make_book().svi is None
    with pytest.raises(InvalidInput, match="allowed: demo, flat"):
        Scenario(surface="sabr")

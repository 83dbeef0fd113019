"""`deltahedge backtest` end to end: the --json summary of a simulated run, the progress bar,
the Bitstamp market, and the cost options."""

from __future__ import annotations

import itertools
import json
import math
import re

import pytest
from typer.testing import CliRunner

from deltahedge.cli import app

SMALL = ["--model", "gbm", "--paths", "24", "--days", "0.5", "--expiry-days", "2"]
SMALL += ["--step-minutes", "60", "--points", "3", "--seed", "7"]


def _dominated(p: dict, rows: list[dict]) -> bool:
    return any(
        r["std_pnl"] <= p["std_pnl"]
        and r["mean_cost"] <= p["mean_cost"]
        and (r["std_pnl"] < p["std_pnl"] or r["mean_cost"] < p["mean_cost"])
        for r in rows
    )


def test_sim_json_summary_is_consistent_with_the_rows(tmp_path):
    res = CliRunner().invoke(
        app, ["backtest", *SMALL, "--funding", "0.1", "--json", "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    rows = json.loads((tmp_path / "rows.json").read_text())
    sc = out["scenario"]
    assert sc["n_paths"] == 24 and sc["funding_rate"] == 0.1 and sc["surface"] == "demo"
    assert all(r["paths"] == 24.0 for r in rows)
    # 10 policy families x 3 settings (fixed interval: 1, 2 and 3 steps of the 12)
    assert len(rows) == 30
    # funding is charged: a long or short perp pays or earns it on every path
    assert any(r["mean_funding"] != 0.0 for r in rows)
    for key, front in out["frontiers"].items():
        policy, dm = key.split("/")
        group = [r for r in rows if r["policy"] == policy and r["delta_model"] == dm]
        stds = [p["std_pnl"] for p in front]
        costs = [p["mean_cost"] for p in front]
        assert stds == sorted(stds) and all(a > b for a, b in itertools.pairwise(costs))
        assert not any(_dominated(p, group) for p in front), key  # non-dominated
        # and every setting left out is dominated by a frontier point
        kept = {p["params"] for p in front}
        assert all(_dominated(r, front) for r in group if r["params"] not in kept), key
    c = out["comparison"]["BLACK76"]
    assert c["band_vs_interval"] == pytest.approx(c["band_cost"] / c["interval_cost"])
    assert c["band_vs_threshold"] == pytest.approx(c["band_cost"] / c["threshold_cost"])


def test_progress_bar_is_drawn_on_a_terminal():
    # rich draws on a terminal only; TTY_COMPATIBLE/TTY_INTERACTIVE make stderr one
    env = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "120"}
    res = CliRunner().invoke(app, ["backtest", *SMALL, "--json"], env=env)
    assert res.exit_code == 0, res.output
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", res.stderr)
    assert "backtest sim" in plain and "━" in plain
    assert "30/30" in plain  # the bar's last state: every grid point done
    json.loads(res.stdout)  # the bar stays off stdout


def test_cli_rejects_a_bad_cost_option_value():
    res = CliRunner().invoke(app, ["backtest", *SMALL, "--lot", "-1"])
    assert res.exit_code != 0
    assert "costs must be >= 0" in str(res.exception)


def test_bitstamp_market_end_to_end_on_one_day_windows(shared_data):
    res = CliRunner().invoke(
        app,
        [
            *("backtest", "--market", "bitstamp", "--days", "1", "--points", "2"),
            *("--data", str(shared_data), "--json"),
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    # 38,942 closes, windows of 1,440 minutes every 720: starts 0, 720, ... < 37,502 -> 53
    assert out["market"] == "Bitstamp 1-min, 53 windows of 1 days"
    assert set(out["comparison"]) == {"BLACK76", "SMILE"}
    _a, b, rho, _m, _s, t = out["svi"]
    assert b > 0 and -1 < rho < 1 and 0 < t < 30 / 365  # a Deribit slice near 1 day
    err = out["delta_models"]["error_std"]
    assert math.isfinite(err["BLACK76"]) and math.isfinite(err["SMILE"])
    assert "WHALLEY_WILMOTT/SMILE" in out["frontiers"]

"""The human-readable backtest report: parameter names, and the summary table's ratios."""

from __future__ import annotations

import io

from rich.console import Console

from deltahedge.backtest.frontier import describe_params, summary_table


def test_describe_params_names_each_policy_parameter():
    # HYSTERESIS params are (outer, inner) in coin, shown to 3 significant digits
    assert describe_params("HYSTERESIS", "0.215443,0.107722") == "outer=0.215 inner=0.108"
    assert describe_params("FIXED_INTERVAL", "63") == "every=63"
    assert describe_params("WHALLEY_WILMOTT", "1e-07,0.0006") == "lambda=1e-07 k=0.0006"
    # an unknown policy keeps its raw values rather than inventing names
    assert describe_params("CUSTOM", "1,2") == "1 2"


def _render(summary: dict) -> str:
    buf = io.StringIO()
    Console(file=buf, width=120).print(summary_table(summary))
    return buf.getvalue()


def test_summary_table_shows_ratios_and_error_change():
    summary = {
        "comparison": {
            "BLACK76": {
                "target_std": 4482.4,
                "band_cost": 53.5,
                "band_vs_interval": 53.5 / 73.6,  # 0.727
                "band_vs_threshold": 53.5 / 311.2,  # 0.172
            },
            "MODEL": {"target_std": float("nan")},
        },
        # reduction 0.063 = error 6.3 % lower than Black-76
        "delta_models": {"reduction_vs_black76": {"MODEL": 0.063}},
    }
    text = _render(summary)
    assert "0.727x" in text and "0.172x" in text
    assert "frontiers do not meet" in text  # MODEL had no common error level
    assert "model -6.3 %" in text


def test_summary_table_says_when_the_best_band_never_trades():
    # Deribit sample, mark-IV delta: the only band point on the frontier at the fixed
    # interval's error is a band that never trades (cost 0), so the ratio 0/104.4 = 0
    summary = {
        "comparison": {
            "MARK_IV": {
                "target_std": 224.3,
                "band_cost": 0.0,
                "band_vs_interval": 0.0 / 104.4,
                "band_vs_threshold": float("nan"),
            },
            "BLACK76": {"target_std": 208.1, "band_cost": 59.9, "band_vs_interval": 0.655},
        },
    }
    text = _render(summary)
    assert "0.0 (no trades)" in text and "0.000x" in text
    assert "never trades" in text
    assert "59.9 (no trades)" not in text  # only the zero-cost row is marked
    # without a zero-cost row there is no such note
    del summary["comparison"]["MARK_IV"]
    assert "never trades" not in _render(summary)

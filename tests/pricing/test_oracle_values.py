"""Every published value of ../shared/reference/oracle_values.json, reproduced."""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.pricing import bsm, implied_vol_inverse, inverse_black76


def test_published_bsm_cases_match_within_their_tolerance(oracle_values: dict) -> None:
    checked = 0
    for case in oracle_values["cases"]:
        assert case["model"] == "bsm"
        g = bsm(case["kind"], case["S"], case["K"], case["T"], case["sigma"], case["r"], case["q"])
        for key, want in case["expect"].items():
            if key == "theta_per_day_365":
                got = float(g.theta) / 365.0
            else:
                got = float(getattr(g, key))
            assert got == pytest.approx(want, abs=case["tol"] * max(1.0, abs(want))), (
                case["source"],
                key,
            )
            checked += 1
    assert checked >= 15


def test_deribit_hand_check_btc_27mar26_90000_c_matches(oracle_values: dict) -> None:
    case = next(c for c in oracle_values["deribit"] if "black76_r0" in c)
    want = case["black76_r0"]
    g = inverse_black76(case["kind"], case["F"], case["K"], case["T"], case["sigma"])
    # published to 5 significant digits: compare at half a unit of the last digit
    assert float(g.price_coin) == pytest.approx(want["price_coin"], abs=5e-6)
    assert float(g.delta) == pytest.approx(want["delta"], abs=5e-6)
    assert float(g.delta_premium_adjusted) == pytest.approx(
        want["premium_adjusted_delta"], abs=5e-5
    )
    assert float(g.vega_usd) / 100.0 == pytest.approx(want["vega_usd_per_1pct"], abs=5e-3)
    # and against the venue's own numbers, which use its own forward/time rounding
    venue = case["deribit"]
    assert float(g.price_coin) == pytest.approx(venue["mark_price_coin"], rel=1e-3)
    assert float(g.delta) == pytest.approx(venue["delta"], abs=1e-3)
    iv = implied_vol_inverse(
        venue["mark_price_coin"], case["kind"], case["F"], case["K"], case["T"]
    )
    assert np.isfinite(iv) and abs(float(iv) - case["sigma"]) < 2e-3

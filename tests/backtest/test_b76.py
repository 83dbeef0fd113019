"""The simulator's private Black-76 hot path against deltahedge.pricing.kernels."""

from __future__ import annotations

import math

import pytest

from deltahedge.backtest._b76 import (
    b76_delta_only,
    b76_greeks,
    b76_price_delta,
    b76_price_delta_x,
)
from deltahedge.pricing import kernels as pk


@pytest.mark.parametrize("cp", [1.0, -1.0])
@pytest.mark.parametrize(
    ("f", "k", "t", "s"),
    [
        (100.0, 100.0, 0.1, 0.6),
        (93636.6, 90000.0, 0.221604, 0.4349),
        (50.0, 80.0, 2.0, 1.2),
        (120.0, 80.0, 0.001, 0.3),
    ],
)
def test_hot_path_matches_the_pricing_kernels(cp, f, k, t, s):
    price, delta, gamma, vega = b76_greeks(cp, f, k, t, s)
    assert price == pytest.approx(pk.b76_price(cp, f, k, t, s, 0.0), rel=1e-12, abs=1e-12)
    assert delta == pytest.approx(pk.b76_delta(cp, f, k, t, s, 0.0), rel=1e-12, abs=1e-15)
    assert gamma == pytest.approx(pk.b76_gamma(cp, f, k, t, s, 0.0), rel=1e-12, abs=1e-15)
    assert vega == pytest.approx(pk.b76_vega(cp, f, k, t, s, 0.0), rel=1e-12, abs=1e-12)
    assert b76_price_delta(cp, f, k, t, s) == pytest.approx((price, delta), rel=1e-12, abs=1e-15)
    assert b76_delta_only(cp, f, k, t, s) == pytest.approx(delta, rel=1e-12, abs=1e-15)


def test_deribit_hand_check():
    # README: BTC-27MAR26-90000-C, F 93636.6, T 0.221604, sigma 0.4349 -> 0.10085 BTC, N(d1) 0.61633
    price, delta, _, vega = b76_greeks(1.0, 93636.6, 90000.0, 0.221604, 0.4349)
    assert price / 93636.6 == pytest.approx(0.10085, abs=1e-5)
    assert delta == pytest.approx(0.61633, abs=1e-5)
    assert vega / 100 == pytest.approx(168.32, abs=0.01)


@pytest.mark.parametrize("cp", [1.0, -1.0])
@pytest.mark.parametrize(
    ("f", "k", "t", "s"),
    [
        (100.0, 100.0, 0.1, 0.6),  # |d| < 0.66: Cody's erf range for both
        (93636.6, 90000.0, 0.221604, 0.4349),
        (50.0, 80.0, 2.0, 1.2),
        (120.0, 80.0, 0.001, 0.3),  # d ~ 43: n(d1) underflows, N(d2) from its own density
        (90000.0, 60000.0, 0.05, 0.6),  # d ~ 3, erfcx range, n(d2) = n(d1) F / K
    ],
)
def test_one_exp_price_delta_matches_erfc(cp, f, k, t, s):
    # the simulator's vexp + Cody form against the two-erfc form, same inputs
    sq = s * math.sqrt(t)
    price, delta = b76_price_delta_x(cp, f, k, math.log(f / k), sq)
    ref_p, ref_d = b76_price_delta(cp, f, k, t, s)
    assert price == pytest.approx(ref_p, rel=1e-13, abs=1e-12 * f)
    assert delta == pytest.approx(ref_d, rel=1e-13, abs=1e-16)

"""Parity: the compiled policy decisions against the pure-Python policies of deltahedge.hedging.

Same inputs (net delta, book gamma, spot, realised vol, whether the interval is due), same
decision: no trade, or the same net delta after the trade. Leland differs by design (the
kernel recomputes each leg's delta at Leland's vol; ``hedging.Leland`` adjusts the book
delta by its vanna to first order), so it is held to the formula instead.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from deltahedge.backtest.policies import NO_TRADE, Policy, PolicyKind, decide_kernel, leland_vol
from deltahedge.hedging import policies as hedging
from deltahedge.hedging.bands import leland_vol_factor
from deltahedge.hedging.state import HedgeState
from tests.hedging.helpers import make_market, make_risk

TS = 10**18
NS = 10**9


def _python_target(policy, delta, gamma, spot, state):
    intent = policy.decide(make_risk(delta, gamma, spot, ts=TS), make_market(spot, ts=TS), state)
    return NO_TRADE if intent is None else delta + intent.delta_coin


def _kernel_target(policy: Policy, delta, gamma, spot, step, sig_hat):
    return decide_kernel(int(policy.kind), policy.as_array(), delta, gamma, spot, step, sig_hat)


def _cases(n=300, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield (
            float(rng.normal(0, 2)),
            float(rng.normal(0, 1e-4)),
            float(rng.uniform(5e4, 1.2e5)),
            float(rng.uniform(0.2, 1.5)),
        )


PAIRS = [
    (hedging.FixedThreshold(threshold=0.7), Policy(PolicyKind.FIXED_THRESHOLD, (0.7,))),
    (hedging.Hysteresis(outer=1.2, inner=0.3), Policy(PolicyKind.HYSTERESIS, (1.2, 0.3))),
    (
        hedging.WhalleyWilmott(cost=6e-4, risk_aversion=1e-5),
        Policy(PolicyKind.WHALLEY_WILMOTT, (1e-5, 6e-4)),
    ),
]


@pytest.mark.parametrize(("py", "kernel"), PAIRS, ids=lambda p: getattr(p, "name", ""))
def test_band_policies_decide_the_same(py, kernel):
    n_trades = 0
    for delta, gamma, spot, _ in _cases():
        want = _python_target(py, delta, gamma, spot, HedgeState())
        got = _kernel_target(kernel, delta, gamma, spot, 1, 0.0)
        if want == NO_TRADE:
            assert got == NO_TRADE
        else:
            n_trades += 1
            assert got == pytest.approx(want, abs=1e-12)
    assert 20 < n_trades < 300  # both branches exercised


def test_vol_adaptive_band_uses_the_same_vol_scaling():
    py = hedging.VolAdaptive(base_band=0.8, sigma_ref=0.6, elasticity=1.5)
    kernel = Policy(PolicyKind.VOL_ADAPTIVE, (0.8, 60.0, 0.6, 1.5))
    for delta, gamma, spot, vol in _cases():
        want = _python_target(py, delta, gamma, spot, HedgeState(vol_forecast=vol))
        got = _kernel_target(kernel, delta, gamma, spot, 1, vol)
        assert (want == NO_TRADE) == (got == NO_TRADE)
        if want != NO_TRADE:
            assert got == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("due", [True, False])
def test_interval_policies_trade_when_due(due):
    # kernel: every 2 decision steps (step 0 due, step 1 not); python: 60 s interval with
    # the last hedge 60 s ago (due) or 30 s ago (not due)
    state = HedgeState(last_hedge_ns=TS - (60 if due else 30) * NS, n_hedges=1)
    step = 0 if due else 1
    pairs = [
        (hedging.FixedInterval(interval_s=60.0), Policy(PolicyKind.FIXED_INTERVAL, (2.0,))),
        (
            hedging.TimeOrThreshold(threshold=1.0, interval_s=60.0),
            Policy(PolicyKind.TIME_OR_THRESHOLD, (2.0, 1.0)),
        ),
    ]
    for py, kernel in pairs:
        for delta, gamma, spot, _ in _cases(100):
            want = _python_target(py, delta, gamma, spot, state)
            got = _kernel_target(kernel, delta, gamma, spot, step, 0.0)
            assert (want == NO_TRADE) == (got == NO_TRADE)
            if want != NO_TRADE:
                assert got == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("long", [False, True])
def test_leland_vol_matches_the_hedging_band_formula(long):
    sigma, k, dt = 0.6, 0.002, 1 / 365 / 24
    gamma = 1e-5 if long else -1e-5
    assert leland_vol(sigma, k, dt, long=long) == pytest.approx(
        sigma * leland_vol_factor(sigma, k, dt, gamma), rel=1e-14
    )
    assert (leland_vol(sigma, k, dt, long=long) > sigma) != long
    assert math.isfinite(leland_vol(sigma, 1.0, dt, long=True))

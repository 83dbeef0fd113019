"""Parity: the compiled policy decisions against the pure-Python policies of deltahedge.hedging.

Same inputs (net delta, book gamma, spot, vanna, expiry, realised vol, whether the
interval is due), same decision: no trade, or the same net delta after the trade. Leland
differs by design (the kernel recomputes each leg's delta at Leland's vol;
``hedging.Leland`` adjusts the book delta by its vanna to first order), so it is held to
the formula instead. Jitter: the kernel's size jitter is ``hedging``'s, draw for draw.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from deltahedge.backtest.policies import (
    NO_TRADE,
    POLICY_MAP,
    Policy,
    PolicyKind,
    decide_kernel,
    decide_reference,
    jitter_trade,
    leland_vol,
)
from deltahedge.hedging import policies as hedging
from deltahedge.hedging.bands import leland_vol_factor
from deltahedge.hedging.state import HedgeState, Jitter
from tests.hedging.helpers import make_market, make_risk

TS = 10**18
NS = 10**9
YEAR_NS = 365 * 86_400 * NS


def _python_target(policy, delta, gamma, spot, state, vanna=0.0, vega=0.0, tau=30 / 365, rng=None):
    risk = make_risk(
        delta, gamma, spot, ts=TS, vanna_sigma=vanna, vega=vega, expiry_ns=TS + round(tau * YEAR_NS)
    )
    intent = policy.decide(risk, make_market(spot, ts=TS), state, rng)
    return NO_TRADE if intent is None else delta + intent.delta_coin


def _kernel_target(policy: Policy, delta, gamma, spot, due, sig_hat, vanna=0.0, tau=0.0):
    d_eff, target, _ = decide_kernel(
        int(policy.kind), policy.as_array(), delta, gamma, spot, due, sig_hat, vanna, tau
    )
    return NO_TRADE if target == NO_TRADE else delta + (target - d_eff)


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
    (
        hedging.GammaWeighted(multiple=2.0, horizon_s=7200.0, sigma=0.7),
        Policy(PolicyKind.GAMMA_WEIGHTED, (2.0, 7200.0, 0.7)),
    ),
]


@pytest.mark.parametrize(("py", "kernel"), PAIRS, ids=lambda p: getattr(p, "name", ""))
def test_band_policies_decide_the_same(py, kernel):
    n_trades = 0
    for delta, gamma, spot, _ in _cases():
        want = _python_target(py, delta, gamma, spot, HedgeState())
        got = _kernel_target(kernel, delta, gamma, spot, False, 0.0)
        ref = decide_reference(kernel, delta, gamma, spot, False, 0.0)
        assert (ref[1] == NO_TRADE) == (got == NO_TRADE)
        if want == NO_TRADE:
            assert got == NO_TRADE
        else:
            n_trades += 1
            assert got == pytest.approx(want, abs=1e-12)
    assert 20 < n_trades < 300  # both branches exercised


@pytest.mark.parametrize("tau_param", [0.0, 0.05])
def test_zakamouline_decides_the_same_on_the_modified_vol_delta(tau_param):
    # kernel tau 0 = the book's vega-weighted expiry, as hedging's tau_years = 0
    py = hedging.Zakamouline(cost=5e-4, risk_aversion=2e-5, sigma=0.6, tau_years=tau_param)
    kernel = Policy(PolicyKind.ZAKAMOULINE, (2e-5, 5e-4, 0.6, tau_param))
    rng = np.random.default_rng(1)
    n_trades = 0
    for delta, gamma, spot, _ in _cases():
        vanna = float(rng.normal(0, 0.5))
        tau = float(rng.uniform(2, 90)) / 365
        want = _python_target(py, delta, gamma, spot, HedgeState(), vanna, vega=100.0, tau=tau)
        got = _kernel_target(kernel, delta, gamma, spot, False, 0.0, vanna, tau)
        ref = decide_reference(kernel, delta, gamma, spot, False, 0.0, vanna, tau)
        assert (ref[1] == NO_TRADE) == (got == NO_TRADE)
        if want == NO_TRADE:
            assert got == NO_TRADE
        else:
            n_trades += 1
            assert got == pytest.approx(want, abs=1e-9)
            assert delta + ref[1] - ref[0] == pytest.approx(got, abs=1e-9)  # the readable twin
    assert 20 < n_trades < 300


def test_vol_adaptive_band_uses_the_same_vol_scaling():
    py = hedging.VolAdaptive(base_band=0.8, sigma_ref=0.6, elasticity=1.5)
    kernel = Policy(PolicyKind.VOL_ADAPTIVE, (0.8, 60.0, 0.6, 1.5))
    for delta, gamma, spot, vol in _cases():
        want = _python_target(py, delta, gamma, spot, HedgeState(vol_forecast=vol))
        got = _kernel_target(kernel, delta, gamma, spot, False, vol)
        assert (want == NO_TRADE) == (got == NO_TRADE)
        if want != NO_TRADE:
            assert got == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("due", [True, False])
def test_interval_policies_trade_when_due(due):
    # python: 60 s interval with the last hedge 60 s ago (due) or 30 s ago (not due)
    state = HedgeState(last_hedge_ns=TS - (60 if due else 30) * NS, n_hedges=1)
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
            got = _kernel_target(kernel, delta, gamma, spot, due, 0.0)
            assert (want == NO_TRADE) == (got == NO_TRADE)
            if want != NO_TRADE:
                assert got == pytest.approx(want, abs=1e-12)


def test_size_jitter_is_hedgings_draw_for_draw():
    # the same uniform draw scales the hedge and clips it into the band on both sides
    py = hedging.Hysteresis(outer=0.5, inner=0.2, jitter=Jitter(size=0.6))
    kernel = Policy(PolicyKind.HYSTERESIS, (0.5, 0.2), jitter=(0.0, 0.6))
    n = 0
    for i, (delta, gamma, spot, _) in enumerate(_cases(200)):
        want = _python_target(py, delta, gamma, spot, HedgeState(), rng=np.random.default_rng(i))
        d_eff, target, band = decide_kernel(
            int(kernel.kind), kernel.as_array(), delta, gamma, spot, False, 0.0, 0.0, 0.0
        )
        if target == NO_TRADE:
            assert want == NO_TRADE
            continue
        u = float(np.random.default_rng(i).uniform(-1.0, 1.0))
        got = delta + jitter_trade(d_eff, target, band, 0.6, u)
        assert got == pytest.approx(want, abs=1e-12)
        assert abs(got) <= 0.2 + 1e-12  # never outside the inner band
        n += 1
    assert n > 50


def test_policy_map_names_the_hedging_policies():
    assert set(POLICY_MAP) == set(PolicyKind)
    for kind, name in POLICY_MAP.items():
        assert name in hedging.POLICIES, (kind, name)
    assert len(set(POLICY_MAP.values())) == len(hedging.POLICIES)  # all nine, once each


@pytest.mark.parametrize("long", [False, True])
def test_leland_vol_matches_the_hedging_band_formula(long):
    sigma, k, dt = 0.6, 0.002, 1 / 365 / 24
    gamma = 1e-5 if long else -1e-5
    assert leland_vol(sigma, k, dt, long=long) == pytest.approx(
        sigma * leland_vol_factor(sigma, k, dt, gamma), rel=1e-14
    )
    assert (leland_vol(sigma, k, dt, long=long) > sigma) != long
    assert math.isfinite(leland_vol(sigma, 1.0, dt, long=True))

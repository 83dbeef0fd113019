"""Smile-adjusted deltas, the minimum-variance regression and the gain table."""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.core.errors import InvalidInput
from deltahedge.marketdata import OptionChain
from deltahedge.pricing import black76_delta, black76_price, black76_risk
from deltahedge.surface import (
    HedgeSteps,
    Surface,
    _eval,
    fit_min_variance,
    fit_min_variance_steps,
    hedge_gain_table,
    smile_delta,
)


def _flat_surface(sigma: float, F: float, T: float) -> Surface:
    # One slice with w(k) = sigma^2 T everywhere (b = 0).
    return Surface(
        method="svi",
        underlying="BTC",
        ts_ns=0,
        spot=F,
        expiry_ns=np.array([1], dtype=np.int64),
        T=np.array([T]),
        forwards=np.array([F]),
        params=np.array([[sigma**2 * T, 0.0, 0.0, 0.0, 0.1]]),
    )


def test_sticky_strike_delta_on_a_flat_surface_is_deribits_black76_delta(
    oracle_values: dict,
) -> None:
    case = oracle_values["deribit"][0]
    s = _flat_surface(case["sigma"], case["F"], case["T"])
    d = smile_delta(s, "call", case["F"], case["K"], case["T"], "sticky_strike")
    assert float(d) == pytest.approx(case["black76_r0"]["delta"], abs=5e-5)
    assert float(d) == pytest.approx(case["deribit"]["delta"], abs=2e-4)
    put = smile_delta(s, "put", case["F"], case["K"], case["T"], "sticky_strike")
    assert float(put) == pytest.approx(float(d) - 1.0, abs=1e-12)


def test_sticky_moneyness_delta_is_the_price_derivative_with_the_smile_moving(
    svi_surfaces: dict[str, list[Surface]],
) -> None:
    s = svi_surfaces["BTC"][3]
    T = np.array([0.05, 0.2, 0.45, 0.2])
    F = s.forward(T)
    K = F * np.array([0.85, 1.0, 1.2, 1.1])
    phi = np.array([-1, 1, 1, -1], dtype=np.int8)

    def price(Fb: np.ndarray) -> np.ndarray:
        # sticky moneyness: the vol of strike K at forward Fb is sigma(k = ln(K/Fb))
        k = np.log(K / Fb)
        vol = np.sqrt(s.total_variance(k, T) / T)
        return black76_price(phi, Fb, K, T, vol)

    h = 1e-4 * F
    fd = (price(F + h) - price(F - h)) / (2 * h)
    np.testing.assert_allclose(smile_delta(s, phi, F, K, T, "sticky_moneyness"), fd, atol=1e-6)


def test_min_variance_delta_matches_hull_white_formula_by_hand() -> None:
    F, K, T, sig = 100.0, 100.0, 0.25, 0.5
    s = _flat_surface(sig, F, T)
    # d1 = sigma sqrt(T) / 2 = 0.125; delta_BS = N(0.125) = 0.549738;
    # vega = F n(0.125) sqrt(T) = 100 * 0.395838 * 0.5 = 19.7919;
    # delta_MV = 0.549738 + 19.7919 / (100 * 0.5) * (0.1 - 0.2 * 0.549738 + 0.3 * 0.549738^2)
    #          = 0.549738 + 0.395838 * (0.1 - 0.109948 + 0.090664) = 0.549738 + 0.031951
    #          = 0.581689
    d = smile_delta(s, "call", F, K, T, "min_variance", coeffs=(0.1, -0.2, 0.3))
    assert float(d) == pytest.approx(0.581689, abs=2e-6)


def test_delta_kernel_matches_its_python_twin(svi_surfaces: dict[str, list[Surface]]) -> None:
    s = svi_surfaces["ETH"][9]
    rng = np.random.default_rng(3)
    n = 200
    T = rng.uniform(0.001, 1.5, n)
    F = s.forward(T)
    K = F * np.exp(rng.normal(0, 0.3, n))
    phi = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    for dyn in (0, 1, 2):
        a, b = np.empty(n), np.empty(n)
        _eval.delta_kernel(s.T, s.params, phi, F, K, T, dyn, 0.1, -0.2, 0.3, a)
        _eval.delta_kernel.py_func(s.T, s.params, phi, F, K, T, dyn, 0.1, -0.2, 0.3, b)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    d0 = smile_delta(s, phi, F, K, T, "sticky_strike")
    sig = s.vol(K, T)
    np.testing.assert_allclose(d0, black76_delta(phi, F, K, T, sig), atol=1e-12)


def test_fit_min_variance_recovers_the_coefficients_of_synthetic_steps() -> None:
    rng = np.random.default_rng(11)
    n = 4000
    F = np.full(n, 100.0)
    K = rng.uniform(70, 130, n)
    T = rng.uniform(0.05, 1.0, n)
    sig = np.full(n, 0.6)
    phi = np.ones(n)
    d = black76_delta(phi, F, K, T, sig)
    vega = black76_risk(phi, F, K, T, sig).vega
    dF = rng.normal(0, 2.0, n)
    a, b, c = 0.05, -0.3, 0.2
    dV = d * dF + vega / np.sqrt(T) * dF / F * (a + b * d + c * d * d) + rng.normal(0, 0.001, n)
    h = HedgeSteps(
        kind=np.ones(n, dtype=np.int8),
        dV=dV,
        dF=dF,
        F=F,
        K=K,
        T=T,
        sigma=sig,
        delta_bs=d,
        vega=vega,
        step=np.zeros(n, dtype=np.int64),
    )
    np.testing.assert_allclose(fit_min_variance_steps(h), (a, b, c), atol=2e-3)


def test_gain_table_on_real_snapshots(
    real_chains: dict[str, list[OptionChain]], svi_surfaces: dict[str, list[Surface]]
) -> None:
    for u in ("BTC", "ETH"):
        rows = hedge_gain_table(real_chains[u], svi_surfaces[u])
        assert len(rows) == 20
        by = {(r.kind, r.bucket): r for r in rows}
        for kind in ("call", "put"):
            pooled = by[(kind, "all")]
            # least squares on the fitting half cannot do worse than beta = 0 (= BS delta)
            assert pooled.mv_in >= 0
            assert pooled.n_in > 1000 and pooled.n_out > 1000
        # put-call parity (C - P = F - K in USD) gives a call and the put of the same
        # strike the same hedging error, so mirrored buckets have the same gains
        for b in range(1, 10):
            c, p = by[("call", f"+{b / 10:.1f}")], by[("put", f"-{1 - b / 10:.1f}")]
            assert c.sm_in == pytest.approx(p.sm_in, abs=0.02)


def test_fit_min_variance_on_real_chains_and_bad_inputs(
    real_chains: dict[str, list[OptionChain]],
    svi_surfaces: dict[str, list[Surface]],
) -> None:
    a, b, c = fit_min_variance(real_chains["BTC"][:6], kind="put")
    assert all(np.isfinite([a, b, c]))
    s = svi_surfaces["BTC"][0]
    with pytest.raises(InvalidInput, match="coeffs"):
        smile_delta(s, "call", 90000.0, 90000.0, 0.1, "min_variance")
    with pytest.raises(InvalidInput, match="dynamics"):
        smile_delta(s, "call", 90000.0, 90000.0, 0.1, "sticky_delta")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="<= 0"):
        smile_delta(s, "call", 90000.0, 90000.0, -0.1)
    with pytest.raises(ValueError, match="option kind"):
        smile_delta(s, "straddle", 90000.0, 90000.0, 0.1)

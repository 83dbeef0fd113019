"""Smile-adjusted deltas, the minimum-variance regression and the gain table."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from deltahedge.core.errors import InvalidInput
from deltahedge.marketdata import OptionChain
from deltahedge.pricing import black76_delta, black76_price, black76_risk
from deltahedge.surface import (
    HedgeSteps,
    Surface,
    VolDelta,
    _eval,
    fit_min_variance,
    fit_min_variance_steps,
    hedge_gain_table,
    smile_delta,
    smile_vol_delta,
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


def _steps_by_hand(chains: list[OptionChain], kind: int) -> dict[str, np.ndarray]:
    # One-step hedge data built here, apart from delta.hedge_steps: each option of ``kind``
    # paired by name with itself in the next snapshot; value V = mark (coin) * forward (USD);
    # Black-76 delta and vega at its mark IV at the start; T <= 2 years.
    out: dict[str, list[float]] = {n: [] for n in ("V0", "V1", "F0", "F1", "K", "T", "iv", "step")}
    for step, (a, b) in enumerate(itertools.pairwise(chains)):
        where = {name: j for j, name in enumerate(b.instrument)}
        for i, name in enumerate(a.instrument):
            j = where.get(name)
            if j is None or a.kind[i] != kind:
                continue
            v0, v1 = a.mark[i] * a.forward[i], b.mark[j] * b.forward[j]
            ok = np.isfinite(v0) and np.isfinite(v1) and a.mark_iv[i] > 0
            if not (ok and 0 < a.T[i] <= 2.0 and b.T[j] > 0):
                continue
            vals = (v0, v1, a.forward[i], b.forward[j], a.strike[i], a.T[i], a.mark_iv[i], step)
            for n, x in zip(out, vals, strict=True):
                out[n].append(float(x))
    d = {n: np.array(v) for n, v in out.items()}
    phi = np.full(len(d["K"]), float(kind))
    d["delta"] = black76_delta(phi, d["F0"], d["K"], d["T"], d["iv"])
    d["vega"] = black76_risk(phi, d["F0"], d["K"], d["T"], d["iv"]).vega
    d["dV"], d["dF"] = d["V1"] - d["V0"], d["F1"] - d["F0"]
    return d


def _lstsq_gain(d: dict[str, np.ndarray], m: np.ndarray) -> tuple[np.ndarray, float]:
    # Hull and White (2017) eq. 8 by numpy least squares; the in-sample gain is then
    # 1 - SSE(residual) / SSE(Black-Scholes hedging error)
    base = d["vega"][m] / np.sqrt(d["T"][m]) * d["dF"][m] / d["F0"][m]
    delta = d["delta"][m]
    X = np.column_stack([base, base * delta, base * delta**2])
    y = d["dV"][m] - delta * d["dF"][m]
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return coef, 1.0 - float(np.sum((y - X @ coef) ** 2)) / float(np.sum(y**2))


def test_gain_table_on_real_snapshots(
    real_chains: dict[str, list[OptionChain]], svi_surfaces: dict[str, list[Surface]]
) -> None:
    for u in ("BTC", "ETH"):
        chains = real_chains[u]
        rows = hedge_gain_table(chains, svi_surfaces[u])
        assert len(rows) == 20
        by = {(r.kind, r.bucket): r for r in rows}
        half = (len(chains) + 1) // 2
        for kind, sign in (("call", 1), ("put", -1)):
            pooled = by[(kind, "all")]
            assert pooled.n_in > 1000 and pooled.n_out > 1000
            # in-sample: the table's coefficients and gain are numpy's least squares on the
            # fitting half, pooled over 0.05 <= |delta_BS| <= 0.95
            d = _steps_by_hand(chains[:half], sign)
            m = (np.abs(d["delta"]) >= 0.05) & (np.abs(d["delta"]) <= 0.95)
            assert int(m.sum()) == pooled.n_in
            coef, gain = _lstsq_gain(d, m)
            np.testing.assert_allclose(pooled.coeffs, coef, rtol=1e-6)
            assert pooled.mv_in == pytest.approx(gain, rel=1e-6)
            # sticky strike: Black-76 delta at the fitted surface's total variance
            w = np.array(
                [
                    svi_surfaces[u][int(s)].total_variance(np.log(K / F), T)
                    for s, K, F, T in zip(d["step"], d["K"], d["F0"], d["T"], strict=True)
                ]
            )
            ss = black76_delta(
                np.full(len(w), float(sign)), d["F0"], d["K"], d["T"], np.sqrt(w / d["T"])
            )
            e_bs = (d["dV"] - d["delta"] * d["dF"])[m]
            e_ss = (d["dV"] - ss * d["dF"])[m]
            assert pooled.ss_in == pytest.approx(1 - np.sum(e_ss**2) / np.sum(e_bs**2), abs=1e-9)
            # on these snapshots the surface sits within a vol point of the marks, so sticky
            # strike is Black-Scholes to within 2 % of the error variance; both smile
            # deltas beat it out of sample (2026-01-04 .. 07: MV 11.6-14.3 %, SM 9.7-11.3 %)
            assert abs(pooled.ss_in) < 0.02 and abs(pooled.ss_out) < 0.02
            assert pooled.mv_out > 0.05 and pooled.sm_out > 0.05, (u, kind)
        # put-call parity (C - P = F - K in USD) gives a call and the put of the same
        # strike the same hedging error, so mirrored buckets have the same gains
        for b in range(1, 10):
            c, p = by[("call", f"+{b / 10:.1f}")], by[("put", f"-{1 - b / 10:.1f}")]
            assert c.sm_in == pytest.approx(p.sm_in, abs=0.02)
            assert c.ss_in == pytest.approx(p.ss_in, abs=0.02)


def test_fit_min_variance_on_real_chains_and_bad_inputs(
    real_chains: dict[str, list[OptionChain]],
    svi_surfaces: dict[str, list[Surface]],
) -> None:
    chains = real_chains["BTC"][:6]
    got = fit_min_variance(chains, kind="put")
    d = _steps_by_hand(chains, -1)
    coef, _ = _lstsq_gain(d, np.ones(len(d["K"]), dtype=bool))
    np.testing.assert_allclose(got, coef, rtol=1e-6)
    s = svi_surfaces["BTC"][0]
    with pytest.raises(InvalidInput, match="coeffs"):
        smile_delta(s, "call", 90000.0, 90000.0, 0.1, "min_variance")
    with pytest.raises(InvalidInput, match="dynamics"):
        smile_delta(s, "call", 90000.0, 90000.0, 0.1, "sticky_delta")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="<= 0"):
        smile_delta(s, "call", 90000.0, 90000.0, -0.1)
    with pytest.raises(ValueError, match="option kind"):
        smile_delta(s, "straddle", 90000.0, 90000.0, 0.1)


def _random_book(s: Surface, n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    T = rng.uniform(0.5 * s.T[0], 1.5 * s.T[-1], n)  # before, between and after expiries
    T[:20] = s.T[rng.integers(0, len(s.T), 20)]  # and exactly at listed ones
    F = s.forward(T)
    K = F * np.exp(rng.normal(0, 0.3, n))
    phi = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    return phi, F, K, T


@pytest.mark.parametrize("dyn", ["sticky_strike", "sticky_moneyness", "min_variance"])
def test_fused_vol_delta_equals_the_separate_path_on_real_surfaces(
    svi_surfaces: dict[str, list[Surface]], ssvi_surfaces: dict[str, list[Surface]], dyn: str
) -> None:
    coeffs = (0.1, -0.2, 0.3) if dyn == "min_variance" else None
    for s in (svi_surfaces["BTC"][0], svi_surfaces["ETH"][17], ssvi_surfaces["BTC"][9]):
        phi, F, K, T = _random_book(s, 500, 9)
        r = smile_vol_delta(s, phi, F, K, T, dyn, coeffs)  # type: ignore[arg-type]
        np.testing.assert_allclose(r.vol, s.vol(K, T), rtol=1e-12)
        np.testing.assert_allclose(r.dvol_dk, s.dvol_dk(K, T), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(
            r.delta,
            smile_delta(s, phi, F, K, T, dyn, coeffs),
            rtol=1e-12,
            atol=1e-12,  # type: ignore[arg-type]
        )
        np.testing.assert_allclose(r.delta_bs, black76_delta(phi, F, K, T, r.vol), atol=1e-12)
        vega = black76_risk(phi.astype(float), F, K, T, r.vol).vega
        np.testing.assert_allclose(r.vega, vega, rtol=1e-10)
        # the pure-Python twin of the fused kernel gives the same numbers
        slow = [np.empty(500) for _ in range(5)]
        dyn_code = {"sticky_strike": 0, "sticky_moneyness": 1, "min_variance": 2}[dyn]
        ca, cb, cc = coeffs or (0.0, 0.0, 0.0)
        args = (s.T, s.params, phi, F, K, T, dyn_code, ca, cb, cc)
        assert _eval.vol_delta_kernel.py_func(*args, *slow) == 0
        for got, want in zip(r, slow, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_fused_vol_delta_method_writes_into_given_outputs_and_broadcasts(
    svi_surfaces: dict[str, list[Surface]],
) -> None:
    s = svi_surfaces["BTC"][4]
    phi, _, K, T = _random_book(s, 64, 1)
    out = VolDelta(*(np.empty(64) for _ in range(5)))
    got = s.vol_and_smile_delta(phi, None, K, T, out=out)  # F=None: the surface's forward
    assert got is out
    np.testing.assert_allclose(out.vol, s.vol(K, T), rtol=1e-12)
    # scalar kind and T broadcast against a 2-D strike grid
    KK = s.forwards[3] * np.exp(np.linspace(-0.3, 0.3, 12)).reshape(3, 4)
    r = smile_vol_delta(s, "put", s.forwards[3], KK, s.T[3], "sticky_strike")
    assert r.delta.shape == (3, 4)
    np.testing.assert_allclose(
        r.delta, smile_delta(s, "put", s.forwards[3], KK, s.T[3], "sticky_strike"), atol=1e-14
    )
    np.testing.assert_allclose(r.vol, s.vol(KK, s.T[3]), rtol=1e-12)


def test_fused_vol_delta_rejects_bad_options_and_outputs(
    svi_surfaces: dict[str, list[Surface]],
) -> None:
    s = svi_surfaces["ETH"][2]
    K = np.array([3000.0, -1.0, 3100.0])
    T = np.array([0.1, 0.1, 0.0])
    F = np.full(3, 3000.0)
    with pytest.raises(InvalidInput, match="2 option"):
        smile_vol_delta(s, np.ones(3), F, K, T)
    # the kernel marks exactly the bad rows NaN and keeps the good one
    outs = [np.empty(3) for _ in range(5)]
    assert _eval.vol_delta_kernel(s.T, s.params, np.ones(3), F, K, T, 1, 0.0, 0.0, 0.0, *outs) == 2
    for o in outs:
        assert np.isfinite(o[0]) and np.isnan(o[1]) and np.isnan(o[2])
    with pytest.raises(InvalidInput, match="out must be"):
        smile_vol_delta(s, np.ones(3), F, K, np.full(3, 0.1), out=VolDelta(*outs[:4], np.empty(2)))
    with pytest.raises(InvalidInput, match="coeffs"):
        smile_vol_delta(s, "call", 3000.0, 3000.0, 0.1, "min_variance")


def test_separate_kernels_mark_only_the_bad_rows_nan(
    svi_surfaces: dict[str, list[Surface]],
) -> None:
    s = svi_surfaces["BTC"][1]
    K = np.array([90000.0, 0.0, 95000.0, 100000.0])
    T = np.array([0.1, 0.1, -0.2, 0.3])
    F = np.full(4, 90000.0)
    phi = np.array([1.0, 1.0, -1.0, 2.0])  # kind 2 is not a call or put
    out = np.empty(4)
    assert _eval.delta_kernel(s.T, s.params, phi, F, K, T, 1, 0.0, 0.0, 0.0, out) == 3
    assert np.isfinite(out[0]) and np.all(np.isnan(out[1:]))
    vol, dvk = np.empty(4), np.empty(4)
    lfn, ls = np.log(s.forwards), float(np.log(s.spot))
    assert _eval.vol_kernel(s.T, lfn, ls, s.params, K, T, vol, dvk) == 2
    assert np.isfinite(vol[[0, 3]]).all() and np.isnan(vol[[1, 2]]).all()
    assert np.isnan(dvk[[1, 2]]).all()

"""Black-76 and BSM: the compiled path against its twin, QuantLib, parity and edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deltahedge.pricing import black76, black76_delta, black76_price, black76_risk, bsm
from deltahedge.pricing import reference as ref

from .conftest import random_inputs
from .helpers import greek_scales, inverse_scales, scaled_error

FIELDS = ("price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga", "charm")


def _args(d: dict) -> tuple:
    return d["phi"], d["F"], d["K"], d["T"], d["sigma"], d["r"]


def test_fast_black76_on_100k_random_inputs_matches_reference_twin_to_rounding(
    inputs_100k: dict,
) -> None:
    fast = black76(*_args(inputs_100k))
    slow = ref.black76(*_args(inputs_100k))
    scales = greek_scales(*_args(inputs_100k)[1:])
    for name in FIELDS:
        err = scaled_error(getattr(fast, name), getattr(slow, name), scales[name])
        # two different N implementations (Cody erfcx with a shared density vs scipy's
        # ndtr): they agree to a few ulps of each Greek's scale
        assert float(np.max(err)) < 1e-13, name


def test_fast_black76_where_every_d_is_within_cody_second_range_matches_twin() -> None:
    # Blocks whose |d1|, |d2| all stay below 4 sqrt(2) take the two-range (near) tail
    # code; the 100k inputs above have far strikes in nearly every block. Here strikes are
    # within 3 standard deviations and sigma sqrt(T) <= 2, so |d| <= 3 + 1 = 4 < 5.66,
    # with a dense sweep up to the edge of the range too.
    rng = np.random.default_rng(21)
    n = 60_000
    F = np.exp(rng.uniform(np.log(1e-2), np.log(1e6), n))
    sst = np.exp(rng.uniform(np.log(1e-4), np.log(2.0), n))
    T = np.exp(rng.uniform(np.log(1e-4), np.log(4.0), n))
    sigma = sst / np.sqrt(T)
    z = np.concatenate([rng.uniform(-3.0, 3.0, n - 1_000), np.linspace(-5.6, 5.6, 1_000)])
    sst[-1_000:] = 1e-3  # d1 ~ d2 ~ -z: right up to the 5.66 edge
    sigma[-1_000:] = sst[-1_000:] / np.sqrt(T[-1_000:])
    K = F * np.exp(z * sst)
    r = rng.uniform(-0.05, 0.2, n)
    phi = rng.choice(np.array([1, -1], dtype=np.int8), n)
    d1 = np.log(F / K) / sst + sst / 2
    assert np.max(np.abs(np.concatenate([d1, d1 - sst]))) < 4 * np.sqrt(2)
    args = (phi, F, K, T, sigma, r)
    fast = black76(*args)
    slow = ref.black76(*args)
    scales = greek_scales(*args[1:])
    for name in FIELDS:
        err = scaled_error(getattr(fast, name), getattr(slow, name), scales[name])
        assert float(np.max(err)) < 1e-13, name


def test_fast_risk_price_delta_subsets_equal_the_full_greeks(inputs_100k: dict) -> None:
    full = black76(*_args(inputs_100k))
    risk = black76_risk(*_args(inputs_100k))
    scales = greek_scales(*_args(inputs_100k)[1:])
    for name in ("price", "delta", "gamma", "vega", "theta"):
        # the flat hot loop and the full kernel round differently only in the last bits
        err = scaled_error(getattr(risk, name), getattr(full, name), scales[name])
        assert float(np.max(err)) < 1e-14, name
    assert (
        np.max(scaled_error(black76_price(*_args(inputs_100k)), full.price, scales["price"]))
        < 1e-14
    )
    np.testing.assert_allclose(
        black76_delta(*_args(inputs_100k)), full.delta, rtol=1e-14, atol=1e-16
    )


def test_black76_on_100k_random_inputs_matches_quantlib_black_calculator(inputs_100k: dict) -> None:
    ql = pytest.importorskip("QuantLib")
    d = inputs_100k
    g = black76(*_args(d))
    phi, F, K, T, sigma, r = _args(d)
    std = sigma * np.sqrt(T)
    df = np.exp(-r * T)
    call, put = ql.Option.Call, ql.Option.Put
    rows = []
    for p, f, k, t, s, dd in zip(
        phi.tolist(), F.tolist(), K.tolist(), T.tolist(), std.tolist(), df.tolist(), strict=True
    ):
        c = ql.BlackCalculator(ql.PlainVanillaPayoff(call if p > 0 else put, k), f, s, dd)
        # theta(spot = F): QuantLib's theta with the forward held fixed, the Black-76 one;
        # its rho moves the forward with r (F = S e^(rT)) and dividendRho moves it back
        # (dF/dq = -T F), so their sum is dV/dr at fixed F = -T V, the Black-76 rho
        rows.append(
            (
                c.value(),
                c.deltaForward(),
                c.gammaForward(),
                c.vega(t),
                c.vanna(f, t),
                c.theta(f, t),
                c.rho(t) + c.dividendRho(t),
            )
        )
    q = np.array(rows).T
    scales = greek_scales(F, K, T, sigma, r)
    for i, name in enumerate(("price", "delta", "gamma", "vega", "vanna", "theta", "rho")):
        # QuantLib's vanna is NaN (0 * inf) for a few rows where the density underflows
        ok = np.isfinite(q[i])
        assert ok.mean() > 0.999, name
        err = scaled_error(getattr(g, name)[ok], q[i][ok], scales[name][ok])
        # QuantLib's N has its own ~1e-15 relative error; measured worst case ~2e-15
        # (theta 2e-16, rho 2e-15)
        assert float(np.max(err)) < 1e-12, name


def test_bsm_on_100k_random_inputs_matches_quantlib_analytic_european_engine() -> None:
    ql = pytest.importorskip("QuantLib")
    rng = np.random.default_rng(11)
    n = 100_000
    days = rng.integers(1, 5 * 365, n)
    T = days / 365.0
    S = np.exp(rng.uniform(np.log(1e-2), np.log(1e6), n))
    sigma = np.exp(rng.uniform(np.log(0.01), np.log(3.0), n))
    K = S * np.exp(rng.uniform(-5, 5, n) * sigma * np.sqrt(T))
    r = rng.uniform(-0.02, 0.15, n)
    q = rng.uniform(-0.02, 0.15, n)
    phi = rng.choice(np.array([1, -1]), n)
    g = bsm(phi, S, K, T, sigma, r, q)

    today = ql.Date(2, 1, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot, vol, rq, qq = (ql.SimpleQuote(1.0) for _ in range(4))
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(spot),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(qq), dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(rq), dc)),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(vol), dc)
        ),
    )
    engine = ql.AnalyticEuropeanEngine(process)
    rows = []
    for i in range(n):
        spot.setValue(float(S[i]))
        vol.setValue(float(sigma[i]))
        rq.setValue(float(r[i]))
        qq.setValue(float(q[i]))
        kind = ql.Option.Call if phi[i] > 0 else ql.Option.Put
        opt = ql.VanillaOption(
            ql.PlainVanillaPayoff(kind, float(K[i])), ql.EuropeanExercise(today + int(days[i]))
        )
        opt.setPricingEngine(engine)
        rows.append((opt.NPV(), opt.delta(), opt.gamma(), opt.vega(), opt.theta(), opt.rho()))
    ql_vals = np.array(rows).T
    F = S * np.exp((r - q) * T)
    scales = greek_scales(F, K, T, sigma, np.abs(r) + np.abs(q))
    scales["delta"] = np.exp(np.abs(r - q) * T)
    scales["gamma"] = scales["gamma"] * np.exp(2 * np.abs(r - q) * T)
    scales["rho"] = scales["rho"] * 2
    for i, name in enumerate(("price", "delta", "gamma", "vega", "theta", "rho")):
        err = scaled_error(getattr(g, name), ql_vals[i], scales[name])
        assert float(np.max(err)) < 1e-11, name


def test_bsm_on_random_inputs_matches_spot_formulas_of_reference_twin() -> None:
    d = random_inputs(20_000, seed=3)
    rng = np.random.default_rng(5)
    q = rng.uniform(-0.05, 0.2, d["F"].size)
    T = np.maximum(d["T"], 1e-3)
    sigma = np.maximum(d["sigma"], 1e-2)
    S, K, r = d["F"], d["K"], d["r"]
    fast = bsm(d["phi"], S, K, T, sigma, r, q)
    slow = ref.bsm(d["phi"], S, K, T, sigma, r, q)
    F = S * np.exp((r - q) * T)
    scales = greek_scales(F, K, T, sigma, np.abs(r) + np.abs(q))
    g = np.exp(np.abs(r - q) * T)
    for name in FIELDS:
        s = scales[name] * g * g * (1.0 + np.abs(r - q) * (F + 1.0) * (1.0 + T))
        err = scaled_error(getattr(fast, name), getattr(slow, name), s)
        assert float(np.max(err)) < 1e-12, name


def test_put_call_parity_holds_on_random_inputs(inputs_100k: dict) -> None:
    d = inputs_100k
    c = black76(1, d["F"], d["K"], d["T"], d["sigma"], d["r"])
    p = black76(-1, d["F"], d["K"], d["T"], d["sigma"], d["r"])
    df = np.exp(-d["r"] * d["T"])
    scale = np.maximum(d["F"], d["K"]) * df
    # C - P = DF (F - K); delta_C - delta_P = DF; gamma, vega, vanna, volga equal
    assert np.max(np.abs(c.price - p.price - df * (d["F"] - d["K"])) / scale) < 1e-14
    np.testing.assert_allclose(c.delta - p.delta, df, rtol=0, atol=1e-15)
    for name in ("gamma", "vega", "vanna", "volga"):
        np.testing.assert_allclose(getattr(c, name), getattr(p, name), rtol=1e-15, atol=0)


def test_haug_textbook_black76_value_matches() -> None:
    # Haug (2007) 1.1.2 example: F = 19, K = 19, T = 0.75, r = 0.10, sigma = 0.28 -> 1.7011
    assert float(black76("c", 19.0, 19.0, 0.75, 0.28, 0.10).price) == pytest.approx(
        1.7011, abs=1e-4
    )
    # hand check at the money with r = 0: C = F (2 N(s/2) - 1), s = 0.2 -> 100 * 0.0796557
    s = 0.2
    want = 100.0 * math.erf(s / 2 / math.sqrt(2))
    assert float(black76("c", 100.0, 100.0, 1.0, s).price) == pytest.approx(want, rel=1e-15)


def test_fast_inverse_greeks_match_reference_twin(inputs_100k: dict) -> None:
    from deltahedge.pricing import inverse_black76

    d = inputs_100k
    fast = inverse_black76(d["phi"], d["F"], d["K"], d["T"], d["sigma"])
    slow = ref.inverse_black76(d["phi"], d["F"], d["K"], d["T"], d["sigma"])
    scales = inverse_scales(d["F"], d["K"], d["T"], d["sigma"])
    for name, scale in scales.items():
        err = scaled_error(getattr(fast, name), getattr(slow, name), scale)
        assert float(np.max(err)) < 1e-13, name


def test_inverse_coin_price_and_deltas_match_quantlib_usd_values_divided_by_f() -> None:
    ql = pytest.importorskip("QuantLib")
    from deltahedge.pricing import inverse_black76

    d = random_inputs(20_000, seed=13, rates=False)
    phi, F, K, T, sigma = d["phi"], d["F"], d["K"], d["T"], d["sigma"]
    g = inverse_black76(phi, F, K, T, sigma)
    call, put = ql.Option.Call, ql.Option.Put
    rows = []
    for p, f, k, t, s in zip(
        phi.tolist(), F.tolist(), K.tolist(), T.tolist(), (sigma * np.sqrt(T)).tolist(), strict=True
    ):
        c = ql.BlackCalculator(ql.PlainVanillaPayoff(call if p > 0 else put, k), f, s, 1.0)
        rows.append((c.value(), c.deltaForward(), c.gammaForward(), c.vega(t), c.theta(f, t)))
    usd, delta, gamma, vega, theta = np.array(rows).T
    # the coin view from QuantLib's USD values (inverse.py's derivations): C_coin = C/F,
    # delta_pa = N(d1) - C_coin (put: N(d1) - 1 - C_coin), gamma_coin = Gamma - delta_pa/F
    coin = usd / F
    delta_pa = delta - coin
    want = {
        "price_coin": coin,
        "price_usd": usd,
        "delta": delta,
        "delta_premium_adjusted": delta_pa,
        "gamma_usd": gamma,
        "gamma_coin": gamma - delta_pa / F,
        "vega_usd": vega,
        "vega_coin": vega / F,
        "theta_usd": theta,
        "theta_coin": theta / F,
    }
    scales = inverse_scales(F, K, T, sigma)
    for name, value in want.items():
        err = scaled_error(getattr(g, name), value, scales[name])
        # QuantLib's ~1e-15 relative error in N, carried through one division by F and
        # one subtraction; measured worst case 1.5e-15
        assert float(np.max(err)) < 1e-12, name

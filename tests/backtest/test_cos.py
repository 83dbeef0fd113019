"""COS Heston/Bates prices and model deltas against QuantLib's analytic engines."""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.backtest.cos import cos_price_delta, model_delta_table, table_delta
from deltahedge.backtest.models import HESTON_BTC, ModelKind, PathModel

ql = pytest.importorskip("QuantLib")


def _quantlib(cp, f, k, days, m: PathModel):
    today = ql.Date(1, 1, 2026)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    flat = ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, dc))

    def npv(s0):
        s = ql.QuoteHandle(ql.SimpleQuote(s0))
        if m.lam > 0:
            proc = ql.BatesProcess(
                flat, flat, s, m.v0, m.kappa, m.theta, m.sigma_v, m.rho, m.lam, m.mu_j, m.sigma_j
            )
            eng = ql.BatesEngine(ql.BatesModel(proc))
        else:
            proc = ql.HestonProcess(flat, flat, s, m.v0, m.kappa, m.theta, m.sigma_v, m.rho)
            eng = ql.AnalyticHestonEngine(ql.HestonModel(proc))
        kind = ql.Option.Call if cp > 0 else ql.Option.Put
        opt = ql.VanillaOption(ql.PlainVanillaPayoff(kind, k), ql.EuropeanExercise(today + days))
        opt.setPricingEngine(eng)
        return opt.NPV()

    h = f * 1e-4
    return npv(f), (npv(f + h) - npv(f - h)) / (2 * h)


CASES = [
    (
        1.0,
        100.0,
        365,
        PathModel(ModelKind.HESTON, v0=0.04, kappa=1.5, theta=0.04, sigma_v=0.3, rho=-0.7),
    ),
    (
        -1.0,
        90.0,
        182,
        PathModel(ModelKind.HESTON, v0=0.09, kappa=2.0, theta=0.06, sigma_v=0.5, rho=-0.5),
    ),
    (
        1.0,
        110.0,
        91,
        PathModel(
            ModelKind.BATES,
            v0=0.36,
            kappa=68.3,
            theta=0.0788,
            sigma_v=0.159,
            rho=0.27,
            lam=18.6,
            mu_j=-0.003,
            sigma_j=0.09,
        ),
    ),
    (
        -1.0,
        80.0,
        30,
        PathModel(
            ModelKind.BATES,
            v0=0.36,
            kappa=5.0,
            theta=0.36,
            sigma_v=1.0,
            rho=0.3,
            lam=2.0,
            mu_j=-0.05,
            sigma_j=0.1,
        ),
    ),
]


@pytest.mark.parametrize(("cp", "k", "days", "model"), CASES)
def test_cos_matches_quantlib_price_and_delta(cp, k, days, model):
    ql_price, ql_delta = _quantlib(cp, 100.0, k, days, model)
    price, delta = cos_price_delta(cp, 100.0, k, days / 365.0, model.v0, model.as_array(), 256)
    assert price == pytest.approx(ql_price, abs=1e-6)
    assert delta == pytest.approx(ql_delta, abs=1e-6)


def test_call_and_put_deltas_differ_by_one():
    p = HESTON_BTC.as_array()
    _, dc = cos_price_delta(1.0, 100.0, 105.0, 0.1, 0.36, p, 256)
    _, dp = cos_price_delta(-1.0, 100.0, 105.0, 0.1, 0.36, p, 256)
    assert dc - dp == pytest.approx(1.0, abs=1e-10)


def test_delta_table_interpolates_the_cos_delta():
    table, taus, xs, vs = model_delta_table(HESTON_BTC, np.array([1.0]), np.array([100.0]), 0.1)
    x, v, tau = 0.031, 0.40, 0.0531
    exact = cos_price_delta(1.0, 100.0 * np.exp(x), 100.0, tau, v, HESTON_BTC.as_array(), 256)[1]
    assert table_delta(table, 0, taus, xs, vs, tau, x, v) == pytest.approx(exact, abs=5e-3)

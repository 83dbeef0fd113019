"""SVCJ by COS: the closed-form jump integral, Monte Carlo of the SVCJ paths, the Bates limit."""

from __future__ import annotations

import cmath
import math

import numpy as np
import pytest
from scipy.integrate import quad

from deltahedge.backtest.cos import cos_price_delta, jump_integral
from deltahedge.backtest.models import SVCJ_BTC, ModelKind, PathModel, simulate_paths

#: a second set with a strong price/variance jump link (rho_j mu_v = -0.1 per jump)
STRONG = PathModel(
    ModelKind.SVCJ,
    v0=0.1,
    kappa=3.0,
    theta=0.1,
    sigma_v=0.5,
    rho=-0.5,
    lam=3.0,
    mu_j=-0.05,
    sigma_j=0.1,
    mu_v=0.1,
    rho_j=-1.0,
)


def _heston_d(u: float, s: float, m: PathModel) -> complex:
    iu = 1j * u
    beta = m.kappa - m.rho * m.sigma_v * iu
    d = cmath.sqrt(beta * beta + m.sigma_v**2 * (iu + u * u))
    g = (beta - d) / (beta + d)
    e = cmath.exp(-d * s)
    return (beta - d) / m.sigma_v**2 * (1 - e) / (1 - g * e)


@pytest.mark.parametrize("model", [SVCJ_BTC, STRONG], ids=["btc", "strong"])
@pytest.mark.parametrize("u", [0.0, 1e-6, 0.3, 5.0, 80.0])
def test_jump_integral_closed_form_equals_quadrature(model, u):
    # I(u) = int_0^T ds / (1 - i u rho_j mu_v - mu_v D(s)), integrated numerically
    t = 0.25

    def f(s: float) -> complex:
        return 1 / (1 - 1j * u * model.rho_j * model.mu_v - model.mu_v * _heston_d(u, s, model))

    re = quad(lambda s: f(s).real, 0, t, epsabs=1e-14)[0]
    im = quad(lambda s: f(s).imag, 0, t, epsabs=1e-14)[0]
    assert abs(jump_integral(u, t, model.as_array()) - complex(re, im)) < 1e-12


@pytest.mark.parametrize(
    ("model", "days", "n_steps"), [(SVCJ_BTC, 30, 360), (STRONG, 91, 182)], ids=["btc", "strong"]
)
def test_cos_prices_match_monte_carlo_of_the_svcj_paths(model, days, n_steps):
    t = days / 365
    n = 20_000
    f, _ = simulate_paths(model, 100.0, t / n_steps, n_steps, n, seed=3)
    ft = f[:, -1]
    # the price without variance jumps (what a Bates characteristic function gives)
    bates_like = model.with_(mu_v=0.0, rho_j=0.0)
    for k in (85.0, 100.0, 120.0):
        cp = 1.0 if k >= 100 else -1.0
        pay = np.maximum(cp * (ft - k), 0.0)
        # control variate F_T (mean 100 under the martingale measure) to cut the MC error
        b = np.cov(pay, ft)[0, 1] / ft.var(ddof=1)
        est = pay - b * (ft - 100.0)
        mc, se = est.mean(), est.std(ddof=1) / math.sqrt(n)
        cos = cos_price_delta(cp, 100.0, k, t, model.v0, model.as_array(), 256)[0]
        # Euler steps of the variance add a small bias; 4 standard errors
        assert abs(cos - mc) < 4 * se, (k, cos, mc, se)
        # without the variance jumps the price is many standard errors off: the test has teeth
        wrong = cos_price_delta(cp, 100.0, k, t, model.v0, bates_like.as_array(), 256)[0]
        assert abs(wrong - mc) > 15 * se


def test_svcj_tends_to_bates_as_the_variance_jumps_vanish():
    svcj = SVCJ_BTC.with_(mu_v=1e-9, rho_j=-0.5)
    bates = PathModel(
        ModelKind.BATES,
        v0=svcj.v0,
        kappa=svcj.kappa,
        theta=svcj.theta,
        sigma_v=svcj.sigma_v,
        rho=svcj.rho,
        lam=svcj.lam,
        mu_j=svcj.mu_j,
        sigma_j=svcj.sigma_j,
    )
    for cp, k in ((1.0, 105.0), (-1.0, 95.0)):
        a = cos_price_delta(cp, 100.0, k, 20 / 365, svcj.v0, svcj.as_array(), 256)
        b = cos_price_delta(cp, 100.0, k, 20 / 365, bates.v0, bates.as_array(), 256)
        # mu_v = 1e-9: the price moves by O(lam T mu_v) relative, far below 1e-7
        assert a[0] == pytest.approx(b[0], abs=1e-7)
        assert a[1] == pytest.approx(b[1], abs=1e-7)


def test_svcj_model_delta_is_the_derivative_of_the_cos_price():
    p = STRONG.as_array()
    t, k, h = 0.1, 95.0, 1e-3
    up = cos_price_delta(-1.0, 100.0 + h, k, t, STRONG.v0, p, 256)[0]
    dn = cos_price_delta(-1.0, 100.0 - h, k, t, STRONG.v0, p, 256)[0]
    delta = cos_price_delta(-1.0, 100.0, k, t, STRONG.v0, p, 256)[1]
    # the truncation range moves with F, so the finite difference carries the series'
    # ~1e-8 price error over 2h: agreement to a few 1e-7
    assert delta == pytest.approx((up - dn) / (2 * h), abs=2e-6)

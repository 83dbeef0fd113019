"""Vol forecasts: EWMA by hand, GARCH(1,1) recovers simulated parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deltahedge.core.errors import InvalidInput
from deltahedge.hedging.volatility import ewma_vol, garch_forecast


def test_ewma_two_steps_by_hand():
    # var0 = 1e-4, lam 0.9: var1 = 0.9e-4 + 0.1 * 1e-4 = 1e-4; var2 = 0.9e-4 + 0.1 * 4e-4 = 1.3e-4
    vol = ewma_vol([0.01, -0.02], lam=0.9, periods_per_year=1.0, init_var=1e-4)
    assert vol == pytest.approx(math.sqrt(1.3e-4), rel=1e-12)


def test_ewma_rejects_bad_input():
    with pytest.raises(InvalidInput, match="lam"):
        ewma_vol([0.01], lam=1.5)
    with pytest.raises(InvalidInput, match="finite returns"):
        ewma_vol([np.nan])


def test_garch_fit_recovers_simulated_parameters_and_forecast_formula():
    rng = np.random.default_rng(3)
    omega, alpha, beta = 2e-7, 0.08, 0.9
    n = 6000
    r = np.empty(n)
    var = omega / (1 - alpha - beta)
    for t in range(n):
        r[t] = math.sqrt(var) * rng.standard_normal()
        var = omega + alpha * r[t] ** 2 + beta * var
    fit = garch_forecast(r, horizon=1, periods_per_year=1.0)
    assert fit.alpha == pytest.approx(alpha, abs=0.03)
    assert fit.beta == pytest.approx(beta, abs=0.04)
    assert fit.omega / (1 - fit.alpha - fit.beta) == pytest.approx(1e-5, rel=0.3)
    # one-step forecast = omega + alpha r_T^2 + beta var_T; the recursion with the fitted
    # parameters forgets its start after 6,000 steps (beta^6000 ~ 0), so rebuild var_T here
    v = float(np.mean(r**2))
    for x in r[:-1]:
        v = fit.omega + fit.alpha * x * x + fit.beta * v
    v_T = v
    expected = fit.omega + fit.alpha * r[-1] ** 2 + fit.beta * v_T
    assert fit.vol_annual**2 == pytest.approx(expected, rel=1e-4)


def test_forecasts_on_real_bitstamp_minutes_are_plausible_and_agree(shared_data):
    path = shared_data / "bitstamp_1min_2025" / "btcusd_1min_20250107_20250203.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    close = np.loadtxt(path, delimiter=",", skiprows=1, usecols=4)
    r = np.diff(np.log(close))[-20_000:]
    realised = math.sqrt(np.mean(r**2) * 525_600)  # annualised, whole window
    ewma = ewma_vol(r, lam=0.999)  # ~1,000-minute memory
    garch = garch_forecast(r, horizon=60)
    # BTC in Jan 2025 ran at roughly 40-70 % a year; both forecasts sit near the window's own
    assert 0.2 < realised < 1.2
    assert 0.3 * realised < ewma < 3 * realised
    assert 0.3 * realised < garch.vol_annual < 3 * realised
    assert garch.alpha + garch.beta < 1.0  # covariance-stationary fit

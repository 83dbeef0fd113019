"""Every Greek against central finite differences of the prices it claims to differentiate.

Each comparison allows ``tol * |Greek| + roundoff``, where roundoff is the finite
difference's own rounding: ``100 eps max(F, K) / h`` for a first difference of prices
(``/ h^2`` for a second), ``100 eps / h`` for a first difference of deltas. Steps in F
scale with sigma sqrt(T), the width of the density in ln F.
"""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.pricing import black76, bsm, inverse_black76

EPS = np.finfo(float).eps


def _grid() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(21)
    n = 400
    F = np.exp(rng.uniform(np.log(1.0), np.log(1e5), n))
    T = np.exp(rng.uniform(np.log(0.02), np.log(5.0), n))
    sigma = rng.uniform(0.05, 2.0, n)
    K = F * np.exp(rng.uniform(-2.5, 2.5, n) * sigma * np.sqrt(T))
    r = rng.uniform(-0.02, 0.1, n)
    q = rng.uniform(-0.02, 0.1, n)
    phi = rng.choice(np.array([1, -1]), n)
    return {"phi": phi, "F": F, "K": K, "T": T, "sigma": sigma, "r": r, "q": q}


def _fd(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def _fd2(f, x, h):
    return (f(x + h) - 2 * f(x) + f(x - h)) / (h * h)


def _close(got, want, roundoff, tol):
    excess = np.abs(np.asarray(got) - np.asarray(want)) - roundoff
    assert float(np.max(excess / np.abs(want))) < tol


@pytest.fixture(scope="module")
def g() -> dict[str, np.ndarray]:
    return _grid()


def test_black76_greeks_match_central_differences(g: dict) -> None:
    phi, F, K, T, sig, r = g["phi"], g["F"], g["K"], g["T"], g["sigma"], g["r"]
    G = black76(phi, F, K, T, sig, r)
    big = 100 * EPS * np.maximum(F, K)

    def price(F_=F, T_=T, s_=sig, r_=r):
        return black76(phi, F_, K, T_, s_, r_).price

    hF, hs, hT, hr = 1e-4 * F * sig * np.sqrt(T), 1e-5 * sig, 1e-6 * T, 1e-6
    _close(G.delta, _fd(lambda x: price(F_=x), F, hF), big / hF, 1e-6)
    _close(G.gamma, _fd2(lambda x: price(F_=x), F, 10 * hF), big / (10 * hF) ** 2, 1e-4)
    _close(G.vega, _fd(lambda x: price(s_=x), sig, hs), big / hs, 1e-6)
    _close(G.theta, -_fd(lambda x: price(T_=x), T, hT), big / hT, 1e-5)
    _close(G.rho, _fd(lambda x: price(r_=x), r, hr), big / hr, 1e-6)
    d = 100 * EPS
    _close(G.vanna, _fd(lambda x: black76(phi, F, K, T, x, r).delta, sig, hs), d / hs, 1e-5)
    _close(G.volga, _fd(lambda x: black76(phi, F, K, T, x, r).vega, sig, hs), big / hs, 1e-5)
    _close(G.charm, -_fd(lambda x: black76(phi, F, K, x, sig, r).delta, T, hT), d / hT, 1e-5)


def test_bsm_greeks_match_central_differences_on_spot(g: dict) -> None:
    phi, S, K, T, sig, r, q = g["phi"], g["F"], g["K"], g["T"], g["sigma"], g["r"], g["q"]
    G = bsm(phi, S, K, T, sig, r, q)
    big = 100 * EPS * np.maximum(S, K)

    def price(S_=S, T_=T, s_=sig, r_=r):
        return bsm(phi, S_, K, T_, s_, r_, q).price

    hS, hs, hT, hr = 1e-4 * S * sig * np.sqrt(T), 1e-5 * sig, 1e-6 * T, 1e-6
    _close(G.delta, _fd(lambda x: price(S_=x), S, hS), big / hS, 1e-6)
    _close(G.gamma, _fd2(lambda x: price(S_=x), S, 10 * hS), big / (10 * hS) ** 2, 1e-4)
    _close(G.vega, _fd(lambda x: price(s_=x), sig, hs), big / hs, 1e-6)
    _close(G.theta, -_fd(lambda x: price(T_=x), T, hT), big / hT, 1e-5)
    _close(G.rho, _fd(lambda x: price(r_=x), r, hr), big / hr, 1e-6)
    d = 100 * EPS
    _close(G.vanna, _fd(lambda x: bsm(phi, S, K, T, x, r, q).delta, sig, hs), d / hs, 1e-5)
    _close(G.volga, _fd(lambda x: bsm(phi, S, K, T, x, r, q).vega, sig, hs), big / hs, 1e-5)
    _close(G.charm, -_fd(lambda x: bsm(phi, S, K, x, sig, r, q).delta, T, hT), d / hT, 1e-5)


def test_inverse_greeks_match_central_differences_of_coin_price(g: dict) -> None:
    phi, F, K, T, sig = g["phi"], g["F"], g["K"], g["T"], g["sigma"]
    G = inverse_black76(phi, F, K, T, sig)
    big = 100 * EPS * np.maximum(F, K)
    coin_big = big / F

    def coin(F_=F, T_=T, s_=sig):
        return inverse_black76(phi, F_, K, T_, s_).price_coin

    def usd(F_=F, T_=T, s_=sig):
        return inverse_black76(phi, F_, K, T_, s_).price_usd

    hF, hs, hT = 1e-4 * F * sig * np.sqrt(T), 1e-5 * sig, 1e-6 * T
    np.testing.assert_allclose(G.price_usd, G.price_coin * F, rtol=1e-15)
    _close(G.delta, _fd(lambda x: usd(F_=x), F, hF), big / hF, 1e-6)
    # premium-adjusted delta = F dP_coin/dF
    pa = F * _fd(lambda x: coin(F_=x), F, hF)
    _close(G.delta_premium_adjusted, pa, F * coin_big / hF, 1e-6)
    _close(G.gamma_usd, _fd2(lambda x: usd(F_=x), F, 10 * hF), big / (10 * hF) ** 2, 1e-4)
    dpa = _fd(lambda x: inverse_black76(phi, x, K, T, sig).delta_premium_adjusted, F, hF)
    _close(G.gamma_coin, dpa, 100 * EPS / hF, 1e-5)
    _close(G.vega_usd, _fd(lambda x: usd(s_=x), sig, hs), big / hs, 1e-6)
    _close(G.vega_coin, _fd(lambda x: coin(s_=x), sig, hs), coin_big / hs, 1e-6)
    _close(G.theta_usd, -_fd(lambda x: usd(T_=x), T, hT), big / hT, 1e-5)
    _close(G.theta_coin, -_fd(lambda x: coin(T_=x), T, hT), coin_big / hT, 1e-5)
    # put = call - 1 for the venue's delta (put-call parity with r = 0)
    call = inverse_black76(1, F, K, T, sig)
    put = inverse_black76(-1, F, K, T, sig)
    np.testing.assert_allclose(put.delta, call.delta - 1.0, atol=1e-15)
    # coin parity: C_coin - P_coin = 1 - K/F
    np.testing.assert_allclose(call.price_coin - put.price_coin, 1 - K / F, atol=1e-13)

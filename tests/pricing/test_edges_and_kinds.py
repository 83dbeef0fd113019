"""Kinds, broadcasting, expiry, zero vol, invalid inputs, huge arrays, the numba cache."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from deltahedge.core import OptionKind
from deltahedge.pricing import (
    black76,
    black76_delta,
    black76_price,
    black76_risk,
    bsm,
    implied_vol,
    inverse_black76,
)
from deltahedge.pricing._jitcache import clear_stale_cache
from deltahedge.pricing.kernels import b76_delta, b76_gamma, b76_price, b76_vega, norm_cdf

FIELDS = ("price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga", "charm")


@pytest.mark.parametrize(
    ("kind", "sign"),
    [("call", 1), ("PUT", -1), ("c", 1), ("P", -1), (OptionKind.PUT, -1), (1, 1), (-1, -1)],
)
def test_every_accepted_kind_spelling_prices_like_its_sign(kind, sign) -> None:
    want = float(black76(sign, 100.0, 95.0, 0.5, 0.4).price)
    assert float(black76(kind, 100.0, 95.0, 0.5, 0.4).price) == want
    assert float(black76_price(kind, 100.0, 95.0, 0.5, 0.4)) == want


@pytest.mark.parametrize("bad", ["straddle", "", 0, 2, 1.5, True, None, ["c", "x"], [1, 0]])
def test_invalid_kind_raises_value_error_naming_the_value(bad) -> None:
    with pytest.raises(ValueError, match="invalid option kind"):
        black76(bad, 100.0, 100.0, 1.0, 0.2)
    with pytest.raises(ValueError, match="invalid option kind"):
        implied_vol(5.0, bad, 100.0, 100.0, 1.0)


def test_invalid_kind_message_contains_the_bad_value() -> None:
    with pytest.raises(ValueError, match="'straddle'"):
        inverse_black76("straddle", 100.0, 100.0, 1.0, 0.2)


def test_inputs_broadcast_to_their_common_shape() -> None:
    K = np.array([[80.0], [100.0], [120.0]])  # (3, 1)
    T = np.array([0.1, 0.5, 1.0, 2.0])  # (4,)
    g = black76(["c", "p", "c", "p"], 100.0, K, T, 0.5)
    assert g.price.shape == (3, 4)
    assert all(getattr(g, f).shape == (3, 4) for f in FIELDS)
    for i in range(3):
        for j in range(4):
            kind = "c" if j % 2 == 0 else "p"
            one = black76(kind, 100.0, K[i, 0], T[j], 0.5)
            # the SIMD body and the scalar tail of the loop may round the last bit apart
            assert g.price[i, j] == pytest.approx(float(one.price), rel=1e-14)
            assert g.vanna[i, j] == pytest.approx(float(one.vanna), rel=1e-13)
    assert black76(1, 100.0, 100.0, 1.0, 0.2).price.shape == ()
    # non-contiguous input is read correctly
    Ks = np.linspace(50, 150, 20)[::2]
    np.testing.assert_array_equal(
        black76_price(1, 100.0, Ks, 1.0, 0.3), black76_price(1, 100.0, Ks.copy(), 1.0, 0.3)
    )


def test_one_dimensional_fast_path_equals_the_general_broadcasting_path() -> None:
    # 1-D arrays with Python scalars skip flatten(); the same options as a column (the
    # general path) must give the same numbers, whatever the scalar (0, -0.0, an int)
    rng = np.random.default_rng(3)
    n = 300
    F = rng.uniform(50.0, 150.0, n)
    K = rng.uniform(50.0, 150.0, n)
    T = rng.uniform(0.01, 2.0, n)
    kind = rng.choice(np.array([1, -1], dtype=np.int8), n)
    for r in (0.0, -0.0, 0, 0.05, 1):
        fast = black76(kind, F, K, T, 0.4, r)
        col = black76(kind[:, None], F[:, None], K[:, None], T[:, None], 0.4, r)
        for f in FIELDS:
            np.testing.assert_array_equal(getattr(fast, f), getattr(col, f)[:, 0])
    one = black76(kind[:1], F[:1], K, T, np.array([0.4]))  # length-1 arrays broadcast
    np.testing.assert_array_equal(one.price, black76(kind[0], F[0], K, T, 0.4).price)
    with pytest.raises(ValueError):
        black76(kind, F, K[:-1], T, 0.4)  # mismatched lengths still raise


def test_expiry_gives_intrinsic_value_and_step_delta_with_half_at_the_money() -> None:
    K = np.array([90.0, 100.0, 110.0])
    c = black76("c", 100.0, K, 0.0, 0.5, 0.05)
    p = black76("p", 100.0, K, 0.0, 0.5, 0.05)
    np.testing.assert_array_equal(c.price, [10.0, 0.0, 0.0])
    np.testing.assert_array_equal(p.price, [0.0, 0.0, 10.0])
    np.testing.assert_array_equal(c.delta, [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(p.delta, [0.0, -0.5, -1.0])
    for f in ("gamma", "vega", "vanna", "volga", "rho"):
        np.testing.assert_array_equal(getattr(c, f), 0.0)
    np.testing.assert_array_equal(c.theta, 0.05 * c.price)  # theta = r V
    np.testing.assert_array_equal(c.charm, 0.05 * c.delta)
    risk = black76_risk(["c", "p"], 100.0, K[:, None], 0.0, 0.5, 0.05)  # the fast loop
    np.testing.assert_array_equal(risk.delta, np.stack([c.delta, p.delta], axis=1))
    np.testing.assert_array_equal(risk.price, np.stack([c.price, p.price], axis=1))
    np.testing.assert_array_equal(risk.gamma, 0.0)


def test_zero_vol_gives_discounted_intrinsic_and_at_the_money_vega_limit() -> None:
    # r = 0.1, T = 1: DF = e^-0.1; ATM vega limit DF F sqrt(T) n(0) = 0.904837 * 100 * 0.398942
    g = black76("c", 100.0, np.array([90.0, 100.0, 110.0]), 1.0, 0.0, 0.1)
    df = math.exp(-0.1)
    np.testing.assert_allclose(g.price, [10 * df, 0.0, 0.0], rtol=1e-15)
    np.testing.assert_allclose(g.delta, [df, 0.5 * df, 0.0], rtol=1e-15)
    np.testing.assert_allclose(g.vega, [0.0, df * 100 / math.sqrt(2 * math.pi), 0.0], rtol=1e-15)
    # and the limit is continuous: a tiny vol gives nearly the same vega at the money
    tiny = black76("c", 100.0, 100.0, 1.0, 1e-9, 0.1)
    assert float(tiny.vega) == pytest.approx(g.vega[1], rel=1e-8)


@pytest.mark.parametrize(
    ("F", "K", "T", "sigma", "r"),
    [
        (0.0, 100.0, 1.0, 0.2, 0.0),
        (-1.0, 100.0, 1.0, 0.2, 0.0),
        (100.0, 0.0, 1.0, 0.2, 0.0),
        (100.0, 100.0, -0.1, 0.2, 0.0),
        (100.0, 100.0, 1.0, -0.2, 0.0),
        (np.nan, 100.0, 1.0, 0.2, 0.0),
        (100.0, np.nan, 1.0, 0.2, 0.0),
        (100.0, 100.0, np.nan, 0.2, 0.0),
        (100.0, 100.0, 1.0, np.nan, 0.0),
        (100.0, 100.0, 1.0, 0.2, np.nan),
        (np.inf, 100.0, 1.0, 0.2, 0.0),
    ],
)
def test_invalid_numbers_give_nan_everywhere_without_raising(F, K, T, sigma, r) -> None:
    Fs = np.array([F, 100.0])
    g = black76("c", Fs, K, T, sigma, r)
    for f in FIELDS:
        assert np.isnan(getattr(g, f)[0]), f
    assert np.isnan(black76_price("c", F, K, T, sigma, r))
    assert np.isnan(black76_delta("c", F, K, T, sigma, r))
    assert np.isnan(black76_risk("c", F, K, T, sigma, r).gamma)
    assert math.isnan(b76_price(1.0, F, K, T, sigma, r))
    if not np.isnan(r):  # the inverse option has no rate argument
        assert np.isnan(inverse_black76("p", F, K, T, sigma).price_coin)
    assert np.isnan(bsm("c", F, K, T, sigma, r).price)


def test_deep_in_and_out_of_the_money_limits() -> None:
    # 40 standard deviations: value is intrinsic (call ITM) or tiny but positive (OTM)
    itm = black76("c", 100.0, 100.0 * math.exp(-40 * 0.2), 1.0, 0.2)
    assert float(itm.price) == pytest.approx(100.0 - 100.0 * math.exp(-8.0), rel=1e-15)
    assert float(itm.delta) == 1.0 and float(itm.gamma) >= 0.0
    otm = black76("c", 100.0, 100.0 * math.exp(6 * 0.2), 1.0, 0.2)
    # d1 = -5.9, d2 = -6.1, K = 100 e^1.2 = 332.01169: N(-5.9) = 1.8175078631e-9,
    # N(-6.1) = 5.303423263e-10, C = 1.8175078631e-7 - 1.7608005e-7 = 5.67093e-9
    assert float(otm.price) == pytest.approx(5.67093307e-9, rel=1e-8)
    assert float(black76_price("c", 100.0, 1e300, 1.0, 0.2)) == 0.0


def test_huge_array_of_two_million_options_prices_and_inverts() -> None:
    n = 2_000_000
    K = np.linspace(50.0, 150.0, n).reshape(1000, 2000)
    g = black76_risk("c", 100.0, K, 0.25, 0.6)
    assert g.price.shape == (1000, 2000)
    assert np.all(np.isfinite(g.price)) and np.all(np.diff(g.price.ravel()) <= 0)
    iv = implied_vol(g.price[::50, ::50], "c", 100.0, K[::50, ::50], 0.25)
    np.testing.assert_allclose(iv, 0.6, atol=1e-12)


def test_scalar_kernels_are_callable_from_user_numba_code() -> None:
    @njit
    def book(F, K, T, sig):
        s = 0.0
        for i in range(K.size):
            s += b76_price(1.0, F, K[i], T, sig, 0.0) + b76_delta(1.0, F, K[i], T, sig, 0.0)
            s += b76_gamma(1.0, F, K[i], T, sig, 0.0) + b76_vega(1.0, F, K[i], T, sig, 0.0)
        return s

    K = np.array([90.0, 100.0, 110.0])
    g = black76("c", 100.0, K, 0.5, 0.3)
    want = float(np.sum(g.price + g.delta + g.gamma + g.vega))
    assert book(100.0, K, 0.5, 0.3) == pytest.approx(want, rel=1e-14)


def test_norm_cdf_matches_known_values() -> None:
    # N(0) = 1/2; N(-1.96) = 0.024997895148220435 (R: pnorm(-1.96));
    # N(-10) = 7.619853024160527e-24 (R: pnorm(-10)); N(-37) = 5.7255712225239e-300
    assert norm_cdf(0.0) == 0.5
    assert norm_cdf(-1.96) == pytest.approx(0.024997895148220435, rel=1e-15)
    assert norm_cdf(-10.0) == pytest.approx(7.619853024160527e-24, rel=1e-14)
    assert norm_cdf(-37.0) == pytest.approx(5.7255712225239e-300, rel=1e-12)
    assert norm_cdf(9.0) == 1.0


def test_stale_numba_cache_is_cleared_when_sources_change(tmp_path: Path) -> None:
    pkg = tmp_path / "pricing"
    other = tmp_path / "portfolio" / "__pycache__"
    (pkg / "__pycache__").mkdir(parents=True)
    other.mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "__pycache__" / "a.f-1.py311.nbi").write_text("old")
    (other / "book.k-9.py311.nbc").write_text("old, inlines pricing kernels")
    assert clear_stale_cache(pkg, scope=tmp_path) is True
    assert not (pkg / "__pycache__" / "a.f-1.py311.nbi").exists()
    assert not (other / "book.k-9.py311.nbc").exists()  # dependants recompile too
    (other / "book.k-9.py311.nbc").write_text("new")
    assert clear_stale_cache(pkg, scope=tmp_path) is False  # sources unchanged: kept
    assert (other / "book.k-9.py311.nbc").exists()
    (pkg / "a.py").write_text("x = 2\n")
    assert clear_stale_cache(pkg, scope=tmp_path) is True

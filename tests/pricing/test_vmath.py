"""The vectorisable exp and log of ``pricing._vmath``: against the C library, 80-bit long
double results, their pure-Python twins, and the fallbacks of the Greeks loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from deltahedge.pricing import _vmath as vm
from deltahedge.pricing import kernels


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _apply(x, out, which):  # type: ignore[no-untyped-def]
    # the same kind of loop the pricing kernels run (vectorised)
    if which == 0:
        for i in range(x.size):
            out[i] = vm.vexp(x[i])
    else:
        for i in range(x.size):
            out[i] = vm.vlog(x[i])


def _ulps_vs_long_double(got: np.ndarray, x: np.ndarray, fn) -> np.ndarray:  # type: ignore[no-untyped-def]
    # |got - exact| in ulps of the result, the exact value from the x87 80-bit functions
    # (64-bit mantissa: 11 bits beyond double, so the measure is good to ~1/1000 ulp)
    exact = fn(x.astype(np.longdouble))
    spacing = np.spacing(np.abs(exact.astype(np.float64)))
    return np.asarray(np.abs(got.astype(np.longdouble) - exact) / spacing, dtype=np.float64)


needs_long_double = pytest.mark.skipif(
    np.finfo(np.longdouble).nmant < 63, reason="needs 80-bit long double"
)


def _exp_points() -> np.ndarray:
    rng = np.random.default_rng(11)
    edges = [0.0, -0.0, 708.0, -708.0, 1e-300, -1e-300, 5e-324, math.log(2.0), -math.log(2.0)]
    half_ln2 = [k * math.log(2.0) / 2 for k in range(-2041, 2042, 2)]  # reduction boundaries
    return np.concatenate(
        [
            rng.uniform(-708.0, 708.0, 400_000),
            rng.uniform(-1.0, 1.0, 100_000),
            rng.uniform(-1e-8, 1e-8, 1_000),
            np.clip(half_ln2, -708.0, 708.0),
            np.nextafter(np.clip(half_ln2, -708.0, 708.0), 0.0),
            edges,
        ]
    )


def _log_points() -> np.ndarray:
    rng = np.random.default_rng(12)
    powers = 2.0 ** np.arange(-1022, 1000, dtype=np.float64)
    edges = [1.0, vm.LOG_MIN, np.nextafter(vm.LOG_MAX, 0.0), math.sqrt(0.5), math.sqrt(2.0)]
    x = np.concatenate(
        [
            np.exp(rng.uniform(-708.0, 693.0, 400_000)),
            rng.uniform(0.5, 2.0, 100_000),
            1.0 + rng.uniform(-1e-6, 1e-6, 100_000),  # log near 1: relative accuracy
            powers,
            np.nextafter(powers, 0.0),
            np.nextafter(powers, np.inf),
            powers * math.sqrt(2.0),  # the split point of the mantissa
            edges,
        ]
    )
    return x[(x >= vm.LOG_MIN) & (x < vm.LOG_MAX)]


@needs_long_double
def test_vexp_is_within_one_ulp_of_exact_on_its_whole_range() -> None:
    x = _exp_points()
    got = np.empty_like(x)
    _apply(x, got, 0)
    err = _ulps_vs_long_double(got, x, np.exp)
    # measured 0.89 worst, 0.26 on average (the C library: 0.506, 0.25)
    assert float(err.max()) <= 1.0
    assert float(err.mean()) < 0.3


@needs_long_double
def test_vlog_is_within_one_ulp_of_exact_on_its_whole_range() -> None:
    x = _log_points()
    got = np.empty_like(x)
    _apply(x, got, 1)
    err = _ulps_vs_long_double(got, x, np.log)
    # measured 0.81 worst (fdlibm's bound is below one ulp)
    assert float(err.max()) < 1.0
    assert got[np.flatnonzero(x == 1.0)[0]] == 0.0


def test_vexp_and_vlog_agree_with_the_c_library_to_one_ulp() -> None:
    for which, x, lib in ((0, _exp_points(), math.exp), (1, _log_points(), math.log)):
        got = np.empty_like(x)
        _apply(x, got, which)
        want = np.array([lib(v) for v in x.tolist()])
        assert np.all(np.abs(got - want) <= np.spacing(np.abs(want))), which
        # exact where exact: exp(0) = 1, log(2^k) = k ln 2 to the ulp
        assert which == 1 or got[np.flatnonzero(x == 0.0)[0]] == 1.0


def test_compiled_functions_match_their_pure_python_twins() -> None:
    rng = np.random.default_rng(13)
    xe = np.concatenate([rng.uniform(-708.0, 708.0, 3_000), [0.0, 708.0, -708.0]])
    xl = np.concatenate([np.exp(rng.uniform(-708.0, 693.0, 3_000)), [1.0, vm.LOG_MIN]])
    got_e = np.empty_like(xe)
    got_l = np.empty_like(xl)
    _apply(xe, got_e, 0)
    _apply(xl, got_l, 1)
    twin_e = np.array([vm.vexp.py_func(v) for v in xe.tolist()])
    twin_l = np.array([vm.vlog.py_func(v) for v in xl.tolist()])
    # same operations; the compiled code may fuse a multiply-add (one rounding fewer)
    assert np.all(np.abs(got_e - twin_e) <= np.spacing(np.abs(twin_e)))
    assert np.all(np.abs(got_l - twin_l) <= np.spacing(np.abs(twin_l)))
    assert vm.i2f(vm.f2i(-2.5)) == -2.5 and vm.f2i(1.0) == 0x3FF0000000000000


def test_range_predicates_exclude_what_the_fast_functions_cannot_do() -> None:
    for x in (math.nan, math.inf, -math.inf, 709.0, -709.0):
        assert not vm.exp_in_range(x), x
    for x in (0.0, -0.0, -1.0, 5e-324, 1e-310, vm.LOG_MAX, math.inf, math.nan):
        assert not vm.log_in_range(x), x
    assert vm.exp_in_range(-708.0) and vm.log_in_range(vm.LOG_MIN)


@pytest.mark.parametrize(
    ("F", "K", "T", "sigma", "r"),
    [
        (1e-200, 1e200, 1.0, 0.5, 0.0),  # F/K underflows to 0: ln is -inf (C library)
        (1e200, 1e-120, 1.0, 0.5, 0.0),  # F/K = 1e320 overflows
        (1e-150, 1e160, 1.0, 20.0, 0.0),  # F/K = 1e-310 subnormal, d1 ~ -27: finite n(d1)
        (100.0, 1e-10, 1e-4, 0.1, 0.0),  # d1 ~ 2300: n(d1) underflows, exp below -708
        (100.0, 300.0, 0.01, 0.2, 0.0),  # d1 ~ -55: n(d1) underflows, n(d2) direct
        (100.0, 120.0, 2.0, 0.3, -400.0),  # DF = exp(800) beyond the fast range
        (100.0, 120.0, 2.0, 0.3, 0.05),  # the ordinary case, with a rate
    ],
)
def test_greeks_loop_fallbacks_equal_the_scalar_kernel(F, K, T, sigma, r) -> None:
    from deltahedge.pricing import black76

    for phi in (1.0, -1.0):
        # a block of 8 copies with the case in the middle, so the vector path runs too
        n = 8
        g = black76(phi, np.full(n, F), np.full(n, K), np.full(n, T), np.full(n, sigma), r)
        want = kernels.b76_greeks(phi, F, K, T, sigma, r)
        for got, w in zip(
            (g.price, g.delta, g.gamma, g.vega, g.theta, g.rho, g.vanna, g.volga, g.charm),
            want,
            strict=True,
        ):
            np.testing.assert_allclose(got, w, rtol=1e-13, atol=1e-300)

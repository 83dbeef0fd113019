"""The block (SIMD) implied-vol solver against its plain twin, the scalar kernel per option.

Both run the arithmetic of ``pricing._nsteps``, the block solver in passes over 128
options with the scalar code for what the passes leave, so they must agree exactly: on
ordinary options, on every status code, at block edges and with broadcast arguments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from deltahedge.pricing import IVStatus, _iv_block, _loops, black76_price, implied_vol_status
from deltahedge.pricing._arrays import as_phi, flatten, loop_args
from deltahedge.pricing._nsteps import _sinh_small

from .conftest import random_inputs


def _both(price, kind, F, K, T, r):  # type: ignore[no-untyped-def]
    _shape, n, flat = flatten(price, as_phi(kind), F, K, T, r)
    out = []
    for loop in (_iv_block.implied_vol_loop, _loops.implied_vol_scalar_loop):
        v = np.empty(n)
        c = np.empty(n, dtype=np.int8)
        loop(*loop_args(flat), v, c)
        out.append((v, c))
    return out


def _assert_same(price, kind, F, K, T, r=0.0) -> None:  # type: ignore[no-untyped-def]
    (v1, c1), (v2, c2) = _both(price, kind, F, K, T, r)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(v1, v2)  # NaN == NaN here


def test_block_solver_equals_scalar_kernel_on_random_and_extreme_inputs() -> None:
    # forwards 1e-3..1e7, expiries 1 minute..30 years, vols 0.1%..500%, strikes to 8 sd,
    # rates -5%..20%: every branch of the solver, bisections and all
    d = random_inputs(60_000, seed=31)
    price = black76_price(d["phi"], d["F"], d["K"], d["T"], d["sigma"], d["r"])
    _assert_same(price, d["phi"], d["F"], d["K"], d["T"], d["r"])
    _iv, c = implied_vol_status(price, d["phi"], d["F"], d["K"], d["T"], d["r"])
    assert (c == IVStatus.OK).mean() > 0.8  # mostly solved: the comparison is not vacuous


def test_block_solver_equals_scalar_kernel_for_every_status_code() -> None:
    F, K, T = 100.0, 110.0, 0.5
    call = float(black76_price("c", F, K, T, 0.4))
    prices = [
        call,  # OK
        0.0,  # at intrinsic (OTM: 0)
        -1.0,  # below intrinsic
        F,  # at the upper bound
        2 * F,  # above it
        math.nan,  # invalid
        math.inf,
        call * (1 + 1e-15),  # nearly the same price
        1e-300,  # deep in the lower branch
        F * (1 - 1e-14),  # upper branch
    ]
    n = len(prices)
    p = np.array(prices * 3)
    Ts = np.array([T] * n + [0.0] * n + [T] * n)  # expired in the middle third
    Fs = np.array([F] * (2 * n) + [-1.0] * n)  # invalid forward in the last
    _assert_same(p, "c", Fs, K, Ts, 0.0)
    _, c = implied_vol_status(p, "c", Fs, K, Ts)
    assert set(c.tolist()) >= {int(s) for s in IVStatus if s != IVStatus.NOT_CONVERGED}


def test_block_solver_at_block_edges_and_with_broadcast_arguments() -> None:
    rng = np.random.default_rng(5)
    for n in (1, 3, 127, 128, 129, 300):
        F = 50_000.0  # stride 0
        sigma = rng.uniform(0.2, 1.5, n)
        T = rng.uniform(0.01, 2.0, n)
        K = F * np.exp(rng.uniform(-3, 3, n) * sigma * np.sqrt(T))
        price = black76_price("p", F, K, T, sigma, 0.03)
        _assert_same(price, "p", F, K, T, 0.03)
        iv, c = implied_vol_status(price, "p", F, K, T, 0.03)
        assert np.all(c == IVStatus.OK)
        assert float(np.max(np.abs(iv - sigma))) < 1e-11


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs 80-bit long double")
def test_sinh_of_the_near_the_money_formula_is_within_an_ulp_of_exact() -> None:
    # the solver's b near the money uses a Taylor series for sinh(x/2), |x/2| <= 0.44;
    # measured 0.55 ulp worst against the x87 80-bit sinh (glibc's double sinh: 1.6 ulp)
    u = np.concatenate([np.linspace(-0.45, 0.45, 20_001), [1e-300, -1e-12]])
    got = np.array([_sinh_small(v) for v in u.tolist()])
    exact = np.sinh(u.astype(np.longdouble))
    ulps = np.abs(got.astype(np.longdouble) - exact) / np.spacing(np.abs(exact.astype(float)))
    assert float(np.max(ulps)) < 0.6
    assert _sinh_small(0.0) == 0.0

"""Path models: seeds, moments, the reference twin, the BTC defaults' unit conversion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deltahedge.backtest.models import (
    BATES_BTC,
    GBM_BTC,
    HESTON_BTC,
    MERTON_BTC,
    SVCJ_BTC,
    ModelKind,
    PathModel,
    bootstrap_paths,
    simulate_paths,
    simulate_paths_reference,
)
from deltahedge.core.errors import InvalidInput


def test_same_seed_same_paths_whatever_the_batch():
    f_all, v_all = simulate_paths(SVCJ_BTC, 1e5, 1 / 365, 50, 64, seed=7)
    f_few, v_few = simulate_paths(SVCJ_BTC, 1e5, 1 / 365, 50, 10, seed=7)
    np.testing.assert_array_equal(f_all[:10], f_few)
    np.testing.assert_array_equal(v_all[:10], v_few)
    f_other, _ = simulate_paths(SVCJ_BTC, 1e5, 1 / 365, 50, 10, seed=8)
    assert not np.array_equal(f_other, f_few)


def test_generator_seed_is_reproducible():
    a, _ = simulate_paths(GBM_BTC, 100.0, 1 / 365, 5, 3, seed=np.random.default_rng(1))
    b, _ = simulate_paths(GBM_BTC, 100.0, 1 / 365, 5, 3, seed=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("model", [GBM_BTC, MERTON_BTC, HESTON_BTC, BATES_BTC, SVCJ_BTC])
def test_forward_is_a_martingale_and_vol_matches_the_parameters(model):
    n = 20000
    f, _ = simulate_paths(model, 100.0, 1 / 365, 90, n, seed=11)
    ratio = f[:, -1] / 100.0
    se = ratio.std() / math.sqrt(n)
    assert abs(ratio.mean() - 1.0) < 4 * se
    r = np.diff(np.log(f), axis=1)
    realised = r.var() * 365
    # long-run total variance; SVCJ starts at theta, below its stationary mean, so allow 15%
    assert realised == pytest.approx(model.long_run_variance, rel=0.15)


def test_btc_svcj_defaults_are_the_converted_hou_et_al_values():
    # kappa 0.187/day * 365; theta 0.054 * 365/250; sigma_J^2 2.06 in sqrt(250)-scaled units
    assert SVCJ_BTC.kappa == pytest.approx(68.255)
    assert SVCJ_BTC.theta == pytest.approx(0.07884)
    assert SVCJ_BTC.sigma_j == pytest.approx(0.09077, rel=1e-3)
    assert SVCJ_BTC.lam == pytest.approx(18.615)
    # stationary total vol about 70%/yr, as BTC
    assert 0.6 < math.sqrt(SVCJ_BTC.long_run_variance) < 0.8


def test_compiled_heston_step_matches_the_numpy_twin_in_distribution():
    model = HESTON_BTC.with_(kappa=3.0, sigma_v=1.0, rho=-0.5)
    n, m, dt = 20000, 30, 1 / 365
    fast, _ = simulate_paths(model, 100.0, dt, m, n, seed=5)
    rng = np.random.default_rng(5)
    ref = simulate_paths_reference(model, 100.0, dt, m, rng.standard_normal((n, m, 2)))
    lf, lr = np.log(fast[:, -1]), np.log(ref[:, -1])
    se = math.sqrt(lf.var() / n + lr.var() / n)
    assert abs(lf.mean() - lr.mean()) < 4 * se
    assert lf.std() == pytest.approx(lr.std(), rel=0.03)


def test_reference_twin_with_zero_vol_of_vol_is_exact_gbm():
    model = PathModel(kind=ModelKind.GBM, v0=0.25, theta=0.25)
    z = np.zeros((1, 3, 2))
    z[0, :, 0] = [1.0, -0.5, 0.2]
    out = simulate_paths_reference(model, 100.0, 0.01, 3, z)
    # ln F = ln 100 + sum(-0.125*0.01 + 0.5*0.1*z) = ln 100 - 0.00375 + 0.05*0.7
    assert out[0, -1] == pytest.approx(100.0 * math.exp(-0.00375 + 0.035))


def test_bootstrap_paths_reuse_real_returns_in_blocks():
    r = np.arange(1, 101, dtype=float) * 1e-4
    p = bootstrap_paths(r, 100.0, 30, 4, block=10, seed=3, demean=False)
    steps = np.diff(np.log(p), axis=1)
    # every block of 10 consecutive steps is 10 consecutive real returns
    for blk in steps[:, :10]:
        assert np.allclose(np.diff(blk), 1e-4)
    np.testing.assert_array_equal(
        p, bootstrap_paths(r, 100.0, 30, 4, block=10, seed=3, demean=False)
    )


def test_invalid_parameters_are_rejected_with_the_value():
    with pytest.raises(InvalidInput, match=r"rho=1\.5"):
        PathModel(kind=ModelKind.HESTON, rho=1.5)
    with pytest.raises(InvalidInput, match="block=500"):
        bootstrap_paths(np.zeros(100), 1.0, 10, 1, block=500)


def test_public_api_names_resolve():
    import deltahedge.backtest as bt

    assert all(hasattr(bt, n) for n in bt.__all__)
    assert "simulate" in bt.__all__ and "SVCJ_BTC" in bt.__all__


def test_path_generator_is_xoshiro256starstar_seeded_by_splitmix64():
    import numba as nb

    from deltahedge.backtest._rng import new_state, next_u64, normal_pair, xoshiro_reference

    # splitmix64 from 0: first output 0xE220A8397B1DCDAF (Vigna's splitmix64.c)
    assert int(new_state(np.uint64(0))[0]) == 0xE220A8397B1DCDAF

    @nb.njit
    def draws(seed, n):
        s = new_state(np.uint64(seed))
        out = np.empty(n, np.uint64)
        for i in range(n):
            out[i] = next_u64(s)
        return out

    @nb.njit
    def normals(seed, n):
        s = new_state(np.uint64(seed))
        out = np.empty(2 * n)
        for i in range(n):
            out[2 * i], out[2 * i + 1] = normal_pair(s)
        return out

    assert [int(x) for x in draws(20260101, 50)] == xoshiro_reference(20260101, 50)
    z = normals(3, 200_000)
    # 400,000 N(0,1): se of the mean 0.0016, of the variance 0.0022, of the 4th moment 0.017
    assert abs(z.mean()) < 0.0065 and abs(z.var() - 1) < 0.009
    assert abs(np.mean(z**4) - 3) < 0.07
    assert abs(np.corrcoef(z[0::2], z[1::2])[0, 1]) < 0.0065  # the pair is independent

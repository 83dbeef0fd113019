"""Raw SVI: formulas against published values, calibration, its compiled twin, Durrleman's g."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import lsq_linear

from deltahedge.core.errors import InvalidInput
from deltahedge.surface import (
    SVIParams,
    butterfly_violations,
    calibrate_svi,
    durrleman_g,
    svi_derivatives,
    svi_g,
    svi_total_variance,
)
from deltahedge.surface.svi import LEE_SLOPE, _qe_inner, _qe_inner_py

#: Axel Vogt's slice (Gatheral and Jacquier 2014, section 2.2, T = 1): butterfly arbitrage.
VOGT = SVIParams(a=-0.0410, b=0.1331, rho=0.3060, m=0.3586, sigma=0.4153)


def test_reference_values_match_pfhedge_docstring(oracle_values: dict) -> None:
    for case in oracle_values["surfaces"]:
        p = SVIParams(**case["svi_raw"])
        got = svi_total_variance(p, case["k"])
        np.testing.assert_allclose(got, case["total_variance"], atol=case["tol"])


def test_derivatives_match_finite_differences() -> None:
    p = SVIParams(a=0.02, b=0.15, rho=-0.4, m=0.05, sigma=0.2)
    k = np.linspace(-1, 1, 21)
    h = 1e-5
    w, w1, w2 = svi_derivatives(p, k)
    wp, wm = svi_total_variance(p, k + h), svi_total_variance(p, k - h)
    np.testing.assert_allclose(w1, (wp - wm) / (2 * h), atol=1e-8)
    np.testing.assert_allclose(w2, (wp - 2 * w + wm) / h**2, atol=1e-4)


def test_durrleman_g_of_a_flat_smile_is_one() -> None:
    # w constant: w' = w'' = 0 so g = (1 - 0)^2 - 0 + 0 = 1 everywhere.
    k = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(durrleman_g(k, np.full(9, 0.04), np.zeros(9), np.zeros(9)), 1.0)


def test_vogt_slice_butterfly_arbitrage_is_caught_with_its_location() -> None:
    k = np.linspace(-1.5, 1.5, 601)
    v = butterfly_violations(1.0, k, svi_g(VOGT, k))
    assert len(v) >= 1
    worst = min(v, key=lambda x: x.worst)
    assert worst.worst < 0
    # GJ 2014, Figure 2: the density is negative a little below k = 1
    assert 0.4 < worst.k_lo < worst.k_hi < 1.5
    assert "butterfly" in worst.describe()


def test_constrained_refit_of_vogt_slice_is_arbitrage_free_and_close() -> None:
    k = np.linspace(-1.0, 1.5, 40)
    w = svi_total_variance(VOGT, k)
    grid = np.linspace(-2.5, 3.0, 201)
    free = calibrate_svi(k, w)
    assert svi_g(free, grid).min() < 0  # the free fit reproduces the arbitrage
    fixed = calibrate_svi(k, w, butterfly_grid=grid)
    assert svi_g(fixed, grid).min() >= 0
    assert np.max(np.abs(svi_total_variance(fixed, k) - w)) < 0.01


def test_calibration_recovers_an_exact_svi_slice() -> None:
    true = SVIParams(a=0.01, b=0.12, rho=-0.35, m=0.03, sigma=0.15)
    k = np.linspace(-0.8, 0.8, 35)
    p = calibrate_svi(k, svi_total_variance(true, k))
    # T = 1: implied vols agree to 0.01 vol point (the grid search's resolution)
    vol_fit, vol_true = np.sqrt(svi_total_variance(p, k)), np.sqrt(svi_total_variance(true, k))
    np.testing.assert_allclose(vol_fit, vol_true, atol=1e-4)
    finer = calibrate_svi(k, svi_total_variance(true, k), n_zoom=8)
    np.testing.assert_allclose(np.sqrt(svi_total_variance(finer, k)), vol_true, atol=1e-6)
    assert p.b >= 0 and abs(p.rho) < 1 and p.sigma > 0 and p.min_variance() >= 0
    assert p.b * (1 + abs(p.rho)) <= LEE_SLOPE + 1e-12


def test_inner_solver_matches_scipy_and_its_python_twin() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        k = np.sort(rng.uniform(-1, 1, 20))
        w = np.abs(0.1 + 0.05 * k + 0.1 * k**2 + 0.02 * rng.normal(size=20)) + 0.01
        wt = rng.uniform(0.1, 1, 20)
        m, s = rng.uniform(-0.5, 0.5), float(np.exp(rng.uniform(-3, 0.5)))
        th, th_py = np.empty(3), np.empty(3)
        obj = _qe_inner(m, s, k, w, wt, w.max(), th)
        obj_py = _qe_inner_py(m, s, k, w, wt, w.max(), th_py)
        assert obj == pytest.approx(obj_py, rel=1e-12, abs=1e-15)
        y = (k - m) / s
        z = np.sqrt(y * y + 1)
        X = np.c_[np.ones(20), (y + z) / 2, (z - y) / 2] * np.sqrt(wt)[:, None]
        ref = lsq_linear(X, w * np.sqrt(wt), bounds=([-2 * s, 0, 0], [w.max(), 2 * s, 2 * s]))
        if ref.x[0] + np.sqrt(ref.x[1] * ref.x[2]) >= 0:  # scipy's answer is admissible
            assert obj == pytest.approx(2 * ref.cost, rel=1e-7, abs=1e-14)


def test_compiled_search_matches_its_reference_twin() -> None:
    k = np.linspace(-0.5, 0.6, 15)
    w = 0.02 + 0.1 * (np.sqrt((k - 0.05) ** 2 + 0.01) - 0.3 * k)
    fast = calibrate_svi(k, w, n_grid=7, n_zoom=2)
    slow = calibrate_svi(k, w, n_grid=7, n_zoom=2, reference=True)
    np.testing.assert_allclose(fast.as_tuple(), slow.as_tuple(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"a": 0.01, "b": -0.1, "rho": 0.0, "m": 0.0, "sigma": 0.1}, "b ="),
        ({"a": 0.01, "b": 0.1, "rho": 1.0, "m": 0.0, "sigma": 0.1}, "rho ="),
        ({"a": 0.01, "b": 0.1, "rho": 0.0, "m": 0.0, "sigma": 0.0}, "sigma ="),
        ({"a": -0.5, "b": 0.1, "rho": 0.0, "m": 0.0, "sigma": 0.1}, "minimum total variance"),
    ],
)
def test_invalid_parameters_raise_naming_the_constraint(kwargs: dict, word: str) -> None:
    with pytest.raises(InvalidInput, match=word):
        SVIParams(**kwargs)


def test_too_few_points_raise() -> None:
    with pytest.raises(InvalidInput, match="at least 5"):
        calibrate_svi([0.0, 0.1, 0.2], [0.04, 0.04, 0.05])


def test_compiled_min_g_matches_its_twin_and_svi_g() -> None:
    from deltahedge.surface.svi import _min_g, _min_g_py

    grid = np.linspace(-1.5, 1.5, 301)
    p = VOGT
    # (a, u, v) with u = c + d, v = c - d, c = b s, d = rho b s
    c, d = p.b * p.sigma, p.rho * p.b * p.sigma
    args = (p.a, c + d, c - d, p.m, p.sigma, grid)
    assert _min_g(*args) == pytest.approx(_min_g_py(*args), rel=1e-12)
    assert _min_g(*args) == pytest.approx(svi_g(p, grid).min(), rel=1e-9)
    assert _min_g(*args) < 0


def test_early_exit_butterfly_checks_give_the_full_checks_answer() -> None:
    from deltahedge.surface._refine import _butterfly_free
    from deltahedge.surface.svi import _g_negative, _min_g

    grid = np.linspace(-1.5, 1.5, 301)
    rng = np.random.default_rng(4)
    seen = set()
    for _ in range(400):
        a, b = rng.uniform(-0.05, 0.1), rng.uniform(0, 0.6) * (rng.random() < 0.8)
        rho, m, s = rng.uniform(-0.99, 0.99), rng.uniform(-0.5, 0.5), rng.uniform(0.01, 0.5)
        c, d = b * s, rho * b * s
        full = bool(_min_g(a, c + d, c - d, m, s, grid) < 0)
        assert _g_negative(a, c + d, c - d, m, s, grid) == full
        # b = 0 (a flat smile, g = 1) is free iff a > 0: the shortcut agrees with the loop
        assert _butterfly_free(a, b, rho, m, s, grid) == (not full)
        assert _butterfly_free.py_func(a, b, rho, m, s, grid) == (not full)
        seen.add((full, b == 0))
    assert seen == {(True, True), (True, False), (False, True), (False, False)}
    c, d = VOGT.b * VOGT.sigma, VOGT.rho * VOGT.b * VOGT.sigma
    assert _g_negative(VOGT.a, c + d, c - d, VOGT.m, VOGT.sigma, grid)

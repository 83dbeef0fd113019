"""SSVI: the slice identity with raw SVI, the theorems' conditions, and real-data checks."""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.core.errors import InvalidInput
from deltahedge.surface import (
    SSVIParams,
    SVIParams,
    calendar_violations,
    monotone_theta,
    ssvi_slice_as_svi,
    ssvi_total_variance,
    svi_g,
    svi_total_variance,
)
from deltahedge.surface.surface import Surface

THETA = np.geomspace(1e-5, 50.0, 400)


def test_ssvi_slice_is_the_raw_svi_slice_of_gatheral_jacquier() -> None:
    p = SSVIParams(rho=-0.3, phi_kind="power_law", eta=1.2, gamma=0.4)
    k = np.linspace(-1, 1, 11)
    for theta in (0.01, 0.1, 0.5):
        raw = ssvi_slice_as_svi(p, theta)
        np.testing.assert_allclose(
            svi_total_variance(raw, k), ssvi_total_variance(p, k, theta), rtol=1e-12
        )
        # at k = 0 total variance is theta by construction: theta/2 (1 + sqrt(rho^2 + 1 - rho^2))
        assert float(ssvi_total_variance(p, 0.0, theta)) == pytest.approx(theta, rel=1e-12)


@pytest.mark.parametrize("rho", [-0.9, -0.3, 0.0, 0.5])
def test_power_law_at_its_bounds_meets_theorems_4_1_and_4_2(rho: float) -> None:
    p = SSVIParams(rho=rho, phi_kind="power_law", eta=2.0 / (1 + abs(rho)), gamma=0.5)
    assert p.arbitrage_conditions() == []
    phi = p.phi(THETA)
    tp = THETA * phi
    # Theorem 4.2: theta phi (1+|rho|) < 4 and theta phi^2 (1+|rho|) <= 4
    assert np.all(tp * (1 + abs(rho)) < 4)
    assert np.all(THETA * phi**2 * (1 + abs(rho)) <= 4 + 1e-12)
    # Theorem 4.1: 0 <= d(theta phi)/d theta <= (1 + sqrt(1 - rho^2)) / rho^2 phi
    d = np.gradient(tp, THETA)
    assert np.all(d >= -1e-9)
    if rho != 0:
        assert np.all(d <= (1 + np.sqrt(1 - rho**2)) / rho**2 * phi + 1e-9)


def test_heston_like_phi_at_corollary_bound_is_butterfly_free() -> None:
    rho = -0.6
    p = SSVIParams(rho=rho, phi_kind="heston", lam=(1 + abs(rho)) / 4)
    assert p.arbitrage_conditions() == []
    k = np.linspace(-3, 3, 601)
    for theta in (1e-3, 0.05, 0.5, 3.0):
        assert svi_g(ssvi_slice_as_svi(p, theta), k).min() >= -1e-12
    too_small = SSVIParams(rho=rho, phi_kind="heston", lam=0.2)
    assert "Corollary 4.1" in too_small.arbitrage_conditions()[0]


def test_constructed_calendar_arbitrage_is_caught_with_its_range() -> None:
    # The later slice sits below the earlier one for k > 0.1 only.
    early = SVIParams(a=0.02, b=0.1, rho=0.5, m=0.0, sigma=0.1)
    late = SVIParams(a=0.03, b=0.1, rho=-0.5, m=0.0, sigma=0.1)
    k = np.linspace(-1, 1, 201)
    W = np.array([svi_total_variance(early, k), svi_total_variance(late, k)])
    v = calendar_violations([0.1, 0.2], k, W)
    assert len(v) == 1
    # w_early - w_late = -0.01 + 0.1 k (for both rho terms): drops where k > 0.1
    assert v[0].k_lo == pytest.approx(0.11, abs=0.011) and v[0].k_hi == 1.0
    assert v[0].worst == pytest.approx(0.09, rel=1e-9)
    assert v[0].T == 0.1 and v[0].T_next == 0.2


def test_monotone_theta_is_running_maximum_and_bad_inputs_raise() -> None:
    np.testing.assert_array_equal(
        monotone_theta([0.01, 0.03, 0.02, 0.05]), [0.01, 0.03, 0.03, 0.05]
    )
    with pytest.raises(InvalidInput, match="phi_kind"):
        SSVIParams(rho=0.0, phi_kind="cubic")  # type: ignore[arg-type]


def test_real_ssvi_surfaces_have_no_calendar_or_butterfly_arbitrage(
    ssvi_surfaces: dict[str, list[Surface]],
) -> None:
    wide = np.linspace(-3.0, 3.0, 401)
    n = 0
    for surfaces in ssvi_surfaces.values():
        for s in surfaces:
            assert s.ssvi is not None and s.ssvi.arbitrage_conditions() == []
            assert np.all(np.diff(s.theta) >= 0)
            assert s.calendar == ()
            assert s.check_calendar(k=wide) == []
            assert all(d.butterfly == () for d in s.diagnostics)
            n += 1
    assert n == 50


def test_heston_like_ssvi_on_a_real_chain_is_free_of_calendar_arbitrage(
    real_chains: dict,
) -> None:
    from deltahedge.surface import fit_surface

    s = fit_surface(real_chains["ETH"][4], "ssvi", phi="heston")
    assert s.ssvi is not None and s.ssvi.phi_kind == "heston"
    assert s.ssvi.lam >= (1 + abs(s.ssvi.rho)) / 4
    assert s.calendar == () and s.check_calendar(k=np.linspace(-3, 3, 301)) == []
    assert all(d.butterfly == () for d in s.diagnostics)

"""The differential-evolution search on a slice's own score (surface/_refine.py)."""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.marketdata import OptionChain
from deltahedge.surface import Surface, slice_quotes
from deltahedge.surface._refine import de_refine, slice_objective
from deltahedge.surface.arbitrage import check_grid
from deltahedge.surface.fit import _score
from deltahedge.surface.svi import RHO_MAX


def _args(q):  # type: ignore[no-untyped-def]
    grid = check_grid(q.k, float(np.median(q.mark_iv**2 * q.T)))
    return (q.T, q.k, q.mark_iv, q.row_k, q.row_bid_iv, q.row_ask_iv, grid, RHO_MAX)


def test_objective_is_the_fit_score_of_real_slices(
    real_chains: dict[str, list[OptionChain]], svi_surfaces: dict[str, list[Surface]]
) -> None:
    # 1000 * targets missed + rows outside + 10 * median |fit - mark| (vol decimals)
    chain, s = real_chains["BTC"][2], svi_surfaces["BTC"][2]
    for i, q in enumerate(slice_quotes(chain)):
        p = s.slice_params(i)
        x = np.array([p.a, p.b, p.rho, p.m, np.log(p.sigma)])
        missed, n_out, err = _score(p, q)
        got = slice_objective(x, *_args(q), np.empty(len(q)))
        assert got == pytest.approx(1000 * missed + n_out + 10 * err, rel=1e-9)
        # inadmissible: wing slope above Lee's bound, negative b
        for bad in ([p.a, 2.5, 0.0, p.m, x[4]], [p.a, -0.1, 0.0, p.m, x[4]]):
            assert slice_objective(np.array(bad), *_args(q), np.empty(len(q))) == np.inf


def test_butterfly_arbitrage_is_rejected_by_the_objective(
    real_chains: dict[str, list[OptionChain]],
) -> None:
    # Vogt's slice (GJ 2014) has g < 0 near k = 0.9, inside any check grid reaching it
    q = slice_quotes(real_chains["ETH"][0])[-1]
    T, *rest = _args(q)
    rest[5] = np.linspace(-1.5, 1.5, 301)  # a grid that covers the arbitrage
    vogt = np.array([-0.0410, 0.1331, 0.3060, 0.3586, np.log(0.4153)])
    assert slice_objective(vogt, T, *rest, np.empty(len(q))) == np.inf


def test_search_matches_its_twin_and_never_worsens_its_start(
    real_chains: dict[str, list[OptionChain]], svi_surfaces: dict[str, list[Surface]]
) -> None:
    chain, s = real_chains["ETH"][5], svi_surfaces["ETH"][5]
    q = slice_quotes(chain)[1]
    p = s.slice_params(1)
    x0 = np.array([p.a, p.b, p.rho, p.m, np.log(p.sigma)])
    lo = x0 - np.array([0.01, x0[1], 0.5, 0.2, 1.0])
    hi = x0 + np.array([0.01, 0.2, 0.5, 0.2, 1.0])
    lo[2], hi[2] = max(lo[2], -RHO_MAX), min(hi[2], RHO_MAX)
    start = slice_objective(x0, *_args(q), np.empty(len(q)))
    fast, slow = np.empty(5), np.empty(5)
    f = de_refine(x0, lo, hi, *_args(q), 6, 4, 3, fast)
    with np.errstate(over="ignore"):  # xorshift64* multiplies modulo 2**64 on purpose
        g = de_refine.py_func(x0, lo, hi, *_args(q), 6, 4, 3, slow)
    assert f == pytest.approx(g, rel=1e-12)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)
    assert f <= start  # the start is in the population and DE keeps the better of pairs
    assert np.all(fast >= lo) and np.all(fast <= hi)

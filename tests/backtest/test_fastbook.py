"""The simulator's SIMD book passes against the scalar erfc loop and the pure-Python twin."""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.backtest._fastbook import (
    N_SCRATCH,
    R_EXP,
    R_QTY,
    ST_MIN_EXPIRY,
    book_fast,
    leg_rows,
    use_blocks,
    use_simd,
)
from deltahedge.backtest.models import ModelKind, PathModel, simulate_paths
from deltahedge.backtest.policies import Policy, PolicyKind
from deltahedge.backtest.reference import simulate_path_reference
from deltahedge.backtest.simulator import Book, Costs, _book_greeks, simulate

T, F0 = 30 / 365, 100.0
GBM = PathModel(kind=ModelKind.GBM, v0=0.36, theta=0.36)


def _nine_legs() -> Book:
    # calls and puts, long and short, three expiries (one inside a 30-day path), vols 0.4-0.8
    n = 9
    cp = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    strike = np.linspace(70.0, 130.0, n)
    expiry = np.array([0.5, 1.0, 2.0] * 3) * T
    qty = np.array([-1.0, 2.0, -0.5, 1.5, -3.0, 1.0, 0.7, -1.2, 0.4])
    vol = np.linspace(0.4, 0.8, n)
    # raw SVI slices (a, b, rho, m, sigma, t): a smile per leg, total variance at t
    svi = np.column_stack(
        [np.full(n, 0.01), np.full(n, 0.08), np.full(n, -0.3), np.zeros(n), np.full(n, 0.1), expiry]
    )
    return Book(cp, strike, expiry, qty, vol, svi=svi)


@pytest.mark.parametrize("use_svi", [False, True])
@pytest.mark.parametrize("mult", [1.0, 1.3])
def test_book_fast_equals_the_scalar_erfc_loop(use_svi, mult):
    # value and delta along a path that crosses a leg's expiry and visits deep in- and
    # out-of-the-money forwards (|d| up to ~60: Cody's third range and exp underflow)
    book = _nine_legs()
    cp, strike, expiry, qty, vol, svi = book.arrays()
    n = len(cp)
    dvol = np.full(n, mult)
    lr = leg_rows(cp, strike, expiry, qty, vol, dvol, svi)
    assert lr.shape[1] == 12  # padded to whole AVX2 vectors
    legs = np.ascontiguousarray(np.column_stack([cp, strike, expiry, qty, vol, np.log(strike)]))
    exps, slot = np.unique(expiry, return_inverse=True)
    slot = slot.astype(np.int64)
    z3, z1 = np.zeros((1, 2, 2, 2)), np.zeros(2)
    state_fast = (lr[R_QTY].copy(), np.array([0.0, lr[R_EXP].min()]))
    scr = np.empty((N_SCRATCH, lr.shape[1]))
    settled_f, sval_f = np.zeros(n, dtype=np.bool_), np.zeros(n)
    settled_s, sval_s = np.zeros(n, dtype=np.bool_), np.zeros(n)
    forwards = [100.0, 101.0, 40.0, 250.0, 99.5, 1e-3, 1e4, 100.0, 100.0]
    times = [0.0, 0.1, 0.2, 0.3, 0.4999999, 0.5, 0.6, 0.9, 0.99]
    for f, frac in zip(forwards, times, strict=True):
        t = frac * T
        for need_price in (False, True):
            v_f, d_f = book_fast(
                f, t, lr, n, *state_fast, scr, settled_f, sval_f, need_price, use_svi
            )
            v_s, d_s, *_ = _book_greeks(
                f, t, 0.0, legs, svi, use_svi, 0, dvol, np.zeros(3), z3, z1, z1, z1, slot, exps,
                np.zeros(len(exps)), np.zeros(len(exps)), settled_s, sval_s, False, need_price,
                False,
            )  # fmt: skip
            # a few ulps of each leg's N(d) (Cody's rationals times vexp's density vs erfc)
            scale = float(np.sum(np.abs(qty) * np.maximum(strike, f)))
            if need_price:  # unmarked steps: no value (the scalar loop sums settled legs)
                assert abs(v_f - v_s) <= 1e-14 * scale, (f, t)
            assert abs(d_f - d_s) <= 1e-14 * float(np.sum(np.abs(qty))), (f, t, need_price)
            np.testing.assert_array_equal(settled_f, settled_s)
    assert settled_f.sum() == 3  # the three half-T legs settled at t = 0.5 T
    assert state_fast[1][ST_MIN_EXPIRY] == pytest.approx(T)


def test_use_simd_only_for_books_it_speeds_up_and_positive_delta_vols():
    assert use_simd(8, False, np.full(8, 0.5))
    assert not use_simd(7, False, np.full(7, 0.5))
    assert use_simd(4, True, np.full(4, 0.5))
    # Leland can floor a long leg's delta vol at 0: the scalar loop's payoff slope
    assert not use_simd(10, True, np.r_[np.full(9, 0.5), 0.0])


@pytest.mark.parametrize(
    ("policy", "costs", "flat_vol"),
    [
        (Policy(PolicyKind.FIXED_THRESHOLD, (0.05,)), Costs(taker_fee=5e-4), 0.0),
        (Policy(PolicyKind.LELAND, (2, 0.001)), Costs(taker_fee=5e-4, lot=0.001), 0.0),
        (Policy(PolicyKind.FIXED_INTERVAL, (3,)), Costs(half_spread=1e-4, latency=1), 0.55),
    ],
)
def test_simd_kernel_matches_the_pure_python_twin(policy, costs, flat_vol):
    # nine legs take the SIMD passes; three expire mid-path and settle
    book = Book(*_nine_legs().arrays()[:5])
    assert use_simd(9, False, book.vol)
    paths, _ = simulate_paths(GBM, F0, T / 60, 60, 3, seed=5)
    res = simulate(book, policy, paths=paths, dt=T / 60, costs=costs, flat_vol=flat_vol)
    for i in range(3):
        ref = simulate_path_reference(book, policy, paths[i], T / 60, costs, flat_vol=flat_vol)
        assert res.pnl[i] == pytest.approx(ref["pnl"], abs=1e-9)
        assert res.cost[i] == pytest.approx(ref["cost"], abs=1e-9)
        assert res.trades[i] == ref["trades"]
        assert res.turnover[i] == pytest.approx(ref["turnover"], abs=1e-9)


def _three_legs(svi: bool = False) -> Book:
    # a short call, a long put and a short call expiring at mid-path (it settles there)
    book = _nine_legs()
    cp, strike, expiry, qty, vol, sv = book.arrays()
    pick = [0, 1, 3]  # expiries 0.5 T, T, 0.5 T
    return Book(
        cp[pick], strike[pick], expiry[pick], qty[pick], vol[pick], svi=sv[pick] if svi else None
    )


def test_use_blocks_only_below_the_simd_size_deciding_every_step_with_positive_vols():
    v = np.full(3, 0.5)
    assert use_blocks(False, 1, v, v)
    assert not use_blocks(True, 1, v, v)  # the SIMD-over-legs passes take that book
    assert not use_blocks(False, 2, v, v)  # deciding every 2nd step: nothing to precompute
    assert not use_blocks(False, 1, np.r_[0.5, 0.5, 0.0], v)  # Leland floors a delta vol at 0
    assert not use_blocks(False, 1, v, np.r_[0.5, 0.0, 0.5])  # a zero vol: the payoff's slope


@pytest.mark.parametrize("n_leg", [1, 3])
@pytest.mark.parametrize(
    ("policy", "costs"),
    [
        (Policy(PolicyKind.FIXED_THRESHOLD, (0.05,)), Costs(taker_fee=5e-4)),
        (Policy(PolicyKind.LELAND, (1, 0.001)), Costs(taker_fee=5e-4, lot=0.001)),
        (Policy(PolicyKind.FIXED_INTERVAL, (3,)), Costs(half_spread=1e-4, latency=1)),
    ],
)
def test_block_kernel_matches_the_pure_python_twin(n_leg, policy, costs):
    # 300 steps: two blocks of 256 steps and a part; the 3-leg book settles two legs at 150
    book = _three_legs() if n_leg == 3 else Book(*(a[:1] for a in _three_legs().arrays()[:5]))
    assert use_blocks(False, 1, book.vol, book.vol)
    paths, _ = simulate_paths(GBM, F0, T / 300, 300, 3, seed=11)
    res = simulate(book, policy, paths=paths, dt=T / 300, costs=costs)
    for i in range(3):
        ref = simulate_path_reference(book, policy, paths[i], T / 300, costs)
        assert res.pnl[i] == pytest.approx(ref["pnl"], abs=1e-9)
        assert res.cost[i] == pytest.approx(ref["cost"], abs=1e-9)
        assert res.trades[i] == ref["trades"]
        assert res.turnover[i] == pytest.approx(ref["turnover"], abs=1e-9)


@pytest.mark.parametrize("svi", [False, True])
@pytest.mark.parametrize("mark_every", [1, 7])
def test_block_path_equals_the_scalar_path(monkeypatch, svi, mark_every):
    # every output (the marks' drawdown and step std included) from the blocks of steps
    # equals the step-by-step erfc loop's to rounding; 600 steps: blocks end mid-stride
    import deltahedge.backtest.simulator as sim

    book = _three_legs(svi)
    paths, _ = simulate_paths(GBM, F0, T / 600, 600, 4, seed=3)
    pol = Policy(PolicyKind.FIXED_THRESHOLD, (0.02,))
    kw = {"paths": paths, "dt": T / 600, "costs": Costs(taker_fee=5e-4), "mark_every": mark_every}
    fast = simulate(book, pol, **kw)
    monkeypatch.setattr(sim, "use_blocks", lambda *a: False)
    slow = simulate(book, pol, **kw)
    for name in ("pnl", "cost", "funding", "turnover", "max_drawdown", "step_std"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(fast.trades, slow.trades)
    assert fast.trades.min() > 0  # the policy traded: the deltas were compared, not skipped

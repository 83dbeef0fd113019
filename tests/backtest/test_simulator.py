"""Hedge simulator: Derman-Kamal, 1/sqrt(N), Leland break-even, the reference twin, costs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deltahedge.backtest.models import ModelKind, PathModel, simulate_paths
from deltahedge.backtest.policies import Policy, PolicyKind, leland_vol
from deltahedge.backtest.reference import simulate_path_reference
from deltahedge.backtest.simulator import Book, Costs, DeltaModel, simulate
from deltahedge.core.errors import InvalidInput

SIG, T, F0 = 0.6, 30 / 365, 100.0
GBM = PathModel(kind=ModelKind.GBM, v0=SIG**2, theta=SIG**2)
EVERY_STEP = Policy(PolicyKind.FIXED_INTERVAL, (1,))


def _atm_call(qty: float = 1.0, vol: float = SIG) -> Book:
    return Book(np.array([1.0]), np.array([F0]), np.array([T]), np.array([qty]), np.array([vol]))


def _vega() -> float:
    d1 = 0.5 * SIG * math.sqrt(T)
    return F0 * math.sqrt(T) * math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)


@pytest.mark.parametrize("n", [20, 50, 200, 1000])
def test_derman_kamal_hedging_error_within_10pct(n):
    paths = 12000 if n < 1000 else 6000
    res = simulate(
        _atm_call(), EVERY_STEP, model=GBM, f0=F0, n_paths=paths, dt=T / n, n_steps=n, seed=n
    )
    predicted = math.sqrt(math.pi / 4) * _vega() * SIG / math.sqrt(n)
    # relative standard error of a sample std ~ sqrt((kurtosis - 1) / (4 n)); the hedging
    # error is leptokurtic (kurtosis ~ 6), so with >= 6000 paths it is <= 1.5%
    kurt = float(np.mean((res.pnl - res.mean) ** 4) / res.std**4)
    rel_se = math.sqrt((kurt - 1) / (4 * paths))
    assert rel_se < 0.03
    assert abs(res.std / predicted - 1) < 0.10 - 2 * rel_se
    assert abs(res.mean) < 4 * res.std / math.sqrt(paths)


def test_zero_cost_error_falls_like_one_over_sqrt_n():
    stds = []
    for n in (25, 100, 400):
        res = simulate(
            _atm_call(), EVERY_STEP, model=GBM, f0=F0, n_paths=8000, dt=T / n, n_steps=n, seed=1
        )
        stds.append(res.std)
    # quadrupling N halves the error; slope of log std on log N is -1/2
    slope = np.polyfit(np.log([25, 100, 400]), np.log(stds), 1)[0]
    assert slope == pytest.approx(-0.5, abs=0.04)


def test_leland_vol_breaks_even_with_proportional_costs():
    n, k, paths = 100, 0.002, 40000
    dt = T / n
    s_l = leland_vol(SIG, k, dt)
    costs = Costs(taker_fee=k / 2)  # Leland's k is the round-trip cost
    res = simulate(
        _atm_call(-1.0, s_l),
        Policy(PolicyKind.LELAND, (1, k)),
        model=GBM,
        f0=F0,
        n_paths=paths,
        dt=dt,
        n_steps=n,
        seed=3,
        costs=costs,
    )
    # Leland prices the rebalancing costs, not the set-up trade at t=0: add that back
    d0 = 0.5 * math.erfc(-(0.5 * s_l * math.sqrt(T)) / math.sqrt(2))
    setup = k / 2 * F0 * d0
    se = res.std / math.sqrt(paths)
    assert abs(res.mean + setup) < 3 * se
    # control: charging and hedging at the plain vol loses the costs, many SEs below 0
    plain = simulate(
        _atm_call(-1.0),
        EVERY_STEP,
        model=GBM,
        f0=F0,
        n_paths=paths,
        dt=dt,
        n_steps=n,
        seed=3,
        costs=costs,
    )
    assert plain.mean + setup < -20 * se


CASES = [
    (Policy(PolicyKind.FIXED_INTERVAL, (3,)), Costs(taker_fee=5e-4, half_spread=1e-4)),
    (
        Policy(PolicyKind.FIXED_THRESHOLD, (0.05,)),
        Costs(taker_fee=5e-4, impact=1e-3, impact_size=2.0),
    ),
    (Policy(PolicyKind.TIME_OR_THRESHOLD, (7, 0.1)), Costs(funding_rate=0.1, lot=0.01)),
    (Policy(PolicyKind.HYSTERESIS, (0.1, 0.03)), Costs(taker_fee=2e-4, latency=2)),
    (Policy(PolicyKind.LELAND, (2, 0.001)), Costs(taker_fee=5e-4, lot=0.001, latency=1)),
    (
        Policy(PolicyKind.FIXED_THRESHOLD, (0.02,)),
        Costs(l2_offsets=np.array([1e-4, 3e-4, 1e-3]), l2_sizes=np.array([0.01, 0.05, 0.2])),
    ),
    (
        Policy(PolicyKind.FIXED_THRESHOLD, (0.02,)),
        Costs(
            l2_offsets=np.array([1e-4, 3e-4]),
            l2_sizes=np.array([0.01, 0.05]),
            l2_bid_offsets=np.array([2e-4, 6e-4]),
            l2_bid_sizes=np.array([0.02, 0.1]),
        ),
    ),
    (Policy(PolicyKind.WHALLEY_WILMOTT, (1e-2, 5e-4)), Costs(taker_fee=5e-4)),
    (Policy(PolicyKind.ZAKAMOULINE, (1e-2, 5e-4, 0.6, 0.0)), Costs(taker_fee=5e-4, lot=0.01)),
    (Policy(PolicyKind.GAMMA_WEIGHTED, (1.0, 3600.0, 0.6)), Costs(taker_fee=5e-4, latency=1)),
    (Policy(PolicyKind.FIXED_INTERVAL, (3,), jitter=(0.5, 0.3)), Costs(taker_fee=5e-4)),
    (
        Policy(PolicyKind.TIME_OR_THRESHOLD, (4, 0.1), jitter=(0.3, 0.0)),
        Costs(taker_fee=5e-4, lot=0.01),
    ),
    (Policy(PolicyKind.HYSTERESIS, (0.1, 0.03), jitter=(0.0, 0.5)), Costs(taker_fee=2e-4)),
]


@pytest.mark.parametrize(("policy", "costs"), CASES)
def test_kernel_matches_the_pure_python_twin(policy, costs):
    book = Book(
        np.array([1.0, -1.0, -1.0]),
        np.array([100.0, 95.0, 105.0]),
        np.array([T, 0.5 * T, T]),
        np.array([-1.0, -0.5, 0.7]),
        np.array([0.6, 0.7, 0.55]),
    )
    paths, _ = simulate_paths(GBM, F0, T / 60, 60, 4, seed=9)
    res = simulate(book, policy, paths=paths, dt=T / 60, costs=costs, seed=3)
    for i in range(4):
        ref = simulate_path_reference(book, policy, paths[i], T / 60, costs, seed=3, path_index=i)
        assert res.pnl[i] == pytest.approx(ref["pnl"], abs=1e-9)
        assert res.cost[i] == pytest.approx(ref["cost"], abs=1e-9)
        assert res.funding[i] == pytest.approx(ref["funding"], abs=1e-9)
        assert res.trades[i] == ref["trades"]
        assert res.turnover[i] == pytest.approx(ref["turnover"], abs=1e-9)


def test_min_variance_delta_matches_the_twin_and_hull_white_by_hand():
    book = Book(
        np.array([1.0, -1.0]),
        np.array([100.0, 95.0]),
        np.array([T, T]),
        np.array([-1.0, -2.0]),
        np.array([0.6, 0.7]),
    )
    mv = (0.1, -0.3, 0.05)
    paths, _ = simulate_paths(GBM, F0, T / 40, 40, 3, seed=2)
    pol = Policy(PolicyKind.FIXED_THRESHOLD, (0.05,))
    res = simulate(
        book, pol, paths=paths, dt=T / 40, delta_model=DeltaModel.MIN_VARIANCE, min_variance=mv
    )
    for i in range(3):
        ref = simulate_path_reference(book, pol, paths[i], T / 40, Costs(), min_variance=mv)
        assert res.pnl[i] == pytest.approx(ref["pnl"], abs=1e-9)
        assert res.trades[i] == ref["trades"]
    # one hedge at t = 0 of the long ATM call alone: delta_MV = N(d1) + n(d1) (a + b N + c N^2)
    # (vega / (F sqrt T) = n(d1)); d1 = 0.5 * 0.6 * sqrt(30/365) = 0.08601
    d1 = 0.5 * SIG * math.sqrt(T)
    n_d1 = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    big_n = 0.5 * math.erfc(-d1 / math.sqrt(2))
    want = big_n + n_d1 * (mv[0] + mv[1] * big_n + mv[2] * big_n**2)
    one = simulate(
        _atm_call(),
        Policy(PolicyKind.FIXED_INTERVAL, (10,)),
        paths=np.full((1, 3), F0),
        dt=T / 2,
        costs=Costs(taker_fee=1.0),
        delta_model=DeltaModel.MIN_VARIANCE,
        min_variance=mv,
    )
    assert one.turnover[0] / F0 == pytest.approx(want, rel=1e-12)
    with pytest.raises(InvalidInput, match="min_variance"):
        simulate(_atm_call(), pol, paths=paths, dt=T / 40, delta_model=DeltaModel.MIN_VARIANCE)


def test_jitter_is_seeded_and_stretches_the_interval():
    # every 10 decisions, timing jitter 0.5: gaps between hedges in [5, 15] decisions
    pol = Policy(PolicyKind.FIXED_INTERVAL, (10,), jitter=(0.5, 0.0))
    kw = dict(model=GBM, f0=F0, n_paths=64, dt=T / 800, n_steps=400)  # half the life
    a = simulate(_atm_call(), pol, seed=8, **kw)
    b = simulate(_atm_call(), pol, seed=8, **kw)
    c = simulate(_atm_call(), pol, seed=9, **kw)
    plain = simulate(_atm_call(), Policy(PolicyKind.FIXED_INTERVAL, (10,)), seed=8, **kw)
    np.testing.assert_array_equal(a.pnl, b.pnl)  # same seed, same draws
    assert not np.array_equal(a.trades, c.trades)  # another seed, other gaps
    # 400 decisions: 40 hedges without jitter; with it between 400/15 and 400/5 + 1
    assert np.all(plain.trades == 40)
    assert np.all((a.trades >= 400 / 15) & (a.trades <= 400 / 5 + 1))
    assert 0 < np.std(a.trades)


def test_single_trade_cost_by_hand():
    # one long call, hedged once at t=0 (interval longer than the path), flat path at 100:
    # delta N(d1), d1 = 0.5*0.6*sqrt(T); cost = |q| F (fee + spread) + impact term
    book = _atm_call()
    path = np.full((1, 3), 100.0)
    costs = Costs(taker_fee=4e-4, half_spread=1e-4, impact=2e-3, impact_size=4.0)
    res = simulate(
        book, Policy(PolicyKind.FIXED_INTERVAL, (10,)), paths=path, dt=T / 2, costs=costs
    )
    q = 0.5 * math.erfc(-(0.5 * SIG * math.sqrt(T)) / math.sqrt(2))
    expected = q * 100 * 5e-4 + 2e-3 * q * 100 * math.sqrt(q / 4.0)
    assert res.cost[0] == pytest.approx(expected, rel=1e-12)
    assert res.trades[0] == 1.0


def test_seeded_generation_in_the_kernel_equals_given_paths():
    pol = Policy(PolicyKind.FIXED_THRESHOLD, (0.05,))
    a = simulate(
        _atm_call(),
        pol,
        model=GBM,
        f0=F0,
        n_paths=50,
        dt=T / 100,
        n_steps=100,
        seed=4,
        costs=Costs(taker_fee=5e-4),
    )
    paths, _ = simulate_paths(GBM, F0, T / 100, 100, 50, seed=4)
    b = simulate(_atm_call(), pol, paths=paths, dt=T / 100, costs=Costs(taker_fee=5e-4))
    np.testing.assert_array_equal(a.pnl, b.pnl)


def test_smile_delta_is_the_sticky_moneyness_derivative():
    # one-step path: the smile delta must equal dV/dF of the sticky-moneyness price
    svi = np.array([[0.02, 0.1, -0.3, 0.0, 0.1, T]])
    book = Book(
        np.array([1.0]), np.array([105.0]), np.array([T]), np.array([1.0]), np.array([0.5]), svi=svi
    )
    from deltahedge.backtest._b76 import b76_greeks
    from deltahedge.backtest.simulator import _svi_vol

    def price(f):
        s, _ = _svi_vol(svi, 0, math.log(105.0 / f))
        return b76_greeks(1.0, f, 105.0, T, s)[0]

    fd = (price(100.01) - price(99.99)) / 0.02
    # hedge once at t=0 with no cost; the hedge position is -delta
    path = np.array([[100.0, 100.0]])
    pol = Policy(PolicyKind.FIXED_INTERVAL, (10,))
    res = simulate(
        book, pol, paths=path, dt=T / 2, delta_model=DeltaModel.SMILE, costs=Costs(taker_fee=1.0)
    )
    assert res.turnover[0] / 100.0 == pytest.approx(fd, rel=1e-5)
    plain = simulate(book, pol, paths=path, dt=T / 2, costs=Costs(taker_fee=1.0))
    assert abs(plain.turnover[0] / 100.0 - fd) > 1e-3


def test_bad_inputs_name_the_problem():
    with pytest.raises(InvalidInput, match="cp must be"):
        Book(np.array([2.0]), np.array([1.0]), np.array([1.0]), np.array([1.0]), np.array([0.5]))
    with pytest.raises(InvalidInput, match="SMILE needs"):
        simulate(
            _atm_call(), EVERY_STEP, paths=np.ones((1, 3)), dt=0.01, delta_model=DeltaModel.SMILE
        )
    with pytest.raises(InvalidInput, match="inner band"):
        Policy(PolicyKind.HYSTERESIS, (0.01, 0.05))


def test_positions_file_builds_the_same_book(tmp_path):
    path = tmp_path / "book.csv"
    path.write_text("kind,strike,expiry_days,qty,vol\ncall,100,30,-1,0.6\nP,100,30,-1,0.6\n")
    book = Book.from_csv(path)
    ref = Book.straddle(100.0, 30 / 365, 0.6)
    for a, b in zip(book.arrays(), ref.arrays(), strict=True):
        np.testing.assert_array_equal(a, b)
    path.write_text("kind,strike\ncall,100\n")
    with pytest.raises(InvalidInput, match="columns"):
        Book.from_csv(path)


def test_final_pnl_does_not_depend_on_marking_cadence():
    pol = Policy(PolicyKind.HYSTERESIS, (0.1, 0.02))
    kw = dict(
        model=GBM,
        f0=F0,
        n_paths=200,
        dt=T / 240,
        n_steps=240,
        seed=12,
        costs=Costs(taker_fee=5e-4, funding_rate=0.1),
    )
    every = simulate(_atm_call(-1.0), pol, **kw)
    sparse = simulate(_atm_call(-1.0), pol, mark_every=24, **kw)
    np.testing.assert_allclose(sparse.pnl, every.pnl, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(sparse.trades, every.trades)
    # the drawdown seen on a coarser grid can only be smaller
    assert np.all(sparse.max_drawdown <= every.max_drawdown + 1e-9)


def test_leland_under_the_smile_delta_shifts_it_by_the_vanna():
    # Leland with a non-Black-76 delta: delta + vanna_sigma (f - 1) at the mark vol, with
    # f = leland_vol / vol (as hedging.Leland); one hedge at t = 0 of a long call
    from deltahedge.backtest._b76 import b76_greeks
    from deltahedge.backtest.simulator import _svi_vol

    svi = np.array([[0.02, 0.1, -0.3, 0.0, 0.1, T]])
    book = Book(
        np.array([1.0]), np.array([105.0]), np.array([T]), np.array([1.0]), np.array([0.5]), svi=svi
    )
    s, dsdk = _svi_vol(svi, 0, math.log(105.0 / 100.0))
    _, d_bs, _, vega = b76_greeks(1.0, 100.0, 105.0, T, s)
    smile = d_bs - vega * dsdk / 100.0
    sq = s * math.sqrt(T)
    d1 = (math.log(100.0 / 105.0) + 0.5 * sq * sq) / sq
    vanna = -math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi) * (d1 - sq)
    k, every = 0.02, 10
    factor = leland_vol(0.5, k, T / 2 * every, long=True) / 0.5  # long leg: vol lowered
    res = simulate(
        book,
        Policy(PolicyKind.LELAND, (every, k)),
        paths=np.array([[100.0, 100.0]]),
        dt=T / 2,
        delta_model=DeltaModel.SMILE,
        costs=Costs(taker_fee=1.0),
    )
    assert factor < 1
    assert res.turnover[0] / 100.0 == pytest.approx(smile + vanna * (factor - 1), rel=1e-12)


def test_model_delta_is_read_from_the_cos_table_at_the_path_variance():
    from deltahedge.backtest.cos import cos_price_delta, model_delta_table, table_delta
    from deltahedge.backtest.models import HESTON_BTC

    book = _atm_call()
    table = model_delta_table(HESTON_BTC, book.cp, book.strike, T, n_tau=8, n_x=41, n_v=8)
    v0 = 0.45  # the variance on the path at t = 0 (per year)
    res = simulate(
        book,
        Policy(PolicyKind.FIXED_INTERVAL, (10,)),
        paths=np.full((1, 3), F0),
        variances=np.full((1, 3), v0),
        dt=T / 2,
        costs=Costs(taker_fee=1.0),
        delta_model=DeltaModel.MODEL,
        delta_table=table,
    )
    want = table_delta(table[0], 0, table[1], table[2], table[3], T, 0.0, v0)
    assert res.turnover[0] / F0 == pytest.approx(want, rel=1e-12)
    exact = cos_price_delta(1.0, F0, F0, T, v0, HESTON_BTC.as_array(), 256)[1]
    assert want == pytest.approx(exact, abs=5e-3)  # the table interpolates the COS delta

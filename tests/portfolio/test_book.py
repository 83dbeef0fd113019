"""Book Greeks in both numeraires: oracles, hand-worked examples, finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.core.errors import InvalidInput
from deltahedge.instruments import parse_instrument
from deltahedge.marketdata.state import MarketState, UnderlyingState
from deltahedge.portfolio import Collateral, Position, book_risk, compile_book
from deltahedge.portfolio import _kernels as K

YEAR_NS = 365 * 86_400 * 10**9
CALL = parse_instrument("BTC-27MAR26-90000-C", "deribit")
PUT = parse_instrument("BTC-27MAR26-80000-P", "deribit")
PERP = parse_instrument("BTC-PERPETUAL", "deribit")  # inverse, 10 USD
LPERP = parse_instrument("BTCUSDT", "binance")  # linear, 1 BTC, lot 0.001
FUT = parse_instrument("BTC-27MAR26", "deribit")  # inverse, 10 USD
F_ORACLE, T_ORACLE, SIG_ORACLE = 93636.6, 0.221604, 0.4349


def _market(index: float = F_ORACLE, fwd: float = F_ORACLE, perp: float | None = None):
    ts = CALL.expiry_ns - round(T_ORACLE * YEAR_NS)
    marks = {} if perp is None else {("deribit", "BTC-PERPETUAL"): perp}
    u = UnderlyingState(index, np.array([CALL.expiry_ns]), np.array([fwd]), marks=marks, funding={})
    return MarketState(ts, {"BTC": u})


def test_deribit_call_delta_matches_oracle_in_usd_and_premium_adjusted_in_coin(oracle_values):
    ref = oracle_values["deribit"][0]
    m = _market()
    usd = book_risk([Position(CALL, 1.0)], m, vols=[SIG_ORACLE], numeraire="usd")
    coin = book_risk([Position(CALL, 1.0)], m, vols=[SIG_ORACLE], numeraire="coin")
    # value in coin = V_usd / F; Deribit's own mark 0.10088 BTC, Black-76 0.10085
    assert usd.value_usd[0] / F_ORACLE == pytest.approx(ref["black76_r0"]["price_coin"], abs=2e-5)
    assert usd.delta("BTC") == pytest.approx(ref["black76_r0"]["delta"], abs=2e-5)
    assert usd.delta("BTC") == pytest.approx(ref["deribit"]["delta"], abs=2e-4)
    pa = ref["black76_r0"]["premium_adjusted_delta"]
    assert coin.delta("BTC") == pytest.approx(pa, abs=1e-4)  # N(d1) - C_coin
    assert usd.vega_usd[0] / 100 == pytest.approx(ref["black76_r0"]["vega_usd_per_1pct"], abs=0.02)


def test_inverse_perp_hand_worked_in_both_numeraires():
    # Short 1,000 BTC-PERPETUAL (10 USD each) entered at 100,000; mark F = 93,636.6.
    # coin PnL = n c (1/F0 - 1/F) = -10,000 (1/100,000 - 1/93,636.6) = +0.0067958 BTC
    # USD value = F * coin PnL = n c (F/F0 - 1) = -10,000 (0.936366 - 1) = +636.34 USD
    # usd numeraire: dV/dF = n c / F0 = -10,000 / 100,000 = -0.1 BTC
    # coin numeraire: delta - V/F = -0.1 - 636.34/93,636.6 = -10,000/93,636.6 = -0.106796 BTC
    m = _market(perp=F_ORACLE)
    pos = [Position(PERP, -1000.0, entry_price=100_000.0)]
    usd = book_risk(pos, m, numeraire="usd")
    coin = book_risk(pos, m, numeraire="coin")
    assert usd.value_usd[0] == pytest.approx(636.34, abs=1e-9 + 0.005)
    assert usd.value_usd[0] / F_ORACLE == pytest.approx(10_000 * (1 / F_ORACLE - 1 / 1e5))
    assert usd.delta("BTC") == pytest.approx(-0.1, abs=1e-12)
    assert coin.delta("BTC") == pytest.approx(-10_000 / F_ORACLE, rel=1e-12)
    assert usd.gamma("BTC") == 0.0
    # coin gamma = d(-n c / F)/dF... = -(-10,000)... : d(n c / F)/dF = -n c / F^2 = +1.1405e-6
    assert coin.gamma("BTC") == pytest.approx(10_000 / F_ORACLE**2, rel=1e-9)


def test_short_inverse_call_and_coin_collateral_hand_worked_in_both_numeraires():
    # Hold 1 BTC collateral, sell 1 BTC-27MAR26-90000-C (F = S = 93,636.6, sigma 43.49 %).
    # usd numeraire: collateral delta +1, call delta N(d1) = 0.61633 -> 1 - 0.61633 = 0.38367
    # coin numeraire: collateral 0 (it *is* the numeraire), call N(d1) - C_coin
    #   = 0.61633 - 0.10085 = 0.51548 -> book -0.51548
    m = _market()
    pos = [Position(CALL, -1.0)]
    coll = [Collateral("BTC", 1.0, "deribit")]
    usd = book_risk(pos, m, vols=[SIG_ORACLE], collateral=coll, numeraire="usd")
    coin = book_risk(pos, m, vols=[SIG_ORACLE], collateral=coll, numeraire="coin")
    assert usd.delta("BTC") == pytest.approx(1 - 0.61633, abs=2e-5)
    assert coin.delta("BTC") == pytest.approx(-(0.61633 - 0.10085), abs=4e-5)
    assert usd.contribution("collateral:BTC@deribit")["delta_coin"] == 1.0
    assert coin.contribution("collateral:BTC@deribit")["delta_coin"] == 0.0
    assert usd.delta_usd[0] == pytest.approx(usd.delta("BTC") * F_ORACLE)


def test_usd_balance_is_short_coin_in_coin_numeraire_only():
    # 0.5 BTC + 93,636.6 USDC (1 BTC worth):
    # usd numeraire: 0.5 (coin) + 0 (USD) = 0.5; coin numeraire: 0 (coin) - B/S = -1 BTC
    m = _market()
    coll = [Collateral("BTC", 0.5), Collateral("USDC", F_ORACLE)]
    assert book_risk([], m, collateral=coll, numeraire="usd").delta("BTC") == 0.5
    assert book_risk([], m, collateral=coll, numeraire="coin").delta("BTC") == pytest.approx(-1.0)


def test_linear_perp_delta_is_size_in_usd_and_scaled_by_entry_in_coin():
    # 2.5 BTCUSDT long at 90,000, mark 93,636.6: usd delta 2.5; coin 2.5 * 90,000 / 93,636.6
    m = _market(perp=F_ORACLE)
    lperp_market = MarketState(
        m.ts_ns,
        {
            "BTC": UnderlyingState(
                F_ORACLE,
                m.underlyings["BTC"].expiries_ns,
                m.underlyings["BTC"].forwards,
                marks={("binance", "BTCUSDT"): F_ORACLE},
            )
        },
    )
    pos = [Position(LPERP, 2.5, 90_000.0)]
    assert book_risk(pos, lperp_market).delta("BTC") == 2.5
    coin = book_risk(pos, lperp_market, numeraire="coin").delta("BTC")
    assert coin == pytest.approx(2.5 * 90_000 / F_ORACLE, rel=1e-12)


def _mixed_book():
    pos = [
        Position(CALL, -3.0),
        Position(PUT, 2.0),
        Position(PERP, 5000.0, 92_000.0),
        Position(FUT, -2000.0, 95_000.0),
    ]
    coll = [Collateral("BTC", 1.5), Collateral("USDC", 20_000.0)]
    return pos, coll


@pytest.mark.parametrize("numeraire", ["usd", "coin"])
def test_delta_and_gamma_match_finite_differences_of_value(numeraire):
    # index 93,000 with forward 93,636.6 and perp at 93,100: every price scales with S.
    pos, coll = _mixed_book()
    m = _market(index=93_000.0, fwd=F_ORACLE, perp=93_100.0)
    book = compile_book(pos, coll, vols=[0.45, 0.5])
    S, h = 93_000.0, 1.0

    def value(s: float) -> float:
        v = book.risk(m.with_index("BTC", s)).value_usd[0]
        return v / s if numeraire == "coin" else v

    r = book.risk(m, numeraire)
    scale = S if numeraire == "coin" else 1.0  # coin delta is S d(V/S)/dS
    fd_delta = scale * (value(S + h) - value(S - h)) / (2 * h)
    assert r.delta("BTC") == pytest.approx(fd_delta, rel=1e-6)
    if numeraire == "usd":
        fd_gamma = (value(S + h) - 2 * value(S) + value(S - h)) / h**2
        assert r.gamma("BTC") == pytest.approx(fd_gamma, rel=1e-3)


def test_contributions_sum_to_totals_and_vega_slots_to_total():
    pos, coll = _mixed_book()
    r = book_risk(pos, _market(perp=93_000.0), vols=[0.45, 0.5], collateral=coll)
    sums = r.contributions.sum(axis=0)
    np.testing.assert_allclose(
        sums,
        [
            r.value_usd[0],
            r.delta_coin[0],
            r.gamma_coin[0],
            r.vega_usd[0],
            r.theta_usd_per_day[0] * 365,
            r.vanna_sigma_coin[0],
        ],
        rtol=1e-12,
    )
    assert sum(r.vega_by_expiry("BTC").values()) == pytest.approx(r.vega_usd[0])
    assert r.symbols[:2] == ("BTC-27MAR26-90000-C", "BTC-27MAR26-80000-P")


def test_numba_kernel_matches_numpy_twin_on_random_book():
    rng = np.random.default_rng(7)
    n = 300
    strikes = rng.uniform(50e3, 150e3, n)
    args = dict(
        opt_units=rng.normal(size=n),
        opt_strike=strikes,
        opt_logk=np.log(strikes),
        opt_phi=rng.choice([-1.0, 1.0], n),
        opt_sigma=rng.uniform(0.2, 1.2, n),
        opt_slot=rng.integers(0, 4, n),
        opt_aux=rng.normal(scale=0.1, size=n),
        slot_fwd=np.array([95e3, 96e3, 97e3, 3e3]),
        slot_T=np.array([0.0, 0.02, 0.5, 0.3]),  # slot 0 expired: intrinsic value
        slot_und=np.array([0, 0, 0, 1]),
        lin_a=rng.normal(size=3),
        lin_b=rng.normal(size=3),
        lin_price=np.array([95e3, 94e3, 3e3]),
        lin_und=np.array([0, 0, 1]),
        index=np.array([94.5e3, 3.01e3]),
    )
    for coin in (False, True):
        for model in (0, 1, 2, 3):
            fast = K.book_kernel(
                **args, coin_numeraire=coin, model=model, mv_a=-0.2, mv_b=0.3, mv_c=-0.1
            )
            slow = K.book_reference(
                **args, coin_numeraire=coin, model=model, mv_a=-0.2, mv_b=0.3, mv_c=-0.1
            )
            for a, b in zip(fast, slow, strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


class _SkewSurface:
    """sigma(K) = 0.5 - 0.2 ln(K / 93,636.6): a fixed skew of -0.2 per unit log-moneyness."""

    def vol(self, K, T):
        return 0.5 - 0.2 * np.log(np.asarray(K) / F_ORACLE)


def test_sticky_moneyness_delta_adds_minus_vega_skew_over_f():
    m = _market()
    pos = [Position(CALL, 1.0)]
    bs = book_risk(pos, m, surface=_SkewSurface(), delta_model="black76")
    sm = book_risk(pos, m, surface=_SkewSurface(), delta_model="sticky_moneyness")
    # dsigma/dk = -0.2 -> dsigma/dF = +0.2 / F -> delta += vega * 0.2 / F
    expected = bs.delta("BTC") + bs.vega_usd[0] * 0.2 / F_ORACLE
    assert sm.delta("BTC") == pytest.approx(expected, rel=1e-6)


class _CountingSurface:
    """sigma(K, T) = level - 0.2 ln(K / 93,636.6) + 0.1 T; counts its lookups."""

    def __init__(self, level: float = 0.5) -> None:
        self.level = level
        self.calls = 0

    def vol(self, K, T):
        self.calls += 1
        return self.level - 0.2 * np.log(np.asarray(K) / F_ORACLE) + 0.1 * np.asarray(T)


def _same_risk(a, b):
    np.testing.assert_array_equal(a.contributions, b.contributions)
    np.testing.assert_array_equal(a.slot_vega_usd, b.slot_vega_usd)


def test_book_risk_reuses_surface_vols_after_a_spot_move_and_looks_again_when_needed():
    pos, coll = _mixed_book()
    m = _market(perp=F_ORACLE)
    moved = m.with_index("BTC", 90_000.0)
    book, surf = compile_book(pos, coll), _CountingSurface()
    book_risk(book, m, surf)
    assert surf.calls == 1  # vols only: black76 reads no skew
    r = book_risk(book, moved, surf)
    assert surf.calls == 1  # same surface, same ts, spot moved: sticky-strike vols reused
    _same_risk(r, book_risk(pos, moved, _CountingSurface(), collateral=coll))  # = no memo
    # sticky moneyness needs the skews: two more lookups (central difference in k)
    sm = book_risk(book, moved, surf, delta_model="sticky_moneyness")
    assert surf.calls == 3
    fresh = book_risk(pos, moved, _CountingSurface(), "usd", "sticky_moneyness", collateral=coll)
    _same_risk(sm, fresh)
    assert sm.delta("BTC") != r.delta("BTC")  # the skew term is really there
    book_risk(book, moved, surf, delta_model="sticky_moneyness")
    assert surf.calls == 3
    # a day later: T moved, so do the vols (the 0.1 T term): looked up again
    later = MarketState(m.ts_ns + 86_400 * 10**9, moved.underlyings)
    _same_risk(
        book_risk(book, later, surf), book_risk(pos, later, _CountingSurface(), collateral=coll)
    )
    assert surf.calls == 4
    # a refitted surface is another object: looked up again, and its vols are used
    refit = _CountingSurface(level=0.6)
    assert book_risk(book, moved, refit).vega_usd[0] != r.vega_usd[0]
    assert refit.calls == 1
    with pytest.raises(ValueError, match="read-only"):
        book.with_surface(surf, moved).sigma[0] = 0.1  # the memo's arrays cannot be changed


class _HoleSurface(_CountingSurface):
    """``_CountingSurface`` with no vol (NaN) at the 80,000 put's strike, or at ``hole``."""

    def __init__(self, hole: float = 80_000.0) -> None:
        super().__init__()
        self.hole = hole

    def vol(self, K, T):
        v = super().vol(K, T)
        return np.where(np.asarray(K) == self.hole, np.nan, v)


def test_reused_surface_vols_keep_their_finite_check_after_a_spot_move():
    # the vols' NaN check is done once per lookup and travels with the memo: a memo hit
    # (spot move, same surface and ts) must still refuse a surface with a hole, and a
    # clean surface still gives the no-memo result
    pos, coll = _mixed_book()
    m = _market(perp=F_ORACLE)
    moved = m.with_index("BTC", 90_000.0)
    book, holed = compile_book(pos, coll), _HoleSurface()
    for market, model in [(m, "black76"), (moved, "black76"), (moved, "sticky_moneyness")]:
        with pytest.raises(InvalidInput, match="no implied vol"):
            book_risk(book, market, holed, delta_model=model)
    assert holed.calls == 3  # vols once; the skews' two lookups once: the memo was hit
    clean = _HoleSurface(hole=1.0)  # no option at strike 1: every vol finite
    book_risk(book, m, clean)
    for model in ("black76", "sticky_moneyness"):
        fresh = book_risk(pos, moved, _HoleSurface(hole=1.0), "usd", model, collateral=coll)
        _same_risk(book_risk(book, moved, clean, delta_model=model), fresh)
    assert clean.calls == 3
    # the book with the holed vols, passed on its own, is checked as any other book
    with pytest.raises(InvalidInput, match="no implied vol"):
        book_risk(book.with_surface(holed, moved), moved)


def test_min_variance_needs_coefficients_and_unknown_inputs_raise():
    m = _market()
    with pytest.raises(InvalidInput, match="min_variance=\\(a, b, c\\)"):
        book_risk([Position(CALL, 1.0)], m, vols=[0.5], delta_model="min_variance")
    with pytest.raises(InvalidInput, match="unknown delta_model 'nope'"):
        book_risk([Position(CALL, 1.0)], m, vols=[0.5], delta_model="nope")
    with pytest.raises(InvalidInput, match="unknown numeraire 'eur'"):
        book_risk([Position(CALL, 1.0)], m, vols=[0.5], numeraire="eur")
    with pytest.raises(InvalidInput, match="no implied vol"):
        book_risk([Position(CALL, 1.0)], m)


def test_basis_book_reports_funding_income_and_flat_usd_value():
    # USDe-style: hold 10 BTC, short 10 BTC of inverse perp (n c = 10 * 93,636.6 USD)
    # entered at 93,636.6: usd delta = 10 - 936,366/93,636.6 = 0.
    # funding 1 bp per 8 h, shorts receive: 936,366 * 1e-4 * 3 = 280.91 USD a day.
    ts = 0
    u = UnderlyingState(
        F_ORACLE,
        marks={("deribit", "BTC-PERPETUAL"): F_ORACLE},
        funding={("deribit", "BTC-PERPETUAL"): 1e-4},
    )
    m = MarketState(ts, {"BTC": u})
    pos = [Position(PERP, -93_636.6, F_ORACLE)]
    r = book_risk(pos, m, collateral=[Collateral("BTC", 10.0)])
    assert r.delta("BTC") == pytest.approx(0.0, abs=1e-9)
    assert r.funding_usd_per_day[0] == pytest.approx(936_366 * 1e-4 * 3, rel=1e-9)
    assert r.usd_drift_per_day[0] == pytest.approx(r.funding_usd_per_day[0])
    moved = book_risk(pos, m.with_index("BTC", 80_000.0), collateral=[Collateral("BTC", 10.0)])
    assert moved.value_usd[0] == pytest.approx(r.value_usd[0], rel=1e-12)  # USD value flat


@pytest.mark.parametrize("numeraire", ["usd", "coin"])
def test_staked_basis_book_reports_funding_yield_and_drift_in_both_numeraires(numeraire):
    # stETH-style basis: 100 ETH staked at 3 %/yr + 10,000 USDC lent at 5 %/yr, short 100
    # ETHUSDT (Binance USD-M, 1 ETH a contract) entered at 2,500; index = mark = 2,500;
    # funding 1 bp per 8 h, received by the short.
    #   funding: 100 * 2,500 * 1e-4 * 3                  = 75 USD/day
    #   yield:   100 * 0.03 / 365 = 0.00821918 ETH/day   = 20.5479452 USD/day
    #            10,000 * 0.05 / 365                      =  1.3698630 USD/day
    #   drift (no options, theta 0): 75 + 20.5479452 + 1.3698630 = 96.9178082 USD/day
    # coin numeraire: / 2,500 -> funding 0.03, yield 0.00876712, drift 0.03876712 ETH/day
    # delta: usd 100 - 100 = 0 ETH; coin: the staked ETH is neutral, the short perp
    # S d(V/S)/dS = n F0 / S = -100, the USDC -B/S = -4 -> -104 ETH (USD-neutral = coin-short)
    perp = parse_instrument("ETHUSDT", "binance")
    key = ("binance", "ETHUSDT")
    u = UnderlyingState(2_500.0, marks={key: 2_500.0}, funding={key: 1e-4})
    m = MarketState(0, {"ETH": u})
    coll = [Collateral("ETH", 100.0, "lido", 0.03), Collateral("USDC", 10_000.0, "aave", 0.05)]
    book = compile_book([Position(perp, -100.0, 2_500.0)], coll)
    r = book.risk(m, numeraire)
    c = r.carry("ETH")
    unit = 1.0 if numeraire == "usd" else 2_500.0  # USD per unit of the numeraire
    assert c["funding"] == pytest.approx(75.0 / unit, rel=1e-12)
    assert c["yield"] == pytest.approx((20.5479452 + 1.3698630) / unit, rel=1e-8)
    assert c["theta"] == 0.0
    assert c["drift"] == pytest.approx(96.9178082 / unit, rel=1e-8)
    # the USD arrays are the same in both numeraires
    assert r.yield_usd_per_day[0] == pytest.approx(21.9178082, rel=1e-8)
    assert r.carry_usd_per_day[0] == pytest.approx(96.9178082, rel=1e-8)
    assert r.usd_drift_per_day[0] == pytest.approx(96.9178082, rel=1e-8)
    assert r.delta("ETH") == pytest.approx(0.0 if numeraire == "usd" else -104.0, abs=1e-9)
    # ETH at 2,000: USD value flat (100 S - 100 (S - 2,500) + 10,000 = 260,000); the staked
    # ETH still earns 0.00821918 ETH/day, now 16.438356 USD, + 1.369863 USD on the USDC
    lo = book.risk(m.with_index("ETH", 2_000.0), numeraire)
    assert lo.value_usd[0] == pytest.approx(260_000.0, rel=1e-12)
    assert lo.yield_usd_per_day[0] == pytest.approx(16.438356 + 1.369863, rel=1e-6)


def test_collateral_yield_outside_a_decimal_rate_is_refused():
    with pytest.raises(InvalidInput, match="yield_per_year"):
        Collateral("ETH", 1.0, yield_per_year=3.0)  # 3 means 300 %/yr: a percent slipped in


def test_hart_normal_cdf_matches_scipy_to_double_precision():
    from scipy.special import ndtr

    x = np.linspace(-30.0, 30.0, 60_001)
    got = np.array([K.ncdf_hart(v, np.exp(-0.5 * v * v)) for v in x])
    np.testing.assert_allclose(got, ndtr(x), rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("numeraire", ["usd", "coin"])
def test_vanna_sigma_matches_finite_difference_of_delta_in_relative_vol(numeraire):
    pos, coll = _mixed_book()
    m = _market(index=93_000.0, perp=93_100.0)
    book = compile_book(pos, coll, vols=[0.45, 0.5])
    x = 1e-4
    up = book.with_vols(book.sigma * (1 + x)).risk(m, numeraire).delta("BTC")
    dn = book.with_vols(book.sigma * (1 - x)).risk(m, numeraire).delta("BTC")
    assert book.risk(m, numeraire).vanna_sigma_coin[0] == pytest.approx(
        (up - dn) / (2 * x), rel=1e-5
    )


def test_registered_delta_model_adds_vega_times_its_dsigma_df():
    from deltahedge.portfolio import delta_models, register_delta_model

    # a toy dynamics: dsigma/dF = -1e-6 per USD for every option
    register_delta_model("toy_const_slope", lambda surf, phi, F, K, T, sig: np.full(F.shape, -1e-6))
    assert "toy_const_slope" in delta_models()
    m = _market()
    pos = [Position(CALL, 2.0)]
    bs = book_risk(pos, m, vols=[SIG_ORACLE])
    toy = book_risk(pos, m, vols=[SIG_ORACLE], delta_model="toy_const_slope")
    assert toy.delta("BTC") == pytest.approx(bs.delta("BTC") - bs.vega_usd[0] * 1e-6, rel=1e-12)
    with pytest.raises(InvalidInput, match="built in"):
        register_delta_model("black76", lambda *a: a[2])


def test_vega_by_tenor_buckets_sum_to_total():
    # CALL and PUT expire 27 MAR 2026, T = 0.221604 y = 80.9 days -> bucket "30-90d"
    pos, coll = _mixed_book()
    r = book_risk(pos, _market(perp=93_000.0), vols=[0.45, 0.5], collateral=coll)
    buckets = r.vega_by_tenor("BTC")
    assert list(buckets) == ["<=7d", "7-30d", "30-90d", "90-180d", ">180d"]
    assert buckets["30-90d"] == pytest.approx(r.vega_usd[0])
    assert sum(buckets.values()) == pytest.approx(r.vega_usd[0])


def test_one_underlying_fused_call_equals_the_general_path_bit_for_bit():
    # A BTC book takes one fused call (slot forwards and T inside the kernel); the same BTC
    # positions beside an ETH option take the general path (forwards per underlying in
    # Python, then book_kernel). The BTC results must be the same floats, not just close:
    # the same operations in the same order.
    btc = [Position(CALL, 3.0), Position(PUT, -2.0),
           Position(parse_instrument("BTC-26JUN26-100000-P", "deribit"), 1.5),  # interpolated F
           Position(PERP, -500.0, entry_price=90_000.0), Position(FUT, 200.0, entry_price=92_000.0)]  # fmt: skip
    eth = Position(parse_instrument("ETH-27MAR26-3000-C", "deribit"), 4.0)
    ts = CALL.expiry_ns - round(T_ORACLE * YEAR_NS)
    expiries = np.array([CALL.expiry_ns, CALL.expiry_ns + 200 * 86_400 * 10**9])
    b = UnderlyingState(F_ORACLE, expiries, np.array([F_ORACLE * 1.01, F_ORACLE * 1.05]),
                        marks={("deribit", "BTC-PERPETUAL"): F_ORACLE * 1.0002},
                        funding={("deribit", "BTC-PERPETUAL"): 1e-4})  # fmt: skip
    e = UnderlyingState(3100.0, expiries[:1], np.array([3110.0]))
    market = MarketState(ts, {"BTC": b, "ETH": e})
    one = compile_book(btc, [Collateral("BTC", 2.0)], vols=[0.5, 0.6, 0.55])
    two = compile_book([*btc, eth], [Collateral("BTC", 2.0)], vols=[0.5, 0.6, 0.55, 0.7])
    assert one.underlyings == ("BTC",) and two.underlyings == ("BTC", "ETH")
    for numeraire in ("usd", "coin"):
        for model, mv in (("black76", None), ("min_variance", (0.1, -0.2, 0.3))):
            r1 = one.risk(market, numeraire, model, mv)
            r2 = two.risk(market, numeraire, model, mv)
            for name in ("index", "value_usd", "delta_coin", "gamma_coin", "vega_usd",
                         "theta_usd_per_day", "funding_usd_per_day", "vanna_sigma_coin"):  # fmt: skip
                assert getattr(r1, name)[0] == getattr(r2, name)[0], name
            btc_rows = two.row_underlying == 0
            assert np.array_equal(r1.contributions, r2.contributions[btc_rows])
            assert np.array_equal(r1.slot_vega_usd, r2.slot_vega_usd[two.slot_und == 0])

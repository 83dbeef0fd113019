"""Hedging policies: band properties (hypothesis), lot sizes, hand-worked bands, jitter."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from deltahedge.core.errors import ConfigError, InvalidInput
from deltahedge.hedging import (
    FixedInterval,
    FixedThreshold,
    GammaWeighted,
    HedgeState,
    Hysteresis,
    Jitter,
    Leland,
    TimeOrThreshold,
    VolAdaptive,
    WhalleyWilmott,
    Zakamouline,
    leland_vol_factor,
    make_policy,
    whalley_wilmott_half_width,
    zakamouline_half_width,
)
from deltahedge.instruments import parse_instrument
from tests.hedging.helpers import make_market, make_risk

TS = 10**18
PERPS = [
    parse_instrument("BTC-PERPETUAL", "deribit"),  # inverse, 10 USD, lot 1
    parse_instrument("BTCUSDT", "binance"),  # linear, lot 0.001 BTC
    parse_instrument("BTC-USDT-SWAP", "okx"),  # linear, 0.01 BTC a contract
    parse_instrument("BTCUSD_PERP", "binance"),  # inverse, 100 USD
]


def _policy(kind: str, band: float, instrument, jitter=None):
    common = dict(instrument=instrument, jitter=jitter)
    if kind == "fixed_threshold":
        return FixedThreshold(threshold=band, **common)
    if kind == "time_or_threshold":
        return TimeOrThreshold(threshold=band, interval_s=3600.0, **common)
    if kind == "hysteresis":
        return Hysteresis(outer=band, inner=band / 2, **common)
    if kind == "whalley_wilmott":
        return WhalleyWilmott(cost=0.0005, risk_aversion=1e-4, min_band=band, **common)
    if kind == "vol_adaptive":
        return VolAdaptive(base_band=band, sigma_ref=0.5, **common)
    if kind == "gamma_weighted":
        return GammaWeighted(multiple=1.0, sigma=0.5, min_band=band, **common)
    if kind == "zakamouline":
        return Zakamouline(sigma=0.5, tau_years=0.1, min_band=band, **common)
    raise AssertionError(kind)


BAND_POLICIES = [
    "fixed_threshold",
    "time_or_threshold",
    "hysteresis",
    "whalley_wilmott",
    "vol_adaptive",
    "gamma_weighted",
    "zakamouline",
]


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(BAND_POLICIES),
    delta=st.floats(-500, 500, allow_nan=False),
    gamma=st.floats(-1e-3, 1e-3),
    band=st.floats(0.01, 50),
    spot=st.floats(20_000, 150_000),
    which=st.integers(0, len(PERPS) - 1),
    jitter=st.sampled_from([0.0, 0.3]),
    seed=st.integers(0, 2**16),
    vanna=st.floats(-20, 20),
)
def test_band_policies_trade_only_outside_and_land_inside_in_whole_lots(
    kind, delta, gamma, band, spot, which, jitter, seed, vanna
):
    ins = PERPS[which]
    per = (ins.contract_size if ins.is_inverse else ins.contract_size * spot) / spot
    assume(per * ins.lot_size <= band)  # a band narrower than one lot cannot be met
    pol = _policy(kind, band, ins, Jitter(size=jitter) if jitter else None)
    risk = make_risk(delta, gamma, spot, vanna_sigma=vanna)
    # last hedge just now: interval rules are not due, only the band acts
    state = HedgeState(last_hedge_ns=TS, vol_forecast=0.5)
    intent = pol.decide(risk, make_market(spot), state, np.random.default_rng(seed))
    enforced = intent.inputs["band"] if intent else None
    if intent is None:
        return
    # a trade happened: the delta the policy measures (zakamouline: at its modified vol)
    # was outside the band it enforces ...
    measured = intent.inputs["delta_eff"]
    assert measured == delta or kind == "zakamouline"
    outer = pol.outer if kind == "hysteresis" else enforced
    assert abs(measured) > outer
    # ... and the result is inside it (up to float rounding)
    assert abs(measured + intent.delta_coin) <= enforced + 1e-9
    # whole lots, at least the minimum size, and the delta matches the contracts
    lots = intent.quantity / ins.lot_size
    assert abs(lots - round(lots)) < 1e-6
    assert abs(intent.quantity) >= ins.min_size - 1e-12
    assert intent.delta_coin == pytest.approx(intent.quantity * per, rel=1e-12)
    assert intent.instrument == ins.symbol and intent.policy == kind


def _market_policy(kind: str, band: float, vol: float, cost: float, lam: float, tau: float):
    """The policy with its band set by the drawn market (gamma policies: no floor)."""
    if kind == "whalley_wilmott":
        return WhalleyWilmott(cost=cost, risk_aversion=lam)
    if kind == "gamma_weighted":
        return GammaWeighted(multiple=1.0, horizon_s=3600.0, sigma=vol)
    if kind == "zakamouline":
        return Zakamouline(cost=cost, risk_aversion=lam, sigma=vol, tau_years=tau)
    if kind == "vol_adaptive":
        return VolAdaptive(base_band=band, sigma_ref=0.5)  # the state's forecast is vol
    return _policy(kind, band, None)


def _band_and_shift(kind, band, gamma, spot, vol, cost, lam, tau, vanna):
    """Oracle, written out from the papers: (half-width, shift of the measured delta)."""
    if kind == "whalley_wilmott":  # (3 c Gamma^2 S / (2 lambda))^(1/3)
        return (3 * cost * gamma**2 * spot / (2 * lam)) ** (1 / 3), 0.0
    if kind == "gamma_weighted":  # |Gamma| S sigma sqrt(1 h)
        return abs(gamma) * spot * vol * math.sqrt(3600 / (365 * 86400)), 0.0
    if kind == "zakamouline":  # H0 + H1 around the delta at sigma_m = f sigma
        h0 = cost / (lam * spot * vol**2 * tau)
        h1 = 1.12 * cost**0.31 * tau**0.05 * vol**-0.25 * math.sqrt(abs(gamma) / lam)
        k = -4.76 * cost**0.78 / tau**0.02 * vol**-0.25 * (lam * spot**2 * abs(gamma)) ** 0.15
        f = math.sqrt(max(1 + k if gamma >= 0 else 1 - k, 0.0))
        return h0 + h1, vanna * (f - 1)
    if kind == "vol_adaptive":  # base (sigma_ref / forecast)
        return band * 0.5 / vol, 0.0
    return band, 0.0  # fixed_threshold, time_or_threshold, hysteresis (outer)


_MARKET = dict(
    kind=st.sampled_from(BAND_POLICIES),
    band=st.floats(0.01, 50),
    gamma=st.floats(1e-6, 1e-3).flatmap(lambda g: st.sampled_from([g, -g])),
    spot=st.floats(20_000, 150_000),
    vol=st.floats(0.2, 1.5),
    cost=st.floats(1e-4, 3e-3),
    lam=st.floats(1e-5, 1e-3),
    tau=st.floats(0.01, 1.0),
    vanna=st.floats(-20, 20),
    sign=st.sampled_from([-1.0, 1.0]),
)


@settings(max_examples=300, deadline=None)
@given(frac=st.floats(0, 0.999), **_MARKET)
def test_no_trade_inside_the_band(kind, frac, band, gamma, spot, vol, cost, lam, tau, vanna, sign):
    # gamma, vol, price and cost drawn: the Whalley-Wilmott, Zakamouline and gamma-weighted
    # half-widths come from their formulas (no floor), e.g. WW 0.19 BTC at c 5 bp,
    # Gamma 1e-4, S 90,000, lambda 1e-4
    pol = _market_policy(kind, band, vol, cost, lam, tau)
    w, shift = _band_and_shift(kind, band, gamma, spot, vol, cost, lam, tau, vanna)
    assert w > 0
    delta = sign * frac * w - shift  # the measured delta is inside: |delta + shift| < w
    state = HedgeState(last_hedge_ns=TS, vol_forecast=vol)
    risk = make_risk(delta, gamma, spot, vanna_sigma=vanna)
    assert pol.decide(risk, make_market(spot), state) is None


@settings(max_examples=300, deadline=None)
@given(over=st.floats(1e-3, 3.0), **_MARKET)
def test_trade_outside_the_band_lands_back_inside(
    kind, over, band, gamma, spot, vol, cost, lam, tau, vanna, sign
):
    pol = _market_policy(kind, band, vol, cost, lam, tau)
    w, shift = _band_and_shift(kind, band, gamma, spot, vol, cost, lam, tau, vanna)
    measured = sign * (1 + over) * w
    state = HedgeState(last_hedge_ns=TS, vol_forecast=vol)
    risk = make_risk(measured - shift, gamma, spot, vanna_sigma=vanna)
    intent = pol.decide(risk, make_market(spot), state)
    assert intent is not None
    assert intent.inputs["delta_eff"] == pytest.approx(measured, rel=1e-9, abs=1e-12)
    enforced = intent.inputs["band"]  # hysteresis enforces its inner band
    assert enforced == pytest.approx(w / 2 if kind == "hysteresis" else w, rel=1e-9)
    after = measured + intent.delta_coin
    assert abs(after) <= enforced * (1 + 1e-9)  # back inside ...
    assert after * measured >= 0  # ... on the same side: no overshoot through zero


@settings(max_examples=200, deadline=None)
@given(delta=st.floats(-100, 100, allow_nan=False), which=st.integers(0, len(PERPS) - 1))
def test_interval_policy_leaves_less_than_one_lot(delta, which):
    ins = PERPS[which]
    spot = 90_000.0
    per = (ins.contract_size if ins.is_inverse else ins.contract_size * spot) / spot
    intent = FixedInterval(interval_s=60, instrument=ins).decide(
        make_risk(delta), make_market(spot), HedgeState()
    )
    left = delta + (intent.delta_coin if intent else 0.0)
    assert abs(left) <= per * max(ins.lot_size, ins.min_size) / 2 + 1e-12


def test_whalley_wilmott_half_width_hand_worked():
    # Gamma 1e-4 BTC/USD, S 90,000, c 5 bp, lambda 1e-4 /USD:
    # 3 * 0.0005 * (1e-4)^2 * 90,000 = 1.35e-6; / (2 * 1e-4) = 6.75e-3; cube root = 0.188988
    w = whalley_wilmott_half_width(1e-4, 90_000.0, 0.0005, 1e-4)
    assert w == pytest.approx(0.188988, abs=1e-6)
    assert w**3 == pytest.approx(6.75e-3, rel=1e-12)


def test_whalley_wilmott_policy_hedges_to_band_edge():
    # delta 1.0 > w 0.188988: no instrument -> unrounded, lands on +w
    pol = WhalleyWilmott(cost=0.0005, risk_aversion=1e-4)
    intent = pol.decide(make_risk(1.0, 1e-4), make_market(), HedgeState())
    assert intent is not None
    assert intent.delta_coin == pytest.approx(0.188988 - 1.0, abs=1e-6)
    assert intent.inputs["band"] == pytest.approx(0.188988, abs=1e-6)
    assert "whalley_wilmott" in intent.reason
    assert pol.decide(make_risk(0.18, 1e-4), make_market(), HedgeState()) is None


def test_leland_factor_hand_worked():
    # sigma 0.5, round-trip cost 10 bp, hourly: Le = sqrt(2/pi) 0.001 / (0.5 sqrt(1/8760))
    #   = 0.000797885 / 0.00534207 = 0.149358; short gamma: sqrt(1.149358) = 1.072081
    f = leland_vol_factor(0.5, 0.001, 1.0 / 8760.0, gamma=-1.0)
    assert f == pytest.approx(1.072081, abs=2e-6)
    assert leland_vol_factor(0.5, 0.001, 1.0 / 8760.0, gamma=1.0) == pytest.approx(
        math.sqrt(1 - 0.149358), abs=2e-6
    )


def test_leland_policy_shifts_delta_by_vanna():
    # delta 2, vanna_sigma -3 (coin per unit relative vol), short gamma: Leland delta
    # = 2 + (-3)(1.072081 - 1) = 1.783757 -> hedge -1.783757
    pol = Leland(cost=0.001, interval_s=3600, sigma=0.5)
    intent = pol.decide(make_risk(2.0, -1e-5, vanna_sigma=-3.0), make_market(), HedgeState())
    assert intent is not None
    assert intent.delta_coin == pytest.approx(-(2.0 - 3.0 * 0.072081), abs=1e-5)


def test_zakamouline_band_hand_worked():
    # c 0.001, lambda 1e-4, S 90,000, sigma 0.5, tau 0.25, Gamma 1e-4:
    # H0 = 0.001 / (1e-4 * 90,000 * 0.25 * 0.25) = 0.001 / 0.5625 = 0.0017778
    # H1 = 1.12 * 0.001^0.31 * 0.25^0.05 * 2^0.25 * sqrt(1e-4 / 1e-4)
    #    = 1.12 * 0.117490 * 0.933033 * 1.189207 = 0.146007
    h = zakamouline_half_width(1e-4, 90_000.0, 0.5, 0.25, 0.001, 1e-4)
    assert h == pytest.approx(0.0017778 + 0.146007, abs=2e-5)


def test_zakamouline_needs_a_vol():
    pol = Zakamouline()
    with pytest.raises(InvalidInput, match="needs a vol"):
        pol.decide(make_risk(5.0, 1e-4, vega=100.0), make_market(), HedgeState())
    intent = pol.decide(
        make_risk(5.0, 1e-4, vega=100.0), make_market(), HedgeState(vol_forecast=0.5)
    )
    assert intent is not None and intent.inputs["tau"] == pytest.approx(30 / 365)


def test_fixed_interval_waits_for_its_interval_and_timing_jitter_moves_it():
    pol = FixedInterval(interval_s=60.0, jitter=Jitter(timing=0.5))
    risk = make_risk(1.0)
    last = TS - 50 * 10**9  # 50 s ago
    assert pol.decide(risk, make_market(), HedgeState(last_hedge_ns=last)) is None
    # u = -0.5: interval 60 * (1 - 0.25) = 45 s < 50 s -> due
    due = pol.decide(risk, make_market(), HedgeState(last_hedge_ns=last, jitter_u=-0.5))
    assert due is not None and due.delta_coin == -1.0


def test_hysteresis_hedges_back_to_inner_edge():
    # delta 3 > outer 2 -> target +1 (inner), trade -2
    intent = Hysteresis(outer=2.0, inner=1.0).decide(make_risk(3.0), make_market(), HedgeState())
    assert intent is not None and intent.delta_coin == -2.0


def test_vol_adaptive_band_narrows_when_vol_forecast_rises():
    pol = VolAdaptive(base_band=2.0, sigma_ref=0.5)
    risk = make_risk(1.5)
    assert pol.decide(risk, make_market(), HedgeState(vol_forecast=0.5)) is None  # band 2
    hit = pol.decide(risk, make_market(), HedgeState(vol_forecast=1.0))  # band 2 * 0.5 = 1
    assert hit is not None and hit.inputs["band"] == 1.0


def test_gamma_weighted_band_is_one_sd_delta_move():
    # Gamma 1e-4, S 90,000, sigma 0.5, 1 h: 1e-4 * 90,000 * 0.5 * sqrt(1/8760) = 4.5 * 0.0106843 = 0.048079
    pol = GammaWeighted(multiple=1.0, horizon_s=3600.0, sigma=0.5)
    hit = pol.decide(make_risk(0.05, 1e-4), make_market(), HedgeState())
    assert hit is not None and hit.inputs["band"] == pytest.approx(0.048079, abs=1e-6)
    assert pol.decide(make_risk(0.048, 1e-4), make_market(), HedgeState()) is None


def test_size_jitter_is_reproducible_from_seed_and_needs_rng():
    pol = FixedThreshold(threshold=1.0, jitter=Jitter(size=0.4))
    risk = make_risk(10.0)
    a = pol.decide(risk, make_market(), HedgeState(), np.random.default_rng(1))
    b = pol.decide(risk, make_market(), HedgeState(), np.random.default_rng(1))
    c = pol.decide(risk, make_market(), HedgeState(), np.random.default_rng(2))
    assert a is not None and b is not None and c is not None
    assert a.delta_coin == b.delta_coin != c.delta_coin
    assert abs(10.0 + a.delta_coin) <= 1.0 + 1e-12
    with pytest.raises(InvalidInput, match="pass rng"):
        pol.decide(risk, make_market(), HedgeState())


def test_state_after_hedge_counts_and_stamps_time():
    intent = FixedThreshold(threshold=1.0).decide(make_risk(2.0), make_market(), HedgeState())
    assert intent is not None
    s = HedgeState().after_hedge(intent, np.random.default_rng(0))
    assert (s.last_hedge_ns, s.n_hedges) == (TS, 1)
    assert -1.0 <= s.jitter_u <= 1.0
    assert intent.intent_id == f"fixed_threshold:BTC:{TS}:0"


def test_make_policy_rejects_unknown_names_fields_and_bad_values():
    assert isinstance(make_policy("whalley_wilmott", cost=0.001), WhalleyWilmott)
    with pytest.raises(ConfigError, match="allowed"):
        make_policy("martingale")
    with pytest.raises(ConfigError, match="unexpected keyword"):
        make_policy("fixed_threshold", treshold=1.0)
    with pytest.raises(ConfigError, match="threshold must be a finite number > 0"):
        make_policy("fixed_threshold", threshold=-1.0)
    with pytest.raises(ConfigError, match="inner < outer"):
        Hysteresis(outer=1.0, inner=2.0)


def test_policy_configs_are_frozen():
    pol = FixedThreshold(threshold=1.0)
    with pytest.raises(AttributeError):
        pol.threshold = 2.0  # type: ignore[misc]


def test_make_policy_reads_instrument_and_jitter_as_written_in_toml():
    pol = make_policy(
        "hysteresis",
        outer=2.0,
        inner=1.0,
        instrument="binance:BTCUSD_PERP",
        jitter={"timing": 0.2},
    )
    assert pol.instrument is not None and pol.instrument.contract_size == 100.0
    assert pol.jitter == Jitter(timing=0.2)
    with pytest.raises(ConfigError, match="venue:symbol"):
        make_policy("hysteresis", instrument="BTC-PERPETUAL")
    with pytest.raises(ConfigError, match="is an option"):
        make_policy("hysteresis", instrument="deribit:BTC-27MAR26-90000-C")

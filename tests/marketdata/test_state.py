"""MarketState: forward interpolation, spot moves, staleness."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deltahedge.core.errors import InvalidInput, StaleMarketData
from deltahedge.marketdata.state import MarketState, Quote, UnderlyingState

DAY = 86_400 * 10**9
YEAR = 365 * DAY


def _state(ts: int = 0) -> MarketState:
    u = UnderlyingState(
        index=100.0,
        expiries_ns=np.array([ts + YEAR // 4, ts + YEAR]),
        forwards=np.array([101.0, 104.0]),
        marks={("deribit", "BTC-PERPETUAL"): 100.5},
        quotes={("deribit", "BTC-PERPETUAL"): Quote(100.0, 101.0, recv_ts_ns=ts)},
        funding={("deribit", "BTC-PERPETUAL"): 1e-4},
        recv_ts_ns=ts,
    )
    return MarketState(ts, {"BTC": u})


def test_listed_expiry_returns_its_forward():
    assert _state().forward("BTC", YEAR) == 104.0


def test_between_expiries_log_basis_is_linear_in_time():
    # T = 0.625 is halfway between 0.25 and 1: ln(F/S) = (ln 1.01 + ln 1.04) / 2
    f = _state().forward("BTC", int(0.625 * YEAR))
    assert f == pytest.approx(100.0 * math.sqrt(1.01 * 1.04), rel=1e-12)


def test_before_first_expiry_basis_shrinks_to_zero_and_after_last_rate_is_held():
    s = _state()
    # T = 0.125: half of the first log-basis
    assert s.forward("BTC", YEAR // 8) == pytest.approx(100.0 * 1.01**0.5, rel=1e-12)
    # T = 2: twice the last log-basis (constant carry rate)
    assert s.forward("BTC", 2 * YEAR) == pytest.approx(100.0 * 1.04**2, rel=1e-12)


def test_with_index_scales_forwards_marks_and_quotes():
    s = _state().with_index("BTC", 110.0)
    assert s.forward("BTC", YEAR) == pytest.approx(114.4)
    assert s.mark("BTC", "deribit", "BTC-PERPETUAL") == pytest.approx(110.55)
    q = s.quote("BTC", "deribit", "BTC-PERPETUAL")
    assert q is not None and q.mid == pytest.approx(110.55)


def test_with_index_builds_what_the_checked_constructor_builds():
    s0 = _state(ts=5)
    s = s0.with_index("BTC", 110.0, 7)  # k = 1.1
    u, u0 = s.underlyings["BTC"], s0.underlyings["BTC"]
    checked = UnderlyingState(
        110.0, u0.expiries_ns, u0.forwards * 1.1, {k: m * 1.1 for k, m in u0.marks.items()},
        {k: Quote(q.bid * 1.1, q.ask * 1.1, q.bid_size, q.ask_size, q.venue_ts_ns, q.recv_ts_ns)
         for k, q in u0.quotes.items()}, u0.funding, u0.venue_ts_ns, u0.recv_ts_ns,
    )  # fmt: skip
    assert s.ts_ns == 7 and list(s.underlyings) == ["BTC"]
    assert u.index == checked.index and np.array_equal(u.forwards, checked.forwards)
    assert np.array_equal(u.expiries_ns, checked.expiries_ns) and u.forwards.dtype == np.float64
    assert dict(u.marks) == dict(checked.marks) and dict(u.quotes) == dict(checked.quotes)
    assert dict(u.funding) == dict(checked.funding) and u.recv_ts_ns == 5
    # as immutable as a checked one: read-only arrays and mappings
    assert not u.forwards.flags.writeable
    with pytest.raises(TypeError):
        u.marks[("deribit", "X")] = 1.0  # type: ignore[index]
    with pytest.raises(TypeError):
        s.underlyings["ETH"] = u  # type: ignore[index]
    assert s0.underlyings["BTC"].index == 100.0  # the old snapshot is untouched


@pytest.mark.parametrize("bad", [0.0, -5.0, math.nan, math.inf])
def test_with_index_refuses_a_bad_price_naming_it(bad):
    with pytest.raises(InvalidInput, match=f"index price must be finite and > 0, got {bad!r}"):
        _state().with_index("BTC", bad)


def test_quote_half_spread_in_bps():
    assert Quote(99.0, 101.0).half_spread_bps == pytest.approx(100.0)


def test_old_quote_raises_stale_market_data_with_age_and_limit():
    s = _state(ts=1)  # recv_ts_ns = 1 ns (0 means "not stamped")
    later = MarketState(3 * 10**9 + 1, s.underlyings)
    with pytest.raises(StaleMarketData, match=r"3\.0 s old, limit 2 s"):
        later.check_fresh(2.0)
    later.check_fresh(5.0)  # within limit: no error


def test_unknown_underlying_and_mark_raise_invalid_input():
    s = _state()
    with pytest.raises(InvalidInput, match="'ETH'"):
        s.index("ETH")
    with pytest.raises(InvalidInput, match="okx:BTC-USD-SWAP"):
        s.mark("BTC", "okx", "BTC-USD-SWAP")


def test_decreasing_expiries_are_refused():
    with pytest.raises(InvalidInput, match="increasing"):
        UnderlyingState(100.0, np.array([2, 1]), np.array([100.0, 100.0]))


def test_from_chain_takes_index_and_one_forward_per_expiry(shared_data):
    from deltahedge.marketdata import load_chains

    f = shared_data / "deribit_chain_2026" / "deribit_options_snapshot_20260105T092511Z.csv"
    if not f.is_file():
        pytest.skip(f"{f.name} not found")
    chain = next(c for c in load_chains(f) if c.underlying == "BTC")
    u = UnderlyingState.from_chain(chain)
    assert u.index == chain.index_price[0]
    assert np.array_equal(u.expiries_ns, np.unique(chain.expiry_ns))
    for e, fwd in zip(u.expiries_ns, u.forwards, strict=True):
        assert fwd in set(chain.forward[chain.expiry_ns == e])

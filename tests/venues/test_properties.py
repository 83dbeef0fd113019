"""Property tests (hypothesis): book best-price tracking, and no free money in the pools."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deltahedge.core import OrderSide
from deltahedge.venues.amm import ConcentratedPool, ConstantProductPool
from deltahedge.venues.book import L2Book

_level = st.tuples(
    st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
    st.integers(990, 1010).map(lambda t: t / 10),
    st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.5]),
)


@given(st.lists(_level, max_size=80))
@settings(max_examples=300, deadline=None)
def test_incremental_best_prices_equal_max_and_min_of_the_levels(ops):
    book = L2Book("X")
    for side, price, size in ops:
        book.set_level(side, price, size)
        assert book.best_bid == max(book.bids) if book.bids else book.best_bid != book.best_bid
        assert book.best_ask == min(book.asks) if book.asks else book.best_ask != book.best_ask
        sorted_bids = book.side_arrays(OrderSide.BUY)[0].tolist()
        assert sorted_bids == sorted(book.bids, reverse=True)


@given(st.integers(10**4, 10**10), st.sampled_from([500, 3000, 10000]))
@settings(max_examples=100, deadline=None)
def test_v3_round_trip_never_returns_more_than_was_put_in(amount_in, fee):
    pool = ConcentratedPool.at_price(600.0, fee)
    pool.add_liquidity(60_000 - 60_000 % 200, 66_000, 10**15)
    pool.add_liquidity(63_000, 64_800, 5 * 10**15)
    start = pool.sqrt_price_x96
    out = pool.swap_exact_in(True, amount_in).amount_out
    back = pool.swap_exact_in(False, out).amount_out if out > 0 else 0
    assert back < amount_in
    assert pool.sqrt_price_x96 <= start  # fees stay in the pool: it does not come back above


@given(st.integers(10**3, 10**12), st.booleans(), st.integers(0, 100))
@settings(max_examples=200, deadline=None)
def test_v2_k_never_decreases(amount_in, zero_for_one, fee_bps):
    pool = ConstantProductPool(50 * 10**8, 3_000_000 * 10**6, fee_bps)
    k = pool.k
    pool.swap_exact_in(zero_for_one, amount_in)
    assert pool.k >= k

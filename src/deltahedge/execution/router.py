"""Smart order router: split a hedge across venues and instruments at the least total cost.

Every liquidity source (an order book, an AMM pool) is cut into *segments*: a coin amount
and its cost per coin, in USD, over the source's own mid price,

    cost per coin = side * (price - mid) + fee_rate * price + carry_rate * price,

where ``side`` is +1 for a buy and -1 for a sell, ``fee_rate`` the taker fee and
``carry_rate`` the funding paid over the holding horizon (a funding rate ``f`` per 8 h
held ``h`` hours costs ``side * f * h / 8`` of notional: longs pay positive funding).
Walking a book or an AMM curve only gets worse, so each source's marginal cost is
non-decreasing and the total cost is convex and piecewise linear in the amounts; taking
segments in order of cost across all sources (a k-way merge of the sources' sorted
slices) is then optimal, within each source's limit. Amounts are rounded to lots at the end and the cost reported is the
exact cost of the rounded amounts, walked again level by level.

Coin delta of an inverse contract of ``c`` USD bought at ``p`` is ``c / p`` (see
``InstrumentInfo.coin_delta``), so inverse books are walked in coin through the same
formula.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.core.enums import OrderSide, OrderType, Settlement, TimeInForce
from deltahedge.core.errors import InvalidInput
from deltahedge.core.events import HedgeIntent, OrderRequest
from deltahedge.execution._ids import leg_order_id
from deltahedge.execution.venue import InstrumentInfo

_PREFIX = 32  # book levels read as Python floats before the array path is used
# cache keys of BookSource: plain strings hash in C, an enum member hashes in Python
_LEVELS_BUY, _LEVELS_SELL, _PREP_BUY, _PREP_SELL = "levels-buy", "levels-sell", "buy", "sell"


@dataclass(slots=True)
class _Levels:
    """The first levels of one book side as Python floats, with running sums."""

    prices: list[float]
    sizes: list[float]
    coin: list[float]
    cum_coin: list[float]
    cum_sizes: list[float]
    cum_notional: list[float]
    complete: bool  # the lists hold the whole side (the book has no more levels)
    whole: bool  # ``rows`` is the whole side
    rows: list[list[float]]  # the first _PREFIX rows, (price, size)

    def arrays(self) -> tuple[list[float], ...]:
        return (
            self.prices,
            self.sizes,
            self.coin,
            self.cum_coin,
            self.cum_sizes,
            self.cum_notional,
        )


@dataclass(frozen=True, slots=True)
class Execution:
    """The exact outcome of trading ``contracts`` on one source.

    ``coin`` is the delta obtained (> 0), ``notional_usd`` what was paid or received,
    ``slippage_usd`` the cost over the source's mid, ``fee_usd`` and ``carry_usd`` the fee
    and funding, all in USD; ``worst_price`` the last price touched.
    """

    contracts: float
    coin: float
    avg_price: float
    worst_price: float
    slippage_usd: float
    fee_usd: float
    carry_usd: float

    @property
    def cost_usd(self) -> float:
        return self.slippage_usd + self.fee_usd + self.carry_usd


@runtime_checkable
class LiquiditySource(Protocol):
    """A venue/instrument the router can trade on."""

    venue: str
    instrument: InstrumentInfo
    ts_ns: int
    healthy: bool
    max_coin: float

    def segments(
        self, side: OrderSide, max_slippage_bps: float | None, max_coin: float
    ) -> tuple[FloatArray, FloatArray]:
        """Coin amounts and USD cost per coin of consecutive slices of liquidity, cheapest first.

        Only the slices needed to reach ``max_coin`` must be returned (more is allowed).
        """
        ...

    def contracts_for_coin(self, side: OrderSide, coin: float) -> float:
        """Contracts (unrounded) that deliver ``coin`` of delta on this source."""
        ...

    def execute_cost(self, side: OrderSide, contracts: float) -> Execution:
        """The exact outcome of ``contracts`` on this source (nothing is traded)."""
        ...


@dataclass(slots=True)
class BookSource:
    """An L2 book (rows of price, size in contracts, best first) as a liquidity source.

    Parameters
    ----------
    venue : str
    instrument : InstrumentInfo
    bids, asks : FloatArray
        Shape (n, 2): price (USD), size (contracts); best first.
    ts_ns : int
        Time of the book.
    healthy : bool
        False when the venue is down; the router skips it.
    max_coin : float
        Per-venue limit on the coin delta routed here.
    funding_rate : float
        Funding per 8 h (0.0001 = 1 bp).
    carry_hours : float
        Horizon the hedge is expected to be held, for the funding cost.
    """

    venue: str
    instrument: InstrumentInfo
    bids: FloatArray
    asks: FloatArray
    ts_ns: int = 0
    healthy: bool = True
    max_coin: float = math.inf
    funding_rate: float = 0.0
    carry_hours: float = 0.0

    _cache: dict[object, object] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def mid(self) -> float:
        got = self._cache.get("mid")
        if got is None:
            got = self._cache["mid"] = 0.5 * (float(self.bids[0, 0]) + float(self.asks[0, 0]))
        return got  # type: ignore[return-value]

    def _levels(self, side: OrderSide, coin: float) -> _Levels | None:
        """The best levels covering ``coin`` of delta as Python floats, or None.

        A hedge usually needs a handful of levels: reading the first ``_PREFIX`` rows once
        (one ``tolist``) and walking them in Python costs less than a dozen array calls over
        the whole depth. None when the prefix does not cover ``coin`` and the book goes on
        (the callers then use the arrays of :meth:`_prep`). The sums run left to right, as
        ``cumsum`` does, so both paths give the same floats.
        """
        key = _LEVELS_BUY if side is OrderSide.BUY else _LEVELS_SELL
        got: _Levels | None = self._cache.get(key)  # type: ignore[assignment]
        if got is None:
            rows = self.asks if side is OrderSide.BUY else self.bids
            whole = len(rows) <= _PREFIX
            got = _Levels(
                [], [], [], [], [], [], whole and len(rows) == 0, whole, rows[:_PREFIX].tolist()
            )
            self._cache[key] = got
        if not got.cum_coin or got.cum_coin[-1] < coin:
            self._extend(got, coin)
        if got.complete or (got.cum_coin and got.cum_coin[-1] >= coin):
            return got
        return None

    def _extend(self, lv: _Levels, coin: float) -> None:
        """Walk the prefix rows until ``coin`` is covered, plus one level (lot rounding)."""
        cs = self.instrument.contract_size
        linear = self.instrument.settlement is Settlement.LINEAR
        k = len(lv.prices)
        cc = lv.cum_coin[-1] if k else 0.0
        cq = lv.cum_sizes[-1] if k else 0.0
        cn = lv.cum_notional[-1] if k else 0.0
        rows = lv.rows
        extra = 1
        while k < len(rows):
            p, q = rows[k]
            c = q * cs if linear else q * cs / p
            cc += c
            cq += q
            cn += c * p
            lv.prices.append(p)
            lv.sizes.append(q)
            lv.coin.append(c)
            lv.cum_coin.append(cc)
            lv.cum_sizes.append(cq)
            lv.cum_notional.append(cn)
            k += 1
            if cc >= coin:
                if extra == 0:
                    break
                extra -= 1
        lv.complete = lv.whole and k == len(rows)

    def _prep(self, side: OrderSide) -> tuple[FloatArray, ...]:
        """Prices, sizes, coin per level and the cumulative coin, contracts and notional (cached).

        Column views of the book rows (no copy); one pass each for the running sums, so that
        :meth:`contracts_for_coin` and :meth:`execute_cost` are scalar look-ups afterwards.
        """
        key = _PREP_BUY if side is OrderSide.BUY else _PREP_SELL
        got: tuple[FloatArray, ...] | None = self._cache.get(key)  # type: ignore[assignment]
        if got is None:
            rows = self.asks if side is OrderSide.BUY else self.bids
            prices, sizes = rows[:, 0], rows[:, 1]
            cs = self.instrument.contract_size
            coin = (
                sizes * cs
                if self.instrument.settlement is Settlement.LINEAR
                else sizes * cs / prices
            )
            got = (prices, sizes, coin, coin.cumsum(), sizes.cumsum(), (coin * prices).cumsum())
            self._cache[key] = got
        return got

    def segments(
        self, side: OrderSide, max_slippage_bps: float | None = None, max_coin: float = math.inf
    ) -> tuple[FloatArray, FloatArray]:
        prices, _, coin, cum, _, _ = self._prep(side)
        n = min(int(cum.searchsorted(max_coin, side="left")) + 1, len(prices))
        prices, coin = prices[:n], coin[:n]
        mid = self.mid
        if max_slippage_bps is not None:
            k = int(np.count_nonzero(side.sign * (prices - mid) <= mid * max_slippage_bps * 1e-4))
            prices, coin = prices[:k], coin[:k]
        sign = side.sign
        carry = sign * self.funding_rate * self.carry_hours / 8.0
        # side * (price - mid) + (fee + carry) * price, as one multiply-add
        cost = prices * (sign + self.instrument.taker_fee + carry) - sign * mid
        return coin, cost

    def segment_lists(
        self, side: OrderSide, max_slippage_bps: float | None = None, max_coin: float = math.inf
    ) -> tuple[list[float], list[float]]:
        """:meth:`segments` as Python lists (what the router merges); same values."""
        lv = self._levels(side, max_coin)
        if lv is None:
            c, u = self.segments(side, max_slippage_bps, max_coin)
            return c.tolist(), u.tolist()
        n = min(bisect_left(lv.cum_coin, max_coin) + 1, len(lv.prices))
        prices, coin = lv.prices[:n], lv.coin[:n]
        mid = self.mid
        sign = side.sign
        if max_slippage_bps is not None:
            bound = mid * max_slippage_bps * 1e-4
            k = sum(1 for p in prices if sign * (p - mid) <= bound)
            prices, coin = prices[:k], coin[:k]
        rate = sign + self.instrument.taker_fee + sign * self.funding_rate * self.carry_hours / 8.0
        return coin, [p * rate - sign * mid for p in prices]

    def contracts_for_coin(self, side: OrderSide, coin: float) -> float:
        lv = self._levels(side, coin)
        if lv is not None:
            n = bisect_left(lv.cum_coin, coin)
            if n >= len(lv.cum_coin):
                return lv.cum_sizes[-1] if lv.cum_sizes else 0.0
            before_coin = lv.cum_coin[n - 1] if n > 0 else 0.0
            before = lv.cum_sizes[n - 1] if n > 0 else 0.0
            return before + self.instrument.contracts_for(coin - before_coin, lv.prices[n])
        prices, _, _, cum, cum_sizes, _ = self._prep(side)
        n = int(cum.searchsorted(coin, side="left"))
        if n >= len(cum):
            return float(cum_sizes[-1])
        before_coin = float(cum[n - 1]) if n > 0 else 0.0
        before = float(cum_sizes[n - 1]) if n > 0 else 0.0
        return before + self.instrument.contracts_for(coin - before_coin, float(prices[n]))

    def execute_cost(self, side: OrderSide, contracts: float) -> Execution:
        # whole levels 0..n-2 from the running sums, the last level n-1 possibly in part
        lv = self._cache.get(_LEVELS_BUY if side is OrderSide.BUY else _LEVELS_SELL)
        if isinstance(lv, _Levels) and lv.prices:
            n = bisect_left(lv.cum_sizes, contracts - 1e-12) + 1
            if n <= len(lv.prices) or lv.complete:
                n = min(n, len(lv.prices))
                return self._execution(side, contracts, n, *lv.arrays())
        prices, sizes, coin, cum_coin, cum, cum_notional = self._prep(side)
        n = min(int(cum.searchsorted(contracts - 1e-12, side="left")) + 1, len(sizes))
        return self._execution(side, contracts, n, prices, sizes, coin, cum_coin, cum, cum_notional)

    def _execution(
        self, side: OrderSide, contracts: float, n: int, *cols: Sequence[float] | FloatArray
    ) -> Execution:
        # cols: prices, sizes, coin, cum_coin, cum (contracts), cum_notional; arrays or lists
        prices, sizes, coin, cum_coin, cum, cum_notional = cols
        last_p = float(prices[n - 1])
        last_size = float(sizes[n - 1])
        take = last_size - max(0.0, float(cum[n - 1]) - contracts)
        last_coin = float(coin[n - 1]) * (take / last_size) if last_size > 0 else 0.0
        if n > 1:
            total_coin = float(cum_coin[n - 2]) + last_coin
            notional = float(cum_notional[n - 2]) + last_coin * last_p
            taken = float(cum[n - 2]) + take
        else:
            total_coin, notional, taken = last_coin, last_coin * last_p, take
        carry_rate = side.sign * self.funding_rate * self.carry_hours / 8.0
        return Execution(
            contracts=taken,
            coin=total_coin,
            avg_price=notional / total_coin if total_coin > 0 else math.nan,
            worst_price=last_p,
            slippage_usd=side.sign * (notional - total_coin * self.mid),
            fee_usd=notional * self.instrument.taker_fee,
            carry_usd=notional * carry_rate,
        )


@dataclass(frozen=True, slots=True)
class Allocation:
    """The part of a hedge sent to one source."""

    venue: str
    instrument: str
    side: OrderSide
    contracts: float
    execution: Execution


@dataclass(frozen=True, slots=True)
class Route:
    """A routed hedge: allocations, the total cost and what was skipped and why."""

    side: OrderSide
    coin_wanted: float
    allocations: tuple[Allocation, ...]
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def coin_filled(self) -> float:
        return sum(a.execution.coin for a in self.allocations)

    @property
    def cost_usd(self) -> float:
        """Slippage + fees + carry of every allocation, USD."""
        return sum(a.execution.cost_usd for a in self.allocations)

    def to_orders(self, intent: HedgeIntent, limit_orders: bool = True) -> list[OrderRequest]:
        """One order per allocation: IOC limits at the worst routed price (or market orders)."""
        out = []
        for k, a in enumerate(self.allocations):
            out.append(
                OrderRequest(
                    client_order_id=leg_order_id(intent.intent_id, k, 0),
                    venue=a.venue,
                    instrument=a.instrument,
                    side=a.side,
                    quantity=a.contracts,
                    order_type=OrderType.LIMIT if limit_orders else OrderType.MARKET,
                    price=a.execution.worst_price if limit_orders else None,
                    time_in_force=TimeInForce.IOC if limit_orders else TimeInForce.GTC,
                    intent_id=intent.intent_id,
                    ts_ns=intent.ts_ns,
                )
            )
        return out


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """Router settings.

    ``max_age_ns``: skip sources whose book is older; ``max_clip_coin``: largest TWAP
    clip when an intent allows slicing; ``clip_interval_s``: time between clips.
    """

    max_age_ns: int = 2_000_000_000
    max_clip_coin: float = 10.0
    clip_interval_s: float = 30.0


@dataclass(frozen=True, slots=True)
class Clip:
    """One TWAP clip: route ``coin`` (signed) at ``start_ns``."""

    start_ns: int
    coin: float


@dataclass(slots=True)
class SmartRouter:
    """Routes hedge intents over liquidity sources (see module docstring)."""

    config: RouterConfig = field(default_factory=RouterConfig)

    def route(
        self,
        coin: float,
        sources: Sequence[LiquiditySource],
        now_ns: int = 0,
        max_slippage_bps: float | None = None,
    ) -> Route:
        """Split a signed coin delta (buy > 0) across ``sources`` at the least cost."""
        if coin == 0 or not math.isfinite(coin):
            raise InvalidInput(f"route needs a finite non-zero coin delta, got {coin}")
        side = OrderSide.BUY if coin > 0 else OrderSide.SELL
        want = abs(coin)
        usable: list[LiquiditySource] = []
        skipped: list[tuple[str, str]] = []
        for s in sources:
            age = now_ns - s.ts_ns
            if not s.healthy:
                skipped.append((s.venue, "venue down"))
            elif now_ns and age > self.config.max_age_ns:
                skipped.append(
                    (s.venue, f"book {age / 1e9:.1f} s old > {self.config.max_age_ns / 1e9:.1f} s")
                )
            else:
                usable.append(s)
        # k-way merge of the sources' slices by cost per coin (each source's list is already
        # sorted: walking a book or a curve only gets dearer), until ``want`` coin is taken
        take = [0.0] * len(usable)
        room = [min(s.max_coin, want) for s in usable]
        slices: list[tuple[float, float, int]] = []
        for i, s in enumerate(usable):
            fast = getattr(s, "segment_lists", None)
            if fast is not None:
                cl, ul = fast(side, max_slippage_bps, room[i])
            else:
                coin_arr, cost_arr = s.segments(side, max_slippage_bps, room[i])
                cl, ul = coin_arr.tolist(), cost_arr.tolist()
            slices.extend(zip(ul, cl, [i] * len(cl), strict=True))
        # each source's list is one ascending run: Python's sort (timsort) merges the runs in
        # linear time, in C, quicker than heapq.merge's generator (same order: ties by
        # coin, then source)
        slices.sort()
        left = want
        for _, amount, i in slices:
            q = min(amount, room[i], left)
            if q <= 0:
                continue
            take[i] += q
            room[i] -= q
            left -= q
            if left <= 1e-12:
                break
        allocations = []
        for i, s in enumerate(usable):
            if take[i] <= 0:
                continue
            lot = s.instrument.lot_size
            contracts = math.floor(s.contracts_for_coin(side, float(take[i])) / lot + 0.5) * lot
            contracts = round(contracts, 12)
            if contracts <= 0:
                continue
            allocations.append(
                Allocation(
                    s.venue, s.instrument.symbol, side, contracts, s.execute_cost(side, contracts)
                )
            )
        return Route(side, want, tuple(allocations), tuple(skipped))

    def clips(self, intent: HedgeIntent) -> list[Clip]:
        """TWAP clips of an intent: one clip unless slicing is allowed and it is large."""
        coin = intent.delta_coin
        if not intent.allow_slicing or abs(coin) <= self.config.max_clip_coin:
            return [Clip(intent.ts_ns, coin)]
        n = math.ceil(abs(coin) / self.config.max_clip_coin)
        step = round(self.config.clip_interval_s * 1e9)
        return [Clip(intent.ts_ns + k * step, coin / n) for k in range(n)]


__all__ = [
    "Allocation",
    "BookSource",
    "Clip",
    "Execution",
    "LiquiditySource",
    "Route",
    "RouterConfig",
    "SmartRouter",
]

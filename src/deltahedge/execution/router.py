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

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.core.enums import OrderSide, OrderType, Settlement, TimeInForce
from deltahedge.core.errors import InvalidInput
from deltahedge.core.events import HedgeIntent, OrderRequest
from deltahedge.core.ids import client_order_id
from deltahedge.execution.venue import InstrumentInfo


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

    _cache: dict[OrderSide, tuple[FloatArray, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def mid(self) -> float:
        return 0.5 * (float(self.bids[0, 0]) + float(self.asks[0, 0]))

    def _prep(self, side: OrderSide) -> tuple[FloatArray, ...]:
        """Prices, sizes, coin per level, cumulative coin, cumulative contracts (cached)."""
        got = self._cache.get(side)
        if got is None:
            rows = self.asks if side is OrderSide.BUY else self.bids
            prices, sizes = np.ascontiguousarray(rows[:, 0]), np.ascontiguousarray(rows[:, 1])
            cs = self.instrument.contract_size
            coin = (
                sizes * cs
                if self.instrument.settlement is Settlement.LINEAR
                else sizes * cs / prices
            )
            got = (prices, sizes, coin, np.cumsum(coin), np.cumsum(sizes))
            self._cache[side] = got
        return got

    def segments(
        self, side: OrderSide, max_slippage_bps: float | None = None, max_coin: float = math.inf
    ) -> tuple[FloatArray, FloatArray]:
        prices, _, coin, cum, _ = self._prep(side)
        n = min(int(np.searchsorted(cum, max_coin, side="left")) + 1, len(prices))
        prices, coin = prices[:n], coin[:n]
        mid = self.mid
        if max_slippage_bps is not None:
            k = int(np.count_nonzero(side.sign * (prices - mid) <= mid * max_slippage_bps * 1e-4))
            prices, coin = prices[:k], coin[:k]
        carry = side.sign * self.funding_rate * self.carry_hours / 8.0
        cost = side.sign * (prices - mid) + (self.instrument.taker_fee + carry) * prices
        return coin, cost

    def contracts_for_coin(self, side: OrderSide, coin: float) -> float:
        prices, _, _, cum, cum_sizes = self._prep(side)
        n = int(np.searchsorted(cum, coin, side="left"))
        if n >= len(cum):
            return float(cum_sizes[-1])
        before_coin = float(cum[n - 1]) if n > 0 else 0.0
        before = float(cum_sizes[n - 1]) if n > 0 else 0.0
        return before + self.instrument.contracts_for(coin - before_coin, float(prices[n]))

    def execute_cost(self, side: OrderSide, contracts: float) -> Execution:
        prices, sizes, _, _, cum = self._prep(side)
        n = min(int(np.searchsorted(cum, contracts - 1e-12, side="left")) + 1, len(sizes))
        take = sizes[:n].copy()
        take[-1] -= max(0.0, float(cum[n - 1]) - contracts)
        p = prices[:n]
        cs = self.instrument.contract_size
        coin = take * cs if self.instrument.settlement is Settlement.LINEAR else take * cs / p
        total_coin = float(coin.sum())
        notional = float(coin @ p)
        carry_rate = side.sign * self.funding_rate * self.carry_hours / 8.0
        return Execution(
            contracts=float(take.sum()),
            coin=total_coin,
            avg_price=notional / total_coin if total_coin > 0 else math.nan,
            worst_price=float(p[-1]),
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
                    client_order_id=client_order_id(intent.intent_id, k, 0),
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
        streams = []
        for i, s in enumerate(usable):
            c, u = s.segments(side, max_slippage_bps, room[i])
            streams.append(zip(u.tolist(), c.tolist(), [i] * len(c), strict=True))
        left = want
        for _, c, i in heapq.merge(*streams):
            q = min(c, room[i], left)
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

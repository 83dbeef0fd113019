"""``AmmVenue``: a pool (v2 or v3) of coin (token0) against USD (token1) as a hedge venue.

Quantities are in coin (contract size 1, linear). A buy of ``q`` coin is an exact-output
swap: the least USD input whose output is at least ``q`` coin (found by bisection on
the exact integer swap, so the coin received is ``>= q`` by under one raw unit of the
price). A sell is an exact-input swap of ``q`` coin. A limit price on a market order acts
as the swap's slippage guard (``amountOutMinimum``): when the average price would be
worse, the swap reverts and nothing changes; a swap is atomic. A swap the pool cannot
fill (a concentrated pool runs out of liquidity in range) is refused with
:class:`~deltahedge.core.errors.OrderRejected`, the pool untouched.

:class:`AmmSource` exposes a pool to the :class:`~deltahedge.execution.router.SmartRouter`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.core.clock import Clock, SimClock
from deltahedge.core.enums import OrderSide, OrderStatus, Settlement
from deltahedge.core.errors import InvalidInput, OrderRejected, UnknownInstrument, UnknownOrder
from deltahedge.core.events import Fill, OrderRequest, OrderUpdate
from deltahedge.execution.router import Execution
from deltahedge.execution.venue import (
    Balance,
    BookSnapshot,
    FundingRate,
    InstrumentInfo,
    Listener,
    VenueCapabilities,
)
from deltahedge.venues.amm.pools import ConcentratedPool, ConstantProductPool, SwapResult

Pool = ConstantProductPool | ConcentratedPool


class AmmPair:
    """A pool with token decimals: converts coin/USD amounts to raw units and back."""

    def __init__(self, pool: Pool, decimals0: int = 8, decimals1: int = 6) -> None:
        self.pool = pool
        self.unit0 = 10**decimals0
        self.unit1 = 10**decimals1

    @property
    def price(self) -> float:
        """USD per coin."""
        return self.pool.price * self.unit0 / self.unit1

    def _swap(self, zero_for_one: bool, raw_in: int, move: bool) -> SwapResult:
        if move:
            return self.pool.swap_exact_in(zero_for_one, raw_in)
        return self.pool.quote_exact_in(zero_for_one, raw_in)

    def sell_coin(self, coin: float, move: bool = False) -> tuple[float, float]:
        """Sell ``coin``; return (coin sold, USD received)."""
        raw = round(coin * self.unit0)
        res = self._swap(True, raw, move)
        return raw / self.unit0, res.amount_out / self.unit1

    def buy_coin(self, coin: float, move: bool = False) -> tuple[float, float]:
        """Buy at least ``coin`` with the least USD; return (coin received, USD paid)."""
        want = round(coin * self.unit0)
        lo, hi = 1, max(2, round(coin * self.price * 1.01 * self.unit1))
        while self._swap(False, hi, False).amount_out < want:
            lo, hi = hi, hi * 2
            if hi > 10**40:
                raise InvalidInput(f"pool cannot deliver {coin} coin")
        while lo < hi:
            mid = (lo + hi) // 2
            if self._swap(False, mid, False).amount_out >= want:
                hi = mid
            else:
                lo = mid + 1
        res = self._swap(False, hi, move)
        return res.amount_out / self.unit0, hi / self.unit1

    def usd_to_coin(self, usd: float) -> float:
        """Coin out for ``usd`` in (no move)."""
        return self._swap(False, round(usd * self.unit1), False).amount_out / self.unit0


class AmmVenue:
    """The :class:`~deltahedge.execution.venue.Venue` port over one AMM pair (see module docstring)."""

    def __init__(
        self, name: str, pair: AmmPair, symbol: str = "BTC/USDC", clock: Clock | None = None
    ) -> None:
        self.name = name
        self.pair = pair
        self.capabilities = VenueCapabilities(
            limit=False,
            ioc=False,
            post_only=False,
            reduce_only=False,
            atomic_fill_or_kill=True,
            synchronous=True,
        )
        self.spec = InstrumentInfo(
            symbol, name, "spot", symbol.split("/")[0], Settlement.LINEAR, 1.0, 1e-6, 0.01
        )
        self.clock: Clock = clock or SimClock()
        self._orders: dict[str, tuple[OrderUpdate, list[Fill]]] = {}
        self._position = 0.0
        self._listeners: list[Listener] = []
        self._ids = itertools.count(1)

    async def instruments(self) -> Mapping[str, InstrumentInfo]:
        return {self.spec.symbol: self.spec}

    async def order_book(self, instrument: str, depth: int = 50) -> BookSnapshot:
        """A synthetic book: the pool's marginal price in ``depth`` steps of 0.1 coin each side.

        A side ends where the pool's liquidity does (a concentrated pool out of range).
        """
        self._check(instrument)
        step = 0.1
        rows: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for buy in (False, True):
            prev = 0.0
            for k in range(1, depth + 1):
                try:
                    _coin, usd = (
                        self.pair.buy_coin(k * step) if buy else self.pair.sell_coin(k * step)
                    )
                except InvalidInput:
                    break
                rows[buy].append(((usd - prev) / step, step))
                prev = usd
        bids = np.array(rows[False], dtype=float).reshape(-1, 2)
        asks = np.array(rows[True], dtype=float).reshape(-1, 2)
        return BookSnapshot(instrument, bids, asks, self.clock.now_ns())

    def _check(self, instrument: str) -> None:
        if instrument != self.spec.symbol:
            raise UnknownInstrument(
                f"{self.name}: unknown instrument {instrument!r}; this pool trades {self.spec.symbol!r}",
                self.name,
            )

    def set_price(self, instrument: str, price: float, ts_ns: int | None = None) -> None:
        """Arbitrageurs bring a constant-product pool back to ``price`` (USD per coin).

        The arbitrage swap moves along the curve: ``k = x y`` is kept and ``y / x`` becomes
        the price, so ``x = sqrt(k / p)``, ``y = sqrt(k p)`` in raw units (fees ignored).
        Used by simulated runs, where the pool must follow the index between hedges; a
        concentrated-liquidity pool is left as it is (its arbitrage path crosses ticks).
        """
        pool = self.pair.pool
        if not (math.isfinite(price) and price > 0) or not isinstance(pool, ConstantProductPool):
            return
        raw_price = price * self.pair.unit1 / self.pair.unit0  # token1 raw per token0 raw
        k = pool.reserve0 * pool.reserve1
        pool.reserve0 = max(1, round(math.sqrt(k / raw_price)))
        pool.reserve1 = max(1, round(math.sqrt(k * raw_price)))

    async def positions(self) -> Mapping[str, float]:
        return {self.spec.symbol: self._position}

    async def balances(self) -> Mapping[str, Balance]:
        return {}

    async def funding_rate(self, instrument: str) -> FundingRate:
        self._check(instrument)
        return FundingRate(instrument, 0.0)

    async def submit(self, request: OrderRequest) -> OrderUpdate:
        return self.swap(request)

    def swap(self, request: OrderRequest) -> OrderUpdate:
        """Execute ``request`` as one atomic swap (synchronous form of :meth:`submit`)."""
        if request.client_order_id in self._orders:
            raise OrderRejected(
                f"{self.name}: duplicate client order id {request.client_order_id}", self.name
            )
        self._check(request.instrument)
        buy = request.side is OrderSide.BUY
        try:
            coin, usd = (
                self.pair.buy_coin(request.quantity)
                if buy
                else self.pair.sell_coin(request.quantity)
            )
        except InvalidInput as exc:  # the pool cannot fill it: refused, nothing traded
            raise OrderRejected(
                f"{self.name}: {request.side.value} {request.quantity} {request.instrument} "
                f"refused, the pool cannot fill it ({exc}); nothing traded",
                self.name,
            ) from None
        avg = usd / coin
        vid = f"{self.name}-{next(self._ids)}"
        now = self.clock.now_ns()
        limit = request.price
        if limit is not None and (avg > limit if buy else avg < limit):
            upd = OrderUpdate(
                request.client_order_id,
                self.name,
                OrderStatus.EXPIRED,
                0.0,
                now,
                vid,
                f"slippage: average {avg:.2f} worse than limit {limit:.2f}; swap reverted",
            )
            self._orders[request.client_order_id] = (upd, [])
            self._emit(upd)
            return upd
        if buy:
            self.pair.buy_coin(request.quantity, move=True)
        else:
            self.pair.sell_coin(request.quantity, move=True)
        fill = Fill(
            f"{vid}-f1",
            request.client_order_id,
            self.name,
            request.instrument,
            request.side,
            coin,
            avg,
            0.0,
            "USD",
            now,
            "taker",
        )
        self._position += request.side.sign * coin
        upd = OrderUpdate(
            request.client_order_id, self.name, OrderStatus.FILLED, coin, now, vid, avg_price=avg
        )
        self._orders[request.client_order_id] = (upd, [fill])
        self._emit(fill)
        self._emit(upd)
        return upd

    async def cancel(self, client_order_id: str) -> OrderUpdate:
        return await self.get_order(client_order_id)  # swaps are terminal at once

    async def get_order(self, client_order_id: str) -> OrderUpdate:
        if client_order_id not in self._orders:
            raise UnknownOrder(
                f"{self.name}: no swap with client id {client_order_id!r}", self.name
            )
        return self._orders[client_order_id][0]

    async def open_orders(self) -> Sequence[OrderUpdate]:
        return []

    async def fills_for(self, client_order_id: str) -> Sequence[Fill]:
        await self.get_order(client_order_id)
        return list(self._orders[client_order_id][1])

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners = [x for x in self._listeners if x != listener]

    def is_healthy(self) -> bool:
        return True

    def _emit(self, event: OrderUpdate | Fill) -> None:
        for listener in self._listeners:
            listener(event)


class AmmSource:
    """An AMM pair as a router liquidity source, cut into ``chunks`` slices up to ``max_coin``."""

    def __init__(self, venue: AmmVenue, max_coin: float = 50.0, chunks: int = 50) -> None:
        self.venue = venue.name
        self.instrument = venue.spec
        self.pair = venue.pair
        self.ts_ns = venue.clock.now_ns()
        self.healthy = True
        self.max_coin = max_coin
        self._chunks = chunks

    def segments(
        self, side: OrderSide, max_slippage_bps: float | None = None, max_coin: float = math.inf
    ) -> tuple[FloatArray, FloatArray]:
        mid = self.pair.price
        grid = np.linspace(0.0, self.max_coin, self._chunks + 1)[1:]
        usd_list: list[float] = []
        for q in grid:
            try:
                usd_list.append(self._usd(side, q))
            except InvalidInput:  # the pool's liquidity ends before max_coin
                break
        grid = grid[: len(usd_list)]
        usd = np.array(usd_list, dtype=float)
        dq = np.diff(np.concatenate([[0.0], grid]))
        du = np.diff(np.concatenate([[0.0], usd]))
        cost = side.sign * (du / dq - mid)  # USD per coin over the pool's mid (fee in the curve)
        if max_slippage_bps is not None:
            ok = cost <= mid * max_slippage_bps * 1e-4
            n = int(np.argmin(ok)) if not ok.all() else len(ok)
            return dq[:n], cost[:n]
        return dq, cost

    def _usd(self, side: OrderSide, coin: float) -> float:
        return (
            self.pair.buy_coin(coin)[1] if side is OrderSide.BUY else self.pair.sell_coin(coin)[1]
        )

    def contracts_for_coin(self, side: OrderSide, coin: float) -> float:
        return coin

    def execute_cost(self, side: OrderSide, contracts: float) -> Execution:
        mid = self.pair.price
        coin, usd = (
            self.pair.buy_coin(contracts)
            if side is OrderSide.BUY
            else self.pair.sell_coin(contracts)
        )
        avg = usd / coin if coin > 0 else math.nan
        return Execution(coin, coin, avg, avg, side.sign * (usd - coin * mid), 0.0, 0.0)


__all__ = ["AmmPair", "AmmSource", "AmmVenue"]

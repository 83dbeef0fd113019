"""AMM pools whose state moves with our own trades: constant product (v2) and Uniswap v3.

Amounts are raw integers of the tokens (e.g. WBTC with 8 decimals, USDC with 6). Every
swap returns its exact output and moves the pool; ``quote_*`` methods do the same on a
copy and leave the pool untouched.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from deltahedge.core.errors import InvalidInput
from deltahedge.venues.amm.math import (
    FEE_TIERS,
    MAX_SQRT_RATIO,
    MIN_SQRT_RATIO,
    Q96,
    amount0_delta,
    amount1_delta,
    sqrt_ratio_at_tick,
    swap_step,
    tick_at_sqrt_ratio,
)


@dataclass(frozen=True, slots=True)
class SwapResult:
    """What a swap did: raw amounts in and out, fee (in the input token), prices before and after."""

    amount_in: int
    amount_out: int
    fee: int
    price_before: float  # token1 per token0, raw units
    price_after: float
    ticks_crossed: int = 0


@dataclass(slots=True)
class ConstantProductPool:
    """An ``x * y = k`` pool (Uniswap v2) with a fee in basis points on the input."""

    reserve0: int
    reserve1: int
    fee_bps: int = 30

    @property
    def price(self) -> float:
        """Token1 per token0 (raw units)."""
        return self.reserve1 / self.reserve0

    @property
    def k(self) -> int:
        return self.reserve0 * self.reserve1

    def swap_exact_in(self, zero_for_one: bool, amount_in: int) -> SwapResult:
        """Sell ``amount_in`` of token0 (``zero_for_one``) or token1; the pool moves."""
        from deltahedge.venues.amm.math import v2_amount_out

        before = self.price
        if zero_for_one:
            out = v2_amount_out(amount_in, self.reserve0, self.reserve1, self.fee_bps)
            self.reserve0 += amount_in
            self.reserve1 -= out
        else:
            out = v2_amount_out(amount_in, self.reserve1, self.reserve0, self.fee_bps)
            self.reserve1 += amount_in
            self.reserve0 -= out
        fee = amount_in * self.fee_bps // 10_000
        return SwapResult(amount_in, out, fee, before, self.price)

    def quote_exact_in(self, zero_for_one: bool, amount_in: int) -> SwapResult:
        """:meth:`swap_exact_in` without moving the pool."""
        return copy.copy(self).swap_exact_in(zero_for_one, amount_in)


@dataclass(slots=True)
class ConcentratedPool:
    """A Uniswap v3 pool: liquidity per tick range, swaps that cross initialised ticks.

    Parameters
    ----------
    sqrt_price_x96 : int
        Current sqrt price, Q64.96.
    fee_pips : int
        100, 500, 3000 or 10000 (0.01 %, 0.05 %, 0.3 %, 1 %).
    """

    sqrt_price_x96: int
    fee_pips: int = 3000
    liquidity: int = 0
    ticks: dict[int, int] = field(default_factory=dict)  # tick -> liquidity net
    tick_current: int = 0

    def __post_init__(self) -> None:
        if self.fee_pips not in FEE_TIERS:
            raise InvalidInput(f"fee tier {self.fee_pips} pips not one of {sorted(FEE_TIERS)}")
        if not MIN_SQRT_RATIO <= self.sqrt_price_x96 < MAX_SQRT_RATIO:
            raise InvalidInput(f"sqrt price {self.sqrt_price_x96} outside the v3 range")
        self.tick_current = tick_at_sqrt_ratio(self.sqrt_price_x96)

    @classmethod
    def at_price(cls, price: float, fee_pips: int = 3000) -> ConcentratedPool:
        """A pool at ``price`` (token1 per token0, raw units), no liquidity yet."""
        return cls(int(price**0.5 * Q96), fee_pips)

    @property
    def tick_spacing(self) -> int:
        return FEE_TIERS[self.fee_pips]

    @property
    def price(self) -> float:
        return (self.sqrt_price_x96 / Q96) ** 2

    def add_liquidity(self, tick_lower: int, tick_upper: int, liquidity: int) -> tuple[int, int]:
        """Add ``liquidity`` on ``[tick_lower, tick_upper)``; return the token amounts it needs (rounded up)."""
        s = self.tick_spacing
        if tick_lower >= tick_upper or tick_lower % s or tick_upper % s or liquidity <= 0:
            raise InvalidInput(
                f"range [{tick_lower}, {tick_upper}) must be increasing multiples of the spacing {s}, "
                f"liquidity > 0 (got {liquidity})"
            )
        self.ticks[tick_lower] = self.ticks.get(tick_lower, 0) + liquidity
        self.ticks[tick_upper] = self.ticks.get(tick_upper, 0) - liquidity
        sa, sb, sp = (
            sqrt_ratio_at_tick(tick_lower),
            sqrt_ratio_at_tick(tick_upper),
            self.sqrt_price_x96,
        )
        if self.tick_current < tick_lower:
            return amount0_delta(sa, sb, liquidity, True), 0
        if self.tick_current >= tick_upper:
            return 0, amount1_delta(sa, sb, liquidity, True)
        self.liquidity += liquidity
        return amount0_delta(sp, sb, liquidity, True), amount1_delta(sa, sp, liquidity, True)

    def swap_exact_in(self, zero_for_one: bool, amount_in: int) -> SwapResult:
        """Swap ``amount_in`` of token0 (price falls) or token1 (price rises), crossing ticks.

        Follows UniswapV3Pool.swap for exact input: step to the next initialised tick (or
        the end of the input), crossing adds or removes that tick's net liquidity.
        Raises InvalidInput when the pool runs out of liquidity.
        """
        if amount_in <= 0:
            raise InvalidInput(f"swap amount must be > 0, got {amount_in}")
        before = self.price
        remaining = amount_in
        out = fee = crossed = 0
        while remaining > 0:
            nxt = self._next_tick(zero_for_one)
            if nxt is None:
                raise InvalidInput(f"pool has no liquidity left with {remaining} of input unspent")
            target = sqrt_ratio_at_tick(nxt)
            if self.liquidity == 0:
                self.sqrt_price_x96 = target
                self._cross(nxt, zero_for_one)
                crossed += 1
                continue
            sqrt_next, a_in, a_out, f = swap_step(
                self.sqrt_price_x96, target, self.liquidity, remaining, self.fee_pips
            )
            remaining -= a_in + f
            out += a_out
            fee += f
            self.sqrt_price_x96 = sqrt_next
            if sqrt_next == target:
                self._cross(nxt, zero_for_one)
                crossed += 1
            else:
                self.tick_current = tick_at_sqrt_ratio(sqrt_next)
        return SwapResult(amount_in, out, fee, before, self.price, crossed)

    def quote_exact_in(self, zero_for_one: bool, amount_in: int) -> SwapResult:
        """:meth:`swap_exact_in` without moving the pool."""
        return copy.deepcopy(self).swap_exact_in(zero_for_one, amount_in)

    def _next_tick(self, zero_for_one: bool) -> int | None:
        # as UniswapV3Pool: going down, the next initialised tick <= the current tick;
        # going up, the next one > it
        if zero_for_one:
            below = [t for t in self.ticks if t <= self.tick_current]
            return max(below) if below else None
        above = [t for t in self.ticks if t > self.tick_current]
        return min(above) if above else None

    def _cross(self, tick: int, zero_for_one: bool) -> None:
        net = self.ticks[tick]
        self.liquidity += -net if zero_for_one else net
        self.tick_current = tick - 1 if zero_for_one else tick


__all__ = ["ConcentratedPool", "ConstantProductPool", "SwapResult"]

"""Exact integer AMM maths: Uniswap v2 constant product and Uniswap v3 concentrated liquidity.

Pure functions on Python integers (no overflow), rounding exactly as the contracts do:

- v2 ``getAmountOut`` (UniswapV2Library): ``out = in*(1-f)*R_out / (R_in + in*(1-f))``,
  with the fee in basis points, floor division.
- v3 ``TickMath.getSqrtRatioAtTick``: ``sqrt(1.0001**tick) * 2**96`` (Q64.96) from the
  contract's table of ``2**128 / sqrt(1.0001)**(2**i)`` constants, rounded up.
- v3 ``SqrtPriceMath``: ``amount0 = L (sqrtB - sqrtA) / (sqrtA sqrtB)`` and
  ``amount1 = L (sqrtB - sqrtA)`` (Uniswap v3 whitepaper, eqs. 6.15-6.16 and 6.29-6.30),
  and the next price after an exact input, rounded in the pool's favour.
- v3 ``SwapMath.computeSwapStep`` for exact input: the fee (``fee_pips`` per 1e6) is taken
  from the input; a step stops at the target price or when the input is used up.
"""

from __future__ import annotations

from deltahedge.core.errors import InvalidInput

Q96 = 1 << 96
MIN_TICK = -887272
MAX_TICK = 887272
#: getSqrtRatioAtTick(MIN_TICK) and getSqrtRatioAtTick(MAX_TICK) (Uniswap v3 TickMath).
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342

#: TickMath constants: bit i -> round(2**128 / sqrt(1.0001)**(2**i)), from the v3-core contract.
_TICK_BITS = (
    (0x1, 0xFFFCB933BD6FAD37AA2D162D1A594001),
    (0x2, 0xFFF97272373D413259A46990580E213A),
    (0x4, 0xFFF2E50F5F656932EF12357CF3C7FDCC),
    (0x8, 0xFFE5CACA7E10E4E61C3624EAA0941CD0),
    (0x10, 0xFFCB9843D60F6159C9DB58835C926644),
    (0x20, 0xFF973B41FA98C081472E6896DFB254C0),
    (0x40, 0xFF2EA16466C96A3843EC78B326B52861),
    (0x80, 0xFE5DEE046A99A2A811C461F1969C3053),
    (0x100, 0xFCBE86C7900A88AEDCFFC83B479AA3A4),
    (0x200, 0xF987A7253AC413176F2B074CF7815E54),
    (0x400, 0xF3392B0822B70005940C7A398E4B70F3),
    (0x800, 0xE7159475A2C29B7443B29C7FA6E889D9),
    (0x1000, 0xD097F3BDFD2022B8845AD8F792AA5825),
    (0x2000, 0xA9F746462D870FDF8A65DC1F90E061E5),
    (0x4000, 0x70D869A156D2A1B890BB3DF62BAF32F7),
    (0x8000, 0x31BE135F97D08FD981231505542FCFA6),
    (0x10000, 0x9AA508B5B7A84E1C677DE54F3E99BC9),
    (0x20000, 0x5D6AF8DEDB81196699C329225EE604),
    (0x40000, 0x2216E584F5FA1EA926041BEDFE98),
    (0x80000, 0x48A170391F7DC42444E8FA2),
)

#: Fee tiers (pips per 1e6) and their tick spacings in Uniswap v3: 0.01 % (spacing 1,
#: enabled by governance in November 2021), 0.05 %, 0.3 % and 1 % (UniswapV3Factory's
#: ``feeAmountTickSpacing``).
FEE_TIERS = {100: 1, 500: 10, 3000: 60, 10000: 200}


def v2_amount_out(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int = 30) -> int:
    """Uniswap v2 ``getAmountOut``: exact output of a constant-product swap (raw units)."""
    if amount_in <= 0 or reserve_in <= 0 or reserve_out <= 0:
        raise InvalidInput(
            f"v2_amount_out needs positive amount and reserves, got {amount_in}, {reserve_in}, {reserve_out}"
        )
    with_fee = amount_in * (10_000 - fee_bps)
    return with_fee * reserve_out // (reserve_in * 10_000 + with_fee)


def sqrt_ratio_at_tick(tick: int) -> int:
    """``sqrt(1.0001**tick) * 2**96`` as the v3 contract computes it (rounded up)."""
    if not MIN_TICK <= tick <= MAX_TICK:
        raise InvalidInput(f"tick {tick} outside [{MIN_TICK}, {MAX_TICK}]")
    a = abs(tick)
    ratio = 1 << 128
    for bit, factor in _TICK_BITS:
        if a & bit:
            ratio = (ratio * factor) >> 128
    if tick > 0:
        ratio = ((1 << 256) - 1) // ratio
    return (ratio >> 32) + (1 if ratio & 0xFFFFFFFF else 0)


def tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """Greatest tick whose sqrt ratio is <= ``sqrt_price_x96`` (binary search on the exact map)."""
    if not MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO:
        raise InvalidInput(
            f"sqrt price {sqrt_price_x96} outside [{MIN_SQRT_RATIO}, {MAX_SQRT_RATIO})"
        )
    lo, hi = MIN_TICK, MAX_TICK
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sqrt_ratio_at_tick(mid) <= sqrt_price_x96:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _div_up(a: int, b: int) -> int:
    return -(-a // b)


def amount0_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """Token0 between two prices: ``L * 2**96 * (sqrtB - sqrtA) / (sqrtB * sqrtA)``."""
    lo, hi = sorted((sqrt_a, sqrt_b))
    num = (liquidity << 96) * (hi - lo)
    if round_up:
        return _div_up(_div_up(num, hi), lo)
    return num // hi // lo


def amount1_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """Token1 between two prices: ``L * (sqrtB - sqrtA) / 2**96``."""
    lo, hi = sorted((sqrt_a, sqrt_b))
    num = liquidity * (hi - lo)
    return _div_up(num, Q96) if round_up else num // Q96


def next_sqrt_price_from_input(
    sqrt_p: int, liquidity: int, amount_in: int, zero_for_one: bool
) -> int:
    """Price after adding ``amount_in`` of token0 (price falls) or token1 (price rises)."""
    if zero_for_one:
        # sqrtP' = L * sqrtP / (L + amount * sqrtP / 2**96), rounded up
        num = liquidity << 96
        return _div_up(num * sqrt_p, num + amount_in * sqrt_p)
    # sqrtP' = sqrtP + amount * 2**96 / L, rounded down
    return sqrt_p + (amount_in << 96) // liquidity


def swap_step(
    sqrt_p: int, sqrt_target: int, liquidity: int, amount_remaining: int, fee_pips: int
) -> tuple[int, int, int, int]:
    """One exact-input step inside a liquidity range: ``(sqrt_next, amount_in, amount_out, fee)``."""
    zero_for_one = sqrt_p >= sqrt_target
    less_fee = amount_remaining * (1_000_000 - fee_pips) // 1_000_000
    if zero_for_one:
        needed = amount0_delta(sqrt_target, sqrt_p, liquidity, True)
    else:
        needed = amount1_delta(sqrt_p, sqrt_target, liquidity, True)
    if less_fee >= needed:
        sqrt_next = sqrt_target
    else:
        sqrt_next = next_sqrt_price_from_input(sqrt_p, liquidity, less_fee, zero_for_one)
    reached = sqrt_next == sqrt_target
    if zero_for_one:
        amount_in = needed if reached else amount0_delta(sqrt_next, sqrt_p, liquidity, True)
        amount_out = amount1_delta(sqrt_next, sqrt_p, liquidity, False)
    else:
        amount_in = needed if reached else amount1_delta(sqrt_p, sqrt_next, liquidity, True)
        amount_out = amount0_delta(sqrt_p, sqrt_next, liquidity, False)
    if reached:
        fee = _div_up(amount_in * fee_pips, 1_000_000 - fee_pips)
    else:
        fee = amount_remaining - amount_in
    return sqrt_next, amount_in, amount_out, fee


__all__ = [
    "FEE_TIERS",
    "MAX_SQRT_RATIO",
    "MAX_TICK",
    "MIN_SQRT_RATIO",
    "MIN_TICK",
    "Q96",
    "amount0_delta",
    "amount1_delta",
    "next_sqrt_price_from_input",
    "sqrt_ratio_at_tick",
    "swap_step",
    "tick_at_sqrt_ratio",
    "v2_amount_out",
]

"""AMM venues: constant-product (Uniswap v2) and concentrated-liquidity (Uniswap v3) pools."""

from deltahedge.venues.amm.pools import ConcentratedPool, ConstantProductPool, SwapResult
from deltahedge.venues.amm.venue import AmmPair, AmmSource, AmmVenue

__all__ = [
    "AmmPair",
    "AmmSource",
    "AmmVenue",
    "ConcentratedPool",
    "ConstantProductPool",
    "SwapResult",
]

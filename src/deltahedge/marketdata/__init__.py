"""Market data: option-chain snapshots, loaders, market states and feeds."""

from deltahedge.marketdata.chain import ARRAY_COLUMNS, OptionChain

__all__ = ["ARRAY_COLUMNS", "OptionChain"]

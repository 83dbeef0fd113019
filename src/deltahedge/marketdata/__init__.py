"""Market data: option-chain snapshots, loaders, cleaning, forwards and futures marks."""

from deltahedge.marketdata.chain import ARRAY_COLUMNS, OptionChain
from deltahedge.marketdata.load import FORMATS, detect_format, load_chain, load_chains

__all__ = ["ARRAY_COLUMNS", "FORMATS", "OptionChain", "detect_format", "load_chain", "load_chains"]

"""Market data: option-chain snapshots, loaders, cleaning, forwards and futures marks.

- ``OptionChain``: one snapshot of one underlying's options, columnar.
- ``load_chain`` / ``load_chains``: every supported format (``FORMATS``), detected.
- ``clean_chain`` -> ``(chain, CleaningReport)``: unusable rows dropped, counted by reason.
- ``expiry_forwards`` / ``with_forwards``: a forward per expiry, from the venue or parity.
- ``chain_greeks``: IV from the mark and Black-76 Greeks against the venue's own;
  ``with_quote_ivs``: bid and ask IVs where the venue gives none.
- ``FuturesMarks`` / ``load_futures_marks``: perpetual and dated-futures marks.
"""

from deltahedge.marketdata.chain import ARRAY_COLUMNS, OptionChain
from deltahedge.marketdata.cleaning import REASONS, CleaningReport, clean_chain
from deltahedge.marketdata.forwards import ExpiryForwards, expiry_forwards, with_forwards
from deltahedge.marketdata.futures import PERPETUAL, FuturesMarks, load_futures_marks
from deltahedge.marketdata.greeks import (
    ChainGreeks,
    chain_greeks,
    difference_summary,
    with_quote_ivs,
)
from deltahedge.marketdata.load import FORMATS, detect_format, load_chain, load_chains

__all__ = [
    "ARRAY_COLUMNS",
    "FORMATS",
    "PERPETUAL",
    "REASONS",
    "ChainGreeks",
    "CleaningReport",
    "ExpiryForwards",
    "FuturesMarks",
    "OptionChain",
    "chain_greeks",
    "clean_chain",
    "detect_format",
    "difference_summary",
    "expiry_forwards",
    "load_chain",
    "load_chains",
    "load_futures_marks",
    "with_forwards",
    "with_quote_ivs",
]

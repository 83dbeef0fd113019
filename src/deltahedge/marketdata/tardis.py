"""Loader of Tardis.dev ``options_chain`` CSV files (the common source of Deribit history).

Documented columns (docs.tardis.dev, "Downloadable CSV files", ``options_chain``):
``exchange, symbol, timestamp, local_timestamp, type, strike_price, expiration,
open_interest, last_price, bid_price, bid_amount, bid_iv, ask_price, ask_amount, ask_iv,
mark_price, mark_iv, underlying_index, underlying_price, delta, gamma, vega, theta, rho``.
Times are microseconds since the epoch, UTC; IVs are in percent (``62.89``); prices are
the venue's (coin for Deribit and OKX inverse options); the greeks are the venue's
(Deribit: N(d1)-style delta, vega USD per vol point, theta USD per day). The documented
Deribit example row (BTC-9JUN20-9875-P: mark_iv 62.89, underlying_price 9756.36, mark
0.02210436, delta -0.61752, vega 2.24964) reprices with Black-76 to those numbers, which
confirms the units.

A file is a stream of updates (a row each time an instrument's ticker changes). The chain
built from it holds, for each symbol, the latest row at or before ``at`` (default: the
end of the file); its time is that of the latest row used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from deltahedge.core.errors import DataError
from deltahedge.core.units import year_fraction
from deltahedge.marketdata._frame import (
    chains_from_frame,
    kinds_from_words,
    require_columns,
    to_float,
)
from deltahedge.marketdata.chain import OptionChain

FORMAT = "tardis_options_chain"
COLUMNS = (
    "exchange",
    "symbol",
    "timestamp",
    "local_timestamp",
    "type",
    "strike_price",
    "expiration",
    "open_interest",
    "last_price",
    "bid_price",
    "bid_amount",
    "bid_iv",
    "ask_price",
    "ask_amount",
    "ask_iv",
    "mark_price",
    "mark_iv",
    "underlying_index",
    "underlying_price",
    "delta",
    "gamma",
    "vega",
    "theta",
    "rho",
)
#: Exchanges whose options are settled in the coin (prices in coin).
INVERSE_EXCHANGES = frozenset({"deribit", "okex-options"})


def read_tardis_frame(path: str | Path, at_us: int | None = None) -> pd.DataFrame:
    """Read an ``options_chain`` CSV (optionally gzip) into the loaders' normalised frame,
    keeping the latest row per symbol at or before ``at_us`` (microseconds)."""
    where = str(path)
    raw = pd.read_csv(
        path,
        keep_default_na=False,
        na_values=[""],
        dtype={"exchange": str, "symbol": str, "type": str, "underlying_index": str},
    )
    require_columns(raw, COLUMNS[:19], where, FORMAT)
    ts_us = to_float(raw, "timestamp", where)
    if np.isnan(ts_us).any():
        i = int(np.flatnonzero(np.isnan(ts_us))[0])
        raise DataError(f"{where}: line {i + 2}, column 'timestamp': expected microseconds, got ''")
    raw["_ts"] = ts_us.astype(np.int64)
    raw["_line"] = np.arange(len(raw)) + 2
    if at_us is not None:
        raw = raw[raw["_ts"] <= at_us]
    raw = raw.sort_values(["_ts", "_line"]).drop_duplicates("symbol", keep="last")
    first_line = 2
    lines = raw["_line"].to_numpy()

    def num(col: str) -> np.ndarray:
        try:
            return to_float(raw, col, where, first_line=first_line)
        except DataError:
            # re-raise with the true file line of the offending row
            text = raw[col].astype("string").str.strip()
            bad = pd.to_numeric(text, errors="coerce").isna() & text.notna() & (text != "")
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{where}: line {lines[i]}, column {col!r}: expected a number, got {text.iloc[i]!r}"
            ) from None

    ts = raw["_ts"].to_numpy() * 1000
    expiry = num("expiration").astype(np.int64) * 1000
    exchange = raw["exchange"].str.strip().str.lower().to_numpy(dtype=object)
    symbol = raw["symbol"].str.strip().to_numpy(dtype=object)
    # Deribit "BTC-...", "BTC_USDC-..." (linear); OKX "BTC-USD-..."
    und = np.array([s.split("-")[0].upper() for s in symbol], dtype=object)
    inverse = np.array(
        [e in INVERSE_EXCHANGES and "_" not in u for e, u in zip(exchange, und, strict=True)]
    )
    bid, ask = num("bid_price"), num("ask_price")
    bid[bid <= 0] = np.nan
    ask[ask <= 0] = np.nan
    bid_iv, ask_iv = num("bid_iv") / 100.0, num("ask_iv") / 100.0
    bid_iv[np.isnan(bid)] = np.nan
    ask_iv[np.isnan(ask)] = np.nan
    nan = np.full(len(raw), np.nan)
    return pd.DataFrame(
        {
            "underlying": und,
            "venue": exchange,
            "snapshot": 0,
            "ts_ns": ts,
            "inverse": inverse,
            "instrument": symbol,
            "kind": kinds_from_words(raw["type"], "type", where),
            "strike": num("strike_price"),
            "expiry_ns": expiry,
            "T": year_fraction(ts, expiry),
            "forward": num("underlying_price"),
            "bid": bid,
            "ask": ask,
            "mark": num("mark_price"),
            "bid_iv": bid_iv,
            "ask_iv": ask_iv,
            "mark_iv": num("mark_iv") / 100.0,
            "venue_delta": num("delta") if "delta" in raw else nan,
            "venue_gamma": num("gamma") if "gamma" in raw else nan,
            "venue_vega": num("vega") if "vega" in raw else nan,
            "venue_theta": num("theta") if "theta" in raw else nan,
            "open_interest": num("open_interest"),
            "index_price": nan,
        }
    )


def load_tardis_options_chain(path: str | Path, at_us: int | None = None) -> list[OptionChain]:
    """Load a Tardis ``options_chain`` CSV: one chain per underlying, latest row per symbol.

    Parameters
    ----------
    path : str or Path
        ``.csv`` or ``.csv.gz``.
    at_us : int, optional
        Build the chain as of this time (UTC microseconds); default the end of the file.

    Returns
    -------
    list of OptionChain
    """
    frame = read_tardis_frame(path, at_us)
    chains: list[OptionChain] = []
    for venue, part in frame.groupby("venue", sort=True):
        chains.extend(chains_from_frame(part, venue=str(venue)))
    return chains


__all__ = ["COLUMNS", "FORMAT", "load_tardis_options_chain", "read_tardis_frame"]

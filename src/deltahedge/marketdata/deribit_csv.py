"""Loader of the Deribit option-chain snapshot CSV (``../shared/data/deribit_chain_2026``).

One file holds one snapshot of every BTC and ETH option. Columns (see the data README):
``timestamp, instrument_name, underlying, underlying_name, option_type, strike,
expiry_datetime, time_to_maturity, bid_price, ask_price, mark_price, mid_price,
futures_price, futures_instrument_name, implied_volatility, delta, vega, open_interest,
volume, bid_ask_spread, currency, index_price, volume_usd``.

Conventions read here: prices in coin (inverse options); ``futures_price`` is the forward
Deribit prices the option off (a listed future or the synthetic ``SYN.<coin>-<expiry>``)
and becomes ``OptionChain.forward``; ``implied_volatility`` is the mark IV as a decimal;
``delta`` is Deribit's N(d1)-style delta; ``vega`` is USD per vol point. The file has no
gamma or theta (NaN). ``T`` is recomputed ACT/365 from the row's timestamp to the expiry
(the file's ``time_to_maturity`` uses 365.25-day years: ours = file * 365.25 / 365).
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
    leading_comment_lines,
    require_columns,
    to_float,
)
from deltahedge.marketdata.chain import OptionChain

FORMAT = "deribit_snapshot_csv"
REQUIRED = (
    "timestamp",
    "instrument_name",
    "option_type",
    "strike",
    "expiry_datetime",
    "bid_price",
    "ask_price",
    "mark_price",
    "futures_price",
    "implied_volatility",
    "delta",
    "vega",
    "currency",
)


def _timestamps_ns(values: pd.Series, col: str, where: str, first_line: int) -> np.ndarray:
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where}: line {i + first_line}, column {col!r}: expected an ISO-8601 time, "
            f"got {values.iloc[i]!r}"
        )
    return parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def read_deribit_snapshot_frame(path: str | Path) -> pd.DataFrame:
    """Read one snapshot CSV into the loaders' normalised frame (one row per option).

    ``#`` lines at the top of the file (provenance notes of excerpts) are skipped.
    """
    where = str(path)
    skip = leading_comment_lines(path)
    first = skip + 2  # file line of the first data row
    raw = pd.read_csv(
        path,
        skiprows=skip,
        keep_default_na=False,
        na_values=[""],
        dtype={"timestamp": str, "expiry_datetime": str, "option_type": str},
    )
    require_columns(raw, REQUIRED, where, FORMAT)
    ts = _timestamps_ns(raw["timestamp"], "timestamp", where, first)
    expiry = _timestamps_ns(raw["expiry_datetime"], "expiry_datetime", where, first)
    nan = np.full(len(raw), np.nan)
    frame = pd.DataFrame(
        {
            "underlying": raw["currency"].str.strip().str.upper().to_numpy(dtype=object),
            "snapshot": ts,
            "ts_ns": ts,
            "inverse": True,
            "instrument": raw["instrument_name"].str.strip().to_numpy(dtype=object),
            "kind": kinds_from_words(raw["option_type"], "option_type", where, first_line=first),
            "strike": to_float(raw, "strike", where, first_line=first),
            "expiry_ns": expiry,
            "T": year_fraction(ts, expiry),
            "forward": to_float(raw, "futures_price", where, first_line=first),
            "bid": to_float(raw, "bid_price", where, first_line=first),
            "ask": to_float(raw, "ask_price", where, first_line=first),
            "mark": to_float(raw, "mark_price", where, first_line=first),
            "bid_iv": nan,
            "ask_iv": nan,
            "mark_iv": to_float(raw, "implied_volatility", where, first_line=first),
            "venue_delta": to_float(raw, "delta", where, first_line=first),
            "venue_gamma": nan,
            "venue_vega": to_float(raw, "vega", where, first_line=first),
            "venue_theta": nan,
            "open_interest": to_float(raw, "open_interest", where, first_line=first)
            if "open_interest" in raw
            else nan,
            "index_price": to_float(raw, "index_price", where, first_line=first)
            if "index_price" in raw
            else nan,
        }
    )
    return frame


def load_deribit_snapshot(path: str | Path) -> list[OptionChain]:
    """Load a Deribit snapshot CSV: one ``OptionChain`` per underlying (BTC, ETH), ordered.

    Parameters
    ----------
    path : str or Path
        A ``deribit_options_snapshot_<UTC>.csv`` file.

    Returns
    -------
    list of OptionChain
        Inverse chains, prices in coin, forward = ``futures_price`` (USD).

    Raises
    ------
    DataError
        Naming the file, line and column of the first unusable value.
    """
    return chains_from_frame(read_deribit_snapshot_frame(path), venue="deribit")


__all__ = ["FORMAT", "load_deribit_snapshot", "read_deribit_snapshot_frame"]

"""Loader of the Deribit daily chain files (``../shared/data/deribit_eod_2021``).

Comma-plus-space separated with a bracketed header (``[QUOTE_UNIXTIME], ...``), one
snapshot a day at about 00:00 UTC (``QUOTE_DATE``), BTC only.

What each column becomes (``OptionChain`` names):

- ``forward`` = ``UNDERLYING_PRICE``: the price of ``UNDERLYING_INDEX``, which is the
  listed future of that expiry (``BTC-25JUN21``) or Deribit's synthetic forward
  (``SYN.BTC-4JUN21``) when no future expires then. Deribit computes ``MARK_IV`` and
  its greeks off this price, row by row (a call and put of one strike may show two
  slightly different values because they were read a moment apart), so it is kept per
  row; :mod:`deltahedge.marketdata.forwards` gives one forward per expiry.
- ``mark``: the file has no mark price, so it is the Black-76 coin price at ``MARK_IV``
  (percent -> decimal) and ``UNDERLYING_PRICE``, r = 0, ``T`` ACT/365 from
  ``QUOTE_UNIXTIME`` to ``EXPIRY_UNIX``. An IV recomputed from it returns ``MARK_IV`` by
  construction; the real checks on this file are the greeks.
- ``bid``/``ask``: ``BID_PRICE``/``ASK_PRICE`` in BTC, where 0 means no quote (NaN).
- ``venue_delta, venue_gamma, venue_vega, venue_theta`` = ``DELTA, GAMMA, VEGA, THETA``
  (Deribit: N(d1)-style delta, gamma per 1 USD, vega USD per vol point, theta USD/day).
- ``index_price``: not in the file (NaN).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from deltahedge.core.errors import DataError
from deltahedge.core.units import NS_PER_SECOND, year_fraction
from deltahedge.marketdata._frame import (
    chains_from_frame,
    kinds_from_words,
    require_columns,
    to_float,
)
from deltahedge.marketdata.chain import OptionChain
from deltahedge.pricing import inverse_black76

FORMAT = "deribit_eod"
REQUIRED = (
    "QUOTE_UNIXTIME",
    "QUOTE_DATE",
    "INSTRUMENT_NAME",
    "BASE_CURRENCY",
    "UNDERLYING_PRICE",
    "EXPIRY_UNIX",
    "OPTION_RIGHT",
    "STRIKE",
    "BID_PRICE",
    "ASK_PRICE",
    "OPEN_INTEREST",
    "DELTA",
    "GAMMA",
    "VEGA",
    "THETA",
    "MARK_IV",
)


def read_deribit_eod_frame(path: str | Path) -> pd.DataFrame:
    """Read a daily file into the loaders' normalised frame (one row per option and day)."""
    where = str(path)
    raw = pd.read_csv(
        path,
        sep=",",
        skipinitialspace=True,
        keep_default_na=False,
        na_values=[""],
        dtype={"[QUOTE_DATE]": str, "[INSTRUMENT_NAME]": str},
    )
    raw.columns = [c.strip().strip("[]") for c in raw.columns]
    require_columns(raw, REQUIRED, where, FORMAT)
    quote_s = to_float(raw, "QUOTE_UNIXTIME", where)
    expiry_s = to_float(raw, "EXPIRY_UNIX", where)
    for col, vals in (("QUOTE_UNIXTIME", quote_s), ("EXPIRY_UNIX", expiry_s)):
        if np.isnan(vals).any():
            i = int(np.flatnonzero(np.isnan(vals))[0])
            raise DataError(f"{where}: line {i + 2}, column {col!r}: expected unix seconds, got ''")
    ts = quote_s.astype(np.int64) * NS_PER_SECOND
    expiry = expiry_s.astype(np.int64) * NS_PER_SECOND
    day = pd.to_datetime(
        raw["QUOTE_DATE"].str.strip(), utc=True, errors="coerce", format="%Y-%m-%d"
    )
    if day.isna().any():
        i = int(np.flatnonzero(day.isna().to_numpy())[0])
        raise DataError(
            f"{where}: line {i + 2}, column 'QUOTE_DATE': expected YYYY-MM-DD, "
            f"got {raw['QUOTE_DATE'].iloc[i]!r}"
        )
    kind = kinds_from_words(raw["OPTION_RIGHT"], "OPTION_RIGHT", where)
    strike = to_float(raw, "STRIKE", where)
    forward = to_float(raw, "UNDERLYING_PRICE", where)
    T = year_fraction(ts, expiry)
    mark_iv = to_float(raw, "MARK_IV", where) / 100.0
    bid = to_float(raw, "BID_PRICE", where)
    ask = to_float(raw, "ASK_PRICE", where)
    bid[bid <= 0.0] = np.nan
    ask[ask <= 0.0] = np.nan
    nan = np.full(len(raw), np.nan)
    return pd.DataFrame(
        {
            "underlying": raw["BASE_CURRENCY"].str.strip().str.upper().to_numpy(dtype=object),
            "snapshot": day.to_numpy(dtype="datetime64[ns]").astype(np.int64),
            "ts_ns": ts,
            "inverse": True,
            "instrument": raw["INSTRUMENT_NAME"].str.strip().to_numpy(dtype=object),
            "kind": kind,
            "strike": strike,
            "expiry_ns": expiry,
            "T": T,
            "forward": forward,
            "bid": bid,
            "ask": ask,
            "mark": inverse_black76(kind, forward, strike, T, mark_iv).price_coin,
            "bid_iv": nan,
            "ask_iv": nan,
            "mark_iv": mark_iv,
            "venue_delta": to_float(raw, "DELTA", where),
            "venue_gamma": to_float(raw, "GAMMA", where),
            "venue_vega": to_float(raw, "VEGA", where),
            "venue_theta": to_float(raw, "THETA", where),
            "open_interest": to_float(raw, "OPEN_INTEREST", where),
            "index_price": nan,
        }
    )


def load_deribit_eod(path: str | Path) -> list[OptionChain]:
    """Load a Deribit daily chain file: one ``OptionChain`` per day, in time order.

    Parameters
    ----------
    path : str or Path
        A ``btc_eod_YYYYMM.txt`` file.

    Returns
    -------
    list of OptionChain
        Inverse BTC chains; ``mark`` repriced from ``MARK_IV`` (see the module notes).

    Raises
    ------
    DataError
        Naming the file, line and column of the first unusable value.
    """
    return chains_from_frame(read_deribit_eod_frame(path), venue="deribit")


__all__ = ["FORMAT", "load_deribit_eod", "read_deribit_eod_frame"]

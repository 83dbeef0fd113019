"""Perpetual and dated-futures marks per snapshot (``deribit_chain_2026``'s side files).

``perpetual_futures_prices.csv``: BTC- and ETH-PERPETUAL at each snapshot, the price
used being ``perp_futures_mark_price`` (the nearest 1-minute candle's open or close,
``candle_price_choice``), with ``perp_futures_best_bid/ask`` when recorded.
``term_futures_marks.csv``: each dated future at each snapshot: ``term_mark_price_final``
(nearest 1-minute candle) and ``snapshot_term_mark_price`` (the ``futures_price`` the
option rows of that snapshot carried: the forward the options were priced off).
Both files cover 419 snapshots, 2025-12-30 to 2026-04-15, more than the 25 option files:
a hedge-instrument price path for backtests.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from deltahedge._typing import FloatArray
from deltahedge.core.errors import DataError
from deltahedge.marketdata._frame import require_columns, to_float
from deltahedge.marketdata.names import parse_future_name

#: ``expiry_ns`` of perpetuals (they never expire).
PERPETUAL = np.iinfo(np.int64).max
PERP_FILE = "perpetual_futures_prices.csv"
TERM_FILE = "term_futures_marks.csv"


@dataclass(frozen=True, eq=False)
class FuturesMarks:
    """Columnar marks of perpetuals and dated futures, one row per (snapshot, instrument).

    Attributes
    ----------
    ts_ns : ndarray of int64
        Snapshot time, UTC ns.
    coin : ndarray of str
        ``"BTC"``, ``"ETH"``.
    instrument : ndarray of str
        ``"BTC-PERPETUAL"``, ``"BTC-27MAR26"``.
    expiry_ns : ndarray of int64
        Expiry (08:00 UTC), ``PERPETUAL`` for perpetuals.
    mark : ndarray
        Traded-price mark, USD per coin.
    option_forward : ndarray
        Dated futures only: the forward the snapshot's options carried (NaN otherwise).
    bid, ask : ndarray
        Best quotes when recorded, else NaN.
    snapshot_file : ndarray of str
        The option snapshot file the row belongs to.
    """

    ts_ns: npt.NDArray[np.int64]
    coin: npt.NDArray[np.object_]
    instrument: npt.NDArray[np.object_]
    expiry_ns: npt.NDArray[np.int64]
    mark: FloatArray
    option_forward: FloatArray
    bid: FloatArray
    ask: FloatArray
    snapshot_file: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.ts_ns)

    def select(self, mask: npt.ArrayLike) -> FuturesMarks:
        """Rows where ``mask`` is true (or at the given indices)."""
        idx = np.asarray(mask)
        return replace(self, **{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def times(self) -> npt.NDArray[np.int64]:
        """Distinct snapshot times, ascending."""
        return np.unique(self.ts_ns)

    def perpetual(self, coin: str) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """``(ts_ns, mark)`` of ``coin``'s perpetual, in time order."""
        m = (self.coin == coin.upper()) & (self.expiry_ns == PERPETUAL)
        order = np.argsort(self.ts_ns[m], kind="stable")
        return self.ts_ns[m][order], self.mark[m][order]

    def curve(self, coin: str, ts_ns: int) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """Dated futures of ``coin`` at the latest snapshot at or before ``ts_ns``:
        ``(expiry_ns, mark)`` by expiry. Raises DataError if there is none."""
        m = (self.coin == coin.upper()) & (self.expiry_ns != PERPETUAL) & (self.ts_ns <= ts_ns)
        if not m.any():
            raise DataError(f"no {coin} futures marks at or before ts_ns={ts_ns}")
        t = self.ts_ns[m].max()
        m &= self.ts_ns == t
        order = np.argsort(self.expiry_ns[m])
        return self.expiry_ns[m][order], self.mark[m][order]


def _perp_frame(path: Path) -> pd.DataFrame:
    where = str(path)
    raw = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"coin": str})
    require_columns(
        raw,
        (
            "snapshot_file",
            "snapshot_timestamp_ms",
            "coin",
            "instrument_name",
            "perp_futures_mark_price",
        ),
        where,
        "perpetual marks",
    )
    n = len(raw)
    return pd.DataFrame(
        {
            "ts_ns": to_float(raw, "snapshot_timestamp_ms", where).astype(np.int64) * 1_000_000,
            "coin": raw["coin"].str.upper().to_numpy(dtype=object),
            "instrument": raw["instrument_name"].to_numpy(dtype=object),
            "expiry_ns": np.full(n, PERPETUAL, dtype=np.int64),
            "mark": to_float(raw, "perp_futures_mark_price", where),
            "option_forward": np.full(n, np.nan),
            "bid": to_float(raw, "perp_futures_best_bid", where)
            if "perp_futures_best_bid" in raw
            else np.nan,
            "ask": to_float(raw, "perp_futures_best_ask", where)
            if "perp_futures_best_ask" in raw
            else np.nan,
            "snapshot_file": raw["snapshot_file"].to_numpy(dtype=object),
        }
    )


def _term_frame(path: Path) -> pd.DataFrame:
    where = str(path)
    raw = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"currency": str})
    require_columns(
        raw,
        (
            "snapshot_file",
            "snapshot_timestamp_ms",
            "currency",
            "futures_instrument_name",
            "term_mark_price_final",
        ),
        where,
        "term futures marks",
    )
    names = raw["futures_instrument_name"].to_numpy(dtype=object)
    expiry = {nm: parse_future_name(str(nm))[1] for nm in np.unique(names)}
    n = len(raw)
    return pd.DataFrame(
        {
            "ts_ns": to_float(raw, "snapshot_timestamp_ms", where).astype(np.int64) * 1_000_000,
            "coin": raw["currency"].str.upper().to_numpy(dtype=object),
            "instrument": names,
            "expiry_ns": np.array([expiry[nm] for nm in names], dtype=np.int64),
            "mark": to_float(raw, "term_mark_price_final", where),
            "option_forward": to_float(raw, "snapshot_term_mark_price", where)
            if "snapshot_term_mark_price" in raw
            else np.full(n, np.nan),
            "bid": np.full(n, np.nan),
            "ask": np.full(n, np.nan),
            "snapshot_file": raw["snapshot_file"].to_numpy(dtype=object),
        }
    )


def load_futures_marks(*paths: str | Path) -> FuturesMarks:
    """Read perpetual and/or dated-futures marks.

    Parameters
    ----------
    *paths : str or Path
        The folder holding ``perpetual_futures_prices.csv`` and ``term_futures_marks.csv``
        (both read), or either file.

    Returns
    -------
    FuturesMarks
        Sorted by time, coin, expiry.

    Raises
    ------
    DataError
        If a path holds neither file or a value is unusable (file, line, column named).
    """
    frames = []
    for p in (Path(x) for x in paths):
        files = [p / PERP_FILE, p / TERM_FILE] if p.is_dir() else [p]
        files = [f for f in files if f.is_file()]
        if not files:
            raise DataError(f"{p}: no {PERP_FILE} or {TERM_FILE} there")
        for f in files:
            head = f.open().readline()
            if "perp_futures_mark_price" in head:
                frames.append(_perp_frame(f))
            elif "term_mark_price_final" in head:
                frames.append(_term_frame(f))
            else:
                raise DataError(
                    f"{f}: line 1 is neither a perpetual nor a term futures marks header; "
                    f"expected the columns of {PERP_FILE} or {TERM_FILE}"
                )
    if not frames:
        raise DataError("load_futures_marks needs at least one path")
    df = pd.concat(frames, ignore_index=True).sort_values(
        ["ts_ns", "coin", "expiry_ns"], kind="stable"
    )
    return FuturesMarks(
        ts_ns=df["ts_ns"].to_numpy(dtype=np.int64),
        coin=df["coin"].to_numpy(dtype=object),
        instrument=df["instrument"].to_numpy(dtype=object),
        expiry_ns=df["expiry_ns"].to_numpy(dtype=np.int64),
        mark=df["mark"].to_numpy(dtype=np.float64),
        option_forward=df["option_forward"].to_numpy(dtype=np.float64),
        bid=df["bid"].to_numpy(dtype=np.float64),
        ask=df["ask"].to_numpy(dtype=np.float64),
        snapshot_file=df["snapshot_file"].to_numpy(dtype=object),
    )


__all__ = ["PERPETUAL", "FuturesMarks", "load_futures_marks"]

"""Shared plumbing of the loaders: typed columns with located errors, frame -> chains."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from deltahedge.core.errors import DataError
from deltahedge.core.units import ns_to_datetime
from deltahedge.marketdata.chain import ARRAY_COLUMNS, OptionChain

#: Columns every loader's normalised frame has besides ``ARRAY_COLUMNS``.
META_COLUMNS = ("underlying", "snapshot", "ts_ns", "inverse")


def leading_comment_lines(path: str | Path) -> int:
    """Number of ``#`` comment lines at the top of a text file (provenance notes)."""
    n = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            n += 1
    return n


def require_columns(frame: pd.DataFrame, needed: Iterable[str], where: str, fmt: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(
            f"{where}: missing column(s) {missing} for the {fmt} format; "
            f"found {list(frame.columns)[:30]}"
        )


def to_float(
    frame: pd.DataFrame, col: str, where: str, *, first_line: int = 2
) -> npt.NDArray[np.float64]:
    """Column ``col`` as float64; empty cells -> NaN; anything else unparsable raises.

    ``first_line`` is the file line number of the frame's first row (header = line 1).
    """
    raw = frame[col]
    if raw.dtype.kind in "fiu":
        return np.array(raw.to_numpy(dtype=np.float64))
    text = raw.astype("string").str.strip()
    num = pd.to_numeric(text, errors="coerce")
    bad = num.isna() & text.notna() & (text != "") & (text.str.lower() != "nan")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{where}: line {first_line + i}, column {col!r}: expected a number, "
            f"got {text.iloc[i]!r}"
        )
    return num.to_numpy(dtype=np.float64, na_value=np.nan)


def kinds_from_words(
    values: pd.Series, col: str, where: str, *, first_line: int = 2
) -> npt.NDArray[np.int8]:
    """``call``/``put``/``c``/``p`` (any case) -> +1/-1; anything else raises with its line."""
    words = values.astype("string").str.strip().str.lower()
    out = np.zeros(len(words), dtype=np.int8)
    out[words.isin(["call", "c"]).to_numpy(dtype=bool)] = 1
    out[words.isin(["put", "p"]).to_numpy(dtype=bool)] = -1
    if (out == 0).any():
        i = int(np.flatnonzero(out == 0)[0])
        raise DataError(
            f"{where}: line {first_line + i}, column {col!r}: expected 'call' or 'put', "
            f"got {words.iloc[i]!r}"
        )
    return out


def chains_from_frame(frame: pd.DataFrame, *, venue: str) -> list[OptionChain]:
    """Split a normalised frame into one ``OptionChain`` per (underlying, snapshot).

    Rows are sorted by expiry, strike, then calls before puts. The chain's ``ts_ns`` is the
    latest row time of its snapshot.
    """
    chains: list[OptionChain] = []
    if frame.empty:
        return chains
    for (und, _snap), g in frame.groupby(["underlying", "snapshot"], sort=True):
        g = g.sort_values(["expiry_ns", "strike", "kind"], ascending=[True, True, False])
        cols = {}
        for name in ARRAY_COLUMNS:
            if name == "instrument":
                cols[name] = g[name].to_numpy(dtype=object)
            elif name == "kind":
                cols[name] = g[name].to_numpy(dtype=np.int8)
            elif name == "expiry_ns":
                cols[name] = g[name].to_numpy(dtype=np.int64)
            else:
                cols[name] = g[name].to_numpy(dtype=np.float64)
        chains.append(
            OptionChain(
                underlying=str(und),
                ts_ns=int(g["ts_ns"].max()),
                inverse=bool(g["inverse"].iloc[0]),
                venue=venue,
                **cols,
            )
        )
    return chains


def select_chains(
    chains: Sequence[OptionChain],
    where: str,
    underlying: str | None = None,
    snapshot: str | int | None = None,
) -> list[OptionChain]:
    """Keep the chains of ``underlying`` (case-insensitive) and ``snapshot``.

    ``snapshot`` is an index into the file's snapshots of that underlying (negative counts
    from the end), or the start of an ISO-8601 UTC time (``"2021-06-15"``,
    ``"2026-01-03T09"``) that the snapshot's time must begin with.
    """
    out = list(chains)
    if underlying is not None:
        want = underlying.strip().upper()
        out = [c for c in out if c.underlying.upper() == want]
        if not out:
            have = sorted({c.underlying for c in chains})
            raise DataError(
                f"{where}: no options on underlying {underlying!r}; the file has {have}"
            )
    if snapshot is None:
        return out
    stamps = [ns_to_datetime(c.ts_ns).isoformat() for c in out]
    if isinstance(snapshot, (int, np.integer)):
        times = sorted({c.ts_ns for c in out})
        if not -len(times) <= int(snapshot) < len(times):
            raise DataError(
                f"{where}: snapshot index {snapshot} out of range; the file has {len(times)} snapshots"
            )
        t = times[int(snapshot)]
        return [c for c in out if c.ts_ns == t]
    text = str(snapshot).strip().replace(" ", "T")
    picked = [c for c, s in zip(out, stamps, strict=True) if s.startswith(text)]
    if not picked:
        shown = sorted(set(stamps))
        raise DataError(
            f"{where}: no snapshot at {snapshot!r}; the file has {len(shown)}: "
            f"{shown[:5]}{' ...' if len(shown) > 5 else ''}"
        )
    return picked


__all__ = [
    "META_COLUMNS",
    "chains_from_frame",
    "kinds_from_words",
    "leading_comment_lines",
    "require_columns",
    "select_chains",
    "to_float",
]

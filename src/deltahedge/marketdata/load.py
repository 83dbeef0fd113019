"""``load_chain`` / ``load_chains``: one entry point for every supported chain format.

Formats (``format=`` names; detected from the file's first line or the object's keys):

========================  ==========================================================
``deribit_snapshot_csv``  Deribit chain snapshot CSV (``deribit_chain_2026``)
``deribit_eod``           Deribit daily chain files (``deribit_eod_2021``)
``deribit_ticker``        ``public/ticker`` results (one dict or a list of them)
``deribit_book_summary``  ``public/get_book_summary_by_currency`` results
``deribit_ws``            a recording of ``ticker.*`` websocket notifications
                          (``DERIBIT.ws.1.0`` lines) or a list of notifications
``tardis_options_chain``  Tardis.dev ``options_chain`` CSV (``.csv`` or ``.csv.gz``)
========================  ==========================================================
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deltahedge.core.errors import DataError, InvalidInput
from deltahedge.core.units import to_ns
from deltahedge.marketdata._frame import select_chains
from deltahedge.marketdata.chain import OptionChain

FORMATS: tuple[str, ...] = (
    "deribit_snapshot_csv",
    "deribit_eod",
    "deribit_ticker",
    "deribit_book_summary",
    "deribit_ws",
    "tardis_options_chain",
)


def _first_line(path: Path) -> str:
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if not str(line).startswith("#"):
                    return str(line).strip()
            return ""
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc


def detect_format(path_or_obj: str | Path | Any) -> str:
    """Name the format of a chain file or decoded API answer (one of ``FORMATS``).

    Raises
    ------
    DataError
        If the format is not recognised; the message shows what was seen.
    """
    if not isinstance(path_or_obj, (str, Path)):
        from deltahedge.marketdata.deribit_api import detect_api_format

        return detect_api_format(path_or_obj)
    path = Path(path_or_obj)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    head = _first_line(path)
    low = head.lower()
    if low.startswith("[quote_unixtime]"):
        return "deribit_eod"
    if low.startswith("exchange,symbol,timestamp,local_timestamp"):
        return "tardis_options_chain"
    if "instrument_name" in low and "futures_price" in low and "option_type" in low:
        return "deribit_snapshot_csv"
    if low.startswith("wss://") or (low[:1].isdigit() and ": {" in head):
        return "deribit_ws"
    if low.startswith("{") or low.startswith("["):
        from deltahedge.marketdata.deribit_api import detect_api_format

        return detect_api_format(_read_json(path))
    if "snapshot_file" in low and ("perp" in low or "term" in low):
        raise DataError(
            f"{path}: this is a futures-marks file, not an option chain; "
            "read it with deltahedge.marketdata.load_futures_marks"
        )
    raise DataError(
        f"{path}: unrecognised chain format; line 1 is {head[:120]!r}. Expected one of "
        f"{list(FORMATS)} (choose one with format=, or --format on the command line)"
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})"
        ) from exc


def load_chains(
    path_or_obj: str | Path | Any,
    format: str | None = None,
    underlying: str | None = None,
    snapshot: str | int | None = None,
    *,
    instruments: str | Path | Any | None = None,
    at: str | int | None = None,
) -> list[OptionChain]:
    """Load every chain (one per underlying and snapshot) in a file or API answer.

    Parameters
    ----------
    path_or_obj : str, Path, dict or list
        A file, or a decoded JSON answer / notification list.
    format : str, optional
        One of ``FORMATS``; detected when omitted.
    underlying : str, optional
        Keep only this coin (``"BTC"``), case-insensitive.
    snapshot : int or str, optional
        Index of the snapshot (negative from the end) or the start of its ISO-8601 UTC
        time (``"2021-06-15"``); all snapshots when omitted.
    instruments : path or object, optional
        A ``public/get_instruments`` answer (or a REST recording such as ``DERIBIT.0``)
        giving expiry, strike and kind for websocket tickers; names are parsed otherwise.
    at : str or int, optional
        Streams only (Tardis CSV, websocket recordings): build the chains from the latest
        update of each instrument at or before this time (ISO-8601 UTC, or ns); default
        the end of the stream.

    Returns
    -------
    list of OptionChain
        Sorted by underlying, then time.

    Raises
    ------
    DataError
        Unknown format, unreadable file or value (naming file, line and column), or no
        chain matching ``underlying`` / ``snapshot``.
    """
    fmt = format or detect_format(path_or_obj)
    try:
        at_ns = None if at is None else to_ns(at)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"at={at!r} is not a time; give an ISO-8601 UTC time such as "
            "'2021-07-22T22:42:20Z' or integer ns"
        ) from exc
    where = str(path_or_obj) if isinstance(path_or_obj, (str, Path)) else f"<{fmt} object>"
    if fmt == "deribit_snapshot_csv":
        from deltahedge.marketdata.deribit_csv import load_deribit_snapshot

        chains = load_deribit_snapshot(_as_path(path_or_obj, fmt))
    elif fmt == "deribit_eod":
        from deltahedge.marketdata.deribit_eod import load_deribit_eod

        chains = load_deribit_eod(_as_path(path_or_obj, fmt))
    elif fmt in ("deribit_ticker", "deribit_book_summary", "deribit_ws"):
        from deltahedge.marketdata import deribit_api

        obj = path_or_obj
        if isinstance(obj, (str, Path)) and fmt != "deribit_ws":
            obj = _read_json(Path(obj))
        chains = deribit_api.load_api(obj, fmt, instruments=instruments, at_ns=at_ns)
    elif fmt == "tardis_options_chain":
        from deltahedge.marketdata.tardis import load_tardis_options_chain

        at_us = None if at_ns is None else at_ns // 1000
        chains = load_tardis_options_chain(_as_path(path_or_obj, fmt), at_us)
    else:
        raise DataError(f"unknown chain format {fmt!r}; allowed: {list(FORMATS)}")
    if not chains:
        raise DataError(f"{where}: no option rows found ({fmt})")
    return select_chains(chains, where, underlying, snapshot)


def _as_path(obj: Any, fmt: str) -> Path:
    if not isinstance(obj, (str, Path)):
        raise DataError(f"the {fmt} format is read from a file path, got {type(obj).__name__}")
    return Path(obj)


def load_chain(
    path_or_obj: str | Path | Any,
    format: str | None = None,
    underlying: str | None = None,
    snapshot: str | int | None = None,
    *,
    instruments: str | Path | Any | None = None,
    at: str | int | None = None,
) -> OptionChain:
    """Load exactly one chain; see :func:`load_chains` for the parameters.

    Raises
    ------
    DataError
        If the selection matches no chain or more than one (the message lists them and
        says which of ``underlying=`` / ``snapshot=`` to pass).
    """
    chains = load_chains(path_or_obj, format, underlying, snapshot, instruments=instruments, at=at)
    if len(chains) > 1:
        from deltahedge.core.units import ns_to_datetime

        seen = sorted({c.underlying for c in chains})
        times = sorted({ns_to_datetime(c.ts_ns).isoformat() for c in chains})
        hint = "underlying=" if len(seen) > 1 else "snapshot="
        raise DataError(
            f"{path_or_obj if isinstance(path_or_obj, (str, Path)) else 'object'}: "
            f"holds {len(chains)} chains (underlyings {seen}, {len(times)} snapshot(s) from "
            f"{times[0]} to {times[-1]}); pass {hint} to pick one, or use load_chains"
        )
    return chains[0]


__all__ = ["FORMATS", "detect_format", "load_chain", "load_chains"]

"""Chains from Deribit's own API answers (JSON-RPC v2), REST and websocket.

Accepted objects (decoded JSON; a JSON-RPC envelope ``{"jsonrpc", "result": ...}`` is
unwrapped):

- ``public/ticker`` results: one dict or a list, fields ``instrument_name, timestamp``
  (ms), ``underlying_price, underlying_index, index_price, mark_price, mark_iv, bid_iv,
  ask_iv`` (IVs in percent), ``best_bid_price, best_ask_price, open_interest`` and
  ``greeks {delta, gamma, vega, theta, rho}``.
- ``public/get_book_summary_by_currency`` results: a list with ``instrument_name,
  creation_timestamp`` (ms), ``underlying_price, underlying_index, mark_price, mark_iv,
  bid_price, ask_price, open_interest, estimated_delivery_price`` (no greeks). Futures
  and perpetuals in the answer are not options and are left out.
- ``ticker.<instrument>.<interval>`` websocket notifications (``{"method":
  "subscription", "params": {"channel", "data"}}``), as a list or as a recording in
  cryptofeed's format (``DERIBIT.ws.1.0``: ``[<url> <dir> ]<unix time>: <json>`` a line);
  the chain holds the latest ticker of each instrument.

Expiry, strike and kind come from a ``public/get_instruments`` answer when given
(``instruments=``; a REST recording such as ``DERIBIT.0`` works), else from the name.
Conventions: prices in coin for inverse options (``BTC-...``), in USDC for linear ones
(``BTC_USDC-...``); a bid or ask of 0 or null means no quote (NaN); ``forward`` =
``underlying_price`` (the future or synthetic forward the option is priced off); each
row's ``T`` is from its own timestamp.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from deltahedge.core.errors import DataError
from deltahedge.core.units import year_fraction
from deltahedge.marketdata._frame import chains_from_frame
from deltahedge.marketdata.chain import OptionChain
from deltahedge.marketdata.names import is_option_name, parse_option_name

_META = re.compile(r"^[a-z_]+: ")
_LINE = re.compile(
    r"^(?:(?P<url>\S+) (?P<dir><->|<-|->) )?(?P<t>\d+(?:\.\d+)?)(?:: (?P<json>.*))?$"
)


def _unwrap(obj: Any) -> Any:
    if isinstance(obj, dict) and "result" in obj and "jsonrpc" in obj:
        return obj["result"]
    return obj


def detect_api_format(obj: Any) -> str:
    """``deribit_ticker``, ``deribit_book_summary`` or ``deribit_ws`` for a decoded answer."""
    obj = _unwrap(obj)
    items = obj if isinstance(obj, list) else [obj]
    first = next((x for x in items if isinstance(x, dict)), None)
    if first is not None:
        if first.get("method") == "subscription" or "params" in first:
            return "deribit_ws"
        if "greeks" in first or "best_bid_price" in first:
            return "deribit_ticker"
        if "creation_timestamp" in first or "bid_price" in first:
            return "deribit_book_summary"
    shown = json.dumps(first)[:120] if first is not None else repr(obj)[:120]
    raise DataError(
        "unrecognised Deribit API object; expected public/ticker results, "
        f"get_book_summary_by_currency results or ticker.* notifications, got {shown}"
    )


def iter_recording(path: str | Path) -> Iterator[tuple[str, str, float, Any]]:
    """Yield ``(url, direction, unix_time, message)`` from a cryptofeed-style recording.

    Lines are ``<url> <dir> <time>: <json>`` (``<-`` sent, ``->`` received, ``<->``
    connect, no JSON) or ``<time>: <json>`` (received on the current connection);
    cryptofeed's ``configuration: {...}`` line is skipped.
    """
    url = ""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if _META.match(line):
                continue  # cryptofeed's "configuration: {...}" trailer
            m = _LINE.match(line)
            if m is None:
                raise DataError(
                    f"{path}: line {lineno}: expected '[<url> <dir> ]<unix time>: <json>', "
                    f"got {line[:80]!r}"
                )
            url = m["url"] or url
            direction = m["dir"] or "->"
            if m["json"] is None:
                yield url, direction, float(m["t"]), None
                continue
            try:
                msg = json.loads(m["json"])
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{path}: line {lineno}, column {m.start('json') + exc.colno}: invalid JSON "
                    f"({exc.msg})"
                ) from exc
            yield url, direction, float(m["t"]), msg


def instruments_table(obj: str | Path | Any) -> dict[str, tuple[str, int, float, int]]:
    """Map option name -> ``(underlying, expiry_ns, strike, kind)`` from get_instruments.

    ``obj`` is a decoded answer (or list of them) or a REST recording file.
    """
    answers: list[Any]
    if isinstance(obj, (str, Path)):
        answers = [msg for _, d, _, msg in iter_recording(obj) if msg is not None and d == "->"]
    else:
        answers = obj if isinstance(obj, list) and obj and "jsonrpc" in obj[0] else [obj]
    table: dict[str, tuple[str, int, float, int]] = {}
    for ans in answers:
        result = _unwrap(ans)
        for item in result if isinstance(result, list) else []:
            if not isinstance(item, dict) or item.get("kind") != "option":
                continue
            name = str(item["instrument_name"])
            und = str(item.get("base_currency", name.split("-")[0]))
            if "_" in name.split("-")[0]:
                und = name.split("-")[0]
            kind = 1 if str(item["option_type"]).lower() == "call" else -1
            table[name] = (
                und,
                int(item["expiration_timestamp"]) * 1_000_000,
                float(item["strike"]),
                kind,
            )
    return table


def _num(d: dict[str, Any], key: str, zero_is_missing: bool = False) -> float:
    v = d.get(key)
    if v is None:
        return np.nan
    x = float(v)
    return np.nan if zero_is_missing and x == 0.0 else x


def _rows(items: Iterable[dict[str, Any]], fmt: str, table: dict[str, Any]) -> pd.DataFrame:
    recs = []
    for d in items:
        name = str(d.get("instrument_name", ""))
        if name in table:
            und, expiry, strike, kind = table[name]
        elif is_option_name(name):
            und, expiry, strike, kind = parse_option_name(name)
        else:
            continue  # a future, perpetual or spot pair: not an option
        ts_ms = d.get("timestamp", d.get("creation_timestamp"))
        if ts_ms is None:
            raise DataError(f"{fmt}: {name}: no 'timestamp' / 'creation_timestamp' field")
        greeks = d.get("greeks") or {}
        ticker = fmt != "deribit_book_summary"
        recs.append(
            {
                "underlying": und,
                "ts_ns": int(ts_ms) * 1_000_000,
                "instrument": name,
                "kind": kind,
                "strike": strike,
                "expiry_ns": expiry,
                "forward": _num(d, "underlying_price"),
                "bid": _num(d, "best_bid_price" if ticker else "bid_price", True),
                "ask": _num(d, "best_ask_price" if ticker else "ask_price", True),
                "mark": _num(d, "mark_price"),
                "bid_iv": _num(d, "bid_iv", True) / 100.0,
                "ask_iv": _num(d, "ask_iv", True) / 100.0,
                "mark_iv": _num(d, "mark_iv") / 100.0,
                "venue_delta": _num(greeks, "delta"),
                "venue_gamma": _num(greeks, "gamma"),
                "venue_vega": _num(greeks, "vega"),
                "venue_theta": _num(greeks, "theta"),
                "open_interest": _num(d, "open_interest"),
                "index_price": _num(d, "index_price")
                if "index_price" in d
                else _num(d, "estimated_delivery_price"),
            }
        )
    frame = pd.DataFrame.from_records(recs)
    if frame.empty:
        return frame
    frame["snapshot"] = 0
    frame["inverse"] = ~frame["underlying"].str.contains("_")
    frame["T"] = year_fraction(frame["ts_ns"].to_numpy(), frame["expiry_ns"].to_numpy())
    return frame


def _ws_tickers(obj: Any, at_ns: int | None = None) -> list[dict[str, Any]]:
    if isinstance(obj, (str, Path)):
        msgs = [m for _, d, _, m in iter_recording(obj) if m is not None and d == "->"]
    else:
        msgs = obj if isinstance(obj, list) else [obj]
    latest: dict[str, dict[str, Any]] = {}
    for m in msgs:
        if not isinstance(m, dict) or m.get("method") != "subscription":
            continue
        params = m.get("params") or {}
        if not str(params.get("channel", "")).startswith("ticker."):
            continue
        data = params.get("data") or {}
        name = data.get("instrument_name")
        if name is None:
            continue
        if at_ns is not None and int(data.get("timestamp", 0)) * 1_000_000 > at_ns:
            continue
        prev = latest.get(name)
        if prev is None or int(data.get("timestamp", 0)) >= int(prev.get("timestamp", 0)):
            latest[name] = data
    return list(latest.values())


def load_api(
    obj: str | Path | Any,
    fmt: str,
    *,
    instruments: str | Path | Any | None = None,
    at_ns: int | None = None,
) -> list[OptionChain]:
    """Build chains (one per underlying) from a Deribit API answer or ws recording.

    Parameters
    ----------
    obj : dict, list, or path (``deribit_ws`` recordings only)
        The decoded answer(s).
    fmt : {"deribit_ticker", "deribit_book_summary", "deribit_ws"}
    instruments : optional
        A get_instruments answer or REST recording for expiry / strike / kind.
    at_ns : int, optional
        ``deribit_ws`` only: use the latest ticker at or before this time (UTC ns).

    Returns
    -------
    list of OptionChain
    """
    table = instruments_table(instruments) if instruments is not None else {}
    if fmt == "deribit_ws":
        items = _ws_tickers(obj, at_ns)
        fmt_rows = "deribit_ticker"
    else:
        res = _unwrap(obj)
        items = res if isinstance(res, list) else [res]
        fmt_rows = fmt
    frame = _rows([x for x in items if isinstance(x, dict)], fmt_rows, table)
    return chains_from_frame(frame, venue="deribit")


__all__ = ["detect_api_format", "instruments_table", "iter_recording", "load_api"]

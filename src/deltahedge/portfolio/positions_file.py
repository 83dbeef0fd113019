"""Read a book of positions from a CSV or JSON file (``[book] positions_file``).

CSV: a header row, then one position a row::

    instrument,quantity,venue,entry_price
    BTC-27MAR26-90000-C,-5,deribit,0.1008
    BTC-26JUN26-95000-P,5,,
    BTC-PERPETUAL,-2000,deribit,92000

``instrument`` and ``quantity`` (signed contracts, long > 0) are required; ``venue`` names
the venue whose naming rules parse ``instrument`` (``deribit``, ``okx``, ``bybit``,
``binance``; empty: the default, ``deribit``); ``entry_price`` is the premium in the
settlement coin for options (0 or empty: unknown, PnL reports only) and the USD entry
price for perpetuals and futures (required there). Lines starting with ``#`` and empty
lines are skipped.

JSON: a list of objects with the same keys, e.g.
``[{"instrument": "BTC-27MAR26-90000-C", "quantity": -5}]``.

Every problem names the file, the line (CSV) or item (JSON), the value and what is
allowed; all problems are reported at once.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deltahedge.core.errors import InvalidInput
from deltahedge.instruments import parse_instrument
from deltahedge.portfolio.positions import Position

#: columns a positions file may have; the first two are required
COLUMNS: tuple[str, ...] = ("instrument", "quantity", "venue", "entry_price")
DEFAULT_VENUE = "deribit"


def _number(raw: Any, what: str, default: float | None) -> float:
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        if default is None:
            raise ValueError(f"{what} is missing")
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{what} = {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} = {raw!r} must be finite")
    return value


def _position(row: Mapping[str, Any], default_venue: str) -> Position:
    name = row.get("instrument")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            "instrument is missing (a venue's instrument name, e.g. BTC-27MAR26-90000-C)"
        )
    venue = row.get("venue") or default_venue
    qty = _number(row.get("quantity"), "quantity", None)
    if qty == 0.0:
        raise ValueError("quantity = 0: leave the line out instead")
    entry = _number(row.get("entry_price"), "entry_price", 0.0)
    try:
        instrument = parse_instrument(name, str(venue))
        return Position(instrument, qty, entry_price=entry)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


def _rows(path: Path) -> list[tuple[str, Mapping[str, Any]]]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise InvalidInput(
                f"{path}: a JSON positions file is a list of objects with keys {list(COLUMNS)}"
            )
        return [(f"item {i}", item) for i, item in enumerate(data)]
    lines = [
        (n, line) for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]  # fmt: skip
    if not lines:
        raise InvalidInput(f"{path}: no positions (expected a header {','.join(COLUMNS)} and rows)")
    reader = csv.reader([line for _, line in lines])
    header = [h.strip().lower() for h in next(reader)]
    missing = [c for c in COLUMNS[:2] if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown:
        raise InvalidInput(
            f"{path} line {lines[0][0]}: header {header}: "
            + ("; ".join(
                ([f"missing column(s) {missing}"] if missing else [])
                + ([f"unknown column(s) {unknown}"] if unknown else [])
            ))
            + f"; allowed columns: {list(COLUMNS)} (instrument and quantity required)"
        )  # fmt: skip
    out: list[tuple[str, Mapping[str, Any]]] = []
    for (n, _), cells in zip(lines[1:], reader, strict=True):
        if len(cells) > len(header):
            out.append(
                (f"line {n}", {"__error__": f"{len(cells)} cells for {len(header)} columns"})
            )
            continue
        out.append((f"line {n}", dict(zip(header, (c.strip() for c in cells), strict=False))))
    return out


def load_positions(path: str | Path, default_venue: str = DEFAULT_VENUE) -> list[Position]:
    """The positions of a CSV or JSON file (see the module docstring for the format).

    Raises
    ------
    InvalidInput
        Naming the file and every bad line with its value and what is allowed.
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"positions file {str(p)!r} not found")
    positions: list[Position] = []
    problems: list[str] = []
    for where, row in _rows(p):
        if "__error__" in row:
            problems.append(f"{where}: {row['__error__']}")
            continue
        try:
            positions.append(_position(row, default_venue))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        raise InvalidInput(f"{p}: {len(problems)} bad position(s):\n  " + "\n  ".join(problems))
    if not positions:
        raise InvalidInput(f"{p}: no positions (a header and at least one row are needed)")
    return positions


__all__ = ["COLUMNS", "DEFAULT_VENUE", "load_positions"]

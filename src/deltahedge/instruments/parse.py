"""Parse venues' instrument names into frozen specs.

Forms understood (expiries are 08:00 UTC on every venue listed):

========  ===================================================================
deribit   ``BTC-27MAR26-90000-C`` (inverse option, 1 BTC), ``BTC_USDC-27MAR26-90000-C``
          (linear, 0.01 BTC), ``BTC-PERPETUAL`` (inverse, 10 USD; ETH 1 USD),
          ``BTC_USDC-PERPETUAL`` (linear, 0.001 BTC), ``BTC-27MAR26`` (inverse future)
okx       ``BTC-USD-260327-90000-C`` (inverse option, 0.01 BTC), ``BTC-USD-SWAP``
          (inverse, 100 USD; others 10 USD), ``BTC-USDT-SWAP`` (linear, 0.01 BTC),
          ``BTC-USD-260327`` (inverse future), ``BTC-USDT-260327`` (linear future)
bybit     ``BTC-27MAR26-90000-C`` (USDC option, 1 BTC, lot 0.01), ``...-C-USDT``
          (USDT option), ``BTCUSDT`` (linear perp, lot 0.001 BTC), ``BTCPERP`` or
          ``BTC-PERP`` (USDC perp, lot 0.001 BTC), ``BTCUSD`` (inverse perp, 1 USD),
          ``BTC-27MAR26`` (USDC future, 1 BTC, lot 0.001), ``BTCUSDT-27MAR26`` (USDT
          future, 1 BTC, lot 0.001), ``BTCUSDH26`` (inverse quarterly, 1 USD; month code
          H/M/U/Z = Mar/Jun/Sep/Dec, expiring the month's last Friday)
binance   ``BTC-260327-90000-C`` (USDT option, 1 BTC, lot 0.01), ``BTCUSDT`` (USD-M perp,
          lot 0.001 BTC), ``BTCUSDT_260327`` (USD-M quarterly, 1 BTC, lot 0.001),
          ``BTCUSD_PERP`` (COIN-M, 100 USD; others 10 USD), ``BTCUSD_260327`` (COIN-M
          delivery future)
any       ``BTC/USDT`` (spot, ccxt style)
========  ===================================================================

Contract sizes and lots are the venues' published defaults for BTC and ETH; a venue's
``get_instruments`` answer should override them where it differs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from deltahedge.core.enums import OptionKind, Settlement
from deltahedge.core.errors import InvalidInput
from deltahedge.core.units import to_ns
from deltahedge.instruments.specs import Future, Instrument, Option, Perpetual, Spot

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}

FORMS: dict[str, tuple[str, ...]] = {
    "deribit": (
        "BTC-27MAR26-90000-C",
        "BTC_USDC-27MAR26-90000-C",
        "BTC-PERPETUAL",
        "BTC_USDC-PERPETUAL",
        "BTC-27MAR26",
    ),
    "okx": (
        "BTC-USD-260327-90000-C",
        "BTC-USD-SWAP",
        "BTC-USDT-SWAP",
        "BTC-USD-260327",
        "BTC-USDT-260327",
    ),
    "bybit": (
        "BTC-27MAR26-90000-C",
        "BTC-27MAR26-90000-C-USDT",
        "BTCUSDT",
        "BTCPERP",
        "BTCUSD",
        "BTC-27MAR26",
        "BTCUSDT-27MAR26",
        "BTCUSDH26",
    ),
    "binance": (
        "BTC-260327-90000-C",
        "BTCUSDT",
        "BTCUSDT_260327",
        "BTCUSD_PERP",
        "BTCUSD_260327",
    ),
}

_DMY = re.compile(r"^(\d{1,2})([A-Z]{3})(\d{2})$")
_YMD = re.compile(r"^(\d{2})(\d{2})(\d{2})$")
#: Bybit's inverse quarterlies, ``BTCUSDH26``: coin, ``USD``, futures month code, year.
_BYBIT_INVERSE_FUT = re.compile(r"^([A-Z0-9]{2,10})USD([A-Z])(\d{2})$")
#: Futures month codes of the quarterly cycle (the only ones Bybit lists).
_QUARTER_CODES = {"H": 3, "M": 6, "U": 9, "Z": 12}


def _bad(symbol: str, venue: str, why: str = "") -> InvalidInput:
    forms = ", ".join(FORMS.get(venue, ()))
    extra = f" ({why})" if why else ""
    return InvalidInput(
        f"cannot parse {venue} instrument name {symbol!r}{extra}; allowed forms: {forms}, "
        "or spot 'BTC/USDT'"
    )


def _expiry(text: str, symbol: str, venue: str) -> int:
    m = _DMY.match(text)
    if m and m.group(2) in _MONTHS:
        day, month, year = int(m.group(1)), _MONTHS[m.group(2)], 2000 + int(m.group(3))
    else:
        m = _YMD.match(text)
        if not m:
            raise _bad(symbol, venue, f"expiry {text!r} is neither DDMMMYY nor YYMMDD")
        year, month, day = 2000 + int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        return to_ns(datetime(year, month, day, 8, 0, tzinfo=UTC))
    except ValueError as exc:
        raise _bad(symbol, venue, f"expiry {text!r} is not a date") from exc


def _last_friday_ns(year: int, month: int) -> int:
    """08:00 UTC on the last Friday of ``month`` (Bybit's quarterly delivery time)."""
    nxt = datetime(year + month // 12, month % 12 + 1, 1, 8, 0, tzinfo=UTC)
    last = nxt - timedelta(days=1)
    back = (last.weekday() - 4) % 7  # Friday is weekday 4
    return to_ns(last - timedelta(days=back))


def _strike(text: str, symbol: str, venue: str) -> float:
    try:
        value = float(text.replace("d", "."))  # Deribit writes 0.5 as "0d5" for small coins
    except ValueError as exc:
        raise _bad(symbol, venue, f"strike {text!r} is not a number") from exc
    if value <= 0:
        raise _bad(symbol, venue, f"strike {text!r} is not > 0")
    return value


def _kind(text: str, symbol: str, venue: str) -> OptionKind:
    if text == "C":
        return OptionKind.CALL
    if text == "P":
        return OptionKind.PUT
    raise _bad(symbol, venue, f"option kind {text!r} is neither C nor P")


def _option(
    symbol: str, venue: str, coin: str, parts: list[str], settle: Settlement, size: float, ccy: str
) -> Option:
    lot = {"deribit": 0.1, "okx": 1.0}.get(venue, 0.01)
    if venue == "deribit" and settle is Settlement.LINEAR:
        lot = 1.0
    return Option(
        symbol=symbol,
        venue=venue,
        underlying=coin,
        settlement=settle,
        contract_size=size,
        settlement_coin=ccy,
        lot_size=lot,
        min_size=lot,
        tick_size=0.0001 if settle is Settlement.INVERSE else 5.0,
        strike=_strike(parts[-2], symbol, venue),
        expiry_ns=_expiry(parts[-3], symbol, venue),
        kind=_kind(parts[-1], symbol, venue),
    )


def _perp(
    symbol: str, venue: str, coin: str, settle: Settlement, size: float, lot: float, ccy: str
) -> Perpetual:
    tick = 0.5 if coin == "BTC" else 0.05
    return Perpetual(symbol, venue, coin, settle, size, ccy, lot, lot, tick)


def _future(
    symbol: str,
    venue: str,
    coin: str,
    settle: Settlement,
    size: float,
    lot: float,
    expiry: str | int,
    ccy: str = "USDT",
) -> Future:
    """A dated future; ``expiry`` is the name's date text or already UTC ns."""
    ccy = coin if settle is Settlement.INVERSE else ccy
    tick = 0.5 if coin == "BTC" else 0.05
    exp = expiry if isinstance(expiry, int) else _expiry(expiry, symbol, venue)
    return Future(symbol, venue, coin, settle, size, ccy, lot, lot, tick, expiry_ns=exp)


def _coin_ok(coin: str, symbol: str, venue: str) -> str:
    if not re.fullmatch(r"[A-Z0-9]{2,10}", coin):
        raise _bad(symbol, venue, f"coin {coin!r} is not a ticker")
    return coin


def _deribit(s: str) -> Instrument:
    parts = s.split("-")
    base = parts[0]
    linear = base.endswith("_USDC") or base.endswith("_USDT")
    coin = _coin_ok(base.split("_")[0], s, "deribit")
    quote = base.split("_")[1] if linear else coin
    settle = Settlement.LINEAR if linear else Settlement.INVERSE
    if len(parts) == 4:
        size = 1.0 if not linear else (0.01 if coin == "BTC" else 0.1)
        return _option(s, "deribit", coin, parts, settle, size, quote)
    if len(parts) == 2 and parts[1] == "PERPETUAL":
        if linear:
            size = 0.001 if coin == "BTC" else 0.01
            return _perp(s, "deribit", coin, settle, size, 1.0, quote)
        return _perp(s, "deribit", coin, settle, 10.0 if coin == "BTC" else 1.0, 1.0, coin)
    if len(parts) == 2:
        size = 10.0 if coin == "BTC" else 1.0
        return _future(s, "deribit", coin, settle, size, 1.0, parts[1])
    raise _bad(s, "deribit")


def _okx(s: str) -> Instrument:
    parts = s.split("-")
    if len(parts) < 3 or parts[1] not in ("USD", "USDT", "USDC"):
        raise _bad(s, "okx")
    coin = _coin_ok(parts[0], s, "okx")
    inverse = parts[1] == "USD"
    settle = Settlement.INVERSE if inverse else Settlement.LINEAR
    if len(parts) == 5:
        size = 0.01 if coin == "BTC" else 0.1
        return _option(s, "okx", coin, parts, settle, size, coin if inverse else parts[1])
    if len(parts) == 3:
        if inverse:
            size = 100.0 if coin == "BTC" else 10.0
        else:
            size = 0.01 if coin == "BTC" else 0.1
        if parts[2] == "SWAP":
            return _perp(s, "okx", coin, settle, size, 1.0, coin if inverse else parts[1])
        return _future(s, "okx", coin, settle, size, 1.0, parts[2])
    raise _bad(s, "okx")


def _bybit(s: str) -> Instrument:
    parts = s.split("-")
    if len(parts) in (4, 5):
        ccy = "USDC"
        if len(parts) == 5:
            if parts[4] not in ("USDT", "USDC"):
                raise _bad(s, "bybit", f"settle suffix {parts[4]!r} is not USDT/USDC")
            ccy = parts.pop()
        coin = _coin_ok(parts[0], s, "bybit")
        return _option(s, "bybit", coin, parts, Settlement.LINEAR, 1.0, ccy)
    if len(parts) == 2:
        head, tail = parts
        if tail == "PERP":  # BTC-PERP: the USDC perpetual's older name
            return _perp(
                s, "bybit", _coin_ok(head, s, "bybit"), Settlement.LINEAR, 1.0, 0.001, "USDC"
            )
        # BTC-27MAR26 settles in USDC, BTCUSDT-27MAR26 in USDT; 1 coin, lot 0.001
        ccy = "USDT" if head.endswith("USDT") and len(head) > 4 else "USDC"
        coin = _coin_ok(head[:-4] if ccy == "USDT" else head, s, "bybit")
        return _future(s, "bybit", coin, Settlement.LINEAR, 1.0, 0.001, tail, ccy)
    if len(parts) == 1:
        for quote in ("USDT", "USDC"):
            if s.endswith(quote) and len(s) > len(quote):
                coin = _coin_ok(s[: -len(quote)], s, "bybit")
                return _perp(s, "bybit", coin, Settlement.LINEAR, 1.0, 0.001, quote)
        if s.endswith("PERP") and len(s) > 4:  # BTCPERP: USDC perpetual
            coin = _coin_ok(s[:-4], s, "bybit")
            return _perp(s, "bybit", coin, Settlement.LINEAR, 1.0, 0.001, "USDC")
        if s.endswith("USD") and len(s) > 3:
            coin = _coin_ok(s[:-3], s, "bybit")
            return _perp(s, "bybit", coin, Settlement.INVERSE, 1.0, 1.0, coin)
        m = _BYBIT_INVERSE_FUT.match(s)
        if m:
            code, month = m.group(2), _QUARTER_CODES.get(m.group(2))
            if month is None:
                raise _bad(s, "bybit", f"month code {code!r} is not one of H, M, U, Z")
            exp = _last_friday_ns(2000 + int(m.group(3)), month)
            coin = _coin_ok(m.group(1), s, "bybit")
            return _future(s, "bybit", coin, Settlement.INVERSE, 1.0, 1.0, exp)
    raise _bad(s, "bybit")


def _binance(s: str) -> Instrument:
    parts = s.split("-")
    if len(parts) == 4:
        coin = _coin_ok(parts[0], s, "binance")
        return _option(s, "binance", coin, parts, Settlement.LINEAR, 1.0, "USDT")
    if len(parts) == 1:
        if "_" in s:
            pair, tail = s.split("_", 1)
            if pair.endswith("USDT") and len(pair) > 4:  # USD-M quarterly: 1 coin, lot 0.001
                coin = _coin_ok(pair[:-4], s, "binance")
                return _future(s, "binance", coin, Settlement.LINEAR, 1.0, 0.001, tail, "USDT")
            if not pair.endswith("USD") or len(pair) <= 3:
                raise _bad(
                    s,
                    "binance",
                    "COIN-M names look like BTCUSD_PERP, USD-M quarterlies like BTCUSDT_260327",
                )
            coin = _coin_ok(pair[:-3], s, "binance")
            size = 100.0 if coin == "BTC" else 10.0
            if tail == "PERP":
                return _perp(s, "binance", coin, Settlement.INVERSE, size, 1.0, coin)
            return _future(s, "binance", coin, Settlement.INVERSE, size, 1.0, tail)
        for quote in ("USDT", "USDC"):
            if s.endswith(quote) and len(s) > len(quote):
                coin = _coin_ok(s[: -len(quote)], s, "binance")
                return _perp(s, "binance", coin, Settlement.LINEAR, 1.0, 0.001, quote)
    raise _bad(s, "binance")


_PARSERS = {"deribit": _deribit, "okx": _okx, "bybit": _bybit, "binance": _binance}


def parse_instrument(symbol: str, venue: str) -> Instrument:
    """Parse a venue's instrument name into an ``Option``, ``Perpetual``, ``Future`` or ``Spot``.

    Parameters
    ----------
    symbol : str
        The venue's name, e.g. ``"BTC-27MAR26-90000-C"``; case-insensitive.
    venue : str
        ``"deribit"``, ``"okx"``, ``"bybit"`` or ``"binance"``.

    Returns
    -------
    Instrument
        The frozen spec, with the venue's default contract size, lot and tick.

    Raises
    ------
    InvalidInput
        Naming the string and the forms allowed on that venue.
    """
    v = venue.strip().lower()
    if v not in _PARSERS:
        raise InvalidInput(f"unknown venue {venue!r}; allowed: {sorted(_PARSERS)}")
    if not isinstance(symbol, str) or not symbol.strip():
        raise _bad(str(symbol), v, "empty")
    s = symbol.strip().upper()
    if "/" in s:
        base, _, quote = s.partition("/")
        coin = _coin_ok(base, s, v)
        if not re.fullmatch(r"[A-Z]{3,5}", quote):
            raise _bad(s, v, f"spot quote {quote!r} is not a ticker")
        lot = 0.00001 if coin == "BTC" else 0.0001
        return Spot(s, v, coin, Settlement.LINEAR, 1.0, quote, lot, lot, 0.01, quote=quote)
    return _PARSERS[v](s)


def parse_hedge_instrument(symbol: str, venue: str) -> Perpetual | Future | Spot:
    """Like ``parse_instrument``, for a linear hedge: an option name raises ``InvalidInput``."""
    ins = parse_instrument(symbol, venue)
    if isinstance(ins, Option):
        raise InvalidInput(
            f"{venue}:{symbol} is an option; a hedge instrument is a perpetual, future or spot"
        )
    return ins


__all__ = ["FORMS", "parse_hedge_instrument", "parse_instrument"]

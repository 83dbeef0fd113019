"""Deribit instrument names: ``BTC-27MAR26-90000-C`` -> (underlying, expiry, strike, kind).

Deribit options and dated futures expire at 08:00 UTC on the date in their name
(Deribit, "Contract specifications"). Strikes with a decimal part write the point as ``d``
(``XRP_USDC-30JAN26-2d25-C`` is strike 2.25).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from deltahedge.core.errors import DataError

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    )
}
_OPTION = re.compile(
    r"^(?P<und>[A-Z0-9_]+)-(?P<day>\d{1,2})(?P<mon>[A-Z]{3})(?P<yy>\d{2})-(?P<strike>[0-9]+(?:[dD][0-9]+)?)-(?P<kind>[CP])$"
)
_FUTURE = re.compile(
    r"^(?:SYN\.)?(?P<und>[A-Z0-9_]+)-(?P<day>\d{1,2})(?P<mon>[A-Z]{3})(?P<yy>\d{2})$"
)
#: Deribit's expiry hour, UTC.
EXPIRY_HOUR_UTC = 8


def _expiry_ns(day: str, mon: str, yy: str, name: str) -> int:
    month = _MONTHS.get(mon)
    if month is None:
        raise DataError(f"instrument {name!r}: unknown month {mon!r}; expected JAN..DEC")
    try:
        when = datetime(2000 + int(yy), month, int(day), EXPIRY_HOUR_UTC, tzinfo=UTC)
    except ValueError as exc:
        raise DataError(f"instrument {name!r}: invalid expiry date ({exc})") from exc
    return int(when.timestamp()) * 1_000_000_000


def parse_option_name(name: str) -> tuple[str, int, float, int]:
    """Parse a Deribit option name.

    Parameters
    ----------
    name : str
        E.g. ``"BTC-27MAR26-90000-C"`` or ``"XRP_USDC-30JAN26-2d25-P"``.

    Returns
    -------
    (underlying, expiry_ns, strike, kind)
        Coin (``"BTC"``; ``"XRP_USDC"`` for linear USDC options), expiry in UTC ns
        (08:00 UTC), strike in USD, +1 call / -1 put.

    Raises
    ------
    DataError
        If ``name`` is not a Deribit option name.
    """
    m = _OPTION.match(name.strip().upper())
    if m is None:
        raise DataError(
            f"{name!r} is not a Deribit option name; expected UNDERLYING-DMMMYY-STRIKE-C|P "
            "such as 'BTC-27MAR26-90000-C'"
        )
    strike = float(m["strike"].lower().replace("d", "."))
    kind = 1 if m["kind"] == "C" else -1
    return m["und"], _expiry_ns(m["day"], m["mon"], m["yy"], name), strike, kind


def is_option_name(name: str) -> bool:
    """True if ``name`` parses as a Deribit option name."""
    return _OPTION.match(name.strip().upper()) is not None


def parse_future_name(name: str) -> tuple[str, int]:
    """Parse a Deribit dated future or synthetic underlying name.

    Parameters
    ----------
    name : str
        ``"BTC-27MAR26"`` or ``"SYN.BTC-3JAN26"``.

    Returns
    -------
    (underlying, expiry_ns)
        Coin and expiry in UTC ns (08:00 UTC).

    Raises
    ------
    DataError
        If ``name`` is neither (a perpetual such as ``BTC-PERPETUAL`` has no expiry).
    """
    m = _FUTURE.match(name.strip().upper())
    if m is None:
        raise DataError(
            f"{name!r} is not a Deribit dated future name; expected UNDERLYING-DMMMYY "
            "such as 'BTC-27MAR26' or 'SYN.BTC-3JAN26'"
        )
    return m["und"], _expiry_ns(m["day"], m["mon"], m["yy"], name)


def parse_option_names(
    names: npt.ArrayLike,
) -> tuple[
    npt.NDArray[np.object_], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int8]
]:
    """Vectorised :func:`parse_option_name` (each distinct name is parsed once).

    Returns
    -------
    (underlying, expiry_ns, strike, kind) : ndarrays of the input's length
    """
    arr = np.asarray(names, dtype=object)
    uniq, inverse = np.unique(arr, return_inverse=True)
    parsed = [parse_option_name(str(n)) for n in uniq]
    und = np.array([p[0] for p in parsed], dtype=object)[inverse]
    exp = np.array([p[1] for p in parsed], dtype=np.int64)[inverse]
    strike = np.array([p[2] for p in parsed], dtype=np.float64)[inverse]
    kind = np.array([p[3] for p in parsed], dtype=np.int8)[inverse]
    return und, exp, strike, kind


__all__ = [
    "EXPIRY_HOUR_UTC",
    "is_option_name",
    "parse_future_name",
    "parse_option_name",
    "parse_option_names",
]

"""Enumerations and the one parser of option kinds.

``OptionKind`` is an ``IntEnum`` with CALL = +1 and PUT = -1, so ``int(kind)`` is the
sign that appears in the Black-76 formula ``phi * (F N(phi d1) - K N(phi d2))``.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt


class OptionKind(IntEnum):
    """Call (+1) or put (-1)."""

    CALL = 1
    PUT = -1


class Numeraire(StrEnum):
    """What the book is kept neutral in.

    ``USD``: the book's USD value is neutral, so coin collateral is itself a delta.
    ``COIN``: the coin balance is neutral, so premium-adjusted deltas apply.
    """

    USD = "usd"
    COIN = "coin"


class Settlement(StrEnum):
    """Linear contracts settle in the quote currency (USD/USDT); inverse ones in the coin."""

    LINEAR = "linear"
    INVERSE = "inverse"


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is OrderSide.BUY else -1


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    POST_ONLY = "post_only"


class OrderStatus(StrEnum):
    """States of the order state machine; the last four are terminal."""

    NEW = "new"
    ACKED = "acked"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in (
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.REJECTED,
            OrderStatus.EXPIRED,
        )


_KIND_WORDS = {"call": 1, "c": 1, "put": -1, "p": -1}
_ALLOWED = "OptionKind.CALL/PUT, 'call'/'put'/'c'/'p' (any case), +1/-1"


def _one_kind(value: Any) -> int:
    if isinstance(value, OptionKind):
        return int(value)
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"invalid option kind {value!r}; allowed: {_ALLOWED}")
    if isinstance(value, str):
        sign = _KIND_WORDS.get(value.strip().lower())
        if sign is None:
            raise ValueError(f"invalid option kind {value!r}; allowed: {_ALLOWED}")
        return sign
    if isinstance(value, (int, np.integer, float, np.floating)) and value in (1, -1):
        return int(value)
    raise ValueError(f"invalid option kind {value!r}; allowed: {_ALLOWED}")


def parse_kind(kind: Any) -> int | npt.NDArray[np.int8]:
    """Turn an option kind, or an array of them, into +1 (call) / -1 (put).

    Parameters
    ----------
    kind : OptionKind, str, int, or array-like of these
        ``OptionKind.CALL``/``PUT``, ``"call"``/``"put"``/``"c"``/``"p"`` in any case,
        or ``+1``/``-1``.

    Returns
    -------
    int or ndarray of int8
        +1 for calls, -1 for puts, with the input's shape.

    Raises
    ------
    ValueError
        Naming the first value that is not a valid kind.
    """
    if isinstance(kind, (OptionKind, str, int, float, np.integer, np.floating, bool, np.bool_)):
        return _one_kind(kind)
    arr = np.asarray(kind)
    if arr.dtype.kind in "iuf":
        ok = (arr == 1) | (arr == -1)
        if not np.all(ok):
            bad = arr[~ok].ravel()[0]
            raise ValueError(f"invalid option kind {bad!r}; allowed: {_ALLOWED}")
        return arr.astype(np.int8)
    flat = [_one_kind(v) for v in arr.ravel().tolist()]
    return np.asarray(flat, dtype=np.int8).reshape(arr.shape)


__all__ = [
    "Numeraire",
    "OptionKind",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Settlement",
    "TimeInForce",
    "parse_kind",
]

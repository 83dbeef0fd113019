"""Time units: UTC integer nanoseconds, and year fractions ACT/365 on seconds."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

NS_PER_SECOND = 1_000_000_000
SECONDS_PER_YEAR = 365.0 * 86_400.0


def to_ns(when: datetime | str | int | float) -> int:
    """Convert a UTC datetime, an ISO-8601 string or unix seconds to integer nanoseconds.

    Naive datetimes and strings without an offset are taken as UTC.
    """
    if isinstance(when, bool):
        raise TypeError(f"to_ns needs a datetime, ISO string or unix seconds, got {when!r}")
    if isinstance(when, (int, np.integer)):
        return int(when) * NS_PER_SECOND if abs(int(when)) < 10**11 else int(when)
    if isinstance(when, float):
        return round(when * NS_PER_SECOND)
    if isinstance(when, str):
        when = datetime.fromisoformat(when.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return round(when.timestamp() * 1e6) * 1000


def ns_to_datetime(ts_ns: int) -> datetime:
    """Integer nanoseconds to an aware UTC datetime (microsecond resolution)."""
    return datetime.fromtimestamp(ts_ns / NS_PER_SECOND, tz=UTC)


def year_fraction(
    start_ns: int | npt.ArrayLike, end_ns: int | npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Years between two nanosecond timestamps, ACT/365 on seconds (negative if end < start)."""
    start = np.asarray(start_ns, dtype=np.int64)
    end = np.asarray(end_ns, dtype=np.int64)
    return (end - start).astype(np.float64) / (NS_PER_SECOND * SECONDS_PER_YEAR)


__all__ = ["NS_PER_SECOND", "SECONDS_PER_YEAR", "ns_to_datetime", "to_ns", "year_fraction"]

"""Injected clocks: the same engine code runs live (``LiveClock``) and simulated (``SimClock``)."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Tells the time in UTC integer nanoseconds."""

    def now_ns(self) -> int: ...


class LiveClock:
    """Wall-clock time."""

    def now_ns(self) -> int:
        return time.time_ns()


class SimClock:
    """A clock that moves only when told to; for backtests, replays and tests."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = int(start_ns)

    def now_ns(self) -> int:
        return self._now

    def set(self, ts_ns: int) -> None:
        """Move to ``ts_ns``; time never goes backwards."""
        if ts_ns < self._now:
            raise ValueError(f"SimClock cannot go back from {self._now} to {ts_ns} ns")
        self._now = int(ts_ns)

    def advance(self, seconds: float) -> int:
        """Move forward by ``seconds`` (>= 0) and return the new time in ns."""
        if seconds < 0:
            raise ValueError(f"SimClock.advance needs seconds >= 0, got {seconds}")
        self._now += round(seconds * 1e9)
        return self._now


__all__ = ["Clock", "LiveClock", "SimClock"]

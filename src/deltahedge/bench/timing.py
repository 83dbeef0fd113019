"""Timing helpers for benchmarks: best-of-repeats wall time per call."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_time(
    fn: Callable[[], object],
    repeat: int = 7,
    number: int = 1,
    min_time: float = 0.05,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Best wall time in seconds of one call of ``fn`` over ``repeat`` rounds.

    Each round calls ``fn`` at least ``number`` times and for at least ``min_time`` seconds,
    so short calls are timed over many iterations. ``clock=time.process_time`` gives CPU
    time instead (less sensitive to other processes on a busy machine).
    """
    fn()  # warm up (JIT compile, caches)
    best = float("inf")
    for _ in range(repeat):
        n = 0
        t0 = clock()
        while True:
            fn()
            n += 1
            elapsed = clock() - t0
            if n >= number and elapsed >= min_time:
                break
        best = min(best, elapsed / n)
    return best


__all__ = ["best_time"]

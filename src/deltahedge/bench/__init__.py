"""Benchmarks run by ``make bench`` / ``deltahedge bench``.

Each module in ``BENCHMARKS`` has ``run(console, quick) -> None`` and prints Rich tables of
figures and ratios against peers measured in the same run. Timings are never asserted.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from rich.console import Console

#: name -> module; add a module here to have ``make bench`` run it.
BENCHMARKS: dict[str, str] = {
    "pricing": "deltahedge.bench.pricing",
    "marketdata": "deltahedge.bench.marketdata",
    "surface": "deltahedge.bench.surface",
    "portfolio": "deltahedge.bench.portfolio",
    "execution": "deltahedge.bench.execution",
    "store": "deltahedge.bench.store",
    "backtest": "deltahedge.bench.backtest",
    "engine": "deltahedge.bench.engine",
}


def run_benchmarks(names: Sequence[str] | None = None, quick: bool = False) -> None:
    """Run the named benchmarks (all by default), printing their tables."""
    console = Console()
    if not console.is_terminal:  # piped into a file or a log: keep the tables readable
        console = Console(width=max(console.width, 120))
    chosen = list(BENCHMARKS) if names is None else list(names)
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; available: {sorted(BENCHMARKS)}")
    if not chosen:
        console.print("no benchmarks registered yet")
        return
    for name in chosen:
        console.rule(f"[bold]{name}")
        importlib.import_module(BENCHMARKS[name]).run(console, quick)

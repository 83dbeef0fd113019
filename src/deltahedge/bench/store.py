"""Benchmark of the journal and the risk guard.

* Journal: one durable ``record_fill`` (row + event, one commit) on SQLite in WAL mode with
  ``synchronous=FULL`` and ``NORMAL``, and per fill inside a 100-fill batch; the peer is
  the floor, plain ``sqlite3`` inserting one row and committing under the same pragmas.
* Risk guard: ``check_price`` and ``check_intent`` per call, against the engine's whole
  tick-to-decision budget (p50 <= 100 us).
"""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

from deltahedge.bench.timing import best_time
from deltahedge.core import Fill, HedgeIntent, OrderSide, SimClock
from deltahedge.engine.risk_guard import RiskGuard, RiskLimits
from deltahedge.store import Journal

_BUDGET_S = 100e-6


def _fills(prefix: str) -> Iterator[Fill]:
    for n in itertools.count():
        yield Fill(f"{prefix}-{n}", "c", "paper", "BTC-PERPETUAL", OrderSide.BUY, 0.1, 93_000.0,
                   0.01, "USD", n)  # fmt: skip


def _journal_rows(folder: Path, quick: bool) -> list[tuple[str, float, float]]:
    rows = []
    repeat = 3 if quick else 7
    floor: dict[str, float] = {}
    for sync in ("FULL", "NORMAL"):
        raw = sqlite3.connect(folder / f"raw-{sync}.sqlite", isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute(f"PRAGMA synchronous={sync}")
        raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, fill_id TEXT UNIQUE, q REAL)")
        ids = itertools.count()

        def raw_insert(raw: sqlite3.Connection = raw, ids: itertools.count = ids) -> None:
            raw.execute("BEGIN")
            raw.execute("INSERT INTO t (fill_id, q) VALUES (?, ?)", (f"f{next(ids)}", 0.1))
            raw.execute("COMMIT")

        floor[sync] = best_time(raw_insert, repeat=repeat, min_time=0.05)
        raw.close()
        rows.append((f"sqlite3 insert + commit ({sync}) [peer]", floor[sync], 1.0))

        j = Journal(folder / f"j-{sync}.sqlite", synchronous=sync)
        gen = _fills(sync)

        def one(j: Journal = j, gen: Iterator[Fill] = gen) -> None:
            j.record_fill(next(gen))

        t = best_time(one, repeat=repeat, min_time=0.05)
        rows.append((f"Journal.record_fill ({sync})", t, t / floor[sync]))
        if sync == "FULL":

            def batch(j: Journal = j, gen: Iterator[Fill] = _fills("batch")) -> None:
                with j.batch():
                    for _ in range(100):
                        j.record_fill(next(gen))

            tb = best_time(batch, repeat=repeat, min_time=0.05) / 100
            rows.append(("Journal.record_fill in a 100-fill batch (FULL), per fill", tb,
                         tb / floor[sync]))  # fmt: skip
        j.close()
    return rows


def _guard_rows(quick: bool) -> list[tuple[str, float, float]]:
    clock = SimClock(0)
    guard = RiskGuard(RiskLimits(max_notional_per_minute_usd=1e18), clock)
    ts = itertools.count(1)
    guard.check_price("BTC-PERPETUAL", 93_000.0, 0)
    intent = HedgeIntent("i", 0, "BTC", 0.5, "bench")
    repeat = 3 if quick else 7
    tp = best_time(lambda: guard.check_price("BTC-PERPETUAL", 93_000.0, next(ts)), repeat=repeat)
    ti = best_time(lambda: guard.check_intent(intent, "BTC-PERPETUAL", 0.0), repeat=repeat)
    return [
        ("RiskGuard.check_price", tp, tp / _BUDGET_S),
        ("RiskGuard.check_intent", ti, ti / _BUDGET_S),
    ]


def run(console: Console, quick: bool) -> None:
    """Print the journal and risk-guard timings."""
    with tempfile.TemporaryDirectory() as tmp:
        jrows = _journal_rows(Path(tmp), quick)
    table = Table(title="journal: one durable write (SQLite, WAL)")
    table.add_column("operation")
    table.add_column("time per write", justify="right")
    table.add_column("x plain sqlite3", justify="right")
    for name, t, ratio in jrows:
        table.add_row(name, f"{t * 1e6:,.1f} us", f"{ratio:.2f}")
    console.print(table)

    gtable = Table(title="risk guard (pure Python, per call)")
    gtable.add_column("operation")
    gtable.add_column("time per call", justify="right")
    gtable.add_column("share of the 100 us tick-to-decision budget", justify="right")
    for name, t, share in _guard_rows(quick):
        gtable.add_row(name, f"{t * 1e6:,.2f} us", f"{share:.1%}")
    console.print(gtable)


__all__ = ["run"]

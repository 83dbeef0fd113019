"""Crash safety of the journal: SIGKILL a writer at random points, restart, check consistency.

The writer (``crash_writer.py``) acknowledges each durable write on stdout. After every
kill the journal must hold every acknowledged record exactly once, no half-written record,
no order without its intent (intents are written first), and the orders in flight must be
exactly recoverable; the restarted writer settles them and carries on.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import deltahedge
from deltahedge.core import client_order_id
from deltahedge.store import Journal
from deltahedge.store import schema as S

WRITER = Path(__file__).with_name("crash_writer.py")
KILLS = {"sqlite": 20, "postgresql": 5}  # PostgreSQL connections start slower
SEED = 20260101


def _env() -> dict[str, str]:
    src = str(Path(deltahedge.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run_until_killed(db: str, n_acks: int, delay_s: float) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), db],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stdout is not None
    acks: list[str] = []
    try:
        while len(acks) < n_acks:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(
                    f"writer died early: {proc.stderr.read() if proc.stderr else ''}"
                )
            acks.append(line.strip())
        time.sleep(delay_s)  # land the kill somewhere inside the next writes
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return acks


def _count(conn: sa.Connection, table: sa.Table, where=None) -> int:
    q = sa.select(sa.func.count()).select_from(table)
    if where is not None:
        q = q.where(where)
    return int(conn.execute(q).scalar_one())


def _check_consistent(db: str, acked: dict[str, set[int]]) -> None:
    j = Journal(db)
    with j.engine.connect() as conn:
        if j.dialect == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        # Every acknowledged fill is there exactly once (and so are intents and orders).
        fill_ids = list(conn.execute(sa.select(S.fills.c.fill_id)).scalars())
        assert len(fill_ids) == len(set(fill_ids))
        assert {f"f-{n}" for n in acked["F"]} <= set(fill_ids)
        intents = set(conn.execute(sa.select(S.intents.c.intent_id)).scalars())
        assert {f"int-{n}" for n in acked["I"]} <= intents
        orders = set(conn.execute(sa.select(S.orders.c.client_order_id)).scalars())
        assert {client_order_id(f"int-{n}") for n in acked["O"]} <= orders
        # No half-written records: each typed row and its event were committed together.
        assert _count(conn, S.events, S.events.c.kind == "fill") == _count(conn, S.fills)
        assert _count(conn, S.events, S.events.c.kind == "intent") == _count(conn, S.intents)
        assert _count(conn, S.events, S.events.c.kind == "order") == _count(conn, S.orders)
        assert _count(conn, S.events, S.events.c.kind == "order_update") == _count(
            conn, S.order_updates
        )
        for payload in conn.execute(sa.select(S.events.c.payload)).scalars():
            json.loads(payload)
        # Intents are written before their orders; fills belong to journaled orders.
        orphan_orders = ~S.orders.c.intent_id.in_(sa.select(S.intents.c.intent_id))
        assert _count(conn, S.orders, orphan_orders) == 0
        orphan_fills = ~S.fills.c.client_order_id.in_(sa.select(S.orders.c.client_order_id))
        assert _count(conn, S.fills, orphan_fills) == 0
    # In flight: only orders whose final update was never acknowledged; each recoverable.
    for o in j.in_flight_orders():
        n = int(o.request.intent_id.split("-")[1])
        assert n not in acked["U"]
        assert o.request.client_order_id == client_order_id(o.request.intent_id)
    j.close()


@pytest.mark.slow
def test_writer_killed_20_times_journal_stays_consistent(db_url: str) -> None:
    rng = random.Random(SEED)
    acked: dict[str, set[int]] = {k: set() for k in "RIOFUD"}
    kills = KILLS["postgresql" if db_url.startswith("postgresql") else "sqlite"]
    for _ in range(kills):
        for line in _run_until_killed(db_url, rng.randint(2, 16), rng.uniform(0.0, 0.004)):
            kind, n = line.split()
            acked[kind].add(int(n))
        _check_consistent(db_url, acked)
    assert len(acked["D"]) > 0  # duplicates were exercised (and recognised) along the way

    # A last restart settles everything in flight; then every order has exactly one fill.
    out = subprocess.run(
        [sys.executable, str(WRITER), db_url, "--finish"],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )
    assert out.stdout.startswith("R ")
    j = Journal(db_url)
    assert j.in_flight_orders() == []
    with j.engine.connect() as conn:
        n_orders = _count(conn, S.orders)
        n_fills = _count(conn, S.fills)
        distinct = conn.execute(sa.select(sa.func.count(sa.distinct(S.fills.c.fill_id)))).scalar()
    assert n_fills == n_orders == distinct  # one fill per order, no fill twice
    assert n_orders >= len(acked["O"])
    # Intents killed before their order was written stay unsent (never sent later either).
    unsent = j.intents_without_orders()
    assert all(int(i.split("-")[1]) not in acked["O"] for i in unsent)
    (pos,) = j.positions_from_fills().values()
    assert pos == 0.5 * n_fills  # every fill is a 0.5-contract buy
    j.close()

"""The journal: every intent, order, fill and snapshot, durably, before it matters.

A ``Journal`` writes through SQLAlchemy Core to SQLite (WAL mode, the default; a file in
the user's data folder or the path given) or to PostgreSQL (``postgresql+psycopg://...``).
Each ``record_*`` call is one transaction, committed before it returns, so a process killed
with SIGKILL loses nothing that was acknowledged; ``Journal.batch()`` groups several calls
into one transaction when the caller wants fewer commits (nothing in the batch is durable
until the ``with`` block exits).

Every record goes to two places in the same transaction: the append-only ``events`` log
and its typed table (see ``deltahedge.store.schema``).

The journal is synchronous and meant to be called from one thread (the engine's loop);
a commit costs one fsync on SQLite (tens of microseconds to a few milliseconds).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from deltahedge.core.clock import Clock, LiveClock
from deltahedge.core.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from deltahedge.core.errors import InvalidInput
from deltahedge.core.events import Fill, HedgeIntent, OrderRequest, OrderUpdate
from deltahedge.core.ids import new_id
from deltahedge.store import schema as S
from deltahedge.store.redact import redact_secrets

_TERMINAL = tuple(s.value for s in OrderStatus if s.is_terminal)


class DuplicateRecord(InvalidInput):
    """An intent or order id is already journaled: the same hedge must not be sent twice."""


def default_journal_path() -> Path:
    """Where the default SQLite journal lives: ``$XDG_DATA_HOME/deltahedge/journal.sqlite``.

    ``$DELTAHEDGE_DATA_DIR`` overrides the folder; without ``$XDG_DATA_HOME`` the folder is
    ``~/.local/share/deltahedge``.
    """
    base = os.environ.get("DELTAHEDGE_DATA_DIR")
    if base:
        return Path(base) / "journal.sqlite"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "deltahedge" / "journal.sqlite"


def journal_url(target: str | Path | None = None) -> str:
    """Turn a path, a URL or nothing into a SQLAlchemy URL.

    Parameters
    ----------
    target : str, Path or None
        ``None``: the default SQLite file (``default_journal_path``). A string with
        ``://``: a URL (``postgresql://`` and ``postgres://`` get the psycopg 3 driver).
        Anything else: a SQLite file path.

    Returns
    -------
    str
        A URL SQLAlchemy accepts, e.g. ``sqlite:////home/me/.local/share/deltahedge/journal.sqlite``.
    """
    if target is None:
        target = default_journal_path()
    text = str(target)
    if "://" in text:
        for plain in ("postgresql://", "postgres://"):
            if text.startswith(plain):
                return "postgresql+psycopg://" + text[len(plain) :]
        return text
    path = Path(text).expanduser().resolve()
    return f"sqlite:///{path}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "model_dump") and not isinstance(value, type):  # pydantic models
        return _jsonable(value.model_dump(mode="python"))
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def to_json(value: Any) -> str:
    """Serialise an event, a mapping or a scalar to compact JSON (enums as their values)."""
    return json.dumps(_jsonable(value), separators=(",", ":"), sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class JournaledOrder:
    """An order as the journal knows it: the request and its last recorded state."""

    request: OrderRequest
    status: OrderStatus
    filled_quantity: float
    venue_order_id: str
    updated_ns: int


def _order_from_row(row: Any) -> JournaledOrder:
    req = OrderRequest(
        client_order_id=row.client_order_id,
        venue=row.venue,
        instrument=row.instrument,
        side=OrderSide(row.side),
        quantity=float(row.quantity),
        order_type=OrderType(row.order_type),
        price=None if row.price is None else float(row.price),
        time_in_force=TimeInForce(row.time_in_force),
        reduce_only=bool(row.reduce_only),
        intent_id=row.intent_id,
        ts_ns=int(row.ts_ns),
    )
    return JournaledOrder(
        request=req,
        status=OrderStatus(row.status),
        filled_quantity=float(row.filled_quantity),
        venue_order_id=row.venue_order_id,
        updated_ns=int(row.updated_ns),
    )


def _fill_from_row(row: Any) -> Fill:
    return Fill(
        fill_id=row.fill_id,
        client_order_id=row.client_order_id,
        venue=row.venue,
        instrument=row.instrument,
        side=OrderSide(row.side),
        quantity=float(row.quantity),
        price=float(row.price),
        fee=float(row.fee),
        fee_currency=row.fee_currency,
        ts_ns=int(row.ts_ns),
        liquidity=row.liquidity,
    )


class Journal:
    """Durable record of a hedging engine's decisions, orders and fills.

    Parameters
    ----------
    target : str, Path or None
        SQLite path, SQLAlchemy URL (``sqlite:///...``, ``postgresql+psycopg://...``) or
        None for the default SQLite file (see ``journal_url``).
    clock : Clock, optional
        Stamps records that carry no time of their own (runs, rejections, kill switch);
        ``LiveClock`` by default.
    synchronous : {"FULL", "NORMAL"}
        SQLite's ``synchronous`` pragma. Both survive a killed process in WAL mode;
        ``FULL`` (default) also survives a power cut.

    Examples
    --------
    >>> j = Journal("/tmp/j.sqlite")                    # doctest: +SKIP
    >>> j.record_intent(intent); j.record_order(req)    # doctest: +SKIP
    >>> j.record_fill(fill)  # True the first time, False for a duplicate  # doctest: +SKIP
    """

    def __init__(
        self,
        target: str | Path | None = None,
        *,
        clock: Clock | None = None,
        synchronous: str = "FULL",
    ) -> None:
        if synchronous.upper() not in ("FULL", "NORMAL"):
            raise InvalidInput(f"synchronous={synchronous!r}; allowed: 'FULL', 'NORMAL'")
        self.url = journal_url(target)
        self.clock: Clock = clock or LiveClock()
        self.run_id: str | None = None
        self._batch: Connection | None = None
        self.engine: Engine = self._make_engine(self.url, synchronous.upper())
        S.metadata.create_all(self.engine)

    @staticmethod
    def _make_engine(url: str, synchronous: str) -> Engine:
        if url.startswith("sqlite"):
            db = sa.engine.make_url(url).database
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": 30})

            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={synchronous}")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

            return engine
        return sa.create_engine(url, pool_pre_ping=True)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Release the connections (the data is already committed)."""
        self.engine.dispose()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        if self._batch is not None:
            yield self._batch
            return
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def batch(self) -> Iterator[Journal]:
        """Group the records made inside the ``with`` block into one transaction.

        Nothing inside is durable until the block exits without an exception; on an
        exception everything inside is rolled back.
        """
        if self._batch is not None:
            yield self
            return
        with self.engine.begin() as conn:
            self._batch = conn
            try:
                yield self
            finally:
                self._batch = None

    def _event(self, conn: Connection, ts_ns: int, kind: str, key: str, payload: Any) -> None:
        conn.execute(
            S.events.insert().values(
                ts_ns=int(ts_ns),
                run_id=self.run_id,
                kind=kind,
                key=key[:128],
                payload=payload if isinstance(payload, str) else to_json(payload),
            )
        )

    @contextmanager
    def _unique(self, what: str, ident: str) -> Iterator[None]:
        try:
            yield
        except sa.exc.IntegrityError as exc:
            raise DuplicateRecord(
                f"{what} {ident!r} is already in the journal; an {what} is recorded once "
                "and never sent twice (derive a new id for a new attempt)"
            ) from exc

    def _insert_ignore(self, table: sa.Table, index: list[str]) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing(index_elements=index)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing(index_elements=index)

    # ------------------------------------------------------------------ writers
    def record_run(self, config: Any, run_id: str | None = None) -> str:
        """Record the start of a run and its configuration (secrets masked); return run id.

        Parameters
        ----------
        config : pydantic model, dataclass or mapping
            The run's configuration. ``SecretStr`` values and keys that look like secrets
            are replaced by ``"***"`` before anything is written.
        run_id : str, optional
            Defaults to a fresh ``run-...`` id. Later events are tagged with it.
        """
        payload = to_json(redact_secrets(_jsonable(config)))
        rid = run_id or new_id("run")
        ts = self.clock.now_ns()
        self.run_id = rid
        with self._tx() as conn:
            conn.execute(S.runs.insert().values(run_id=rid, started_ns=ts, config=payload))
            self._event(conn, ts, "run", rid, payload)
        return rid

    def record_intent(self, intent: HedgeIntent) -> None:
        """Record a hedge intent. Call before sending any of its orders."""
        payload = to_json(intent)
        with self._tx() as conn, self._unique("intent", intent.intent_id):
            conn.execute(
                S.intents.insert().values(
                    intent_id=intent.intent_id,
                    ts_ns=intent.ts_ns,
                    run_id=self.run_id,
                    underlying=intent.underlying,
                    delta_coin=float(intent.delta_coin),
                    policy=intent.policy,
                    reason=intent.reason,
                    instrument=intent.instrument,
                    quantity=intent.quantity,
                    payload=payload,
                )
            )
            self._event(conn, intent.ts_ns, "intent", intent.intent_id, payload)

    def record_order(self, req: OrderRequest) -> None:
        """Record an order request with status ``new``. Call before sending it."""
        ts = req.ts_ns or self.clock.now_ns()
        with self._tx() as conn, self._unique("order", req.client_order_id):
            conn.execute(
                S.orders.insert().values(
                    client_order_id=req.client_order_id,
                    intent_id=req.intent_id,
                    venue=req.venue,
                    instrument=req.instrument,
                    side=req.side.value,
                    quantity=float(req.quantity),
                    order_type=req.order_type.value,
                    price=req.price,
                    time_in_force=req.time_in_force.value,
                    reduce_only=req.reduce_only,
                    ts_ns=ts,
                    status=OrderStatus.NEW.value,
                    filled_quantity=0.0,
                    venue_order_id="",
                    updated_ns=ts,
                )
            )
            self._event(conn, ts, "order", req.client_order_id, req)

    def record_order_update(self, upd: OrderUpdate) -> OrderStatus | None:
        """Append a status transition and move the order's last state forward.

        A terminal state (filled, cancelled, rejected, expired) is never overwritten by a
        later, out-of-order non-terminal update; the cumulative filled quantity never goes
        down. Returns the order's status after the update, or None if the journal has no
        such order (the update is still appended).
        """
        with self._tx() as conn:
            conn.execute(
                S.order_updates.insert().values(
                    client_order_id=upd.client_order_id,
                    venue=upd.venue,
                    status=upd.status.value,
                    filled_quantity=float(upd.filled_quantity),
                    ts_ns=upd.ts_ns,
                    venue_order_id=upd.venue_order_id,
                    message=upd.message,
                )
            )
            self._event(conn, upd.ts_ns, "order_update", upd.client_order_id, upd)
            row = conn.execute(
                sa.select(S.orders.c.status, S.orders.c.filled_quantity).where(
                    S.orders.c.client_order_id == upd.client_order_id
                )
            ).first()
            if row is None:
                return None
            current = OrderStatus(row.status)
            new = current if current.is_terminal and not upd.status.is_terminal else upd.status
            if current.is_terminal and upd.status.is_terminal:
                new = current  # the first terminal state reported wins
            filled = max(float(row.filled_quantity), float(upd.filled_quantity))
            values: dict[str, Any] = {
                "status": new.value,
                "filled_quantity": filled,
                "updated_ns": upd.ts_ns,
            }
            if upd.venue_order_id:
                values["venue_order_id"] = upd.venue_order_id
            conn.execute(
                S.orders.update()
                .where(S.orders.c.client_order_id == upd.client_order_id)
                .values(**values)
            )
            return new

    def record_fill(self, fill: Fill) -> bool:
        """Record a fill once; return True if new, False if ``(venue, fill_id)`` was known.

        A duplicate (a venue resending a fill, or a fill imported again on recovery) writes
        nothing: no row and no event.
        """
        payload = to_json(fill)
        stmt = self._insert_ignore(S.fills, ["venue", "fill_id"]).values(
            venue=fill.venue,
            fill_id=fill.fill_id,
            client_order_id=fill.client_order_id,
            instrument=fill.instrument,
            side=fill.side.value,
            quantity=float(fill.quantity),
            price=float(fill.price),
            fee=float(fill.fee),
            fee_currency=fill.fee_currency,
            ts_ns=fill.ts_ns,
            liquidity=fill.liquidity,
        )
        with self._tx() as conn:
            # RETURNING tells reliably on both dialects whether a row went in (rowcount does
            # not when the driver already adds an implicit RETURNING).
            inserted = conn.execute(stmt.returning(S.fills.c.seq)).first() is not None
            if inserted:
                self._event(conn, fill.ts_ns, "fill", f"{fill.venue}:{fill.fill_id}", payload)
        return inserted

    def record_positions(self, ts_ns: int, venue: str, positions: Mapping[str, float]) -> None:
        """Snapshot a venue's positions: instrument -> signed contracts."""
        rows = [
            {"ts_ns": ts_ns, "venue": venue, "instrument": k, "quantity": float(v)}
            for k, v in positions.items()
        ]
        with self._tx() as conn:
            if rows:
                conn.execute(S.position_snapshots.insert(), rows)
            self._event(conn, ts_ns, "positions", venue, dict(positions))

    def record_greeks(
        self,
        ts_ns: int,
        underlying: str,
        *,
        delta: float,
        gamma: float = 0.0,
        vega: float = 0.0,
        theta: float = 0.0,
        extra: Mapping[str, float] | None = None,
    ) -> None:
        """Snapshot the book's Greeks for one underlying.

        Parameters
        ----------
        ts_ns : int
            UTC ns.
        underlying : str
            e.g. ``"BTC"``.
        delta, gamma, vega, theta : float
            Book Greeks: delta in coin, gamma in coin per USD, vega in USD per 1.00 vol,
            theta in USD per year (the kernels' units, see DESIGN.md).
        extra : mapping, optional
            Anything else worth keeping (band, delta in USD, ...).
        """
        extra_json = to_json(dict(extra or {}))
        with self._tx() as conn:
            conn.execute(
                S.greeks_snapshots.insert().values(
                    ts_ns=ts_ns,
                    underlying=underlying,
                    delta=float(delta),
                    gamma=float(gamma),
                    vega=float(vega),
                    theta=float(theta),
                    extra=extra_json,
                )
            )
            payload = {"delta": delta, "gamma": gamma, "vega": vega, "theta": theta}
            payload.update(dict(extra or {}))
            self._event(conn, ts_ns, "greeks", underlying, payload)

    def record_rejected(self, reason: str, payload: Any = None, ts_ns: int | None = None) -> int:
        """Count one rejected input under ``reason`` and log it; return the new count."""
        ts = self.clock.now_ns() if ts_ns is None else ts_ns
        table = S.rejected_inputs
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as ins
        else:
            from sqlalchemy.dialects.sqlite import insert as ins  # type: ignore[assignment]
        stmt = ins(table).values(reason=reason, count=1, last_ts_ns=ts)
        stmt = stmt.on_conflict_do_update(
            index_elements=["reason"],
            set_={"count": table.c["count"] + 1, "last_ts_ns": ts},
        )
        with self._tx() as conn:
            conn.execute(stmt)
            self._event(conn, ts, "rejected", reason, {"reason": reason, "input": payload})
            count = conn.execute(
                sa.select(table.c["count"]).where(table.c.reason == reason)
            ).scalar_one()
        return int(count)

    def record_event(self, kind: str, key: str, payload: Any, ts_ns: int | None = None) -> None:
        """Append a free-form event (kill switch changes, alerts, reconciliation reports)."""
        ts = self.clock.now_ns() if ts_ns is None else ts_ns
        with self._tx() as conn:
            self._event(conn, ts, kind, key, redact_secrets(_jsonable(payload)))

    # ------------------------------------------------------------------ readers
    def in_flight_orders(self, venue: str | None = None) -> list[JournaledOrder]:
        """Orders whose last recorded state is not terminal (new, acked, partially filled).

        These may have reached the venue: on restart ask the venue about each one
        (``reconcile``) and never send them, or their intent, again.
        """
        q = sa.select(S.orders).where(S.orders.c.status.not_in(_TERMINAL))
        if venue is not None:
            q = q.where(S.orders.c.venue == venue)
        with self.engine.connect() as conn:
            return [_order_from_row(r) for r in conn.execute(q.order_by(S.orders.c.ts_ns))]

    def order(self, client_order_id: str) -> JournaledOrder | None:
        """The journal's view of one order, or None."""
        q = sa.select(S.orders).where(S.orders.c.client_order_id == client_order_id)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return None if row is None else _order_from_row(row)

    def fills(self, venue: str | None = None, since_ns: int | None = None) -> list[Fill]:
        """Fills in the order they were recorded, optionally of one venue and since a time."""
        q = sa.select(S.fills)
        if venue is not None:
            q = q.where(S.fills.c.venue == venue)
        if since_ns is not None:
            q = q.where(S.fills.c.ts_ns >= since_ns)
        with self.engine.connect() as conn:
            return [_fill_from_row(r) for r in conn.execute(q.order_by(S.fills.c.seq))]

    def has_fill(self, venue: str, fill_id: str) -> bool:
        """Whether ``(venue, fill_id)`` is already journaled."""
        q = sa.select(sa.literal(1)).where(
            (S.fills.c.venue == venue) & (S.fills.c.fill_id == fill_id)
        )
        with self.engine.connect() as conn:
            return conn.execute(q).first() is not None

    def positions_from_fills(self, venue: str | None = None) -> dict[tuple[str, str], float]:
        """Net signed contracts per ``(venue, instrument)``, summed over journaled fills."""
        signed = sa.case(
            (S.fills.c.side == OrderSide.BUY.value, S.fills.c.quantity), else_=-S.fills.c.quantity
        )
        q = sa.select(S.fills.c.venue, S.fills.c.instrument, sa.func.sum(signed)).group_by(
            S.fills.c.venue, S.fills.c.instrument
        )
        if venue is not None:
            q = q.where(S.fills.c.venue == venue)
        with self.engine.connect() as conn:
            return {(v, i): float(qty) for v, i, qty in conn.execute(q)}

    def intents_without_orders(self) -> list[str]:
        """Intent ids with no order journaled: nothing of them was sent, so nothing is in flight."""
        q = (
            sa.select(S.intents.c.intent_id)
            .where(~sa.exists().where(S.orders.c.intent_id == S.intents.c.intent_id))
            .order_by(S.intents.c.ts_ns)
        )
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(q)]

    def rejected_counts(self) -> dict[str, int]:
        """Rejected inputs counted by reason."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(S.rejected_inputs.c.reason, S.rejected_inputs.c["count"]))
            return {r: int(c) for r, c in rows}

    def events(
        self, kinds: list[str] | None = None, since_ns: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Events in order (``seq``), as dicts with the payload decoded from JSON."""
        q = sa.select(S.events)
        if kinds:
            q = q.where(S.events.c.kind.in_(kinds))
        if since_ns is not None:
            q = q.where(S.events.c.ts_ns >= since_ns)
        q = q.order_by(S.events.c.seq)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            out = []
            for r in conn.execute(q):
                d = dict(r._mapping)
                d["payload"] = json.loads(d["payload"])
                out.append(d)
            return out


__all__ = [
    "DuplicateRecord",
    "Journal",
    "JournaledOrder",
    "default_journal_path",
    "journal_url",
    "to_json",
]

"""Tables of the journal (SQLAlchemy Core), the same on SQLite and PostgreSQL.

``events`` is the append-only log of everything recorded, in order (``seq``); the typed
tables beside it hold the same facts in a shape that is easy to query and recover from:

========================  ===========================================================
table                     what one row is
========================  ===========================================================
``events``                any record: ``seq, ts_ns, run_id, kind, key, payload`` (JSON)
``runs``                  one engine run and its configuration (secrets redacted)
``intents``               a HedgeIntent, written before any of its orders is sent
``orders``                an OrderRequest, its *last* known status and the order
                          manager's leg / attempt bookkeeping
``order_updates``         every status transition of an order, appended
``fills``                 one execution; ``(venue, fill_id)`` is unique
``position_snapshots``    a venue's position in one instrument at a time
``greeks_snapshots``      the book's Greeks for one underlying at a time
``rejected_inputs``       how many inputs were rejected, by reason
========================  ===========================================================

Timestamps are UTC integer nanoseconds (BIGINT); quantities are contracts, signed where
the column says so; prices are in the instrument's quote currency.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit sequence.
_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", _Seq, primary_key=True, autoincrement=True),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("run_id", sa.String(64), nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("key", sa.String(128), nullable=False, default=""),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Index("ix_events_kind_ts", "kind", "ts_ns"),
    sa.Index("ix_events_ts", "ts_ns"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("started_ns", sa.BigInteger, nullable=False),
    sa.Column("config", sa.Text, nullable=False),
)

intents = sa.Table(
    "intents",
    metadata,
    sa.Column("intent_id", sa.String(64), primary_key=True),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("run_id", sa.String(64), nullable=True),
    sa.Column("underlying", sa.String(32), nullable=False),
    sa.Column("delta_coin", sa.Double, nullable=False),
    sa.Column("policy", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("instrument", sa.String(64), nullable=True),
    sa.Column("quantity", sa.Double, nullable=True),
    sa.Column("payload", sa.Text, nullable=False),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("client_order_id", sa.String(64), primary_key=True),
    sa.Column("intent_id", sa.String(64), nullable=False),
    sa.Column("venue", sa.String(64), nullable=False),
    sa.Column("instrument", sa.String(64), nullable=False),
    sa.Column("side", sa.String(8), nullable=False),
    sa.Column("quantity", sa.Double, nullable=False),
    sa.Column("order_type", sa.String(16), nullable=False),
    sa.Column("price", sa.Double, nullable=True),
    sa.Column("time_in_force", sa.String(16), nullable=False),
    sa.Column("reduce_only", sa.Boolean, nullable=False),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("filled_quantity", sa.Double, nullable=False, default=0.0),
    sa.Column("venue_order_id", sa.String(128), nullable=False, default=""),
    sa.Column("updated_ns", sa.BigInteger, nullable=False),
    # The order manager's bookkeeping (deltahedge.execution.journal.OrderRecord):
    sa.Column("leg", sa.Integer, nullable=False, default=0),
    sa.Column("attempt", sa.Integer, nullable=False, default=0),
    sa.Column("leg_target", sa.Double, nullable=False),
    sa.Column("confirmed", sa.Boolean, nullable=False, default=False),
    sa.Column("avg_price", sa.Double, nullable=False, default=0.0),
    sa.Index("ix_orders_status", "status"),
)

order_updates = sa.Table(
    "order_updates",
    metadata,
    sa.Column("seq", _Seq, primary_key=True, autoincrement=True),
    sa.Column("client_order_id", sa.String(64), nullable=False, index=True),
    sa.Column("venue", sa.String(64), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("filled_quantity", sa.Double, nullable=False),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("venue_order_id", sa.String(128), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)

fills = sa.Table(
    "fills",
    metadata,
    sa.Column("seq", _Seq, primary_key=True, autoincrement=True),
    sa.Column("venue", sa.String(64), nullable=False),
    sa.Column("fill_id", sa.String(128), nullable=False),
    sa.Column("client_order_id", sa.String(64), nullable=False, index=True),
    sa.Column("instrument", sa.String(64), nullable=False),
    sa.Column("side", sa.String(8), nullable=False),
    sa.Column("quantity", sa.Double, nullable=False),
    sa.Column("price", sa.Double, nullable=False),
    sa.Column("fee", sa.Double, nullable=False),
    sa.Column("fee_currency", sa.String(16), nullable=False),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("liquidity", sa.String(8), nullable=False),
    sa.UniqueConstraint("venue", "fill_id", name="uq_fills_venue_fill_id"),
)

position_snapshots = sa.Table(
    "position_snapshots",
    metadata,
    sa.Column("seq", _Seq, primary_key=True, autoincrement=True),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("venue", sa.String(64), nullable=False),
    sa.Column("instrument", sa.String(64), nullable=False),
    sa.Column("quantity", sa.Double, nullable=False),
)

greeks_snapshots = sa.Table(
    "greeks_snapshots",
    metadata,
    sa.Column("seq", _Seq, primary_key=True, autoincrement=True),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("underlying", sa.String(32), nullable=False),
    sa.Column("delta", sa.Double, nullable=False),
    sa.Column("gamma", sa.Double, nullable=False),
    sa.Column("vega", sa.Double, nullable=False),
    sa.Column("theta", sa.Double, nullable=False),
    sa.Column("extra", sa.Text, nullable=False),
)

rejected_inputs = sa.Table(
    "rejected_inputs",
    metadata,
    sa.Column("reason", sa.String(64), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("last_ts_ns", sa.BigInteger, nullable=False),
)

#: Tables by the name ``journal show/export --table`` accepts.
TABLES: dict[str, sa.Table] = {
    "events": events,
    "runs": runs,
    "intents": intents,
    "orders": orders,
    "order_updates": order_updates,
    "fills": fills,
    "positions": position_snapshots,
    "greeks": greeks_snapshots,
    "rejected": rejected_inputs,
}

__all__ = [
    "TABLES",
    "events",
    "fills",
    "greeks_snapshots",
    "intents",
    "metadata",
    "order_updates",
    "orders",
    "position_snapshots",
    "rejected_inputs",
    "runs",
]

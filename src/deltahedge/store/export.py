"""Read journal tables as rows or DataFrames, and export them to CSV or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from deltahedge.core.errors import InvalidInput
from deltahedge.core.units import ns_to_datetime
from deltahedge.store import schema as S
from deltahedge.store.journal import Journal

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("csv", "parquet")
_TIME_COLUMNS = ("ts_ns", "started_ns", "last_ts_ns")


def _table(name: str) -> sa.Table:
    table = S.TABLES.get(name)
    if table is None:
        raise InvalidInput(f"unknown journal table {name!r}; allowed: {', '.join(S.TABLES)}")
    return table


def read_rows(
    journal: Journal,
    table: str = "events",
    *,
    kinds: list[str] | None = None,
    since_ns: int | None = None,
    last: int | None = None,
) -> list[dict[str, Any]]:
    """Rows of one journal table, oldest first.

    Parameters
    ----------
    journal : Journal
    table : str
        One of ``deltahedge.store.schema.TABLES`` (events, runs, intents, orders,
        order_updates, fills, positions, greeks, rejected).
    kinds : list of str, optional
        Event kinds to keep (``events`` table only), e.g. ``["fill", "intent"]``.
    since_ns : int, optional
        Keep rows at or after this UTC ns time.
    last : int, optional
        Keep only the last ``last`` rows.

    Returns
    -------
    list of dict
        Column -> value, plus ``time`` (ISO-8601 UTC) where the table has a timestamp.
    """
    t = _table(table)
    q = sa.select(t)
    if kinds:
        if "kind" not in t.c:
            raise InvalidInput(f"--kind filters the events table only, not {table!r}")
        q = q.where(t.c.kind.in_(kinds))
    tcol = next((t.c[c] for c in _TIME_COLUMNS if c in t.c), None)
    if since_ns is not None and tcol is not None:
        q = q.where(tcol >= since_ns)
    order = list(t.primary_key.columns)
    if last is not None:
        q = q.order_by(*(c.desc() for c in order)).limit(last)
    else:
        q = q.order_by(*order)
    with journal.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
    if last is not None:
        rows.reverse()
    if tcol is not None:
        for r in rows:
            r["time"] = ns_to_datetime(int(r[tcol.name])).isoformat()
    return rows


def table_columns(table: str) -> list[str]:
    """Column names of a journal table, with ``time`` first where it has a timestamp."""
    cols = [c.name for c in _table(table).columns]
    return (["time"] if any(c in cols for c in _TIME_COLUMNS) else []) + cols


def to_frame(rows: list[dict[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    """Rows as a pandas DataFrame (``time`` first when present); ``columns`` if empty."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=columns) if not rows else pd.DataFrame(rows)
    if "time" in frame.columns:
        frame = frame[["time", *[c for c in frame.columns if c != "time"]]]
    return frame


def export_rows(
    rows: list[dict[str, Any]],
    path: str | Path,
    fmt: str | None = None,
    columns: list[str] | None = None,
) -> Path:
    """Write rows to CSV or Parquet; ``fmt`` defaults to the file's suffix (else CSV)."""
    p = Path(path)
    fmt = (fmt or p.suffix.lstrip(".") or "csv").lower()
    if fmt not in FORMATS:
        raise InvalidInput(f"export format {fmt!r}; allowed: {', '.join(FORMATS)}")
    frame = to_frame(rows, columns)
    p.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.to_csv(p, index=False)
    else:
        frame.to_parquet(p, index=False)
    return p


__all__ = ["FORMATS", "export_rows", "read_rows", "table_columns", "to_frame"]

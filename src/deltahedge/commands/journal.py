"""``deltahedge journal show|export``: read what an engine journaled."""

from __future__ import annotations

from pathlib import Path

import typer

_TABLES = "events, runs, intents, orders, order_updates, fills, positions, greeks, rejected"
_DB_HELP = (
    "Journal: a SQLite file path or a URL (sqlite:///..., postgresql://user@host/db). "
    "Default: the SQLite journal in the user data folder ($DELTAHEDGE_DATA_DIR, "
    "else $XDG_DATA_HOME/deltahedge or ~/.local/share/deltahedge)."
)
_SINCE_HELP = "Only rows at or after this time: ISO-8601 UTC (2026-01-01T12:00) or unix seconds."

journal_app = typer.Typer(
    help=(
        "Read the journal: every intent, order, order update, fill, snapshot and run "
        "configuration an engine recorded.\n\n"
        "Examples:\n\n"
        "  deltahedge journal show --kind fill --since 2026-01-01\n\n"
        "  deltahedge journal show --table orders --db postgresql://me@localhost/dh\n\n"
        "  deltahedge journal export --table fills --format parquet -o fills.parquet\n\n"
        "  deltahedge journal kill-switch freeze --reason 'venue incident'"
    ),
    no_args_is_help=True,
)


def _since_ns(since: str | None) -> int | None:
    if not since:
        return None
    from deltahedge.core.units import to_ns

    try:
        return to_ns(float(since)) if since.replace(".", "", 1).isdigit() else to_ns(since)
    except ValueError:
        raise typer.BadParameter(
            f"{since!r} is not a time; allowed: ISO-8601 (2026-01-01T12:00:00Z) or unix seconds",
            param_hint="--since",
        ) from None


def _open(db: str | None):  # -> Journal
    from deltahedge.store import Journal, default_journal_path

    if db is None and not default_journal_path().exists():
        raise typer.BadParameter(
            f"no journal at the default place {default_journal_path()}; pass --db",
            param_hint="--db",
        )
    if db is not None and "://" not in db and not Path(db).exists():
        raise typer.BadParameter(f"no journal file at {db}", param_hint="--db")
    return Journal(db)


def _rows(db: str | None, table: str, kind: list[str] | None, since: str | None, last=None):
    from deltahedge.core.errors import InvalidInput
    from deltahedge.store.export import read_rows

    journal = _open(db)
    try:
        return read_rows(journal, table, kinds=kind or None, since_ns=_since_ns(since), last=last)
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        journal.close()


@journal_app.command("show")
def show(
    db: str = typer.Option(None, "--db", help=_DB_HELP),
    table: str = typer.Option("events", "--table", "-t", help=f"Table to show: {_TABLES}."),
    kind: list[str] = typer.Option(
        None,
        "--kind",
        "-k",
        help="Event kind(s) to keep (events table): run, intent, order, "
        "order_update, fill, positions, greeks, rejected, kill_switch, reconcile. Repeatable.",
    ),
    since: str = typer.Option(None, "--since", help=_SINCE_HELP),
    last: int = typer.Option(50, "--last", "-n", min=1, help="Show the last N rows."),
    columns: str = typer.Option(
        None,
        "--columns",
        "-c",
        help="Comma-separated columns to show, e.g. seq,time,venue,side,quantity,price "
        "(default: all; an unknown name lists the table's columns).",
    ),
) -> None:
    """Print the last rows of a journal table as a table in the terminal.

    Cells are never wrapped: piped into a file the table is as wide as it needs to be; in
    a narrow terminal long cells are cut with an ellipsis (pick columns with --columns,
    or export the whole table with `deltahedge journal export`).
    """
    from rich.console import Console
    from rich.table import Table

    rows = _rows(db, table, kind, since, last)
    console = Console()
    if not rows:
        console.print(f"[yellow]no rows in {table}[/] for these filters")
        return
    cols = [c for c in rows[0] if c not in ("ts_ns", "started_ns", "last_ts_ns")]
    if columns:
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in rows[0]]
        if unknown:
            raise typer.BadParameter(
                f"unknown column(s) {unknown} for table {table}; allowed: {', '.join(rows[0])}",
                param_hint="--columns",
            )
        cols = wanted
    cells = [[_cell(r[c]) for c in cols] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    natural = sum(min(w, 80) for w in widths) + 3 * len(cols) + 1
    if not console.is_terminal:  # a file or a pipe: as wide as the table needs
        console = Console(width=max(console.width, natural))
    out = Table(title=f"journal {table} (last {len(rows)})", show_lines=False)
    for c in cols:
        wide = c in ("payload", "config")
        out.add_column(c, no_wrap=not wide, overflow="fold" if wide else "ellipsis",
                       max_width=80 if wide else None)  # fmt: skip
    for row in cells:
        out.add_row(*row)
    console.print(out)
    if natural > console.width:
        console.print(
            f"[dim]{natural} columns wide, cut to {console.width}: choose columns with "
            f"--columns ({','.join(cols[:4])},...) or export the table[/]"
        )


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    if (
        isinstance(value, str)
        and len(value) >= 25
        and value[10] == "T"
        and value.endswith("+00:00")
    ):
        # ISO UTC time -> "YYYY-MM-DD HH:MM:SS[.mmm]" (UTC, as everywhere in deltahedge)
        clock = value[11:-6]
        return value[:10] + " " + (clock[:12] if "." in clock else clock)
    return "" if value is None else str(value)


@journal_app.command("export")
def export(
    output: Path = typer.Option(..., "--output", "-o", help="File to write (.csv or .parquet)."),
    db: str = typer.Option(None, "--db", help=_DB_HELP),
    table: str = typer.Option("events", "--table", "-t", help=f"Table to export: {_TABLES}."),
    kind: list[str] = typer.Option(
        None, "--kind", "-k", help="Event kind(s) to keep (events table). Repeatable."
    ),
    since: str = typer.Option(None, "--since", help=_SINCE_HELP),
    fmt: str = typer.Option(
        None, "--format", "-f", help="csv or parquet (default: from the file suffix, else csv)."
    ),
) -> None:
    """Write a journal table to CSV or Parquet (one row per record, time in ISO-8601 UTC)."""
    from rich.console import Console

    from deltahedge.core.errors import InvalidInput
    from deltahedge.store.export import export_rows, table_columns

    rows = _rows(db, table, kind, since)
    try:
        path = export_rows(rows, output, fmt, columns=table_columns(table))
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc), param_hint="--format") from None
    Console().print(f"wrote {len(rows)} rows of {table} to {path}")


_ACTIONS = {"freeze": "frozen", "flatten": "flattening", "resume": "running"}


@journal_app.command("kill-switch")
def kill_switch(
    action: str = typer.Argument(
        ...,
        help="freeze (no new hedges), flatten (no new hedges; close the hedge position) or resume.",
    ),
    db: str = typer.Option(None, "--db", help=_DB_HELP),
    reason: str = typer.Option("", "--reason", help="Why; kept in the journal and the logs."),
    engine: str = typer.Option(
        "",
        "--engine",
        help="Name of the engine addressed (engine.name in its config); default: all.",
    ),
) -> None:
    """Ask the engine(s) writing to this journal to freeze, flatten or resume.

    The request is journaled; a running engine applies it on its next poll and journals
    the change (see `journal show --kind kill_switch`). A signal does the same locally:
    SIGUSR1 freezes, SIGUSR2 flattens.
    """
    from rich.console import Console

    from deltahedge.store.control import request_kill_switch

    state = _ACTIONS.get(action.lower())
    if state is None:
        raise typer.BadParameter(f"{action!r}; allowed: {', '.join(_ACTIONS)}", param_hint="ACTION")
    journal = _open(db)
    try:
        request_kill_switch(journal, state, "cli", reason, engine)
    finally:
        journal.close()
    Console().print(f"kill switch request journaled: {state} ({engine or 'all engines'})")


def register(app: typer.Typer) -> None:
    app.add_typer(journal_app, name="journal")


__all__ = ["journal_app", "register"]

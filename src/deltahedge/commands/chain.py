"""``deltahedge chain``: implied vols and Greeks of an option-chain file, against the venue's."""

from __future__ import annotations

from pathlib import Path

import typer

chain_app = typer.Typer(
    help="Work with option-chain files (Deribit CSV/daily files/API JSON/ws recordings, Tardis CSV).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@chain_app.command("greeks")
def greeks(
    file: Path = typer.Argument(
        ...,
        help="Chain file: Deribit snapshot CSV, Deribit daily file, Deribit API JSON "
        "(public/ticker, get_book_summary_by_currency), a DERIBIT.ws recording, or a "
        "Tardis options_chain CSV(.gz). The format is detected from the first line.",
        show_default=False,
    ),
    output: Path | None = typer.Option(
        None,
        "-o",
        "--output",
        help="Write one row per option (inputs, IV, Greeks, venue values, differences) to this CSV.",
    ),
    underlying: str | None = typer.Option(
        None,
        "--underlying",
        "-u",
        help="Only this coin, e.g. BTC (default: every coin in the file).",
    ),
    snapshot: str | None = typer.Option(
        None,
        "--snapshot",
        "-s",
        help="Only this snapshot: an index (0 first, -1 last) or the start of its UTC time, "
        "e.g. 2021-06-15 or 2026-01-03T09 (default: all).",
    ),
    format: str | None = typer.Option(
        None,
        "--format",
        help="Force the format instead of detecting it (see deltahedge.marketdata.FORMATS).",
    ),
    instruments: Path | None = typer.Option(
        None,
        "--instruments",
        help="A public/get_instruments answer or REST recording (e.g. DERIBIT.0) for ws recordings.",
    ),
    at: str | None = typer.Option(
        None,
        "--at",
        help="Streams (Tardis CSV, ws recordings): the chain as of this UTC time, e.g. 2020-06-07T23:59:10Z.",
    ),
    min_t_days: float = typer.Option(
        0.0, "--min-t-days", help="Drop options expiring within this many days."
    ),
) -> None:
    """IV from each option's mark price, Black-76 Greeks, and their differences from the venue's.

    For every option: the implied vol recomputed from the mark price (coin prices for inverse options); at that vol, with r = 0, the Black-76 Greeks: the venue-style delta N(d1), the premium-adjusted delta N(d1) - price in coin, gamma per USD, vega in USD per vol point and theta in USD per day (Deribit's units).

    Prints |recomputed - venue| (median, 99th percentile, max) and what cleaning dropped, with the reason for each row.

    Example: [bold]deltahedge chain greeks ../shared/data/deribit_chain_2026/deribit_options_snapshot_20260105T092511Z.csv -u BTC -o greeks.csv[/bold]
    """
    import numpy as np
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from deltahedge.core.errors import DataError
    from deltahedge.core.units import ns_to_datetime
    from deltahedge.marketdata import load_chains
    from deltahedge.marketdata.cleaning import CleaningReport, clean_chain
    from deltahedge.marketdata.greeks import chain_greeks, difference_summary

    console = Console()
    snap: str | int | None = snapshot
    if snapshot is not None and snapshot.lstrip("-").isdigit():
        snap = int(snapshot)
    try:
        chains = load_chains(file, format, underlying, snap, instruments=instruments, at=at)
    except (DataError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc

    results, reports = [], []
    per_chain = Table(title=f"Chains in {file.name}", title_justify="left")
    for col in (
        "underlying",
        "time (UTC)",
        "options",
        "kept",
        "expiries",
        "median |dIV| (vol pts)",
    ):
        per_chain.add_column(
            col, justify="left" if col in ("underlying", "time (UTC)") else "right"
        )
    for chain in chains:
        clean, report = clean_chain(chain, min_T=min_t_days / 365.0)
        g = chain_greeks(clean)
        results.append(g)
        reports.append(report)
        div = np.abs(g.diff_iv[np.isfinite(g.diff_iv)])
        per_chain.add_row(
            chain.underlying,
            f"{ns_to_datetime(chain.ts_ns):%Y-%m-%d %H:%M:%S}",
            str(len(chain)),
            str(len(clean)),
            str(len(clean.expiries())),
            f"{np.median(div):.4f}" if div.size else "-",
        )
    if len(chains) > 1:
        console.print(per_chain)
    for coin in sorted({g.chain.underlying for g in results}):
        mine = [g for g in results if g.chain.underlying == coin]
        console.print(difference_summary(mine, f"{coin}, {len(mine)} snapshot(s)"))
    label = reports[0].label if len(reports) == 1 else f"{file.name}: {len(reports)} chains"
    console.print(reports[0] if len(reports) == 1 else CleaningReport.combine(reports, label))
    if output is not None:
        frame = pd.concat([g.to_frame() for g in results], ignore_index=True)
        try:
            frame.to_csv(output, index=False, float_format="%.10g")
        except OSError as exc:
            console.print(f"[red]error:[/red] cannot write {output}: {exc}")
            raise typer.Exit(2) from exc
        console.print(f"wrote {len(frame)} rows to {output}")


def register(app: typer.Typer) -> None:
    app.add_typer(chain_app, name="chain")

"""``deltahedge demo``: the main job on its embedded default.

The engine hedges a short-options BTC book live on a simulated market (accelerated
time), with paper venues, a SQLite journal in a temporary folder, the dashboard on
127.0.0.1 and a live terminal view; everything it needs is inside the package (the
surface in ``deltahedge/data/demo_surface_btc.json``, fitted once from a real Deribit
snapshot by ``scripts/fit_demo_surface.py``).

``deltahedge demo --chain`` prints instead the Greeks table of a real Deribit BTC chain
excerpt shipped in the package (``deltahedge/data/deribit_btc_20260105T092511Z_excerpt.csv``).
"""

from __future__ import annotations

from typing import Any

import typer

#: The embedded chain excerpt (inside the package, so a fresh clone needs nothing else).
DEMO_CHAIN = "deribit_btc_20260105T092511Z_excerpt.csv"

#: The example book: (instrument, signed quantity in contracts of 1 BTC).
DEMO_BOOK: tuple[tuple[str, float], ...] = (
    ("BTC-30JAN26-100000-C", 10.0),
    ("BTC-30JAN26-85000-P", -10.0),
    ("BTC-27MAR26-90000-C", -5.0),
    ("BTC-26JUN26-95000-P", 5.0),
)


def demo_chain_path() -> Any:
    """Path (a Traversable) of the embedded chain excerpt."""
    from importlib.resources import files

    return files("deltahedge") / "data" / DEMO_CHAIN


def run_demo(console: Any) -> None:
    """Price the embedded chain and print its Greeks table and the example book's totals."""
    from importlib.resources import as_file

    import numpy as np
    from rich.table import Table

    from deltahedge.core.units import ns_to_datetime
    from deltahedge.marketdata import load_chain
    from deltahedge.marketdata.cleaning import clean_chain
    from deltahedge.marketdata.forwards import expiry_forwards
    from deltahedge.marketdata.greeks import chain_greeks

    with as_file(demo_chain_path()) as path:
        chain = load_chain(path, underlying="BTC")
    chain, report = clean_chain(chain)
    g = chain_greeks(chain)
    when = ns_to_datetime(chain.ts_ns)
    fw = expiry_forwards(chain)

    table = Table(
        title=f"Deribit BTC options, {when:%Y-%m-%d %H:%M} UTC (embedded excerpt): IV from the mark, Black-76 Greeks",
        title_justify="left",
    )
    for col in (
        "instrument",
        "mark BTC",
        "IV %",
        "venue IV %",
        "delta N(d1)",
        "delta prem-adj",
        "gamma /$",
        "vega $/1%",
        "theta $/day",
    ):
        if col == "instrument":
            table.add_column(col, no_wrap=True, min_width=20)
        else:
            table.add_column(col, justify="right")
    last_expiry = None
    for i in range(len(chain)):
        if last_expiry is not None and chain.expiry_ns[i] != last_expiry:
            table.add_section()
        last_expiry = chain.expiry_ns[i]
        table.add_row(
            str(chain.instrument[i]),
            f"{chain.mark[i]:.4f}",
            f"{100 * g.iv[i]:.2f}",
            f"{100 * chain.mark_iv[i]:.2f}",
            f"{g.delta[i]:+.4f}",
            f"{g.delta_premium_adjusted[i]:+.4f}",
            f"{g.gamma[i]:.2e}",
            f"{g.vega_1pct[i]:.2f}",
            f"{g.theta_day[i]:.2f}",
        )
    console.print(table)
    console.print(
        "Forwards per expiry (Deribit's future or synthetic): "
        + ", ".join(
            f"{ns_to_datetime(int(e)):%d%b%y}".upper() + f" {f:,.0f}"
            for e, f in zip(fw.expiry_ns, fw.forward, strict=True)
        )
    )

    idx = {str(name): i for i, name in enumerate(chain.instrument)}
    book = Table(title="Example book (contracts of 1 BTC)", title_justify="left")
    for col in (
        "instrument",
        "qty",
        "value BTC",
        "delta N(d1)",
        "delta prem-adj",
        "gamma /$",
        "vega $/1%",
        "theta $/day",
    ):
        book.add_column(col, justify="left" if col == "instrument" else "right")
    tot = np.zeros(6)
    for name, qty in DEMO_BOOK:
        i = idx[name]
        row = qty * np.array(
            [
                chain.mark[i],
                g.delta[i],
                g.delta_premium_adjusted[i],
                g.gamma[i],
                g.vega_1pct[i],
                g.theta_day[i],
            ]
        )
        tot += row
        book.add_row(
            name,
            f"{qty:+g}",
            f"{row[0]:+.4f}",
            f"{row[1]:+.3f}",
            f"{row[2]:+.3f}",
            f"{row[3]:+.2e}",
            f"{row[4]:+.1f}",
            f"{row[5]:+.1f}",
        )
    book.add_section()
    book.add_row(
        "total",
        "",
        f"{tot[0]:+.4f}",
        f"{tot[1]:+.3f}",
        f"{tot[2]:+.3f}",
        f"{tot[3]:+.2e}",
        f"{tot[4]:+.1f}",
        f"{tot[5]:+.1f}",
        style="bold",
    )
    console.print(book)
    console.print(
        f"To be delta-neutral: sell {tot[1]:+.3f} BTC of the perpetual if the book's USD value "
        f"is what must not move (per-instrument N(d1) deltas), or {tot[2]:+.3f} BTC if its "
        "coin balance is (premium-adjusted deltas: the premiums are themselves in BTC)."
        if tot[1] > 0
        else f"To be delta-neutral: buy {-tot[1]:.3f} BTC of the perpetual (USD numeraire, N(d1) "
        f"deltas), or {-tot[2]:.3f} BTC (coin numeraire, premium-adjusted deltas)."
    )
    console.print(str(report), style="dim")


def run_engine_demo(
    console: Any,
    duration: float | None,
    port: int,
    open_browser: bool,
    speed: float,
    seed: int = 7,
    view: bool = True,
) -> int:
    """Run the engine demo; return the number of hedges done."""
    import asyncio
    import math
    import tempfile
    import webbrowser
    from pathlib import Path

    from deltahedge.core.errors import ConfigError
    from deltahedge.dashboard import ReadModel, serve
    from deltahedge.engine.engine import EngineControls
    from deltahedge.engine.runner import run_engine
    from deltahedge.engine.scenario import build_demo
    from deltahedge.marketdata.feeds import SimulatedFeed
    from deltahedge.store import Journal

    folder = Path(tempfile.mkdtemp(prefix="deltahedge-demo-"))
    journal = Journal(folder / "journal.sqlite", synchronous="NORMAL")
    read_model = ReadModel()
    sc = build_demo(journal=journal, read_model=read_model, seed=seed, band_coin=1.0)
    engine = sc.engine
    server = None
    try:
        try:
            server = serve(read_model, EngineControls(engine), "127.0.0.1", port)
        except ConfigError:
            server = serve(read_model, EngineControls(engine), "127.0.0.1", 0)
        url = server.url
        console.print(f"[bold]dashboard[/bold] {url}  (control token: {server.token})")
        console.print(f"journal {folder / 'journal.sqlite'}  (deltahedge journal show ...)")
        console.print(
            f"Simulated BTC market (GBM 60 % vol, 10 ticks/s) in accelerated time: x{speed:g}; "
            "surface fitted from the Deribit snapshot of 2026-01-05 09:25 UTC. "
            "Ctrl-C stops; SIGUSR1 freezes, SIGUSR2 flattens."
        )
        if open_browser:
            webbrowser.open(url)
        feed = SimulatedFeed(
            sc.surface.spot, sc.clock, ticks_per_second=10.0, seed=seed, speed=speed,
            glitch_rate=0.0005,
        )  # fmt: skip
        asyncio.run(
            run_engine(
                engine, feed, duration_s=None if duration is None or math.isinf(duration) else duration,
                console=console, view=view, speed=speed,
                note="bad ticks (NaN, negative, +40 % jumps) are injected at 0.05 % to show the guard",
            )
        )  # fmt: skip
    finally:
        if server is not None:
            server.stop()
        journal.close()
    c = engine.counters
    console.print(
        f"stopped: {c.ticks:,} ticks, {c.hedges} hedges, {sum(c.rejected.values())} bad ticks "
        f"rejected, PnL {engine.pnl.total:,.0f} USD; journal kept in {folder}"
    )
    return c.hedges


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        duration: float = typer.Option(
            None,
            "--duration",
            help="Seconds to run (default: until Ctrl-C on a terminal, else 60).",
        ),
        port: int = typer.Option(
            8050, "--port", help="Dashboard port on 127.0.0.1 (busy: any free one)."
        ),
        no_browser: bool = typer.Option(False, "--no-browser", help="Do not open the dashboard."),
        speed: float = typer.Option(60.0, "--speed", help="Simulated seconds per real second."),
        seed: int = typer.Option(7, "--seed", help="Seed of the simulated market."),
        chain: bool = typer.Option(
            False, "--chain", help="Only print the Greeks of the embedded Deribit chain excerpt."
        ),
    ) -> None:
        """Hedge a short-options BTC book live on a simulated market: paper venues, journal, dashboard and a terminal view (nothing outside the package needed)."""
        import sys

        from rich.console import Console

        if chain:
            # the tables need ~110 columns; a narrower pipe would truncate the numbers
            run_demo(Console(width=max(Console().width, 112)))
            return
        tty = sys.stdin.isatty() and sys.stdout.isatty()
        if duration is None:
            duration = float("inf") if tty else 60.0
        console = Console(width=max(Console().width, 120))
        run_engine_demo(
            console, duration, port, open_browser=not no_browser and tty, speed=speed, seed=seed,
            view=True,
        )  # fmt: skip

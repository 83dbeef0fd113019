"""``deltahedge demo``: the main job on its embedded default.

Until the engine exists this prices a real Deribit BTC chain excerpt shipped in the
package (``deltahedge/data/deribit_btc_20260105T092511Z_excerpt.csv``, see its header
for where it comes from) and shows the Greeks of each option and of a small book.
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


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo() -> None:
        """Price a real Deribit BTC chain excerpt shipped in the package and show its Greeks and a book's totals (no files outside the package needed)."""
        from rich.console import Console

        # the tables need ~110 columns; a narrower pipe would truncate the numbers
        run_demo(Console(width=max(Console().width, 112)))

"""Benchmark: loading, cleaning and repricing real Deribit chains.

Figures: milliseconds to load one Deribit snapshot CSV into ``OptionChain`` objects
against a bare ``pandas.read_csv`` of the same file (the loader's overhead), and the time
of ``chain_greeks`` (IV from the mark plus Black-76 Greeks) for a whole chain against
py_vollib's ``implied_volatility`` + ``delta`` called option by option on the same rows.
Uses ``../shared/data`` when present, else the chain excerpt shipped in the package.
"""

from __future__ import annotations

import os
from importlib.resources import as_file
from pathlib import Path
from typing import Any

from deltahedge.bench.timing import best_time


def _snapshot_file() -> Path | None:
    root = Path(os.environ.get("DELTAHEDGE_SHARED", Path.cwd().parent / "shared"))
    files = sorted((root / "data" / "deribit_chain_2026").glob("deribit_options_snapshot_*.csv"))
    return files[-1] if files else None


def _py_vollib_chain(chain: Any, n: int) -> None:
    from py_lets_be_rational.exceptions import VolatilityValueException
    from py_vollib.black.greeks.analytical import delta
    from py_vollib.black.implied_volatility import implied_volatility

    price = chain.mark * chain.forward
    for i in range(n):
        flag = "c" if chain.kind[i] == 1 else "p"
        try:
            iv = implied_volatility(
                price[i], chain.forward[i], chain.strike[i], 0.0, chain.T[i], flag
            )
            delta(flag, chain.forward[i], chain.strike[i], chain.T[i], 0.0, iv)
        except VolatilityValueException:  # a price it cannot invert; its time still counts
            pass


def run(console: Any, quick: bool) -> None:
    """Print the loader and chain-repricing table."""
    import pandas as pd
    from rich.table import Table

    from deltahedge.commands.demo import demo_chain_path
    from deltahedge.marketdata import chain_greeks, clean_chain, load_chain, load_chains

    table = Table(title="Chain loading and repricing (best of repeats)", title_justify="left")
    for col in ("what", "rows", "deltahedge", "peer", "peer time", "peer / ours"):
        table.add_column(col, justify="left" if col in ("what", "peer") else "right")
    path = _snapshot_file()
    if path is not None:
        n_rows = len(pd.read_csv(path))
        t_load = best_time(lambda: load_chains(path), repeat=3 if quick else 7)
        t_pd = best_time(lambda: pd.read_csv(path), repeat=3 if quick else 7)
        table.add_row(
            f"load {path.name}",
            str(n_rows),
            f"{t_load * 1e3:.1f} ms",
            "pandas.read_csv",
            f"{t_pd * 1e3:.1f} ms",
            f"{t_pd / t_load:.2f}x",
        )
        chain = load_chain(path, underlying="BTC")
        label = f"BTC chain of {path.name}"
    else:
        with as_file(demo_chain_path()) as p:
            chain = load_chain(p)
        label = "embedded BTC excerpt (no ../shared)"
    chain, _ = clean_chain(chain)
    n = len(chain)
    t_ours = best_time(lambda: chain_greeks(chain), repeat=3 if quick else 7)
    m = min(n, 50 if quick else 200)
    try:
        t_peer = best_time(lambda: _py_vollib_chain(chain, m), repeat=1 if quick else 3) * n / m
        peer = f"{t_peer * 1e3:.1f} ms"
        ratio = f"{t_peer / t_ours:.0f}x"
    except ImportError:
        peer, ratio = "not installed", "-"
    table.add_row(
        f"chain_greeks: IV + Greeks, {label}",
        str(n),
        f"{t_ours * 1e6:.0f} us",
        "py_vollib per option",
        peer,
        ratio,
    )
    console.print(table)
    console.print(
        f"chain_greeks: {t_ours / n * 1e9:.0f} ns per option (IV solve, Greeks, diffs)", style="dim"
    )


__all__ = ["run"]

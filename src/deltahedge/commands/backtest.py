"""``deltahedge backtest``: hedge a book under every policy and delta model, draw the frontiers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

MODELS = ("gbm", "merton", "heston", "bates", "svcj")


def _progress_runner(label: str):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    prog = Progress(
        "[bold]" + label, BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
    )
    task = prog.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        prog.update(task, completed=done, total=total)

    return prog, update


def report(result: dict[str, Any], out: Path | None, as_json: bool, title: str) -> None:
    """Print the frontier table and comparisons (or JSON); write PNG/HTML/JSON into ``out``."""
    from rich.console import Console

    from deltahedge.backtest.frontier import frontier_table, summary_table, write_html, write_png

    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the tables into 80 columns
        console = Console(width=max(console.width, 120))
    summary = {k: v for k, v in result.items() if k != "rows"}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        xlabel = result.get("error_label", "hedging error: std of final PnL (USD)")
        summary["png"] = str(write_png(result["rows"], out / "frontier.png", title, xlabel))
        summary["html"] = str(write_html(result["rows"], out / "frontier.html", title, summary))
        (out / "rows.json").write_text(json.dumps(result["rows"], indent=1))
    if as_json:

        def clean(x: Any) -> Any:
            if isinstance(x, float) and not math.isfinite(x):
                return None
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            return x

        print(json.dumps(clean(summary), indent=2, default=str))
        return
    console.print(frontier_table(result["rows"], title))
    console.print(summary_table(summary))
    for key in ("png", "html"):
        if key in summary:
            console.print(f"{key} written to {summary[key]}", soft_wrap=True)
    if out is not None:
        console.print(f"every grid point written to {out / 'rows.json'}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("backtest")
    def backtest(
        market: str = typer.Option(
            "sim",
            help="sim (simulated paths), deribit (25 real snapshots), bitstamp (real minute path).",
        ),
        model: str = typer.Option(
            "svcj", help=f"Path model for --market sim: {', '.join(MODELS)}."
        ),
        book: str = typer.Option(
            "straddle",
            help="straddle, put_strip, ten (a 10-option book), or a positions CSV (kind,strike,expiry_days,qty,vol).",
        ),
        paths: int = typer.Option(1000, help="Simulated paths."),
        days: float = typer.Option(7.0, help="Horizon in days."),
        expiry_days: float = typer.Option(7.0, help="Options' time to expiry in days."),
        step_minutes: float = typer.Option(5.0, help="Path step in minutes."),
        fee: float = typer.Option(5e-4, help="Taker fee on notional (5e-4 = 5 bp)."),
        half_spread: float = typer.Option(1e-4, help="Half spread as a fraction of price."),
        latency: int = typer.Option(0, help="Decision-to-fill latency in steps."),
        delta: str = typer.Option(
            "black76", help="Delta models, comma-separated: black76, smile, model."
        ),
        points: int = typer.Option(7, help="Grid points per policy parameter."),
        seed: int = typer.Option(
            20260101, help="Seed: the same seed gives the same paths anywhere."
        ),
        data: Path = typer.Option(Path("../shared/data"), help="Folder of the real market data."),
        out: Path | None = typer.Option(
            None, help="Folder for frontier.png, frontier.html, rows.json."
        ),
        as_json: bool = typer.Option(
            False, "--json", help="Print a JSON summary instead of tables."
        ),
    ) -> None:
        """Sweep every hedging policy's parameters and draw error-versus-cost frontiers.

        Policies: fixed interval, fixed threshold, time-or-threshold, hysteresis,
        Whalley-Wilmott band, vol-adaptive band, Leland delta. The summary gives, at equal
        hedging error, the cost of the best band policy relative to the best fixed-interval
        and fixed-threshold policies, and each delta model's error relative to Black-76.

        Examples: [cyan]deltahedge backtest --model svcj --paths 2000 --out report/[/cyan];
        [cyan]deltahedge backtest --market deribit --json[/cyan].
        """
        from deltahedge.backtest import models as m
        from deltahedge.backtest import runner
        from deltahedge.backtest.simulator import DeltaModel
        from deltahedge.backtest.sweep import Scenario
        from deltahedge.core.errors import InvalidInput

        prog, update = _progress_runner(f"backtest {market}")
        with prog:
            if market == "sim":
                presets = {
                    "gbm": m.GBM_BTC,
                    "merton": m.MERTON_BTC,
                    "heston": m.HESTON_BTC,
                    "bates": m.BATES_BTC,
                    "svcj": m.SVCJ_BTC,
                }
                if model not in presets:
                    raise InvalidInput(f"--model {model!r} unknown; allowed: {', '.join(MODELS)}")
                try:
                    dms = tuple(DeltaModel[d.strip().upper()] for d in delta.split(","))
                except KeyError as exc:
                    raise InvalidInput(f"--delta {delta!r}: allowed black76, smile, model") from exc
                svi = None
                if DeltaModel.SMILE in dms:
                    svi = runner.deribit_svi_slice(data / "deribit_chain_2026", expiry_days)
                sc = Scenario(
                    model=presets[model],
                    days=days,
                    expiry_days=expiry_days,
                    step_minutes=step_minutes,
                    book=book,
                    n_paths=paths,
                    seed=seed,
                    taker_fee=fee,
                    half_spread=half_spread,
                    latency=latency,
                    svi=svi,
                )
                result = runner.run_sim(sc, dms, points, progress=update)
            elif market == "deribit":
                result = runner.run_deribit(data / "deribit_chain_2026", progress=update)
            elif market == "bitstamp":
                result = runner.run_bitstamp(
                    data / "bitstamp_1min_2025" / "btcusd_1min_20250107_20250203.csv",
                    data / "deribit_chain_2026",
                    data / "binance_l2_2024" / "usdm_btcusdt_20240808.gz",
                    n_points=points,
                    progress=update,
                )
            else:
                raise InvalidInput(f"--market {market!r} unknown; allowed: sim, deribit, bitstamp")
        report(result, out, as_json, f"Hedging frontier: {result['market']}")

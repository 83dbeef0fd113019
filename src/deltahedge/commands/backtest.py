"""``deltahedge backtest``: hedge a book under every policy and delta model, draw the frontiers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

MODELS = ("gbm", "merton", "heston", "bates", "svcj")
DELTAS = ("black76", "smile", "model", "min_variance")
SURFACES = ("demo", "flat", "deribit")


def _progress_runner(label: str):  # type: ignore[no-untyped-def]
    """A Rich progress bar on stderr (drawn only on a terminal) and its ``(done, total)`` hook."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    prog = Progress(
        "[bold]" + label,
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        console=Console(stderr=True),
    )
    task = prog.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        prog.update(task, completed=done, total=total)

    return prog, update


def frontiers(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each ``policy/delta model``'s Pareto points (error std, cost, trades, params)."""
    from deltahedge.backtest.frontier import pareto

    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(f"{r['policy']}/{r['delta_model']}", []).append(r)
    keys = ("params", "std_pnl", "mean_cost", "mean_trades")
    return {k: [{c: r[c] for c in keys} for r in pareto(g)] for k, g in sorted(groups.items())}


def report(result: dict[str, Any], out: Path | None, as_json: bool, title: str) -> None:
    """Print the frontier table and comparisons (or JSON); write PNG/HTML/JSON into ``out``."""
    from rich.console import Console

    from deltahedge.backtest.frontier import frontier_table, summary_table, write_html, write_png

    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the tables into 80 columns
        console = Console(width=max(console.width, 120))
    summary = {k: v for k, v in result.items() if k != "rows"}
    summary["frontiers"] = frontiers(result["rows"])
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


def parse_deltas(delta: str) -> tuple[Any, ...]:
    """``"black76,smile"`` -> the ``DeltaModel`` members; unknown names raise ``InvalidInput``."""
    from deltahedge.backtest.simulator import DeltaModel
    from deltahedge.core.errors import InvalidInput

    try:
        return tuple(DeltaModel[d.strip().upper()] for d in delta.split(","))
    except KeyError as exc:
        raise InvalidInput(f"--delta {delta!r}: allowed {', '.join(DELTAS)}") from exc


def sim_scenario(model: str, surface: str, dms: tuple[Any, ...], data: Path, **fields: Any) -> Any:
    """The ``Scenario`` of a simulated backtest: the preset path model, the marks' surface
    (``demo``: the embedded surface, sticky moneyness; ``flat``: one vol; ``deribit``: the
    first Deribit snapshot's slice nearest the expiry) and Hull-White coefficients fitted on
    the Deribit snapshots when ``min_variance`` is among ``dms``."""
    from deltahedge.backtest import models as m
    from deltahedge.backtest import runner
    from deltahedge.backtest.simulator import DeltaModel
    from deltahedge.backtest.sweep import Scenario
    from deltahedge.core.errors import InvalidInput

    presets = {
        "gbm": m.GBM_BTC,
        "merton": m.MERTON_BTC,
        "heston": m.HESTON_BTC,
        "bates": m.BATES_BTC,
        "svcj": m.SVCJ_BTC,
    }
    if model not in presets:
        raise InvalidInput(f"--model {model!r} unknown; allowed: {', '.join(MODELS)}")
    if surface not in SURFACES:
        raise InvalidInput(f"--surface {surface!r} unknown; allowed: {', '.join(SURFACES)}")
    if DeltaModel.SMILE in dms and surface == "flat":
        raise InvalidInput("--delta smile needs a smile: use --surface demo or deribit")
    chains = data / "deribit_chain_2026"
    svi = None
    if surface == "deribit":
        svi = runner.deribit_svi_slice(chains, fields.get("expiry_days", 7.0))
    mv = runner.deribit_min_variance_coeffs(chains) if DeltaModel.MIN_VARIANCE in dms else None
    return Scenario(
        model=presets[model],
        surface="flat" if surface == "flat" else "demo",
        svi=svi,
        min_variance=mv,
        **fields,
    )


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
        surface: str = typer.Option(
            "demo",
            help="Marks for --market sim: demo (the embedded BTC surface, sticky moneyness), "
            "flat (one vol, sticky strike), deribit (the first Deribit snapshot's slice).",
        ),
        paths: int = typer.Option(1000, help="Simulated paths."),
        days: float = typer.Option(
            7.0, help="Horizon in days (the window length for --market bitstamp)."
        ),
        expiry_days: float = typer.Option(7.0, help="Options' time to expiry in days."),
        step_minutes: float = typer.Option(5.0, help="Path step in minutes."),
        fee: float = typer.Option(5e-4, help="Taker fee on notional (5e-4 = 5 bp)."),
        half_spread: float = typer.Option(1e-4, help="Half spread as a fraction of price."),
        impact: float = typer.Option(
            0.0, help="Square-root impact: cost fraction of notional for a 10-coin trade."
        ),
        funding: float = typer.Option(
            0.0, help="Perp funding rate per year paid by longs (0.1 = 10 %/yr)."
        ),
        lot: float = typer.Option(0.0, help="Hedge size increment in coin (0: continuous)."),
        latency: int = typer.Option(0, help="Decision-to-fill latency in steps."),
        delta: str = typer.Option(
            "black76", help=f"Delta models, comma-separated: {', '.join(DELTAS)}."
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

        Policies: fixed interval (also with randomised timing and size), fixed threshold,
        time-or-threshold, hysteresis, Whalley-Wilmott and Zakamouline bands, vol-adaptive
        and gamma-weighted bands, Leland delta. The summary gives, at equal hedging error,
        the cost of the best band policy relative to the best fixed-interval and
        fixed-threshold policies, and each delta model's error relative to Black-76.

        Examples: [cyan]deltahedge backtest --model svcj --paths 2000 --out report/[/cyan];
        [cyan]deltahedge backtest --market deribit --json[/cyan].
        """
        from deltahedge.backtest import runner
        from deltahedge.backtest.sweep import scenario_dict
        from deltahedge.core.errors import InvalidInput

        if market not in ("sim", "deribit", "bitstamp"):
            raise InvalidInput(f"--market {market!r} unknown; allowed: sim, deribit, bitstamp")
        sc = None
        if market == "sim":
            dms = parse_deltas(delta)
            sc = sim_scenario(
                model,
                surface,
                dms,
                data,
                days=days,
                expiry_days=expiry_days,
                step_minutes=step_minutes,
                book=book,
                n_paths=paths,
                seed=seed,
                taker_fee=fee,
                half_spread=half_spread,
                impact=impact,
                funding_rate=funding,
                lot=lot,
                latency=latency,
            )
        prog, update = _progress_runner(f"backtest {market}")
        with prog:
            if sc is not None:
                result = runner.run_sim(sc, dms, points, progress=update)
                result["scenario"] = scenario_dict(sc)
            elif market == "deribit":
                result = runner.run_deribit(data / "deribit_chain_2026", progress=update)
            else:
                result = runner.run_bitstamp(
                    data / "bitstamp_1min_2025" / "btcusd_1min_20250107_20250203.csv",
                    data / "deribit_chain_2026",
                    data / "binance_l2_2024" / "usdm_btcusdt_20240808.gz",
                    window_days=days,
                    n_points=points,
                    progress=update,
                )
        report(result, out, as_json, f"Hedging frontier: {result['market']}")

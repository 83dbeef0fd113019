"""``deltahedge sweep``: the policy grid on a Dask cluster (local by default)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("sweep")
    def sweep(
        scheduler: str | None = typer.Option(
            None, help="Dask scheduler address, e.g. tcp://HOST:8786. Default: a LocalCluster."
        ),
        workers: int = typer.Option(2, help="Worker processes of the LocalCluster."),
        model: str = typer.Option("svcj", help="gbm, merton, heston, bates or svcj."),
        book: str = typer.Option("straddle", help="straddle, put_strip or ten."),
        surface: str = typer.Option(
            "demo", help="Marks: demo (embedded surface, sticky moneyness), flat or deribit."
        ),
        paths: int = typer.Option(2000, help="Simulated paths per grid point."),
        days: float = typer.Option(7.0, help="Horizon in days (and the options' expiry)."),
        step_minutes: float = typer.Option(5.0, help="Path step in minutes."),
        delta: str = typer.Option(
            "black76,model", help="Delta models: black76, smile, model, min_variance."
        ),
        points: int = typer.Option(7, help="Grid points per policy parameter."),
        seed: int = typer.Option(20260101, help="Seed: same seed, same numbers on any worker."),
        data: Path = typer.Option(
            Path("../shared/data"), help="Real market data (for --surface deribit, min_variance)."
        ),
        out: Path | None = typer.Option(None, help="Folder for frontier.png/html and rows.json."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
    ) -> None:
        """Run the policy x delta-model grid on Dask; each grid point is one task.

        Paths depend only on (seed, path index), so a cluster gives the same numbers as
        `deltahedge backtest` in one process.
        """
        from deltahedge.backtest.runner import run_sim
        from deltahedge.backtest.sweep import scenario_dict
        from deltahedge.commands.backtest import (
            _progress_runner,
            parse_deltas,
            report,
            sim_scenario,
        )

        dms = parse_deltas(delta)
        sc = sim_scenario(
            model,
            surface,
            dms,
            data,
            days=days,
            expiry_days=days,
            step_minutes=step_minutes,
            book=book,
            n_paths=paths,
            seed=seed,
        )
        prog, update = _progress_runner("sweep on dask")
        with prog:
            result = run_sim(
                sc,
                dms,
                points,
                scheduler=scheduler,
                local=scheduler is None,
                progress=update,
                n_workers=workers,
            )
        result["scenario"] = scenario_dict(sc)
        report(result, out, as_json, f"Hedging frontier: {result['market']} (Dask)")

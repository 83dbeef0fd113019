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
        paths: int = typer.Option(2000, help="Simulated paths per grid point."),
        days: float = typer.Option(7.0, help="Horizon in days."),
        step_minutes: float = typer.Option(5.0, help="Path step in minutes."),
        delta: str = typer.Option("black76,model", help="Delta models: black76, model."),
        points: int = typer.Option(7, help="Grid points per policy parameter."),
        seed: int = typer.Option(20260101, help="Seed: same seed, same numbers on any worker."),
        out: Path | None = typer.Option(None, help="Folder for frontier.png/html and rows.json."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
    ) -> None:
        """Run the policy x delta-model grid on Dask; each grid point is one task.

        Paths depend only on (seed, path index), so a cluster gives the same numbers as
        `deltahedge backtest` in one process.
        """
        from deltahedge.backtest import models as m
        from deltahedge.backtest.runner import run_sim
        from deltahedge.backtest.simulator import DeltaModel
        from deltahedge.backtest.sweep import Scenario
        from deltahedge.commands.backtest import _progress_runner, report
        from deltahedge.core.errors import InvalidInput

        presets = {
            "gbm": m.GBM_BTC,
            "merton": m.MERTON_BTC,
            "heston": m.HESTON_BTC,
            "bates": m.BATES_BTC,
            "svcj": m.SVCJ_BTC,
        }
        if model not in presets:
            raise InvalidInput(f"--model {model!r} unknown; allowed: {', '.join(presets)}")
        sc = Scenario(
            model=presets[model],
            days=days,
            expiry_days=days,
            step_minutes=step_minutes,
            book=book,
            n_paths=paths,
            seed=seed,
        )
        try:
            dms = tuple(DeltaModel[d.strip().upper()] for d in delta.split(","))
        except KeyError as exc:
            raise InvalidInput(f"--delta {delta!r}: allowed black76, model") from exc
        if DeltaModel.SMILE in dms:
            raise InvalidInput("--delta smile needs a surface: use `deltahedge backtest`")
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
        report(result, out, as_json, f"Hedging frontier: {result['market']} (Dask)")

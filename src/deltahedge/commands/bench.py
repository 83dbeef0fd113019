"""``deltahedge bench``: print benchmark figures and ratios against peers measured in the same run."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("bench")
    def bench(
        only: str = typer.Option(
            "",
            help="Comma-separated subset of benchmarks to run, e.g. 'pricing,surface'. Default: all.",
        ),
        quick: bool = typer.Option(False, help="Smaller sizes, for a fast smoke run."),
    ) -> None:
        """Measure speed against peers (QuantLib, py_vollib, naive policies) and print the tables."""
        from deltahedge.bench import run_benchmarks

        names = [n.strip() for n in only.split(",") if n.strip()]
        run_benchmarks(names or None, quick=quick)

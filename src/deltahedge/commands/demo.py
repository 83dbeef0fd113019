"""``deltahedge demo``: the main job on its embedded default."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo() -> None:
        """Run the main job on the embedded default (no files outside the package needed)."""
        from rich.console import Console

        Console().print("deltahedge skeleton: the pricing demo lands with the pricing core.")

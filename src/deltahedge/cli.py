"""The ``deltahedge`` command line.

Each command group lives in ``deltahedge.commands.<name>`` and exposes ``register(app)``;
heavy imports happen inside the commands so that ``deltahedge --help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="deltahedge",
    help=(
        "Keep a crypto options book delta-neutral in real time, at the least cost.\n\n"
        "Start with `deltahedge demo`; `deltahedge COMMAND --help` explains each command."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)

#: Command modules, in the order they appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "deltahedge.commands.demo",
    "deltahedge.commands.run",
    "deltahedge.commands.chain",
    "deltahedge.commands.surface",
    "deltahedge.commands.bench",
    "deltahedge.commands.journal",
    "deltahedge.commands.dashboard",
    "deltahedge.commands.backtest",
    "deltahedge.commands.sweep",
)

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Entry point of the ``deltahedge`` script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

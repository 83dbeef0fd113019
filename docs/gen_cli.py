"""Regenerate docs/cli.md from the real ``--help`` output of every command.

Run from the repository root (new commands are found by walking the Typer app)::

    PYTHONPATH=src python docs/gen_cli.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer.main

from deltahedge.cli import app

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "cli.md"

HEADER = """\
# Command line reference

Generated from the real `--help` output by `docs/gen_cli.py` (run it again after changing a
command: `PYTHONPATH=src python docs/gen_cli.py`). Installed, the command is `deltahedge`;
from a checkout without installing, `PYTHONPATH=src python -m deltahedge.cli` is the same
thing (that is why the usage lines below say `python -m deltahedge.cli`).

Conventions common to every command:

- Errors name the bad value and what is allowed, with exit status 2 and no traceback:
  `chain` and `surface` print one `error: ...` line; `journal` and option parsing print
  Typer's boxed usage error.
- Chain files: the format is detected from the first line (`deltahedge.marketdata.FORMATS`).
- Journals: `--db` takes a SQLite path or an SQLAlchemy URL (`sqlite:///...`,
  `postgresql://user@host/db`); without it, the SQLite journal in the user data folder
  (`$DELTAHEDGE_DATA_DIR`, else `$XDG_DATA_HOME/deltahedge`, else
  `~/.local/share/deltahedge`).
- Units at the command line are Deribit's: vega in USD per vol point (1 %), theta in USD
  per day, gamma per USD. The Python kernels use vega per 1.00 of vol and theta per year
  (see [conventions.md](conventions.md)).

"""


def _walk(cmd: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every command path under ``cmd``, in --help order (Typer vendors its own click)."""
    out = [path]
    for name, sub in (getattr(cmd, "commands", None) or {}).items():
        if not getattr(sub, "hidden", False):
            out += _walk(sub, (*path, name))
    return out


def _help(path: tuple[str, ...]) -> str:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    res = subprocess.run(
        [sys.executable, "-m", "deltahedge.cli", *path, "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=ROOT,
    )
    lines = [ln.rstrip() for ln in res.stdout.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    root = typer.main.get_command(app)
    parts = [HEADER]
    for path in _walk(root, ()):
        title = " ".join(("deltahedge", *path))
        level = "##" if len(path) <= 1 else "###"
        parts.append(f"{level} `{title}`\n\n```text\n{_help(path)}```\n")
    OUT.write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

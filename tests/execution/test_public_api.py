"""The public names of execution and venues import, and the layering holds."""

from __future__ import annotations

import ast
from pathlib import Path

import deltahedge.execution as execution
import deltahedge.venues as venues
import deltahedge.venues.amm as amm
import deltahedge.venues.ccxt as ccxt_venues
import deltahedge.venues.paper as paper

SRC = Path(execution.__file__).resolve().parent


def test_every_name_in_all_exists():
    for mod in (execution, venues, amm, ccxt_venues, paper):
        missing = [n for n in mod.__all__ if not hasattr(mod, n)]
        assert missing == [], (mod.__name__, missing)


def test_execution_never_imports_venues_or_ccxt():
    bad = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            bad += [(path.name, n) for n in names if n.startswith(("deltahedge.venues", "ccxt"))]
    assert bad == []

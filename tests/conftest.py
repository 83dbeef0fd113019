"""Shared fixtures: where the real market data and the published reference values live."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DELTAHEDGE_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it are skipped, with the reason, when it is absent."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip(
            f"real market data not found at {path} (set DELTAHEDGE_SHARED to the shared/ folder)"
        )
    return path


@pytest.fixture(scope="session")
def oracle_values() -> dict:
    """The published reference values of ``../shared/reference/oracle_values.json``."""
    path = SHARED / "reference" / "oracle_values.json"
    if not path.is_file():
        pytest.skip(
            f"reference values not found at {path} (set DELTAHEDGE_SHARED to the shared/ folder)"
        )
    return json.loads(path.read_text())

"""Fixtures of the surface tests: every real snapshot loaded and fitted once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from deltahedge.marketdata import OptionChain, load_chains
from deltahedge.surface import Surface, fit_surface


@pytest.fixture(scope="session")
def snapshot_files(shared_data: Path) -> list[Path]:
    files = sorted((shared_data / "deribit_chain_2026").glob("deribit_options_snapshot_*.csv"))
    if len(files) < 4:
        pytest.skip(f"expected the 25 Deribit snapshots in {shared_data}, found {len(files)}")
    return files


@pytest.fixture(scope="session")
def real_chains(snapshot_files: list[Path]) -> dict[str, list[OptionChain]]:
    """BTC and ETH chains of every snapshot, ascending in time."""
    out: dict[str, list[OptionChain]] = {}
    for f in snapshot_files:
        for c in load_chains(f):
            out.setdefault(c.underlying, []).append(c)
    return out


@pytest.fixture(scope="session")
def svi_surfaces(real_chains: dict[str, list[OptionChain]]) -> dict[str, list[Surface]]:
    return {u: [fit_surface(c, "svi") for c in cs] for u, cs in real_chains.items()}


@pytest.fixture(scope="session")
def ssvi_surfaces(real_chains: dict[str, list[OptionChain]]) -> dict[str, list[Surface]]:
    return {u: [fit_surface(c, "ssvi") for c in cs] for u, cs in real_chains.items()}

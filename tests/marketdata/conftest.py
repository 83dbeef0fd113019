"""Real chains loaded once per test session (the real-data tests share them)."""

from __future__ import annotations

import pytest

from deltahedge.marketdata import load_chains
from deltahedge.marketdata.cleaning import clean_chain
from deltahedge.marketdata.greeks import chain_greeks


def _load_all(paths):
    out = []
    for path in paths:
        for chain in load_chains(path):
            clean, report = clean_chain(chain)
            out.append((path.name, chain, clean, report, chain_greeks(clean)))
    return out


@pytest.fixture(scope="session")
def snapshot_files(shared_data):
    files = sorted((shared_data / "deribit_chain_2026").glob("deribit_options_snapshot_*.csv"))
    assert len(files) == 25, f"expected the 25 shared snapshots, found {len(files)}"
    return files


@pytest.fixture(scope="session")
def snapshot_results(snapshot_files):
    """(file name, raw chain, clean chain, report, ChainGreeks) for every BTC/ETH snapshot."""
    return _load_all(snapshot_files)


@pytest.fixture(scope="session")
def eod_results(shared_data):
    """The same for every day of the Deribit daily files."""
    files = sorted((shared_data / "deribit_eod_2021").glob("btc_eod_*.txt"))
    assert len(files) == 2, f"expected the 2 shared months, found {len(files)}"
    return _load_all(files)

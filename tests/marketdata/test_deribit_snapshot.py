"""The Deribit snapshot CSV loader, held to the file's own columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deltahedge.core.errors import DataError
from deltahedge.marketdata import load_chain, load_chains

FILE = "deribit_chain_2026/deribit_options_snapshot_20260101T091835Z.csv"


def test_snapshot_file_yields_btc_and_eth_chains_with_every_row(shared_data):
    path = shared_data / FILE
    raw = pd.read_csv(path)
    chains = load_chains(path)
    assert [c.underlying for c in chains] == ["BTC", "ETH"]
    assert sum(len(c) for c in chains) == len(raw)
    assert all(c.inverse and c.venue == "deribit" for c in chains)


def test_snapshot_columns_match_the_file_row_by_row(shared_data):
    path = shared_data / FILE
    raw = pd.read_csv(path).set_index("instrument_name")
    chain = load_chain(path, underlying="btc")
    row = raw.loc[chain.instrument]
    np.testing.assert_array_equal(chain.strike, row["strike"].to_numpy())
    np.testing.assert_array_equal(chain.forward, row["futures_price"].to_numpy())
    np.testing.assert_array_equal(chain.mark, row["mark_price"].to_numpy())
    np.testing.assert_array_equal(chain.mark_iv, row["implied_volatility"].to_numpy())
    np.testing.assert_array_equal(chain.venue_delta, row["delta"].to_numpy())
    np.testing.assert_array_equal(np.isnan(chain.bid), row["bid_price"].isna().to_numpy())
    assert np.all(chain.kind == np.where(row["option_type"] == "call", 1, -1))
    # The file's time_to_maturity is seconds / (365.25 * 86400); ours is ACT/365 (DESIGN.md),
    # so ours = file * 365.25 / 365, to the file's ~1e-16 rounding.
    file_T = row["time_to_maturity"].to_numpy()
    np.testing.assert_allclose(chain.T, file_T * 365.25 / 365.0, rtol=1e-9, atol=0)


def test_known_instrument_has_the_readme_values(shared_data):
    # data README: BTC-27MAR26-90000-C has F = 93636.6, T = 0.221604 (the file's 365.25-day
    # T; ACT/365 gives 0.221604 * 365.25 / 365 = 0.221756), sigma = 0.4349 in the
    # 2026-01-05T09:25 snapshot
    chain = load_chain(
        shared_data / "deribit_chain_2026/deribit_options_snapshot_20260105T092511Z.csv",
        underlying="BTC",
    )
    i = int(np.flatnonzero(chain.instrument == "BTC-27MAR26-90000-C")[0])
    assert chain.forward[i] == pytest.approx(93636.6, abs=0.05)
    assert chain.T[i] == pytest.approx(0.221604 * 365.25 / 365.0, abs=5e-7)
    assert chain.mark_iv[i] == pytest.approx(0.4349)
    assert chain.kind[i] == 1 and chain.strike[i] == 90000.0


def test_file_with_two_underlyings_needs_a_choice(shared_data):
    with pytest.raises(DataError, match=r"underlying="):
        load_chain(shared_data / FILE)


def test_unknown_underlying_names_what_the_file_has(shared_data):
    with pytest.raises(DataError, match=r"\['BTC', 'ETH'\]"):
        load_chain(shared_data / FILE, underlying="SOL")


def test_bad_number_names_file_line_and_column(tmp_path, shared_data):
    lines = (shared_data / FILE).read_text().splitlines()[:4]
    cells = lines[3].split(",")
    cells[9] = "oops"  # ask_price of the third data row (file line 4)
    lines[3] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        DataError, match=r"bad\.csv: line 4, column 'ask_price': expected a number, got 'oops'"
    ):
        load_chains(bad)


def test_missing_column_is_named(tmp_path, shared_data):
    raw = pd.read_csv(shared_data / FILE, nrows=3).drop(columns=["mark_price"])
    raw["futures_price"] = raw["futures_price"]
    bad = tmp_path / "nomark.csv"
    raw.to_csv(bad, index=False)
    with pytest.raises(DataError, match=r"missing column\(s\) \['mark_price'\]"):
        load_chains(bad, format="deribit_snapshot_csv")

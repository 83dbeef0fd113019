"""The Deribit daily-file loader, on both shared months."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deltahedge.core.errors import DataError
from deltahedge.marketdata import load_chain, load_chains

MONTHS = ("btc_eod_202106.txt", "btc_eod_202107.txt")


def _raw(path):
    raw = pd.read_csv(path, sep=",", skipinitialspace=True)
    raw.columns = [c.strip("[]") for c in raw.columns]
    return raw


@pytest.mark.parametrize("name", MONTHS)
def test_daily_file_gives_one_chain_per_day_with_every_row(shared_data, name):
    path = shared_data / "deribit_eod_2021" / name
    raw = _raw(path)
    chains = load_chains(path)
    assert len(chains) == raw["QUOTE_DATE"].nunique()
    assert sum(len(c) for c in chains) == len(raw)
    assert all(c.underlying == "BTC" and c.inverse for c in chains)
    assert [c.ts_ns for c in chains] == sorted(c.ts_ns for c in chains)


def test_daily_rows_keep_the_file_values_and_conventions(shared_data):
    path = shared_data / "deribit_eod_2021" / MONTHS[0]
    raw = _raw(path)
    day = raw[raw["QUOTE_DATE"] == "2021-06-15"].set_index("INSTRUMENT_NAME")
    chain = load_chain(path, snapshot="2021-06-15")
    row = day.loc[chain.instrument]
    np.testing.assert_array_equal(chain.forward, row["UNDERLYING_PRICE"].to_numpy())
    np.testing.assert_array_equal(chain.mark_iv, row["MARK_IV"].to_numpy() / 100.0)
    np.testing.assert_array_equal(chain.venue_delta, row["DELTA"].to_numpy())
    np.testing.assert_array_equal(chain.venue_theta, row["THETA"].to_numpy())
    # a zero bid in the file means no bid
    np.testing.assert_array_equal(np.isnan(chain.bid), row["BID_PRICE"].to_numpy() == 0.0)
    # T (ACT/365 from QUOTE_UNIXTIME to EXPIRY_UNIX) agrees with the file's DTE (days, rounded to 5 dp)
    np.testing.assert_allclose(chain.T * 365.0, row["DTE"].to_numpy(), rtol=0, atol=6e-6)
    # the snapshot is taken at 04:00 UTC (QUOTE_READTIME "00:00" is New York time)
    assert pd.Timestamp(chain.ts_ns, unit="ns").hour == 4


def test_daily_mark_is_black76_at_mark_iv(shared_data):
    # hand check of the first data row: BTC-1JUN21-30000-C, F = 36677.34, K = 30000,
    # T = 14354 s / 31536000 = 4.5516e-4, sigma = 1.4963: deep ITM, so the coin price is
    # about intrinsic (F - K) / F = 6677.34 / 36677.34 = 0.182056
    chain = load_chain(shared_data / "deribit_eod_2021" / MONTHS[0], snapshot=0)
    i = int(np.flatnonzero(chain.instrument == "BTC-1JUN21-30000-C")[0])
    assert chain.T[i] == pytest.approx(14354 / 31_536_000, rel=1e-12)
    assert chain.mark[i] == pytest.approx(6677.34 / 36677.34, abs=2e-6)


def test_unknown_day_lists_the_days_there_are(shared_data):
    with pytest.raises(DataError, match=r"no snapshot at '2021-08-01'.*2021-06-01"):
        load_chain(shared_data / "deribit_eod_2021" / MONTHS[0], snapshot="2021-08-01")


def test_bad_eod_cell_is_located(tmp_path, shared_data):
    lines = (shared_data / "deribit_eod_2021" / MONTHS[0]).read_text().splitlines()[:6]
    cells = lines[4].split(", ")
    cells[26] = "n/a"  # MARK_IV of file line 5
    lines[4] = ", ".join(cells)
    bad = tmp_path / "eod.txt"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        DataError, match=r"eod\.txt: line 5, column 'MARK_IV': expected a number, got 'n/a'"
    ):
        load_chains(bad)

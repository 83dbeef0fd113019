"""Perpetual and dated-futures marks beside the 2026 snapshots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deltahedge.core.errors import DataError
from deltahedge.marketdata.futures import PERPETUAL, load_futures_marks
from deltahedge.marketdata.names import parse_future_name


@pytest.fixture(scope="module")
def marks(shared_data):
    return load_futures_marks(shared_data / "deribit_chain_2026")


def test_both_files_load_every_row(marks, shared_data):
    folder = shared_data / "deribit_chain_2026"
    n_perp = len(pd.read_csv(folder / "perpetual_futures_prices.csv"))
    n_term = len(pd.read_csv(folder / "term_futures_marks.csv"))
    assert len(marks) == n_perp + n_term
    assert np.count_nonzero(marks.expiry_ns == PERPETUAL) == n_perp
    assert np.all(np.diff(marks.ts_ns) >= 0)


def test_option_forward_is_the_futures_price_the_options_carried(marks, shared_data):
    name = "deribit_options_snapshot_20260105T092511Z.csv"
    opts = pd.read_csv(shared_data / "deribit_chain_2026" / name)
    rows = marks.select((marks.snapshot_file == name) & (marks.expiry_ns != PERPETUAL))
    assert len(rows) > 0
    for inst, fwd in zip(rows.instrument, rows.option_forward, strict=True):
        seen = opts.loc[opts["futures_instrument_name"] == inst, "futures_price"].to_numpy()
        if seen.size:
            assert np.min(np.abs(seen - fwd)) < 1e-6, inst


def test_perpetual_is_close_to_the_index_and_curve_is_by_expiry(marks, shared_data):
    name = "deribit_options_snapshot_20260105T092511Z.csv"
    opts = pd.read_csv(shared_data / "deribit_chain_2026" / name)
    ts = int(marks.ts_ns[marks.snapshot_file == name][0])
    t, perp = marks.perpetual("BTC")
    btc_index = opts.loc[opts["currency"] == "BTC", "index_price"].median()
    assert perp[t == ts][0] == pytest.approx(btc_index, rel=2e-3)  # perp basis is small
    expiry, fut = marks.curve("BTC", ts)
    assert np.all(np.diff(expiry) > 0)
    assert expiry[-1] == parse_future_name("BTC-25DEC26")[1]
    assert fut[-1] > perp[t == ts][0]  # contango in January 2026


def test_not_a_marks_file_is_refused(shared_data):
    with pytest.raises(DataError, match="neither a perpetual nor a term"):
        load_futures_marks(
            shared_data / "deribit_chain_2026" / "deribit_options_snapshot_20260105T092511Z.csv"
        )

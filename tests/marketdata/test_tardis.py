"""The Tardis.dev options_chain loader, on a fixture written from the documentation."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from scipy.special import ndtr

from deltahedge.core.errors import DataError
from deltahedge.marketdata import detect_format, load_chain, load_chains
from deltahedge.marketdata.names import parse_option_name

HEADER = (
    "exchange,symbol,timestamp,local_timestamp,type,strike_price,expiration,open_interest,"
    "last_price,bid_price,bid_amount,bid_iv,ask_price,ask_amount,ask_iv,mark_price,mark_iv,"
    "underlying_index,underlying_price,delta,gamma,vega,theta,rho"
)
# Line 2 is the example row of the Tardis docs (options_chain, Deribit). Line 3 is an
# earlier update of the same symbol (constructed) that line 2 must supersede; line 4 the
# call of the same strike (constructed: mark by parity C = P + (F - K) / F, no bid);
# line 5 an ETH option (constructed).
FIXTURE = (
    "\n".join(
        [
            HEADER,
            "deribit,BTC-9JUN20-9875-P,1591574399413000,1591574400196008,put,9875,1591689600000000,0.1,0.0295,0.0205,15.0,55.91,0.0235,15.0,68.94,0.02210436,62.89,SYN.BTC-9JUN20,9756.36,-0.61752,0.00103,2.24964,-53.05655,-0.22796",
            "deribit,BTC-9JUN20-9875-P,1591574300000000,1591574300500000,put,9875,1591689600000000,0.1,0.0295,0.0200,15.0,54.00,0.0240,15.0,70.00,0.02300000,63.50,SYN.BTC-9JUN20,9750.00,-0.62000,0.00103,2.24000,-53.00000,-0.22800",
            "deribit,BTC-9JUN20-9875-C,1591574399413000,1591574400196008,call,9875,1591689600000000,2.0,,,,,0.0105,5.0,66.10,0.00994365,62.89,SYN.BTC-9JUN20,9756.36,0.38248,0.00103,2.24964,-53.05655,0.13000",
            "deribit,ETH-26JUN20-250-C,1591574399000000,1591574399900000,call,250,1593158400000000,10,0.012,0.011,20,70.1,0.013,20,75.2,0.01213,72.5,ETH-26JUN20,244.1,0.42,0.013,0.31,-0.51,0.02",
        ]
    )
    + "\n"
)


@pytest.fixture()
def tardis_file(tmp_path):
    p = tmp_path / "deribit_options_chain_2020-06-07_OPTIONS.csv"
    p.write_text(FIXTURE)
    return p


def test_tardis_file_is_detected_and_split_by_underlying(tardis_file):
    assert detect_format(tardis_file) == "tardis_options_chain"
    chains = load_chains(tardis_file)
    assert [(c.underlying, len(c)) for c in chains] == [("BTC", 2), ("ETH", 1)]


def test_tardis_latest_update_per_symbol_wins_and_units_convert(tardis_file):
    c = load_chain(tardis_file, underlying="BTC")
    i = int(np.flatnonzero(c.instrument == "BTC-9JUN20-9875-P")[0])
    assert c.mark[i] == 0.02210436 and c.forward[i] == 9756.36  # line 2, not line 3
    assert c.mark_iv[i] == pytest.approx(0.6289)  # percent -> decimal
    assert (c.bid_iv[i], c.ask_iv[i]) == pytest.approx((0.5591, 0.6894))
    assert c.ts_ns == 1591574399413000 * 1000  # microseconds -> ns
    assert c.expiry_ns[i] == parse_option_name("BTC-9JUN20-9875-P")[1]  # 08:00 UTC
    j = int(np.flatnonzero(c.instrument == "BTC-9JUN20-9875-C")[0])
    assert np.isnan(c.bid[j]) and np.isnan(c.bid_iv[j])


def test_documented_row_greeks_follow_from_its_mark_iv(tardis_file):
    # The units are right if Black-76 at mark_iv / 100 and underlying_price reproduces
    # the row's own delta (-0.61752) and vega per vol point (2.24964) to their rounding.
    c = load_chain(tardis_file, underlying="BTC")
    i = int(np.flatnonzero(c.instrument == "BTC-9JUN20-9875-P")[0])
    F, K, T, s = c.forward[i], c.strike[i], c.T[i], c.mark_iv[i]
    d1 = (np.log(F / K) + 0.5 * s * s * T) / (s * np.sqrt(T))
    assert ndtr(d1) - 1.0 == pytest.approx(c.venue_delta[i], abs=5e-6)
    vega = F * np.exp(-0.5 * d1 * d1) / np.sqrt(2 * np.pi) * np.sqrt(T) / 100.0
    assert vega == pytest.approx(c.venue_vega[i], abs=5e-5)


def test_tardis_gzip_and_time_cut(tmp_path):
    p = tmp_path / "chain.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(FIXTURE)
    from deltahedge.marketdata.tardis import load_tardis_options_chain

    early = load_tardis_options_chain(p, at_us=1591574350000000)
    assert [c.underlying for c in early] == ["BTC"]
    assert early[0].mark[0] == 0.023  # only the earlier update existed then


def test_tardis_bad_cell_names_its_file_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text(FIXTURE.replace("0.00994365", "x0.0099"))
    with pytest.raises(DataError, match=r"bad\.csv: line 4, column 'mark_price'"):
        load_chains(p)


def test_load_chains_at_a_time_uses_the_updates_known_then(tardis_file):
    # 1591574350000000 us = 2020-06-07T23:59:10Z: only line 3 (BTC put, 23:58:20) existed
    c = load_chain(tardis_file, at="2020-06-07T23:59:10Z")
    assert c.underlying == "BTC" and list(c.instrument) == ["BTC-9JUN20-9875-P"]
    assert c.mark[0] == 0.023

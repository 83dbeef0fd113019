"""Forwards from put-call parity and the cleaning report."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from rich.console import Console

from deltahedge.marketdata.chain import OptionChain
from deltahedge.marketdata.cleaning import REASONS, CleaningReport, clean_chain
from deltahedge.marketdata.forwards import expiry_forwards, parity_forward_one, with_forwards
from deltahedge.pricing import inverse_black76


def test_inverse_parity_hand_example():
    # F = 50000, K = 45000: C - P = (F - K) / F = 0.1 coin, so F = K / (1 - 0.1) = 50000
    f, n = parity_forward_one(np.array([45000.0]), np.array([0.15]), np.array([0.05]), True)
    assert f == pytest.approx(50000.0, rel=1e-12) and n == 1
    # linear: C - P = F - K -> 45000 + 5000
    f, _ = parity_forward_one(np.array([45000.0]), np.array([7000.0]), np.array([2000.0]), False)
    assert f == pytest.approx(50000.0, rel=1e-12)


def test_parity_recovers_the_forward_of_black76_prices():
    K = np.linspace(40000.0, 60000.0, 11)
    c = inverse_black76(1, 51234.5, K, 0.1, 0.6).price_coin
    p = inverse_black76(-1, 51234.5, K, 0.1, 0.6).price_coin
    f, n = parity_forward_one(K, c, p, True, n_strikes=3)
    assert f == pytest.approx(51234.5, rel=1e-12) and n == 3


def test_parity_forwards_match_deribit_futures_price(snapshot_results):
    rel = []
    for _, raw, *_ in snapshot_results:
        fw = expiry_forwards(raw)
        assert np.all(fw.source == "venue") and np.all(fw.n_pairs >= 1)
        rel.append(fw.parity_forward / fw.venue_forward - 1.0)
    r = np.abs(np.concatenate(rel))
    med, p99 = np.median(r), np.percentile(r, 99)
    print(
        f"parity vs futures_price, relative: n={r.size} median={med:.3g} p99={p99:.3g} max={r.max():.3g}"
    )
    # marks and futures_price are not read at the same instant (see test_real_greeks)
    assert med < 2e-5 and p99 < 5e-4


def test_parity_forward_stays_within_the_rows_forwards_in_daily_files(eod_results):
    # daily files: each row's mark comes from its own UNDERLYING_PRICE, so the implied
    # forward must lie within the expiry's range of row forwards
    for _, raw, *_ in eod_results:
        fw = expiry_forwards(raw)
        for e, f in zip(fw.expiry_ns, fw.parity_forward, strict=True):
            rows = raw.forward[raw.expiry_ns == e]
            assert rows.min() * (1 - 1e-9) <= f <= rows.max() * (1 + 1e-9)


def _small_chain(shared_data) -> OptionChain:
    from deltahedge.marketdata import load_chain

    chain = load_chain(
        shared_data / "deribit_chain_2026/deribit_options_snapshot_20260105T092511Z.csv",
        underlying="BTC",
    )
    return chain.select(np.flatnonzero(chain.expiry_ns == chain.expiries()[5]))


def test_missing_forwards_are_filled_from_parity(shared_data):
    chain = _small_chain(shared_data)
    blank = replace(chain, forward=np.full(len(chain), np.nan))
    filled, n = with_forwards(blank)
    assert n == len(chain)
    np.testing.assert_allclose(filled.forward, np.median(chain.forward), rtol=5e-4)
    _, report = clean_chain(blank)
    assert report.forwards_filled == len(chain) and report.dropped["missing_forward"] == 0


def test_cleaning_counts_each_reason_once(shared_data):
    chain = _small_chain(shared_data)
    n = len(chain)
    bid, ask, mark = chain.bid.copy(), chain.ask.copy(), chain.mark.copy()
    T, K, F = chain.T.copy(), chain.strike.copy(), chain.forward.copy()
    K[0] = -1.0  # bad_strike
    T[1] = 0.0  # expired
    F[2] = np.nan  # missing_forward (fill_forwards=False)
    bid[3], ask[3] = 0.2, 0.1  # crossed
    bid[4] = ask[4] = mark[4] = np.nan  # no_price
    itm_call = int(np.flatnonzero((chain.kind == 1) & (chain.strike < chain.forward))[-1])
    assert itm_call > 7
    mark[itm_call] = 0.5 * (F[itm_call] - K[itm_call]) / F[itm_call]  # below_intrinsic
    mark[6] = 1.5 if chain.kind[6] == 1 else 2.0 * chain.strike[6] / F[6]  # above_bound
    dup = chain.select(np.r_[np.arange(n), 7])  # duplicate of row 7 at the end
    bad = replace(
        dup,
        bid=np.r_[bid, bid[7]],
        ask=np.r_[ask, ask[7]],
        mark=np.r_[mark, mark[7]],
        T=np.r_[T, T[7]],
        strike=np.r_[K, K[7]],
        forward=np.r_[F, F[7]],
    )
    clean, report = clean_chain(bad, fill_forwards=False)
    expected = {r: 0 for r in REASONS}
    for r in (
        "bad_strike",
        "expired",
        "missing_forward",
        "crossed",
        "no_price",
        "below_intrinsic",
        "above_bound",
        "duplicate",
    ):
        expected[r] = 1
    assert report.dropped == expected
    assert report.n_in == n + 1 and report.n_out == len(clean) == n + 1 - 8
    assert chain.instrument[7] in report.examples["duplicate"]
    text = Console(width=120, record=True)
    text.print(report)
    out = text.export_text()
    assert "crossed" in out and f"{n - 7} / {n + 1}" in out


def test_combined_report_adds_up(snapshot_results):
    reports = [rep for *_, rep, _ in snapshot_results]
    total = CleaningReport.combine(reports)
    assert total.n_in == sum(r.n_in for r in reports)
    assert total.dropped["below_intrinsic"] == sum(r.dropped["below_intrinsic"] for r in reports)
    assert "kept" in str(total)

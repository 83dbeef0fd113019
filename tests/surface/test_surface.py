"""Surface: the issue's targets on every real snapshot, interpolation, forward curve, JSON."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from deltahedge.core.errors import InvalidInput
from deltahedge.marketdata import OptionChain
from deltahedge.surface import (
    Surface,
    fit_surface,
    quote_ivs,
    slice_quotes,
    svi_total_variance,
    usable_quotes,
)


def _errors_and_inside(s: Surface, chain: OptionChain) -> tuple[np.ndarray, int, int]:
    errs, n_in, n_q = [], 0, 0
    for i, q in enumerate(slice_quotes(chain)):
        assert q.expiry_ns == s.expiry_ns[i]
        p = s.slice_params(i)
        errs.append(100 * (np.sqrt(svi_total_variance(p, q.k) / q.T) - q.mark_iv))
        fr = np.sqrt(svi_total_variance(p, q.row_k) / q.T)
        n_in += int(np.sum((fr >= q.row_bid_iv) & (fr <= q.row_ask_iv)))
        n_q += len(fr)
    return np.concatenate(errs), n_in, n_q


def test_every_real_snapshot_meets_the_svi_fit_targets(
    real_chains: dict[str, list[OptionChain]], svi_surfaces: dict[str, list[Surface]]
) -> None:
    # Targets (issue 3), per snapshot and underlying, over expiries with >= 5 usable
    # strikes: median |fit - mark IV| <= 0.5 vol point; >= 90 % of fitted vols inside the
    # bid-ask IV of rows quoted on both sides; no butterfly arbitrage in any slice.
    checked = 0
    for u in ("BTC", "ETH"):
        for chain, s in zip(real_chains[u], svi_surfaces[u], strict=True):
            err, n_in, n_q = _errors_and_inside(s, chain)
            assert np.median(np.abs(err)) <= 0.5, (u, chain.ts_ns, np.median(np.abs(err)))
            assert n_in / n_q >= 0.90, (u, chain.ts_ns, n_in / n_q)
            assert all(d.butterfly == () and d.min_g >= 0 for d in s.diagnostics)
            # the diagnostics agree with the recomputation
            assert sum(d.n_inside for d in s.diagnostics) == n_in
            checked += 1
    assert checked == 50


def test_per_slice_fit_quality_on_real_snapshots(svi_surfaces: dict[str, list[Surface]]) -> None:
    # Per expiry (621 slices of 25 snapshots x BTC/ETH): every slice within 0.5 vol point
    # of the marks (median), and all but two with >= 90 % of quoted rows inside their
    # bid-ask IV; the two are BTC 30JAN26 (24 days, 36 strikes, sub-vol-point spreads
    # near the money) at 88.1 % (52 of 59 rows) on 2026-01-06 09:20 and 15:32
    # (`deltahedge surface slices`). A long global search (differential evolution,
    # 100 x 1500, 10 seeds, butterfly-free) finds 54/59 for the first only by giving up
    # the put wing (fit 68 % at the 55000 put, bid 79 %) and at best 53/59 (89.8 %) for
    # the second: no SVI slice meets 90 % there and still follows the wing, so the fit
    # keeps the wing. Before the fit's step 3 (fit.py) 13 slices missed the median
    # target (worst 0.83) and 19 the share (81.7 %).
    n_in = n = 0
    for surfaces in svi_surfaces.values():
        for s in surfaces:
            for d in s.diagnostics:
                n += 1
                assert d.median_abs_err_vol_pts <= 0.5, (s.ts_ns, d.T)
                assert d.share_inside >= 0.88, (s.ts_ns, d.T)
                assert d.butterfly == () and d.min_g >= 0, (s.ts_ns, d.T)
                n_in += d.share_inside < 0.9
    assert n == 621
    assert n_in <= 2, n_in


def test_slice_score_agrees_with_the_diagnostics(
    real_chains: dict[str, list[OptionChain]], svi_surfaces: dict[str, list[Surface]]
) -> None:
    # the fit ranks candidates by _score; it must count what diagnose_slice reports
    from deltahedge.surface.fit import _score

    for u in ("BTC", "ETH"):
        for chain, s in list(zip(real_chains[u], svi_surfaces[u], strict=True))[::6]:
            for i, q in enumerate(slice_quotes(chain)):
                d = s.diagnostics[i]
                missed, n_out, err = _score(s.slice_params(i), q)
                assert n_out == d.n_quoted_rows - d.n_inside
                assert err * 100 == pytest.approx(d.median_abs_err_vol_pts, rel=1e-12)
                want = int(d.median_abs_err_vol_pts > 0.5) + int(d.share_inside < 0.9)
                assert missed == want


def test_vol_at_a_listed_expiry_is_that_slice(svi_surfaces: dict[str, list[Surface]]) -> None:
    s = svi_surfaces["BTC"][0]
    i = 7
    K = s.forwards[i] * np.exp(np.linspace(-0.4, 0.4, 9))
    want = np.sqrt(svi_total_variance(s.slice_params(i), np.log(K / s.forwards[i])) / s.T[i])
    np.testing.assert_allclose(s.vol(K, np.full(9, s.T[i])), want, rtol=1e-12)
    np.testing.assert_allclose(s.forward(s.T), s.forwards, rtol=1e-12)


def test_total_variance_is_linear_in_T_between_expiries_and_flat_vol_outside(
    svi_surfaces: dict[str, list[Surface]],
) -> None:
    s = svi_surfaces["ETH"][3]
    k = np.linspace(-0.3, 0.3, 7)
    w = [svi_total_variance(s.slice_params(i), k) for i in range(len(s.T))]
    t_mid = 0.25 * s.T[4] + 0.75 * s.T[5]
    np.testing.assert_allclose(s.total_variance(k, t_mid), 0.25 * w[4] + 0.75 * w[5], rtol=1e-12)
    t_before, t_after = 0.5 * s.T[0], 2.0 * s.T[-1]
    np.testing.assert_allclose(s.total_variance(k, t_before) / t_before, w[0] / s.T[0], rtol=1e-12)
    np.testing.assert_allclose(s.total_variance(k, t_after) / t_after, w[-1] / s.T[-1], rtol=1e-12)


def test_forward_curve_is_log_linear_through_spot_and_forwards(
    svi_surfaces: dict[str, list[Surface]],
) -> None:
    s = svi_surfaces["BTC"][5]
    assert float(s.forward(1e-12)) == pytest.approx(s.spot, rel=1e-9)
    t = 0.5 * (s.T[8] + s.T[9])
    assert float(s.forward(t)) == pytest.approx(np.sqrt(s.forwards[8] * s.forwards[9]), rel=1e-12)


def test_dvol_dk_is_the_derivative_of_vol_in_log_strike(
    svi_surfaces: dict[str, list[Surface]],
) -> None:
    s = svi_surfaces["BTC"][10]
    T = np.array([0.01, 0.1, 0.3, 0.6, 1.2])
    F = s.forward(T)
    K = F * np.array([0.8, 0.95, 1.0, 1.1, 1.3])
    h = 1e-5  # K e^{+-h} moves k by +-h at fixed T (and fixed forward)
    fd = (s.vol(K * np.exp(h), T) - s.vol(K * np.exp(-h), T)) / (2 * h)
    np.testing.assert_allclose(s.dvol_dk(K, T), fd, rtol=1e-6, atol=1e-8)


def test_json_round_trip_gives_the_same_surface(svi_surfaces: dict[str, list[Surface]]) -> None:
    s = svi_surfaces["ETH"][0]
    back = Surface.from_json(s.to_json())
    K, T = np.array([2500.0, 3000.0, 3500.0]), np.array([0.02, 0.2, 0.7])
    np.testing.assert_array_equal(back.vol(K, T), s.vol(K, T))
    assert back.diagnostics == s.diagnostics and back.calendar == s.calendar
    assert back.skipped == s.skipped and back.n_rows == s.n_rows and s.n_rows > 0
    assert back.method == "svi" and back.underlying == "ETH"


def test_calendar_repair_removes_calendar_arbitrage_and_reports_the_cost(
    real_chains: dict[str, list[OptionChain]], svi_surfaces: dict[str, list[Surface]]
) -> None:
    chain = real_chains["BTC"][0]
    plain = svi_surfaces["BTC"][0]
    assert plain.calendar != ()  # this snapshot's free SVI fits cross
    fixed = fit_surface(chain, "svi", repair_calendar=True)
    assert fixed.calendar == ()
    # raising a slice's level can only move its fit away from the quotes
    assert sum(d.rmse_vol_pts for d in fixed.diagnostics) >= sum(
        d.rmse_vol_pts for d in plain.diagnostics
    )


def test_bad_arguments_raise(
    real_chains: dict[str, list[OptionChain]], svi_surfaces: dict[str, list[Surface]]
) -> None:
    with pytest.raises(InvalidInput, match="method"):
        fit_surface(real_chains["BTC"][0], "sabr")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="> 0"):
        svi_surfaces["BTC"][0].vol([-1.0], [0.1])
    with pytest.raises(InvalidInput, match="repair_calendar applies to method='svi'"):
        fit_surface(real_chains["BTC"][0], "ssvi", repair_calendar=True)
    with pytest.raises(InvalidInput, match="min_strikes=3"):
        fit_surface(real_chains["BTC"][0], min_strikes=3)


def test_vol_kernel_matches_its_python_twin(svi_surfaces: dict[str, list[Surface]]) -> None:
    from deltahedge.surface import _eval

    s = svi_surfaces["BTC"][12]
    rng = np.random.default_rng(5)
    T = rng.uniform(0.0005, 2.0, 300)
    K = s.forward(T) * np.exp(rng.normal(0, 0.4, 300))
    args = (s.T, np.log(s.forwards), float(np.log(s.spot)), s.params, K, T)
    fast = (np.empty(300), np.empty(300))
    slow = (np.empty(300), np.empty(300))
    assert _eval.vol_kernel(*args, *fast) == 0
    assert _eval.vol_kernel.py_func(*args, *slow) == 0
    np.testing.assert_allclose(fast[0], slow[0], rtol=1e-12)
    np.testing.assert_allclose(fast[1], slow[1], rtol=1e-10, atol=1e-14)


def test_rows_the_fit_cannot_use_are_counted_once_per_reason(
    real_chains: dict[str, list[OptionChain]],
) -> None:
    chain = real_chains["BTC"][0]
    base = usable_quotes(chain)
    # used rows, counted independently: the rows at the usable strikes of fitted expiries
    used = sum(
        int(np.isin(chain.strike[chain.expiry_ns == q.expiry_ns], q.strike).sum())
        for q in base.slices
    )
    assert base.n_used == used and sum(base.skipped.values()) == len(chain) - used
    # five strikes of one expiry quoted two-sided by both a call and a put (the CSV has
    # no bid/ask IVs: they are implied from the prices)
    q = base.slices[8]
    bid_iv, ask_iv = quote_ivs(chain)
    pairs = []
    for K in q.strike:
        r = np.flatnonzero((chain.expiry_ns == q.expiry_ns) & (chain.strike == K))
        if len(r) == 2 and np.all(np.isfinite(bid_iv[r]) & np.isfinite(ask_iv[r])):
            pairs.append(r)
    (c1, _), (c2, _), (c3, _), (c4, _), both = pairs[:5]
    cols = {n: getattr(chain, n).copy() for n in ("strike", "T", "forward", "mark_iv")}
    cols["strike"][c1] = np.nan  # bad_strike: its put keeps the strike usable
    cols["T"][c2] = 0.0  # expired
    cols["forward"][c3] = np.nan  # no_forward (usable_quotes does not fill forwards)
    cols["mark_iv"][c4] = np.nan  # no_mark_iv
    bid = chain.bid.copy()
    bid[both] = np.nan  # one_sided: neither row of the strike is two-sided
    bad = replace(chain, bid=bid, **cols)
    sel = usable_quotes(bad)
    want = dict(base.skipped)
    for reason, n in (
        ("bad_strike", 1),
        ("expired", 1),
        ("no_forward", 1),
        ("no_mark_iv", 1),
        ("one_sided", 2),
    ):
        want[reason] += n
    assert sel.skipped == want and sel.n_used == base.n_used - 6
    assert len(sel.slices[8]) == len(q) - 1
    # expiries with fewer usable strikes than asked for: all their used rows move over
    n_min = len(min(base.slices, key=len)) + 1
    small = [x for x in base.slices if len(x) < n_min]
    n_small = sum(
        int(np.isin(chain.strike[chain.expiry_ns == x.expiry_ns], x.strike).sum()) for x in small
    )
    fewer = usable_quotes(chain, min_strikes=n_min)
    assert n_small > 0 and fewer.skipped["few_strikes"] == n_small
    assert len(fewer.slices) == len(base.slices) - len(small)


def test_fit_fills_missing_forwards_from_parity_and_says_so(
    real_chains: dict[str, list[OptionChain]], svi_surfaces: dict[str, list[Surface]]
) -> None:
    chain, ref = real_chains["BTC"][0], svi_surfaces["BTC"][0]
    assert ref.forwards_filled == 0 and ref.n_rows == len(chain)
    bare = replace(chain, forward=np.full(len(chain), np.nan))
    s = fit_surface(bare)
    assert s.forwards_filled == len(chain) and s.skipped == ref.skipped
    np.testing.assert_array_equal(s.expiry_ns, ref.expiry_ns)
    # parity (3 strikes nearest the money) within 0.05 % of Deribit's futures forwards
    np.testing.assert_allclose(s.forwards, ref.forwards, rtol=5e-4)
    for d in s.diagnostics:
        assert d.median_abs_err_vol_pts <= 0.5 and d.share_inside >= 0.9 and not d.butterfly
    # calls only: no call-put pair, no forward, nothing to fit; the error says why
    calls = bare.select(bare.kind == 1)
    with pytest.raises(InvalidInput, match=r"no_forward=\d+.*put-call parity"):
        fit_surface(calls)

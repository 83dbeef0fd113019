"""Book Greeks on a real Deribit snapshot: against Deribit's own deltas, the pricing
package, and the surface package's smile deltas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deltahedge.core.enums import OptionKind, Settlement
from deltahedge.instruments import Option
from deltahedge.marketdata import load_chains
from deltahedge.marketdata.state import MarketState, UnderlyingState
from deltahedge.portfolio import Position, compile_book
from deltahedge.pricing import black76


@pytest.fixture(scope="module")
def btc_chain(shared_data: Path):
    f = shared_data / "deribit_chain_2026" / "deribit_options_snapshot_20260105T092511Z.csv"
    if not f.is_file():
        pytest.skip(f"snapshot {f.name} not found in {f.parent}")
    chain = next(c for c in load_chains(f) if c.underlying == "BTC")
    keep = np.isfinite(chain.mark_iv) & (chain.T > 2 / 365) & np.isfinite(chain.venue_delta)
    return chain.select(keep)


def _book(chain, units: np.ndarray):
    opts = [
        Option(
            str(s),
            "deribit",
            "BTC",
            Settlement.INVERSE,
            1.0,
            "BTC",
            0.1,
            0.1,
            1e-4,
            strike=float(k),
            expiry_ns=int(e),
            kind=OptionKind(int(p)),
        )
        for s, k, e, p in zip(
            chain.instrument, chain.strike, chain.expiry_ns, chain.kind, strict=True
        )
    ]
    return [Position(o, float(q)) for o, q in zip(opts, units, strict=True)]


def _market(chain) -> MarketState:
    # Deribit's index and each expiry's forward: b = F_i / S is the real term structure
    return MarketState(chain.ts_ns, {"BTC": UnderlyingState.from_chain(chain)})


def test_per_option_deltas_match_deribit_own_deltas(btc_chain):
    chain = btc_chain
    m = _market(chain)
    book = compile_book(_book(chain, np.ones(len(chain))), vols=chain.mark_iv)
    r = book.risk(m)
    n = len(chain)
    S = m.index("BTC")
    # contributions are dV/dS; Deribit quotes dV/dF of its own forward: divide by b = F / S
    fwd_delta = r.contributions[:n, 1] / (chain.forward / S)
    assert np.median(np.abs(fwd_delta - chain.venue_delta)) < 2e-4
    assert np.quantile(np.abs(fwd_delta - chain.venue_delta), 0.95) < 2e-3


def test_kernel_matches_pricing_black76_on_real_chain(btc_chain):
    chain = btc_chain
    m = _market(chain)
    rng = np.random.default_rng(5)
    units = rng.normal(size=len(chain))
    r = compile_book(_book(chain, units), vols=chain.mark_iv).risk(m)
    n = len(chain)
    T = (chain.expiry_ns - chain.ts_ns) / (365 * 86_400e9)
    F = np.array([m.forward("BTC", int(e)) for e in chain.expiry_ns])  # the expiry's forward
    g = black76(chain.kind, F, chain.strike, T, chain.mark_iv)
    b = F / m.index("BTC")
    np.testing.assert_allclose(r.contributions[:n, 0], units * g.price, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(r.contributions[:n, 1], units * g.delta * b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        r.contributions[:n, 2], units * g.gamma * b * b, rtol=1e-9, atol=1e-15
    )
    np.testing.assert_allclose(r.contributions[:n, 3], units * g.vega, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(r.contributions[:n, 4], units * g.theta, rtol=1e-10, atol=1e-6)


@pytest.mark.parametrize("dynamics", ["sticky_moneyness", "min_variance"])
def test_smile_deltas_match_surface_package(btc_chain, dynamics):
    from deltahedge.surface import fit_surface, smile_delta

    chain = btc_chain
    surf = fit_surface(chain, "svi")
    # a market whose forwards are the surface's, so both read the vol at the same k
    u = UnderlyingState(float(surf.forwards[0]), surf.expiry_ns, surf.forwards)
    m = MarketState(chain.ts_ns, {"BTC": u})
    sel = np.isin(chain.expiry_ns, surf.expiry_ns)
    sub = chain.select(sel)
    n = len(sub)
    book = compile_book(_book(sub, np.ones(n))).with_surface(surf, m)
    coeffs = (-0.2, 0.4, -0.3) if dynamics == "min_variance" else None
    r = book.risk(m, delta_model=dynamics, min_variance=coeffs)
    F = np.array([m.forward("BTC", int(e)) for e in sub.expiry_ns])
    T = (sub.expiry_ns - sub.ts_ns) / (365 * 86_400e9)
    theirs = smile_delta(surf, sub.kind, F, sub.strike, T, dynamics=dynamics, coeffs=coeffs)
    b = F / m.index("BTC")
    np.testing.assert_allclose(r.contributions[:n, 1], theirs * b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("numeraire", ["usd", "coin"])
def test_attribution_between_two_real_snapshots_explains_most_of_the_pnl(shared_data, numeraire):
    from deltahedge.portfolio import attribute_pnl

    d = shared_data / "deribit_chain_2026"
    names = [
        "deribit_options_snapshot_20260105T092511Z.csv",
        "deribit_options_snapshot_20260105T153329Z.csv",
    ]
    if not all((d / n).is_file() for n in names):
        pytest.skip(f"snapshots {names} not found in {d}")
    a, b = (next(c for c in load_chains(d / n) if c.underlying == "BTC") for n in names)
    live = np.isfinite(a.mark_iv) & (a.T > 3 / 365)
    common = sorted(set(a.instrument[live]) & set(b.instrument[np.isfinite(b.mark_iv)]))
    ia = {s: i for i, s in enumerate(a.instrument)}
    ib = {s: i for i, s in enumerate(b.instrument)}
    sa = a.select(np.array([ia[s] for s in common]))
    sb = b.select(np.array([ib[s] for s in common]))
    units = np.random.default_rng(1).normal(size=len(common)).round(1)
    book = compile_book(_book(sa, units), vols=sa.mark_iv)
    ma = MarketState(a.ts_ns, {"BTC": UnderlyingState.from_chain(a)})
    mb = MarketState(b.ts_ns, {"BTC": UnderlyingState.from_chain(b)})
    # 6 hours, index 92,531 -> 93,654 (+1.2 %), every vol from Deribit's own marks
    att = attribute_pnl(book, ma, mb, book.with_vols(sb.mark_iv), numeraire=numeraire)
    assert sum(att.parts().values()) == pytest.approx(att.total, rel=1e-12)
    # the residual (cross terms, basis moving apart from the index) stays small
    assert abs(att.residual) < 0.1 * abs(att.total)
    assert abs(att.delta) > abs(att.vega) > abs(att.theta)


def test_coin_numeraire_deltas_are_deribit_delta_minus_coin_mark(btc_chain):
    # premium-adjusted delta = N(d1) - C_coin: Deribit's delta minus its mark price in BTC
    chain = btc_chain
    m = MarketState(chain.ts_ns, {"BTC": UnderlyingState.from_chain(chain)})
    r = compile_book(_book(chain, np.ones(len(chain))), vols=chain.mark_iv).risk(m, "coin")
    n = len(chain)
    F = np.array([m.forward("BTC", int(e)) for e in chain.expiry_ns])
    S = m.index("BTC")
    # coin delta = b * N(d1)-part - V/S; per unit forward: divide by b = F/S
    ours = r.contributions[:n, 1] * S / F
    deribit = chain.venue_delta - chain.mark  # mark in BTC = C_usd / F
    assert np.median(np.abs(ours - deribit)) < 3e-4

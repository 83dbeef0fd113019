"""Portfolio and hedging benchmarks: book risk of a 2,000-option book after a spot move,
and one policy decision.

The book is synthetic and seeded (no data files): 2,000 Deribit-style BTC options over 10
expiries (1 day to 1 year), strikes on a 1,000 USD grid from 50 % to 200 % of spot, calls
and puts, plus an inverse perpetual and coin collateral. Targets (issue 4): ``book_risk``
after a spot move <= 100 us; a policy decision <= 20 us. ``book_risk`` is timed both ways:
the compiled book with its vols already set (``CompiledBook.risk``, what the engine calls
each tick) and the public ``book_risk(book, market, surface=...)``, which takes each
option's vol (and skew) from a seeded SVI surface of the same 10 expiries, unchanged by
the move.

Peers measured in the same run: the numpy twin of the fused kernel; the pricing
package's vectorised ``black76`` plus numpy aggregation; and a per-option Python loop over
``py_vollib.black`` greeks (what a book built on per-option objects does).
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from functools import partial

import numpy as np
from rich.console import Console
from rich.table import Table

from deltahedge.bench.timing import best_time
from deltahedge.core.enums import OptionKind, Settlement
from deltahedge.instruments import Option, parse_hedge_instrument, parse_instrument
from deltahedge.marketdata.state import MarketState, Quote, UnderlyingState
from deltahedge.portfolio import Collateral, CompiledBook, Position, book_risk, compile_book
from deltahedge.portfolio import _kernels as K

_YEAR_NS = 365 * 86_400 * 10**9
_T0 = 1_767_225_600 * 10**9  # 2026-01-01 00:00 UTC
_SPOT = 95_000.0
_PERP = ("deribit", "BTC-PERPETUAL")


def make_book(n: int = 2000, seed: int = 0) -> tuple[CompiledBook, MarketState]:
    """A seeded synthetic book of ``n`` options and its market."""
    rng = np.random.default_rng(seed)
    tenors = np.array([1, 2, 7, 14, 30, 60, 90, 180, 270, 365]) / 365.0
    expiries = (_T0 + tenors * _YEAR_NS).astype(np.int64)
    strikes = np.arange(48_000.0, 190_001.0, 1000.0)
    pos = []
    for i in range(n):
        e = int(rng.choice(expiries))
        k = float(rng.choice(strikes))
        kind = OptionKind.CALL if rng.random() < 0.5 else OptionKind.PUT
        opt = Option(
            f"OPT{i}",
            "deribit",
            "BTC",
            Settlement.INVERSE,
            1.0,
            "BTC",
            0.1,
            0.1,
            1e-4,
            strike=k,
            expiry_ns=e,
            kind=kind,
        )
        pos.append(Position(opt, float(np.round(rng.normal(0, 5), 1))))
    perp = parse_instrument("BTC-PERPETUAL", "deribit")
    pos.append(Position(perp, -50_000.0, 94_000.0))
    vols = rng.uniform(0.35, 0.9, n)
    book = compile_book(pos, [Collateral("BTC", 12.0)], vols=vols)
    u = UnderlyingState(
        _SPOT,
        expiries,
        _SPOT * np.exp(0.06 * tenors),
        marks={_PERP: _SPOT * 1.0002},
        quotes={_PERP: Quote(_SPOT - 0.5, _SPOT + 0.5)},
        funding={_PERP: 1e-4},
    )
    return book, MarketState(_T0, {"BTC": u})


def make_surface(ts_ns: int = _T0, spot: float = _SPOT):  # type: ignore[no-untyped-def]
    """A raw-SVI surface on the book's 10 expiries: ATM vol about 48 %, put skew (rho -0.4)."""
    from deltahedge.surface import Surface

    tenors = np.array([1, 2, 7, 14, 30, 60, 90, 180, 270, 365]) / 365.0
    n = tenors.size
    # total variance w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + s^2)), per expiry
    params = np.column_stack(
        [0.2 * tenors, 0.3 * tenors, np.full(n, -0.4), np.zeros(n), np.full(n, 0.1)]
    )
    expiries = (_T0 + tenors * _YEAR_NS).astype(np.int64)
    fwd = spot * np.exp(0.06 * tenors)
    return Surface("svi", "BTC", ts_ns, spot, expiries, tenors, fwd, params)


def _pricing_peer(book: CompiledBook, m: MarketState):  # type: ignore[no-untyped-def]
    from deltahedge.pricing import black76

    F = book._slot_forwards(m)[book.opt_slot]
    T = ((book.slot_exp - m.ts_ns) / _YEAR_NS)[book.opt_slot]
    g = black76(book.opt_phi, F, book.opt_strike, T, book.sigma)
    S = m.index("BTC")
    b = F / S
    return (
        float(book.opt_units @ g.price),
        float(book.opt_units @ (g.delta * b)),
        float(book.opt_units @ (g.gamma * b * b)),
        np.bincount(book.opt_slot, weights=book.opt_units * g.vega),
    )


def _py_vollib_loop(book: CompiledBook, m: MarketState, n: int) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from py_vollib.black import black
        from py_vollib.black.greeks.analytical import delta, gamma, theta, vega
    fwd = book._slot_forwards(m)
    tot = 0.0
    for i in range(n):
        s = int(book.opt_slot[i])
        F = float(fwd[s])
        T = float((book.slot_exp[s] - m.ts_ns) / _YEAR_NS)
        flag = "c" if book.opt_phi[i] > 0 else "p"
        K_, sig = float(book.opt_strike[i]), float(book.sigma[i])
        q = float(book.opt_units[i])
        tot += q * (
            black(flag, F, K_, T, 0.0, sig)
            + delta(flag, F, K_, T, 0.0, sig)
            + gamma(flag, F, K_, T, 0.0, sig)
            + vega(flag, F, K_, T, 0.0, sig)
            + theta(flag, F, K_, T, 0.0, sig)
        )
    return tot


def _kernel_args(book: CompiledBook, m: MarketState) -> tuple:
    idx = np.array([m.index("BTC")])
    return (
        book.opt_units,
        book.opt_strike,
        book.opt_logk,
        book.opt_phi,
        book.sigma,
        book.opt_slot,
        book.skew,
        book._slot_forwards(m),
        (book.slot_exp - m.ts_ns) / _YEAR_NS,
        book.slot_und,
        book.lin_a,
        book.lin_b,
        book._linear_prices(m, idx),
        book.lin_und,
        idx,
        False,
        0,
        0.0,
        0.0,
        0.0,
    )


def run(console: Console, quick: bool) -> None:
    """Print the portfolio and hedging benchmark tables."""
    from deltahedge.hedging import (
        FixedInterval,
        FixedThreshold,
        GammaWeighted,
        HedgeState,
        Hysteresis,
        Leland,
        TimeOrThreshold,
        VolAdaptive,
        WhalleyWilmott,
        Zakamouline,
    )

    n = 2000
    repeat = 3 if quick else 15
    book, m0 = make_book(n)
    moved = m0.with_index("BTC", _SPOT * 1.01)
    args = _kernel_args(book, moved)
    surf = make_surface()
    refits = [make_surface(), make_surface()]  # equal surfaces, distinct objects: a refit

    def refitted() -> object:
        refits.reverse()  # each call sees another surface object: vols looked up again
        return book_risk(book, moved, refits[0])

    book_risk(book, m0, surf)  # the surface was set before the move
    rows = [
        ("book.risk(market) after a 1 % spot move, usd", lambda: book.risk(moved)),
        ("  same, coin numeraire", lambda: book.risk(moved, "coin")),
        ("  same, sticky_moneyness delta", lambda: book.risk(moved, "usd", "sticky_moneyness")),
        ("book_risk(book, market, surface) after the move", lambda: book_risk(book, moved, surf)),
        (
            "  same, sticky_moneyness delta (vol + skew)",
            lambda: book_risk(book, moved, surf, delta_model="sticky_moneyness"),
        ),
        ("  surface refitted: vols looked up again", refitted),
        ("fused numba kernel alone", lambda: K.book_kernel(*args)),
        ("peer: numpy twin of the kernel", lambda: K.book_reference(*args)),
        ("peer: pricing.black76 arrays + numpy sums", lambda: _pricing_peer(book, moved)),
    ]
    t = {name: best_time(fn, repeat=repeat) for name, fn in rows}
    n_loop = 200 if quick else n
    t_loop = best_time(lambda: _py_vollib_loop(book, moved, n_loop), repeat=1, min_time=0.0)
    t_loop *= n / n_loop
    first = t[rows[0][0]]
    table = Table(title=f"book risk, {n} options + perp + collateral (target <= 100 us)")
    table.add_column("what")
    table.add_column("us / call", justify="right")
    table.add_column("x book.risk", justify="right")
    for name, _ in rows:
        table.add_row(name, f"{t[name] * 1e6:,.1f}", f"{t[name] / first:,.2f}")
    label = "peer: per-option loop, py_vollib.black" + (f" (x{n}/{n_loop})" if quick else "")
    table.add_row(label, f"{t_loop * 1e6:,.0f}", f"{t_loop / first:,.0f}")
    t_compile = best_time(
        lambda: compile_book(
            [Position(parse_instrument("BTC-27MAR26-90000-C", "deribit"), 1.0)] * 10
        ),
        repeat=repeat,
    )
    table.add_row("(compile_book, 10 positions; once per fill)", f"{t_compile * 1e6:,.1f}", "")
    console.print(table)

    risk = book.risk(moved)
    perp = parse_hedge_instrument("BTC-PERPETUAL", "deribit")
    d = abs(risk.delta("BTC"))
    policies = [
        FixedInterval(interval_s=60, instrument=perp),
        FixedThreshold(threshold=d / 2, instrument=perp),
        TimeOrThreshold(threshold=d / 2, interval_s=3600, instrument=perp),
        Hysteresis(outer=d / 2, inner=d / 4, instrument=perp),
        WhalleyWilmott(cost=0.0005, risk_aversion=1e-4, instrument=perp),
        Zakamouline(cost=0.0005, risk_aversion=1e-4, sigma=0.5, tau_years=0.1, instrument=perp),
        Leland(cost=0.001, interval_s=3600, sigma=0.5, instrument=perp),
        VolAdaptive(base_band=d / 2, sigma_ref=0.5, instrument=perp),
        GammaWeighted(multiple=1.0, sigma=0.5, instrument=perp),
    ]
    state = HedgeState(vol_forecast=0.6)
    quiet = HedgeState(last_hedge_ns=moved.ts_ns, vol_forecast=0.6)
    # the same book with its delta hedged away: every policy decides "no trade"
    flat = replace(risk, delta_coin=np.zeros(1), vanna_sigma_coin=np.zeros(1))
    ptable = Table(title=f"policy.decide (target <= 20 us); book delta {risk.delta('BTC'):.3f} BTC")
    ptable.add_column("policy")
    ptable.add_column("trade: us", justify="right")
    ptable.add_column("x target", justify="right")
    ptable.add_column("no trade: us", justify="right")
    ptable.add_column("intent")
    for p in policies:
        intent = p.decide(risk, moved, state)
        t_hit = best_time(partial(p.decide, risk, moved, state), repeat=repeat)
        if p.decide(flat, moved, quiet) is not None:
            raise RuntimeError(f"{p.name} trades a flat book")
        t_quiet = best_time(partial(p.decide, flat, moved, quiet), repeat=repeat)
        what = f"{intent.quantity:+,.0f} {intent.instrument}" if intent else "-"
        ptable.add_row(
            p.name, f"{t_hit * 1e6:.1f}", f"{t_hit / 20e-6:.2f}", f"{t_quiet * 1e6:.1f}", what
        )
    console.print(ptable)


__all__ = ["make_book", "run"]

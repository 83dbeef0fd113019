"""Assemble an engine: the embedded demo market and book, or a ``DeltaHedgeConfig``.

The demo's implied vols come from ``deltahedge/data/demo_surface_btc.json``: an SVI
surface fitted once (``scripts/fit_demo_surface.py``) from the real Deribit BTC snapshot
of 2026-01-05 09:25 UTC, six expiries from 11 to 177 days. The book is a short strangle
strip on three of them (puts 85-97 % and calls 103-115 % of the forward, Deribit
inverse options of 1 BTC), about 300 contracts; the hedge legs are Binance's linear
BTCUSDT and inverse BTCUSD_PERP perpetuals on paper venues whose synthetic books (shaped
like the real ones: one-tick spread, sizes growing with depth) follow the index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from deltahedge.backtest.models import (
    BATES_BTC,
    GBM_BTC,
    HESTON_BTC,
    MERTON_BTC,
    PathModel,
)
from deltahedge.core.clock import Clock, SimClock
from deltahedge.core.enums import Settlement
from deltahedge.core.errors import ConfigError
from deltahedge.core.units import ns_to_datetime
from deltahedge.engine.engine import Engine, EngineSettings
from deltahedge.engine.risk_guard import RiskGuard, RiskLimits
from deltahedge.execution.venue import InstrumentInfo, Venue
from deltahedge.hedging.policies import make_policy
from deltahedge.instruments import parse_instrument
from deltahedge.marketdata.state import MarketState, UnderlyingState
from deltahedge.portfolio.book import CompiledBook, compile_book
from deltahedge.portfolio.positions import Position
from deltahedge.venues.paper import PaperVenue
from deltahedge.venues.specs import BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT, synthetic_book

DEMO_SURFACE = "demo_surface_btc.json"
#: Expiries of the demo book (indices into the surface's expiries: ~11, ~52 and ~81 days).
DEMO_EXPIRIES = (0, 3, 4)
#: the embedded chain excerpt (same snapshot as the demo surface); also in commands.demo
DEMO_CHAIN = "deribit_btc_20260105T092511Z_excerpt.csv"
MODELS: dict[str, PathModel] = {
    "gbm": GBM_BTC,
    "merton": MERTON_BTC,
    "heston": HESTON_BTC,
    "bates": BATES_BTC,
}


def load_demo_surface() -> Any:
    """The embedded surface (a ``deltahedge.surface.Surface``)."""
    from deltahedge.surface import Surface

    text = (files("deltahedge") / "data" / DEMO_SURFACE).read_text(encoding="utf-8")
    return Surface.from_json(text)


def shift_surface(surface: Any, ts_ns: int) -> Any:
    """The same surface moved in time to ``ts_ns`` (every expiry moved alike, same ``T``).

    A paper run on a live clock starts "now" with the embedded surface's shape.
    """
    from dataclasses import replace

    shift = int(ts_ns) - int(surface.ts_ns)
    return replace(surface, ts_ns=int(ts_ns), expiry_ns=surface.expiry_ns + shift)


def _deribit_name(expiry_ns: int, strike: float, kind: str) -> str:
    d = ns_to_datetime(expiry_ns)
    return f"BTC-{d.day}{d.strftime('%b').upper()}{d:%y}-{int(strike)}-{kind}"


def demo_positions(surface: Any, size: float = 10.0) -> list[Position]:
    """The demo's short strangle strip: 8 short options on each of 3 expiries.

    Strikes are rounded to 1,000 USD: puts at 85, 89, 93, 97 % and calls at 103, 107,
    111, 115 % of each expiry's forward; ``size`` contracts each (1.5x for the nearest
    puts), i.e. about 300 contracts of 1 BTC.
    """
    out = []
    for i in DEMO_EXPIRIES:
        exp, fwd = int(surface.expiry_ns[i]), float(surface.forwards[i])
        for m, kind in ((0.85, "P"), (0.89, "P"), (0.93, "P"), (0.97, "P"),
                        (1.03, "C"), (1.07, "C"), (1.11, "C"), (1.15, "C")):  # fmt: skip
            strike = round(fwd * m / 1000.0) * 1000.0
            qty = -size * (1.5 if m == 0.97 else 1.0)
            out.append(Position(parse_instrument(_deribit_name(exp, strike, kind), "deribit"), qty))
    return out


def demo_smile_quotes(surface: Any) -> dict[int, tuple[Any, ...]]:
    """The embedded Deribit excerpt's IVs (the snapshot the demo surface was fitted to), by
    the surface's expiry index, out-of-the-money side per strike, for the dashboard's smiles.

    ``surface`` is the embedded surface as loaded (expiries not yet moved in time).
    """
    from importlib.resources import as_file

    from deltahedge.engine.publish import smile_quotes_from_chain
    from deltahedge.marketdata import load_chain

    with as_file(files("deltahedge") / "data" / DEMO_CHAIN) as path:
        chain = load_chain(path, underlying="BTC")
    return smile_quotes_from_chain(surface, chain)


def demo_market(surface: Any) -> MarketState:
    """The market at the surface's snapshot: index and forward curve."""
    st = UnderlyingState(float(surface.spot), surface.expiry_ns, surface.forwards)
    return MarketState(int(surface.ts_ns), {"BTC": st})


def paper_venues(
    clock: Clock, mid: float, seed: int = 0
) -> tuple[dict[str, Venue], list[InstrumentInfo]]:
    """Two paper venues (Binance USD-M linear, COIN-M inverse) with Binance-shaped books."""
    venues: dict[str, Venue] = {}
    hedges = []
    for k, spec in enumerate((BINANCE_BTCUSDT, BINANCE_BTCUSD_PERP)):
        size = 2.0 if spec.settlement is Settlement.LINEAR else 2.0 * mid / spec.contract_size
        book = synthetic_book(spec.symbol, mid=mid, size_at_touch=size, seed=seed + k)
        venues[spec.venue] = PaperVenue(spec.venue, [spec], {spec.symbol: book}, clock=clock)
        hedges.append(spec)
    return venues, hedges


def book_follower(venues: Mapping[str, Venue], hedges: Sequence[InstrumentInfo], seed: int = 0):  # type: ignore[no-untyped-def]
    """``venue_sync``: recentre each paper venue's synthetic book on the index (before a route,
    and on the engine's ``venue_sync_s`` cadence); returns the names of the venues moved (a
    live venue has its own books and is left alone)."""
    counter = [0]

    def sync(market: MarketState) -> list[str]:
        counter[0] += 1
        moved = []
        for k, spec in enumerate(hedges):
            venue = venues[spec.venue]
            if not isinstance(venue, PaperVenue):
                if hasattr(venue, "set_price"):
                    venue.set_price(spec.symbol, market.index(spec.underlying), market.ts_ns)
                    moved.append(spec.venue)
                continue
            mid = market.index(spec.underlying)
            size = 2.0 if spec.settlement is Settlement.LINEAR else 2.0 * mid / spec.contract_size
            book = synthetic_book(spec.symbol, mid=round(mid, 1), size_at_touch=size,
                                  seed=seed + 7919 * counter[0] + k)  # fmt: skip
            book.ts_ns = market.ts_ns
            venue.books[spec.symbol] = book
            moved.append(spec.venue)
        return moved

    return sync


@dataclass(slots=True)
class Scenario:
    """Everything an engine run needs besides the feed."""

    engine: Engine
    surface: Any
    clock: Clock
    positions: list[Position]


def demo_options(
    surface: Any, market: MarketState, size: float = 10.0
) -> tuple[list[Position], CompiledBook]:
    """The demo positions and their compiled book with the surface's vols."""
    positions = demo_positions(surface, size)
    return positions, compile_book(positions).with_surface(surface, market)


def build_demo(
    clock: SimClock | None = None,
    band_coin: float = 2.0,
    journal: Any = None,
    read_model: Any = None,
    seed: int = 7,
    settings: EngineSettings | None = None,
    limits: RiskLimits | None = None,
) -> Scenario:
    """The demo engine: embedded surface and book, paper venues, a fixed-threshold policy."""
    surface = load_demo_surface()
    market = demo_market(surface)
    clock = clock or SimClock(market.ts_ns)
    positions, cbook = demo_options(surface, market)
    venues, hedges = paper_venues(clock, market.index("BTC"), seed)
    policy = make_policy("fixed_threshold", threshold=band_coin, underlying="BTC")
    guard = RiskGuard(limits or RiskLimits(), clock)
    engine = Engine(
        options=cbook, policy=policy, venues=venues, hedges=hedges, market=market, clock=clock,
        guard=guard, journal=journal,
        settings=settings or EngineSettings(seed=seed, venue_sync_s=1.0),
        surface=surface, read_model=read_model, venue_sync=book_follower(venues, hedges, seed),
    )  # fmt: skip
    engine.smile_quotes = demo_smile_quotes(surface)
    return Scenario(engine, surface, clock, positions)


def policy_from_config(name: str, params: Mapping[str, Any], underlying: str) -> Any:
    """A hedging policy from ``[policy]``; ``fixed_band`` (``band_coin``) is ``fixed_threshold``."""
    p = dict(params)
    if name == "fixed_band":
        name = "fixed_threshold"
        if "band_coin" in p:
            p["threshold"] = p.pop("band_coin")
    return make_policy(name, underlying=underlying, **p)


def _venue_spec(v: Any, underlying: str) -> InstrumentInfo:
    lot = 0.001 if v.settlement is Settlement.LINEAR and v.contract_size >= 1 else 1.0
    if v.settlement is Settlement.LINEAR and v.contract_size < 1:
        lot = 1.0
    return InstrumentInfo(
        symbol=v.hedge_instrument, venue=v.name, kind="perpetual", underlying=underlying,
        settlement=v.settlement, contract_size=v.contract_size, lot_size=lot, tick_size=0.1,
        maker_fee=v.fee_bps * 1e-4, taker_fee=v.fee_bps * 1e-4,
    )  # fmt: skip


def build_from_config(
    cfg: Any,
    clock: Clock,
    journal: Any = None,
    read_model: Any = None,
    state_dir: Path | None = None,
) -> Scenario:
    """An engine from a validated ``DeltaHedgeConfig``.

    Paper venues keep their exchange-side state in ``state_dir/<venue>.sqlite``
    (:class:`~deltahedge.engine.durable_venue.DurablePaperVenue`) so a restarted run
    reconciles with them like with a real exchange; ``ccxt`` venues are built through
    ``deltahedge.venues.ccxt`` with keys from the environment (not tested against a network).
    """
    from deltahedge.engine.durable_venue import DurablePaperVenue

    u = cfg.engine.underlying
    if u != "BTC":
        raise ConfigError(
            f"engine.underlying = {u!r}: only 'BTC' is wired for now (the embedded surface is "
            "a Deribit BTC snapshot)"
        )
    surface = shift_surface(load_demo_surface(), clock.now_ns())
    market = demo_market(surface)
    positions: list[Position]
    if cfg.book.venue is not None:  # read from the venue by load_venue_book, before start
        positions, cbook = [], compile_book([])
    elif cfg.book.positions_file is None:
        positions, cbook = demo_options(surface, market)
    else:
        positions = book_from_file(cfg.book.positions_file, u, clock.now_ns())
        cbook = compile_book(positions).with_surface(surface, market)
    venues: dict[str, Venue] = {}
    hedges: list[InstrumentInfo] = []
    for v in cfg.venues:
        spec = _venue_spec(v, u)
        if v.kind == "paper":
            folder = state_dir or Path(".")
            folder.mkdir(parents=True, exist_ok=True)
            venues[v.name] = DurablePaperVenue(v.name, [spec], folder / f"{v.name}.sqlite", clock)
        elif v.kind == "ccxt":
            venues[v.name] = _ccxt_venue(v, spec)
        else:  # amm: a simulated constant-product pool that arbitrageurs keep at the index
            amm = _amm_venue(v, u, float(surface.spot), clock)
            venues[v.name] = amm
            spec = amm.spec
        hedges.append(spec)
    policy = policy_from_config(cfg.policy.name, cfg.policy.effective_params(), u)
    guard = RiskGuard(cfg.risk.limits(), clock)
    e = cfg.engine
    settings = EngineSettings(
        underlying=u, name=e.name, numeraire=str(e.numeraire.value),
        surface_refit_s=e.surface_refit_s, surface_refit_iv_move=e.surface_refit_iv_move,
        surface_refit_index_move=e.surface_refit_index_move,
        surface_refit_min_s=e.surface_refit_min_s, vol=cfg.volatility.settings(),
        venue_sync_s=1.0, funding_poll_s=e.funding_poll_s,
        greeks_snapshot_s=e.greeks_snapshot_s, seed=cfg.market.seed,
    )  # fmt: skip
    from deltahedge.engine.liquidation import LiquidationMonitor
    from deltahedge.engine.margin import MarginWatch

    watched = [v for v in cfg.venues if v.kind == "paper" and v.collateral > 0]
    margin = MarginWatch(
        LiquidationMonitor({v.name: v.margin_model() for v in watched}, cfg.risk.thresholds()),
        {v.name: v.collateral for v in watched},
    )
    engine = Engine(
        options=cbook, policy=policy, venues=venues, hedges=hedges, market=market, clock=clock,
        guard=guard, journal=journal, settings=settings, surface=surface, read_model=read_model,
        venue_sync=book_follower(venues, hedges, cfg.market.seed), margin=margin,
    )  # fmt: skip
    # the quotes the embedded surface was fitted to (moved in time with it: same expiry index)
    engine.smile_quotes = demo_smile_quotes(load_demo_surface())
    if cfg.market.feed != "simulated":
        # option ticks (replayed Deribit snapshots, live tickers) refit the surface off the loop
        from deltahedge.engine.refit import chain_refitter

        engine.refit = chain_refitter(u, "deribit")
    return Scenario(engine, surface, clock, positions)


async def load_venue_book(scenario: Scenario, venue_name: str) -> str:
    """Read the book from ``venue_name``'s option positions (``[book] venue``); before start.

    Options of the engine's underlying that have not expired become the book, priced on the
    scenario's surface; everything else the venue holds (its perpetuals and futures, other
    coins' options) is left out, and the returned line says how much.

    Raises
    ------
    ConfigError
        When the venue holds no open option of the underlying (nothing to hedge).
    """
    from deltahedge.core.errors import InvalidInput
    from deltahedge.instruments import Option

    engine = scenario.engine
    u = engine.settings.underlying
    now = scenario.clock.now_ns()
    venue = engine.venues[venue_name]
    exchange = str(getattr(getattr(venue, "config", None), "exchange", venue_name))
    held = await venue.positions()
    positions, book, skipped = [], [], 0
    for name, qty in sorted(held.items()):
        try:
            inst = parse_instrument(name, exchange)
        except InvalidInput:
            inst = None
        if qty and isinstance(inst, Option) and inst.underlying == u and inst.expiry_ns > now:
            positions.append(Position(inst, float(qty)))
            book.append(name)
        elif qty:
            skipped += 1
    if not positions:
        raise ConfigError(
            f"book.venue = {venue_name!r}: the account holds no open {u} option "
            f"({len(held)} position(s) read, none an unexpired {u} option): nothing to hedge; "
            "open positions first or set book.positions_file"
        )
    engine.use_book(compile_book(positions).with_surface(engine.surface, engine.market))
    engine.held_elsewhere[venue_name] = {name: held[name] for name in book}
    scenario.positions = positions
    return (f"book: {len(positions)} {u} option position(s) read from {venue_name} "
            f"({skipped} other position(s) left out)")  # fmt: skip


def book_from_file(path: Path, underlying: str, now_ns: int) -> list[Position]:
    """The options of ``[book] positions_file``, checked against the engine it will feed.

    The engine hedges options on ``underlying`` whose expiry is after ``now_ns``; every
    other line is refused, all at once, with the reason (perpetuals and futures held
    elsewhere are not part of the hedged book: the engine's hedges are the venues').
    """
    from deltahedge.core.errors import InvalidInput
    from deltahedge.instruments import Option
    from deltahedge.portfolio.positions_file import load_positions

    try:
        positions = load_positions(path)
    except InvalidInput as exc:
        raise ConfigError(f"book.positions_file: {exc}") from None
    problems = []
    for p in positions:
        inst = p.instrument
        if not isinstance(inst, Option):
            problems.append(f"{inst.symbol}: only options are read from a positions file "
                            "(the hedge positions are the venues')")  # fmt: skip
        elif p.underlying != underlying:
            problems.append(
                f"{inst.symbol}: underlying {p.underlying}, the engine hedges {underlying}"
            )
        elif inst.expiry_ns <= now_ns:
            problems.append(
                f"{inst.symbol}: expired at {ns_to_datetime(inst.expiry_ns):%Y-%m-%d %H:%M} UTC"
            )
    if problems:
        raise ConfigError(
            f"book.positions_file {str(path)!r}: {len(problems)} position(s) refused:\n  "
            + "\n  ".join(problems)
        )
    return positions


def _amm_venue(v: Any, underlying: str, price: float, clock: Clock) -> Any:
    """A constant-product pool of ``underlying`` against USDC worth ``v.liquidity_usd``."""
    from deltahedge.venues.amm import AmmPair, AmmVenue, ConstantProductPool

    symbol = v.hedge_instrument if "/" in v.hedge_instrument else f"{underlying}/USDC"
    half = 0.5 * v.liquidity_usd
    pool = ConstantProductPool(round(half / price * 1e8), round(half * 1e6), int(v.fee_bps))
    return AmmVenue(v.name, AmmPair(pool, decimals0=8, decimals1=6), symbol=symbol, clock=clock)


def _ccxt_venue(v: Any, spec: InstrumentInfo) -> Venue:
    from deltahedge.venues.ccxt import CcxtVenue, CcxtVenueConfig

    if not v.exchange:
        raise ConfigError(f"venues[{v.name}].exchange is required for kind = 'ccxt' (a ccxt id)")
    conf = CcxtVenueConfig(
        exchange=v.exchange, name=v.name, testnet=v.testnet,
        api_key_env=v.api_key_env or "DELTAHEDGE_API_KEY",
        secret_env=v.api_secret_env or "DELTAHEDGE_API_SECRET", stale_after_s=10.0,
    )  # fmt: skip
    return CcxtVenue(conf)  # type: ignore[return-value]


def model_for(name: str) -> PathModel:
    """The path model of ``market.model``."""
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"market.model = {name!r}; allowed: {sorted(MODELS)}") from None


__all__ = [
    "DEMO_EXPIRIES",
    "MODELS",
    "Scenario",
    "book_follower",
    "book_from_file",
    "build_demo",
    "build_from_config",
    "demo_market",
    "demo_options",
    "demo_positions",
    "demo_smile_quotes",
    "load_demo_surface",
    "load_venue_book",
    "model_for",
    "paper_venues",
    "policy_from_config",
    "shift_surface",
]

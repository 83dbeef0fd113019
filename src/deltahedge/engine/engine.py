"""The engine: one asyncio loop from market tick to hedge, with recovery and a kill switch.

Per tick (``Engine.on_tick``)::

    tick -> risk guard (bad prices rejected, counted, journaled) -> MarketState
         -> CompiledBook.risk (options, one fused kernel) + hedge legs' delta -> BookRisk
         -> policy.decide(risk, market, HedgeState) -> HedgeIntent | None
         -> RiskGuard.check_intent (kill switch, staleness, size/notional/position/loss)
         -> SmartRouter.route over the venues' books -> OrderManager.execute
            (journal first, idempotent client order ids) -> fills -> HedgeAccount

The policy's ``HedgeState`` carries a realised-vol forecast of the index
(:mod:`deltahedge.engine.volforecast`: EWMA per index tick, GARCH refitted off the loop,
the surface's ATM vol until enough returns exist), which the vol-dependent policies read.
The daily loss limit reads the PnL of the UTC day (:class:`~deltahedge.engine.attribution.DailyPnL`).

Off the hot path (:mod:`deltahedge.engine.background`): the surface is re-evaluated on the
book (new ``T``, forwards; or refitted from option quotes when a ``refit`` function is
given) in an executor every ``surface_refit_s`` or when the quotes have moved enough; the
book's Greeks are journaled every ``greeks_snapshot_s``; funding rates are polled; the
dashboard's read-model gets an update at most ``publish_hz`` times a second.

The clock is injected (a ``SimClock`` moved by the feed in backtests and the demo, a
``LiveClock`` live), so the same code runs in both. ``run`` catches exceptions only at the
top of the loop: they are logged, counted and journaled, and the state stays consistent
because each step assigns its results only once it has computed them all.

Recovery (``start``): each venue is reconciled with the journal
(:func:`deltahedge.store.reconcile`: orders in flight asked about, missing fills imported,
orders the venue never saw marked expired); the order manager is rebuilt from the journal
(:meth:`~deltahedge.execution.orders.OrderManager.recover`), reconciled and resumed. An
order that may have reached a venue is never sent again: only an order the venue says it
does not know is replaced, under a new client order id.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from deltahedge.core.clock import Clock
from deltahedge.core.enums import OrderSide, OrderType
from deltahedge.core.errors import ConfigError, ExecutionError
from deltahedge.core.events import Fill, HedgeIntent, OrderRequest
from deltahedge.engine.accounts import HedgeAccount, LatencyHistogram
from deltahedge.engine.attribution import Attribution, DailyPnL
from deltahedge.engine.background import Background
from deltahedge.engine.controls import EngineControls
from deltahedge.engine.records import EngineCounters, HedgeLogEntry, PnL, TeeJournal
from deltahedge.engine.risk_guard import KillState, RiskGuard, RiskLimits, Verdict
from deltahedge.engine.volforecast import VolForecaster, VolSettings, atm_vol
from deltahedge.execution.journal import Journal as JournalPort
from deltahedge.execution.journal import MemoryJournal
from deltahedge.execution.orders import ExecutionReport, OrderManager
from deltahedge.execution.router import BookSource, LiquiditySource, SmartRouter
from deltahedge.execution.venue import InstrumentInfo, Venue
from deltahedge.hedging.policies import HedgeState
from deltahedge.marketdata.feeds.base import Feed, Tick, TickKind
from deltahedge.marketdata.state import MarketState, Quote
from deltahedge.portfolio.book import BookRisk, CompiledBook
from deltahedge.venues.amm import AmmSource, AmmVenue

log = logging.getLogger("deltahedge.engine")


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Cadences and choices of one engine.

    Parameters
    ----------
    underlying : str
        The coin hedged.
    name : str
        The engine's name (kill-switch requests in the journal may address it).
    numeraire : {"usd", "coin"}
    delta_model : str
        One of ``deltahedge.portfolio.delta_models()``.
    surface_refit_s : float
        Clock seconds between surface re-evaluations (off the loop); 0 = never (neither on
        the timer nor on moves).
    surface_refit_iv_move : float
        Refit sooner when the option quotes' mark IVs have moved by more than this on
        average since the last fit (decimal vol: 0.01 = 1 vol point); 0 = off.
    surface_refit_index_move : float
        Refit sooner when the index has moved by more than this fraction since the last
        fit (0.02 = 2 %); 0 = off.
    surface_refit_min_s : float
        Fewest clock seconds between two refits started by moves.
    vol : VolSettings
        The realised-vol forecast handed to the policy.
    venue_sync_s : float
        Clock seconds between re-centring the paper venues' books on the market (besides
        before each route); 0 = only before a route.
    funding_poll_s : float
        Clock seconds between polls of the perpetual legs' funding rates; 0 = never.
    greeks_snapshot_s : float
        Clock seconds between Greeks snapshots in the journal; 0 = never.
    publish_hz : float
        Most dashboard updates per wall-clock second.
    limit_orders : bool
        Send IOC limits at the worst routed price (True) or market orders.
    max_log : int
        Hedges kept in memory for the dashboard and the terminal view.
    seed : int
        Seeds the generator handed to the policy (jitter).
    """

    underlying: str = "BTC"
    name: str = "deltahedge"
    numeraire: str = "usd"
    delta_model: str = "black76"
    surface_refit_s: float = 30.0
    surface_refit_iv_move: float = 0.01
    surface_refit_index_move: float = 0.02
    surface_refit_min_s: float = 5.0
    vol: VolSettings = field(default_factory=VolSettings)
    venue_sync_s: float = 0.0
    funding_poll_s: float = 60.0
    greeks_snapshot_s: float = 5.0
    publish_hz: float = 4.0
    limit_orders: bool = True
    max_log: int = 200
    seed: int = 0


class Engine(Background):
    """Wires feed, book risk, policy, risk guard, router, order manager and journal.

    Parameters
    ----------
    options : CompiledBook
        The options book (with vols, e.g. ``compile_book(...).with_surface(...)``).
    policy : hedging policy
        ``decide(risk, market, state, rng) -> HedgeIntent | None``.
    venues : Mapping[str, Venue]
    hedges : sequence of InstrumentInfo
        The hedge instruments the router may use (their ``venue`` names a venue).
    market : MarketState
        The initial market (index, forward curve, marks).
    clock : Clock
    guard : RiskGuard, optional
        Default: ``RiskLimits()`` on ``clock``.
    journal : deltahedge.store.Journal, optional
        Durable journal (recovery needs it); in memory otherwise.
    settings : EngineSettings
    surface : VolSurface, optional
        Re-evaluated on the book every ``surface_refit_s``.
    refit : callable, optional
        ``refit(option_quotes, market) -> surface``, run in an executor when option ticks
        have arrived since the last refit.
    read_model : deltahedge.dashboard.ReadModel, optional
    metrics : EngineMetrics, optional
    venue_sync : callable, optional
        ``venue_sync(market)`` before each route and every ``venue_sync_s`` (paper venues
        move their books to the market); it may return the names of the venues it moved.
    router : SmartRouter, optional
    margin : MarginWatch, optional
        Liquidation-distance watch of the venues (``deltahedge.engine.margin``).
    """

    def __init__(
        self,
        *,
        options: CompiledBook,
        policy: Any,
        venues: Mapping[str, Venue],
        hedges: Sequence[InstrumentInfo],
        market: MarketState,
        clock: Clock,
        guard: RiskGuard | None = None,
        journal: Any = None,
        settings: EngineSettings = EngineSettings(),
        surface: Any = None,
        refit: Callable[[Mapping[str, Tick], MarketState], Any] | None = None,
        read_model: Any = None,
        metrics: Any = None,
        venue_sync: Callable[[MarketState], Any] | None = None,
        router: SmartRouter | None = None,
        margin: Any = None,
    ) -> None:
        self.cbook = options
        self.policy = policy
        self.venues = dict(venues)
        self.hedges = list(hedges)
        self.market = market
        self.clock = clock
        self.guard = guard or RiskGuard(RiskLimits(), clock)
        self.kill_switch = self.guard.kill_switch
        self.journal = journal
        self.settings = settings
        self.surface = surface
        self.refit = refit
        self.read_model = read_model
        self.venue_sync = venue_sync
        self.router = router or SmartRouter()
        self.margin = margin
        self.rng = np.random.default_rng(settings.seed)
        self.account = HedgeAccount(self.hedges)
        self.hedge_state = HedgeState()
        self.om: OrderManager | None = None
        self.counters = EngineCounters()
        self.latency = LatencyHistogram()  # tick -> decision, every decided tick
        self.hedge_latency = LatencyHistogram()  # tick -> intent handed to the router
        self.hedge_log: deque[HedgeLogEntry] = deque(maxlen=settings.max_log)
        self.attribution = Attribution(settings.numeraire)
        self.pnl = self.attribution.pnl
        self.daily = DailyPnL()
        self.vol = VolForecaster(settings.vol, atm_vol(surface))
        self.message = ""
        #: market IVs shown with the dashboard's smiles, by the surface's expiry index
        self.smile_quotes: dict[int, tuple[Any, ...]] = {}
        self.paused = False
        self.last_risk: BookRisk | None = None
        self._u = settings.underlying
        self._ui = self.cbook.underlyings.index(self._u) if self._u in self.cbook.underlyings else 0
        self._index_key = ""
        self.last_index_ns = 0
        self.last_hedge_latency_s = math.nan
        self._new_hedges: list[HedgeLogEntry] = []
        #: venue -> positions it holds that are not hedges the engine traded (the options of
        #: a book read from it): recovery does not report them as differences
        self.held_elsewhere: dict[str, dict[str, float]] = {}
        self._last_denial = ""
        self._metrics: Any = None
        self._init_background()
        self.metrics = metrics
        if journal is not None:
            self.kill_switch.journal_to(journal)

    # ------------------------------------------------------------------ lifecycle
    def use_book(self, options: CompiledBook) -> None:
        """Hedge ``options`` (a compiled book with vols) from now on, e.g. one read from a venue."""
        self.cbook = options
        u = self._u
        self._ui = options.underlyings.index(u) if u in options.underlyings else 0

    async def start(self, config: Any = None) -> list[str]:
        """Recover from the journal (reconcile each venue, rebuild and resume the orders).

        Returns the reconciliation summaries (one line per venue) and what the daily loss
        limit counts from.
        """
        from deltahedge.store import OrderJournal, last_kill_switch_state, reconcile

        if self._u not in self.cbook.underlyings:
            raise ConfigError(
                f"the book holds no {self._u} option (underlyings: "
                f"{list(self.cbook.underlyings) or 'none'}): nothing to hedge"
            )
        lines: list[str] = []
        if self.journal is not None:
            restored = last_kill_switch_state(self.journal)
            if restored is not None and restored != self.kill_switch.state.value:
                self.kill_switch.set(restored, "journal", "restored on restart")
                lines.append(f"kill switch restored: {restored}")
            self.journal.record_run(config if config is not None else {"engine": self._u})
            # requests journaled after the last applied change (e.g. while no engine ran) apply now
            last = self.journal.events(kinds=["kill_switch"], last=1)
            self._ks_seq = int(last[0]["seq"]) if last else 0
            self._poll_kill_requests()
            if self.kill_switch.state.value != (restored or "running"):
                lines.append(
                    f"kill switch set by a pending request: {self.kill_switch.state.value}"
                )
            for name, venue in self.venues.items():
                report = await reconcile(
                    self.journal, venue, baseline=self.held_elsewhere.get(name)
                )
                lines.append(report.summary())
                log.info("%s", report.summary())
            lines.append(self.restore_daily_pnl())
            log.info("%s", lines[-1])
            port: JournalPort = OrderJournal(self.journal)
        else:
            port = MemoryJournal()
        self._risk()  # compile / load the numba kernels now, not on the first live tick
        tee = TeeJournal(port, self._on_fill)
        self.om = OrderManager.recover(self.venues, tee, clock=self.clock)
        for mo in self.om.orders.values():
            for fill in mo.fills.values():
                self.account.apply(fill)
        if self.om.intents:
            last = max(i.ts_ns for i in self.om.intents.values())
            self.hedge_state = HedgeState(last, len(self.om.intents), 0.0, self.vol.forecast())
            await self.om.reconcile()
            for rep in await self.om.resume():
                lines.append(f"resumed {rep.intent_id}: {rep.status}")
        return lines

    async def run(self, feed: Feed, stop: asyncio.Event | None = None) -> EngineCounters:
        """Consume ``feed`` until it ends or ``stop`` is set; return the counters."""
        if self.om is None:
            await self.start()
        try:
            async for tick in feed:
                if stop is not None and stop.is_set():
                    break
                try:
                    await self.on_tick(tick)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the top of the loop: log, count, keep going
                    self._error(exc, tick)
        finally:
            await feed.close()
            self.publish(force=True)
        return self.counters

    # ------------------------------------------------------------------ the tick
    async def on_tick(self, tick: Tick) -> HedgeIntent | None:
        """Process one tick; return the intent handed to the router, if any."""
        t0 = time.perf_counter_ns()
        c = self.counters
        c.ticks += 1
        key = tick.key
        check = self.guard.check_price(key, tick.price, tick.venue_ts_ns)
        if not check.accepted:
            self._reject(tick, check.reason.value if check.reason else "invalid", check.message)
            return None
        now = self.clock.now_ns()
        kind = tick.kind
        if kind is TickKind.OPTION:
            self._option_quotes[tick.symbol] = tick
            self._quotes_dirty = True
            self._moves.on_quote(tick.symbol, tick.iv)
            return None
        u = tick.underlying
        if kind is TickKind.INDEX:
            self._index_key = key
            self.last_index_ns = tick.venue_ts_ns
            self.market = self.market.with_index(u, tick.price, now)
            if u == self._u:
                self.vol.on_index(tick.price, tick.venue_ts_ns)
        else:  # a venue's own data: a mark or the top of its book
            data = self.venue_data_ns
            if tick.venue_ts_ns > data.get(tick.venue, 0):
                data[tick.venue] = tick.venue_ts_ns
            st = self.market.underlyings[u]
            if kind is TickKind.MARK:
                marks = dict(st.marks)
                marks[(tick.venue, tick.symbol)] = tick.price
                st = replace(st, marks=marks)
            else:
                quotes = dict(st.quotes)
                quotes[(tick.venue, tick.symbol)] = Quote(tick.bid, tick.ask, tick.bid_size,
                                                          tick.ask_size, tick.venue_ts_ns,
                                                          tick.recv_ts_ns)  # fmt: skip
                st = replace(st, quotes=quotes)
            self.market = MarketState(now, {**self.market.underlyings, u: st})
        self._housekeeping(now)
        if kind is not TickKind.INDEX or u != self._u:
            return None
        return await self._decide(t0, now)

    async def _decide(self, t0: int, now: int) -> HedgeIntent | None:
        c = self.counters
        risk = self._risk()
        self._attribute(risk, now)
        if self.margin is not None:
            await self.margin.step(self, now)
        if self.kill_switch.state is KillState.FLATTENING:
            await self._flatten(now)
            return None
        c.decisions += 1
        vol = self.vol.value
        if vol != self.hedge_state.vol_forecast:
            self.hedge_state = self.hedge_state.with_vol_forecast(vol)
        intent = self.policy.decide(risk, self.market, self.hedge_state, self.rng)
        if intent is None:
            self.latency.observe((time.perf_counter_ns() - t0) * 1e-9)
            return None
        c.intents += 1
        decision = self.guard.check_intent(
            intent, self._index_key, self.account.delta_coin(), self.daily.value, label="index"
        )
        if decision.notice:  # hedging paused on a stale price, or resumed: once each
            self._notice(decision.notice, paused=not decision.allowed)
        if not decision.allowed:
            self.latency.observe((time.perf_counter_ns() - t0) * 1e-9)
            self._deny("; ".join(decision.reasons), quiet=decision.stale)
            return None
        if decision.verdict is Verdict.CLIP:
            intent = replace(
                intent, delta_coin=decision.approved_coin, instrument=None, quantity=None
            )
        self._last_denial = ""
        dt = (time.perf_counter_ns() - t0) * 1e-9
        self.latency.observe(dt)
        self.hedge_latency.observe(dt)
        self.last_hedge_latency_s = dt
        if self.metrics is not None:
            self.metrics.observe_latency(dt)
        await self._execute(intent, risk)
        return intent

    def _risk(self) -> BookRisk:
        s = self.settings
        r = self.cbook.risk(self.market, s.numeraire, s.delta_model)
        # the hedge legs in the book's numeraire (coin: their delta moves with the price)
        hd, hg = self.account.delta(s.numeraire, float(r.index[self._ui]))
        if hd or hg:
            d = r.delta_coin.copy()
            d[self._ui] += hd
            g = r.gamma_coin.copy()
            g[self._ui] += hg
            r = replace(r, delta_coin=d, gamma_coin=g)
        self.last_risk = r
        return r

    # ------------------------------------------------------------------ execution
    async def _sources(self) -> list[LiquiditySource]:
        now = self.clock.now_ns()
        out: list[LiquiditySource] = []
        for spec in self.hedges:
            venue = self.venues[spec.venue]
            if isinstance(venue, AmmVenue):  # a pool is routed on its exact swap curve
                out.append(AmmSource(venue))
                continue
            snap = await venue.order_book(spec.symbol, 50)
            if snap.ts_ns > self.venue_data_ns.get(spec.venue, 0):
                self.venue_data_ns[spec.venue] = snap.ts_ns
            if len(snap.bids) == 0 or len(snap.asks) == 0:
                continue
            out.append(
                BookSource(
                    spec.venue, spec, snap.bids, snap.asks, snap.ts_ns or now, venue.is_healthy()
                )
            )
        return out

    async def _execute(self, intent: HedgeIntent, risk: BookRisk) -> ExecutionReport | None:
        if self.om is None:
            raise ExecutionError("the engine has no order manager: await engine.start() first")
        self._sync_venues()
        sources = await self._sources()
        now = self.clock.now_ns()
        route = self.router.route(intent.delta_coin, sources, now, intent.max_slippage_bps)
        if not route.allocations:
            self._deny(f"no liquidity to route {intent.delta_coin:+.4f} coin: {route.skipped}")
            return None
        legs = route.to_orders(intent, self.settings.limit_orders)
        before = self.account.delta_coin()
        fees0 = self.account.fees_usd()
        report = await self.om.execute(intent, legs)
        if report.status == "skipped":
            self._deny(report.reason)
            return report
        self.hedge_state = self.hedge_state.after_hedge(intent, self.rng)
        self.counters.hedges += 1
        entry = self._log_hedge(
            intent, report, legs, risk, self.account.delta_coin() - before, fees0
        )
        if self._metrics is not None:
            self._count_hedge(entry)
        if self.journal is not None:
            for venue in {leg.venue for leg in legs}:
                pos = {s: q for (v, s), q in self.account.contracts().items() if v == venue}
                self.journal.record_positions(now, venue, pos)
        return report

    async def _flatten(self, now: int) -> None:
        if self.om is None:
            raise ExecutionError("the engine has no order manager: await engine.start() first")
        legs = [(k, q) for k, q in self.account.contracts().items() if abs(q) > 1e-12]
        if not legs:
            self.kill_switch.freeze("engine", "hedge legs flat")
            self.message = "flattened: hedge legs closed; frozen"
            return
        if self.om.in_flight(self._u) is not None:
            return
        n = self.hedge_state.n_hedges
        intent = HedgeIntent(
            f"flatten:{self._u}:{now}:{n}", now, self._u, -self.account.delta_coin(),
            "kill switch: flatten the hedge legs", policy="flatten",
        )  # fmt: skip
        reqs = [
            OrderRequest("", venue, sym, OrderSide.SELL if q > 0 else OrderSide.BUY, abs(q),
                         OrderType.MARKET, reduce_only=True)
            for (venue, sym), q in legs
        ]  # fmt: skip
        self._sync_venues()
        before, fees0 = self.account.delta_coin(), self.account.fees_usd()
        report = await self.om.execute(intent, reqs)
        self.hedge_state = self.hedge_state.after_hedge(intent, self.rng)
        risk = self.last_risk if self.last_risk is not None else self._risk()
        self._log_hedge(intent, report, reqs, risk, self.account.delta_coin() - before, fees0)

    def _on_fill(self, fill: Fill) -> None:
        self.account.apply(fill)

    # ------------------------------------------------------------------ bookkeeping
    def _attribute(self, risk: BookRisk, now: int) -> None:
        self.attribution.step(risk, self._ui, self.account, now, self._accruing)
        self.daily.update(now, self.pnl.total)

    def _count_hedge(self, entry: HedgeLogEntry) -> None:
        """Prometheus: one hedge, each leg's order, size (coin) and fill slippage (bps)."""
        from deltahedge.engine.publish import leg_coin

        specs = {(h.venue, h.symbol): h for h in self.hedges}
        legs = []
        for venue, symbol, contracts, price in entry.legs:
            coin = leg_coin(specs.get((venue, symbol)), contracts, price)
            legs.append((venue, entry.filled_coin if coin is None else coin))
            if contracts and price and entry.mid:
                bps = 1e4 * (price / entry.mid - 1.0) * (1.0 if contracts > 0 else -1.0)
                self._metrics.fill_slippage(venue, bps)
        self._metrics.hedge_sent("buy" if entry.delta_coin > 0 else "sell", legs)

    def _log_hedge(
        self,
        intent: HedgeIntent,
        report: ExecutionReport,
        legs: Sequence[OrderRequest],
        risk: BookRisk,
        filled_coin: float,
        fees0: float,
    ) -> HedgeLogEntry:
        rows = tuple(
            (leg.venue, leg.instrument, leg.side.sign * report.filled.get(k, 0.0),
             report.avg_price.get(k, 0.0))
            for k, leg in enumerate(legs)
        )  # fmt: skip
        entry = HedgeLogEntry(
            intent.ts_ns, intent.intent_id, intent.reason, intent.delta_coin, filled_coin,
            report.status, rows, self.account.fees_usd() - fees0,
            float(risk.delta_coin[self._ui]), float(risk.index[self._ui]),
        )  # fmt: skip
        self.hedge_log.append(entry)
        if self.read_model is not None:
            self._new_hedges.append(entry)
            del self._new_hedges[: -self.settings.max_log]
        self._log_once(
            "hedge", f"hedge {intent.delta_coin:+.3f} coin ({report.status}): {intent.reason}", 0.0
        )
        return entry

    def _reject(self, tick: Tick, reason: str, message: str) -> None:
        c = self.counters
        c.rejected[reason] = c.rejected.get(reason, 0) + 1
        if self.metrics is not None:
            self.metrics.tick_rejected(reason)
        if self.journal is not None:
            self.journal.record_rejected(
                reason, {"key": tick.key, "price": repr(tick.price), "ts_ns": tick.venue_ts_ns}
            )
        self._log_once(f"reject:{reason}", f"tick rejected ({reason}): {message}")

    def _deny(self, reason: str, quiet: bool = False) -> None:
        """Count a refused hedge; log and journal it when the reason changes (unless quiet:
        a stale price is said once, by ``_notice``, not on every tick with its new age)."""
        self.counters.denied += 1
        if quiet:
            self._last_denial = ""
        elif reason != self._last_denial:
            self._last_denial = reason
            self.message = f"hedge refused: {reason}"
            log.warning("%s", self.message)
            if self.journal is not None:
                self.journal.record_event("hedge_refused", self._u, {"reason": reason})

    def _notice(self, text: str, paused: bool) -> None:
        """Hedging paused on a stale price or resumed on a fresh one: one line each."""
        self.message = text
        (log.warning if paused else log.info)("%s", text)
        if self.journal is not None:
            kind = "hedging_paused" if paused else "hedging_resumed"
            self.journal.record_event(kind, self._u, {"reason": text})

    def _error(self, exc: Exception, tick: Tick) -> None:
        self.counters.errors += 1
        self.message = f"error on {tick.key}: {exc!r}"
        log.error("error on tick %s (engine keeps running): %r", tick.key, exc, exc_info=exc)
        if self.journal is not None:
            try:
                self.journal.record_event("error", tick.key, {"error": repr(exc)})
            except Exception:  # the journal itself may be what failed
                log.exception("could not journal the error")

    @property
    def mode(self) -> str:
        """``running``, ``paused``, ``frozen`` or ``flattening``."""
        state = self.kill_switch.state
        if state is KillState.FROZEN and self.paused:
            return "paused"
        return state.value


__all__ = [
    "Engine",
    "EngineControls",
    "EngineCounters",
    "EngineSettings",
    "HedgeLogEntry",
    "PnL",
]

"""What the engine does besides deciding: work off the hot path and on cadences.

:class:`Background` is a mixin of :class:`~deltahedge.engine.engine.Engine` (the same
object; split out to keep each module readable). On each tick ``_housekeeping`` checks, by
the engine's clock unless said otherwise:

- **surface refits**, in an executor: every ``surface_refit_s``, and sooner (but not within
  ``surface_refit_min_s`` of the last) when the option quotes' mark IVs have moved by more
  than ``surface_refit_iv_move`` on average since the last fit or the index by more than
  ``surface_refit_index_move`` (:class:`~deltahedge.engine.refit.QuoteMoves`);
- **GARCH fits** of the vol forecast, in an executor, every ``vol.garch_refit_s``;
- the paper venues' books re-centred on the market every ``venue_sync_s`` (their own data,
  whose age the dashboard shows);
- the perpetual legs' **funding rates** polled every ``funding_poll_s`` (an asyncio task);
- **Greeks snapshots** in the journal every ``greeks_snapshot_s``, with the day's PnL, which
  a restart on the same UTC day restores for the daily loss limit;
- kill-switch requests in the journal (twice a wall-clock second), Prometheus gauges
  (price ages, once a wall-clock second) and dashboard updates (``publish_hz``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from deltahedge.core.units import NS_PER_SECOND, ns_to_datetime
from deltahedge.engine.attribution import DAY_NS, options_value
from deltahedge.engine.refit import QuoteMoves
from deltahedge.engine.risk_guard import KillState
from deltahedge.engine.volforecast import atm_vol

if TYPE_CHECKING:
    from deltahedge.core.clock import Clock
    from deltahedge.engine.attribution import Attribution, DailyPnL
    from deltahedge.engine.engine import EngineSettings
    from deltahedge.engine.records import EngineCounters, HedgeLogEntry, PnL
    from deltahedge.engine.risk_guard import KillSwitch
    from deltahedge.engine.volforecast import VolForecaster
    from deltahedge.execution.venue import InstrumentInfo, Venue
    from deltahedge.marketdata.feeds.base import Tick
    from deltahedge.marketdata.state import MarketState
    from deltahedge.portfolio.book import BookRisk, CompiledBook

log = logging.getLogger("deltahedge.engine")


class Background:
    """The off-the-hot-path half of :class:`~deltahedge.engine.engine.Engine` (a mixin)."""

    # the engine's state this half reads (set by ``Engine.__init__``)
    settings: EngineSettings
    market: MarketState
    cbook: CompiledBook
    surface: Any
    refit: Any
    journal: Any
    read_model: Any
    venue_sync: Any
    venues: dict[str, Venue]
    hedges: list[InstrumentInfo]
    kill_switch: KillSwitch
    clock: Clock
    counters: EngineCounters
    attribution: Attribution
    pnl: PnL
    daily: DailyPnL
    vol: VolForecaster
    last_risk: BookRisk | None
    smile_quotes: dict[int, tuple[Any, ...]]
    paused: bool
    last_index_ns: int
    _u: str
    _ui: int
    _index_key: str
    _new_hedges: list[HedgeLogEntry]
    # its own state (``_init_background``)
    _option_quotes: dict[str, Tick]
    _quotes_dirty: bool
    _moves: QuoteMoves
    _last_fit_ns: int
    _refit_pending: bool
    _refit_future: asyncio.Future[Any] | None
    _garch_pending: bool
    _garch_future: asyncio.Future[Any] | None
    _next_refit: int
    _next_greeks: int
    _next_sync: int
    _next_garch: int
    _next_funding: int
    _last_publish: float
    _next_ks_poll: float
    _next_gauges: float
    _ks_seq: int
    _tasks: set[asyncio.Task[None]]
    _last_log: dict[str, float]
    _metrics: Any
    funding: dict[tuple[str, str], tuple[float, float]]
    _accruing: dict[tuple[str, str], tuple[float, float]]
    venue_data_ns: dict[str, int]

    def _init_background(self) -> None:
        self._option_quotes = {}
        self._quotes_dirty = False
        self._moves = QuoteMoves()
        self._last_fit_ns = -(2**62)
        self._refit_pending = False
        self._refit_future = None
        self._garch_pending = False
        self._garch_future = None
        self._next_refit = self._next_greeks = self._next_sync = 0
        self._next_garch = self._next_funding = 0
        self._last_publish = self._next_ks_poll = self._next_gauges = 0.0
        self._ks_seq = 0
        self._tasks = set()
        self._last_log = {}
        #: ``(venue, symbol) -> (rate per interval, interval s)`` of the perpetual legs
        self.funding = {}
        self._accruing = {}
        #: venue -> UTC ns of its newest own data (book snapshot, quote or mark tick)
        self.venue_data_ns = {}
        self.kill_switch.subscribe(self._on_kill_change)

    # ------------------------------------------------------------------ the cadences
    def _housekeeping(self, now: int) -> None:
        s = self.settings
        if s.surface_refit_s > 0 and not self._refit_pending:
            why = "timer" if now >= self._next_refit else self._moved(now)
            if why:
                self._next_refit = now + int(s.surface_refit_s * NS_PER_SECOND)
                self._start_refit(why)
        if now >= self._next_garch and not self._garch_pending:
            self._next_garch = now + int(s.vol.garch_refit_s * NS_PER_SECOND)
            self._start_garch()
        if self.venue_sync is not None and s.venue_sync_s > 0 and now >= self._next_sync:
            self._next_sync = now + int(s.venue_sync_s * NS_PER_SECOND)
            self._sync_venues()
        if s.funding_poll_s > 0 and now >= self._next_funding:
            self._next_funding = now + int(s.funding_poll_s * NS_PER_SECOND)
            self._poll_funding()
        if self.journal is not None and s.greeks_snapshot_s > 0 and now >= self._next_greeks:
            self._next_greeks = now + int(s.greeks_snapshot_s * NS_PER_SECOND)
            self._snapshot_greeks(now)
        wall = time.monotonic()
        if self.journal is not None and wall >= self._next_ks_poll:
            self._next_ks_poll = wall + 0.5
            self._poll_kill_requests()
        if self._metrics is not None and wall >= self._next_gauges:
            self._next_gauges = wall + 1.0
            self._set_gauges(now)
        self.publish()

    def _moved(self, now: int) -> str:
        """Why the quotes have moved enough to refit now, or ""."""
        s = self.settings
        if now < self._last_fit_ns + int(s.surface_refit_min_s * NS_PER_SECOND):
            return ""
        m = self._moves
        if s.surface_refit_iv_move > 0 and m.iv_move() > s.surface_refit_iv_move:
            return (f"mark IVs moved {100 * m.iv_move():.2f} vol points on average since the "
                    f"last fit (threshold {100 * s.surface_refit_iv_move:g})")  # fmt: skip
        index = self.market.index(self._u)
        if s.surface_refit_index_move > 0 and m.index_move(index) > s.surface_refit_index_move:
            return (f"index moved {m.index_move(index):.2%} since the last fit "
                    f"(threshold {s.surface_refit_index_move:.2%})")  # fmt: skip
        return ""

    def _sync_venues(self) -> None:
        touched = self.venue_sync(self.market) if self.venue_sync is not None else None
        for name in touched or ():
            self.venue_data_ns[name] = self.market.ts_ns

    def _snapshot_greeks(self, now: int) -> None:
        r = self.last_risk
        if r is None or self.journal is None:
            return
        u = self._ui
        self.journal.record_greeks(
            now, self._u, delta=float(r.delta_coin[u]), gamma=float(r.gamma_coin[u]),
            vega=float(r.vega_usd[u]), theta=float(r.theta_usd_per_day[u]) * 365.0,
            extra={"index": float(r.index[u]), "pnl_usd": self.pnl.total,
                   "day": float(now // DAY_NS), "day_pnl_usd": self.daily.value},
        )  # fmt: skip

    def restore_daily_pnl(self) -> str:
        """Carry the PnL made earlier today (UTC) from the journal's last Greeks snapshot.

        Returns the line saying what the daily loss limit counts from.
        """
        now = self.clock.now_ns()
        today = now // DAY_NS
        day = f"{ns_to_datetime(today * DAY_NS):%Y-%m-%d}"
        last = None
        if self.journal is not None:
            for ev in reversed(self.journal.events(kinds=["greeks"], last=50)):
                if ev["key"] == self._u and "day_pnl_usd" in ev["payload"]:
                    last = ev
                    break
        if last is not None and int(last["payload"].get("day", -1)) == today:
            pnl = float(last["payload"]["day_pnl_usd"])
            self.daily.restore(today, pnl)
            at = f"{ns_to_datetime(int(last['ts_ns'])):%H:%M:%S}"
            return (f"daily loss limit: {day} PnL before this start {pnl:,.0f} USD, restored "
                    f"from the journal's snapshot at {at} UTC")  # fmt: skip
        return (f"daily loss limit: the journal holds no PnL of {day} (UTC); the day's loss "
                f"counts from this start at {ns_to_datetime(now):%H:%M:%S} UTC")  # fmt: skip

    # ------------------------------------------------------------------ surface refits
    def _start_refit(self, why: str = "") -> None:
        if self.surface is None and self.refit is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        market, book = self.market, self.cbook
        quotes = dict(self._option_quotes) if self._quotes_dirty and self.refit else None
        self._quotes_dirty = False
        self._moves.reset(self._option_quotes, market.index(self._u))
        self._last_fit_ns = market.ts_ns
        self.counters.refits += 1
        if why and why != "timer":
            self.counters.refits_on_move += 1
            self._log_once("refit", f"surface refit: {why}", 10.0)
        refit, surface = self.refit, self.surface
        u = self.settings.underlying

        def work() -> tuple[Any, Any, Any]:
            if quotes is None or refit is None:
                return surface, book.with_surface(surface, market), None
            surf = refit(quotes, market)
            # the quotes the new surface was fitted to, for the dashboard's smiles
            from deltahedge.engine.publish import smile_quotes_from_chain
            from deltahedge.engine.refit import quotes_to_chain

            shown = smile_quotes_from_chain(surf, quotes_to_chain(quotes, market, u))
            return surf, book.with_surface(surf, market), shown

        self._refit_pending = True
        fut = loop.run_in_executor(None, work)
        fut.add_done_callback(self._refit_done)
        self._refit_future = fut

    async def refit_now(self) -> None:
        """Start a refit now (quotes or surface re-evaluation) and wait for it."""
        self._quotes_dirty = self._quotes_dirty or bool(self._option_quotes)
        self._start_refit()
        fut = self._refit_future
        if fut is not None:
            await asyncio.wait([fut])
            await asyncio.sleep(0)  # let the done callback swap the surface in

    def _refit_done(self, fut: asyncio.Future[tuple[Any, Any, Any]]) -> None:
        self._refit_pending = False
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            self.counters.errors += 1
            log.warning("surface refit failed, keeping the previous one: %s", exc)
            return
        old = self.cbook
        self.surface, self.cbook, shown = fut.result()
        if shown is not None:
            self.smile_quotes = shown
        self.vol.set_fallback(atm_vol(self.surface))
        if self.attribution.started:
            s = self.settings
            try:
                v_old = options_value(old, self.market, s.numeraire, s.delta_model, self._ui)
                v_new = options_value(self.cbook, self.market, s.numeraire, s.delta_model, self._ui)
            except Exception as err:  # attribution must never stop the loop
                log.warning("vega attribution skipped: %s", err)
                return
            self.attribution.revalue(v_old, v_new)

    # ------------------------------------------------------------------ vol forecast
    def _start_garch(self) -> None:
        job = self.vol.garch_job()
        if job is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._garch_pending = True
        fut = loop.run_in_executor(None, job)
        fut.add_done_callback(self._garch_done)
        self._garch_future = fut

    def _garch_done(self, fut: asyncio.Future[float]) -> None:
        self._garch_pending = False
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            self.counters.errors += 1
            log.warning("GARCH fit failed, keeping the last vol forecast: %s", exc)
            return
        self.vol.garch_done(fut.result())

    # ------------------------------------------------------------------ funding
    def _poll_funding(self) -> None:
        perps = [h for h in self.hedges if h.kind == "perpetual"]
        if not perps:
            return
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to poll with
            task = asyncio.get_running_loop().create_task(self._read_funding(perps))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _read_funding(self, perps: list[Any]) -> None:
        for spec in perps:
            venue = self.venues[spec.venue]
            try:
                fr = await venue.funding_rate(spec.symbol)
            except Exception as exc:  # a venue that cannot tell keeps its last rate
                self._log_once(f"funding:{spec.venue}", f"funding rate of {spec.venue}: {exc}", 60)
                continue
            self.funding[(spec.venue, spec.symbol)] = (float(fr.rate), float(fr.interval_s))
        # what the attribution accrues on the hot path: only the legs with a rate
        self._accruing = {k: r for k, r in self.funding.items() if r[0]}

    # ------------------------------------------------------------------ kill switch, metrics
    def _poll_kill_requests(self) -> None:
        """Apply kill-switch requests journaled by ``deltahedge run --kill`` or another tool."""
        from deltahedge.store import pending_kill_switch_requests

        for req in pending_kill_switch_requests(self.journal, self._ks_seq, self.settings.name):
            self._ks_seq = req.seq
            self.kill_switch.set(req.state, req.source or "journal", req.reason)
            self.paused = False

    @property
    def metrics(self) -> Any:
        """The engine's ``EngineMetrics`` (or None); setting it also tracks the kill switch."""
        return self._metrics

    @metrics.setter
    def metrics(self, value: Any) -> None:
        self._metrics = value
        if value is not None:
            value.kill_switch_state(self.kill_switch.state.value, [s.value for s in KillState])

    def _on_kill_change(self, change: Any) -> None:
        if self._metrics is not None:
            self._metrics.kill_switch_state(change.state.value, [s.value for s in KillState])

    def venue_ages(self, now: int | None = None) -> dict[str, float | None]:
        """Seconds since each venue's own newest data (book, quote, mark), None if none yet."""
        now = self.clock.now_ns() if now is None else now
        out: dict[str, float | None] = {}
        for name in self.venues:
            ts = self.venue_data_ns.get(name)
            out[name] = max(0.0, (now - ts) / NS_PER_SECOND) if ts else None
        return out

    def _set_gauges(self, now: int) -> None:
        m = self._metrics
        if self._index_key and self.last_index_ns:
            m.price_age(self._index_key, max(0.0, (now - self.last_index_ns) / NS_PER_SECOND))
        ages = self.venue_ages(now)
        for spec in self.hedges:
            age = ages.get(spec.venue)
            if age is not None and math.isfinite(age):
                m.price_age(f"{spec.venue}:{spec.symbol}", age)

    # ------------------------------------------------------------------ publishing
    def publish(self, force: bool = False) -> None:
        """Publish a dashboard update (at most ``publish_hz`` a second unless ``force``)."""
        if self.read_model is None or self.last_risk is None:
            return
        now = time.monotonic()
        if not force and now - self._last_publish < 1.0 / self.settings.publish_hz:
            return
        self._last_publish = now
        from deltahedge.engine.publish import build_update

        update = build_update(self, self._new_hedges)  # type: ignore[arg-type]
        self._new_hedges = []
        self.read_model.publish(update)

    def _log_once(self, key: str, message: str, every_s: float = 1.0) -> None:
        now = time.monotonic()
        if now - self._last_log.get(key, -math.inf) >= every_s:
            self._last_log[key] = now
            log.info("%s", message)


__all__ = ["Background"]

"""The engine's work besides deciding: staleness lines, refits when quotes move, the daily
loss of the UTC day, Prometheus metrics, each venue's own data age, and funding."""

from __future__ import annotations

import asyncio
import logging
import urllib.request
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from deltahedge.core.clock import SimClock
from deltahedge.core.enums import Settlement
from deltahedge.engine.engine import EngineSettings
from deltahedge.engine.observability import EngineMetrics, serve_metrics
from deltahedge.engine.risk_guard import RiskLimits
from deltahedge.engine.scenario import build_demo
from deltahedge.execution.venue import FundingRate
from deltahedge.marketdata.feeds import Tick, TickKind
from deltahedge.store import Journal

S = EngineSettings(surface_refit_s=0, greeks_snapshot_s=0)


@pytest.fixture
def engine_log(caplog, monkeypatch):  # type: ignore[no-untyped-def]
    """The engine's log records (``configure_logging`` stops ``deltahedge`` propagating)."""
    monkeypatch.setattr(logging.getLogger("deltahedge"), "propagate", True)
    caplog.set_level(logging.INFO, logger="deltahedge.engine")
    return caplog


def _tick(sc, price: float, dt_s: float = 0.1, age_s: float = 0.0) -> Tick:  # type: ignore[no-untyped-def]
    ts = sc.clock.advance(dt_s)
    return Tick(TickKind.INDEX, "BTC", "sim", "BTC", price, ts - round(age_s * 1e9), ts)


def _breach_price(sc, band: float) -> float:  # type: ignore[no-untyped-def]
    """A spot above the start where the short-gamma demo book's |delta| is 1.5 bands."""
    e = sc.engine
    s0 = e.market.index("BTC")
    lo, hi = s0, s0 * 1.05
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        d = e.cbook.risk(e.market.with_index("BTC", mid)).delta_coin[0]
        lo, hi = (mid, hi) if abs(d) <= 1.5 * band else (lo, mid)
    return hi


def _ns(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * 10**9


# --------------------------------------------------------------------------- staleness
def test_a_stale_index_is_said_once_as_the_index_and_the_resume_once(engine_log, tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    sc = build_demo(journal=journal, band_coin=2.0, settings=S,
                    limits=RiskLimits(max_staleness_s=2.0))  # fmt: skip
    e = sc.engine
    asyncio.run(e.start())
    price = _breach_price(sc, 2.0)

    async def go() -> list:  # type: ignore[type-arg]
        out = []
        for age in (5.0, 6.0, 7.0):  # three breaching ticks, each older than the limit
            out.append(await e.on_tick(_tick(sc, price, dt_s=2.0, age_s=age)))
        out.append(await e.on_tick(_tick(sc, price * 1.0001, dt_s=2.0)))  # fresh again
        return out

    intents = asyncio.run(go())
    assert intents[:3] == [None, None, None] and intents[3] is not None
    assert e.counters.denied == 3
    lines = [r.getMessage() for r in engine_log.records]
    paused = [x for x in lines if "hedging paused" in x]
    resumed = [x for x in lines if "hedging resumed" in x]
    assert paused == ["sim:BTC index is 5.0 s old, limit 2 s; hedging paused"]
    assert resumed == ["sim:BTC index is 0.0 s old; hedging resumed"]
    assert not any("hedge refused" in x and "old" in x for x in lines)  # said once, above
    kinds = [ev["kind"] for ev in journal.events(kinds=["hedging_paused", "hedging_resumed"])]
    assert kinds == ["hedging_paused", "hedging_resumed"]
    journal.close()


# --------------------------------------------------------------------------- refits
def test_moved_quotes_or_index_refit_the_surface_before_the_timer():
    settings = EngineSettings(surface_refit_s=1e6, surface_refit_iv_move=0.01,
                              surface_refit_index_move=0.02, surface_refit_min_s=1.0,
                              greeks_snapshot_s=0)  # fmt: skip
    sc = build_demo(band_coin=1e6, settings=settings)
    e = sc.engine
    fitted: list[dict[str, float]] = []

    def refit(quotes, market):  # type: ignore[no-untyped-def]
        fitted.append({s: t.iv for s, t in quotes.items()})
        return sc.surface

    e.refit = refit
    symbols = [p.instrument.symbol for p in sc.positions]  # 24 options
    s0 = e.market.index("BTC")

    async def quotes(ivs: dict[str, float]) -> None:
        for sym, iv in ivs.items():
            ts = sc.clock.advance(0.01)
            await e.on_tick(Tick(TickKind.OPTION, "BTC", "deribit", sym, 0.05, ts, ts, iv=iv))

    async def index(price: float, dt_s: float = 0.5) -> None:
        await e.on_tick(_tick(sc, price, dt_s))
        if e._refit_future is not None:
            await asyncio.wait([e._refit_future])
            await asyncio.sleep(0)

    async def go() -> list[int]:
        n = []
        await quotes(dict.fromkeys(symbols, 0.50))
        await index(s0)  # the timer's first refit
        n.append(e.counters.refits)
        await quotes(dict.fromkeys(symbols, 0.505))  # every IV +0.5 point: mean 0.005
        await index(s0)
        n.append(e.counters.refits)
        # one quote jumps 10 points: mean (23 * 0.005 + 0.10) / 24 = 0.0090 < 0.01
        await quotes({symbols[0]: 0.60})
        await index(s0)
        n.append(e.counters.refits)
        await quotes(dict.fromkeys(symbols, 0.52))  # the smile shifts 2 points: mean 0.02
        await index(s0)
        n.append(e.counters.refits)
        await index(s0 * 1.03, dt_s=0.1)  # +3 %, but 0.1 s after the last refit (min 1 s)
        n.append(e.counters.refits)
        await index(s0 * 1.03, dt_s=1.5)
        n.append(e.counters.refits)
        return n

    assert asyncio.run(go()) == [1, 1, 1, 2, 2, 3]
    assert (e.counters.refits_on_move, e.counters.errors) == (2, 0)
    # the quote move refitted from the new quotes; the index move had no new quote to fit,
    # so it re-evaluated the surface on the book at the new index (new forwards)
    assert len(fitted) == 2 and fitted[1] == dict.fromkeys(symbols, 0.52)
    assert e._moves.index_ref == pytest.approx(s0 * 1.03)


# --------------------------------------------------------------------------- daily loss
def test_the_daily_loss_limit_counts_the_utc_day_and_resets_at_midnight():
    clock = SimClock(_ns("2026-01-05T23:59:00"))
    sc = build_demo(clock=clock, band_coin=2.0, settings=S,
                    limits=RiskLimits(max_daily_loss_usd=1.0))  # fmt: skip
    e = sc.engine
    asyncio.run(e.start())
    s0 = e.market.index("BTC")
    price = _breach_price(sc, 2.0)  # up ~2 %: the short calls lose
    asyncio.run(e.on_tick(_tick(sc, s0, dt_s=1.0)))
    assert e.daily.value == 0.0  # the day's first step in this process is its base
    assert asyncio.run(e.on_tick(_tick(sc, price, dt_s=29.0))) is None  # 23:59:30
    assert e.daily.value < -1.0 and e.counters.hedges == 0
    assert "daily loss" in e.message and "reached the limit 1 USD" in e.message
    # 00:00:30 UTC, same price: a new day, its loss counts from zero again
    intent = asyncio.run(e.on_tick(_tick(sc, price, dt_s=60.0)))
    assert intent is not None and e.counters.hedges == 1
    assert e.pnl.total < -1.0  # still the loss since the start: the limit reads the day's
    assert e.daily.day == _ns("2026-01-06T00:00:00") // (86_400 * 10**9)


def test_a_restart_the_same_day_restores_the_days_pnl_from_the_journal(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    settings = EngineSettings(surface_refit_s=0, greeks_snapshot_s=1.0)
    clock = SimClock(_ns("2026-01-05T10:00:00"))
    sc = build_demo(clock=clock, journal=journal, band_coin=1e6, settings=settings)
    e = sc.engine
    asyncio.run(e.start())
    s0 = e.market.index("BTC")
    for p in (s0, s0 * 1.02):
        asyncio.run(e.on_tick(_tick(sc, p, dt_s=2.0)))
    lost = e.daily.value
    assert lost < -1_000.0
    asyncio.run(e.on_tick(_tick(sc, s0 * 1.02, dt_s=2.0)))  # its snapshot holds that loss

    # a new engine on the same journal, later that day (same UTC day)
    clock2 = SimClock(_ns("2026-01-05T15:00:00"))
    sc2 = build_demo(clock=clock2, journal=journal, band_coin=2.0, settings=S,
                     limits=RiskLimits(max_daily_loss_usd=-lost / 2))  # fmt: skip
    lines = asyncio.run(sc2.engine.start())
    assert any(f"2026-01-05 PnL before this start {lost:,.0f} USD, restored from the journal's "
               "snapshot at 10:00:06 UTC" in x for x in lines), lines  # fmt: skip
    asyncio.run(sc2.engine.on_tick(_tick(sc2, _breach_price(sc2, 2.0))))
    assert sc2.engine.daily.carried == pytest.approx(lost)
    assert sc2.engine.daily.value == pytest.approx(lost)  # the day's first step here: + 0
    assert sc2.engine.counters.hedges == 0 and "daily loss" in sc2.engine.message

    # the next day the journal holds nothing of that day: the line says so
    sc3 = build_demo(clock=SimClock(_ns("2026-01-06T08:00:00")), journal=journal, settings=S)
    lines = asyncio.run(sc3.engine.start())
    assert any("holds no PnL of 2026-01-06 (UTC)" in x for x in lines)
    journal.close()


# --------------------------------------------------------------------------- metrics
def _scrape(url: str) -> dict[tuple[str, tuple], float]:  # type: ignore[type-arg]
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted((k, v) for k, v in s.labels.items() if k != "engine")))] = (
                s.value
            )
    return out


def test_metrics_count_a_split_hedge_once_with_each_venues_own_size_and_slippage():
    sc = build_demo(band_coin=2.0, settings=S)
    e = sc.engine
    e.metrics = EngineMetrics("t")
    server = serve_metrics(e.metrics)
    try:
        asyncio.run(e.start())
        asyncio.run(e.on_tick(_tick(sc, _breach_price(sc, 2.0))))
        (entry,) = e.hedge_log
        venues = {leg[0] for leg in entry.legs}
        assert venues == {"binance_usdm", "binance_coinm"}  # ~3 BTC: split over both books
        specs = {(h.venue, h.symbol): h for h in e.hedges}
        coin = {}
        for venue, sym, n, px in entry.legs:  # linear: n * 1 BTC; inverse: n * 100 USD / px
            spec = specs[(venue, sym)]
            lin = spec.settlement is Settlement.LINEAR
            coin[venue] = abs(n * spec.contract_size if lin else n * spec.contract_size / px)
        e.kill_switch.freeze("test", "metrics")
        e._next_gauges = 0.0
        asyncio.run(e.on_tick(_tick(sc, e.market.index("BTC"))))
        m = _scrape(server.url)
    finally:
        server.close()
    side = "buy" if entry.delta_coin > 0 else "sell"
    assert m[("deltahedge_hedges_total", (("side", side),))] == 1  # one hedge, two legs
    for venue in venues:
        assert m[("deltahedge_hedge_orders_total", (("side", side), ("venue", venue)))] == 1
        assert m[("deltahedge_hedged_coin_total", (("venue", venue),))] == pytest.approx(
            coin[venue]
        )
        assert m[("deltahedge_slippage_bps_count", (("venue", venue),))] == 1
    assert sum(coin.values()) == pytest.approx(abs(entry.filled_coin))
    assert m[("deltahedge_kill_switch", (("state", "frozen"),))] == 1.0
    assert m[("deltahedge_kill_switch", (("state", "running"),))] == 0.0
    assert m[("deltahedge_price_age_seconds", (("instrument", "sim:BTC"),))] == 0.0
    # the venues' books were read at the hedge, 0.1 s before the last tick
    age = m[("deltahedge_price_age_seconds", (("instrument", "binance_usdm:BTCUSDT"),))]
    assert age == pytest.approx(0.1)


# --------------------------------------------------------------------------- venues
def test_each_venue_shows_its_own_data_age_not_the_index_age():
    settings = EngineSettings(surface_refit_s=0, greeks_snapshot_s=0, venue_sync_s=1.0)
    from deltahedge.dashboard import ReadModel

    rm = ReadModel()
    sc = build_demo(band_coin=1e6, settings=settings, read_model=rm)
    e = sc.engine
    s0 = e.market.index("BTC")
    asyncio.run(e.on_tick(_tick(sc, s0)))  # the paper books are re-centred now
    asyncio.run(e.on_tick(_tick(sc, s0, dt_s=0.6, age_s=0.3)))  # index 0.3 s old
    assert e.venue_ages() == {
        "binance_usdm": pytest.approx(0.6),
        "binance_coinm": pytest.approx(0.6),
    }
    # a quote from a venue's own stream (as a live feed sends) dates that venue only
    t = sc.clock.advance(0.1)
    q = Tick(TickKind.QUOTE, "BTC", "binance_usdm", "BTCUSDT", s0, t - 50_000_000, t,
             s0 - 0.05, s0 + 0.05, 3.0, 3.0)  # fmt: skip
    asyncio.run(e.on_tick(q))
    e.publish(force=True)
    ages = {v.venue: v.staleness_s for v in rm.snapshot().venues}
    assert ages == {"binance_usdm": pytest.approx(0.05), "binance_coinm": pytest.approx(0.7)}
    index_age = (sc.clock.now_ns() - e.last_index_ns) / 1e9
    assert index_age == pytest.approx(0.4)  # what every venue showed before


def test_funding_of_the_perpetual_legs_accrues_at_each_venues_rate():
    from deltahedge.dashboard import ReadModel

    rm = ReadModel()
    settings = EngineSettings(surface_refit_s=0, greeks_snapshot_s=0, funding_poll_s=60.0)
    sc = build_demo(band_coin=2.0, settings=settings, read_model=rm)
    e = sc.engine
    rates = {"BTCUSDT": 1e-4, "BTCUSD_PERP": -2e-4}  # per 8 h

    for name, venue in e.venues.items():

        async def rate(symbol: str, _v: str = name) -> FundingRate:
            return FundingRate(symbol, rates[symbol], 8 * 3600.0)

        venue.funding_rate = rate  # type: ignore[method-assign]

    async def go() -> None:
        await e.start()
        await e.on_tick(_tick(sc, e.market.index("BTC")))  # polls the rates (a task)
        await asyncio.sleep(0)
        await e.on_tick(_tick(sc, _breach_price(sc, 2.0)))  # hedges: both legs open
        for _ in range(8):  # 8 hours at the same price
            await e.on_tick(_tick(sc, e.market.index("BTC"), dt_s=3600.0))
            await asyncio.sleep(0)

    asyncio.run(go())
    S = e.market.index("BTC")
    expected = 0.0
    for h in e.hedges:  # longs pay rate x notional per 8 h: linear n s S, inverse n c USD
        n = e.account.contracts()[(h.venue, h.symbol)]
        notional = n * h.contract_size * (S if h.settlement is Settlement.LINEAR else 1.0)
        expected -= notional * rates[h.symbol]
    assert e.counters.hedges == 1 and abs(expected) > 0.5
    assert e.pnl.funding == pytest.approx(expected, rel=1e-9)
    e.publish(force=True)
    snap = rm.snapshot()
    assert snap.pnl.funding == pytest.approx(expected, rel=1e-9)
    notes = {v.venue: v.message for v in snap.venues}
    assert notes["binance_usdm"] == "funding +1.00 bp/8h"
    assert notes["binance_coinm"] == "funding -2.00 bp/8h"


def test_paper_venues_quote_no_funding_so_none_accrues_and_the_dashboard_says_so():
    from deltahedge.dashboard import ReadModel

    rm = ReadModel()
    sc = build_demo(band_coin=2.0, settings=S, read_model=rm)
    e = sc.engine

    async def go() -> None:
        await e.start()
        await e.on_tick(_tick(sc, e.market.index("BTC")))
        await asyncio.sleep(0)
        await e.on_tick(_tick(sc, _breach_price(sc, 2.0)))
        await e.on_tick(_tick(sc, e.market.index("BTC"), dt_s=8 * 3600.0))

    asyncio.run(go())
    e.publish(force=True)
    snap = rm.snapshot()
    assert e.counters.hedges >= 1 and e.pnl.funding == 0.0 and snap.pnl.funding == 0.0
    assert all(v.message == "funding rate 0: none accrues" for v in snap.venues)


def test_the_terminal_view_shows_the_vol_forecast_funding_and_the_days_pnl():
    from rich.console import Console

    from deltahedge.engine.view import render
    from deltahedge.engine.volforecast import atm_vol

    sc = build_demo(band_coin=2.0, settings=S)
    e = sc.engine
    asyncio.run(e.start())
    asyncio.run(e.on_tick(_tick(sc, _breach_price(sc, 2.0))))
    console = Console(record=True, width=200)
    console.print(render(e))
    text = " ".join(console.export_text().split())
    assert f"vol forecast {100 * atm_vol(sc.surface):.1f} % (surface ATM)" in text
    assert "funding" in text and "today (UTC)" in text

"""Engine benchmarks: tick-to-decision latency on a 1,000-option book, and a soak run.

1. **Latency** (issue 7 target: p50 <= 100 us, p99 <= 1 ms): a spot tick that breaches
   the band, from the engine receiving it to the ``HedgeIntent`` handed to the router
   (price check, ``MarketState``, book Greeks of 1,000 options by the fused kernel, the
   hedge legs' delta, ``policy.decide``, the risk guard's pre-trade check). The router
   hand-off is stubbed so every tick is a fresh breach. Peers in the same run: the book
   repricing alone (``CompiledBook.risk``) and the policy alone. A second row times the
   whole hedge, tick to filled order (route, journal-first order manager, paper venue).
2. **Soak**: one simulated hour at 100 ticks/s in accelerated time (360,000 ticks; the
   ``--quick`` run does 36,000) through the demo engine with a SQLite journal, surface
   re-evaluations in an executor and dashboard publishing; memory growth (RSS and
   ``tracemalloc``-free: ``/proc/self/statm``) and the per-tick latency quantiles of the
   first and last 10 % of the ticks (no drift: they should agree).
"""

from __future__ import annotations

import asyncio
import gc
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from deltahedge.core.clock import SimClock
from deltahedge.engine.engine import Engine, EngineSettings
from deltahedge.engine.risk_guard import RiskGuard, RiskLimits
from deltahedge.hedging.policies import FixedThreshold, HedgeState
from deltahedge.marketdata.feeds import SimulatedFeed, Tick, TickKind

_BINS_US = (0, 25, 50, 75, 100, 150, 200, 500, 1000, math.inf)


def _rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def latency_engine(n_options: int = 1000) -> Engine:
    """An engine on the bench's 1,000-option book whose router hand-off is a stub."""
    from deltahedge.bench.portfolio import make_book
    from deltahedge.engine.scenario import paper_venues

    book, market = make_book(n_options, seed=1)
    clock = SimClock(market.ts_ns)
    venues, hedges = paper_venues(clock, market.index("BTC"))
    limits = RiskLimits(max_order_coin=1e9, max_notional_per_minute_usd=1e18,
                        max_position_coin=1e9, max_daily_loss_usd=1e18, max_jump_fraction=0.5)  # fmt: skip
    engine = Engine(
        options=book, policy=FixedThreshold(threshold=1e-6), venues=venues, hedges=hedges,
        market=market, clock=clock, guard=RiskGuard(limits, clock),
        settings=EngineSettings(surface_refit_s=0, greeks_snapshot_s=0),
    )  # fmt: skip

    async def handed(intent, risk):  # type: ignore[no-untyped-def]
        return None  # the router hand-off: the measurement ends here

    engine._execute = handed  # type: ignore[method-assign]
    return engine


async def measure_latency(engine: Engine, n: int, seed: int = 0) -> np.ndarray:
    """Tick-to-intent latencies (seconds) of ``n`` breaching spot ticks."""
    rng = np.random.default_rng(seed)
    clock = engine.clock
    assert isinstance(clock, SimClock)
    s0 = engine.market.index("BTC")
    out = np.empty(n)
    await engine.start()
    for _ in range(200):  # warm-up ticks, not counted (first calls, allocator, caches)
        ts = clock.advance(0.01)
        await engine.on_tick(Tick(TickKind.INDEX, "BTC", "sim", "BTC", s0, ts, ts))
    for i in range(n):
        ts = clock.advance(0.01)
        px = s0 * math.exp(0.0005 * rng.standard_normal())
        engine.last_hedge_latency_s = math.nan
        await engine.on_tick(Tick(TickKind.INDEX, "BTC", "sim", "BTC", px, ts, ts))
        out[i] = engine.last_hedge_latency_s
        if i % 1000 == 999:
            await asyncio.sleep(0)
    return out


async def measure_direct(engine: Engine, n: int) -> np.ndarray:
    """The same latency timed around ``on_tick`` from outside (perf_counter)."""
    clock = engine.clock
    assert isinstance(clock, SimClock)
    s0 = engine.market.index("BTC")
    out = np.empty(n)
    for i in range(n):
        ts = clock.advance(0.01)
        tick = Tick(TickKind.INDEX, "BTC", "sim", "BTC", s0 * (1 + 1e-4 * (i % 7 - 3)), ts, ts)
        t0 = time.perf_counter_ns()
        await engine.on_tick(tick)
        out[i] = (time.perf_counter_ns() - t0) * 1e-9
    return out


async def measure_full_hedge(n: int) -> np.ndarray:
    """Tick to filled hedge (route + order manager + paper venue), seconds, demo book."""
    from deltahedge.engine.scenario import build_demo

    sc = build_demo(band_coin=1e-3, settings=EngineSettings(surface_refit_s=0, greeks_snapshot_s=0),
                    limits=RiskLimits(max_notional_per_minute_usd=1e18, max_jump_fraction=0.5))  # fmt: skip
    e = sc.engine
    await e.start()
    clock = sc.clock
    assert isinstance(clock, SimClock)
    out = np.empty(n)
    s0 = e.market.index("BTC")
    for i in range(n):
        ts = clock.advance(0.01)
        tick = Tick(TickKind.INDEX, "BTC", "sim", "BTC", s0 * (1 + 2e-4 * (-1) ** i), ts, ts)
        t0 = time.perf_counter_ns()
        await e.on_tick(tick)
        out[i] = (time.perf_counter_ns() - t0) * 1e-9
    return out


def histogram_table(title: str, lat_s: np.ndarray) -> Table:
    """Counts per latency bin with a bar, and p50/p90/p99/max."""
    us = lat_s[np.isfinite(lat_s)] * 1e6
    t = Table(title=title, title_justify="left")
    t.add_column("latency")
    t.add_column("ticks", justify="right")
    t.add_column("%", justify="right")
    t.add_column("")
    counts, _ = np.histogram(us, bins=np.array(_BINS_US, dtype=float))
    for lo, hi, c in zip(_BINS_US[:-1], _BINS_US[1:], counts, strict=True):
        label = f"{lo:g}-{hi:g} us" if math.isfinite(hi) else f">= {lo:g} us"
        share = c / max(len(us), 1)
        t.add_row(label, f"{c:,}", f"{100 * share:.1f}", "#" * round(50 * share))
    q = np.percentile(us, [50, 90, 99]) if len(us) else [math.nan] * 3
    t.caption = (
        f"n={len(us):,}  p50 {q[0]:.1f} us  p90 {q[1]:.1f} us  p99 {q[2]:.1f} us  "
        f"max {us.max() if len(us) else math.nan:.1f} us"
    )
    return t


@dataclass(frozen=True, slots=True)
class SoakResult:
    """What a soak run measured."""

    ticks: int
    hedges: int
    rejected: int
    errors: int
    wall_s: float
    rss_growth_mb: float
    first_p50_us: float
    first_p99_us: float
    last_p50_us: float
    last_p99_us: float
    hedge_log_len: int
    journal_mb: float


async def soak(
    n_ticks: int, ticks_per_second: float = 100.0, seed: int = 3, journal: bool = True
) -> SoakResult:
    """Run the demo engine over ``n_ticks`` simulated ticks as fast as possible."""
    from deltahedge.dashboard import ReadModel
    from deltahedge.engine.scenario import build_demo
    from deltahedge.store import Journal

    folder = Path(tempfile.mkdtemp(prefix="deltahedge-soak-"))
    j = Journal(folder / "journal.sqlite", synchronous="NORMAL") if journal else None
    sc = build_demo(journal=j, read_model=ReadModel(), seed=seed, band_coin=1.0,
                    settings=EngineSettings(seed=seed, publish_hz=4.0, surface_refit_s=30.0))  # fmt: skip
    e = sc.engine
    await e.start()
    feed = SimulatedFeed(sc.surface.spot, sc.clock, ticks_per_second=ticks_per_second,
                         duration_s=n_ticks / ticks_per_second, seed=seed, glitch_rate=1e-4)  # fmt: skip
    lat = np.empty(n_ticks)
    gc.collect()
    base = _rss_mb()
    warm = max(n_ticks // 20, 1)
    i = 0
    t_start = time.perf_counter()
    async for tick in feed:
        t0 = time.perf_counter_ns()
        try:
            await e.on_tick(tick)
        except Exception as exc:  # as the engine's own loop does: count and go on
            e._error(exc, tick)
        lat[i] = (time.perf_counter_ns() - t0) * 1e-9
        i += 1
        if i == warm:  # after warm-up (JIT, caches, first refit): the memory baseline
            gc.collect()
            base = _rss_mb()
    wall = time.perf_counter() - t_start
    gc.collect()
    growth = _rss_mb() - base
    k = max(i // 10, 1)
    first, last = lat[:k] * 1e6, lat[i - k : i] * 1e6
    size = (folder / "journal.sqlite").stat().st_size / 2**20 if journal else 0.0
    if j is not None:
        j.close()
    return SoakResult(
        i, e.counters.hedges, sum(e.counters.rejected.values()), e.counters.errors, wall, growth,
        float(np.percentile(first, 50)), float(np.percentile(first, 99)),
        float(np.percentile(last, 50)), float(np.percentile(last, 99)), len(e.hedge_log), size,
    )  # fmt: skip


def run(console: Console, quick: bool = False) -> None:
    """Print the latency histogram and the soak figures."""
    n = 2_000 if quick else 20_000
    engine = latency_engine(1000)
    lat = asyncio.run(measure_latency(engine, n))
    console.print(histogram_table(
        f"tick -> HedgeIntent handed to the router, 1,000-option book ({n:,} breaching ticks; "
        "target p50 <= 100 us, p99 <= 1 ms)", lat))  # fmt: skip

    from deltahedge.bench.timing import best_time

    e2 = latency_engine(1000)
    st = HedgeState()
    risk = e2._risk()
    t_risk = best_time(lambda: e2.cbook.risk(e2.market))
    t_decide = best_time(lambda: e2.policy.decide(risk, e2.market, st))
    t_index = best_time(lambda: e2.market.with_index("BTC", 95_001.0, e2.market.ts_ns + 1))
    full = asyncio.run(measure_full_hedge(200 if quick else 1000))
    peers = Table(title="where the time goes (best of repeats, same run)", title_justify="left")
    peers.add_column("step")
    peers.add_column("us", justify="right")
    p50 = float(np.nanpercentile(lat, 50)) * 1e6
    for name, sec in (
        ("MarketState.with_index (spot move)", t_index),
        ("CompiledBook.risk, 1,000 options (fused kernel)", t_risk),
        ("policy.decide (fixed threshold)", t_decide),
    ):
        peers.add_row(name, f"{sec * 1e6:.1f}")
    peers.add_row("whole tick -> intent, p50 (above)", f"{p50:.1f}")
    peers.add_row(
        "tick -> hedge filled (route, journal-first OM, paper venue), p50 / p99, demo book",
        f"{np.percentile(full, 50) * 1e6:.0f} / {np.percentile(full, 99) * 1e6:.0f}",
    )
    console.print(peers)

    n_soak = 36_000 if quick else 360_000
    res = asyncio.run(soak(n_soak))
    t = Table(
        title=f"soak: {n_soak:,} ticks at 100/s simulated ({n_soak / 360_000:g} h) in accelerated "
        "time; targets: memory growth < 50 MB, no latency drift",
        title_justify="left",
    )
    t.add_column("measure")
    t.add_column("value", justify="right")
    for name, value in (
        ("wall time, s", f"{res.wall_s:.1f} ({res.ticks / res.wall_s:,.0f} ticks/s)"),
        ("hedges / bad ticks rejected / errors", f"{res.hedges} / {res.rejected} / {res.errors}"),
        ("RSS growth after warm-up, MB", f"{res.rss_growth_mb:.1f}"),
        (
            "per-tick latency first 10 %: p50 / p99, us",
            f"{res.first_p50_us:.0f} / {res.first_p99_us:.0f}",
        ),
        (
            "per-tick latency last 10 %: p50 / p99, us",
            f"{res.last_p50_us:.0f} / {res.last_p99_us:.0f}",
        ),
        ("hedge log kept in memory (bounded)", str(res.hedge_log_len)),
        ("journal size, MB", f"{res.journal_mb:.1f}"),
    ):
        t.add_row(name, value)
    console.print(t)


__all__ = [
    "SoakResult",
    "histogram_table",
    "latency_engine",
    "measure_direct",
    "measure_full_hedge",
    "measure_latency",
    "run",
    "soak",
]

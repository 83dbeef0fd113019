"""Engine benchmarks: tick-to-decision latency on a 1,000-option book, and a soak run.

1. **Latency** (issue 7 target: p50 <= 100 us, p99 <= 1 ms): a spot tick that breaches
   the band, from the engine receiving it to the ``HedgeIntent`` handed to the router
   (price check, ``MarketState``, book Greeks of 1,000 options by the fused kernel, the
   hedge legs' delta, ``policy.decide``, the risk guard's pre-trade check). The router
   hand-off is stubbed so every tick is a fresh breach. Peers in the same run: the book
   repricing alone (``CompiledBook.risk``) and the policy alone. A second row times the
   whole hedge, tick to filled order (route, journal-first order manager, paper venue).
2. **Soak** (target: memory growth < 50 MB, no latency drift): one simulated hour at 100
   ticks/s in accelerated time (360,000 ticks after a warm-up; the ``--quick`` run does
   36,000: six simulated minutes) through the demo engine with a SQLite journal, surface
   re-evaluations in an executor, paper books re-centred every second, funding polls and
   dashboard publishing. Printed per 10-minute segment (a sixth of the run): p50 / p99
   per-tick latency, RSS growth since the warm-up (``/proc/self/statm``, no tracing
   overhead), and the median number of Python function calls per tick over the segment's
   last 200 ticks (``sys.setprofile``: a count, so it shows work that grows with the run
   whatever the machine's load). Drift is the last segment against the first.
"""

from __future__ import annotations

import asyncio
import gc
import math
import sys
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


#: soak targets of issue 7
SOAK_MAX_GROWTH_MB = 50.0
SOAK_MAX_DRIFT = 1.5  # last segment's p50 / p99 against the first's, and calls per tick
PROBE_TICKS = 200


@dataclass(frozen=True, slots=True)
class SoakSegment:
    """One segment of a soak run (latencies exclude the probed ticks)."""

    start_s: float  # simulated seconds since the soak's start
    ticks: int
    p50_us: float
    p99_us: float
    rss_growth_mb: float  # RSS at the segment's end minus the baseline after the warm-up
    calls_per_tick: float  # median Python calls per tick over the probe


@dataclass(frozen=True, slots=True)
class SoakResult:
    """What a soak run measured."""

    ticks: int
    hedges: int
    rejected: int
    errors: int
    wall_s: float
    rss_growth_mb: float
    segments: tuple[SoakSegment, ...]
    hedge_log_len: int
    orders_retained: int
    journal_mb: float

    def drift(self, what: str) -> float:
        """Last segment's ``what`` (``p50_us``, ``p99_us``, ``calls_per_tick``) / the first's."""
        first, last = getattr(self.segments[0], what), getattr(self.segments[-1], what)
        return last / first if first > 0 else math.nan


class CallCounter:
    """Counts Python function calls while installed (``sys.setprofile``); deterministic."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, frame: object, event: str, arg: object) -> None:
        if event == "call":
            self.n += 1

    def __enter__(self) -> CallCounter:
        self.n = 0
        sys.setprofile(self)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(None)


async def soak(
    n_ticks: int,
    ticks_per_second: float = 100.0,
    seed: int = 3,
    journal: bool = True,
    segments: int = 6,
    warmup: int | None = None,
) -> SoakResult:
    """Run the demo engine over ``n_ticks`` simulated ticks (after ``warmup`` more) as fast as
    possible; measure each of ``segments`` equal parts."""
    from deltahedge.dashboard import ReadModel
    from deltahedge.engine.scenario import build_demo
    from deltahedge.store import Journal

    folder = Path(tempfile.mkdtemp(prefix="deltahedge-soak-"))
    j = Journal(folder / "journal.sqlite", synchronous="NORMAL") if journal else None
    sc = build_demo(journal=j, read_model=ReadModel(), seed=seed, band_coin=1.0,
                    settings=EngineSettings(seed=seed, publish_hz=4.0, surface_refit_s=30.0,
                                            venue_sync_s=1.0, funding_poll_s=60.0))  # fmt: skip
    e = sc.engine
    await e.start()
    warm = max(n_ticks // 20, 200) if warmup is None else warmup
    total = warm + n_ticks
    feed = SimulatedFeed(sc.surface.spot, sc.clock, ticks_per_second=ticks_per_second,
                         duration_s=(total + 0.5) / ticks_per_second, seed=seed,
                         glitch_rate=1e-4)  # fmt: skip
    seg_len = max(n_ticks // segments, 1)
    probe = min(PROBE_TICKS, seg_len // 4)
    lat = np.empty(seg_len)
    calls: list[int] = []
    counter = CallCounter()
    out: list[SoakSegment] = []
    base = _rss_mb()
    i = k = 0
    t_start = time.perf_counter()
    async for tick in feed:
        probing = i >= warm and k >= seg_len - probe
        t0 = time.perf_counter_ns()
        try:
            if probing:
                with counter:
                    await e.on_tick(tick)
                calls.append(counter.n)
            else:
                await e.on_tick(tick)
        except Exception as exc:  # as the engine's own loop does: count and go on
            e._error(exc, tick)
        dt = (time.perf_counter_ns() - t0) * 1e-9
        i += 1
        if i == warm:  # after warm-up (JIT, caches, first refit): the memory baseline
            gc.collect()
            base = _rss_mb()
            continue
        if i < warm:
            continue
        if not probing:
            lat[k] = dt
        k += 1
        if k == seg_len and len(out) < segments:
            us = lat[: seg_len - probe] * 1e6
            gc.collect()
            out.append(SoakSegment(
                len(out) * seg_len / ticks_per_second, seg_len, float(np.percentile(us, 50)),
                float(np.percentile(us, 99)), _rss_mb() - base,
                float(np.median(calls)) if calls else math.nan,
            ))  # fmt: skip
            k = 0
            calls = []
    wall = time.perf_counter() - t_start
    gc.collect()
    growth = _rss_mb() - base
    size = (folder / "journal.sqlite").stat().st_size / 2**20 if journal else 0.0
    if j is not None:
        j.close()
    om = e.om
    return SoakResult(
        i - warm, e.counters.hedges, sum(e.counters.rejected.values()), e.counters.errors, wall,
        growth, tuple(out), len(e.hedge_log), len(om.orders) if om else 0, size,
    )  # fmt: skip


def _mmss(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:02.0f}" if math.isfinite(seconds) else "-"


def soak_table(res: SoakResult, ticks_per_second: float = 100.0) -> Table:
    """Per-segment latency, memory and work, then drift and growth against the targets."""
    hours = res.ticks / ticks_per_second / 3600.0
    seg_s = res.segments[0].ticks / ticks_per_second if res.segments else math.nan
    t = Table(
        title=f"soak: {res.ticks:,} ticks at {ticks_per_second:g}/s simulated ({hours:.3g} h) in "
        f"accelerated time, {len(res.segments)} segments of {_mmss(seg_s)} simulated; targets: "
        f"memory growth < {SOAK_MAX_GROWTH_MB:g} MB, no latency drift",
        title_justify="left",
    )
    for col in ("segment (simulated m:ss)", "p50 us", "p99 us", "RSS growth MB", "calls / tick"):
        t.add_column(col, justify="left" if col.startswith("segment") else "right")
    for s in res.segments:
        end = s.start_s + s.ticks / ticks_per_second
        t.add_row(f"{_mmss(s.start_s)}-{_mmss(end)}", f"{s.p50_us:.0f}", f"{s.p99_us:.0f}",
                  f"{s.rss_growth_mb:.1f}", f"{s.calls_per_tick:.0f}")  # fmt: skip
    d50, d99, dc = res.drift("p50_us"), res.drift("p99_us"), res.drift("calls_per_tick")
    ok_mem = res.rss_growth_mb < SOAK_MAX_GROWTH_MB
    ok_drift = max(d50, d99, dc) <= SOAK_MAX_DRIFT
    t.caption = (
        f"wall {res.wall_s:.1f} s ({res.ticks / max(res.wall_s, 1e-9):,.0f} ticks/s); "
        f"{res.hedges} hedges, {res.rejected} bad ticks rejected, {res.errors} errors; "
        f"hedge log kept {res.hedge_log_len}, orders kept for recovery {res.orders_retained}; "
        f"journal {res.journal_mb:.1f} MB\n"
        f"memory growth {res.rss_growth_mb:.1f} MB (target < {SOAK_MAX_GROWTH_MB:g}): "
        f"{'met' if ok_mem else 'MISSED'}; drift last/first segment: p50 x{d50:.2f}, "
        f"p99 x{d99:.2f}, calls/tick x{dc:.2f} (target <= x{SOAK_MAX_DRIFT:g}): "
        f"{'no drift' if ok_drift else 'DRIFT'}"
    )
    return t


@dataclass(frozen=True, slots=True)
class BenchSizes:
    """How big each part of the engine benchmark is."""

    n_options: int = 1000
    latency_ticks: int = 20_000
    full_hedge_ticks: int = 1000
    soak_ticks: int = 360_000


FULL = BenchSizes()
QUICK = BenchSizes(latency_ticks=2_000, full_hedge_ticks=200, soak_ticks=36_000)


def run(console: Console, quick: bool = False, sizes: BenchSizes | None = None) -> None:
    """Print the latency histogram and the soak figures (``sizes``: QUICK, FULL or smaller)."""
    z = sizes or (QUICK if quick else FULL)
    n = z.latency_ticks
    engine = latency_engine(z.n_options)
    lat = asyncio.run(measure_latency(engine, n))
    console.print(histogram_table(
        f"tick -> HedgeIntent handed to the router, {z.n_options:,}-option book ({n:,} breaching "
        "ticks; target p50 <= 100 us, p99 <= 1 ms)", lat))  # fmt: skip

    from deltahedge.bench.timing import best_time

    e2 = latency_engine(z.n_options)
    st = HedgeState()
    risk = e2._risk()
    t_risk = best_time(lambda: e2.cbook.risk(e2.market))
    t_decide = best_time(lambda: e2.policy.decide(risk, e2.market, st))
    t_index = best_time(lambda: e2.market.with_index("BTC", 95_001.0, e2.market.ts_ns + 1))
    full = asyncio.run(measure_full_hedge(z.full_hedge_ticks))
    peers = Table(title="where the time goes (best of repeats, same run)", title_justify="left")
    peers.add_column("step")
    peers.add_column("us", justify="right")
    p50 = float(np.nanpercentile(lat, 50)) * 1e6
    for name, sec in (
        ("MarketState.with_index (spot move)", t_index),
        (f"CompiledBook.risk, {z.n_options:,} options (fused kernel)", t_risk),
        ("policy.decide (fixed threshold)", t_decide),
    ):
        peers.add_row(name, f"{sec * 1e6:.1f}")
    peers.add_row("whole tick -> intent, p50 (above)", f"{p50:.1f}")
    peers.add_row(
        "tick -> hedge filled (route, journal-first OM, paper venue), p50 / p99, demo book",
        f"{np.percentile(full, 50) * 1e6:.0f} / {np.percentile(full, 99) * 1e6:.0f}",
    )
    console.print(peers)
    console.print(soak_table(asyncio.run(soak(z.soak_ticks))))


__all__ = [
    "FULL",
    "QUICK",
    "SOAK_MAX_DRIFT",
    "SOAK_MAX_GROWTH_MB",
    "BenchSizes",
    "CallCounter",
    "SoakResult",
    "SoakSegment",
    "histogram_table",
    "latency_engine",
    "measure_direct",
    "measure_full_hedge",
    "measure_latency",
    "run",
    "soak",
    "soak_table",
]

"""The engine benchmark's functions at a tiny size, so ``make bench`` cannot silently break.
Timings are printed by the benchmark, never asserted here: the checks are on counts and
shapes (and on what the tables say)."""

from __future__ import annotations

import asyncio
import math

import numpy as np
from rich.console import Console

from deltahedge.bench import engine as bench


def test_soak_measures_each_segment_and_compares_with_the_targets():
    res = asyncio.run(bench.soak(1_200, segments=3, warmup=200))
    assert res.ticks == 1_200 and len(res.segments) == 3
    assert [s.start_s for s in res.segments] == [0.0, 4.0, 8.0]  # 400 ticks at 100 a second
    for s in res.segments:
        assert s.ticks == 400 and 0 < s.p50_us <= s.p99_us
        assert math.isfinite(s.rss_growth_mb) and s.calls_per_tick > 10
    assert res.errors == 0 and res.hedge_log_len <= 200
    # the probe counts calls, not time: the same code path gives (nearly) the same count
    assert 0.8 < res.drift("calls_per_tick") < 1.25
    text = _render(bench.soak_table(res))
    assert "3 segments of 0:04 simulated" in text  # 400 ticks = 4 simulated seconds
    assert "0:00-0:04" in text and "0:08-0:12" in text
    assert "memory growth" in text and "(target <= x1.5)" in text


def test_latency_parts_run_on_a_small_book():
    engine = bench.latency_engine(50)
    lat = asyncio.run(bench.measure_latency(engine, 50))
    assert lat.shape == (50,) and np.all(np.isfinite(lat)) and np.all(lat > 0)
    full = asyncio.run(bench.measure_full_hedge(10))
    assert full.shape == (10,) and np.all(full > 0)
    text = _render(bench.histogram_table("t", lat))
    assert "n=50" in text


def test_run_prints_every_table_at_a_tiny_size():
    console = Console(record=True, width=160)
    sizes = bench.BenchSizes(n_options=50, latency_ticks=50, full_hedge_ticks=10, soak_ticks=600)
    bench.run(console, sizes=sizes)
    text = " ".join(console.export_text().split())
    for title in ("tick -> HedgeIntent", "where the time goes", "soak: 600 ticks at 100/s"):
        assert title in text


def _render(table) -> str:  # type: ignore[no-untyped-def]
    console = Console(record=True, width=200)
    console.print(table)
    return " ".join(console.export_text().split())  # titles and captions wrap

"""The execution benchmark's measuring functions run, at a tiny size, and measure a real send."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from rich.console import Console

from deltahedge.bench import execution as bench
from deltahedge.core import InvalidInput
from deltahedge.venues.specs import synthetic_book


def _books():
    return (
        synthetic_book("BTCUSDT", levels=60, size_at_touch=2.0, seed=1),
        synthetic_book("BTCUSD_PERP", levels=60, size_at_touch=1500.0, seed=2),
    )


@pytest.mark.parametrize("mode", ["hedger", "routed", "direct"])
def test_latency_measures_every_intent_up_to_a_real_submit(mode):
    lin, inv = _books()
    x = asyncio.run(bench._latency(lin, inv, 6, mode, warmup=2))
    assert x.shape == (6, 2)
    # each value runs from the intent to the venue's submit: a stamp that was never taken
    # (no order sent) would leave a negative time
    assert np.all(np.isfinite(x)) and np.all(x[:, 0] > 0) and np.all(x[:, 1] >= 0)


def test_latency_refuses_an_unknown_mode():
    lin, inv = _books()
    with pytest.raises(InvalidInput, match="mode 'fast'"):
        asyncio.run(bench._latency(lin, inv, 1, "fast", warmup=0))


def test_cost_table_prints_the_three_hedge_sizes():
    lin, inv = (
        synthetic_book("BTCUSDT", levels=2000, size_at_touch=2.0, seed=1),
        synthetic_book("BTCUSD_PERP", levels=2000, size_at_touch=1500.0, seed=2),
    )
    out = io.StringIO()
    bench._cost_table(Console(file=out, width=200), lin, inv, "synthetic")
    text = out.getvalue()
    assert "Routing cost" in text and all(f" {q} " in text for q in ("10", "50", "100"))

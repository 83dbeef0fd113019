"""``deltahedge demo`` runs from the package alone."""

from __future__ import annotations

import re
from importlib.resources import as_file

import numpy as np
import pytest
from typer.testing import CliRunner

from deltahedge.cli import app
from deltahedge.commands.demo import DEMO_BOOK, demo_chain_path
from deltahedge.marketdata import load_chain
from deltahedge.marketdata.greeks import chain_greeks


def test_embedded_chain_is_small_and_loads():
    with as_file(demo_chain_path()) as path:
        assert path.stat().st_size < 30_000
        assert "deltahedge" in str(path)  # inside the package, not ../shared
        chain = load_chain(path)
    assert chain.underlying == "BTC" and len(chain) == 46 and len(chain.expiries()) == 4
    names = set(chain.instrument)
    assert all(name in names for name, _ in DEMO_BOOK)


def test_demo_prints_the_greeks_and_a_consistent_book_total(monkeypatch, tmp_path):
    monkeypatch.setenv("DELTAHEDGE_SHARED", str(tmp_path / "absent"))
    res = CliRunner().invoke(app, ["demo", "--chain"])
    assert res.exit_code == 0, res.output
    assert "BTC-27MAR26-90000-C" in res.output and "total" in res.output
    # the book's premium-adjusted delta = N(d1) delta - value in BTC (per option
    # delta_pa = delta - price_coin), recomputed here from the same chain
    with as_file(demo_chain_path()) as path:
        chain = load_chain(path)
    g = chain_greeks(chain)
    idx = {n: i for i, n in enumerate(chain.instrument)}
    q = np.array([qty for _, qty in DEMO_BOOK])
    i = np.array([idx[n] for n, _ in DEMO_BOOK])
    delta, pa, value = (
        (q * g.delta[i]).sum(),
        (q * g.delta_premium_adjusted[i]).sum(),
        (q * chain.mark[i]).sum(),
    )
    assert abs(pa - (delta - value)) < 1e-12
    assert f"{delta:+.3f}" in res.output and f"{pa:+.3f}" in res.output


def test_engine_demo_hedges_within_seconds_serves_the_dashboard_and_stops(monkeypatch, tmp_path):
    """``deltahedge demo --duration 4``: accelerated x60, the first hedge comes in ~1 s."""
    import httpx

    from deltahedge.commands import demo as demo_mod

    seen = {}
    real_serve = None

    def spy_serve(*a, **k):  # type: ignore[no-untyped-def]
        handle = real_serve(*a, **k)
        seen["url"] = handle.url
        return handle

    import deltahedge.dashboard as dash

    real_serve = dash.serve
    monkeypatch.setattr(dash, "serve", spy_serve)
    monkeypatch.setenv("DELTAHEDGE_SHARED", str(tmp_path / "absent"))
    res = CliRunner().invoke(app, ["demo", "--duration", "4", "--no-browser", "--port", "0"])
    assert res.exit_code == 0, res.output
    assert "dashboard http://127.0.0.1:" in res.output and "accelerated" in res.output
    m = re.search(r"stopped: [\d,]+ ticks, (\d+) hedges", res.output)
    assert m is not None and int(m.group(1)) >= 1
    assert demo_mod.DEMO_BOOK  # the chain excerpt's book is still there for --chain
    # the server was stopped with the demo
    with pytest.raises(httpx.HTTPError):
        httpx.get(seen["url"] + "/api/greeks", timeout=1.0)

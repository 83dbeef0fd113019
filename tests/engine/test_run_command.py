"""``deltahedge run --config``: the paper example builds and runs, restarts recover, the live
example builds (not run: no network), ``--kill`` reaches the engine through the journal."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from deltahedge.cli import app
from deltahedge.core.clock import SimClock
from deltahedge.engine.config import load_config
from deltahedge.engine.scenario import build_from_config, load_demo_surface
from deltahedge.store import Journal

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FAST = """
[engine]
name = "paper-test"
clock = "sim"
surface_refit_s = 30.0
[market]
feed = "simulated"
speed = 2000.0
seed = 3
[policy]
name = "fixed_threshold"
[policy.params]
threshold = 0.5
[[venues]]
name = "paper-linear"
kind = "paper"
settlement = "linear"
hedge_instrument = "BTCUSDT"
contract_size = 1.0
fee_bps = 4.0
[dashboard]
enabled = false
[journal]
url = "{journal}"
"""


def test_paper_example_builds_two_paper_venues_and_its_policy(tmp_path):
    cfg = load_config(EXAMPLES / "paper.toml")
    sc = build_from_config(cfg, SimClock(int(load_demo_surface().ts_ns)), state_dir=tmp_path)
    e = sc.engine
    assert sorted(e.venues) == ["paper-inverse", "paper-linear"]
    assert e.policy.threshold == 2.0
    assert {h.symbol for h in e.hedges} == {"BTC-PERPETUAL", "BTCUSDT"}
    assert e.guard.limits.max_order_coin == 5.0


def test_live_example_builds_a_ccxt_venue_without_touching_the_network(monkeypatch, tmp_path):
    pytest.importorskip("ccxt")
    monkeypatch.setenv("DERIBIT_TESTNET_KEY", "k" * 12)
    monkeypatch.setenv("DERIBIT_TESTNET_SECRET", "s" * 24)
    cfg = load_config(EXAMPLES / "deribit-testnet.toml")
    sc = build_from_config(cfg, SimClock(int(load_demo_surface().ts_ns)), state_dir=tmp_path)
    venue = sc.engine.venues["deribit"]
    assert type(venue).__name__ == "CcxtVenue" and "redacted" in repr(venue)
    assert sc.engine.policy.name == "whalley_wilmott"


def test_paper_run_hedges_journals_and_a_restart_reconciles(tmp_path):
    cfg = tmp_path / "fast.toml"
    cfg.write_text(FAST.format(journal=tmp_path / "journal.sqlite"))
    runner = CliRunner()
    res = runner.invoke(app, ["run", "--config", str(cfg), "--duration", "3", "--no-view"])
    assert res.exit_code == 0, res.output
    with Journal(tmp_path / "journal.sqlite") as j:
        fills = j.fills()
        assert len(fills) >= 1 and len(j.events(kinds=["run"])) == 1
    res = runner.invoke(app, ["run", "--config", str(cfg), "--kill", "freeze"])
    assert res.exit_code == 0 and "journaled" in res.output
    res = runner.invoke(app, ["run", "--config", str(cfg), "--duration", "2", "--no-view"])
    assert res.exit_code == 0, res.output
    assert "reconcile paper-linear" in res.output
    assert "kill switch set by a pending request: frozen" in res.output
    with Journal(tmp_path / "journal.sqlite") as j:
        assert len(j.fills()) == len(fills)  # frozen: nothing more was traded
        assert j.events(kinds=["kill_switch"], last=1)[0]["payload"]["state"] == "frozen"


def test_invalid_config_exits_2_naming_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk]\nmax_staleness_s = -1\n")
    res = CliRunner().invoke(app, ["run", "--config", str(bad)])
    assert res.exit_code == 2 and "risk.max_staleness_s" in res.output


def test_replay_run_on_bitstamp_minutes_starts_the_clock_at_the_data(shared_data, tmp_path):
    from deltahedge.commands.run import replay_start_ns

    path = shared_data / "bitstamp_1min_2025" / "btcusd_1min_20250107_20250203.csv"
    # first row: 1736208060 (2025-01-07 00:01 UTC) + 60 s: the close is known at 00:02
    assert replay_start_ns(path) == 1_736_208_120 * 10**9
    cfg = tmp_path / "replay.toml"
    cfg.write_text(
        FAST.format(journal=tmp_path / "journal.sqlite")
        .replace('feed = "simulated"', f'feed = "replay"\nreplay_path = "{path}"')
        .replace("speed = 2000.0", "speed = 100000.0")
        + "[risk]\nmax_staleness_s = 120.0\n"
    )
    res = CliRunner().invoke(app, ["run", "--config", str(cfg), "--duration", "2", "--no-view"])
    assert res.exit_code == 0, res.output
    with Journal(tmp_path / "journal.sqlite") as j:
        fills = j.fills()
        assert fills and min(f.ts_ns for f in fills) >= 1_736_208_120 * 10**9


def test_positions_file_feeds_the_engine_and_bad_lines_are_refused(tmp_path):
    from deltahedge.core.errors import ConfigError

    surface = load_demo_surface()
    clock = SimClock(int(surface.ts_ns))  # 2026-01-05: the embedded snapshot
    book = tmp_path / "book.csv"
    book.write_text("instrument,quantity\nBTC-27MAR26-90000-C,-20\nBTC-27MAR26-80000-P,-20\n")
    cfg = tmp_path / "pf.toml"
    text = FAST.format(journal=tmp_path / "j.sqlite") + f'[book]\npositions_file = "{book}"\n'
    cfg.write_text(text)
    sc = build_from_config(load_config(cfg), clock, state_dir=tmp_path)
    assert [p.instrument.symbol for p in sc.positions] == [
        "BTC-27MAR26-90000-C",
        "BTC-27MAR26-80000-P",
    ]
    assert sc.engine.cbook.n_options == 2
    # short 20 calls (delta -20 N(d1_c)) and 20 puts (delta +20 (1 - N(d1_p))): the sum lies
    # strictly between -20 and +20, and is not zero for these two strikes
    d = float(sc.engine.cbook.risk(sc.engine.market).delta_coin[0])
    assert -20.0 < d < 20.0 and d != 0.0
    book.write_text(
        "instrument,quantity,venue,entry_price\n"
        "BTC-26DEC25-90000-C,-1\n"  # expired before 2026-01-05
        "ETH-27MAR26-3000-C,-1\n"  # not the engine's underlying
        "BTC-PERPETUAL,-1000,deribit,90000\n"  # not an option
    )
    with pytest.raises(ConfigError) as err:
        build_from_config(load_config(cfg), clock, state_dir=tmp_path)
    text = str(err.value)
    assert "3 position(s) refused" in text
    assert "BTC-26DEC25-90000-C: expired at 2025-12-26 08:00 UTC" in text
    assert "ETH-27MAR26-3000-C: underlying ETH, the engine hedges BTC" in text
    assert "BTC-PERPETUAL: only options" in text

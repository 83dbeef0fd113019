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


# --------------------------------------------------------------------------- live, offline
LIVE = """
[engine]
name = "live-test"
clock = "live"
[market]
feed = "live"
venue = "deribit"
instruments = ["BTC-PERPETUAL"]
options = ["{extra}"]
[book]
venue = "deribit"
[policy]
name = "fixed_threshold"
[policy.params]
threshold = 1000.0
[[venues]]
name = "deribit"
kind = "ccxt"
exchange = "deribit"
settlement = "inverse"
hedge_instrument = "BTC-PERPETUAL"
contract_size = 10.0
api_key_env = "FAKE_DERIBIT_KEY"
api_secret_env = "FAKE_DERIBIT_SECRET"
[dashboard]
enabled = false
[journal]
url = "{journal}"
"""


def _deribit_option(days: int, strike: int, kind: str) -> tuple[str, int]:
    """A Deribit option name expiring ``days`` from now at 08:00 UTC, and its expiry (ms)."""
    import time
    from datetime import UTC, datetime, timedelta

    d = datetime.fromtimestamp(time.time(), UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    d += timedelta(days=days)
    return f"BTC-{d.day}{d.strftime('%b').upper()}{d:%y}-{strike}-{kind}", int(d.timestamp() * 1e3)


class FakeDeribit:
    """A ccxt.pro-like exchange answering from memory; records each call and its event loop."""

    def __init__(self, options: dict[str, tuple[int, int, str, float]]) -> None:
        self.options = options  # name -> (expiry ms, strike, "call"/"put", contracts held)
        self.calls: list[tuple[str, str]] = []
        self.loops: set[int] = set()

    def _note(self, method: str, arg: str = "") -> None:
        import asyncio

        self.calls.append((method, arg))
        self.loops.add(id(asyncio.get_running_loop()))

    async def load_markets(self) -> dict:  # type: ignore[type-arg]
        self._note("load_markets")
        perp = {"id": "BTC-PERPETUAL", "type": "swap", "base": "BTC", "inverse": True,
                "contractSize": 10.0, "precision": {"amount": 10.0, "price": 0.5}}  # fmt: skip
        out = {"BTC/USD:BTC": perp}
        for name, (exp, strike, kind, _) in self.options.items():
            out[name] = {"id": name, "type": "option", "base": "BTC", "inverse": True,
                         "contractSize": 1.0, "precision": {"amount": 0.1, "price": 0.0001},
                         "expiry": exp, "strike": strike, "optionType": kind}  # fmt: skip
        return out

    async def fetch_positions(self) -> list:  # type: ignore[type-arg]
        self._note("fetch_positions")
        out = [{"symbol": "BTC/USD:BTC", "side": "short", "contracts": 2000.0,
                "info": {"instrument_name": "BTC-PERPETUAL"}},
               {"symbol": "ETH-27MAR26-3000-C", "side": "long", "contracts": 5.0,
                "info": {"instrument_name": "ETH-27MAR26-3000-C"}}]  # fmt: skip
        for name, (*_, qty) in self.options.items():
            side = "short" if qty < 0 else "long"
            out.append({"symbol": name, "side": side, "contracts": abs(qty),
                        "info": {"instrument_name": name}})  # fmt: skip
        return out

    async def fetch_open_orders(self, *a: object) -> list:  # type: ignore[type-arg]
        self._note("fetch_open_orders")
        return []

    fetch_closed_orders = fetch_open_orders

    async def fetch_funding_rate(self, symbol: str) -> dict:  # type: ignore[type-arg]
        self._note("fetch_funding_rate", symbol)
        return {"fundingRate": 0.0}

    def _book(self) -> dict:  # type: ignore[type-arg]
        import time

        return {"bids": [[92_500.0, 50_000.0]], "asks": [[92_500.5, 50_000.0]],
                "timestamp": time.time_ns() // 1_000_000}  # fmt: skip

    async def fetch_order_book(self, symbol: str, depth: int = 50) -> dict:  # type: ignore[type-arg]
        self._note("fetch_order_book", symbol)
        return self._book()

    async def watch_order_book(self, symbol: str) -> dict:  # type: ignore[type-arg]
        import asyncio

        self._note("watch_order_book", symbol)
        await asyncio.sleep(0.05)
        return self._book()

    async def watch_ticker(self, symbol: str) -> dict:  # type: ignore[type-arg]
        import asyncio
        import time

        self._note("watch_ticker", symbol)
        await asyncio.sleep(0.05)
        info = {"instrument_name": symbol, "index_price": 92_500.0}
        if symbol in self.options:
            info |= {"mark_price": 0.02, "mark_iv": 45.0}
        else:
            info |= {"mark_price": 92_510.0}
        return {"symbol": symbol, "timestamp": time.time_ns() // 1_000_000, "info": info,
                "bid": None, "ask": None}  # fmt: skip

    async def watch_orders(self) -> list:  # type: ignore[type-arg]
        import asyncio

        self._note("watch_orders")
        await asyncio.sleep(0.05)
        return []

    async def watch_my_trades(self) -> list:  # type: ignore[type-arg]
        import asyncio

        self._note("watch_my_trades")
        await asyncio.sleep(0.05)
        return []

    async def close(self) -> None:
        self.calls.append(("close", ""))


def test_live_run_reads_the_book_from_the_venue_and_streams_in_one_loop(monkeypatch, tmp_path):
    """A live run against a fake ccxt.pro exchange: the book is the account's BTC options
    (its perpetual and an ETH option left out), their tickers and the extra ones are
    subscribed, the venue's own order and fill streams run, and every exchange call happens
    on one event loop (a ccxt.pro exchange is bound to the loop that first used it)."""
    pytest.importorskip("ccxt")
    from rich.console import Console

    from deltahedge.commands.run import run_config

    call, c_exp = _deribit_option(30, 100_000, "C")
    put, p_exp = _deribit_option(30, 85_000, "P")
    extra, _ = _deribit_option(60, 95_000, "C")
    fake = FakeDeribit({call: (c_exp, 100_000, "call", -10.0), put: (p_exp, 85_000, "put", -5.0)})
    monkeypatch.setattr("deltahedge.venues.ccxt.venue.make_exchange", lambda config: fake)
    monkeypatch.setenv("FAKE_DERIBIT_KEY", "k" * 12)
    monkeypatch.setenv("FAKE_DERIBIT_SECRET", "s" * 24)
    cfg = tmp_path / "live.toml"
    cfg.write_text(LIVE.format(journal=tmp_path / "journal.sqlite", extra=extra))
    console = Console(record=True, width=200)
    assert run_config(cfg, 1.5, False, console) == 0  # the band (1,000 BTC) is never hit
    out = console.export_text()
    assert "book: 2 BTC option position(s) read from deribit (2 other position(s) left out)" in out
    assert "reconcile deribit: 0 in flight" in out
    tickers = {a for m, a in fake.calls if m == "watch_ticker"}
    assert tickers == {"BTC-PERPETUAL", call, put, extra}
    assert {"watch_orders", "watch_my_trades"} <= {m for m, _ in fake.calls}
    assert len(fake.loops) == 1
    assert fake.calls[-1] == ("close", "")
    with Journal(tmp_path / "journal.sqlite") as j:
        assert len(j.events(kinds=["run"])) == 1
        (rec,) = j.events(kinds=["reconcile"])
        # the book's options are not hedges the engine traded: only what it did not read in
        # (a perpetual held before the journal began, another coin's option) is reported
        diffs = {d["instrument"] for d in rec["payload"]["position_differences"]}
        assert diffs == {"BTC-PERPETUAL", "ETH-27MAR26-3000-C"}


def test_a_venue_stream_that_fails_is_restarted():
    import asyncio

    from deltahedge.engine.runner import keep_streaming

    class Flaky:
        name = "flaky"
        runs = 0

        async def run_streams(self) -> None:
            self.runs += 1
            if self.runs < 3:
                raise ConnectionError("websocket closed")
            await asyncio.sleep(3600)

    venue = Flaky()

    async def go() -> None:
        task = asyncio.create_task(keep_streaming(venue, retry_s=0.01))
        for _ in range(100):
            await asyncio.sleep(0.01)
            if venue.runs >= 3:
                break
        task.cancel()

    asyncio.run(go())
    assert venue.runs == 3

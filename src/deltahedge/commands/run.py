"""``deltahedge run --config FILE``: run the engine as configured (paper or live).

Paper venues keep their exchange-side state in SQLite files beside the journal, so a run
stopped (or killed) and started again reconciles with them and resumes.

Everything runs in one asyncio loop (a ccxt.pro exchange is bound to the loop that first
used it): reading the book from a venue (``[book] venue``), recovery, the live venues' own
order and fill streams (``CcxtVenue.run_streams``, restarted after an error), the feed
(live: the perpetual's ticker and book, and the tickers of the book's options and of
``market.options``, whose mark IVs refit the surface) and the engine. ``--kill freeze``
or ``--kill flatten`` signals the engine of the same configuration that is running
(a ``kill_switch_request`` in its journal, which the engine polls twice a second, and,
when the engine runs on this machine, SIGUSR1 / SIGUSR2 to the pid in its pid file).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer


def _journal_path(cfg: Any) -> tuple[Any, Path]:
    from deltahedge.store import default_journal_path

    url = cfg.journal.url
    if url is None:
        path = default_journal_path()
        return path, path.parent
    if "://" not in url:
        return Path(url), Path(url).parent
    return url, default_journal_path().parent


def _pid_file(cfg: Any, folder: Path) -> Path:
    return folder / f"deltahedge-{cfg.engine.name}.pid"


def replay_start_ns(path: Path) -> int:
    """Time of the first event of a replay file or folder, UTC ns (the simulated clock starts there)."""
    import csv
    import gzip
    from datetime import datetime

    if path.suffix == ".gz":
        with gzip.open(path, "rt") as fh:
            return int(fh.readline().split(" ", 1)[0])
    if path.is_dir():
        first = sorted(path.glob("deribit_options_snapshot_*.csv"))[0]
        stamp = first.stem.rsplit("_", 1)[1]
        return int(datetime.strptime(stamp, "%Y%m%dT%H%M%S%z").timestamp()) * 10**9
    with path.open(newline="") as fh:
        return (int(next(csv.DictReader(fh))["timestamp"]) + 60) * 10**9


def build_feed(cfg: Any, scenario: Any) -> Any:
    """The feed of ``[market]`` (simulated, replay or live)."""
    from deltahedge.core.errors import ConfigError
    from deltahedge.engine.scenario import model_for
    from deltahedge.marketdata import feeds

    m = cfg.market
    clock = scenario.clock
    if m.feed == "simulated":
        return feeds.SimulatedFeed(
            scenario.surface.spot, clock, model_for(m.model), m.ticks_per_second,
            seed=m.seed, speed=m.speed,
        )  # fmt: skip
    if m.feed == "replay":
        path = Path(m.replay_path)
        if path.suffix == ".gz":
            return feeds.BinanceBookFeed(path, m.instruments[0] if m.instruments else "BTCUSDT",
                                         m.venue or "binance_usdm", clock, m.speed)  # fmt: skip
        if path.is_dir():
            snaps = sorted(path.glob("deribit_options_snapshot_*.csv"))
            perp = path / "perpetual_futures_prices.csv"
            return feeds.DeribitSnapshotFeed(
                snaps, clock, perp if perp.exists() else None, speed=m.speed
            )
        return feeds.BitstampMinuteFeed(path, clock, m.speed)
    venue = scenario.engine.venues.get(m.venue) if m.venue else None
    exchange = getattr(venue, "exchange", None)
    if exchange is None:
        raise ConfigError("market.feed = 'live' needs market.venue naming a ccxt venue")
    # the book's own options first (their marks and IVs), then any extra quotes asked for
    options = list(
        dict.fromkeys([p.instrument.symbol for p in scenario.positions] + list(m.options))
    )
    return feeds.CcxtProFeed(
        exchange, m.venue, cfg.engine.underlying, tickers=m.instruments, books=m.instruments,
        options=options, clock=clock,
    )  # fmt: skip


def run_config(config: Path, duration: float | None, view: bool, console: Any) -> int:
    """Run the engine of ``config``; return the number of hedges done."""
    import asyncio

    from deltahedge.core.clock import LiveClock, SimClock
    from deltahedge.dashboard import ReadModel, serve
    from deltahedge.engine.config import load_config
    from deltahedge.engine.engine import EngineControls
    from deltahedge.engine.observability import EngineMetrics, configure_logging, serve_metrics
    from deltahedge.engine.runner import run_engine, start_venue_streams, stop_venue_streams
    from deltahedge.engine.scenario import build_from_config, load_demo_surface, load_venue_book
    from deltahedge.store import Journal

    cfg = load_config(config)
    obs = cfg.observability
    configure_logging(obs.log_level, json_lines=obs.log_json)
    target, folder = _journal_path(cfg)
    journal = Journal(target, synchronous=cfg.journal.synchronous)
    if cfg.engine.clock == "live":
        clock: Any = LiveClock()
    elif cfg.market.feed == "replay" and cfg.market.replay_path is not None:
        clock = SimClock(replay_start_ns(Path(cfg.market.replay_path)))  # the book moves there
    else:
        clock = SimClock(int(load_demo_surface().ts_ns))
    read_model = ReadModel() if cfg.dashboard.enabled else None
    sc = build_from_config(cfg, clock, journal, read_model, folder / f"{cfg.engine.name}-venues")
    engine = sc.engine
    metrics = EngineMetrics(cfg.engine.name)
    engine.metrics = metrics
    servers: list[Any] = []
    pid_file = _pid_file(cfg, folder)
    try:
        if obs.metrics_port is not None:
            servers.append(serve_metrics(metrics, obs.metrics_host, obs.metrics_port))
            console.print(f"metrics {servers[-1].url}")
        if read_model is not None:
            token = cfg.dashboard.token()
            dash = serve(
                read_model, EngineControls(engine), cfg.dashboard.host, cfg.dashboard.port,
                token=token.get_secret_value() if token else None,
            )  # fmt: skip
            servers.append(dash)
            console.print(
                f"dashboard {dash.url} (token {'from $' + cfg.dashboard.token_env if token else dash.token})"
            )
        console.print(f"journal {target}")

        async def main() -> None:
            if cfg.book.venue is not None:
                console.print(await load_venue_book(sc, cfg.book.venue))
            for line in await engine.start(cfg):
                console.print(line)
            pid_file.parent.mkdir(parents=True, exist_ok=True)
            pid_file.write_text(str(os.getpid()))
            feed = build_feed(cfg, sc)
            streams = start_venue_streams(engine.venues.values())
            try:
                await run_engine(engine, feed, duration_s=duration, console=console, view=view,
                                 speed=cfg.market.speed if cfg.market.feed == "simulated" else None)  # fmt: skip
            finally:
                await stop_venue_streams(streams, engine.venues.values())

        asyncio.run(main())
    finally:
        pid_file.unlink(missing_ok=True)
        for s in servers:
            (s.stop if hasattr(s, "stop") else s.close)()
        journal.close()
    c = engine.counters
    console.print(f"stopped: {c.ticks:,} ticks, {c.hedges} hedges, PnL {engine.pnl.total:,.0f} USD")
    return c.hedges


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        config: Path = typer.Option(..., "--config", "-c", help="TOML configuration file."),
        duration: float = typer.Option(None, "--duration", help="Wall-clock seconds to run."),
        no_view: bool = typer.Option(False, "--no-view", help="No live terminal view."),
        kill: str = typer.Option(
            None, "--kill", help="Signal the running engine of this config: freeze | flatten."
        ),
    ) -> None:
        """Run the hedging engine as configured (paper or live); see examples/paper.toml."""
        import signal

        from rich.console import Console

        from deltahedge.core.errors import ConfigError
        from deltahedge.engine.config import load_config

        console = Console()
        try:
            if kill is not None:
                if kill not in ("freeze", "flatten"):
                    raise ConfigError(f"--kill {kill!r}; allowed: freeze, flatten")
                from deltahedge.store import Journal, request_kill_switch

                cfg = load_config(config)
                target, folder = _journal_path(cfg)
                with Journal(target) as journal:
                    state = "frozen" if kill == "freeze" else "flattening"
                    request_kill_switch(journal, state, "cli", f"deltahedge run --kill {kill}",
                                        cfg.engine.name)  # fmt: skip
                console.print(f"kill switch request '{state}' journaled in {target}")
                pid_file = _pid_file(cfg, folder)
                if pid_file.exists():
                    sig = signal.SIGUSR1 if kill == "freeze" else signal.SIGUSR2
                    os.kill(int(pid_file.read_text()), sig)
                    console.print(f"sent {sig.name} ({kill}) to pid {pid_file.read_text()}")
                return
            run_config(config, duration, not no_view, console)
        except ConfigError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None

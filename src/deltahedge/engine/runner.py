"""Run an engine on a feed with a live terminal view, signals and a time limit.

Signals (POSIX): ``SIGINT``/``SIGTERM`` stop cleanly; ``SIGUSR1`` freezes (no new hedges);
``SIGUSR2`` flattens the hedge legs then freezes. The kill switch journals each change.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from deltahedge.engine.engine import Engine, EngineCounters
from deltahedge.marketdata.feeds.base import Feed


async def run_engine(
    engine: Engine,
    feed: Feed,
    *,
    duration_s: float | None = None,
    console: Any = None,
    view: bool = True,
    speed: float | None = None,
    note: str = "",
) -> EngineCounters:
    """Run ``engine`` on ``feed`` until the feed ends, ``duration_s`` passes or a stop signal.

    Parameters
    ----------
    duration_s : float or None
        Wall-clock seconds; None: until the feed ends or Ctrl-C.
    console : rich Console, optional
        Where the live view is drawn (when ``view``).
    speed : float, optional
        Shown in the view's header (simulated seconds per real second).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed = []
    handlers = {
        signal.SIGINT: stop.set,
        signal.SIGTERM: stop.set,
        signal.SIGUSR1: lambda: engine.kill_switch.freeze("signal", "SIGUSR1"),
        signal.SIGUSR2: lambda: engine.kill_switch.flatten("signal", "SIGUSR2"),
    }
    for sig, fn in handlers.items():
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, fn)
            installed.append(sig)
    task = asyncio.create_task(engine.run(feed, stop))
    live = None
    if view and console is not None:
        from rich.live import Live

        from deltahedge.engine.view import render

        live = Live(render(engine, speed, note), console=console, refresh_per_second=4)
        live.start()
    try:
        waiter = asyncio.create_task(stop.wait())
        timeout = duration_s
        while not task.done():
            done, _ = await asyncio.wait({task, waiter}, timeout=0.25)
            if live is not None:
                from deltahedge.engine.view import render

                live.update(render(engine, speed, note))
            if waiter in done:
                break
            if timeout is not None:
                timeout -= 0.25
                if timeout <= 0:
                    break
        stop.set()
        waiter.cancel()
        if not task.done():
            await feed.close()
            try:
                await asyncio.wait_for(task, 10.0)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    finally:
        if live is not None:
            from deltahedge.engine.view import render

            live.update(render(engine, speed, note))
            live.stop()
            console.line()
        for sig in installed:
            loop.remove_signal_handler(sig)
    return engine.counters


__all__ = ["run_engine"]

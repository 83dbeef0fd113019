"""Run an engine on a feed with a live terminal view, signals and a time limit.

Live venues' own order and fill streams run beside it (:func:`start_venue_streams`).

Signals (POSIX): ``SIGINT``/``SIGTERM`` stop cleanly; ``SIGUSR1`` freezes (no new hedges);
``SIGUSR2`` flattens the hedge legs then freezes. The kill switch journals each change.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
from collections.abc import Iterable
from typing import Any

from deltahedge.engine.engine import Engine, EngineCounters
from deltahedge.marketdata.feeds.base import Feed

log = logging.getLogger("deltahedge.engine")


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


async def keep_streaming(venue: Any, retry_s: float = 1.0, max_retry_s: float = 30.0) -> None:
    """Run ``venue.run_streams()`` (its own orders and fills) until cancelled, restarting it
    after an error with a doubling wait (``retry_s`` up to ``max_retry_s``)."""
    wait = retry_s
    while True:
        try:
            await venue.run_streams()
            wait = retry_s
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a dropped stream is restarted, never fatal to the engine
            log.warning("%s: order/fill stream stopped (%r); restarting in %g s",
                        getattr(venue, "name", venue), exc, wait)  # fmt: skip
            await asyncio.sleep(wait)
            wait = min(2.0 * wait, max_retry_s)


def start_venue_streams(venues: Iterable[Any]) -> list[asyncio.Task[None]]:
    """Start :func:`keep_streaming` for every venue that has streams (live ones: ccxt.pro)."""
    return [
        asyncio.create_task(keep_streaming(v), name=f"streams:{getattr(v, 'name', v)}")
        for v in venues
        if callable(getattr(v, "run_streams", None))
    ]


async def stop_venue_streams(tasks: Iterable[asyncio.Task[None]], venues: Iterable[Any]) -> None:
    """Cancel the stream tasks, then close the venues that hold connections (async ``close``)."""
    for t in tasks:
        t.cancel()
    for t in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await t
    for v in venues:
        close = getattr(v, "close", None)
        if close is not None and inspect.iscoroutinefunction(close):
            try:
                await close()
            except Exception as exc:  # closing must not hide why the run ended
                log.warning("closing %s: %r", getattr(v, "name", v), exc)


__all__ = ["keep_streaming", "run_engine", "start_venue_streams", "stop_venue_streams"]

"""The FastAPI app: REST endpoints, a coalescing websocket push, controls and the page.

``create_app(source, controls, token)`` serves anything that satisfies
:class:`~deltahedge.dashboard.readmodel.SnapshotSource` (the live :class:`ReadModel` or a
journal adapter). It is read-only unless ``controls`` are given; then ``POST
/api/control/{pause,resume,kill}`` need ``Authorization: Bearer <token>``, compared in
constant time. The token is never sent to the browser nor echoed in any response.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, WebSocket
from fastapi.responses import FileResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.websockets import WebSocketDisconnect

from deltahedge.core.errors import ConfigError
from deltahedge.dashboard.models import (
    ControlResponse,
    DashboardSnapshot,
    GreeksResponse,
    HedgesResponse,
    KillRequest,
    MetaResponse,
    PnlResponse,
    SmilesResponse,
)
from deltahedge.dashboard.readmodel import Controls, SnapshotSource

__all__ = [
    "LOOPBACK_HOSTS",
    "STATIC_DIR",
    "DashboardOptions",
    "create_app",
    "plotly_js_path",
    "push_updates",
]

STATIC_DIR = Path(__file__).with_name("static")

_SECURITY_HEADERS = {
    # Everything is served from this origin; Plotly injects <style> elements.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` bundled with the installed ``plotly`` Python package."""
    import plotly

    path = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
    if not path.is_file():
        raise ConfigError(
            f"plotly.min.js not found at {path}; reinstall the 'plotly' package (>= 5.20)"
        )
    return path


async def push_updates(
    source: SnapshotSource,
    send: Callable[[str], Awaitable[None]],
    *,
    min_interval_s: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Send the snapshot as JSON now, then a diff at each publication, at most every ``min_interval_s``.

    The first message is a :class:`DashboardSnapshot`; the next ones are
    :class:`DashboardDiff` objects holding the latest state and the history entries since the
    previous message. Publications that arrive faster coalesce into one diff, so a slow
    browser cannot make the engine wait and never receives a queue of stale states.

    Parameters
    ----------
    source : SnapshotSource
        Where snapshots come from.
    send : callable
        Coroutine function that sends one text message.
    min_interval_s : float
        Least time between two messages, seconds (0.25 for 4 per second).
    clock, sleep : callables
        Monotonic time in seconds and the matching sleep; injected so that tests can use a
        fake clock.
    """
    sub = source.subscribe()
    try:
        first = source.snapshot()
        await send(first.model_dump_json())
        last_seq, last_sent = first.seq, clock()
        while True:
            while source.seq == last_seq:  # a wake-up may predate the last send
                await sub.wait()
            wait = last_sent + min_interval_s - clock()
            if wait > 0:
                await sleep(wait)
            diff = source.diff_since(last_seq)
            await send(diff.model_dump_json())
            last_sent = clock()
            last_seq = diff.seq
    finally:
        sub.close()


async def _call(action: Callable[..., object], *args: object) -> None:
    result = action(*args)
    if inspect.isawaitable(result):
        await result


@dataclass(frozen=True)
class DashboardOptions:
    """How the app serves: push rate, label, accepted Host names, pacing clock.

    Parameters
    ----------
    max_push_hz : float
        Most websocket messages per second per client (> 0).
    source_name : str
        'live', 'demo' or 'journal', shown on the page.
    allowed_hosts : tuple of str or None
        Host names (without port) that requests may address; others get 400 and websockets
        from another origin are refused, which stops DNS-rebinding and cross-site websocket
        reads. None accepts any host (for tests, or behind a proxy that checks).
    clock, sleep : callables
        Monotonic seconds and the matching sleep for the push pacing (tests inject fakes).
    """

    max_push_hz: float = 4.0
    source_name: str = "live"
    allowed_hosts: tuple[str, ...] | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


#: Host names of this machine, for a dashboard bound to a loopback address.
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")


def _host_name(header: str) -> str:
    header = header.strip().lower()
    if header.startswith("["):  # [::1]:8050
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def create_app(
    read_model: SnapshotSource,
    controls: Controls | None = None,
    token: str | None = None,
    options: DashboardOptions | None = None,
) -> FastAPI:
    """Build the dashboard app over a read-model.

    Parameters
    ----------
    read_model : SnapshotSource
        A :class:`ReadModel` fed by the engine, or a journal adapter.
    controls : Controls or None
        The engine's controls; None makes the dashboard read-only (controls answer 403).
    token : str or None
        Bearer token that the control endpoints require; needed when ``controls`` is given.
    options : DashboardOptions or None
        Push rate, label, accepted hosts and pacing clock; defaults otherwise.

    Raises
    ------
    ConfigError
        If controls are given without a token, the token is shorter than 16 characters,
        or ``max_push_hz`` is not positive.
    """
    if controls is not None and (token is None or len(token) < 16):
        raise ConfigError(
            "the dashboard's controls need a token of at least 16 characters "
            f"(got {'none' if token is None else f'{len(token)} characters'}); "
            "set DELTAHEDGE_DASHBOARD_TOKEN or let serve() generate one"
        )
    opts = options or DashboardOptions()
    if not opts.max_push_hz > 0:
        raise ConfigError(f"max_push_hz must be > 0, got {opts.max_push_hz}")
    expected = token.encode() if token is not None else b""
    interval = 1.0 / opts.max_push_hz
    allowed = None if opts.allowed_hosts is None else {h.lower() for h in opts.allowed_hosts}

    def host_ok(header: str) -> bool:
        return allowed is None or _host_name(header) in allowed

    bearer = HTTPBearer(auto_error=False, description="The dashboard token.")

    app = FastAPI(
        title="deltahedge dashboard",
        version="0.1.0",
        description="Net Greeks, hedge log, PnL attribution, smiles and limits of the engine.",
    )

    @app.middleware("http")
    async def _headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        if not host_ok(request.headers.get("host", "")):
            response: Response = PlainTextResponse("unknown host", status_code=400)
        else:
            response = await call_next(request)
        response.headers.update(_SECURITY_HEADERS)
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def authorise(
        cred: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> Controls:
        if controls is None:
            raise HTTPException(403, "read-only dashboard: started without engine controls")
        if cred is None or not cred.credentials:
            raise HTTPException(
                401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        if not hmac.compare_digest(cred.credentials.encode(), expected):
            raise HTTPException(403, "invalid token")
        return controls

    @app.get("/api/state", response_model=DashboardSnapshot)
    def state() -> DashboardSnapshot:
        """Everything the page shows."""
        return read_model.snapshot()

    @app.get("/api/greeks", response_model=GreeksResponse)
    def greeks() -> GreeksResponse:
        """Net delta (coin, USD) against the band, cash gamma, vega per expiry, theta."""
        s = read_model.snapshot()
        return GreeksResponse(
            seq=s.seq, ts_ns=s.ts_ns, underlyings=s.underlyings, delta_history=s.delta_history
        )

    @app.get("/api/hedges", response_model=HedgesResponse)
    def hedges(
        limit: Annotated[int, Query(ge=1, le=10_000, description="Newest rows kept.")] = 500,
    ) -> HedgesResponse:
        """The hedge log, oldest first."""
        s = read_model.snapshot()
        return HedgesResponse(seq=s.seq, ts_ns=s.ts_ns, hedges=s.hedges[-limit:])

    @app.get("/api/pnl", response_model=PnlResponse)
    def pnl() -> PnlResponse:
        """PnL attribution (delta, gamma, vega, theta, funding, fees, residual), USD."""
        s = read_model.snapshot()
        return PnlResponse(seq=s.seq, ts_ns=s.ts_ns, pnl=s.pnl, history=s.pnl_history)

    @app.get("/api/smiles", response_model=SmilesResponse)
    def smiles() -> SmilesResponse:
        """The current smile fits against bid/ask/mark implied vols."""
        s = read_model.snapshot()
        return SmilesResponse(seq=s.seq, ts_ns=s.ts_ns, smiles=s.smiles)

    @app.get("/api/meta", response_model=MetaResponse)
    def meta() -> MetaResponse:
        """Whether controls are available, and the push rate."""
        return MetaResponse(
            controls_enabled=controls is not None,
            max_push_hz=opts.max_push_hz,
            source=opts.source_name,
        )

    @app.post("/api/control/pause", response_model=ControlResponse)
    async def pause(ctl: Controls = Depends(authorise)) -> ControlResponse:
        """Ask the engine to stop sending new hedges."""
        await _call(ctl.pause)
        return ControlResponse(accepted=True, action="pause")

    @app.post("/api/control/resume", response_model=ControlResponse)
    async def resume(ctl: Controls = Depends(authorise)) -> ControlResponse:
        """Ask the engine to resume hedging."""
        await _call(ctl.resume)
        return ControlResponse(accepted=True, action="resume")

    @app.post("/api/control/kill", response_model=ControlResponse)
    async def kill(
        body: KillRequest | None = None, ctl: Controls = Depends(authorise)
    ) -> ControlResponse:
        """Kill switch: 'freeze' cancels and stops, 'flatten' also closes the hedges."""
        req = body or KillRequest()
        await _call(ctl.kill, req.mode)
        return ControlResponse(accepted=True, action="kill", mode=req.mode)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        host = websocket.headers.get("host", "")
        origin = websocket.headers.get("origin")
        if not host_ok(host) or (
            origin is not None and urlsplit(origin).netloc.lower() != host.lower()
        ):
            await websocket.close(code=1008)  # another site's page: refused before accept
            return
        await websocket.accept()
        pusher = asyncio.create_task(
            push_updates(
                read_model,
                websocket.send_text,
                min_interval_s=interval,
                clock=opts.clock,
                sleep=opts.sleep,
            )
        )
        listener = asyncio.create_task(_until_closed(websocket))
        try:
            await asyncio.wait({pusher, listener}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pusher, listener):
                task.cancel()
            for task in (pusher, listener):
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await task
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close()

    plotly_js = plotly_js_path()

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_bundle() -> FileResponse:
        return FileResponse(
            plotly_js,
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


async def _until_closed(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return

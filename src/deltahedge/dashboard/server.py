"""Serve the dashboard from a background thread: ``serve(read_model, controls)`` -> handle.

The engine keeps its own asyncio loop; uvicorn runs its loop in a daemon thread, and
:meth:`ReadModel.publish` wakes the websocket pushers across threads. ``handle.stop()``
shuts the server down and joins the thread.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import socket
import threading
from dataclasses import dataclass

import uvicorn

from deltahedge.core.errors import ConfigError
from deltahedge.dashboard.app import LOOPBACK_HOSTS, DashboardOptions, create_app
from deltahedge.dashboard.readmodel import Controls, SnapshotSource

__all__ = ["TOKEN_ENV", "DashboardServer", "is_loopback", "resolve_token", "serve"]

#: Environment variable holding the control token.
TOKEN_ENV = "DELTAHEDGE_DASHBOARD_TOKEN"

log = logging.getLogger(__name__)


def resolve_token(env: str = TOKEN_ENV) -> tuple[str, bool]:
    """The control token from ``$env``, or a fresh random one.

    Returns
    -------
    (token, generated) : tuple of str and bool
        ``generated`` is True when the token was made here and must be shown to the user.
    """
    value = os.environ.get(env, "").strip()
    if value:
        return value, False
    return secrets.token_urlsafe(24), True


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ws_impl() -> str:
    from uvicorn.config import WS_PROTOCOLS

    return "websockets-sansio" if "websockets-sansio" in WS_PROTOCOLS else "auto"


@dataclass
class DashboardServer:
    """A running dashboard; :meth:`stop` shuts it down."""

    host: str
    port: int
    token: str | None
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8050``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop serving and wait up to ``timeout_s`` seconds for the thread to end."""
        self._server.should_exit = True
        self._thread.join(timeout_s)


def serve(
    read_model: SnapshotSource,
    controls: Controls | None = None,
    host: str = "127.0.0.1",
    port: int = 8050,
    *,
    token: str | None = None,
    source_name: str = "live",
    start_timeout_s: float = 15.0,
) -> DashboardServer:
    """Start the dashboard on ``host:port`` in a daemon thread and return once it listens.

    Parameters
    ----------
    read_model : SnapshotSource
        What to show (the engine's :class:`ReadModel`, or a journal adapter).
    controls : Controls or None
        The engine's controls; None serves read-only.
    host : str
        Interface to bind; 127.0.0.1 unless you mean to expose the dashboard.
    port : int
        TCP port; 0 picks a free one (read it from ``handle.port``).
    token : str or None
        Control token; by default from ``$DELTAHEDGE_DASHBOARD_TOKEN`` or generated (then
        ``handle.token`` holds it, for the caller to print once).
    source_name : str
        'live' or 'journal'.
    start_timeout_s : float
        How long to wait for the server to listen, seconds.

    Raises
    ------
    ConfigError
        If the server did not start in time or the port is taken.
    """
    if controls is not None and token is None:
        token, _ = resolve_token()
    if not is_loopback(host):
        log.warning("dashboard bound to %s: reachable from other machines", host)
    if is_loopback(host):
        hosts: tuple[str, ...] | None = LOOPBACK_HOSTS
    elif host in ("0.0.0.0", "::"):
        hosts = None  # every interface: names unknown, accept any
    else:
        hosts = (host, *LOOPBACK_HOSTS)
    options = DashboardOptions(source_name=source_name, allowed_hosts=hosts)
    app = create_app(read_model, controls, token if controls is not None else None, options)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot bind the dashboard to {host}:{port}: {exc}") from exc
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws=_ws_impl())
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="deltahedge-dashboard", daemon=True
    )
    thread.start()
    waited = 0.0
    while not server.started and thread.is_alive() and waited < start_timeout_s:
        threading.Event().wait(0.02)
        waited += 0.02
    if not server.started:
        server.should_exit = True
        raise ConfigError(
            f"the dashboard did not start on {host}:{bound_port} in {start_timeout_s} s"
        )
    return DashboardServer(
        host, bound_port, token if controls is not None else None, server, thread
    )

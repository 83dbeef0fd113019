"""Structured logs and Prometheus metrics of one engine.

* ``configure_logging`` sets up the ``deltahedge`` logger: plain text, or one JSON object
  per line (``json_lines=True``), always through a ``RedactionFilter`` that masks the
  secrets it is given and anything shaped like ``api_key=...`` / ``"secret": "..."``.
* ``EngineMetrics`` owns a ``CollectorRegistry`` per engine (never the global default, so
  two engines in one process, or tests, do not collide): tick-to-decision latency
  histogram, hedges (one per intent) and their orders and sizes per venue, slippage per
  fill, rejected ticks by reason, price age, kill-switch state, margin ratio.
* ``serve_metrics`` exposes a registry on ``127.0.0.1`` (other hosts only when asked).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import start_http_server
from pydantic import SecretStr

from deltahedge.core.errors import InvalidInput
from deltahedge.store.redact import MASK

LOGGER_NAME = "deltahedge"

#: ``key=value`` / ``"key": "value"`` pairs whose key names a secret.
_PAIR = re.compile(
    r"""(?P<key>["']?[\w-]*(?:api[_-]?key|secret|password|passphrase|token|private[_-]?key)"""
    r"""[\w-]*["']?\s*[:=]\s*)(?P<q>["']?)(?P<val>[^\s"',}&]+)(?P=q)""",
    re.IGNORECASE,
)
_STD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class RedactionFilter(logging.Filter):
    """Mask secrets in log records before any handler formats them.

    Parameters
    ----------
    secrets : iterable of str or SecretStr
        Exact values to mask wherever they appear (API keys, tokens). Values shorter than
        4 characters are ignored (they would mask ordinary text).
    """

    def __init__(self, secrets: Iterable[str | SecretStr] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        for s in secrets:
            self.add(s)

    def add(self, secret: str | SecretStr) -> None:
        """Also mask ``secret`` from now on."""
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else str(secret)
        if len(value) >= 4 and value not in self._secrets:
            self._secrets.append(value)
            self._secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every known secret and every secret-looking pair masked."""
        for s in self._secrets:
            text = text.replace(s, MASK)
        return _PAIR.sub(lambda m: f"{m['key']}{m['q']}{MASK}{m['q']}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STD_ATTRS and isinstance(value, (str, SecretStr)):
                shown = MASK if isinstance(value, SecretStr) else self.redact(value)
                setattr(record, key, shown)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (ISO-8601 UTC), level, logger, msg, and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                out[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, default=str)


def configure_logging(
    level: str | int = "INFO",
    *,
    json_lines: bool = False,
    secrets: Iterable[str | SecretStr] = (),
    stream: IO[str] | None = None,
) -> RedactionFilter:
    """Set up the ``deltahedge`` logger (idempotent: replaces handlers it added before).

    Parameters
    ----------
    level : str or int
        ``"DEBUG"``, ``"INFO"``, ...
    json_lines : bool
        One JSON object per line instead of plain text.
    secrets : iterable
        Values to mask (API keys, tokens); more can be added to the returned filter.
    stream : file-like, optional
        Where to write; stderr by default.

    Returns
    -------
    RedactionFilter
        The filter in use, to ``add`` secrets read later.
    """
    logger = logging.getLogger(LOGGER_NAME)
    for h in list(logger.handlers):
        if getattr(h, "_deltahedge", False):
            logger.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._deltahedge = True  # type: ignore[attr-defined]
    redaction = RedactionFilter(secrets)
    handler.addFilter(redaction)
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return redaction


#: Latency buckets in seconds: 10 us .. 100 ms (the target is p50 <= 100 us, p99 <= 1 ms).
LATENCY_BUCKETS = (
    10e-6, 25e-6, 50e-6, 75e-6, 100e-6, 150e-6, 250e-6, 500e-6,
    1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3,
)  # fmt: skip
SLIPPAGE_BUCKETS = (-10.0, -5.0, -2.0, -1.0, 0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


class EngineMetrics:
    """The Prometheus metrics of one engine, in a registry of its own.

    Parameters
    ----------
    engine : str
        Value of the ``engine`` label on every metric.
    registry : CollectorRegistry, optional
        A fresh one by default.
    """

    def __init__(self, engine: str = "deltahedge", registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.engine = engine
        r = self.registry
        self.tick_to_decision = Histogram(
            "deltahedge_tick_to_decision_seconds",
            "Time from a market tick to the hedge decision (seconds)",
            ["engine"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        ).labels(engine)
        self.hedges = Counter(
            "deltahedge_hedges", "Hedges done (one per intent, however many legs)",
            ["engine", "side"], registry=r,
        )  # fmt: skip
        self.hedge_orders = Counter(
            "deltahedge_hedge_orders", "Hedge orders (legs) sent", ["engine", "venue", "side"],
            registry=r,
        )  # fmt: skip
        self.hedged_coin = Counter(
            "deltahedge_hedged_coin", "Absolute hedge size filled per venue, coin",
            ["engine", "venue"], registry=r,
        )  # fmt: skip
        self.slippage_bps = Histogram(
            "deltahedge_slippage_bps",
            "Fill price against the mid at decision, basis points (> 0 is a cost)",
            ["engine", "venue"],
            buckets=SLIPPAGE_BUCKETS,
            registry=r,
        )
        self.rejected_ticks = Counter(
            "deltahedge_rejected_ticks", "Market-data ticks rejected", ["engine", "reason"],
            registry=r,
        )  # fmt: skip
        self.staleness = Gauge(
            "deltahedge_price_age_seconds", "Age of the last accepted price (seconds)",
            ["engine", "instrument"], registry=r,
        )  # fmt: skip
        self.kill_switch = Gauge(
            "deltahedge_kill_switch", "1 for the current kill-switch state", ["engine", "state"],
            registry=r,
        )  # fmt: skip
        self.margin_ratio = Gauge(
            "deltahedge_margin_ratio", "Maintenance margin / equity", ["engine", "venue"],
            registry=r,
        )  # fmt: skip

    def observe_latency(self, seconds: float) -> None:
        """Record one tick-to-decision latency, seconds."""
        self.tick_to_decision.observe(seconds)

    def hedge_sent(self, side: str, legs: Iterable[tuple[str, float]]) -> None:
        """Count one hedge on ``side`` and each of its ``legs``: ``(venue, filled coin)``.

        A hedge split over two venues counts one hedge, one order per venue, and adds each
        venue's own size (not the whole hedge's) to that venue's hedged coin.
        """
        self.hedges.labels(self.engine, side).inc()
        for venue, coin in legs:
            self.hedge_orders.labels(self.engine, venue, side).inc()
            self.hedged_coin.labels(self.engine, venue).inc(abs(coin))

    def fill_slippage(self, venue: str, bps: float) -> None:
        """Record a fill's slippage against the decision mid, bps (> 0 is a cost)."""
        self.slippage_bps.labels(self.engine, venue).observe(bps)

    def tick_rejected(self, reason: str) -> None:
        self.rejected_ticks.labels(self.engine, reason).inc()

    def price_age(self, instrument: str, seconds: float) -> None:
        self.staleness.labels(self.engine, instrument).set(seconds)

    def kill_switch_state(self, state: str, states: Iterable[str]) -> None:
        """Set the gauge to 1 for ``state`` and 0 for the other ``states``."""
        for s in states:
            self.kill_switch.labels(self.engine, s).set(1.0 if s == state else 0.0)

    def margin(self, venue: str, ratio: float) -> None:
        self.margin_ratio.labels(self.engine, venue).set(ratio)

    def render(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


@dataclass
class MetricsServer:
    """A running metrics endpoint; ``close()`` stops it."""

    host: str
    port: int
    _server: Any
    _thread: Any

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(
    registry: CollectorRegistry | EngineMetrics,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    allow_remote: bool = False,
) -> MetricsServer:
    """Serve ``/metrics`` from a background thread.

    Parameters
    ----------
    registry : CollectorRegistry or EngineMetrics
    host : str
        Loopback by default; another address needs ``allow_remote=True``.
    port : int
        0 picks a free port (see ``MetricsServer.port``).

    Returns
    -------
    MetricsServer
    """
    if host not in ("127.0.0.1", "localhost", "::1") and not allow_remote:
        raise InvalidInput(
            f"metrics host {host!r} is not loopback; allowed: 127.0.0.1, localhost, ::1 "
            "(pass allow_remote=True to expose metrics beyond this machine)"
        )
    reg = registry.registry if isinstance(registry, EngineMetrics) else registry
    server, thread = start_http_server(port, addr=host, registry=reg)
    return MetricsServer(host, int(server.server_port), server, thread)


__all__ = [
    "LATENCY_BUCKETS",
    "LOGGER_NAME",
    "EngineMetrics",
    "JsonFormatter",
    "MetricsServer",
    "RedactionFilter",
    "configure_logging",
    "serve_metrics",
]

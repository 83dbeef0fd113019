"""Logs (JSON on request, secrets redacted) and Prometheus metrics per engine."""

from __future__ import annotations

import io
import json
import logging
import urllib.request

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from deltahedge.engine.observability import (
    EngineMetrics,
    RedactionFilter,
    configure_logging,
    serve_metrics,
)

KEY = "AbCdEf0123456789"


@pytest.fixture
def log_stream():
    stream = io.StringIO()
    yield stream
    logger = logging.getLogger("deltahedge")
    for h in list(logger.handlers):
        logger.removeHandler(h)


def test_json_log_lines_carry_extras_and_hide_secrets(log_stream) -> None:
    configure_logging("INFO", json_lines=True, secrets=[SecretStr(KEY)], stream=log_stream)
    log = logging.getLogger("deltahedge.engine")
    log.info("connecting with key %s", KEY, extra={"venue": "deribit", "latency_us": 42})
    log.debug("not shown at INFO")
    (line,) = log_stream.getvalue().splitlines()
    rec = json.loads(line)
    assert rec["msg"] == "connecting with key ***"
    assert (rec["level"], rec["logger"], rec["venue"], rec["latency_us"]) == (
        "INFO",
        "deltahedge.engine",
        "deribit",
        42,
    )
    assert KEY not in line


def test_secret_shaped_pairs_are_masked_without_knowing_the_value(log_stream) -> None:
    configure_logging("INFO", stream=log_stream)
    log = logging.getLogger("deltahedge")
    log.warning('params {"apiKey": "k-9f8e7d6c", "secret": "s-1a2b3c"} api_key=zz99yy88 qty=5')
    text = log_stream.getvalue()
    for leaked in ("k-9f8e7d6c", "s-1a2b3c", "zz99yy88"):
        assert leaked not in text
    assert '"apiKey": "***"' in text and "api_key=***" in text and "qty=5" in text


def test_secrets_in_extras_and_tracebacks_are_masked(log_stream) -> None:
    redaction = configure_logging("INFO", json_lines=True, stream=log_stream)
    redaction.add(KEY)
    log = logging.getLogger("deltahedge")
    try:
        raise RuntimeError(f"auth failed for {KEY}")
    except RuntimeError:
        log.exception("login", extra={"header": f"Bearer {KEY}", "token": SecretStr("t-0000")})
    rec = json.loads(log_stream.getvalue())
    assert KEY not in log_stream.getvalue() and "t-0000" not in log_stream.getvalue()
    assert rec["header"] == "Bearer ***" and rec["token"] == "***"
    assert "auth failed for ***" in rec["exc"]


def test_short_values_are_not_treated_as_secrets() -> None:
    f = RedactionFilter(["ab"])
    assert f.redact("abc cab") == "abc cab"


def _samples(metrics: EngineMetrics) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in text_string_to_metric_families(metrics.render().decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_record_latency_hedges_rejections_staleness() -> None:
    m = EngineMetrics("e1")
    for us in (40, 80, 120, 900):
        m.observe_latency(us * 1e-6)
    m.hedge_sent("buy", [("paper", 1.5)])
    m.hedge_sent("sell", [("paper", -0.5), ("other", -0.25)])  # one hedge, two legs
    m.tick_rejected("jump")
    m.tick_rejected("jump")
    m.price_age("BTC-PERPETUAL", 12.3)
    m.fill_slippage("paper", 3.0)
    m.kill_switch_state("frozen", ["running", "frozen", "flattening"])
    s = _samples(m)
    e = ("engine", "e1")
    assert s[("deltahedge_tick_to_decision_seconds_count", (e,))] == 4
    assert s[("deltahedge_tick_to_decision_seconds_bucket", (e, ("le", "0.0001")))] == 2
    assert s[("deltahedge_tick_to_decision_seconds_bucket", (e, ("le", "0.001")))] == 4
    assert s[("deltahedge_hedges_total", (e, ("side", "buy")))] == 1
    assert s[("deltahedge_hedges_total", (e, ("side", "sell")))] == 1
    assert s[("deltahedge_hedge_orders_total", (e, ("side", "sell"), ("venue", "other")))] == 1
    assert s[("deltahedge_hedged_coin_total", (e, ("venue", "paper")))] == 2.0  # 1.5 + 0.5
    assert s[("deltahedge_hedged_coin_total", (e, ("venue", "other")))] == 0.25
    assert s[("deltahedge_rejected_ticks_total", (e, ("reason", "jump")))] == 2
    assert s[("deltahedge_price_age_seconds", (e, ("instrument", "BTC-PERPETUAL")))] == 12.3
    # Slippage can be negative (price improvement), so the histogram has buckets below 0
    # and, per OpenMetrics, no _sum: check the buckets around the 3 bps observation.
    assert s[("deltahedge_slippage_bps_bucket", (e, ("le", "2.0"), ("venue", "paper")))] == 0
    assert s[("deltahedge_slippage_bps_bucket", (e, ("le", "5.0"), ("venue", "paper")))] == 1
    assert s[("deltahedge_kill_switch", (e, ("state", "frozen")))] == 1.0
    assert s[("deltahedge_kill_switch", (e, ("state", "running")))] == 0.0


def test_two_engines_have_separate_registries_not_the_global_one() -> None:
    a, b = EngineMetrics("a"), EngineMetrics("b")
    a.tick_rejected("nan")
    assert b'reason="nan"' not in b.render()
    assert REGISTRY.get_sample_value("deltahedge_rejected_ticks_total", {"engine": "a"}) is None


def test_metrics_served_on_loopback() -> None:
    m = EngineMetrics("served")
    m.hedge_sent("buy", [("paper", 1.0)])
    server = serve_metrics(m)
    try:
        assert server.host == "127.0.0.1" and server.port > 0
        with urllib.request.urlopen(server.url, timeout=5) as resp:
            body = resp.read().decode()
        assert 'deltahedge_hedge_orders_total{engine="served",side="buy",venue="paper"} 1.0' in body
    finally:
        server.close()


def test_metrics_refuse_a_public_address_unless_allowed() -> None:
    with pytest.raises(ValueError, match=r"metrics host '0\.0\.0\.0' is not loopback"):
        serve_metrics(EngineMetrics(), host="0.0.0.0")

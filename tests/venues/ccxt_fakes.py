"""Offline ccxt: a fake HTTP transport that answers ccxt's own requests from fixed JSON.

ccxt exchanges send every REST call through ``exchange.fetch(url, method, headers, body)``;
replacing it runs all of ccxt's request building and response parsing on the answers
given here, and no byte reaches the network (the ``no_network`` fixture also blocks
sockets).

Market answers are the venues' documented shapes (the example responses of their API
docs, as ccxt reproduces them in its source comments), cut to the instruments a test
needs; figures that were not in an example come from the venues' contract-spec pages,
cited where they are used.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ccxt.pro as ccxtpro


class NetworkBlocked(RuntimeError):
    """A test tried to open a connection."""


def block_network(monkeypatch) -> None:
    """Make every socket connect and DNS lookup raise :class:`NetworkBlocked`."""

    def refuse(*args, **kwargs):
        raise NetworkBlocked("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


Answer = Any | Callable[[str, str, str | None], Any]


class FakeTransport:
    """``exchange.fetch`` replacement: the first route whose key occurs in the URL or body answers.

    ``routes`` maps a substring of the request (URL path or JSON body) to the decoded JSON
    answer, or to ``f(url, method, body)`` returning it (or raising a ccxt error). Every
    request is recorded in ``calls`` as (method, url, body).
    """

    def __init__(self, routes: Mapping[str, Answer]) -> None:
        self.routes = dict(routes)
        self.calls: list[tuple[str, str, str | None]] = []

    async def __call__(self, url, method="GET", headers=None, body=None):
        self.calls.append((method, url, body))
        for key, answer in self.routes.items():
            if key in url or (body is not None and key in body):
                return answer(url, method, body) if callable(answer) else copy.deepcopy(answer)
        raise AssertionError(f"unexpected request {method} {url} {body}")

    def paths(self) -> list[str]:
        """The URLs requested, in order."""
        return [url for _, url, _ in self.calls]


def offline(exchange_id: str, routes: Mapping[str, Answer], **options) -> tuple[Any, FakeTransport]:
    """A ccxt.pro exchange (rate limiting on) whose HTTP answers come from ``routes``."""
    ex = getattr(ccxtpro, exchange_id)({"enableRateLimit": True})
    ex.timeout_on_exit = 0  # close() waits 250 ms for sockets to drain; there are none
    for key, value in options.items():
        ex.options[key] = value
    transport = FakeTransport(routes)
    ex.fetch = transport
    return ex, transport


# ---------------------------------------------------------------------------- Deribit
def load_deribit_recording(path: Path) -> dict:
    """The recorded ``public/get_instruments`` answers (by currency) and websocket notifications."""
    answers = {}
    for line in (path / "DERIBIT.0").read_text().splitlines():
        if " -> " not in line:
            continue
        url, rest = line.split(" -> ", 1)
        answers[re.search(r"currency=(\w+)", url).group(1)] = json.loads(rest.split(": ", 1)[1])
    ws = []
    for line in (path / "DERIBIT.ws.1.0").read_text().splitlines():
        if '"method":"subscription"' in line:
            ws.append(json.loads(line[line.index("{") :]))
    return {"rest": answers, "ws": ws}


def upgrade_instruments(answer: dict) -> dict:
    """Add the two fields Deribit has added since 2021 and current ccxt reads (see test_ccxt)."""
    rows = [
        {"counter_currency": "USD", "settlement_currency": r["base_currency"], **r}
        for r in answer["result"]
    ]
    return {**answer, "result": rows}


def deribit_routes(recorded: dict) -> dict[str, Answer]:
    """Routes answering Deribit's reference-data calls from the 2021 recording."""
    return {
        "public/get_instruments": lambda url, m, b: upgrade_instruments(
            recorded["rest"][re.search(r"currency=(\w+)", url).group(1)]
        ),
        "public/get_currencies": {
            "jsonrpc": "2.0",
            "result": [{"currency": "BTC"}, {"currency": "ETH"}],
        },
    }


def deribit(
    recorded: dict,
    private: Mapping[str, Answer] | None = None,
    markets: tuple[dict, dict] | None = None,
):
    """An offline ccxt.pro Deribit with the recorded instruments and ``private`` answers.

    ``markets`` = (markets, currencies) that ccxt already parsed from the same recording
    (:func:`deribit_markets`) skips parsing them again. Credentials are set (dummies) so
    that ccxt signs private calls as it would live.
    """
    ex, transport = offline(
        "deribit",
        {**deribit_routes(recorded), **(private or {})},
        fetchMarkets={"fetchAllMarkets": False},
    )
    ex.apiKey, ex.secret = "test-key", "test-secret"
    if markets is not None:
        ex.set_markets(list(markets[0].values()), markets[1])  # ccxt copies them (deep_extend)
    return ex, transport


def deribit_markets(recorded: dict) -> tuple[dict, dict]:
    """ccxt's markets and currencies parsed from the recorded instruments (once per module)."""

    async def go():
        ex, _ = deribit(recorded)
        try:
            await ex.load_markets()
            return ex.markets, ex.currencies
        finally:
            await ex.close()

    return asyncio.run(go())


def rpc(result: Any) -> dict:
    """A Deribit JSON-RPC answer."""
    return {"jsonrpc": "2.0", "result": result, "usIn": 0, "usOut": 0, "usDiff": 0, "testnet": True}


def hand_books(ws: list) -> dict[str, tuple[dict, dict]]:
    """Deribit raw BTC book channels by hand: snapshot rows ['new', p, q]; changes new/change/delete."""
    books: dict[str, tuple[dict, dict]] = {}
    for msg in ws:
        data = msg["params"]["data"]
        if not msg["params"]["channel"].startswith("book.BTC"):
            continue
        if data["type"] == "snapshot":
            books[data["instrument_name"]] = ({}, {})
        bids, asks = books[data["instrument_name"]]
        for side, rows in ((bids, data["bids"]), (asks, data["asks"])):
            for action, price, amount in rows:
                if action == "delete":
                    side.pop(price, None)
                else:
                    side[price] = amount
    return books

"""serve(): a real uvicorn server in a thread, on a free loopback port, and its token."""

from __future__ import annotations

import socket

import httpx
import pytest
from typer.testing import CliRunner

from deltahedge.cli import app as cli_app
from deltahedge.core.errors import ConfigError
from deltahedge.dashboard.readmodel import ReadModel
from deltahedge.dashboard.server import TOKEN_ENV, is_loopback, resolve_token, serve

from .conftest import RecordingControls, make_update


def test_serve_on_free_port_answers_and_stops() -> None:
    rm = ReadModel()
    rm.publish(make_update(4))
    handle = serve(rm, port=0)
    try:
        assert handle.host == "127.0.0.1" and handle.port > 0
        state = httpx.get(f"{handle.url}/api/state", timeout=5).json()
        assert state["underlyings"][0]["delta_coin"] == pytest.approx(0.4)
        assert handle.token is None  # read-only: no token exists
    finally:
        handle.stop()
    assert not handle._thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{handle.url}/api/state", timeout=2)


def test_serve_on_a_taken_port_is_a_config_error() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}"):
            serve(ReadModel(), port=port)
    finally:
        taken.close()


def test_serve_with_controls_generates_a_working_token(monkeypatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    controls = RecordingControls()
    handle = serve(ReadModel(), controls, port=0)
    try:
        assert handle.token is not None and len(handle.token) >= 16
        url = f"{handle.url}/api/control/pause"
        assert httpx.post(url, timeout=5).status_code == 401
        ok = httpx.post(url, headers={"Authorization": f"Bearer {handle.token}"}, timeout=5)
        assert ok.status_code == 200
        assert controls.calls == ["pause"]
    finally:
        handle.stop()


def test_token_comes_from_the_environment_when_set(monkeypatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "  from-the-environment-123  ")
    assert resolve_token() == ("from-the-environment-123", False)
    monkeypatch.delenv(TOKEN_ENV)
    first, generated = resolve_token()
    assert generated and first != resolve_token()[0]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.org", False),
    ],
)
def test_is_loopback_true_only_for_local_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_cli_needs_either_a_journal_or_demo() -> None:
    result = CliRunner().invoke(cli_app, ["dashboard"])
    assert result.exit_code == 2
    assert "--db" in result.output


def test_cli_help_lists_the_dashboard_command() -> None:
    result = CliRunner().invoke(cli_app, ["dashboard", "--help"])
    assert result.exit_code == 0
    assert "--db" in result.output and "--demo" in result.output

"""The REST API, controls and static files through FastAPI's TestClient (httpx)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from deltahedge.core.errors import ConfigError
from deltahedge.dashboard.app import (
    LOOPBACK_HOSTS,
    STATIC_DIR,
    DashboardOptions,
    create_app,
    plotly_js_path,
)
from deltahedge.dashboard.models import (
    DashboardDiff,
    DashboardSnapshot,
    GreeksResponse,
    HedgesResponse,
    PnlResponse,
    SmilesResponse,
)
from deltahedge.dashboard.readmodel import ReadModel

from .conftest import TOKEN, RecordingControls, make_update

GET_ENDPOINTS = ("/api/state", "/api/greeks", "/api/hedges", "/api/pnl", "/api/smiles", "/api/meta")


@pytest.fixture()
def read_model() -> ReadModel:
    rm = ReadModel()
    for i in range(1, 7):
        rm.publish(make_update(i, hedge=i in (3, 6)))
    return rm


@pytest.fixture()
def client(read_model: ReadModel, controls: RecordingControls) -> TestClient:
    return TestClient(create_app(read_model, controls, TOKEN, DashboardOptions(max_push_hz=1000.0)))


def test_state_returns_the_published_numbers(client: TestClient) -> None:
    snap = DashboardSnapshot.model_validate(client.get("/api/state").json())
    assert snap.seq == 6
    btc = snap.underlyings[0]
    # update 6: delta 0.6 coin at 100 000 USD -> 60 000 USD
    assert (btc.delta_coin, btc.delta_usd) == (pytest.approx(0.6), pytest.approx(60_000.0))
    assert (btc.band_lower_coin, btc.band_upper_coin) == (-2.0, 2.0)
    assert [h.intent_id for h in snap.hedges] == ["int-0003", "int-0006"]


def test_each_endpoint_matches_its_schema(client: TestClient) -> None:
    greeks = GreeksResponse.model_validate(client.get("/api/greeks").json())
    assert [e.vega_usd for e in greeks.underlyings[0].vega_by_expiry] == [-1_000.0, -800.0]
    assert len(greeks.delta_history[0].ts_ns) == 6
    pnl = PnlResponse.model_validate(client.get("/api/pnl").json())
    assert pnl.pnl.delta == pytest.approx(60.0)  # 10 * 6
    assert pnl.history.theta == pytest.approx((3.0, 6.0, 9.0, 12.0, 15.0, 18.0))
    smiles = SmilesResponse.model_validate(client.get("/api/smiles").json())
    assert smiles.smiles[0].fitted_iv == (0.6, 0.5, 0.55)
    hedges = HedgesResponse.model_validate(client.get("/api/hedges", params={"limit": 1}).json())
    assert [h.intent_id for h in hedges.hedges] == ["int-0006"]
    assert client.get("/api/hedges", params={"limit": 0}).status_code == 422


def test_openapi_documents_the_rest_endpoints(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    refs = {
        "/api/state": "DashboardSnapshot",
        "/api/greeks": "GreeksResponse",
        "/api/hedges": "HedgesResponse",
        "/api/pnl": "PnlResponse",
        "/api/smiles": "SmilesResponse",
    }
    for path, model in refs.items():
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"]["$ref"] == f"#/components/schemas/{model}"
    props = schema["components"]["schemas"]["UnderlyingRisk"]["properties"]
    assert "coin" in props["delta_coin"]["description"]
    for action in ("pause", "resume", "kill"):
        assert schema["paths"][f"/api/control/{action}"]["post"]["security"] == [{"HTTPBearer": []}]


@pytest.mark.parametrize("action", ["pause", "resume", "kill"])
def test_control_without_token_is_refused_401(client, controls, action: str) -> None:
    response = client.post(f"/api/control/{action}")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert controls.calls == []


@pytest.mark.parametrize(
    "header", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer nope", f"bearer {TOKEN.upper()}"]
)
def test_control_with_wrong_token_is_refused_403(client, controls, header: str) -> None:
    response = client.post("/api/control/kill", headers={"Authorization": header})
    assert response.status_code == 403
    assert controls.calls == []


def test_control_with_other_scheme_is_refused_401(client, controls) -> None:
    response = client.post("/api/control/pause", headers={"Authorization": f"Basic {TOKEN}"})
    assert response.status_code == 401
    assert controls.calls == []


def test_controls_with_right_token_reach_the_engine(client, controls) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/api/control/pause", headers=auth).json() == {
        "accepted": True,
        "action": "pause",
        "mode": None,
    }
    client.post("/api/control/resume", headers=auth)
    assert client.post("/api/control/kill", headers=auth).json()["mode"] == "freeze"
    client.post("/api/control/kill", headers=auth, json={"mode": "flatten"})
    assert (
        client.post("/api/control/kill", headers=auth, json={"mode": "explode"}).status_code == 422
    )
    assert controls.calls == ["pause", "resume", "kill:freeze", "kill:flatten"]


async def test_async_controls_are_awaited(read_model) -> None:
    import httpx

    calls: list[str] = []

    class AsyncControls(RecordingControls):
        async def pause(self) -> None:  # type: ignore[override]
            calls.append("pause awaited")

    app = create_app(read_model, AsyncControls(), TOKEN)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
        response = await ac.post("/api/control/pause", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert calls == ["pause awaited"]


def test_read_only_dashboard_refuses_controls_even_with_a_token(read_model) -> None:
    client = TestClient(create_app(read_model))
    response = client.post("/api/control/kill", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert client.get("/api/meta").json()["controls_enabled"] is False


@pytest.mark.parametrize("token", [None, "short"])
def test_controls_without_a_proper_token_are_a_config_error(read_model, controls, token) -> None:
    with pytest.raises(ConfigError, match="token"):
        create_app(read_model, controls, token)


def test_no_response_ever_contains_the_token(client: TestClient) -> None:
    bodies: list[str] = []
    for path in (*GET_ENDPOINTS, "/", "/openapi.json", "/docs", "/static/app.js"):
        r = client.get(path)
        assert r.status_code == 200, path
        bodies.append(r.text + json.dumps(dict(r.headers)))
    for header in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}"}):
        r = client.post("/api/control/kill", headers=header)
        bodies.append(r.text + json.dumps(dict(r.headers)))
    with client.websocket_connect("/ws") as ws:
        bodies.append(ws.receive_text())
    assert all(TOKEN not in body for body in bodies)


def test_security_headers_and_no_store_on_api(client: TestClient) -> None:
    r = client.get("/api/state")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"


def test_plotly_is_served_from_the_installed_package(client: TestClient) -> None:
    r = client.get("/vendor/plotly.min.js")
    assert r.status_code == 200
    assert "javascript" in r.headers["content-type"]
    assert r.content == plotly_js_path().read_bytes()


def test_page_loads_nothing_from_other_origins() -> None:
    for name in ("index.html", "app.js", "app.css"):
        text = (STATIC_DIR / name).read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), name
    html = (STATIC_DIR / "index.html").read_text()
    assert '<script src="/vendor/plotly.min.js"' in html


def test_websocket_pushes_snapshot_on_connect_and_after_publish(client, read_model) -> None:
    with client.websocket_connect("/ws") as ws:
        first = DashboardSnapshot.model_validate_json(ws.receive_text())
        assert first.seq == 6
        assert len(first.delta_history[0].ts_ns) == 6
        read_model.publish(make_update(7, hedge=True))
        second = DashboardDiff.model_validate_json(ws.receive_text())
    # the second message carries the latest state and only what is new since seq 6
    assert (second.seq, second.base_seq) == (7, 6)
    assert [h.intent_id for h in second.hedges] == ["int-0007"]
    assert second.delta_history[0].delta_coin == pytest.approx((0.7,))
    assert second.underlyings[0].delta_coin == pytest.approx(0.7)


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:8050", 200),
        ("localhost", 200),
        ("[::1]:8050", 200),
        ("evil.example", 400),
        ("127.0.0.1.evil.example:8050", 400),
    ],
)
def test_loopback_app_refuses_other_host_names(read_model, host: str, status: int) -> None:
    # A DNS-rebinding page reaches 127.0.0.1 under its own name: the Host header gives it away.
    app = create_app(read_model, options=DashboardOptions(allowed_hosts=LOOPBACK_HOSTS))
    client = TestClient(app, base_url="http://127.0.0.1:8050")
    assert client.get("/api/state", headers={"host": host}).status_code == status


def test_websocket_from_another_origin_is_refused(read_model) -> None:
    app = create_app(read_model, options=DashboardOptions(allowed_hosts=LOOPBACK_HOSTS))
    client = TestClient(app, base_url="http://127.0.0.1:8050")
    with pytest.raises(WebSocketDisconnect) as refused:
        evil = {"host": "127.0.0.1:8050", "origin": "http://evil.example"}
        with client.websocket_connect("/ws", headers=evil) as ws:
            ws.receive_text()
    assert refused.value.code == 1008
    same = {"host": "127.0.0.1:8050", "origin": "http://127.0.0.1:8050"}
    with client.websocket_connect("/ws", headers=same) as ws:
        assert DashboardSnapshot.model_validate_json(ws.receive_text()).seq == 6

"""Audit mode: the dashboard rebuilt from a journal written by deltahedge.store."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from deltahedge.core.enums import OrderSide, OrderStatus
from deltahedge.core.errors import DataError
from deltahedge.core.events import Fill, HedgeIntent, OrderRequest, OrderUpdate
from deltahedge.dashboard.app import DashboardOptions, create_app
from deltahedge.dashboard.journal_source import DASHBOARD_EVENT_KIND, JournalReadModel
from deltahedge.dashboard.models import EngineMode, KillMode
from deltahedge.dashboard.readmodel import ReadModel
from deltahedge.store import Journal

from .conftest import T0, TOKEN, make_update

S = 1_000_000_000


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "journal.sqlite")
        return
    base = os.environ.get("DELTAHEDGE_TEST_PG_URL", "").strip()
    if not base:
        msg = "DELTAHEDGE_TEST_PG_URL is not set (.ci/run starts PostgreSQL and sets it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    schema = f"d_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _write_raw_journal(journal: Journal) -> None:
    """Two greeks snapshots, one hedge (two fills), a pnl record and a kill switch event."""
    journal.record_run({"policy": "band"})
    extra = {
        "spot": 100_000.0,
        "band_lower": -2.0,
        "band_upper": 2.0,
        "vega_expiry:2026-03-27": -50_000.0,
    }
    journal.record_greeks(
        T0, "BTC", delta=2.5, gamma=-4e-5, vega=-120_000.0, theta=730_000.0, extra=extra
    )
    intent = HedgeIntent(
        intent_id="int-1",
        ts_ns=T0 + 1,
        underlying="BTC",
        delta_coin=-2.5,
        reason="|delta| 2.50 > band 2.00",
        policy="band",
        inputs={"delta": 2.5, "mid": 100_000.0},
    )
    journal.record_intent(intent)
    req = OrderRequest(
        "coid-1",
        "paper",
        "BTC-PERPETUAL",
        OrderSide.SELL,
        25_000.0,
        intent_id="int-1",
        ts_ns=T0 + 2,
    )
    journal.record_order(req)
    journal.record_fill(
        Fill(
            "f1",
            "coid-1",
            "paper",
            "BTC-PERPETUAL",
            OrderSide.SELL,
            10_000.0,
            99_990.0,
            5.0,
            "USD",
            T0 + 3,
        )
    )
    journal.record_fill(
        Fill(
            "f2",
            "coid-1",
            "paper",
            "BTC-PERPETUAL",
            OrderSide.SELL,
            15_000.0,
            99_980.0,
            0.0001,
            "BTC",
            T0 + 3,
        )
    )
    journal.record_order_update(
        OrderUpdate("coid-1", "paper", OrderStatus.FILLED, 25_000.0, T0 + 4)
    )
    journal.record_greeks(
        T0 + S, "BTC", delta=0.1, gamma=-4e-5, vega=-120_000.0, theta=730_000.0, extra=extra
    )
    journal.record_event("pnl", "book", {"delta": 12.0, "gamma": -3.0, "fees": -15.0}, ts_ns=T0 + S)
    journal.record_event("kill_switch", "", {"mode": "frozen"}, ts_ns=T0 + 2 * S)


def test_raw_journal_rebuilds_greeks_hedges_pnl_and_mode(db_url: str) -> None:
    with Journal(db_url) as journal:
        _write_raw_journal(journal)
    source = JournalReadModel(db_url)
    try:
        assert source.refresh() > 0
        snap = source.snapshot()
    finally:
        source.close()
    btc = snap.underlyings[0]
    assert btc.delta_coin == pytest.approx(0.1)
    assert btc.delta_usd == pytest.approx(10_000.0)  # 0.1 * 100 000
    assert btc.gamma_cash_usd == pytest.approx(-4_000.0)  # -4e-5 * 1e10 / 100
    assert btc.vega_usd == pytest.approx(-1_200.0)  # per 1.00 vol -> per vol point
    assert btc.theta_usd_per_day == pytest.approx(2_000.0)  # 730 000 / 365
    assert [(e.expiry, e.vega_usd) for e in btc.vega_by_expiry] == [("2026-03-27", -500.0)]
    assert (btc.band_lower_coin, btc.band_upper_coin) == (-2.0, 2.0)
    # one point per rebuilt update: greeks (T0), the hedge done (T0+4 ns), greeks+pnl (T0+1 s,
    # same timestamp so one update), kill switch (T0+2 s)
    assert snap.delta_history[0].delta_coin == pytest.approx((2.5, 2.5, 0.1, 0.1))
    assert snap.delta_history[0].ts_ns == (T0, T0 + 4, T0 + S, T0 + 2 * S)
    (hedge,) = snap.hedges
    assert (hedge.intent_id, hedge.side, hedge.venue, hedge.status) == (
        "int-1",
        "sell",
        "paper",
        "filled",
    )
    # (10 000 * 99 990 + 15 000 * 99 980) / 25 000 = 99 984
    assert hedge.price == pytest.approx(99_984.0)
    # a sell 99 984 vs mid 100 000: -1 * (99 984 - 100 000) / 100 000 * 1e4 = 1.6 bps paid
    assert hedge.slippage_bps == pytest.approx(1.6)
    # 5 USD + 0.0001 BTC at 99 980 = 5 + 9.998
    assert hedge.fees_usd == pytest.approx(14.998)
    assert hedge.book_delta_coin == pytest.approx(2.5)
    assert snap.pnl.total == pytest.approx(12.0 - 3.0 - 15.0)
    assert snap.mode is EngineMode.FROZEN


def test_full_fidelity_events_replay_exactly_what_was_published(db_url: str) -> None:
    live = ReadModel()
    with Journal(db_url) as journal:
        for i in range(1, 6):
            update = make_update(i, hedge=i == 4)
            live.publish(update)
            journal.record_event(
                DASHBOARD_EVENT_KIND, "", update.model_dump(mode="json"), ts_ns=update.ts_ns
            )
    source = JournalReadModel(db_url)
    try:
        assert source.refresh() == 5
        assert source.snapshot() == live.snapshot()
    finally:
        source.close()


def test_refresh_reads_only_new_events(tmp_path) -> None:
    path = str(tmp_path / "j.sqlite")
    journal = Journal(path)
    journal.record_event(DASHBOARD_EVENT_KIND, "", make_update(1).model_dump(mode="json"))
    source = JournalReadModel(path)
    try:
        assert source.refresh() == 1
        assert source.refresh() == 0
        journal.record_event(
            DASHBOARD_EVENT_KIND, "", make_update(2, hedge=True).model_dump(mode="json")
        )
        assert source.refresh() == 1
        snap = source.snapshot()
        assert snap.seq == 2
        assert [h.intent_id for h in snap.hedges] == ["int-0002"]
    finally:
        source.close()
        journal.close()


def test_database_without_journal_is_a_data_error(tmp_path) -> None:
    with pytest.raises(DataError, match="no 'events' table"):
        JournalReadModel(str(tmp_path / "empty.sqlite"))


def test_audit_app_serves_the_journal_read_only(tmp_path) -> None:
    path = str(tmp_path / "j.sqlite")
    with Journal(path) as journal:
        _write_raw_journal(journal)
    source = JournalReadModel(path)
    source.refresh()
    try:
        client = TestClient(create_app(source, options=DashboardOptions(source_name="journal")))
        state = client.get("/api/state").json()
        assert state["underlyings"][0]["delta_coin"] == pytest.approx(0.1)
        assert client.get("/api/meta").json() == {
            "controls_enabled": False,
            "max_push_hz": 4.0,
            "source": "journal",
        }
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert client.post("/api/control/kill", headers=auth).status_code == 403
    finally:
        source.close()


def test_journaler_thins_updates_but_keeps_every_hedge_and_the_last_state(tmp_path) -> None:
    from deltahedge.core.clock import SimClock
    from deltahedge.dashboard.demo_feed import DemoDesk
    from deltahedge.dashboard.journal_source import DashboardJournaler

    path = str(tmp_path / "j.sqlite")
    clock = SimClock(T0)
    desk = DemoDesk(seed=3, clock=clock)
    live = ReadModel()
    with Journal(path) as journal:
        journaler = DashboardJournaler(journal, every_s=1.0)
        for _ in range(100):  # 10 updates a second for 10 s
            clock.advance(0.1)
            update = desk.step()
            live.publish(update)
            journaler.offer(update)
        desk.kill(KillMode.FREEZE)
        clock.advance(0.1)
        last = desk.step()
        live.publish(last)
        assert journaler.offer(last)  # a mode change is always written
    source = JournalReadModel(path)
    try:
        source.refresh()
        audit, expected = source.snapshot(), live.snapshot()
    finally:
        source.close()
    hedged = sum(1 for _ in expected.hedges)
    assert hedged > 0
    # written: at most one a second, plus those carrying hedges, plus the mode change
    assert journaler.written <= 10 + hedged + 1 < 101
    assert audit.seq == journaler.written
    assert audit.hedges == expected.hedges
    assert audit.underlyings == expected.underlyings
    assert audit.mode is EngineMode.FROZEN
    assert audit.smiles == ()  # left out of the journal by default

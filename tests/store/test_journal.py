"""The journal on SQLite and PostgreSQL: records, duplicates, state transitions, readers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr

from deltahedge.core import (
    Fill,
    HedgeIntent,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
    TimeInForce,
    client_order_id,
)
from deltahedge.store import DuplicateRecord, Journal, default_journal_path, journal_url
from deltahedge.store import schema as S

T0 = 1_767_225_600_000_000_000


def _intent(n: int, delta: float = 1.5) -> HedgeIntent:
    return HedgeIntent(
        intent_id=f"int-{n}",
        ts_ns=T0 + n,
        underlying="BTC",
        delta_coin=delta,
        reason="|delta| 3.1 > band 2.0",
        policy="band",
        inputs={"delta": -3.1, "band": 2.0},
        instrument="BTC-PERPETUAL",
        quantity=delta,
    )


def _order(n: int, side: OrderSide = OrderSide.BUY, qty: float = 1.5) -> OrderRequest:
    return OrderRequest(
        client_order_id=client_order_id(f"int-{n}"),
        venue="paper",
        instrument="BTC-PERPETUAL",
        side=side,
        quantity=qty,
        order_type=OrderType.LIMIT,
        price=93_000.5,
        time_in_force=TimeInForce.IOC,
        reduce_only=True,
        intent_id=f"int-{n}",
        ts_ns=T0 + n + 1,
    )


def _fill(fid: str, coid: str, side: OrderSide, qty: float, venue: str = "paper") -> Fill:
    return Fill(fid, coid, venue, "BTC-PERPETUAL", side, qty, 93_000.0, 0.01, "USD", T0 + 5)


def _update(coid: str, status: OrderStatus, filled: float, ts: int = T0 + 10) -> OrderUpdate:
    return OrderUpdate(coid, "paper", status, filled, ts, venue_order_id="v-1")


def test_fill_recorded_twice_second_is_duplicate_and_stored_once(journal: Journal) -> None:
    f = _fill("f-1", "c-1", OrderSide.BUY, 2.0)
    assert journal.record_fill(f) is True
    assert journal.record_fill(f) is False
    # The same fill id on another venue is a different fill.
    assert journal.record_fill(_fill("f-1", "c-1", OrderSide.BUY, 2.0, venue="deribit")) is True
    assert [x.fill_id for x in journal.fills("paper")] == ["f-1"]
    assert len(journal.events(kinds=["fill"])) == 2
    assert journal.has_fill("paper", "f-1") and not journal.has_fill("paper", "f-2")


def test_fill_round_trip_equals_original(journal: Journal) -> None:
    f = _fill("f-9", "c-9", OrderSide.SELL, 0.25)
    journal.record_fill(f)
    assert journal.fills() == [f]


def test_intent_then_order_events_are_in_sequence(journal: Journal) -> None:
    journal.record_intent(_intent(1))
    journal.record_order(_order(1))
    journal.record_order_update(_update(_order(1).client_order_id, OrderStatus.ACKED, 0.0))
    ev = journal.events()
    assert [e["kind"] for e in ev] == ["intent", "order", "order_update"]
    assert [e["seq"] for e in ev] == sorted(e["seq"] for e in ev)
    assert ev[0]["payload"]["inputs"] == {"band": 2.0, "delta": -3.1}
    assert ev[1]["payload"]["side"] == "buy"


def test_same_intent_again_is_a_no_op_but_a_changed_one_or_an_order_raises(
    journal: Journal,
) -> None:
    journal.record_intent(_intent(1))
    journal.record_order(_order(1))
    journal.record_intent(_intent(1))  # identical: idempotent (the order manager's upsert)
    with pytest.raises(DuplicateRecord, match="'int-1' is already in the journal with other"):
        journal.record_intent(_intent(1, delta=9.0))
    with pytest.raises(DuplicateRecord, match="never sent twice"):
        journal.record_order(_order(1))
    assert len(journal.events(kinds=["intent"])) == 1  # the refused writes left nothing
    assert len(journal.events(kinds=["order"])) == 1


def test_in_flight_order_round_trips_to_the_same_request(journal: Journal) -> None:
    journal.record_intent(_intent(1))
    journal.record_order(_order(1))
    (jo,) = journal.in_flight_orders()
    assert jo.request == _order(1)
    assert jo.status is OrderStatus.NEW and jo.filled_quantity == 0.0


def test_terminal_orders_leave_in_flight_partial_stays(journal: Journal) -> None:
    for n in (1, 2, 3):
        journal.record_intent(_intent(n))
        journal.record_order(_order(n))
    c1, c2, c3 = (_order(n).client_order_id for n in (1, 2, 3))
    journal.record_order_update(_update(c1, OrderStatus.FILLED, 1.5))
    journal.record_order_update(_update(c2, OrderStatus.PARTIALLY_FILLED, 0.5))
    journal.record_order_update(_update(c3, OrderStatus.REJECTED, 0.0))
    assert [o.request.client_order_id for o in journal.in_flight_orders()] == [c2]
    assert journal.in_flight_orders(venue="other") == []


def test_late_non_terminal_update_does_not_reopen_a_filled_order(journal: Journal) -> None:
    journal.record_intent(_intent(1))
    journal.record_order(_order(1))
    coid = _order(1).client_order_id
    assert journal.record_order_update(_update(coid, OrderStatus.FILLED, 1.5)) is OrderStatus.FILLED
    # An ack delivered late, with a smaller cumulative fill, must not move the state back.
    late = _update(coid, OrderStatus.ACKED, 0.0, ts=T0 + 20)
    assert journal.record_order_update(late) is OrderStatus.FILLED
    o = journal.order(coid)
    assert o is not None and o.status is OrderStatus.FILLED and o.filled_quantity == 1.5
    assert o.venue_order_id == "v-1"
    # Both transitions are kept in the append-only history.
    with journal.engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(S.order_updates)).scalar_one()
    assert n == 2


def test_updates_never_move_an_order_backwards(journal: Journal) -> None:
    journal.record_intent(_intent(1))
    journal.record_order(_order(1))
    coid = _order(1).client_order_id
    journal.record_order_update(_update(coid, OrderStatus.PARTIALLY_FILLED, 0.5))
    assert journal.record_order_update(_update(coid, OrderStatus.ACKED, 0.0)) is (
        OrderStatus.PARTIALLY_FILLED
    )
    assert journal.record_order_update(_update(coid, OrderStatus.CANCELLED, 0.5)) is (
        OrderStatus.CANCELLED
    )
    # The first terminal state wins over a later, different one.
    assert journal.record_order_update(_update(coid, OrderStatus.FILLED, 1.5)) is (
        OrderStatus.CANCELLED
    )


def test_update_for_unknown_order_is_kept_and_returns_none(journal: Journal) -> None:
    assert journal.record_order_update(_update("nope", OrderStatus.ACKED, 0.0)) is None
    assert journal.events(kinds=["order_update"])[0]["key"] == "nope"


def test_positions_from_fills_sum_signed_quantities(journal: Journal) -> None:
    journal.record_fill(_fill("a", "c", OrderSide.BUY, 3.0))
    journal.record_fill(_fill("b", "c", OrderSide.SELL, 1.5))
    journal.record_fill(_fill("c", "c", OrderSide.BUY, 0.25))
    journal.record_fill(_fill("c", "c", OrderSide.BUY, 0.25))  # duplicate: not counted
    journal.record_fill(_fill("d", "c", OrderSide.SELL, 4.0, venue="deribit"))
    # paper: +3 - 1.5 + 0.25 = 1.75; deribit: -4
    assert journal.positions_from_fills() == {
        ("paper", "BTC-PERPETUAL"): pytest.approx(1.75),
        ("deribit", "BTC-PERPETUAL"): pytest.approx(-4.0),
    }
    assert journal.positions_from_fills("deribit") == {("deribit", "BTC-PERPETUAL"): -4.0}


class _Venue(BaseModel):
    name: str
    api_key_env: str
    api_secret: SecretStr


def test_run_config_is_stored_with_secrets_masked(journal: Journal, db_url: str) -> None:
    secret = "sk-live-DO-NOT-STORE-123"
    cfg = {
        "venue": _Venue(name="deribit", api_key_env="DERIBIT_KEY", api_secret=SecretStr(secret)),
        "dashboard": {"token": secret, "port": 8050},
    }
    rid = journal.record_run(cfg)
    with journal.engine.connect() as conn:
        stored = json.loads(conn.execute(sa.select(S.runs.c.config)).scalar_one())
        dump = "\n".join(str(r) for r in conn.execute(sa.select(S.events)))
    assert stored["venue"]["api_key_env"] == "DERIBIT_KEY"  # a variable name is kept
    assert stored["venue"]["api_secret"] == "***"
    assert stored["dashboard"] == {"token": "***", "port": 8050}
    assert secret not in dump
    journal.record_intent(_intent(1))
    assert journal.events(kinds=["intent"])[0]["run_id"] == rid
    if not db_url.startswith("postgresql"):
        journal.close()
        raw = b"".join(p.read_bytes() for p in Path(db_url).parent.glob("journal.sqlite*"))
        assert secret.encode() not in raw


def test_batch_commits_together_and_rolls_back_on_error(journal: Journal) -> None:
    with journal.batch():
        journal.record_intent(_intent(1))
        journal.record_order(_order(1))
    with pytest.raises(RuntimeError), journal.batch():
        journal.record_intent(_intent(2))
        raise RuntimeError("crash inside the batch")
    assert [e["key"] for e in journal.events(kinds=["intent"])] == ["int-1"]


def test_rejected_inputs_are_counted_by_reason(journal: Journal) -> None:
    assert journal.record_rejected("nan", {"price": float("nan")}) == 1
    assert journal.record_rejected("nan") == 2
    assert journal.record_rejected("jump", {"price": 1e9}) == 1
    assert journal.rejected_counts() == {"nan": 2, "jump": 1}
    assert journal.events(kinds=["rejected"])[0]["payload"] == {
        "reason": "nan",
        "input": {"price": None},
    }


def test_intents_without_orders_lists_unsent_intents(journal: Journal) -> None:
    journal.record_intent(_intent(1))
    journal.record_intent(_intent(2))
    journal.record_order(_order(1))
    assert journal.intents_without_orders() == ["int-2"]


def test_greeks_and_positions_snapshots_are_readable(journal: Journal) -> None:
    journal.record_greeks(T0, "BTC", delta=-1.25, gamma=3e-5, vega=1200.0, extra={"band": 2.0})
    journal.record_positions(T0, "paper", {"BTC-PERPETUAL": 1.75, "ETH-PERPETUAL": -3.0})
    with journal.engine.connect() as conn:
        g = conn.execute(sa.select(S.greeks_snapshots)).one()
        p = conn.execute(sa.select(S.position_snapshots.c.quantity)).scalars().all()
    assert (g.delta, g.vega, json.loads(g.extra)) == (-1.25, 1200.0, {"band": 2.0})
    assert sorted(p) == [-3.0, 1.75]
    assert journal.events(since_ns=T0 + 1) == []


def test_sqlite_journal_runs_in_wal_mode(tmp_path: Path) -> None:
    j = Journal(tmp_path / "sub" / "j.sqlite")
    with j.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    j.close()
    full = Journal(tmp_path / "full.sqlite", synchronous="full")
    with full.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    full.close()


def test_journal_url_maps_paths_and_postgres_schemes(tmp_path: Path, monkeypatch) -> None:
    assert journal_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert journal_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert journal_url("sqlite:///x.db") == "sqlite:///x.db"
    assert journal_url(tmp_path / "j.sqlite") == f"sqlite:///{tmp_path / 'j.sqlite'}"
    monkeypatch.setenv("DELTAHEDGE_DATA_DIR", str(tmp_path))
    assert default_journal_path() == tmp_path / "journal.sqlite"
    monkeypatch.delenv("DELTAHEDGE_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert journal_url(None) == f"sqlite:///{tmp_path / 'xdg' / 'deltahedge' / 'journal.sqlite'}"


def test_in_memory_journal_keeps_records_across_calls() -> None:
    j = Journal(":memory:")
    assert j.url == "sqlite://"
    j.record_intent(_intent(1))
    j.record_order(_order(1))
    assert [o.request for o in j.in_flight_orders()] == [_order(1)]
    j.close()


def test_bad_synchronous_setting_names_allowed_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'FULL', 'NORMAL'"):
        Journal(tmp_path / "j.sqlite", synchronous="OFF")


_RANK = {OrderStatus.NEW: 0, OrderStatus.ACKED: 1, OrderStatus.PARTIALLY_FILLED: 2}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(list(OrderStatus)), st.floats(0, 1.5)), min_size=1, max_size=8
    )
)
def test_order_state_only_moves_forward_whatever_the_update_order(updates) -> None:
    j = Journal(":memory:")
    j.record_intent(_intent(1))
    j.record_order(_order(1))
    coid = _order(1).client_order_id
    status, filled = OrderStatus.NEW, 0.0  # reference fold, written out independently
    for k, (st_, q) in enumerate(updates):
        j.record_order_update(_update(coid, st_, q, ts=T0 + k))
        if not status.is_terminal and (st_.is_terminal or _RANK[st_] >= _RANK[status]):
            status = st_
        filled = max(filled, q)
    o = j.order(coid)
    assert o is not None and (o.status, o.filled_quantity) == (status, filled)
    assert (o in j.in_flight_orders()) == (not status.is_terminal)
    j.close()

from __future__ import annotations

import asyncio
import threading

import pytest

from deltahedge.core.errors import InvalidInput
from deltahedge.dashboard.models import (
    PNL_COMPONENTS,
    DashboardDiff,
    DashboardSnapshot,
    EngineMode,
)
from deltahedge.dashboard.readmodel import Controls, ReadModel, SnapshotSource

from .conftest import T0, RecordingControls, make_update


def test_snapshot_before_any_publish_is_empty() -> None:
    snap = ReadModel().snapshot()
    assert (snap.seq, snap.ts_ns, snap.underlyings, snap.hedges) == (0, 0, (), ())
    assert snap.pnl is None  # nothing published is shown as unknown, not as zero


def test_publish_keeps_latest_state_and_appends_history() -> None:
    rm = ReadModel()
    for i in range(1, 6):
        rm.publish(
            make_update(i, hedge=i % 2 == 0, mode=EngineMode.PAUSED if i == 5 else "running")
        )
    snap = rm.snapshot()
    assert snap.seq == 5
    assert snap.mode is EngineMode.PAUSED
    assert snap.ts_ns == T0 + 5_000_000_000
    assert snap.underlyings[0].delta_coin == pytest.approx(0.5)
    series = snap.delta_history[0]
    assert series.underlying == "BTC"
    assert series.delta_coin == pytest.approx((0.1, 0.2, 0.3, 0.4, 0.5))
    assert series.band_upper_coin == (2.0,) * 5
    assert [h.intent_id for h in snap.hedges] == ["int-0002", "int-0004"]
    # cumulative pnl columns as published: delta = 10*i, fees = -i
    assert snap.pnl_history.delta == pytest.approx((10.0, 20.0, 30.0, 40.0, 50.0))
    assert snap.pnl_history.fees == pytest.approx((-1.0, -2.0, -3.0, -4.0, -5.0))
    assert snap.pnl.total == pytest.approx(50.0 - 10.0 + 15.0 - 5.0)


def test_histories_are_bounded_dropping_oldest() -> None:
    rm = ReadModel(max_points=3, max_hedges=2)
    for i in range(1, 8):
        rm.publish(make_update(i, hedge=True))
    snap = rm.snapshot()
    assert snap.delta_history[0].delta_coin == pytest.approx((0.5, 0.6, 0.7))
    assert len(snap.pnl_history.ts_ns) == 3
    assert [h.intent_id for h in snap.hedges] == ["int-0006", "int-0007"]


def test_snapshot_is_cached_until_next_publish() -> None:
    rm = ReadModel()
    rm.publish(make_update(1))
    first = rm.snapshot()
    assert rm.snapshot() is first
    rm.publish(make_update(2))
    assert rm.snapshot() is not first
    assert rm.snapshot().seq == 2


@pytest.mark.parametrize(("points", "hedges"), [(1, 10), (10, 0)])
def test_bad_history_sizes_raise(points: int, hedges: int) -> None:
    with pytest.raises(InvalidInput, match="max_points"):
        ReadModel(max_points=points, max_hedges=hedges)


async def test_subscription_coalesces_many_publishes_into_one_wakeup() -> None:
    rm = ReadModel()
    sub = rm.subscribe()
    for i in range(10):
        rm.publish(make_update(i))
    await sub.wait()
    waiter = asyncio.create_task(sub.wait())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiter.done()  # the ten publications woke it once
    rm.publish(make_update(11))
    await waiter
    sub.close()
    assert rm.subscriber_count == 0


async def test_publish_from_another_thread_wakes_the_loop() -> None:
    rm = ReadModel()
    sub = rm.subscribe()
    thread = threading.Thread(target=lambda: rm.publish(make_update(1)))
    thread.start()
    await sub.wait()
    thread.join()
    assert rm.seq == 1


def test_read_model_and_fake_controls_satisfy_the_ports() -> None:
    assert isinstance(ReadModel(), SnapshotSource)
    assert isinstance(RecordingControls(), Controls)


def _merge(prev: DashboardSnapshot, diff: DashboardDiff) -> DashboardSnapshot:
    """What app.js merge() does: append the new history, keep the newest entries."""
    keep, series = diff.max_points, []
    for p in prev.delta_history:
        d = next(x for x in diff.delta_history if x.underlying == p.underlying)
        cols = ("ts_ns", "delta_coin", "band_lower_coin", "band_upper_coin")
        series.append(
            p.model_copy(update={c: (getattr(p, c) + getattr(d, c))[-keep:] for c in cols})
        )
    pnl_cols = ("ts_ns", *PNL_COMPONENTS)
    pnl = prev.pnl_history.model_copy(
        update={
            c: (getattr(prev.pnl_history, c) + getattr(diff.pnl_history, c))[-keep:]
            for c in pnl_cols
        }
    )
    data = diff.model_dump(exclude={"base_seq", "max_points", "max_hedges", "pnl"})
    return DashboardSnapshot.model_validate(data).model_copy(
        update={
            "delta_history": tuple(series),
            "hedges": (prev.hedges + diff.hedges)[-diff.max_hedges :],
            "pnl_history": pnl,
            "pnl": diff.pnl,
        }
    )


def test_diff_holds_only_entries_after_base() -> None:
    rm = ReadModel()
    for i in range(1, 4):
        rm.publish(make_update(i, hedge=True))
    diff = rm.diff_since(2)
    assert (diff.seq, diff.base_seq) == (3, 2)
    assert diff.delta_history[0].delta_coin == pytest.approx((0.3,))
    assert [h.intent_id for h in diff.hedges] == ["int-0003"]
    assert diff.pnl_history.delta == pytest.approx((30.0,))
    assert rm.diff_since(3).hedges == ()


@pytest.mark.parametrize("published_after", [1, 5, 40])
def test_snapshot_plus_diff_equals_later_snapshot(published_after: int) -> None:
    # Also when more was published than the histories keep (40 > max_points 8).
    rm = ReadModel(max_points=8, max_hedges=3)
    for i in range(1, 6):
        rm.publish(make_update(i, hedge=True))
    before = rm.snapshot()
    for i in range(6, 6 + published_after):
        rm.publish(make_update(i, hedge=i % 2 == 0))
    assert _merge(before, rm.diff_since(before.seq)) == rm.snapshot()

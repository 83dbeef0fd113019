"""Websocket pacing: at most one message per interval, coalesced to the latest snapshot.

Time is a fake clock that only the test moves; nothing here reads or asserts wall-clock time.
"""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest

from deltahedge.dashboard.app import push_updates
from deltahedge.dashboard.readmodel import ReadModel

from .conftest import make_update


class FakeTime:
    """A clock the test advances; ``sleep`` waits until the clock has moved far enough."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        target = self.now + seconds
        while self.now < target - 1e-12:
            await asyncio.sleep(0)

    async def advance(self, seconds: float, steps: int = 3) -> None:
        self.now += seconds
        for _ in range(steps):
            await asyncio.sleep(0)


async def _run(rm: ReadModel, ft: FakeTime, publish_steps: int, idle_steps: int):
    sent: list[tuple[float, int]] = []

    async def send(text: str) -> None:
        sent.append((ft.now, json.loads(text)["seq"]))

    task = asyncio.create_task(
        push_updates(rm, send, min_interval_s=0.25, clock=ft.clock, sleep=ft.sleep)
    )
    await ft.advance(0.0)
    for i in range(publish_steps):  # 100 publications a second
        await ft.advance(0.01, steps=0)
        rm.publish(make_update(i))
        for _ in range(3):
            await asyncio.sleep(0)
    for _ in range(idle_steps):
        await ft.advance(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return sent


async def test_fast_publisher_gets_at_most_four_messages_per_second() -> None:
    rm, ft = ReadModel(), FakeTime()
    sent = await _run(rm, ft, publish_steps=200, idle_steps=50)  # 2 s busy, 0.5 s idle
    times = [t for t, _ in sent]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.25 - 1e-9
    # 2.5 fake seconds at <= 4/s, plus the message sent on connect: at most 11.
    assert 8 <= len(sent) <= 11
    seqs = [s for _, s in sent]
    assert seqs == sorted(set(seqs))  # never a stale or repeated snapshot
    assert seqs[-1] == 200  # coalesced: the last publication is delivered
    assert rm.subscriber_count == 0  # the cancelled pusher unsubscribed


async def test_idle_read_model_sends_only_the_first_message() -> None:
    rm, ft = ReadModel(), FakeTime()
    rm.publish(make_update(1))
    sent = await _run(rm, ft, publish_steps=0, idle_steps=500)  # 5 fake seconds
    assert sent == [(0.0, 1)]


async def test_slow_publisher_is_forwarded_at_once() -> None:
    # One publication a second (slower than the limit): each is sent when published.
    rm, ft = ReadModel(), FakeTime()
    sent: list[tuple[float, int]] = []

    async def send(text: str) -> None:
        sent.append((ft.now, json.loads(text)["seq"]))

    task = asyncio.create_task(
        push_updates(rm, send, min_interval_s=0.25, clock=ft.clock, sleep=ft.sleep)
    )
    await ft.advance(0.0)
    for i in range(1, 4):
        await ft.advance(1.0)
        rm.publish(make_update(i))
        for _ in range(3):
            await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sent == [(0.0, 0), (1.0, 1), (2.0, 2), (3.0, 3)]

"""The read-model: the one thing the dashboard reads, and the engine writes into.

The engine calls :meth:`ReadModel.publish` from its asyncio loop with a
:class:`DashboardUpdate` (the state it has already computed, plus the hedges since the last
update). ``publish`` stores the update, appends to bounded histories and wakes the websocket
pushers; it does no I/O, no serialisation and no risk computation, and costs O(number of
underlyings + new hedges + subscribers). The dashboard, possibly on another thread (uvicorn),
reads :meth:`ReadModel.snapshot` or waits on a :class:`Subscription`.

``Controls`` is the port through which the dashboard asks the engine to pause, resume or
kill; the engine implements it, the dashboard only calls it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar, runtime_checkable

from deltahedge.core.errors import InvalidInput
from deltahedge.dashboard.models import (
    PNL_COMPONENTS,
    DashboardDiff,
    DashboardSnapshot,
    DashboardUpdate,
    DeltaSeries,
    EngineMode,
    HedgeRecord,
    KillMode,
    PnlAttribution,
    PnlSeries,
)

# Re-exported so that ``deltahedge.dashboard.readmodel`` is the one import the engine needs.
__all__ = [
    "Controls",
    "DashboardDiff",
    "DashboardSnapshot",
    "DashboardUpdate",
    "ReadModel",
    "SnapshotSource",
    "Subscription",
]


# (publication seq, ts_ns, delta_coin, band_lower, band_upper)
_DeltaPoint = tuple[int, int, float, float | None, float | None]
_HedgeRow = tuple[int, HedgeRecord]
_PnlPoint = tuple[int, int, PnlAttribution]


@runtime_checkable
class Controls(Protocol):
    """What the engine lets the dashboard ask for; implemented by the engine.

    Each method must be safe to call from any thread and must only *request* the action
    (e.g. with ``loop.call_soon_threadsafe``), returning at once; the engine reports the
    outcome through ``DashboardUpdate.mode``. A method may return an awaitable, which the
    dashboard awaits.
    """

    def pause(self) -> Awaitable[None] | None: ...

    def resume(self) -> Awaitable[None] | None: ...

    def kill(self, mode: KillMode) -> Awaitable[None] | None: ...


@runtime_checkable
class SnapshotSource(Protocol):
    """Anything the app can serve: a live :class:`ReadModel` or a journal adapter."""

    @property
    def seq(self) -> int: ...

    def snapshot(self) -> DashboardSnapshot: ...

    def diff_since(self, base_seq: int) -> DashboardDiff: ...

    def subscribe(self) -> Subscription: ...


class Subscription:
    """Wakes one async consumer when a new update has been published.

    Created on the consumer's event loop by :meth:`ReadModel.subscribe`; wake-ups coalesce
    (ten publications before the consumer runs wake it once).
    """

    def __init__(self, owner: ReadModel | None, loop: asyncio.AbstractEventLoop) -> None:
        self._owner = owner
        self._loop = loop
        self._event = asyncio.Event()
        self.closed = False

    def notify(self) -> None:
        """Wake the consumer; callable from any thread, never blocks."""
        if self.closed:
            return
        try:
            self._loop.call_soon_threadsafe(self._event.set)
        except RuntimeError:  # the consumer's loop is closed: forget it
            self.close()

    async def wait(self) -> None:
        """Return once something was published since the previous ``wait``."""
        await self._event.wait()
        self._event.clear()

    def close(self) -> None:
        """Stop receiving wake-ups."""
        self.closed = True
        if self._owner is not None:
            self._owner._unsubscribe(self)


class ReadModel:
    """The latest published update and bounded histories of delta, hedges and PnL.

    Parameters
    ----------
    max_points : int
        Delta and PnL points kept per series (oldest dropped first).
    max_hedges : int
        Hedge log rows kept.
    """

    def __init__(self, max_points: int = 1200, max_hedges: int = 500) -> None:
        if max_points < 2 or max_hedges < 1:
            raise InvalidInput(
                f"ReadModel needs max_points >= 2 and max_hedges >= 1, "
                f"got {max_points} and {max_hedges}"
            )
        self._max_points = max_points
        self._max_hedges = max_hedges
        self._lock = threading.Lock()
        self._latest: DashboardUpdate | None = None
        self._seq = 0
        self._delta: dict[str, deque[_DeltaPoint]] = {}  # per underlying
        self._hedges: deque[_HedgeRow] = deque(maxlen=max_hedges)
        self._pnl: deque[_PnlPoint] = deque(maxlen=max_points)
        self._subs: list[Subscription] = []
        self._cache: DashboardSnapshot | None = None

    @property
    def seq(self) -> int:
        """Number of updates published so far."""
        return self._seq

    def publish(self, update: DashboardUpdate) -> None:
        """Store ``update`` and wake the subscribers; O(1) per underlying and hedge.

        Parameters
        ----------
        update : DashboardUpdate
            The engine's current state; ``update.new_hedges`` are appended to the log.
        """
        with self._lock:
            seq = self._seq + 1
            ts = update.ts_ns
            for u in update.underlyings:
                series = self._delta.get(u.underlying)
                if series is None:
                    series = self._delta[u.underlying] = deque(maxlen=self._max_points)
                series.append((seq, ts, u.delta_coin, u.band_lower_coin, u.band_upper_coin))
            for h in update.new_hedges:
                self._hedges.append((seq, h))
            if update.pnl is not None:
                self._pnl.append((seq, ts, update.pnl))
            self._latest = update
            self._seq = seq
            subs = tuple(self._subs)
        for sub in subs:
            sub.notify()

    def subscribe(self) -> Subscription:
        """A subscription woken on the *calling* event loop at each publication."""
        sub = Subscription(self, asyncio.get_running_loop())
        with self._lock:
            self._subs.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    @property
    def subscriber_count(self) -> int:
        """How many consumers are subscribed (one per open websocket)."""
        return len(self._subs)

    def snapshot(self) -> DashboardSnapshot:
        """The page's whole state; built once per publication and cached."""
        cached = self._cache
        if cached is not None and cached.seq == self._seq:
            return cached
        with self._lock:
            seq, latest = self._seq, self._latest
            delta = {name: tuple(points) for name, points in self._delta.items()}
            hedges = tuple(self._hedges)
            pnl = tuple(self._pnl)
        snap = _build(DashboardSnapshot, seq, latest, delta, hedges, pnl, {})
        self._cache = snap
        return snap

    def diff_since(self, base_seq: int) -> DashboardDiff:
        """The latest state with only the history entries published after ``base_seq``.

        Costs O(entries since ``base_seq``): a websocket sends the full snapshot once, then
        these. A client appends the histories to its copy and trims them to ``max_points``
        and ``max_hedges``.
        """
        with self._lock:
            seq, latest = self._seq, self._latest
            delta = {name: _newer(points, base_seq) for name, points in self._delta.items()}
            hedges = _newer(self._hedges, base_seq)
            pnl = _newer(self._pnl, base_seq)
        extra = {
            "base_seq": base_seq,
            "max_points": self._max_points,
            "max_hedges": self._max_hedges,
        }
        return _build(DashboardDiff, seq, latest, delta, hedges, pnl, extra)


_Row = TypeVar("_Row", bound=tuple[Any, ...])


def _newer(rows: deque[_Row], base_seq: int) -> tuple[_Row, ...]:
    out: list[_Row] = []
    for row in reversed(rows):
        if row[0] <= base_seq:
            break
        out.append(row)
    out.reverse()
    return tuple(out)


_Snap = TypeVar("_Snap", DashboardSnapshot, DashboardDiff)


def _build(
    cls: type[_Snap],
    seq: int,
    latest: DashboardUpdate | None,
    delta: dict[str, tuple[_DeltaPoint, ...]],
    hedges: tuple[_HedgeRow, ...],
    pnl: tuple[_PnlPoint, ...],
    extra: dict[str, int],
) -> _Snap:
    if latest is None:
        return cls.model_validate({"seq": seq, "ts_ns": 0, "mode": EngineMode.RUNNING, **extra})
    series = tuple(
        DeltaSeries.model_construct(
            underlying=name,
            ts_ns=tuple(p[1] for p in points),
            delta_coin=tuple(p[2] for p in points),
            band_lower_coin=tuple(p[3] for p in points),
            band_upper_coin=tuple(p[4] for p in points),
        )
        for name, points in delta.items()
    )
    columns: dict[str, object] = {c: tuple(getattr(p[2], c) for p in pnl) for c in PNL_COMPONENTS}
    columns["ts_ns"] = tuple(p[1] for p in pnl)
    return cls.model_construct(
        None,
        seq=seq,
        ts_ns=latest.ts_ns,
        mode=latest.mode,
        message=latest.message,
        underlyings=latest.underlyings,
        delta_history=series,
        hedges=tuple(h for _, h in hedges),
        pnl=latest.pnl,
        pnl_history=PnlSeries.model_construct(None, **columns),
        smiles=latest.smiles,
        venues=latest.venues,
        limits=latest.limits,
        **extra,
    )

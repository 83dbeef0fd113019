"""Audit mode: rebuild the dashboard from a journal (SQLite or PostgreSQL), after the fact.

:class:`JournalReadModel` reads the journal's append-only ``events`` table in order
(``seq``) and publishes :class:`DashboardUpdate` objects into its own :class:`ReadModel`,
so the app serves it exactly like the live engine's. ``refresh()`` reads only the events
that are new since the last call, so a journal that a running engine still writes can be
followed by polling (``start_polling``).

Two kinds of journal are understood:

1. **Full fidelity**: the engine journals its updates as events of kind ``"dashboard"``
   whose payload is ``DashboardUpdate.model_dump(mode="json")``; :class:`DashboardJournaler`
   does this at a bounded rate (every hedge and mode change kept, smiles left out by
   default since they are the bulk of an update). These are replayed as they were.
2. **Raw records** (no ``"dashboard"`` events): the dashboard is rebuilt from the store's
   own events, with these conventions:

   - ``greeks`` (key = underlying): ``delta`` (coin), ``gamma`` (coin per USD), ``vega``
     (USD per 1.00 vol), ``theta`` (USD per year), as ``Journal.record_greeks`` writes
     them; optional extras ``spot``, ``delta_usd``, ``band_lower``, ``band_upper`` (coin)
     and ``vega_expiry:<label>`` (USD per 1.00 vol). Shown per vol point (/100), per day
     (/365) and cash gamma per 1 % (``gamma * spot**2 / 100``); unknown values show as
     blanks, never as zeros.
   - ``intent``, ``order``, ``order_update``, ``fill``: one hedge-log row per intent, once
     all its orders are terminal; price is the fills' quantity-weighted mean, fees are in
     USD (fees in a coin are converted at the fill price), slippage is measured against
     ``inputs["mid"]`` of the intent when the policy recorded it; the chart marker sits at
     ``inputs["delta"]``.
   - ``pnl``: cumulative attribution components in USD (``delta``, ``gamma``, ...).
   - ``mode`` or ``kill_switch``: ``{"mode": "running" | "paused" | "frozen" | "flattening"}``.

The adapter reads; it never writes to the journal and computes no risk.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from deltahedge.core.errors import DataError
from deltahedge.dashboard.models import (
    PNL_COMPONENTS,
    DashboardDiff,
    DashboardSnapshot,
    DashboardUpdate,
    EngineMode,
    ExpiryVega,
    HedgeRecord,
    PnlAttribution,
    UnderlyingRisk,
)
from deltahedge.dashboard.readmodel import ReadModel, Subscription

if TYPE_CHECKING:
    from deltahedge.store.journal import Journal

__all__ = ["DASHBOARD_EVENT_KIND", "DashboardJournaler", "JournalReadModel"]

#: Event kind under which an engine journals its published updates.
DASHBOARD_EVENT_KIND = "dashboard"

_KINDS = (
    DASHBOARD_EVENT_KIND,
    "greeks",
    "intent",
    "order",
    "order_update",
    "fill",
    "pnl",
    "mode",
    "kill_switch",
)
_TERMINAL = {"filled", "cancelled", "rejected", "expired"}
_USD = {"USD", "USDT", "USDC"}
_CHUNK = 5_000


@dataclass
class _Hedge:
    ts_ns: int
    underlying: str
    reason: str
    delta_coin: float
    inputs: dict[str, Any]
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    qty: float = 0.0
    notional: float = 0.0
    fees_usd: float = 0.0
    emitted: bool = False


def _f(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


class JournalReadModel:
    """A :class:`~deltahedge.dashboard.readmodel.SnapshotSource` fed from a journal.

    Parameters
    ----------
    url : str
        SQLAlchemy URL or SQLite path of the journal (``deltahedge.store.journal_url``).
    run_id : str or None
        Show only this run's events; all runs by default.
    max_points, max_hedges : int
        History bounds of the underlying :class:`ReadModel`.

    Raises
    ------
    DataError
        If the database has no journal (no ``events`` table).
    """

    def __init__(
        self,
        url: str,
        *,
        run_id: str | None = None,
        max_points: int = 1200,
        max_hedges: int = 500,
    ) -> None:
        from deltahedge.store.journal import journal_url

        self.url = journal_url(url)
        self._engine = sa.create_engine(self.url)
        if not sa.inspect(self._engine).has_table("events"):
            self._engine.dispose()
            raise DataError(
                f"{url} holds no deltahedge journal (no 'events' table); "
                "pass the --db the engine wrote to"
            )
        self._run_id = run_id
        self._rm = ReadModel(max_points=max_points, max_hedges=max_hedges)
        self._lock = threading.Lock()
        self._last_seq = 0
        self._full = False
        self._mode = EngineMode.RUNNING
        self._greeks: dict[str, UnderlyingRisk] = {}
        self._pnl: PnlAttribution | None = None
        self._intents: dict[str, _Hedge] = {}
        self._order_intent: dict[str, str] = {}
        self._pending: list[HedgeRecord] = []
        self._dirty = False
        self._group_ts = 0
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()

    # -- SnapshotSource ---------------------------------------------------------------
    @property
    def seq(self) -> int:
        """Number of updates rebuilt so far."""
        return self._rm.seq

    def snapshot(self) -> DashboardSnapshot:
        """The rebuilt dashboard state."""
        return self._rm.snapshot()

    def diff_since(self, base_seq: int) -> DashboardDiff:
        """The rebuilt state with the history after ``base_seq`` (see ``ReadModel``)."""
        return self._rm.diff_since(base_seq)

    def subscribe(self) -> Subscription:
        """Wake-ups when :meth:`refresh` publishes something."""
        return self._rm.subscribe()

    # -- reading ----------------------------------------------------------------------
    def refresh(self) -> int:
        """Read the events journaled since the last call and publish them.

        Returns
        -------
        int
            Number of updates published.
        """
        from deltahedge.store.schema import events

        with self._lock:
            before = self._rm.seq
            while True:
                q = (
                    sa.select(
                        events.c.seq, events.c.ts_ns, events.c.kind, events.c.key, events.c.payload
                    )
                    .where(events.c.seq > self._last_seq, events.c.kind.in_(_KINDS))
                    .order_by(events.c.seq)
                    .limit(_CHUNK)
                )
                if self._run_id is not None:
                    q = q.where(events.c.run_id == self._run_id)
                with self._engine.connect() as conn:
                    rows = conn.execute(q).all()
                for row in rows:
                    self._apply(int(row.ts_ns), row.kind, row.key, json.loads(row.payload))
                    self._last_seq = int(row.seq)
                if len(rows) < _CHUNK:
                    break
            if self._dirty:
                self._flush()
            return self._rm.seq - before

    def start_polling(self, interval_s: float = 1.0) -> None:
        """Call :meth:`refresh` every ``interval_s`` seconds in a daemon thread."""
        if self._poller is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval_s):
                self.refresh()

        self._poller = threading.Thread(target=loop, name="journal-poll", daemon=True)
        self._poller.start()

    def close(self) -> None:
        """Stop polling and release the database connection."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join(5.0)
        self._engine.dispose()

    # -- rebuilding -------------------------------------------------------------------
    def _apply(self, ts: int, kind: str, key: str, payload: Any) -> None:
        if kind == DASHBOARD_EVENT_KIND:
            if self._dirty and not self._full:
                self._flush()
            self._full = True
            self._rm.publish(DashboardUpdate.model_validate(payload))
            return
        if self._full or not isinstance(payload, dict):
            return
        if self._dirty and ts != self._group_ts:
            self._flush()
        changed = False
        if kind == "greeks":
            self._greeks[key] = _risk_from_greeks(key, payload)
            changed = True
        elif kind == "pnl":
            values = {c: float(payload.get(c, 0.0) or 0.0) for c in PNL_COMPONENTS}
            self._pnl = PnlAttribution(**values)
            changed = True
        elif kind in ("mode", "kill_switch"):
            text = str(payload.get("mode") or payload.get("state") or "")
            if text in EngineMode._value2member_map_:
                self._mode = EngineMode(text)
                changed = True
        elif kind == "intent":
            self._intents[key] = _Hedge(
                ts_ns=int(payload.get("ts_ns", ts)),
                underlying=str(payload.get("underlying", "")),
                reason=str(payload.get("reason", "")),
                delta_coin=float(payload.get("delta_coin", 0.0)),
                inputs=dict(payload.get("inputs") or {}),
            )
        elif kind == "order":
            hedge = self._intents.get(str(payload.get("intent_id", "")))
            if hedge is not None:
                self._order_intent[key] = str(payload["intent_id"])
                hedge.orders[key] = {**payload, "status": "new"}
        elif kind == "order_update":
            changed = self._on_update(key, payload)
        elif kind == "fill":
            self._on_fill(payload)
        if changed:
            self._dirty = True
            self._group_ts = ts

    def _on_update(self, coid: str, payload: dict[str, Any]) -> bool:
        intent_id = self._order_intent.get(coid)
        hedge = self._intents.get(intent_id or "")
        if hedge is None or hedge.emitted:
            return False
        order = hedge.orders[coid]
        if order["status"] not in _TERMINAL:  # the first terminal state wins
            order["status"] = str(payload.get("status", order["status"]))
        if all(o["status"] in _TERMINAL for o in hedge.orders.values()):
            self._pending.append(_record(intent_id or "", hedge))
            hedge.emitted = True
            return True
        return False

    def _on_fill(self, payload: dict[str, Any]) -> None:
        hedge = self._intents.get(self._order_intent.get(str(payload.get("client_order_id")), ""))
        if hedge is None:
            return
        qty, price = float(payload["quantity"]), float(payload["price"])
        fee = float(payload.get("fee", 0.0))
        hedge.qty += qty
        hedge.notional += qty * price
        currency = str(payload.get("fee_currency", "")).upper()
        hedge.fees_usd += fee if currency in _USD else fee * price

    def _flush(self) -> None:
        self._rm.publish(
            DashboardUpdate(
                ts_ns=self._group_ts,
                mode=self._mode,
                underlyings=tuple(self._greeks[k] for k in sorted(self._greeks)),
                pnl=self._pnl,
                new_hedges=tuple(self._pending),
                message="audit of a journal (read-only)",
            )
        )
        self._pending = []
        self._dirty = False


def _risk_from_greeks(underlying: str, p: dict[str, Any]) -> UnderlyingRisk:
    delta = float(p["delta"])
    spot = _f(p.get("spot"))
    gamma, vega, theta = _f(p.get("gamma")), _f(p.get("vega")), _f(p.get("theta"))
    delta_usd = _f(p.get("delta_usd"))
    if delta_usd is None and spot is not None:
        delta_usd = delta * spot
    by_expiry = tuple(
        ExpiryVega(expiry=k.split(":", 1)[1], vega_usd=float(v) / 100.0)
        for k, v in sorted(p.items())
        if k.startswith("vega_expiry:") and _f(v) is not None
    )
    return UnderlyingRisk(
        underlying=underlying,
        spot_usd=spot,
        delta_coin=delta,
        delta_usd=delta_usd,
        band_lower_coin=_f(p.get("band_lower")),
        band_upper_coin=_f(p.get("band_upper")),
        gamma_cash_usd=None if gamma is None or spot is None else gamma * spot * spot / 100.0,
        vega_usd=0.0 if vega is None else vega / 100.0,
        theta_usd_per_day=0.0 if theta is None else theta / 365.0,
        vega_by_expiry=by_expiry,
    )


def _record(intent_id: str, h: _Hedge) -> HedgeRecord:
    orders = list(h.orders.values())
    first = orders[0]
    side = str(first.get("side", "buy" if h.delta_coin > 0 else "sell"))
    price = h.notional / h.qty if h.qty > 0 else None
    mid = _f(h.inputs.get("mid"))
    slippage = None
    if price is not None and mid:
        slippage = (1.0 if side == "buy" else -1.0) * (price - mid) / mid * 1e4
    statuses = {o["status"] for o in orders}
    return HedgeRecord(
        ts_ns=h.ts_ns,
        intent_id=intent_id,
        underlying=h.underlying,
        reason=h.reason,
        side=side,
        size=sum(float(o.get("quantity", 0.0)) for o in orders),
        size_coin=h.delta_coin,
        instrument=str(first.get("instrument", "")),
        venue=str(first.get("venue", "")),
        price=price,
        slippage_bps=slippage,
        fees_usd=h.fees_usd,
        status="filled" if statuses == {"filled"} else "/".join(sorted(statuses)),
        book_delta_coin=_f(h.inputs.get("delta")),
    )


class DashboardJournaler:
    """Journals the engine's dashboard updates at a bounded rate, for audits.

    Call :meth:`offer` with every update the engine publishes. An update is written when
    ``every_s`` seconds (of the updates' own clock) have passed since the last one written,
    or when it carries hedges or changes the mode; hedges of updates not written are carried
    into the next one written, so the audit's hedge log is complete.

    Parameters
    ----------
    journal : deltahedge.store.Journal
        Where to write (``record_event``, one transaction per written update).
    every_s : float
        Least time between two written updates without hedges or mode change, seconds.
    include_smiles : bool
        Keep the smile fits (tens of kB an update) in the journal.
    """

    def __init__(self, journal: Journal, every_s: float = 1.0, include_smiles: bool = False):
        self._journal = journal
        self._every_ns = int(every_s * 1e9)
        self._smiles = include_smiles
        self._last_ns: int | None = None
        self._mode: EngineMode | None = None
        self._carried: list[HedgeRecord] = []
        self.written = 0

    def offer(self, update: DashboardUpdate) -> bool:
        """Write ``update`` if it is due; return whether it was written."""
        self._carried.extend(update.new_hedges)
        due = (
            self._last_ns is None
            or update.ts_ns - self._last_ns >= self._every_ns
            or bool(self._carried)
            or update.mode is not self._mode
        )
        if not due:
            return False
        changes: dict[str, Any] = {"new_hedges": tuple(self._carried)}
        if not self._smiles:
            changes["smiles"] = ()
        payload = update.model_copy(update=changes).model_dump(mode="json")
        self._journal.record_event(DASHBOARD_EVENT_KIND, "", payload, ts_ns=update.ts_ns)
        self._carried = []
        self._last_ns = update.ts_ns
        self._mode = update.mode
        self.written += 1
        return True

"""Operator commands through the journal: ask a running engine to freeze or flatten.

The journal is the one thing the command line, the dashboard and the engine all reach
(even a PostgreSQL journal shared by several engines), so a request is an event:
``request_kill_switch`` appends a ``kill_switch_request``; the engine polls
``pending_kill_switch_requests`` from its loop and applies them to its ``KillSwitch``,
which journals the resulting ``kill_switch`` change. ``last_kill_switch_state`` restores
the switch on restart, so a frozen engine stays frozen after a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

from deltahedge.core.errors import InvalidInput
from deltahedge.store.journal import Journal

KILL_SWITCH_STATES = ("running", "frozen", "flattening")


@dataclass(frozen=True, slots=True)
class KillSwitchRequest:
    """A request to move the kill switch, read back from the journal."""

    seq: int
    ts_ns: int
    state: str
    source: str
    reason: str
    engine: str  # "" = every engine sharing the journal


def request_kill_switch(
    journal: Journal, state: str, source: str = "cli", reason: str = "", engine: str = ""
) -> None:
    """Append a ``kill_switch_request`` event for the engine(s) reading ``journal``.

    Parameters
    ----------
    state : {"running", "frozen", "flattening"}
    source : str
        Who asks (``"cli"``, ``"dashboard"``, ...).
    reason : str
        Free text for the log and the journal.
    engine : str
        Name of the engine addressed; empty for all.
    """
    if state not in KILL_SWITCH_STATES:
        raise InvalidInput(f"kill switch state {state!r}; allowed: {', '.join(KILL_SWITCH_STATES)}")
    payload = {"state": state, "source": source, "reason": reason, "engine": engine}
    journal.record_event("kill_switch_request", state, payload)


def pending_kill_switch_requests(
    journal: Journal, after_seq: int, engine: str = ""
) -> list[KillSwitchRequest]:
    """Requests appended after ``after_seq`` addressed to ``engine`` (or to all), oldest first."""
    out = []
    for ev in journal.events(kinds=["kill_switch_request"], after_seq=after_seq):
        p = ev["payload"]
        if p.get("engine", "") in ("", engine):
            out.append(
                KillSwitchRequest(
                    ev["seq"], ev["ts_ns"], p["state"], p.get("source", ""), p.get("reason", ""),
                    p.get("engine", ""),
                )
            )  # fmt: skip
    return out


def last_kill_switch_state(journal: Journal) -> str | None:
    """The state of the last journaled ``kill_switch`` change, or None if there was none."""
    last = journal.events(kinds=["kill_switch"], last=1)
    return last[0]["payload"]["state"] if last else None


__all__ = [
    "KILL_SWITCH_STATES",
    "KillSwitchRequest",
    "last_kill_switch_state",
    "pending_kill_switch_requests",
    "request_kill_switch",
]

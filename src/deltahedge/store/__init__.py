"""The journal (SQLAlchemy Core: SQLite by default, PostgreSQL by URL) and recovery.

``Journal`` records intents before their orders are sent, orders and their status
transitions, fills exactly once, snapshots and each run's configuration; ``reconcile``
asks a venue what became of the orders in flight after a restart, without resending any.
"""

from deltahedge.store.control import (
    KILL_SWITCH_STATES,
    KillSwitchRequest,
    last_kill_switch_state,
    pending_kill_switch_requests,
    request_kill_switch,
)
from deltahedge.store.journal import (
    DuplicateRecord,
    Journal,
    default_journal_path,
    journal_url,
    to_json,
)
from deltahedge.store.port import OrderJournal
from deltahedge.store.readers import JournaledOrder
from deltahedge.store.recovery import (
    PositionDifference,
    ReconcileReport,
    VenueQuery,
    normalise_positions,
    reconcile,
)
from deltahedge.store.redact import MASK, is_secret_key, redact_secrets

__all__ = [
    "KILL_SWITCH_STATES",
    "MASK",
    "DuplicateRecord",
    "Journal",
    "JournaledOrder",
    "KillSwitchRequest",
    "OrderJournal",
    "PositionDifference",
    "ReconcileReport",
    "VenueQuery",
    "default_journal_path",
    "is_secret_key",
    "journal_url",
    "last_kill_switch_state",
    "normalise_positions",
    "pending_kill_switch_requests",
    "reconcile",
    "redact_secrets",
    "request_kill_switch",
    "to_json",
]

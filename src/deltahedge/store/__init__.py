"""The journal (SQLAlchemy Core: SQLite by default, PostgreSQL by URL) and recovery.

``Journal`` records intents before their orders are sent, orders and their status
transitions, fills exactly once, snapshots and each run's configuration; ``reconcile``
asks a venue what became of the orders in flight after a restart, without resending any.
"""

from deltahedge.store.journal import (
    DuplicateRecord,
    Journal,
    JournaledOrder,
    default_journal_path,
    journal_url,
    to_json,
)
from deltahedge.store.recovery import (
    FILL_LOOKBACK_NS,
    PositionDifference,
    ReconcileReport,
    VenueQuery,
    normalise_positions,
    reconcile,
)
from deltahedge.store.redact import MASK, is_secret_key, redact_secrets

__all__ = [
    "FILL_LOOKBACK_NS",
    "MASK",
    "DuplicateRecord",
    "Journal",
    "JournaledOrder",
    "PositionDifference",
    "ReconcileReport",
    "VenueQuery",
    "default_journal_path",
    "is_secret_key",
    "journal_url",
    "normalise_positions",
    "reconcile",
    "redact_secrets",
    "to_json",
]

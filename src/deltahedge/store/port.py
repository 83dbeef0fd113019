"""The journal as the order manager's store: ``deltahedge.execution.journal.Journal``.

``Journal`` already has the port's four methods; the only mismatch is typing (its
``record_fill`` returns whether the fill was new, the port's returns None). This adapter
makes the fit exact for type checkers: ``OrderManager(venues, OrderJournal(journal))``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deltahedge.core.events import Fill, HedgeIntent
from deltahedge.store.journal import Journal

if TYPE_CHECKING:
    from deltahedge.execution.journal import JournalState, OrderRecord


class OrderJournal:
    """``deltahedge.execution.journal.Journal`` backed by a durable ``Journal``."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def record_intent(self, intent: HedgeIntent) -> None:
        self.journal.record_intent(intent)

    def record_order(self, record: OrderRecord) -> None:
        self.journal.record_order(record)

    def record_fill(self, fill: Fill) -> None:
        self.journal.record_fill(fill)  # a duplicate is ignored

    def load(self) -> JournalState:
        return self.journal.load()


__all__ = ["OrderJournal"]

"""Execution: the Venue port, the smart order router, the order manager, atomic option+hedge.

Imports point downwards: ``execution`` owns the :class:`Venue` protocol that the adapters in
``deltahedge.venues`` implement, and never imports an adapter.
"""

from deltahedge.execution.atomic import AtomicExecutor, AtomicResult
from deltahedge.execution.hedger import Hedger, HedgeTarget, book_sources
from deltahedge.execution.journal import Journal, JournalState, MemoryJournal, OrderRecord
from deltahedge.execution.orders import ExecutionReport, ManagedOrder, OrderManager, RetryPolicy
from deltahedge.execution.router import (
    Allocation,
    BookSource,
    Clip,
    Execution,
    LiquiditySource,
    Route,
    RouterConfig,
    SmartRouter,
)
from deltahedge.execution.venue import (
    Balance,
    BookSnapshot,
    EventStream,
    FundingRate,
    InstrumentInfo,
    Venue,
    VenueCapabilities,
)

__all__ = [
    "Allocation",
    "AtomicExecutor",
    "AtomicResult",
    "Balance",
    "BookSnapshot",
    "BookSource",
    "Clip",
    "EventStream",
    "Execution",
    "ExecutionReport",
    "FundingRate",
    "HedgeTarget",
    "Hedger",
    "InstrumentInfo",
    "Journal",
    "JournalState",
    "LiquiditySource",
    "ManagedOrder",
    "MemoryJournal",
    "OrderManager",
    "OrderRecord",
    "RetryPolicy",
    "Route",
    "RouterConfig",
    "SmartRouter",
    "Venue",
    "VenueCapabilities",
    "book_sources",
]

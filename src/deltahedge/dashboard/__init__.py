"""The risk dashboard: a read-model the engine publishes into, a FastAPI app, a page.

The engine side needs three names::

    from deltahedge.dashboard import DashboardUpdate, ReadModel, serve

    read_model = ReadModel()
    handle = serve(read_model, controls=engine_controls)   # 127.0.0.1:8050, token printed
    ...
    read_model.publish(DashboardUpdate(ts_ns=..., underlyings=..., new_hedges=...))
    ...
    handle.stop()

For audits, pass every update to a ``DashboardJournaler(journal)`` too; ``deltahedge
dashboard --db URL`` then replays them (``JournalReadModel``). The dashboard never computes risk: it shows what was published (DESIGN.md).
"""

from deltahedge.dashboard.app import DashboardOptions, create_app
from deltahedge.dashboard.journal_source import DashboardJournaler, JournalReadModel
from deltahedge.dashboard.models import (
    DashboardSnapshot,
    DashboardUpdate,
    EngineMode,
    ExpiryVega,
    HedgeRecord,
    KillMode,
    PnlAttribution,
    RiskLimit,
    SmileFit,
    SmileQuote,
    UnderlyingRisk,
    VenueStatus,
)
from deltahedge.dashboard.readmodel import Controls, ReadModel, SnapshotSource, Subscription
from deltahedge.dashboard.server import TOKEN_ENV, DashboardServer, resolve_token, serve

__all__ = [
    "TOKEN_ENV",
    "Controls",
    "DashboardJournaler",
    "DashboardOptions",
    "DashboardServer",
    "DashboardSnapshot",
    "DashboardUpdate",
    "EngineMode",
    "ExpiryVega",
    "HedgeRecord",
    "JournalReadModel",
    "KillMode",
    "PnlAttribution",
    "ReadModel",
    "RiskLimit",
    "SmileFit",
    "SmileQuote",
    "SnapshotSource",
    "Subscription",
    "UnderlyingRisk",
    "VenueStatus",
    "create_app",
    "resolve_token",
    "serve",
]

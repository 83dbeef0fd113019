"""The frozen, JSON-serialisable records the engine publishes and the dashboard shows.

Every number here was computed by the engine; the dashboard only displays it (DESIGN.md:
"the dashboard never computes risk"). The same pydantic models are the REST response
models, so the OpenAPI schema at ``/openapi.json`` documents every field and its unit.

Units: timestamps are UTC integer nanoseconds; deltas in coin and in USD; cash gamma in
USD of delta per 1 % move of the underlying; vega in USD per 1 vol point (1 %); theta in
USD per day; vols as decimals (0.5 = 50 %); PnL in USD, cumulative since the engine started.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Computed fields that appear in dumps; dropped when a dump is read back.
    _derived: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, data: Any) -> Any:
        if cls._derived and isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in cls._derived}
        return data


class EngineMode(StrEnum):
    """What the engine is doing: the kill switch's state."""

    RUNNING = "running"  # deciding and sending hedges
    PAUSED = "paused"  # no new hedges; working orders left alone
    FROZEN = "frozen"  # killed: orders cancelled, nothing sent until restarted
    FLATTENING = "flattening"  # killed: closing the hedge positions


class KillMode(StrEnum):
    """How the kill switch stops the engine."""

    FREEZE = "freeze"  # cancel working orders and stop
    FLATTEN = "flatten"  # cancel, then close the hedge legs


class ExpiryVega(_Frozen):
    """Vega of the options expiring on one date, in USD per 1 vol point."""

    expiry: str = Field(description="Expiry label, e.g. '2026-03-27'.")
    vega_usd: float = Field(description="USD per 1 vol point (1 %).")


class UnderlyingRisk(_Frozen):
    """The book's net Greeks in one underlying, and the hedging policy's band."""

    underlying: str = Field(description="Coin, e.g. 'BTC'.")
    spot_usd: float | None = Field(description="Index or forward price used, USD per coin.")
    delta_coin: float = Field(description="Net delta, coin.")
    delta_usd: float | None = Field(description="Net delta, USD.")
    band_lower_coin: float | None = Field(
        description="Lower edge of the no-hedge band, coin (None: unknown, e.g. in a journal)."
    )
    band_upper_coin: float | None = Field(description="Upper edge of the no-hedge band, coin.")
    gamma_cash_usd: float | None = Field(
        description="Cash gamma: change of the USD delta for a 1 % move, USD (Gamma S^2 / 100)."
    )
    vega_usd: float = Field(description="Total vega, USD per 1 vol point.")
    theta_usd_per_day: float = Field(description="Theta, USD per day.")
    vega_by_expiry: tuple[ExpiryVega, ...] = Field(default=(), description="Vega per expiry.")
    policy: str = Field(default="", description="Name of the policy that set the band.")


class HedgeRecord(_Frozen):
    """One hedge the engine sent (or tried to), for the hedge log."""

    ts_ns: int = Field(description="Decision or fill time, UTC ns.")
    intent_id: str
    underlying: str
    reason: str = Field(description="Why the policy hedged.")
    side: str = Field(description="'buy' or 'sell'.")
    size: float = Field(description="Contracts of `instrument`, > 0.")
    size_coin: float = Field(description="Signed delta change, coin (buy > 0).")
    instrument: str
    venue: str
    price: float | None = Field(default=None, description="Average fill price.")
    slippage_bps: float | None = Field(default=None, description="Versus mid at decision.")
    fees_usd: float = Field(default=0.0, description="Fees paid, USD.")
    status: str = Field(default="filled", description="Order state, e.g. 'filled'.")
    book_delta_coin: float | None = Field(
        default=None, description="Book delta when the policy decided, coin (marks the chart)."
    )


class PnlAttribution(_Frozen):
    """PnL split by source, USD, cumulative since the engine started."""

    delta: float = 0.0
    gamma: float = 0.0
    vega: float = 0.0
    theta: float = 0.0
    funding: float = 0.0
    fees: float = 0.0
    residual: float = 0.0

    _derived: ClassVar[tuple[str, ...]] = ("total",)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> float:
        """Sum of the components, USD."""
        return (
            self.delta
            + self.gamma
            + self.vega
            + self.theta
            + self.funding
            + self.fees
            + self.residual
        )


PNL_COMPONENTS: tuple[str, ...] = (
    "delta",
    "gamma",
    "vega",
    "theta",
    "funding",
    "fees",
    "residual",
)


class SmileQuote(_Frozen):
    """Market implied vols at one strike (decimals); any of them may be missing."""

    strike: float
    bid_iv: float | None = None
    ask_iv: float | None = None
    mark_iv: float | None = None


class SmileFit(_Frozen):
    """The fitted smile of one expiry, on a strike grid, with the quotes it was fitted to."""

    underlying: str
    expiry: str
    forward: float = Field(description="Forward price, USD.")
    t_years: float = Field(description="Time to expiry, years (ACT/365).")
    strikes: tuple[float, ...] = Field(description="Strike grid of the fitted curve, USD.")
    fitted_iv: tuple[float, ...] = Field(description="Fitted vol on `strikes`, decimal.")
    quotes: tuple[SmileQuote, ...] = ()
    model: str = Field(default="", description="e.g. 'svi'.")


class VenueStatus(_Frozen):
    """Connection and data freshness of one venue."""

    venue: str
    connected: bool
    latency_ms: float | None = Field(default=None, description="Round trip, ms.")
    staleness_s: float | None = Field(default=None, description="Age of the newest data, s.")
    staleness_limit_s: float | None = Field(default=None, description="Hedging pauses above.")
    message: str = ""


class RiskLimit(_Frozen):
    """A risk limit and how much of it is used."""

    name: str
    used: float
    limit: float = Field(gt=0)
    unit: str = ""

    _derived: ClassVar[tuple[str, ...]] = ("utilisation",)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def utilisation(self) -> float:
        """``|used| / limit`` (1.0 = at the limit)."""
        return abs(self.used) / self.limit


class DashboardUpdate(_Frozen):
    """What the engine publishes at each step: the current state and the new hedges."""

    ts_ns: int
    mode: EngineMode = EngineMode.RUNNING
    underlyings: tuple[UnderlyingRisk, ...] = ()
    pnl: PnlAttribution | None = None
    smiles: tuple[SmileFit, ...] = ()
    venues: tuple[VenueStatus, ...] = ()
    limits: tuple[RiskLimit, ...] = ()
    new_hedges: tuple[HedgeRecord, ...] = Field(
        default=(), description="Hedges since the previous update (appended to the log)."
    )
    message: str = Field(default="", description="Status line, e.g. why hedging paused.")


class DeltaSeries(_Frozen):
    """Net delta of one underlying through time (columns of equal length)."""

    underlying: str
    ts_ns: tuple[int, ...]
    delta_coin: tuple[float, ...]
    band_lower_coin: tuple[float | None, ...]
    band_upper_coin: tuple[float | None, ...]


class PnlSeries(_Frozen):
    """Cumulative PnL components through time, USD (columns of equal length)."""

    ts_ns: tuple[int, ...] = ()
    delta: tuple[float, ...] = ()
    gamma: tuple[float, ...] = ()
    vega: tuple[float, ...] = ()
    theta: tuple[float, ...] = ()
    funding: tuple[float, ...] = ()
    fees: tuple[float, ...] = ()
    residual: tuple[float, ...] = ()


class DashboardSnapshot(_Frozen):
    """Everything the page shows: the latest update plus the bounded histories."""

    seq: int = Field(description="Number of updates published so far.")
    ts_ns: int
    mode: EngineMode
    message: str = ""
    underlyings: tuple[UnderlyingRisk, ...] = ()
    delta_history: tuple[DeltaSeries, ...] = ()
    hedges: tuple[HedgeRecord, ...] = Field(default=(), description="Hedge log, oldest first.")
    pnl: PnlAttribution | None = Field(default=None, description="None: none published.")
    pnl_history: PnlSeries = PnlSeries()
    smiles: tuple[SmileFit, ...] = ()
    venues: tuple[VenueStatus, ...] = ()
    limits: tuple[RiskLimit, ...] = ()


class DashboardDiff(DashboardSnapshot):
    """A websocket message after the first: the latest state, and the history entries
    published after ``base_seq`` only (append them, then keep the newest ``max_points``
    points per series and ``max_hedges`` hedges)."""

    base_seq: int = Field(description="The `seq` of the message this one follows.")
    max_points: int
    max_hedges: int


class GreeksResponse(_Frozen):
    """``GET /api/greeks``: net Greeks per underlying and delta through time."""

    seq: int
    ts_ns: int
    underlyings: tuple[UnderlyingRisk, ...]
    delta_history: tuple[DeltaSeries, ...]


class HedgesResponse(_Frozen):
    """``GET /api/hedges``: the hedge log, oldest first."""

    seq: int
    ts_ns: int
    hedges: tuple[HedgeRecord, ...]


class PnlResponse(_Frozen):
    """``GET /api/pnl``: PnL attribution now and through time."""

    seq: int
    ts_ns: int
    pnl: PnlAttribution | None
    history: PnlSeries


class SmilesResponse(_Frozen):
    """``GET /api/smiles``: the current smile fits with their quotes."""

    seq: int
    ts_ns: int
    smiles: tuple[SmileFit, ...]


class MetaResponse(_Frozen):
    """``GET /api/meta``: what the page may offer; never holds a secret."""

    controls_enabled: bool = Field(description="Whether pause/resume/kill are wired.")
    max_push_hz: float = Field(description="Most websocket updates per second.")
    source: str = Field(description="'live' (engine) or 'journal' (audit).")


class KillRequest(_Frozen):
    """Body of ``POST /api/control/kill``."""

    mode: KillMode = KillMode.FREEZE


class ControlResponse(_Frozen):
    """Answer to an accepted control request."""

    accepted: bool
    action: str
    mode: KillMode | None = None


__all__ = [
    "PNL_COMPONENTS",
    "ControlResponse",
    "DashboardDiff",
    "DashboardSnapshot",
    "DashboardUpdate",
    "DeltaSeries",
    "EngineMode",
    "ExpiryVega",
    "GreeksResponse",
    "HedgeRecord",
    "HedgesResponse",
    "KillMode",
    "KillRequest",
    "MetaResponse",
    "PnlAttribution",
    "PnlResponse",
    "PnlSeries",
    "RiskLimit",
    "SmileFit",
    "SmileQuote",
    "SmilesResponse",
    "UnderlyingRisk",
    "VenueStatus",
]

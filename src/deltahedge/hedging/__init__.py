"""Hedging policies (pure ``decide``), band formulas, vol forecasts, hedge-instrument
choice and the delta-gamma-vega overlay."""

from deltahedge.hedging.bands import (
    leland_vol_factor,
    whalley_wilmott_half_width,
    zakamouline_half_width,
    zakamouline_vol_factor,
)
from deltahedge.hedging.choice import HedgeCost, HedgeVenue, choose_hedge, hedge_cost
from deltahedge.hedging.overlay import OverlayLimits, OverlayPlan, overlay
from deltahedge.hedging.policies import (
    POLICIES,
    FixedInterval,
    FixedThreshold,
    GammaWeighted,
    Hysteresis,
    Leland,
    Policy,
    TimeOrThreshold,
    VolAdaptive,
    WhalleyWilmott,
    Zakamouline,
    make_policy,
)
from deltahedge.hedging.state import HedgeState, Jitter
from deltahedge.hedging.volatility import ewma_vol, garch_forecast

__all__ = [
    "POLICIES",
    "FixedInterval",
    "FixedThreshold",
    "GammaWeighted",
    "HedgeCost",
    "HedgeState",
    "HedgeVenue",
    "Hysteresis",
    "Jitter",
    "Leland",
    "OverlayLimits",
    "OverlayPlan",
    "Policy",
    "TimeOrThreshold",
    "VolAdaptive",
    "WhalleyWilmott",
    "Zakamouline",
    "choose_hedge",
    "ewma_vol",
    "garch_forecast",
    "hedge_cost",
    "leland_vol_factor",
    "make_policy",
    "overlay",
    "whalley_wilmott_half_width",
    "zakamouline_half_width",
    "zakamouline_vol_factor",
]

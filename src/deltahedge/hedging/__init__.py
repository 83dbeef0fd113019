"""Hedging policies (pure ``decide``), band formulas, vol forecasts, hedge-instrument
choice and the delta-gamma-vega overlay."""

from deltahedge.hedging.bands import (
    leland_vol_factor,
    whalley_wilmott_half_width,
    zakamouline_half_width,
    zakamouline_vol_factor,
)
from deltahedge.hedging.policies import (
    POLICIES,
    FixedInterval,
    FixedThreshold,
    GammaWeighted,
    HedgeState,
    Hysteresis,
    Jitter,
    Leland,
    Policy,
    TimeOrThreshold,
    VolAdaptive,
    WhalleyWilmott,
    Zakamouline,
    make_policy,
)

__all__ = [
    "POLICIES",
    "FixedInterval",
    "FixedThreshold",
    "GammaWeighted",
    "HedgeState",
    "Hysteresis",
    "Jitter",
    "Leland",
    "Policy",
    "TimeOrThreshold",
    "VolAdaptive",
    "WhalleyWilmott",
    "Zakamouline",
    "leland_vol_factor",
    "make_policy",
    "whalley_wilmott_half_width",
    "zakamouline_half_width",
    "zakamouline_vol_factor",
]

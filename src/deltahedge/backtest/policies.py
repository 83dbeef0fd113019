"""Hedging policies encoded as ``(policy_id, params)`` for the compiled simulator.

Each policy looks at the book's net delta ``d`` (coin, options plus hedge) at a decision
step and returns the net delta to trade to, or no trade. The compiled decision
(``decide_kernel``) and its readable twin (``decide_reference``) implement the same rules:

===================  ========================  =============================================
policy               params                    rule
===================  ========================  =============================================
FIXED_INTERVAL       [every]                   every ``every`` decision steps: to 0
FIXED_THRESHOLD      [band]                    ``|d| > band``: to 0
TIME_OR_THRESHOLD    [every, band]             either trigger: to 0
HYSTERESIS           [outer, inner]            ``|d| > outer``: to ``sign(d) inner``
WHALLEY_WILMOTT      [risk_aversion, k]        ``|d| > H``: to ``sign(d) H``,
                                               ``H = (3 k F Gamma^2 / (2 lambda))^(1/3)``
                                               (Whalley and Wilmott 1997, r = 0)
VOL_ADAPTIVE         [band, halflife, sig_ref, ``|d| > band (sig_ref/sig_hat)^elast``: to 0;
                      elasticity]              ``sig_hat`` an EWMA of realised vol
LELAND               [every, k]                FIXED_INTERVAL with deltas at Leland's vol
                                               ``sig sqrt(1 +- sqrt(2/pi) k/(sig sqrt dt))``
                                               (Leland 1985; ``k`` round-trip cost; + for
                                               short legs, - for long legs)
===================  ========================  =============================================

``band``, ``outer``, ``inner`` are in coin; ``every`` in decision steps, ``halflife`` in path steps;
``risk_aversion`` per USD; ``k`` a fraction of notional.

These mirror the pure-Python policies of ``deltahedge.hedging`` (fixed interval, fixed
threshold, time-or-threshold, hysteresis, Whalley-Wilmott band, vol-adaptive band,
Leland delta); see ``POLICY_MAP`` for the mapping. The parity test against them lands
when that package exists on the ``portfolio`` branch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numba as nb
import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.core.errors import InvalidInput

__all__ = [
    "NO_TRADE",
    "POLICY_MAP",
    "Policy",
    "PolicyKind",
    "decide_kernel",
    "decide_reference",
    "leland_vol",
]


class PolicyKind(IntEnum):
    """Policy ids read by the compiled kernels."""

    FIXED_INTERVAL = 0
    FIXED_THRESHOLD = 1
    TIME_OR_THRESHOLD = 2
    HYSTERESIS = 3
    WHALLEY_WILMOTT = 4
    VOL_ADAPTIVE = 5
    LELAND = 6


_N_PARAMS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 2, 5: 4, 6: 2}

#: Policy kind -> the class name expected in ``deltahedge.hedging``.
POLICY_MAP: dict[PolicyKind, str] = {
    PolicyKind.FIXED_INTERVAL: "FixedIntervalPolicy",
    PolicyKind.FIXED_THRESHOLD: "FixedThresholdPolicy",
    PolicyKind.TIME_OR_THRESHOLD: "TimeOrThresholdPolicy",
    PolicyKind.HYSTERESIS: "HysteresisPolicy",
    PolicyKind.WHALLEY_WILMOTT: "WhalleyWilmottPolicy",
    PolicyKind.VOL_ADAPTIVE: "VolAdaptivePolicy",
    PolicyKind.LELAND: "LelandPolicy",
}

#: Returned by the decision functions when the policy does not trade.
NO_TRADE = math.inf


@dataclass(frozen=True)
class Policy:
    """A policy and its parameters (see the module table for units)."""

    kind: PolicyKind
    params: tuple[float, ...]

    def __post_init__(self) -> None:
        need = _N_PARAMS[int(self.kind)]
        if len(self.params) != need:
            raise InvalidInput(
                f"{self.kind.name} takes {need} parameter(s), got {len(self.params)}: {self.params}"
            )
        if any(not math.isfinite(p) or p < 0 for p in self.params):
            raise InvalidInput(
                f"{self.kind.name} parameters must be finite and >= 0: {self.params}"
            )
        if self.kind in (
            PolicyKind.FIXED_INTERVAL,
            PolicyKind.TIME_OR_THRESHOLD,
            PolicyKind.LELAND,
        ):
            if self.params[0] < 1:
                raise InvalidInput(f"{self.kind.name} interval {self.params[0]} must be >= 1 step")
        if self.kind == PolicyKind.HYSTERESIS and self.params[1] > self.params[0]:
            raise InvalidInput(
                f"hysteresis inner band {self.params[1]} exceeds outer {self.params[0]}"
            )
        if self.kind == PolicyKind.WHALLEY_WILMOTT and self.params[0] <= 0:
            raise InvalidInput("Whalley-Wilmott risk aversion must be > 0")

    def as_array(self) -> FloatArray:
        """The parameters as the float64 array the kernel reads (padded to length 4)."""
        out = np.zeros(4)
        out[: len(self.params)] = self.params
        return out

    @property
    def label(self) -> str:
        """Short name with parameters, e.g. ``FIXED_THRESHOLD(0.05)``."""
        return f"{self.kind.name}({', '.join(f'{p:g}' for p in self.params)})"


def leland_vol(sigma: float, k: float, dt: float, long: bool = False) -> float:
    """Leland (1985) adjusted vol ``sigma sqrt(1 +- sqrt(2/pi) k / (sigma sqrt(dt)))``.

    ``k`` is the round-trip proportional cost, ``dt`` the rebalancing interval in years;
    ``+`` for a short option (the hedger pays the costs), ``-`` for a long one (floored at 0).
    """
    if sigma <= 0 or dt <= 0:
        raise InvalidInput(f"sigma={sigma} and dt={dt} must be > 0")
    le = math.sqrt(2.0 / math.pi) * k / (sigma * math.sqrt(dt))
    return sigma * math.sqrt(max(1.0 - le if long else 1.0 + le, 0.0))


@nb.njit(cache=True, inline="always")
def decide_kernel(
    pid: int, pp: np.ndarray, d: float, gamma: float, f: float, step: int, sig_hat: float
) -> float:
    """Target net delta (coin) after the trade, or ``inf`` for no trade.

    ``d`` net delta (coin), ``gamma`` book gamma (coin per USD), ``f`` price (USD),
    ``step`` the decision-step counter since the start, ``sig_hat`` realised vol (per year).
    """
    ad = abs(d)
    sgn = 1.0 if d > 0.0 else -1.0
    if pid == 0 or pid == 6:
        every = int(pp[0])
        return 0.0 if step % every == 0 else math.inf
    if pid == 1:
        return 0.0 if ad > pp[0] else math.inf
    if pid == 2:
        every = int(pp[0])
        return 0.0 if (step % every == 0 or ad > pp[1]) else math.inf
    if pid == 3:
        return sgn * pp[1] if ad > pp[0] else math.inf
    if pid == 4:
        h = (1.5 * pp[1] * f * gamma * gamma / pp[0]) ** (1.0 / 3.0)
        return sgn * h if ad > h else math.inf
    if pid == 5:
        band = pp[0] * (pp[2] / sig_hat) ** pp[3] if sig_hat > 0.0 else pp[0]
        return 0.0 if ad > band else math.inf
    return math.inf


def decide_reference(
    policy: Policy, d: float, gamma: float, f: float, step: int, sig_hat: float
) -> float:
    """Readable twin of ``decide_kernel`` (same inputs and output)."""
    k = policy.kind
    p = policy.params
    if k in (PolicyKind.FIXED_INTERVAL, PolicyKind.LELAND):
        return 0.0 if step % int(p[0]) == 0 else NO_TRADE
    if k == PolicyKind.FIXED_THRESHOLD:
        return 0.0 if abs(d) > p[0] else NO_TRADE
    if k == PolicyKind.TIME_OR_THRESHOLD:
        return 0.0 if step % int(p[0]) == 0 or abs(d) > p[1] else NO_TRADE
    if k == PolicyKind.HYSTERESIS:
        return math.copysign(p[1], d) if abs(d) > p[0] else NO_TRADE
    if k == PolicyKind.WHALLEY_WILMOTT:
        lam, cost = p
        h = (3.0 * cost * f * gamma**2 / (2.0 * lam)) ** (1.0 / 3.0)
        return math.copysign(h, d) if abs(d) > h else NO_TRADE
    band, _halflife, sig_ref, elasticity = p
    band = band * (sig_ref / sig_hat) ** elasticity if sig_hat > 0 else band
    return 0.0 if abs(d) > band else NO_TRADE

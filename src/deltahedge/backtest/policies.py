"""Hedging policies encoded as ``(policy_id, params)`` for the compiled simulator.

Each policy looks at the book's net delta ``d`` (coin, options plus hedge) at a decision
step and returns ``(d_eff, target, band)``: the delta it measures (``d``, or ``d`` moved
to a modified vol), the ``d_eff`` to trade to (``inf``: no trade) and the band the result
must stay in (``inf``: none). The compiled decision (``decide_kernel``) and its readable
twin (``decide_reference``) implement the same rules:

===================  ========================  =============================================
policy               params                    rule
===================  ========================  =============================================
FIXED_INTERVAL       [every]                   when due (every ``every`` decisions): to 0
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
ZAKAMOULINE          [risk_aversion, k,        ``d_m = d + vanna_sigma (f - 1)``, ``f`` the
                      sigma, tau]              ratio of Zakamouline's modified vol to
                                               ``sigma``; ``|d_m| > H0 + H1``: to
                                               ``sign(d_m) (H0 + H1)`` (Zakamouline 2006;
                                               ``tau`` 0: the book's vega-weighted expiry)
GAMMA_WEIGHTED       [multiple, horizon_s,     ``|d| > multiple |Gamma| F sigma
                      sigma]                   sqrt(horizon)``: to 0
===================  ========================  =============================================

``band``, ``outer``, ``inner`` are in coin; ``every`` in decision steps, ``halflife`` in path
steps; ``risk_aversion`` per USD; ``k`` a fraction of notional; ``sigma`` an annual vol
(decimal); ``tau`` years; ``horizon_s`` seconds.

**Jitter** (``Policy.jitter = (timing, size)``, fractions in [0, 1)), as
``deltahedge.hedging.Jitter``: after each hedge a draw ``u`` in [-1, 1] stretches the next
interval of the interval policies to ``every (1 + timing u)`` decisions since that hedge;
each hedge is scaled by ``1 + size u'`` (a fresh draw) and then clipped back into the
policy's band. The draws come from a per-path stream seeded from the simulation's seed,
so a jittered run is reproducible. Without timing jitter an interval policy is due at
decision steps ``0, every, 2 every, ...``.

``POLICY_MAP`` names the pure-Python policy of ``deltahedge.hedging`` (its
``hedging.POLICIES`` key) that each kind mirrors; ``tests/backtest/test_policy_parity.py``
holds the kernel's decisions to them. Leland differs by design: the simulator recomputes
each leg's Black-76 delta at Leland's vol (with other delta models it shifts the delta by
the leg's vanna, as ``hedging.Leland`` does for the book). The kernel has no vol forecast:
Zakamouline and gamma-weighted take their ``sigma`` as a parameter (``hedging`` reads
``HedgeState.vol_forecast`` when its ``sigma`` is 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numba as nb
import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.core.errors import InvalidInput
from deltahedge.hedging import bands

__all__ = [
    "INTERVAL_POLICIES",
    "NO_TRADE",
    "POLICY_MAP",
    "Policy",
    "PolicyKind",
    "decide_kernel",
    "decide_reference",
    "jitter_trade",
    "leland_vol",
    "zakamouline_bands",
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
    ZAKAMOULINE = 7
    GAMMA_WEIGHTED = 8


_N_PARAMS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 2, 5: 4, 6: 2, 7: 4, 8: 3}

#: The policies with a clock: ``params[0]`` is their interval in decision steps.
INTERVAL_POLICIES = (PolicyKind.FIXED_INTERVAL, PolicyKind.TIME_OR_THRESHOLD, PolicyKind.LELAND)

#: Policy kind -> the name of the policy it mirrors in ``deltahedge.hedging.POLICIES``.
POLICY_MAP: dict[PolicyKind, str] = {
    PolicyKind.FIXED_INTERVAL: "fixed_interval",
    PolicyKind.FIXED_THRESHOLD: "fixed_threshold",
    PolicyKind.TIME_OR_THRESHOLD: "time_or_threshold",
    PolicyKind.HYSTERESIS: "hysteresis",
    PolicyKind.WHALLEY_WILMOTT: "whalley_wilmott",
    PolicyKind.VOL_ADAPTIVE: "vol_adaptive",
    PolicyKind.LELAND: "leland",
    PolicyKind.ZAKAMOULINE: "zakamouline",
    PolicyKind.GAMMA_WEIGHTED: "gamma_weighted",
}

#: Returned as the target by the decision functions when the policy does not trade.
NO_TRADE = math.inf

_SECONDS_PER_YEAR = 365.0 * 86_400.0


@dataclass(frozen=True)
class Policy:
    """A policy, its parameters (see the module table for units) and its jitter.

    ``jitter`` is ``(timing, size)``, fractions in [0, 1) (module docstring).
    """

    kind: PolicyKind
    params: tuple[float, ...]
    jitter: tuple[float, float] = (0.0, 0.0)

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
        if self.kind in INTERVAL_POLICIES and self.params[0] < 1:
            raise InvalidInput(f"{self.kind.name} interval {self.params[0]} must be >= 1 step")
        if self.kind == PolicyKind.HYSTERESIS and self.params[1] > self.params[0]:
            raise InvalidInput(
                f"hysteresis inner band {self.params[1]} exceeds outer {self.params[0]}"
            )
        if self.kind in (PolicyKind.WHALLEY_WILMOTT, PolicyKind.ZAKAMOULINE):
            if self.params[0] <= 0:
                raise InvalidInput(f"{self.kind.name} risk aversion must be > 0, got {self.params}")
        if self.kind == PolicyKind.ZAKAMOULINE and (self.params[1] <= 0 or self.params[2] <= 0):
            raise InvalidInput(
                f"ZAKAMOULINE cost k and sigma must be > 0 (risk_aversion, k, sigma, tau): "
                f"{self.params}"
            )
        if self.kind == PolicyKind.GAMMA_WEIGHTED and min(self.params) <= 0:
            raise InvalidInput(
                f"GAMMA_WEIGHTED multiple, horizon_s and sigma must be > 0: {self.params}"
            )
        if len(self.jitter) != 2 or not all(0.0 <= j < 1.0 for j in self.jitter):
            raise InvalidInput(
                f"jitter (timing, size) must be two fractions in [0, 1): {self.jitter}"
            )

    def as_array(self) -> FloatArray:
        """The parameters as the float64 array the kernel reads (padded to length 4)."""
        out = np.zeros(4)
        out[: len(self.params)] = self.params
        return out

    @property
    def name(self) -> str:
        """The kind's name, with ``+JITTER`` when jittered (a separate frontier)."""
        return self.kind.name + ("+JITTER" if any(self.jitter) else "")

    @property
    def label(self) -> str:
        """Short name with parameters, e.g. ``FIXED_THRESHOLD(0.05)``."""
        jit = f"; jitter {self.jitter[0]:g}/{self.jitter[1]:g}" if any(self.jitter) else ""
        return f"{self.kind.name}({', '.join(f'{p:g}' for p in self.params)}{jit})"


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
def zakamouline_bands(
    gamma: float, f: float, sigma: float, tau: float, k: float, lam: float
) -> tuple[float, float]:
    """(vol factor ``sigma_m / sigma``, half-width ``H0 + H1``) of Zakamouline (2006), r = 0.

    The formulas of ``deltahedge.hedging.bands.zakamouline_vol_factor`` and
    ``zakamouline_half_width``: ``K = -4.76 k^0.78 / tau^0.02 (1/sigma)^0.25
    (lam F^2 |Gamma|)^0.15``, ``sigma_m^2 = sigma^2 (1 +- K)`` (+ long gamma),
    ``H0 = k / (lam F sigma^2 tau)``, ``H1 = 1.12 k^0.31 tau^0.05 (1/sigma)^0.25
    (|Gamma| / lam)^0.5``. ``gamma`` coin per USD, ``f`` USD, ``lam`` per USD.
    """
    ag = abs(gamma)
    kk = -4.76 * k**0.78 / tau**0.02 * (1.0 / sigma) ** 0.25 * (lam * f * f * ag) ** 0.15
    m = 1.0 + kk if gamma >= 0.0 else 1.0 - kk
    factor = math.sqrt(m) if m > 0.0 else 0.0
    h0 = k / (lam * f * sigma * sigma * tau)
    h1 = 1.12 * k**0.31 * tau**0.05 * (1.0 / sigma) ** 0.25 * math.sqrt(ag / lam)
    return factor, h0 + h1


@nb.njit(cache=True, inline="always")
def decide_kernel(
    pid: int,
    pp: np.ndarray,
    d: float,
    gamma: float,
    f: float,
    due: bool,
    sig_hat: float,
    vanna_sigma: float,
    tau: float,
) -> tuple[float, float, float]:
    """``(d_eff, target, band)``: the measured delta, where to take it (``inf``: no trade), band.

    ``d`` net delta (coin), ``gamma`` book gamma (coin per USD), ``f`` price (USD),
    ``due`` whether an interval policy's interval has elapsed, ``sig_hat`` realised vol
    (per year), ``vanna_sigma`` the book's ``sigma d(delta)/d(sigma)`` (coin), ``tau`` its
    vega-weighted time to expiry (years). All in coin except as said.
    """
    ad = abs(d)
    sgn = 1.0 if d > 0.0 else -1.0
    inf = math.inf
    if pid == 0 or pid == 6:
        return d, (0.0 if due else inf), inf
    if pid == 1:
        return d, (0.0 if ad > pp[0] else inf), pp[0]
    if pid == 2:
        return d, (0.0 if (due or ad > pp[1]) else inf), pp[1]
    if pid == 3:
        return d, (sgn * pp[1] if ad > pp[0] else inf), pp[1]
    if pid == 4:
        h = (1.5 * pp[1] * f * gamma * gamma / pp[0]) ** (1.0 / 3.0)
        return d, (sgn * h if ad > h else inf), h
    if pid == 5:
        band = pp[0] * (pp[2] / sig_hat) ** pp[3] if sig_hat > 0.0 else pp[0]
        return d, (0.0 if ad > band else inf), band
    if pid == 7:
        t = pp[3] if pp[3] > 0.0 else tau
        factor, h = zakamouline_bands(gamma, f, pp[2], t, pp[1], pp[0])
        dm = d + vanna_sigma * (factor - 1.0)
        sm = 1.0 if dm > 0.0 else -1.0
        return dm, (sm * h if abs(dm) > h else inf), h
    if pid == 8:
        band = pp[0] * abs(gamma) * f * pp[2] * math.sqrt(pp[1] / _SECONDS_PER_YEAR)
        return d, (0.0 if ad > band else inf), band
    return d, inf, inf


@nb.njit(cache=True, inline="always")
def jitter_trade(d_eff: float, target: float, band: float, size: float, u: float) -> float:
    """The trade ``target - d_eff`` scaled by ``1 + size u``, clipped so ``|d_eff + trade| <= band``."""
    q = (target - d_eff) * (1.0 + size * u)
    after = d_eff + q
    if after > band:
        after = band
    elif after < -band:
        after = -band
    return after - d_eff


def decide_reference(
    policy: Policy,
    d: float,
    gamma: float,
    f: float,
    due: bool,
    sig_hat: float,
    vanna_sigma: float = 0.0,
    tau: float = 0.0,
) -> tuple[float, float, float]:
    """Readable twin of ``decide_kernel`` (same inputs and output)."""
    k = policy.kind
    p = policy.params
    inf = NO_TRADE
    if k in (PolicyKind.FIXED_INTERVAL, PolicyKind.LELAND):
        return d, (0.0 if due else inf), inf
    if k == PolicyKind.FIXED_THRESHOLD:
        return d, (0.0 if abs(d) > p[0] else inf), p[0]
    if k == PolicyKind.TIME_OR_THRESHOLD:
        return d, (0.0 if due or abs(d) > p[1] else inf), p[1]
    if k == PolicyKind.HYSTERESIS:
        return d, (math.copysign(p[1], d) if abs(d) > p[0] else inf), p[1]
    if k == PolicyKind.WHALLEY_WILMOTT:
        lam, cost = p
        h = (3.0 * cost * f * gamma**2 / (2.0 * lam)) ** (1.0 / 3.0)
        return d, (math.copysign(h, d) if abs(d) > h else inf), h
    if k == PolicyKind.ZAKAMOULINE:
        lam, cost, sigma, tau_p = p
        t = tau_p if tau_p > 0 else tau
        factor = bands.zakamouline_vol_factor(gamma, f, sigma, t, cost, lam)
        h = bands.zakamouline_half_width(gamma, f, sigma, t, cost, lam)
        dm = d + vanna_sigma * (factor - 1.0)
        return dm, (math.copysign(h, dm) if abs(dm) > h else inf), h
    if k == PolicyKind.GAMMA_WEIGHTED:
        multiple, horizon_s, sigma = p
        band = multiple * abs(gamma) * f * sigma * math.sqrt(horizon_s / _SECONDS_PER_YEAR)
        return d, (0.0 if abs(d) > band else inf), band
    band, _halflife, sig_ref, elasticity = p
    band = band * (sig_ref / sig_hat) ** elasticity if sig_hat > 0 else band
    return d, (0.0 if abs(d) > band else inf), band

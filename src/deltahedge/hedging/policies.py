"""Hedging policies: pure ``decide(risk, market, state, rng=None) -> HedgeIntent | None``.

Every policy is a frozen dataclass (validated once, at construction; ``decide`` does no
validation so it stays within a few microseconds). The caller owns the ``HedgeState``:
after acting on an intent it stores ``state.after_hedge(intent, rng)``.

Common fields (``_Policy``):

- ``underlying``: the coin whose ``BookRisk.delta_coin`` is hedged.
- ``instrument``: the hedge contract; when set, the intent carries ``quantity`` in its
  contracts, rounded to ``lot_size`` (never below ``min_size``) so that the delta left
  after the hedge is inside the policy's band whenever the band is wider than one lot.
- ``jitter``: randomised timing (interval scaled by ``1 + timing * u``, ``u`` drawn after
  each hedge) and size (hedge scaled by ``1 + size * u``, then clipped back into the band),
  so others cannot front-run a predictable hedger; draws come from the ``rng`` passed in.
- ``allow_slicing``, ``max_slippage_bps``: copied into the intent for the router.

Policies (``POLICIES``; "band" = the |delta| the policy tolerates, coin):

=====================  ===================================================================
``fixed_interval``     every ``interval_s``, hedge to 0 if ``|delta| > min_delta``
                       (Hummingbot's ``hedge`` strategy)
``fixed_threshold``    ``|delta| > threshold`` -> hedge to 0 (the Deribit hedger bots)
``time_or_threshold``  either of the two above (Lyra v1's pool hedger)
``hysteresis``         ``|delta| > outer`` -> hedge back to the ``inner`` band (stablesats)
``whalley_wilmott``    band ``(3 c Gamma^2 S / (2 lambda))^(1/3)``, hedge to its edge
``zakamouline``        band ``H0 + H1`` around the delta at Zakamouline's modified vol
``leland``             every ``interval_s``, hedge to the delta at Leland's adjusted vol
``vol_adaptive``       band ``base_band (sigma_ref / sigma_forecast)^elasticity``
``gamma_weighted``     band ``multiple |Gamma| S sigma sqrt(horizon)``: the 1-sd move of
                       delta over the horizon
=====================  ===================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

import numpy as np

from deltahedge.core.errors import ConfigError, InvalidInput
from deltahedge.core.events import HedgeIntent
from deltahedge.core.frozen import builder
from deltahedge.core.units import NS_PER_SECOND, SECONDS_PER_YEAR
from deltahedge.hedging import bands
from deltahedge.hedging.state import HedgeState, Jitter
from deltahedge.instruments.parse import parse_hedge_instrument
from deltahedge.instruments.specs import Future, Perpetual, Spot
from deltahedge.marketdata.state import MarketState
from deltahedge.portfolio.book import BookRisk

_YEAR_NS = NS_PER_SECOND * SECONDS_PER_YEAR
#: HedgeIntent without the frozen-dataclass __init__: one is built on every breaching tick
_new_intent = builder(HedgeIntent)


class _Plan(NamedTuple):  # a tuple: made on every breaching tick, at a fifth of a dataclass's cost
    delta_eff: float  # the delta the policy measures (maybe at a modified vol), coin
    target: float  # where it wants it, coin
    band: float  # |delta_eff| the result must not exceed; inf when the policy has no band
    why: str
    inputs: dict[str, float]


def _positive(cls: str, **values: float) -> None:
    for k, v in values.items():
        if not (v > 0 and math.isfinite(v)):
            raise ConfigError(f"{cls}.{k} must be a finite number > 0, got {v!r}")


def _nonneg(cls: str, **values: float) -> None:
    for k, v in values.items():
        if not (v >= 0 and math.isfinite(v)):
            raise ConfigError(f"{cls}.{k} must be a finite number >= 0, got {v!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Policy:
    name: ClassVar[str] = ""
    underlying: str = "BTC"
    instrument: Perpetual | Future | Spot | None = None
    jitter: Jitter | None = None
    allow_slicing: bool = False
    max_slippage_bps: float | None = None

    def _plan(
        self, risk: BookRisk, u: int, delta: float, market: MarketState, state: HedgeState
    ) -> _Plan | None:
        raise NotImplementedError

    def _interval_due(self, interval_s: float, market: MarketState, state: HedgeState) -> bool:
        if state.last_hedge_ns == 0:
            return True
        k = 1.0 + (self.jitter.timing * state.jitter_u if self.jitter else 0.0)
        return market.ts_ns - state.last_hedge_ns >= interval_s * k * NS_PER_SECOND

    def _vol(self, sigma: float, state: HedgeState) -> float:
        vol = sigma if sigma > 0 else state.vol_forecast
        if not vol > 0:
            raise InvalidInput(
                f"policy {self.name!r} needs a vol: set its sigma or the state's vol_forecast"
            )
        return vol

    def decide(
        self,
        risk: BookRisk,
        market: MarketState,
        state: HedgeState,
        rng: np.random.Generator | None = None,
    ) -> HedgeIntent | None:
        """Return the hedge to do now, or None.

        Parameters
        ----------
        risk : BookRisk
            The book's risk now (``delta_coin`` of ``underlying`` is hedged).
        market : MarketState
            Prices now; the hedge instrument's mark (or the index) sizes the contracts.
        state : HedgeState
            What the caller remembers (last hedge time, vol forecast, jitter draw).
        rng : numpy Generator, optional
            Needed only when ``jitter.size > 0``.

        Returns
        -------
        HedgeIntent or None
            ``delta_coin`` to add; ``inputs`` holds the numbers used.
        """
        try:
            u = risk.underlyings.index(self.underlying)
        except ValueError:
            raise InvalidInput(
                f"{self.name}: underlying {self.underlying!r} not in the book {risk.underlyings}"
            ) from None
        delta = float(risk.delta_coin[u])
        plan = self._plan(risk, u, delta, market, state)
        if plan is None:
            return None
        d0, band = plan.delta_eff, plan.band
        h = plan.target - d0
        if self.jitter is not None and self.jitter.size > 0:
            if rng is None:
                raise InvalidInput(f"{self.name}: size jitter is on; pass rng=np.random.Generator")
            h *= 1.0 + self.jitter.size * float(rng.uniform(-1.0, 1.0))
            after = min(max(d0 + h, -band), band)
            h = after - d0
        qty: float | None = None
        symbol: str | None = None
        ins = self.instrument
        if ins is not None:
            spot = float(risk.index[u])
            st = market.underlyings[self.underlying]
            price = st.marks.get((ins.venue, ins.symbol), spot)
            per = (ins.contract_size if ins.is_inverse else ins.contract_size * price) / spot
            q = _round_lots(h / per, d0, per, plan.target, band, ins.lot_size, ins.min_size)
            if q == 0.0:
                return None
            qty, symbol, h = q, ins.symbol, q * per
        elif h == 0.0:
            return None
        inputs = plan.inputs
        inputs["delta"] = delta
        inputs["delta_eff"] = d0
        inputs["band"] = band
        inputs["target"] = plan.target
        inputs["spot"] = float(risk.index[u])
        return _new_intent(  # HedgeIntent's fields in order (it has no checks to skip)
            f"{self.name}:{self.underlying}:{market.ts_ns}:{state.n_hedges}",  # intent_id
            market.ts_ns,
            self.underlying,
            h,  # delta_coin
            plan.why,  # reason
            self.name,  # policy
            MappingProxyType(inputs),
            symbol,  # instrument
            qty,  # quantity
            self.allow_slicing,
            self.max_slippage_bps,
        )


def _round_lots(
    q_ideal: float, d0: float, per: float, target: float, band: float, lot: float, min_size: float
) -> float:
    """Contracts in whole lots (>= min_size) leaving ``|d0 + q per|`` within ``band`` if it can.

    Of the two lot multiples around ``q_ideal`` (and ``+-min_size``), keep those whose result
    is in the band and take the one closest to ``target``; if none is, the smallest result.
    """
    lo = math.floor(q_ideal / lot + 1e-9) * lot
    cands = [lo, lo + lot]
    if abs(q_ideal) < min_size:
        cands.append(math.copysign(min_size, q_ideal))
    best = 0.0
    best_key = (1, abs(d0), abs(d0 - target))  # doing nothing is a candidate too
    for q in cands:
        q = round(q, 12)
        if q != 0.0 and abs(q) < min_size - 1e-12:
            continue
        after = d0 + q * per
        key = (
            0 if abs(after) <= band + 1e-12 else 1,
            abs(after) if abs(after) > band else 0.0,
            abs(after - target),
        )
        if key < best_key:
            best, best_key = q, key
    return best


def _sign(x: float) -> float:
    return 1.0 if x > 0 else -1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedInterval(_Policy):
    """Every ``interval_s`` seconds, hedge to 0 if ``|delta| > min_delta`` (Hummingbot)."""

    name: ClassVar[str] = "fixed_interval"
    interval_s: float = 60.0
    min_delta: float = 0.0

    def __post_init__(self) -> None:
        _positive(self.name, interval_s=self.interval_s)
        _nonneg(self.name, min_delta=self.min_delta)

    def _plan(
        self, risk: BookRisk, u: int, delta: float, market: MarketState, state: HedgeState
    ) -> _Plan | None:
        if abs(delta) <= self.min_delta or not self._interval_due(self.interval_s, market, state):
            return None
        why = (
            f"interval {self.interval_s:g} s elapsed, |delta| {abs(delta):.4g} > {self.min_delta:g}"
        )
        return _Plan(delta, 0.0, math.inf, why, {"interval_s": self.interval_s})


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedThreshold(_Policy):
    """``|delta| > threshold`` (coin) -> hedge to 0 (the Deribit hedger bots)."""

    name: ClassVar[str] = "fixed_threshold"
    threshold: float = 1.0

    def __post_init__(self) -> None:
        _positive(self.name, threshold=self.threshold)

    def _plan(
        self, risk: BookRisk, u: int, delta: float, market: MarketState, state: HedgeState
    ) -> _Plan | None:
        if abs(delta) <= self.threshold:
            return None
        why = f"|delta| {abs(delta):.4g} > threshold {self.threshold:g} ({self.name})"
        return _Plan(delta, 0.0, self.threshold, why, {})


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeOrThreshold(_Policy):
    """Hedge to 0 when ``|delta| > threshold``, or every ``interval_s`` if ``> min_delta``."""

    name: ClassVar[str] = "time_or_threshold"
    threshold: float = 1.0
    interval_s: float = 3600.0
    min_delta: float = 0.0

    def __post_init__(self) -> None:
        _positive(self.name, threshold=self.threshold, interval_s=self.interval_s)
        _nonneg(self.name, min_delta=self.min_delta)

    def _plan(
        self, risk: BookRisk, u: int, delta: float, market: MarketState, state: HedgeState
    ) -> _Plan | None:
        a = abs(delta)
        if a > self.threshold:
            why = f"|delta| {a:.4g} > threshold {self.threshold:g} ({self.name})"
        elif a > self.min_delta and self._interval_due(self.interval_s, market, state):
            why = f"interval {self.interval_s:g} s elapsed, |delta| {a:.4g} ({self.name})"
        else:
            return None
        return _Plan(delta, 0.0, self.threshold, why, {"interval_s": self.interval_s})


@dataclass(frozen=True, slots=True, kw_only=True)
class Hysteresis(_Policy):
    """``|delta| > outer`` -> hedge back to the edge of the ``inner`` band (stablesats)."""

    name: ClassVar[str] = "hysteresis"
    outer: float = 1.0
    inner: float = 0.5

    def __post_init__(self) -> None:
        _positive(self.name, outer=self.outer)
        _nonneg(self.name, inner=self.inner)
        if not self.inner < self.outer:
            raise ConfigError(f"hysteresis needs inner < outer, got {self.inner} >= {self.outer}")

    def _plan(
        self, risk: BookRisk, u: int, delta: float, market: MarketState, state: HedgeState
    ) -> _Plan | None:
        if abs(delta) <= self.outer:
            return None
        why = f"|delta| {abs(delta):.4g} > outer {self.outer:g}, back to inner {self.inner:g}"
        return _Plan(delta, _sign(delta) * self.inner, self.inner, why, {"outer": self.outer})


@dataclass(frozen=True, slots=True, kw_only=True)
class WhalleyWilmott(_Policy):
    """Whalley-Wilmott band; hedge to its edge (or to 0 with ``to_center``).

    ``cost``: proportional cost of the hedge trade; ``risk_aversion``: 1/USD;
    ``min_band``: floor of the half-width, coin (a book without gamma would else trade
    every tick).
    """

    name: ClassVar[str] = "whalley_wilmott"
    cost: float = 0.0005
    risk_aversion: float = 1e-4
    min_band: float = 0.0
    to_center: bool = False

    def __post_init__(self) -> None:
        _positive(self.name, cost=self.cost, risk_aversion=self.risk_aversion)
        _nonneg(self.name, min_band=self.min_band)

    def _plan(
        self, risk: BookRisk, u: int, delta: float, market: MarketState, state: HedgeState
    ) -> _Plan | None:
        g = float(risk.gamma_coin[u])
        s = float(risk.index[u])
        w = max(
            bands.whalley_wilmott_half_width(g, s, self.cost, self.risk_aversion), self.min_band
        )
        if abs(delta) <= w:
            return None
        why = f"|delta| {abs(delta):.4g} > band {w:.4g} ({self.name})"
        target = 0.0 if self.to_center else _sign(delta) * w
        return _Plan(delta, target, w, why, {"gamma": g, "cost": self.cost})


def _vega_weighted_tau(risk: BookRisk, u: int) -> float:
    """|vega|-weighted years to expiry of underlying ``u`` (1 day if it has no vega)."""
    num = 0.0
    den = 0.0
    ts = risk.ts_ns
    for uu, e, v in zip(
        risk.slot_underlying.tolist(),
        risk.slot_expiry_ns.tolist(),
        risk.slot_vega_usd.tolist(),
        strict=True,
    ):
        if uu == u:
            w = abs(v)
            num += w * (e - ts) / _YEAR_NS
            den += w
    if den <= 0:
        return 1.0 / 365.0
    return max(num / den, 1.0 / 365.0 / 24.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Zakamouline(_Policy):
    """Zakamouline's band ``H0 + H1`` around the delta at the modified vol; hedge to edge.

    ``sigma``: vol (0 = the state's forecast); ``tau_years``: horizon (0 = the book's
    vega-weighted time to expiry). The modified-vol delta is ``delta + vanna_sigma (f - 1)``
    with ``f = sigma_m / sigma`` (first order in the vol change).
    """

    name: ClassVar[str] = "zakamouline"
    cost: float = 0.0005
    risk_aversion: float = 1e-4
    sigma: float = 0.0
    tau_years: float = 0.0
    min_band: float = 0.0

    def __post_init__(self) -> None:
        _positive(self.name, cost=self.cost, risk_aversion=self.risk_aversion)
        _nonneg(self.name, sigma=self.sigma, tau_years=self.tau_years, min_band=self.min_band)

    def _plan(
        self, risk: BookRisk, u: int, delta: float, market: MarketState, state: HedgeState
    ) -> _Plan | None:
        vol = self._vol(self.sigma, state)
        tau = self.tau_years or _vega_weighted_tau(risk, u)
        g = float(risk.gamma_coin[u])
        s = float(risk.index[u])
        f = bands.zakamouline_vol_factor(g, s, vol, tau, self.cost, self.risk_aversion)
        d_m = delta + float(risk.vanna_sigma_coin[u]) * (f - 1.0)
        h = max(
            bands.zakamouline_half_width(g, s, vol, tau, self.cost, self.risk_aversion),
            self.min_band,
        )
        if abs(d_m) <= h:
            return None
        why = f"|modified delta| {abs(d_m):.4g} > band {h:.4g} ({self.name})"
        return _Plan(
            d_m, _sign(d_m) * h, h, why, {"gamma": g, "sigma": vol, "tau": tau, "vol_factor": f}
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Leland(_Policy):
    """Every ``interval_s``, hedge to 0 the delta at Leland's vol (``cost`` round trip)."""

    name: ClassVar[str] = "leland"
    cost: float = 0.001
    interval_s: float = 3600.0
    sigma: float = 0.0
    min_delta: float = 0.0

    def __post_init__(self) -> None:
        _positive(self.name, cost=self.cost, interval_s=self.interval_s)
        _nonneg(self.name, sigma=self.sigma, min_delta=self.min_delta)

    def _plan(
        self, risk: BookRisk, u: int, delta: float, market: MarketState, state: HedgeState
    ) -> _Plan | None:
        if not self._interval_due(self.interval_s, market, state):
            return None
        vol = self._vol(self.sigma, state)
        g = float(risk.gamma_coin[u])
        f = bands.leland_vol_factor(vol, self.cost, self.interval_s / SECONDS_PER_YEAR, g)
        d_l = delta + float(risk.vanna_sigma_coin[u]) * (f - 1.0)
        if abs(d_l) <= self.min_delta:
            return None
        why = f"interval {self.interval_s:g} s, Leland delta {d_l:.4g} (vol x {f:.4f})"
        return _Plan(d_l, 0.0, math.inf, why, {"sigma": vol, "vol_factor": f})


@dataclass(frozen=True, slots=True, kw_only=True)
class VolAdaptive(_Policy):
    """Band ``base_band (sigma_ref / sigma_forecast)^elasticity`` within [min, max]; hedge to 0.

    A higher vol forecast (a volatility cluster coming) narrows the band.
    """

    name: ClassVar[str] = "vol_adaptive"
    base_band: float = 1.0
    sigma_ref: float = 0.5
    elasticity: float = 1.0
    min_band: float = 0.0
    max_band: float = math.inf

    def __post_init__(self) -> None:
        _positive(self.name, base_band=self.base_band, sigma_ref=self.sigma_ref)
        _nonneg(self.name, elasticity=self.elasticity, min_band=self.min_band)
        if not self.min_band <= self.max_band:
            raise ConfigError(f"{self.name}: min_band {self.min_band} > max_band {self.max_band}")

    def _plan(
        self, risk: BookRisk, u: int, delta: float, market: MarketState, state: HedgeState
    ) -> _Plan | None:
        vol = state.vol_forecast if state.vol_forecast > 0 else self.sigma_ref
        band = self.base_band * (self.sigma_ref / vol) ** self.elasticity
        band = min(max(band, self.min_band), self.max_band)
        if abs(delta) <= band:
            return None
        why = f"|delta| {abs(delta):.4g} > band {band:.4g} at vol forecast {vol:.3g}"
        return _Plan(delta, 0.0, band, why, {"vol_forecast": vol})


@dataclass(frozen=True, slots=True, kw_only=True)
class GammaWeighted(_Policy):
    """Band ``multiple |Gamma| S sigma sqrt(horizon)``: the 1-sd delta drift over the horizon.

    ``sigma`` 0 = the state's forecast; the band is clipped to ``[min_band, max_band]``.
    """

    name: ClassVar[str] = "gamma_weighted"
    multiple: float = 1.0
    horizon_s: float = 3600.0
    sigma: float = 0.0
    min_band: float = 0.0
    max_band: float = math.inf

    def __post_init__(self) -> None:
        _positive(self.name, multiple=self.multiple, horizon_s=self.horizon_s)
        _nonneg(self.name, sigma=self.sigma, min_band=self.min_band)
        if not self.min_band <= self.max_band:
            raise ConfigError(f"{self.name}: min_band {self.min_band} > max_band {self.max_band}")

    def _plan(
        self, risk: BookRisk, u: int, delta: float, market: MarketState, state: HedgeState
    ) -> _Plan | None:
        vol = self._vol(self.sigma, state)
        g = float(risk.gamma_coin[u])
        s = float(risk.index[u])
        band = self.multiple * abs(g) * s * vol * math.sqrt(self.horizon_s / SECONDS_PER_YEAR)
        band = min(max(band, self.min_band), self.max_band)
        if abs(delta) <= band:
            return None
        why = f"|delta| {abs(delta):.4g} > gamma band {band:.4g} ({self.name})"
        return _Plan(delta, 0.0, band, why, {"gamma": g, "sigma": vol})


Policy = (
    FixedInterval
    | FixedThreshold
    | TimeOrThreshold
    | Hysteresis
    | WhalleyWilmott
    | Zakamouline
    | Leland
    | VolAdaptive
    | GammaWeighted
)

#: policy name -> class
POLICIES: dict[str, type[_Policy]] = {
    c.name: c
    for c in (
        FixedInterval,
        FixedThreshold,
        TimeOrThreshold,
        Hysteresis,
        WhalleyWilmott,
        Zakamouline,
        Leland,
        VolAdaptive,
        GammaWeighted,
    )
}


def make_policy(name: str, **config: Any) -> _Policy:
    """Build a policy by name (``POLICIES``); unknown names or fields raise ``ConfigError``.

    ``instrument`` may be given as ``"venue:symbol"`` (``"deribit:BTC-PERPETUAL"``) and
    ``jitter`` as a mapping, as they come from a TOML file.
    """
    cls = POLICIES.get(name)
    if cls is None:
        raise ConfigError(f"unknown hedging policy {name!r}; allowed: {sorted(POLICIES)}")
    ins = config.get("instrument")
    if isinstance(ins, str):
        venue, sep, symbol = ins.partition(":")
        if not sep:
            raise ConfigError(
                f"instrument {ins!r} must be 'venue:symbol', e.g. 'deribit:BTC-PERPETUAL'"
            )
        try:
            config["instrument"] = parse_hedge_instrument(symbol, venue)
        except InvalidInput as exc:
            raise ConfigError(f"policy {name!r}: {exc}") from None
    if isinstance(config.get("jitter"), dict):
        config["jitter"] = Jitter(**config["jitter"])
    try:
        return cls(**config)
    except TypeError as exc:
        raise ConfigError(f"policy {name!r}: {exc}") from None


__all__ = [
    "POLICIES",
    "FixedInterval",
    "FixedThreshold",
    "GammaWeighted",
    "Hysteresis",
    "Leland",
    "Policy",
    "TimeOrThreshold",
    "VolAdaptive",
    "WhalleyWilmott",
    "Zakamouline",
    "make_policy",
]

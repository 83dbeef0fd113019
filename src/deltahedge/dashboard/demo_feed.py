"""A synthetic publisher: a made-up book whose delta wanders and is hedged back into its band.

It stands in for the engine in the browser test and in ``deltahedge dashboard --demo``. It is
*not* a risk model: its Greeks are a toy (constant gamma, random order flow) chosen only so
that every panel has something plausible to show. It also implements
:class:`~deltahedge.dashboard.readmodel.Controls`, so pause/resume/kill can be exercised.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from deltahedge.core.clock import Clock, LiveClock
from deltahedge.dashboard.models import (
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
from deltahedge.dashboard.readmodel import ReadModel

__all__ = ["DemoDesk", "DemoFeedThread"]


@dataclass
class _Book:
    name: str
    spot: float
    vol: float  # annualised, decimal
    band: float  # half-width of the no-hedge band, coin
    gamma_coin: float  # d(delta_coin)/dS, per USD (negative: short gamma)
    option_delta: float
    hedge: float = 0.0
    vega_usd: float = 0.0
    theta_usd_per_day: float = 0.0


_EXPIRIES = (("2026-12-25", 30 / 365), ("2027-03-26", 121 / 365), ("2027-06-25", 212 / 365))


class DemoDesk:
    """A toy two-coin book that hedges with perpetuals when its delta leaves the band.

    Parameters
    ----------
    seed : int
        Seed of the random generator (a run is reproducible).
    clock : Clock
        Time source for the published timestamps.
    step_seconds : float
        Simulated market time per :meth:`step`, seconds (large values move the book fast).
    """

    def __init__(self, seed: int = 7, clock: Clock | None = None, step_seconds: float = 60.0):
        self._rng = np.random.default_rng(seed)
        self._clock = clock or LiveClock()
        self._dt_years = step_seconds / (365.0 * 86_400.0)
        self._lock = threading.Lock()
        self.mode = EngineMode.RUNNING
        self.calls: list[str] = []
        self._books = [
            _Book(
                "BTC",
                97_000.0,
                0.55,
                2.0,
                -0.00045,
                0.6,
                vega_usd=-18_500.0,
                theta_usd_per_day=4_200.0,
            ),
            _Book(
                "ETH",
                3_400.0,
                0.70,
                25.0,
                -0.012,
                -8.0,
                vega_usd=-6_100.0,
                theta_usd_per_day=1_350.0,
            ),
        ]
        self._pnl = dict.fromkeys(
            ("delta", "gamma", "vega", "theta", "funding", "fees", "residual"), 0.0
        )

    # -- Controls -------------------------------------------------------------------------
    def pause(self) -> None:
        """Stop hedging (the book keeps moving)."""
        with self._lock:
            self.calls.append("pause")
            if self.mode is EngineMode.RUNNING:
                self.mode = EngineMode.PAUSED

    def resume(self) -> None:
        """Resume hedging after a pause."""
        with self._lock:
            self.calls.append("resume")
            if self.mode is EngineMode.PAUSED:
                self.mode = EngineMode.RUNNING

    def kill(self, mode: KillMode) -> None:
        """Freeze, or flatten the hedge legs."""
        with self._lock:
            self.calls.append(f"kill:{KillMode(mode).value}")
            self.mode = EngineMode.FROZEN if mode is KillMode.FREEZE else EngineMode.FLATTENING

    # -- simulation -----------------------------------------------------------------------
    def step(self) -> DashboardUpdate:
        """Move the market one step, hedge where the band is left, and return the update."""
        with self._lock:
            ts = self._clock.now_ns()
            rng = self._rng
            hedges: list[HedgeRecord] = []
            risks: list[UnderlyingRisk] = []
            dvol = float(rng.normal(0.0, 0.0003))
            for b in self._books:
                ds = b.spot * b.vol * math.sqrt(self._dt_years) * float(rng.standard_normal())
                delta_before = b.option_delta + b.hedge
                self._pnl["delta"] += delta_before * ds
                self._pnl["gamma"] += 0.5 * b.gamma_coin * ds * ds
                self._pnl["theta"] += b.theta_usd_per_day * self._dt_years * 365.0
                self._pnl["vega"] += b.vega_usd * dvol * 100.0
                self._pnl["funding"] -= abs(b.hedge) * b.spot * 1e-4 * self._dt_years * 365.0
                self._pnl["residual"] += float(rng.normal(0.0, 2.0))
                b.spot += ds
                b.option_delta += b.gamma_coin * ds + float(rng.normal(0.0, b.band * 0.25))
                delta = b.option_delta + b.hedge
                if self.mode is EngineMode.FLATTENING and b.hedge != 0.0:
                    hedges.append(self._fill(b, -b.hedge, ts, delta, "kill switch: flatten"))
                elif self.mode is EngineMode.RUNNING and abs(delta) > b.band:
                    reason = f"|delta| {abs(delta):.2f} > band {b.band:.2f} {b.name}"
                    hedges.append(self._fill(b, -delta, ts, delta, reason))
                delta = b.option_delta + b.hedge
                risks.append(self._risk(b, delta))
            return DashboardUpdate(
                ts_ns=ts,
                mode=self.mode,
                underlyings=tuple(risks),
                pnl=PnlAttribution(**self._pnl),
                smiles=self._smiles(),
                venues=self._venues(),
                limits=self._limits(risks),
                new_hedges=tuple(hedges),
                message="demo feed: synthetic book",
            )

    def _fill(self, b: _Book, size_coin: float, ts: int, delta: float, reason: str) -> HedgeRecord:
        slippage = abs(float(self._rng.normal(1.5, 0.8)))
        side = "buy" if size_coin > 0 else "sell"
        price = b.spot * (1.0 + math.copysign(slippage, size_coin) * 1e-4)
        fees = abs(size_coin) * price * 5e-4
        b.hedge += size_coin
        self._pnl["fees"] -= fees
        contract_usd = 10.0 if b.name == "BTC" else 1.0
        return HedgeRecord(
            ts_ns=ts,
            intent_id=f"int-{int(self._rng.integers(1 << 62)):016x}",
            underlying=b.name,
            reason=reason,
            side=side,
            size=round(abs(size_coin) * b.spot / contract_usd),
            size_coin=size_coin,
            instrument=f"{b.name}-PERPETUAL",
            venue="deribit" if b.name == "BTC" else "binance",
            price=price,
            slippage_bps=slippage,
            fees_usd=fees,
            book_delta_coin=delta,
        )

    def _risk(self, b: _Book, delta: float) -> UnderlyingRisk:
        weights = (0.5, 0.3, 0.2)
        return UnderlyingRisk(
            underlying=b.name,
            spot_usd=b.spot,
            delta_coin=delta,
            delta_usd=delta * b.spot,
            band_lower_coin=-b.band,
            band_upper_coin=b.band,
            gamma_cash_usd=b.gamma_coin * b.spot * b.spot / 100.0,
            vega_usd=b.vega_usd,
            theta_usd_per_day=b.theta_usd_per_day,
            vega_by_expiry=tuple(
                ExpiryVega(expiry=e, vega_usd=b.vega_usd * w)
                for (e, _), w in zip(_EXPIRIES, weights, strict=True)
            ),
            policy="whalley_wilmott",
        )

    def _smiles(self) -> tuple[SmileFit, ...]:
        fits = []
        for b in self._books:
            for expiry, t in _EXPIRIES:
                strikes = np.linspace(0.6, 1.5, 41) * b.spot
                k = np.log(strikes / b.spot)
                # A toy SVI-like smile: total variance a + b(rho(k-m) + sqrt((k-m)^2 + s^2)).
                w = b.vol**2 * t + 0.08 * t * (-0.3 * k + np.sqrt(k * k + 0.01))
                iv = np.sqrt(w / t)
                qk = np.linspace(0.75, 1.35, 13) * b.spot
                qiv = np.interp(qk, strikes, iv) + self._rng.normal(0.0, 0.004, qk.size)
                spread = 0.003 + 0.012 * np.abs(np.log(qk / b.spot))
                quotes = tuple(
                    SmileQuote(
                        strike=float(s), bid_iv=float(m - h), ask_iv=float(m + h), mark_iv=float(m)
                    )
                    for s, m, h in zip(qk, qiv, spread, strict=True)
                )
                fits.append(
                    SmileFit(
                        underlying=b.name,
                        expiry=expiry,
                        forward=b.spot,
                        t_years=t,
                        strikes=tuple(strikes.tolist()),
                        fitted_iv=tuple(iv.tolist()),
                        quotes=quotes,
                        model="svi",
                    )
                )
        return tuple(fits)

    def _venues(self) -> tuple[VenueStatus, ...]:
        r = self._rng
        return (
            VenueStatus(
                venue="deribit",
                connected=True,
                latency_ms=float(r.uniform(18, 35)),
                staleness_s=float(r.uniform(0.05, 0.6)),
                staleness_limit_s=2.0,
            ),
            VenueStatus(
                venue="binance",
                connected=True,
                latency_ms=float(r.uniform(25, 60)),
                staleness_s=float(r.uniform(0.1, 1.2)),
                staleness_limit_s=2.0,
            ),
            VenueStatus(
                venue="okx",
                connected=False,
                staleness_s=None,
                staleness_limit_s=2.0,
                message="not configured",
            ),
        )

    def _limits(self, risks: list[UnderlyingRisk]) -> tuple[RiskLimit, ...]:
        gross = sum(abs(b.hedge) * b.spot for b in self._books)
        loss = min(0.0, sum(self._pnl.values()))
        return (
            RiskLimit(name="BTC |delta|", used=risks[0].delta_coin, limit=5.0, unit="BTC"),
            RiskLimit(name="ETH |delta|", used=risks[1].delta_coin, limit=60.0, unit="ETH"),
            RiskLimit(name="hedge notional", used=gross, limit=2_000_000.0, unit="USD"),
            RiskLimit(name="daily loss", used=loss, limit=50_000.0, unit="USD"),
        )


class DemoFeedThread:
    """Steps a :class:`DemoDesk` every ``interval_s`` seconds and publishes into a read-model."""

    def __init__(self, desk: DemoDesk, read_model: ReadModel, interval_s: float = 0.1) -> None:
        self.desk = desk
        self._rm = read_model
        self._interval = interval_s
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._step_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="demo-feed", daemon=True)

    def start(self) -> DemoFeedThread:
        """Start publishing; returns self."""
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._step_lock:
                if self._running.is_set():
                    self._rm.publish(self.desk.step())
            self._stop.wait(self._interval)

    def hold(self) -> None:
        """Stop publishing until :meth:`release`; returns after any step under way."""
        with self._step_lock:
            self._running.clear()

    def release(self) -> None:
        """Publish again after :meth:`hold`."""
        self._running.set()

    def stop(self) -> None:
        """Stop publishing and join the thread."""
        self._stop.set()
        self._thread.join(5.0)

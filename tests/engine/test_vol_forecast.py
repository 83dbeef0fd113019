"""The engine feeds the policies a realised-vol forecast of the index: the surface's ATM vol
until enough returns exist, then an EWMA updated per tick (or a GARCH(1,1) refitted off the
loop); the vol-dependent policies hedge in the engine with it."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from deltahedge.core.errors import ConfigError
from deltahedge.core.units import SECONDS_PER_YEAR
from deltahedge.engine.engine import EngineSettings
from deltahedge.engine.scenario import build_demo
from deltahedge.engine.volforecast import VolForecaster, VolSettings, atm_vol
from deltahedge.hedging.policies import make_policy
from deltahedge.marketdata.feeds import SimulatedFeed, Tick, TickKind


def _regimes(vols, seconds, seed=0):  # type: ignore[no-untyped-def]
    """One-second log returns of a driftless walk: ``seconds`` at each vol in turn."""
    rng = np.random.default_rng(seed)
    dt = 1.0 / SECONDS_PER_YEAR
    return np.concatenate([v * math.sqrt(dt) * rng.standard_normal(seconds) for v in vols])


async def _feed_index(engine, sc, returns) -> None:  # type: ignore[no-untyped-def]
    price = engine.market.index("BTC")
    for k, r in enumerate(returns):
        price *= math.exp(r)
        ts = sc.clock.advance(1.0)
        await engine.on_tick(Tick(TickKind.INDEX, "BTC", "sim", "BTC", price, ts, ts))
        if k % 100 == 99:
            await asyncio.sleep(0)  # as a feed does: executor results come back to the loop


def test_forecast_is_the_surface_atm_vol_then_an_ewma_that_follows_a_regime_change():
    vol = VolSettings(sample_s=1.0, half_life_s=300.0, min_returns=30)
    settings = EngineSettings(surface_refit_s=0, greeks_snapshot_s=0, vol=vol)
    sc = build_demo(band_coin=1e6, settings=settings)  # no hedging: the forecast only
    e = sc.engine
    # the fallback: Black-76 ATM vol of the nearest expiry, read off the surface directly
    s = sc.surface
    atm = float(s.vol(float(s.forwards[0]), float(s.T[0])))
    assert atm_vol(s) == pytest.approx(atm) and 0.2 < atm < 1.0
    rets = _regimes([0.30, 1.20], 1800, seed=1)
    asyncio.run(_feed_index(e, sc, rets[:20]))
    assert e.hedge_state.vol_forecast == pytest.approx(atm)  # 19 returns < min_returns
    asyncio.run(_feed_index(e, sc, rets[20:1800]))
    low = e.hedge_state.vol_forecast
    # one half-life into the new regime the variance is half way: 0.5 (0.09 + 1.44)
    asyncio.run(_feed_index(e, sc, rets[1800:2100]))
    half = e.hedge_state.vol_forecast
    asyncio.run(_feed_index(e, sc, rets[2100:]))
    high = e.hedge_state.vol_forecast
    # an EWMA of half-life 300 one-second returns estimates a variance to ~5 % (1 sd)
    assert low == pytest.approx(0.30, rel=0.15)
    assert half == pytest.approx(math.sqrt(0.5 * (0.30**2 + 1.20**2)), rel=0.15)
    assert high == pytest.approx(1.20, rel=0.15)
    assert e.vol.source == "EWMA" and e.counters.errors == 0


def test_garch_refits_off_the_loop_and_follows_a_regime_change():
    vol = VolSettings(model="garch", sample_s=1.0, garch_refit_s=600.0, garch_window=1000)
    settings = EngineSettings(surface_refit_s=0, greeks_snapshot_s=0, vol=vol)
    sc = build_demo(band_coin=1e6, settings=settings)
    e = sc.engine
    rets = _regimes([0.30, 1.20], 1200, seed=2)

    async def go() -> tuple[float, float]:
        fits = []
        for part in (rets[:1200], rets[1200:]):
            await _feed_index(e, sc, part)
            if e._garch_future is not None:  # a fit of the cadence still running
                await asyncio.wait([e._garch_future])
                await asyncio.sleep(0)
            e._next_garch = 0  # due now: the next tick starts a fit in an executor
            await _feed_index(e, sc, [0.0])
            assert e._garch_pending and e._garch_future is not None
            await asyncio.wait([e._garch_future])
            await asyncio.sleep(0)
            fits.append(e.vol.forecast())
        return fits[0], fits[1]

    low, high = asyncio.run(go())
    assert e.vol.source == "GARCH" and e.vol.garch_fits >= 2
    # the window holds the last 1,000 one-second returns: each fit sees one regime
    assert low == pytest.approx(0.30, rel=0.25)
    assert high == pytest.approx(1.20, rel=0.25)
    assert e.counters.errors == 0


@pytest.mark.parametrize(
    ("name", "params", "key"),
    [
        ("zakamouline", {"cost": 0.0005, "risk_aversion": 1e-2}, "sigma"),
        ("gamma_weighted", {"multiple": 0.5, "horizon_s": 60.0}, "sigma"),
        ("leland", {"interval_s": 60.0}, "sigma"),
        ("vol_adaptive", {"base_band": 0.5, "sigma_ref": 0.6}, "vol_forecast"),
    ],
)
def test_vol_dependent_policy_hedges_in_the_engine_on_the_forecast(name, params, key):
    """Ten simulated minutes at a tick a second: the policy (sigma = 0: the state's forecast)
    hedges without errors, and every intent used the forecast the engine held then."""
    settings = EngineSettings(surface_refit_s=0, greeks_snapshot_s=0)
    sc = build_demo(settings=settings)
    e = sc.engine
    policy = make_policy(name, underlying="BTC", **params)
    used: list[tuple[float, float]] = []

    class Recorder:
        def decide(self, risk, market, state, rng=None):  # type: ignore[no-untyped-def]
            intent = policy.decide(risk, market, state, rng)
            if intent is not None:
                used.append((intent.inputs[key], state.vol_forecast))
            return intent

    e.policy = Recorder()
    feed = SimulatedFeed(sc.surface.spot, sc.clock, ticks_per_second=1.0, duration_s=600, seed=3)
    asyncio.run(e.run(feed))
    assert e.counters.errors == 0 and e.counters.hedges >= 3
    assert used and all(v == f > 0 for v, f in used)
    assert used[0][1] == pytest.approx(atm_vol(sc.surface))  # before 30 returns: the ATM vol
    assert e.vol.source == "EWMA" and used[-1][1] != used[0][1]


def test_irregular_ticks_are_sampled_and_scaled_by_time():
    """Returns over 2 s and 0.5 s feed the same variance rate: r^2 / dt."""
    f = VolForecaster(VolSettings(sample_s=1.0, half_life_s=1e9, min_returns=1))
    f.on_index(100.0, 1)
    f.on_index(101.0, 1 + 500_000_000)  # 0.5 s: below sample_s, skipped
    assert f.n_returns == 0
    r = math.log(1.01)
    f.on_index(101.0, 1 + 2_000_000_000)  # 2 s after the first sample
    assert f.n_returns == 1
    assert f.forecast() == pytest.approx(math.sqrt(r * r * SECONDS_PER_YEAR / 2.0))


def test_bad_vol_settings_name_the_key_and_what_is_allowed():
    with pytest.raises(ConfigError, match=r"volatility.model = 'arima'; allowed: ewma, garch"):
        VolSettings(model="arima")
    with pytest.raises(ConfigError, match=r"volatility.garch_window = 50: must be >= 100"):
        VolSettings(garch_window=50)

"""Hand-built updates with known numbers, and a recording fake of the engine's controls."""

from __future__ import annotations

import pytest

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

TOKEN = "unit-test-token-0123456789abcdef"
T0 = 1_764_000_000_000_000_000  # 2025-11-24T16:00:00Z in ns


def make_update(i: int, *, hedge: bool = False, mode: EngineMode = EngineMode.RUNNING):
    """Update number ``i``: BTC delta 0.1*i coin at spot 100 000 (so 10 000*i USD)."""
    delta = 0.1 * i
    hedges = ()
    if hedge:
        hedges = (
            HedgeRecord(
                ts_ns=T0 + i,
                intent_id=f"int-{i:04d}",
                underlying="BTC",
                reason=f"|delta| {delta:.2f} > band 2.00",
                side="sell",
                size=round(delta * 100_000 / 10),
                size_coin=-delta,
                instrument="BTC-PERPETUAL",
                venue="paper",
                price=99_990.0,
                slippage_bps=1.0,
                fees_usd=5.0,
                book_delta_coin=delta,
            ),
        )
    return DashboardUpdate(
        ts_ns=T0 + i * 1_000_000_000,
        mode=mode,
        underlyings=(
            UnderlyingRisk(
                underlying="BTC",
                spot_usd=100_000.0,
                delta_coin=delta,
                delta_usd=delta * 100_000.0,
                band_lower_coin=-2.0,
                band_upper_coin=2.0,
                gamma_cash_usd=-450.0,
                vega_usd=-1_800.0,
                theta_usd_per_day=420.0,
                vega_by_expiry=(
                    ExpiryVega(expiry="2026-03-27", vega_usd=-1_000.0),
                    ExpiryVega(expiry="2026-06-26", vega_usd=-800.0),
                ),
                policy="band",
            ),
        ),
        pnl=PnlAttribution(delta=10.0 * i, gamma=-2.0 * i, theta=3.0 * i, fees=-1.0 * i),
        smiles=(
            SmileFit(
                underlying="BTC",
                expiry="2026-03-27",
                forward=100_000.0,
                t_years=0.25,
                strikes=(80_000.0, 100_000.0, 120_000.0),
                fitted_iv=(0.6, 0.5, 0.55),
                quotes=(SmileQuote(strike=100_000.0, bid_iv=0.49, ask_iv=0.51, mark_iv=0.5),),
                model="svi",
            ),
        ),
        venues=(VenueStatus(venue="paper", connected=True, latency_ms=1.0, staleness_s=0.2),),
        limits=(RiskLimit(name="BTC |delta|", used=delta, limit=5.0, unit="BTC"),),
        new_hedges=hedges,
    )


class RecordingControls:
    """Records what the dashboard asked for."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")

    def kill(self, mode: KillMode) -> None:
        self.calls.append(f"kill:{KillMode(mode).value}")


@pytest.fixture()
def controls() -> RecordingControls:
    return RecordingControls()

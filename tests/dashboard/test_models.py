from __future__ import annotations

import pydantic
import pytest

from deltahedge.dashboard.models import DashboardSnapshot, PnlAttribution, RiskLimit

from .conftest import make_update


def test_risk_limit_utilisation_is_abs_used_over_limit() -> None:
    # |-46| / 50 = 0.92
    assert RiskLimit(name="loss", used=-46.0, limit=50.0).utilisation == pytest.approx(0.92)


def test_risk_limit_with_nonpositive_limit_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="limit"):
        RiskLimit(name="x", used=1.0, limit=0.0)


def test_pnl_total_is_sum_of_components() -> None:
    # 10 - 2 + 0 + 3 + 0 - 1 + 0.5 = 10.5
    pnl = PnlAttribution(delta=10.0, gamma=-2.0, theta=3.0, fees=-1.0, residual=0.5)
    assert pnl.total == pytest.approx(10.5)
    assert pnl.model_dump()["total"] == pytest.approx(10.5)


def test_update_is_frozen_and_forbids_unknown_fields() -> None:
    update = make_update(1)
    with pytest.raises(pydantic.ValidationError):
        update.ts_ns = 0  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="extra"):
        PnlAttribution(delta=1.0, gama=2.0)  # type: ignore[call-arg]


def test_snapshot_json_round_trips() -> None:
    update = make_update(3)
    snap = DashboardSnapshot(
        seq=1,
        ts_ns=5,
        mode="paused",
        underlyings=update.underlyings,
        pnl=update.pnl,
        limits=update.limits,
    )
    back = DashboardSnapshot.model_validate_json(snap.model_dump_json())
    assert back == snap
    assert back.underlyings[0].delta_usd == pytest.approx(30_000.0)
    assert back.limits[0].utilisation == pytest.approx(0.3 / 5.0)

"""What the engine publishes to the dashboard: one record per hedge leg with that leg's own
delta and share of fees, and the surface's smiles with the quotes they were fitted to."""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.engine.publish import hedge_records, smile_fits
from deltahedge.engine.records import HedgeLogEntry
from deltahedge.engine.scenario import demo_smile_quotes, load_demo_surface
from deltahedge.venues.specs import BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT


def test_a_split_hedge_shows_each_legs_own_delta_and_fee_share():
    lin, inv = BINANCE_BTCUSDT, BINANCE_BTCUSD_PERP
    # 1.273 BTC linear + 109 inverse contracts of 100 USD at 92,532.55 = 0.11780 BTC
    legs = ((lin.venue, lin.symbol, 1.273, 92_532.55), (inv.venue, inv.symbol, 109.0, 92_532.55))
    e = HedgeLogEntry(1, "i1", "band", 1.391, 1.3908, "filled", legs, 64.35, 1.391, 92_530.0)
    specs = {(s.venue, s.symbol): s for s in (lin, inv)}
    a, b = hedge_records([e], "BTC", specs)
    assert a.size_coin == pytest.approx(1.273)
    assert b.size_coin == pytest.approx(109 * 100 / 92_532.55)  # 0.117795
    # fees split by coin size: 64.35 x 1.273 / 1.390795 = 58.90
    assert a.fees_usd == pytest.approx(64.35 * 1.273 / (1.273 + 10_900 / 92_532.55))
    assert a.fees_usd + b.fees_usd == pytest.approx(64.35)
    # without specs, a leg shows the hedge's total (the earlier behaviour)
    (one,) = hedge_records(
        [HedgeLogEntry(1, "i2", "r", 1.0, 1.0, "filled", legs[:1], 5.0, 1.0, 1.0)], "BTC"
    )
    assert one.size_coin == 1.0 and one.fees_usd == 5.0


def test_smiles_follow_the_surface_and_carry_the_quotes_it_was_fitted_to():
    surface = load_demo_surface()
    quotes = demo_smile_quotes(surface)
    fits = smile_fits(surface, "BTC", quotes)
    assert [f.expiry for f in fits][:3] == ["2026-01-16", "2026-01-23", "2026-01-30"]
    for i, f in enumerate(fits):
        vols = surface.vol(np.asarray(f.strikes), float(surface.T[i]))
        assert np.allclose(f.fitted_iv, vols, rtol=1e-12)
        assert f.strikes[0] < f.forward < f.strikes[-1]
    jan30 = fits[2]
    assert [q.strike for q in jan30.quotes] == [80e3, 85e3, 90e3, 95e3, 100e3, 110e3]
    for q in jan30.quotes:  # bid and ask IVs solved from the snapshot's coin prices
        assert q.bid_iv is not None and q.ask_iv is not None and q.mark_iv is not None
        assert q.bid_iv <= q.mark_iv <= q.ask_iv
        # the fit sits within 1.5 vol points of Deribit's mark on these liquid strikes
        assert abs(float(surface.vol(q.strike, float(surface.T[2]))) - q.mark_iv) < 0.015

from datetime import UTC, datetime

import pytest

from deltahedge.core import SimClock, client_order_id, ns_to_datetime, to_ns, year_fraction


def test_to_ns_iso_string_is_utc():
    # 2026-01-01T00:00:00Z is unix 1767225600 s.
    assert to_ns("2026-01-01T00:00:00Z") == 1_767_225_600 * 10**9
    assert to_ns(datetime(2026, 1, 1)) == 1_767_225_600 * 10**9
    assert ns_to_datetime(1_767_225_600 * 10**9) == datetime(2026, 1, 1, tzinfo=UTC)


def test_year_fraction_act365_on_seconds():
    # 365 days of seconds is exactly one year; 12 hours is 0.5/365.
    assert year_fraction(0, 365 * 86400 * 10**9) == pytest.approx(1.0, abs=0)
    assert year_fraction(0, 12 * 3600 * 10**9) == pytest.approx(0.5 / 365, rel=1e-15)


def test_simclock_never_goes_back():
    clock = SimClock(100)
    assert clock.advance(1.5) == 100 + 1_500_000_000
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(5)


def test_client_order_id_is_deterministic_and_distinct():
    a = client_order_id("int-1", leg=0)
    assert a == client_order_id("int-1", leg=0)
    assert a != client_order_id("int-1", leg=1)
    assert a != client_order_id("int-1", leg=0, attempt=1)
    assert len(a) <= 32

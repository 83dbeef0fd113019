"""Journal fixtures: every journal test runs on SQLite, and on PostgreSQL when a server is set.

``DELTAHEDGE_TEST_PG_URL`` names the server (``.ci/run`` starts one and sets it). Without it
the PostgreSQL variants skip and say so; with ``CI=true`` they fail instead, so CI never
passes without having tested PostgreSQL. Each PostgreSQL test gets a fresh schema.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from deltahedge.core.clock import SimClock
from deltahedge.store import Journal

PG_ENV = "DELTAHEDGE_TEST_PG_URL"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def postgres_url_or_skip() -> str:
    """The test server's URL; skip (or fail under CI=true) when it is not configured."""
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        msg = (
            f"PostgreSQL journal tests need a server: {PG_ENV} is not set "
            "(e.g. postgresql+psycopg://postgres:postgres@127.0.0.1:5432/deltahedge_test; "
            ".ci/run installs PostgreSQL, starts it and sets the variable)"
        )
        if _in_ci():
            pytest.fail(f"CI=true but {msg}")
        pytest.skip(msg)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A journal URL: a fresh SQLite file, or a fresh schema on the PostgreSQL test server."""
    if request.param == "sqlite":
        yield str(tmp_path / "journal.sqlite")
        return
    base = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def clock() -> SimClock:
    return SimClock(1_767_225_600_000_000_000)  # 2026-01-01T00:00:00Z


@pytest.fixture
def journal(db_url: str, clock: SimClock) -> Iterator[Journal]:
    j = Journal(db_url, clock=clock)
    try:
        yield j
    finally:
        j.close()

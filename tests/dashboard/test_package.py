from __future__ import annotations

import importlib

import pytest

MODULES = (
    "deltahedge.dashboard",
    "deltahedge.dashboard.models",
    "deltahedge.dashboard.readmodel",
    "deltahedge.dashboard.app",
    "deltahedge.dashboard.server",
    "deltahedge.dashboard.journal_source",
    "deltahedge.dashboard.demo_feed",
)


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert missing == []
    assert len(set(module.__all__)) == len(module.__all__)

"""The public names of instruments, portfolio and hedging resolve, and nothing else leaks."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    "module", ["deltahedge.instruments", "deltahedge.portfolio", "deltahedge.hedging"]
)
def test_all_names_resolve_and_are_sorted_public(module):
    mod = importlib.import_module(module)
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name
    assert not [n for n in mod.__all__ if n.startswith("_")]
    assert len(set(mod.__all__)) == len(mod.__all__)


def test_policy_registry_names_match_classes():
    from deltahedge.hedging import POLICIES

    assert sorted(POLICIES) == sorted(
        [
            "fixed_interval",
            "fixed_threshold",
            "time_or_threshold",
            "hysteresis",
            "whalley_wilmott",
            "zakamouline",
            "leland",
            "vol_adaptive",
            "gamma_weighted",
        ]
    )
    assert all(cls.name == name for name, cls in POLICIES.items())

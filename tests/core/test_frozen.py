"""``core.frozen.builder``: the same instance as the dataclass's own ``__init__``, still frozen."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from deltahedge.core.events import HedgeIntent
from deltahedge.core.frozen import builder


def test_built_instance_equals_the_constructed_one_and_stays_frozen():
    values = ("p:BTC:1:0", 1, "BTC", -0.25, "why", "p", MappingProxyType({"a": 1.0}), "PERP",
              -2.5, True, 12.0)  # fmt: skip
    built = builder(HedgeIntent)(*values)
    assert type(built) is HedgeIntent
    assert built == HedgeIntent(*values)  # dataclass eq: every field equal
    assert tuple(getattr(built, f.name) for f in dataclasses.fields(HedgeIntent)) == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.delta_coin = 1.0  # type: ignore[misc]


def test_every_field_is_required_positionally():
    with pytest.raises(TypeError):
        builder(HedgeIntent)("id", 1, "BTC", 1.0, "why")  # the defaulted fields are not filled


def test_a_dataclass_without_slots_is_refused_by_name():
    @dataclasses.dataclass(frozen=True)
    class Plain:
        x: int

    with pytest.raises(TypeError, match="Plain has slots None"):
        builder(Plain)

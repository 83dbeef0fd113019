import numpy as np
import pytest

from deltahedge.core import OptionKind, OrderStatus, parse_kind


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (OptionKind.CALL, 1),
        (OptionKind.PUT, -1),
        ("call", 1),
        ("PUT", -1),
        ("c", 1),
        (" P ", -1),
        (1, 1),
        (-1, -1),
        (-1.0, -1),
    ],
)
def test_parse_kind_scalar_accepts_documented_spellings(value, expected):
    assert parse_kind(value) == expected


@pytest.mark.parametrize("bad", ["x", "calls", 0, 2, True, None, 0.5, ""])
def test_parse_kind_invalid_raises_naming_value(bad):
    with pytest.raises(ValueError, match="invalid option kind"):
        parse_kind(bad)


def test_parse_kind_array_of_strings_keeps_shape():
    out = parse_kind(np.array([["c", "put"], ["CALL", "p"]]))
    assert out.shape == (2, 2)
    assert out.tolist() == [[1, -1], [1, -1]]


def test_parse_kind_numeric_array_rejects_zero():
    with pytest.raises(ValueError, match="0"):
        parse_kind(np.array([1, 0, -1]))


def test_order_status_terminal_states():
    terminal = {s for s in OrderStatus if s.is_terminal}
    assert terminal == {
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED,
    }

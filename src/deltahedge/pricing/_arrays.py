"""Broadcasting of public arguments into the (flat array, stride) pairs the loops take."""

from __future__ import annotations

from typing import Any

import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.core.enums import parse_kind


def as_phi(kind: Any) -> FloatArray:
    """+1.0 / -1.0 array of an option kind (raises ValueError naming a bad value)."""
    return np.asarray(parse_kind(kind), dtype=np.float64)


def flatten(*args: Any) -> tuple[tuple[int, ...], int, list[tuple[FloatArray, int]]]:
    """Broadcast ``args`` to one shape; return it, its size and (flat, stride) per input.

    A size-1 input is passed with stride 0 (no copy); an input of the full shape is
    flattened as a view when contiguous; anything else is broadcast into a copy.
    """
    arrs = [np.asarray(a, dtype=np.float64) for a in args]
    shape = np.broadcast_shapes(*(a.shape for a in arrs))
    n = 1
    for d in shape:
        n *= d
    flat: list[tuple[FloatArray, int]] = []
    for a in arrs:
        if a.size == 1:
            flat.append((np.ascontiguousarray(a).reshape(1), 0))
        elif a.shape == shape:
            flat.append((np.ascontiguousarray(a).reshape(-1), 1))
        else:
            flat.append((np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1), 1))
    return shape, n, flat


def loop_args(flat: list[tuple[FloatArray, int]]) -> list[Any]:
    """Interleave arrays and strides: ``[a0, s0, a1, s1, ...]``."""
    out: list[Any] = []
    for a, s in flat:
        out.append(a)
        out.append(s)
    return out


__all__ = ["as_phi", "flatten", "loop_args"]

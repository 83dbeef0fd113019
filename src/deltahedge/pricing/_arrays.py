"""Broadcasting of public arguments into the (flat array, stride) pairs the loops take.

Kept lean: a 1,000-option chain costs a few microseconds here, so the common cases (a
Python scalar, a contiguous float64 array of the full shape, an int8/float kind array)
take no copies and no temporaries.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from deltahedge._typing import FloatArray
from deltahedge.core.enums import OptionKind, parse_kind

_F64 = np.dtype(np.float64)
_I8 = np.dtype(np.int8)


@njit(cache=True)
def _first_bad_sign(a):  # type: ignore[no-untyped-def]
    # a is C-contiguous: a flat view, and a branch-free count first (``a.flat[i]`` costs
    # an unravelled index per element; this pass vectorises)
    v = a.reshape(-1)
    nbad = 0
    for i in range(v.size):
        nbad += (v[i] != 1) & (v[i] != -1)
    if nbad == 0:
        return -1
    for i in range(v.size):
        if v[i] != 1 and v[i] != -1:
            return i
    return -1


def as_phi(kind: Any) -> np.ndarray:
    """+1 / -1 array of an option kind (raises ValueError naming a bad value).

    int8 and float64 arrays of +-1 pass through without a copy (checked in one compiled
    pass); anything else goes through ``deltahedge.core.parse_kind``.
    """
    if isinstance(kind, np.ndarray) and kind.dtype in (np.int8, _F64) and kind.ndim > 0:
        bad = _first_bad_sign(kind) if kind.flags.c_contiguous else 0
        if bad < 0:
            return kind
        if kind.flags.c_contiguous:
            parse_kind(kind.flat[bad])  # raises with the value named
    if isinstance(kind, (OptionKind, int, str)):
        return np.array(parse_kind(kind), dtype=np.int8)
    return np.asarray(parse_kind(kind), dtype=np.int8)


def flatten(*args: Any) -> tuple[tuple[int, ...], int, list[tuple[np.ndarray, int]]]:
    """Broadcast ``args`` to one shape; return it, its size and (flat, stride) per input.

    A size-1 input is passed with stride 0 (no copy); an input of the full shape is
    flattened as a view when contiguous; anything else is broadcast into a copy. Kind
    arrays (int8) keep their dtype; everything else is float64. The common case (Python
    scalars and arrays of one shape) takes a few hundred nanoseconds per argument.
    """
    arrs: list[np.ndarray] = []
    shape: tuple[int, ...] | None = None  # the shape of the inputs of size != 1
    same = True
    ndim1 = 0  # the largest ndim of the inputs of size 1 (they may add dimensions)
    for a in args:
        t = type(a)
        if t is float or t is int:
            arrs.append(np.array(a, dtype=_F64))
            continue
        if t is not np.ndarray or not (a.dtype == _F64 or a.dtype == _I8):
            if not (isinstance(a, np.ndarray) and (a.dtype == _F64 or a.dtype == _I8)):
                a = np.asarray(a, dtype=_F64)
        arrs.append(a)
        if a.size == 1:
            ndim1 = max(ndim1, a.ndim)
        elif shape is None:
            shape = a.shape
        elif a.shape != shape:
            same = False
    if shape is None or not same or ndim1 > len(shape):
        shape = np.broadcast_shapes(*(a.shape for a in arrs))
    n = 1
    for d in shape:
        n *= d
    flat: list[tuple[np.ndarray, int]] = []
    for a in arrs:
        if a.size == 1:
            flat.append((a.reshape(1) if a.ndim != 1 else a, 0))
        elif a.shape == shape:
            if a.ndim == 1 and a.flags.c_contiguous:
                flat.append((a, 1))
            else:
                flat.append((a.reshape(-1) if a.flags.c_contiguous else np.ravel(a), 1))
        else:
            flat.append((np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1), 1))
    return shape, n, flat


#: r = 0.0, the usual rate, as the 1-element input the loops read with stride 0 (they
#: never write their inputs)
_ZERO = np.zeros(1)


def fast_loop_args(*args: Any) -> tuple[int, list[Any]] | None:
    """``(n, loop arguments)`` when every input is a 1-D C-contiguous float64 (or int8)
    array of one length ``n`` or of length 1, or a Python scalar; None otherwise (then
    ``flatten``). A chain repriced often takes this path: about 0.2 us per argument.
    """
    n = -1
    out: list[Any] = []
    for a in args:
        t = type(a)
        if t is np.ndarray:
            dt = a.dtype
            if a.ndim != 1 or (dt is not _F64 and dt is not _I8) or not a.flags.c_contiguous:
                return None
            m = a.shape[0]
            if m == 1:
                out.append(a)
                out.append(0)
                continue
            if n < 0:
                n = m
            elif m != n:
                return None
            out.append(a)
            out.append(1)
        elif t is float or t is int:
            zero = a == 0 and math.copysign(1.0, a) > 0.0
            out.append(_ZERO if zero else np.array((a,), dtype=_F64))
            out.append(0)
        else:
            return None
    return (n, out) if n >= 0 else None


def loop_args(flat: list[tuple[np.ndarray, int]]) -> list[Any]:
    """Interleave arrays and strides: ``[a0, s0, a1, s1, ...]``."""
    out: list[Any] = []
    for a, s in flat:
        out.append(a)
        out.append(s)
    return out


def as_float(a: Any) -> FloatArray:
    """``a`` as a float64 array (no copy when it already is one)."""
    return np.asarray(a, dtype=_F64)


__all__ = ["as_float", "as_phi", "fast_loop_args", "flatten", "loop_args"]

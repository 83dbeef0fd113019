"""Branch-free exp and log that numba can vectorise (the hot loops' libm replacement).

numba calls the C library's ``exp`` and ``log`` one element at a time (no SVML here), and
those calls were about half the time of the Greeks loop. These versions are straight-line
float and int64 arithmetic (IEEE bit patterns through ``f2i`` / ``i2f``), so a loop over a
block of options compiles to AVX2 code. Each holds only on its stated range; the caller
tests ``exp_in_range`` / ``log_in_range`` and takes ``math.exp`` / ``math.log`` for the
rest (subnormal, zero, infinite, NaN, negative), so those cases are the C library's.

``vexp`` (|x| <= 708): ``x = n ln2 + r`` with n rounded by the shift 1.5 * 2^52 and
``ln2 = LN2_HI + LN2_LO`` (Cody and Waite; n LN2_HI is exact), ``exp(r)`` by its Taylor
polynomial of degree 13 (remainder below 4e-18 on |r| <= ln2/2), times ``2^n`` built in
the exponent field. ``vlog`` (normal x below 2^1000): fdlibm's ``__ieee754_log``
(Sun Microsystems 1993, freely usable with its notice; the same as musl): ``x = 2^k (1 + f)``
with ``1 + f`` in [sqrt(2)/2, sqrt(2)), ``s = f / (2 + f)``, ``log(1 + f) = f - (f^2/2 -
s (f^2/2 + R(s^2)))`` with fdlibm's Remez polynomial R (error below 2^-58.45). Both are
within one ulp of the correctly rounded result (tests: against ``math.exp``/``math.log``).

Every function runs as plain Python too (``.py_func``; ``f2i``/``i2f`` then use
``struct``), which is the readable twin the tests hold the compiled code to.
"""

from __future__ import annotations

import math
import struct

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

from deltahedge.pricing._special import FM


def f2i(x: float) -> int:
    """The IEEE-754 bits of a float64, as a signed 64-bit integer."""
    return int(struct.unpack("<q", struct.pack("<d", x))[0])


def i2f(i: int) -> float:
    """The float64 whose IEEE-754 bits are the signed 64-bit integer ``i``."""
    return float(struct.unpack("<d", struct.pack("<q", i))[0])


@intrinsic
def _bitcast_f2i(typingctx, x):  # type: ignore[no-untyped-def]
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bitcast_i2f(typingctx, i):  # type: ignore[no-untyped-def]
    if i != types.int64:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@overload(f2i, inline="always")
def _f2i_impl(x):  # type: ignore[no-untyped-def]
    return lambda x: _bitcast_f2i(x)


@overload(i2f, inline="always")
def _i2f_impl(i):  # type: ignore[no-untyped-def]
    return lambda i: _bitcast_i2f(i)


_SHIFT = 6755399441055744.0  # 1.5 * 2^52: x + _SHIFT rounds x to an integer
_SHIFT_BITS = 0x4338000000000000  # its bits; bits(_SHIFT + n) = _SHIFT_BITS + n
_INV_LN2 = 1.0 / math.log(2.0)
LN2_HI = 6.93147180369123816490e-01  # 0x3fe62e42fee00000: n * LN2_HI exact for |n| < 2^21
LN2_LO = 1.90821492927058770002e-10  # ln 2 - LN2_HI
#: exp(x) for |x| <= EXP_MAX is a normal number: 2^n with |n| <= 1021
EXP_MAX = 708.0
_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(14))
#: mantissa offset of fdlibm/musl: x is split as 2^k * z with z in [0x3fe6a09e..., 2x that)
_LOG_OFF = 0x00095F6200000000  # (0x3ff00000 - 0x3fe6a09e) << 32
_LOG_Z0 = 0x3FE6A09E00000000
_MANT = 0x000FFFFFFFFFFFFF
_TWO52_BITS = 0x4330000000000000  # bits of 2^52: i2f(_TWO52_BITS + e) - 2^52 = e
_TWO52 = 4503599627370496.0
#: vlog holds for normal x in [LOG_MIN, LOG_MAX)
LOG_MIN = 2.2250738585072014e-308
LOG_MAX = 2.0**1000
_LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def exp_in_range(x: float) -> bool:
    """Whether ``vexp(x)`` holds: |x| <= 708 (False for NaN)."""
    return abs(x) <= EXP_MAX


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def vexp(x: float) -> float:
    """``exp(x)`` within one ulp for |x| <= 708, without branches (garbage beyond)."""
    t = x * _INV_LN2 + _SHIFT
    n = t - _SHIFT
    hi = x - n * LN2_HI  # exact
    lo = n * LN2_LO
    r = hi - lo
    # exp(r) = 1 + hi + (r^2 q(r) - lo): hi enters unrounded and the leading 1 is added
    # last, so the result carries about two roundings (measured worst 0.89 ulp); q by
    # Estrin's scheme (independent products: shorter dependency chains than Horner's)
    r2 = r * r
    r4 = r2 * r2
    c = _TAYLOR
    p23 = c[2] + r * c[3]
    p45 = c[4] + r * c[5]
    p67 = c[6] + r * c[7]
    p89 = c[8] + r * c[9]
    p1011 = c[10] + r * c[11]
    p1213 = c[12] + r * c[13]
    q = p23 + r2 * (p45 + r2 * p67) + (r4 * r2) * (p89 + r2 * (p1011 + r2 * p1213))
    poly = 1.0 + (hi + (r2 * q - lo))
    scale = i2f(((f2i(t) - _SHIFT_BITS) + 1023) << 52)
    return poly * scale


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def log_in_range(x: float) -> bool:
    """Whether ``vlog(x)`` holds: x normal and below 2^1000 (False for NaN)."""
    return (x >= LOG_MIN) & (x < LOG_MAX)


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def vlog(x: float) -> float:
    """``log(x)`` within one ulp for normal x < 2^1000, without branches (garbage beyond)."""
    u = f2i(x) + _LOG_OFF
    e = u >> 52  # biased exponent of x, moved up by one where the mantissa is >= sqrt(2)
    z = i2f((u & _MANT) + _LOG_Z0)  # in [sqrt(2)/2, sqrt(2))
    k = (i2f(_TWO52_BITS + e) - _TWO52) - 1023.0
    f = z - 1.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    s2 = s * s
    s4 = s2 * s2
    t1 = s4 * (_LG[1] + s4 * (_LG[3] + s4 * _LG[5]))
    t2 = s2 * (_LG[0] + s4 * (_LG[2] + s4 * (_LG[4] + s4 * _LG[6])))
    r = t2 + t1
    return k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)


__all__ = [
    "EXP_MAX",
    "LN2_HI",
    "LN2_LO",
    "LOG_MAX",
    "LOG_MIN",
    "exp_in_range",
    "f2i",
    "i2f",
    "log_in_range",
    "vexp",
    "vlog",
]

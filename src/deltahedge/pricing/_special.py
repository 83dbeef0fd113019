"""Normal distribution kernels (numba): density, distribution, and Cody's erf/erfcx.

``norm_cdf`` uses the C library's ``erfc`` (about one ulp, relative, in the lower tail).
The hot loops use ``norm_tail_given_pdf``: Cody's rational approximations of ``erf`` on
|x| <= 0.46875 and of ``erfcx(y) = exp(y^2) erfc(y)`` beyond, times a density the caller
already has, so that both ``N(d1)`` and ``N(d2)`` cost one rational function and no exp
(``n(d2) = n(d1) F / K``). W. J. Cody (1969), "Rational Chebyshev approximations for the
error function", Math. Comp. 23:631-638; coefficients of netlib specfun CALERF, as in
Jaeckel's LetsBeRational (2013-2014, permission notice: use freely, keep the notice).
"""

from __future__ import annotations

import math

from numba import njit

#: fastmath flags of the kernels: FMA contraction only (never changes NaN/inf handling).
FM = {"contract"}

SQRT2 = math.sqrt(2.0)
INV_SQRT2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
HALF_LN_2PI = 0.5 * math.log(2.0 * math.pi)
DBL_EPS = 2.220446049250313e-16
#: |d| below which N(d) = (1 + erf(d / sqrt 2)) / 2 uses Cody's first range.
ERF_SMALL_D = 0.46875 * math.sqrt(2.0)


@njit(cache=True, error_model="numpy")
def norm_pdf(x: float) -> float:
    """Standard normal density ``exp(-x^2/2) / sqrt(2 pi)``."""
    return INV_SQRT_2PI * math.exp(-0.5 * x * x)


@njit(cache=True, error_model="numpy")
def norm_cdf(x: float) -> float:
    """Standard normal distribution ``N(x) = erfc(-x/sqrt(2))/2``, relative-accurate for x < 0."""
    return 0.5 * math.erfc(-x * INV_SQRT2)


_CA = (
    3.1611237438705656,
    113.864154151050156,
    377.485237685302021,
    3209.37758913846947,
    0.185777706184603153,
)
_CB = (23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062)
_CC = (
    0.564188496988670089,
    8.88314979438837594,
    66.1191906371416295,
    298.635138197400131,
    881.95222124176909,
    1712.04761263407058,
    2051.07837782607147,
    1230.33935479799725,
    2.15311535474403846e-8,
)
_CD = (
    15.7449261107098347,
    117.693950891312499,
    537.181101862009858,
    1621.38957456669019,
    3290.79923573345963,
    4362.61909014324716,
    3439.36767414372164,
    1230.33935480374942,
)
_CP = (
    0.305326634961232344,
    0.360344899949804439,
    0.125781726111229246,
    0.0160837851487422766,
    6.58749161529837803e-4,
    0.0163153871373020978,
)
_CQ = (
    2.56852019228982242,
    1.87295284992346047,
    0.527905102951428412,
    0.0605183413124413191,
    0.00233520497626869185,
)
_SQRT_PI_INV = 0.56418958354775628695
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@njit(cache=True, error_model="numpy", fastmath=FM)
def _erf_small(x: float) -> float:
    # erf(x) for |x| <= 0.46875 (Cody's first range).
    z = x * x
    num = (((_CA[4] * z + _CA[0]) * z + _CA[1]) * z + _CA[2]) * z + _CA[3]
    den = (((z + _CB[0]) * z + _CB[1]) * z + _CB[2]) * z + _CB[3]
    return x * num / den


@njit(cache=True, error_model="numpy", fastmath=FM)
def _erfcx_large(y: float) -> float:
    # erfcx(y) = exp(y^2) erfc(y) for y > 0.46875 (Cody's second and third ranges).
    if y <= 4.0:
        num = (
            (
                (((((_CC[8] * y + _CC[0]) * y + _CC[1]) * y + _CC[2]) * y + _CC[3]) * y + _CC[4])
                * y
                + _CC[5]
            )
            * y
            + _CC[6]
        ) * y + _CC[7]
        den = (
            ((((((y + _CD[0]) * y + _CD[1]) * y + _CD[2]) * y + _CD[3]) * y + _CD[4]) * y + _CD[5])
            * y
            + _CD[6]
        ) * y + _CD[7]
        return num / den
    z = 1.0 / (y * y)
    num = ((((_CP[5] * z + _CP[0]) * z + _CP[1]) * z + _CP[2]) * z + _CP[3]) * z
    den = ((((z + _CQ[0]) * z + _CQ[1]) * z + _CQ[2]) * z + _CQ[3]) * z
    return (_SQRT_PI_INV - z * (num + _CP[4]) / (den + _CQ[4])) / y


@njit(cache=True, error_model="numpy", fastmath=FM)
def norm_tail_given_pdf(d: float, pdf: float) -> float:
    """``N(-|d|)`` given ``pdf = n(d)``: Cody's rational erfcx times the density, no exp.

    Relative accuracy is that of ``pdf`` (a few ulps for |d| < 10): the fast loops compute
    ``n(d1)`` once and get ``n(d2) = n(d1) F/K`` for free.
    """
    y = abs(d) * INV_SQRT2
    if y <= 0.46875:
        return 0.5 - 0.5 * _erf_small(y)
    return 0.5 * _SQRT_2PI * pdf * _erfcx_large(y)


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def _cody12(y: float, z: float) -> tuple[float, float, float, float]:
    # numerators and denominators of Cody's first (erf, in z = y^2) and second (erfcx) ranges
    num1 = (((_CA[4] * z + _CA[0]) * z + _CA[1]) * z + _CA[2]) * z + _CA[3]
    den1 = (((z + _CB[0]) * z + _CB[1]) * z + _CB[2]) * z + _CB[3]
    num2 = (
        (
            (((((_CC[8] * y + _CC[0]) * y + _CC[1]) * y + _CC[2]) * y + _CC[3]) * y + _CC[4]) * y
            + _CC[5]
        )
        * y
        + _CC[6]
    ) * y + _CC[7]
    den2 = (
        ((((((y + _CD[0]) * y + _CD[1]) * y + _CD[2]) * y + _CD[3]) * y + _CD[4]) * y + _CD[5]) * y
        + _CD[6]
    ) * y + _CD[7]
    return num1, den1, num2, den2


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def tail_and_erf_branchless(d: float, pdf: float) -> tuple[float, float]:
    """``(N(-|d|), erf(|d|/sqrt 2))`` given ``pdf = n(d)``, without branches.

    The same Cody ranges as ``norm_tail_given_pdf``, all evaluated and then selected, so
    a loop over options compiles to straight-line (SIMD-friendly) code; each range is
    written as one numerator over one denominator (the third range multiplied through by
    ``z^5``, ``z = y^2``), so the selected ratio costs a single division. The erf value is
    exact only for |d| <= ERF_SMALL_D (where the near-the-money formula uses it).
    """
    y = min(abs(d) * INV_SQRT2, 40.0)  # erfc(40) underflows: beyond, only pdf = 0 matters
    z = y * y
    num1, den1, num2, den2 = _cody12(y, z)
    # third range, w = 1/z: erfcx = (1/sqrt(pi) - w P(w)/Q(w)) / y with P, Q of degree 5;
    # times z^5 / z^5: P' = z^5 P(1/z), Q' = z^5 Q(1/z), erfcx = (Q'/sqrt(pi) z - P')/(y z Q')
    p3 = ((((_CP[4] * z + _CP[3]) * z + _CP[2]) * z + _CP[1]) * z + _CP[0]) * z + _CP[5]
    q3 = ((((_CQ[4] * z + _CQ[3]) * z + _CQ[2]) * z + _CQ[1]) * z + _CQ[0]) * z + 1.0
    num3 = _SQRT_PI_INV * q3 * z - p3
    den3 = y * z * q3
    small = y <= 0.46875
    num = y * num1 if small else (num2 if y <= 4.0 else num3)
    den = den1 if small else (den2 if y <= 4.0 else den3)
    ratio = num / den
    tail = 0.5 - 0.5 * ratio if small else 0.5 * _SQRT_2PI * pdf * ratio
    return tail, ratio


#: |d| / sqrt 2 up to which ``tail_and_erf_near`` holds
NEAR_Y = 4.0


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def tail_and_erf_near(d: float, pdf: float) -> tuple[float, float]:
    """``tail_and_erf_branchless`` for ``|d| / sqrt 2 <= NEAR_Y`` only: Cody's first two
    ranges, a third less work; beyond ``NEAR_Y`` the result is meaningless.
    """
    y = min(abs(d) * INV_SQRT2, NEAR_Y)
    z = y * y
    num1, den1, num2, den2 = _cody12(y, z)
    small = y <= 0.46875
    ratio = (y * num1 if small else num2) / (den1 if small else den2)
    tail = 0.5 - 0.5 * ratio if small else 0.5 * _SQRT_2PI * pdf * ratio
    return tail, ratio


@njit(cache=True, error_model="numpy", fastmath=FM)
def norm_cdf_given_pdf(d: float, pdf: float) -> float:
    """``N(d)`` given ``pdf = n(d)`` (see ``norm_tail_given_pdf``)."""
    tail = norm_tail_given_pdf(d, pdf)
    return tail if d < 0.0 else 1.0 - tail


__all__ = [
    "DBL_EPS",
    "ERF_SMALL_D",
    "FM",
    "HALF_LN_2PI",
    "INV_SQRT2",
    "INV_SQRT_2PI",
    "NEAR_Y",
    "SQRT2",
    "norm_cdf",
    "norm_cdf_given_pdf",
    "norm_pdf",
    "norm_tail_given_pdf",
    "tail_and_erf_branchless",
    "tail_and_erf_near",
]

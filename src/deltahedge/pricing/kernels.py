"""Scalar compiled kernels: Black-76 prices, Greeks and implied volatility.

Every function here is a numba ``@njit(cache=True, error_model="numpy")`` function of floats, callable from
Python and from other compiled code (the backtest and portfolio loops call them inside
their own ``@njit`` functions). None of them raises: an input they cannot use gives NaN.

Conventions (see DESIGN.md): ``phi`` is +1.0 for a call and -1.0 for a put; ``F`` the
forward and ``K`` the strike (same currency); ``T`` years; ``sigma`` a decimal vol; ``r``
the continuously compounded rate that discounts the payoff, ``DF = exp(-r T)``.

Black (1976), "The pricing of commodity contracts", J. Financial Economics 3:167-179::

    d1 = ln(F/K) / (sigma sqrt(T)) + sigma sqrt(T) / 2,   d2 = d1 - sigma sqrt(T)
    V  = DF * phi * (F N(phi d1) - K N(phi d2))

The normal distribution function is ``N(z) = erfc(-z / sqrt(2)) / 2`` with the C
library's ``erfc`` (accurate to about one ulp in the tail, unlike ``1 + erf``), so tiny
out-of-the-money prices keep their relative accuracy.

Implied volatility follows the structure of Jaeckel (2015), "Let's Be Rational",
Wilmott 2015(75):40-53: work with the normalised price ``beta = V / (DF sqrt(F K))`` of the
out-of-the-money option (put-call parity, so no cancellation against intrinsic value),
as a call on ``x = -|ln(F/K)| <= 0``::

    b(x, s) = exp(x/2) N(x/s + s/2) - exp(-x/2) N(x/s - s/2),   s = sigma sqrt(T)

split the range of ``b`` into three branches at the tangents through the inflection point
``s_c = sqrt(2|x|)``, start from an asymptotic (lower/upper) or tangent (middle) guess, and
run Householder(3) steps on the objective that is nearly linear on each branch:
``1/ln b`` (lower), ``b`` (middle), ``ln(b_max - b)`` (upper), with ``b_max = exp(x/2)``.
A bracket is kept, and a step that leaves it is replaced by bisection, so the iteration
always converges. Derivatives used (Jaeckel 2015, eq. 2.5-2.7)::

    b'(s)    = exp(-(h^2 + t^2)/2) / sqrt(2 pi),          h = x/s, t = s/2
    b''/b'   = h^2/s - s/4
    b'''/b'  = (h^2/s - s/4)^2 - 3 h^2/s^2 - 1/4
"""

from __future__ import annotations

import math

from numba import njit

FM = {"contract"}

SQRT2 = math.sqrt(2.0)
INV_SQRT2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
HALF_LN_2PI = 0.5 * math.log(2.0 * math.pi)
DBL_EPS = 2.220446049250313e-16

#: Status codes of the implied-vol kernels (mirrored by ``deltahedge.pricing.IVStatus``).
IV_OK = 0
IV_AT_INTRINSIC = 1
IV_BELOW_INTRINSIC = 2
IV_ABOVE_MAX = 3
IV_EXPIRED = 4
IV_INVALID_INPUT = 5
IV_NOT_CONVERGED = 6

_MAX_ITER = 40


@njit(cache=True, error_model="numpy")
def norm_pdf(x: float) -> float:
    """Standard normal density ``exp(-x^2/2) / sqrt(2 pi)``."""
    return INV_SQRT_2PI * math.exp(-0.5 * x * x)


@njit(cache=True, error_model="numpy")
def norm_cdf(x: float) -> float:
    """Standard normal distribution ``N(x) = erfc(-x/sqrt(2))/2``, relative-accurate for x < 0."""
    return 0.5 * math.erfc(-x * INV_SQRT2)


# W. J. Cody (1969), "Rational Chebyshev approximations for the error function", Math.
# Comp. 23:631-638 (coefficients of netlib specfun CALERF, as in Jaeckel's LetsBeRational).
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


@njit(cache=True, error_model="numpy", fastmath=FM)
def norm_cdf_given_pdf(d: float, pdf: float) -> float:
    """``N(d)`` given ``pdf = n(d)`` (see ``norm_tail_given_pdf``)."""
    tail = norm_tail_given_pdf(d, pdf)
    return tail if d < 0.0 else 1.0 - tail


@njit(cache=True, error_model="numpy")
def _bad_inputs(phi: float, F: float, K: float, T: float, sigma: float, r: float) -> bool:
    # NaN fails every comparison, so `not (a > 0)` also catches NaN.
    if not (F > 0.0 and K > 0.0 and T >= 0.0 and sigma >= 0.0):
        return True
    if math.isinf(F) or math.isinf(K) or math.isinf(T) or math.isinf(sigma):
        return True
    if not math.isfinite(r):
        return True
    return not (phi == 1.0 or phi == -1.0)


@njit(cache=True, error_model="numpy")
def b76_price(phi: float, F: float, K: float, T: float, sigma: float, r: float) -> float:
    """Black-76 price ``DF * phi * (F N(phi d1) - K N(phi d2))``, same currency as F and K.

    Parameters
    ----------
    phi : float
        +1 call, -1 put.
    F, K : float
        Forward and strike, > 0.
    T : float
        Years to expiry, >= 0. At T = 0 or sigma = 0 the price is ``DF * max(phi(F-K), 0)``.
    sigma : float
        Volatility, decimal, >= 0.
    r : float
        Discount rate, continuously compounded.

    Returns
    -------
    float
        Present value; NaN for invalid inputs.
    """
    if _bad_inputs(phi, F, K, T, sigma, r):
        return math.nan
    df = math.exp(-r * T) if r != 0.0 else 1.0
    sst = sigma * math.sqrt(T)
    if sst == 0.0:
        return df * max(phi * (F - K), 0.0)
    d1 = math.log(F / K) / sst + 0.5 * sst
    d2 = d1 - sst
    return df * b76_undiscounted(phi, F, K, d1, d2, norm_pdf(d1))[0]


@njit(cache=True, error_model="numpy")
def b76_delta(phi: float, F: float, K: float, T: float, sigma: float, r: float) -> float:
    """Black-76 forward delta ``dV/dF = DF * phi * N(phi d1)`` (per unit of underlying).

    At T = 0 or sigma = 0 it is the step ``DF * phi * 1{phi(F-K) > 0}``, with the midpoint
    ``DF * phi / 2`` at F == K (the limit of N(d1) as sigma sqrt(T) -> 0).
    """
    if _bad_inputs(phi, F, K, T, sigma, r):
        return math.nan
    df = math.exp(-r * T) if r != 0.0 else 1.0
    sst = sigma * math.sqrt(T)
    if sst == 0.0:
        if F == K:
            return 0.5 * df * phi
        return df * phi if phi * (F - K) > 0.0 else 0.0
    d1 = math.log(F / K) / sst + 0.5 * sst
    return df * phi * norm_cdf(phi * d1)


@njit(cache=True, error_model="numpy")
def b76_gamma(phi: float, F: float, K: float, T: float, sigma: float, r: float) -> float:
    """Black-76 gamma ``d2V/dF2 = DF phi(d1) / (F sigma sqrt(T))``; 0 when sigma sqrt(T) = 0."""
    if _bad_inputs(phi, F, K, T, sigma, r):
        return math.nan
    df = math.exp(-r * T) if r != 0.0 else 1.0
    sst = sigma * math.sqrt(T)
    if sst == 0.0:
        return 0.0
    d1 = math.log(F / K) / sst + 0.5 * sst
    return df * norm_pdf(d1) / (F * sst)


@njit(cache=True, error_model="numpy")
def b76_vega(phi: float, F: float, K: float, T: float, sigma: float, r: float) -> float:
    """Black-76 vega ``dV/dsigma = DF F phi(d1) sqrt(T)`` per 1.00 of vol.

    At sigma = 0 it is the limit: ``DF F sqrt(T) / sqrt(2 pi)`` at F == K, else 0.
    """
    if _bad_inputs(phi, F, K, T, sigma, r):
        return math.nan
    df = math.exp(-r * T) if r != 0.0 else 1.0
    sqrt_t = math.sqrt(T)
    sst = sigma * sqrt_t
    if sst == 0.0:
        return df * F * sqrt_t * INV_SQRT_2PI if F == K else 0.0
    d1 = math.log(F / K) / sst + 0.5 * sst
    return df * F * norm_pdf(d1) * sqrt_t


@njit(cache=True, error_model="numpy")
def b76_theta(phi: float, F: float, K: float, T: float, sigma: float, r: float) -> float:
    """Black-76 theta ``-dV/dT = r V - DF F phi(d1) sigma / (2 sqrt(T))`` per year, F fixed."""
    if _bad_inputs(phi, F, K, T, sigma, r):
        return math.nan
    v = b76_price(phi, F, K, T, sigma, r)
    sst = sigma * math.sqrt(T)
    if sst == 0.0:
        return r * v
    df = math.exp(-r * T) if r != 0.0 else 1.0
    d1 = math.log(F / K) / sst + 0.5 * sst
    return r * v - df * F * norm_pdf(d1) * sigma / (2.0 * math.sqrt(T))


@njit(cache=True, error_model="numpy")
def _pdf_d2(pdf1: float, F: float, K: float, d2: float) -> float:
    # n(d2) = n(d1) F / K exactly (d1^2 - d2^2 = 2 ln(F/K)); direct when n(d1) underflows.
    pdf2 = pdf1 * (F / K)
    if pdf1 > 1e-280 and pdf2 < 1e300:
        return pdf2
    return INV_SQRT_2PI * math.exp(-0.5 * d2 * d2)


_ERF_SMALL_D = 0.46875 * math.sqrt(2.0)  # |d| below which N(d) = (1 + erf(d/sqrt 2))/2


@njit(cache=True, error_model="numpy")
def b76_undiscounted(
    phi: float, F: float, K: float, d1: float, d2: float, pdf1: float
) -> tuple[float, float]:
    """Undiscounted Black-76 value and ``N(phi d1)``, given d1, d2 and ``pdf1 = n(d1)``.

    Near the money (|d1|, |d2| < 0.663) the value is written as
    ``phi (F - K)/2 + (F erf(d1/sqrt2) - K erf(d2/sqrt2))/2``, a sum of terms of one sign
    instead of the difference of two numbers near F/2, so short-dated at-the-money prices
    keep their relative accuracy. The value is never below intrinsic (rounding).
    """
    if abs(d1) <= _ERF_SMALL_D and abs(d2) <= _ERF_SMALL_D:
        e1 = _erf_small(d1 * INV_SQRT2)
        e2 = _erf_small(d2 * INV_SQRT2)
        nd1 = 0.5 + 0.5 * phi * e1
        value = 0.5 * phi * (F - K) + 0.5 * (F * e1 - K * e2)
    else:
        nd1 = norm_cdf_given_pdf(phi * d1, pdf1)
        nd2 = norm_cdf_given_pdf(phi * d2, _pdf_d2(pdf1, F, K, d2))
        value = phi * (F * nd1 - K * nd2)
    return max(value, max(phi * (F - K), 0.0)), nd1


@njit(cache=True, error_model="numpy")
def b76_greeks(
    phi: float, F: float, K: float, T: float, sigma: float, r: float
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """All Black-76 Greeks at once, per unit of underlying (formulas in ``black76``).

    Returns
    -------
    tuple of float
        ``(price, delta, gamma, vega, theta, rho, vanna, volga, charm)``; NaN for
        invalid inputs.
    """
    if _bad_inputs(phi, F, K, T, sigma, r):
        nan = math.nan
        return nan, nan, nan, nan, nan, nan, nan, nan, nan
    df = math.exp(-r * T) if r != 0.0 else 1.0
    sqrt_t = math.sqrt(T)
    sst = sigma * sqrt_t
    if sst == 0.0:
        price = df * max(phi * (F - K), 0.0)
        if F == K:
            delta = 0.5 * df * phi
        else:
            delta = df * phi if phi * (F - K) > 0.0 else 0.0
        vega = 0.0
        vanna = 0.0
        if F == K and T > 0.0:
            # sigma -> 0 limits at the money: V ~ DF F sigma sqrt(T) phi(0).
            vega = df * F * sqrt_t * INV_SQRT_2PI
            vanna = 0.5 * df * sqrt_t * INV_SQRT_2PI
        return price, delta, 0.0, vega, r * price, -T * price, vanna, 0.0, r * delta
    d1 = math.log(F / K) / sst + 0.5 * sst
    d2 = d1 - sst
    pdf = INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)
    value, nd1 = b76_undiscounted(phi, F, K, d1, d2, pdf)
    price = df * value
    delta = df * phi * nd1
    dfpdf = df * pdf
    gamma = dfpdf / (F * sst)
    vega = dfpdf * F * sqrt_t
    theta = r * price - dfpdf * F * sigma / (2.0 * sqrt_t)
    rho = -T * price
    vanna = -dfpdf * d2 / sigma
    volga = vega * d1 * d2 / sigma
    charm = r * delta + dfpdf * d2 / (2.0 * T)
    return price, delta, gamma, vega, theta, rho, vanna, volga, charm


# --------------------------------------------------------------------------------------
# Implied volatility
# --------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def normalised_black(x: float, s: float) -> float:
    """Normalised Black call ``b(x, s) = e^{x/2} N(x/s + s/2) - e^{-x/2} N(x/s - s/2)``.

    ``b = V / (DF sqrt(F K))`` for a call with ``x = ln(F/K)`` and ``s = sigma sqrt(T)``.
    """
    if s <= 0.0:
        return max(math.exp(0.5 * x) - math.exp(-0.5 * x), 0.0)
    h = x / s
    t = 0.5 * s
    return math.exp(0.5 * x) * norm_cdf(h + t) - math.exp(-0.5 * x) * norm_cdf(h - t)


@njit(cache=True, error_model="numpy")
def _b_otm(x: float, s: float, ex2: float, emx2: float) -> tuple[float, float, float]:
    # (b, b_max - b, b') for x <= 0. One exp: b' = e^{x/2} n(d1) = e^{-x/2} n(d2), and the
    # two tails N(-|d|) from Cody's erfcx; b_max - b = e^{x/2} N(-d1) + e^{-x/2} N(d2) is
    # a sum of positive terms, so it keeps its relative accuracy near the upper bound.
    h = x / s
    t = 0.5 * s
    d1 = h + t
    d2 = h - t  # < 0
    bp = INV_SQRT_2PI * math.exp(-0.5 * (h * h + t * t))
    if abs(d1) <= _ERF_SMALL_D and abs(d2) <= _ERF_SMALL_D:
        # near the money: b = sinh(x/2) + (e^{x/2} erf(d1/sqrt2) - e^{-x/2} erf(d2/sqrt2))/2
        e1 = _erf_small(d1 * INV_SQRT2)
        e2 = _erf_small(d2 * INV_SQRT2)
        b = math.sinh(0.5 * x) + 0.5 * (ex2 * e1 - emx2 * e2)
        gap = 0.5 * (ex2 * (1.0 - e1) + emx2 * (1.0 + e2))
        return max(b, 0.0), gap, bp
    tail1 = norm_tail_given_pdf(d1, bp * emx2)
    nd2 = norm_tail_given_pdf(d2, bp * ex2)
    if d1 < 0.0:
        nd1 = tail1
        nmd1 = 1.0 - tail1
    else:
        nd1 = 1.0 - tail1
        nmd1 = tail1
    b = ex2 * nd1 - emx2 * nd2
    gap = ex2 * nmd1 + emx2 * nd2
    return max(b, 0.0), gap, bp


@njit(cache=True, error_model="numpy")
def _householder_factor(nu: float, h2: float, h3: float) -> float:
    return (1.0 + 0.5 * h2 * nu) / (1.0 + nu * (h2 + h3 * nu / 6.0))


@njit(cache=True, error_model="numpy")
def _lower_guess(x: float, ln_beta: float) -> float:
    # ln b ~ -(h^2 + t^2)/2 - ln sqrt(2 pi) + ln s - ln(h^2 - t^2) for |h| >> t (Mills ratio);
    # two fixed-point passes on h^2 = x^2 / s^2.
    s = -x / math.sqrt(-2.0 * ln_beta)
    for _ in range(2):
        h2 = x * x / (s * s)
        t2 = 0.25 * s * s
        gap = h2 - t2
        if gap <= 0.0:
            break
        rhs = -ln_beta - 0.5 * t2 - HALF_LN_2PI + math.log(s) - math.log(gap)
        if rhs <= 0.0:
            break
        s = -x / math.sqrt(2.0 * rhs)
    return s


@njit(cache=True, error_model="numpy")
def _upper_guess(x: float, ln_gap: float) -> float:
    # b_max - b ~ exp(-(h^2 + t^2)/2) / sqrt(2 pi) * s / (t^2 - h^2) for t >> |h|.
    t = math.sqrt(max(-2.0 * ln_gap, 1.0))
    for _ in range(3):
        s = 2.0 * t
        h2 = x * x / (s * s)
        gap = t * t - h2
        if gap <= 0.0:
            break
        rhs = -ln_gap - 0.5 * h2 - HALF_LN_2PI + math.log(s) - math.log(gap)
        if rhs <= 0.0:
            break
        t = math.sqrt(2.0 * rhs)
    return 2.0 * t


@njit(cache=True, error_model="numpy")
def _inverse_hermite(
    beta: float, b0: float, b1: float, s0: float, s1: float, v0: float, v1: float
) -> float:
    # Cubic Hermite interpolation of the inverse s(b) on [b0, b1] with ds/db = 1/b'(s);
    # falls back to the chord when a slope is unusable or the cubic leaves the interval.
    db = b1 - b0
    if not (db > 0.0):
        return 0.5 * (s0 + s1)
    u = (beta - b0) / db
    chord = s0 + (s1 - s0) * u
    if not (v0 > 0.0 and v1 > 0.0):
        return chord
    u2 = u * u
    u3 = u2 * u
    s = (
        (2.0 * u3 - 3.0 * u2 + 1.0) * s0
        + (u3 - 2.0 * u2 + u) * db / v0
        + (3.0 * u2 - 2.0 * u3) * s1
        + (u3 - u2) * db / v1
    )
    if not (s > s0 and s < s1):
        return chord
    return s


@njit(cache=True, error_model="numpy")
def normalised_implied_s(beta: float, x: float) -> float:
    """Total implied vol ``s = sigma sqrt(T)`` of an out-of-the-money normalised call price.

    Parameters
    ----------
    beta : float
        ``b(x, s)``, strictly between 0 and ``exp(x/2)``.
    x : float
        ``-|ln(F/K)|`` (<= 0).

    Returns
    -------
    float
        ``s`` with ``b(x, s) == beta`` to machine precision; NaN when no iteration budget
        suffices (not seen in tests).
    """
    ex2 = math.exp(0.5 * x)
    emx2 = math.exp(-0.5 * x)
    b_max = ex2
    s_c = math.sqrt(-2.0 * x)
    lo = 0.0
    hi = math.inf
    mode = 1  # 0 lower (1/ln b), 1 middle (b), 2 upper (ln(b_max - b))
    if s_c > 0.0:
        b_c, gap_c, v_c = _b_otm(x, s_c, ex2, emx2)
    else:
        b_c, gap_c, v_c = 0.0, b_max, INV_SQRT_2PI
    if beta < b_c:
        hi = s_c
        s_l = s_c - b_c / v_c
        b_l = 0.0
        v_l = 0.0
        if s_l > 0.0:
            b_l, _g, v_l = _b_otm(x, s_l, ex2, emx2)
        if beta < b_l:
            mode = 0
            hi = s_l
            s = _lower_guess(x, math.log(beta))
        else:
            lo = max(s_l, 0.0)
            s = _inverse_hermite(beta, b_l, b_c, lo, s_c, v_l, v_c)
    else:
        lo = s_c
        s_u = s_c + gap_c / v_c
        b_u, gap_u, v_u = _b_otm(x, s_u, ex2, emx2)
        if b_max - beta < gap_u:
            mode = 2
            lo = s_u
            s = _upper_guess(x, math.log(b_max - beta))
            if not math.isfinite(s):
                s = 2.0 * s_u
        else:
            hi = s_u
            s = _inverse_hermite(beta, b_c, b_u, s_c, s_u, v_c, v_u)
    if not (s > lo and s < hi):
        s = 0.5 * (lo + hi) if hi < math.inf else 2.0 * lo + 1.0
    ln_beta = math.log(beta)
    gap_target = b_max - beta
    ln_gap_target = math.log(gap_target) if mode == 2 else 0.0
    for _it in range(_MAX_ITER):
        b, gap, bp = _b_otm(x, s, ex2, emx2)
        if mode == 2:
            below = gap > gap_target
            above = gap < gap_target
        else:
            below = b < beta
            above = b > beta
        if below:
            lo = max(lo, s)
        elif above:
            hi = min(hi, s)
        else:
            return s
        h = x / s
        h2s = h * h / s
        r2 = h2s - 0.25 * s  # b''/b'
        r3 = r2 * r2 - 3.0 * h2s / s - 0.25  # b'''/b'
        if mode == 0:
            lb = math.log(b) if b > 0.0 else -math.inf
            # f = 1/ln b - 1/ln beta;  G(b) = 1/ln b
            f = 1.0 / lb - 1.0 / ln_beta
            g1 = -1.0 / (b * lb * lb)
            g2_g1 = -(lb + 2.0) / (b * lb)
            g3_g1 = (2.0 + 6.0 / lb + 6.0 / (lb * lb)) / (b * b)
            fp = g1 * bp
            h2 = g2_g1 * bp + r2
            h3 = g3_g1 * bp * bp + 3.0 * g2_g1 * bp * r2 + r3
        elif mode == 1:
            f = b - beta
            fp = bp
            h2 = r2
            h3 = r3
        else:
            # f = ln(b_max - b) - ln(b_max - beta);  G = ln(gap), G' = -1/gap
            f = math.log(gap) - ln_gap_target
            fp = -bp / gap
            h2 = bp / gap + r2
            h3 = 2.0 * bp * bp / (gap * gap) + 3.0 * bp * r2 / gap + r3
        nu = -f / fp
        ds = nu * _householder_factor(nu, h2, h3)
        s_new = s + ds
        if abs(ds) <= 1e-6 * s:
            # Householder(3) converges cubically: after a step this small the error is
            # below machine precision (the step itself may cross the bracket by an ulp).
            return s_new
        if not (s_new > lo and s_new < hi):  # also catches NaN
            s_new = 0.5 * (lo + hi) if hi < math.inf else 2.0 * s
        s = s_new
    return math.nan


@njit(cache=True, error_model="numpy")
def b76_implied_vol_status(
    price: float, phi: float, F: float, K: float, T: float, r: float
) -> tuple[float, int]:
    """Black-76 implied vol and a status code (``IV_*`` constants of this module).

    Parameters
    ----------
    price : float
        Discounted option price, currency of F and K.
    phi, F, K, T, r : float
        As in ``b76_price``.

    Returns
    -------
    (float, int)
        ``sigma`` (decimal; NaN when there is no solution) and its status: OK;
        AT_INTRINSIC (time value 0, or undiscounted price within 4 ulps below intrinsic:
        sigma = 0); BELOW_INTRINSIC; ABOVE_MAX (price
        >= DF*F for a call, DF*K for a put); EXPIRED (T == 0: any sigma fits); INVALID_INPUT
        (NaN/inf, F or K <= 0, T < 0, phi not +-1).
    """
    if not (F > 0.0 and K > 0.0 and T >= 0.0) or not (phi == 1.0 or phi == -1.0):
        return math.nan, IV_INVALID_INPUT
    if not (math.isfinite(price) and math.isfinite(F) and math.isfinite(K)):
        return math.nan, IV_INVALID_INPUT
    if not (math.isfinite(T) and math.isfinite(r)):
        return math.nan, IV_INVALID_INPUT
    if T == 0.0:
        return math.nan, IV_EXPIRED
    p = price * math.exp(r * T) if r != 0.0 else price
    intrinsic = max(phi * (F - K), 0.0)
    if p < intrinsic:
        if intrinsic - p > 4.0 * DBL_EPS * intrinsic:
            return math.nan, IV_BELOW_INTRINSIC
        p = intrinsic  # within the rounding of the discount factor: at intrinsic
    if p >= (F if phi > 0.0 else K):
        return math.nan, IV_ABOVE_MAX
    tv = p - intrinsic  # the out-of-the-money option's price, by put-call parity
    if tv == 0.0:
        return 0.0, IV_AT_INTRINSIC
    x = -abs(math.log(F / K))
    beta = tv / math.sqrt(F) / math.sqrt(K)
    if beta >= math.exp(0.5 * x):
        return math.nan, IV_ABOVE_MAX
    s = normalised_implied_s(beta, x)
    if not math.isfinite(s):
        return math.nan, IV_NOT_CONVERGED
    return s / math.sqrt(T), IV_OK


@njit(cache=True, error_model="numpy")
def b76_implied_vol(price: float, phi: float, F: float, K: float, T: float, r: float) -> float:
    """Black-76 implied vol of a discounted price; NaN where there is no solution.

    See ``b76_implied_vol_status`` for the cases and ``deltahedge.pricing.implied_vol``
    for the accuracy guarantee.
    """
    return b76_implied_vol_status(price, phi, F, K, T, r)[0]


__all__ = [
    "IV_ABOVE_MAX",
    "IV_AT_INTRINSIC",
    "IV_BELOW_INTRINSIC",
    "IV_EXPIRED",
    "IV_INVALID_INPUT",
    "IV_NOT_CONVERGED",
    "IV_OK",
    "b76_delta",
    "b76_gamma",
    "b76_greeks",
    "b76_implied_vol",
    "b76_implied_vol_status",
    "b76_price",
    "b76_theta",
    "b76_vega",
    "norm_cdf",
    "norm_pdf",
    "normalised_black",
    "normalised_implied_s",
]

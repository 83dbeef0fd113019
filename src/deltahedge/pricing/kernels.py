"""Scalar compiled kernels: Black-76 prices, Greeks and implied volatility.

Every function here is a numba ``@njit(cache=True, error_model="numpy")`` function of
floats, callable from Python and from other compiled code (the backtest and portfolio
loops call them inside their own ``@njit`` functions). None of them raises: an input
they cannot use gives NaN. ``phi`` may be a float or an integer (+1 / -1).

Conventions (see DESIGN.md): ``phi`` is +1.0 for a call and -1.0 for a put; ``F`` the
forward and ``K`` the strike (same currency); ``T`` years; ``sigma`` a decimal vol; ``r``
the continuously compounded rate that discounts the payoff, ``DF = exp(-r T)``.

Black (1976), "The pricing of commodity contracts", J. Financial Economics 3:167-179::

    d1 = ln(F/K) / (sigma sqrt(T)) + sigma sqrt(T) / 2,   d2 = d1 - sigma sqrt(T)
    V  = DF * phi * (F N(phi d1) - K N(phi d2))

N is evaluated as Cody's rational erfcx times the density (``_special``): relative-accurate
in the tail, so tiny out-of-the-money prices keep their digits, and near the money the
price is written with erf as a sum of same-signed terms (``b76_undiscounted``).

Implied volatility: ``b76_implied_vol_status`` maps a price to the normalised
out-of-the-money price and solves it with ``_normalised.normalised_implied_s`` (after
Jaeckel 2015, "Let's Be Rational"; the algorithm is described there).
"""

from __future__ import annotations

import math

from numba import njit

from deltahedge.pricing._normalised import normalised_black, normalised_implied_s
from deltahedge.pricing._nsteps import exp_s, log_s
from deltahedge.pricing._special import (
    DBL_EPS,
    ERF_SMALL_D,
    FM,
    INV_SQRT2,
    INV_SQRT_2PI,
    _erf_small,
    norm_cdf,
    norm_cdf_given_pdf,
    norm_pdf,
    norm_tail_given_pdf,
)

#: Status codes of the implied-vol kernels (mirrored by ``deltahedge.pricing.IVStatus``).
IV_OK = 0
IV_AT_INTRINSIC = 1
IV_BELOW_INTRINSIC = 2
IV_ABOVE_MAX = 3
IV_EXPIRED = 4
IV_INVALID_INPUT = 5
IV_NOT_CONVERGED = 6


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
    if abs(d1) <= ERF_SMALL_D and abs(d2) <= ERF_SMALL_D:
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
    inv = 1.0 / sst
    d1 = math.log(F / K) * inv + 0.5 * sst
    d2 = d1 - sst
    pdf = INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)
    value, nd1 = b76_undiscounted(phi, F, K, d1, d2, pdf)
    price = df * value
    delta = df * phi * nd1
    dfpdf = df * pdf
    gamma = dfpdf * inv / F
    vega = dfpdf * F * sqrt_t
    theta = r * price - 0.5 * dfpdf * F * sigma / sqrt_t
    rho = -T * price
    vanna = -dfpdf * d2 / sigma
    volga = vega * d1 * d2 / sigma
    charm = r * delta + dfpdf * d2 / (2.0 * T)
    return price, delta, gamma, vega, theta, rho, vanna, volga, charm


@njit(cache=True, error_model="numpy", fastmath=FM)
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
    p = price * exp_s(r * T) if r != 0.0 else price
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
    x = -abs(log_s(F / K))
    beta = tv / math.sqrt(F) / math.sqrt(K)
    s = normalised_implied_s(beta, x)
    if s == math.inf:  # beta >= exp(x/2), the normalised upper bound
        return math.nan, IV_ABOVE_MAX
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
    "ERF_SMALL_D",
    "FM",
    "INV_SQRT_2PI",
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
    "b76_undiscounted",
    "b76_vega",
    "norm_cdf",
    "norm_cdf_given_pdf",
    "norm_pdf",
    "norm_tail_given_pdf",
    "normalised_black",
    "normalised_implied_s",
]

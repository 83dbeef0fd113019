"""Implied volatility of Black-76 prices (linear and coin-settled), vectorised.

Algorithm: ``deltahedge.pricing.kernels.normalised_implied_s`` (after Jaeckel 2015,
"Let's Be Rational"): the out-of-the-money normalised price (put-call parity), three
branches, a cubic-Hermite or asymptotic first guess, Householder(3) steps on a branch-wise
near-linear objective, with a bisection safeguard. Typically 2 steps after 1-2 set-up
evaluations; to machine precision (a step below 1e-6 relative ends it: its cube is below
eps). Arrays are solved 128 options at a time in SIMD passes (``_iv_block``), which give
each option exactly the scalar kernel's value.

Accuracy guarantee (tested on a dense grid, 200,000 random points and with hypothesis):
for ``sigma`` in [0.01, 5], ``T`` in [1 minute, 5 years], ``|ln(K/F)| <= 6 sigma sqrt(T)``
and any r, ``implied_vol(black76_price(sigma))`` recovers sigma within 1e-10 wherever the
price still carries sigma, namely where

    4 eps P <= 1e-10 vega    and    price > 1e-300

with ``eps = 2.2e-16``, ``vega`` per 1.00 vol and ``P`` the rounding scale of the price:
the price itself for an out-of-the-money option, ``DF max(F, K)`` for an in-the-money one
(its time value is a difference of two numbers of that size). About 80% of that box
qualifies; measured worst error inside it 3e-11 (worst where ``4 eps P / vega`` is near
1e-10; 4e-13 where it is below 1e-13). Outside the region the error is about
``eps P / vega`` (the price's own rounding), and every element still gets either a
solution or a status saying why not. ``implied_vol_guaranteed`` tells, per element,
whether an option lies in that region (the tests and ``make bench`` both use it).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from deltahedge._typing import ArrayLike, BoolArray, FloatArray
from deltahedge.pricing import _iv_block, kernels
from deltahedge.pricing._arrays import as_phi, fast_loop_args, flatten, loop_args
from deltahedge.pricing.black76 import black76_risk

_EPS = float(np.finfo(np.float64).eps)
_MINUTE = 1.0 / (365.0 * 24 * 60)
#: the box of the guarantee: sigma, T (years) and |ln(K/F)| in standard deviations
_SIGMA_RANGE = (0.01, 5.0)
_T_RANGE = (_MINUTE, 5.0)
_MAX_SD = 6.0
#: relative slack on the box edges, so inputs built at an edge (exp(log(x)), F e^(6 s))
#: are not excluded by their last bit
_EDGE = 1e-12


class IVStatus(IntEnum):
    """Why an implied vol is what it is (per element of ``implied_vol_status``)."""

    OK = kernels.IV_OK
    #: time value 0 (price == intrinsic, or undiscounted within 4 ulps below it, which
    #: discounting can cause): sigma = 0 is the only exact solution, returned as 0.0.
    AT_INTRINSIC = kernels.IV_AT_INTRINSIC
    #: price below intrinsic value DF max(phi(F-K), 0): no solution, NaN.
    BELOW_INTRINSIC = kernels.IV_BELOW_INTRINSIC
    #: price >= its upper bound (DF F for a call, DF K for a put): no solution, NaN.
    ABOVE_MAX = kernels.IV_ABOVE_MAX
    #: T == 0: the price is intrinsic whatever sigma is, NaN.
    EXPIRED = kernels.IV_EXPIRED
    #: NaN or inf input, F or K <= 0, T < 0: NaN.
    INVALID_INPUT = kernels.IV_INVALID_INPUT
    #: the iteration budget ran out (never seen in tests): NaN.
    NOT_CONVERGED = kernels.IV_NOT_CONVERGED


def _solve(
    price: ArrayLike, kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    phi = as_phi(kind)
    loop: Any = _iv_block.implied_vol_loop
    fast = fast_loop_args(price, phi, F, K, T, r)
    if fast is not None:  # 1-D arrays and scalars
        out = np.empty(fast[0], dtype=np.float64)
        status = np.empty(fast[0], dtype=np.int8)
        loop(*fast[1], out, status)
        return out, status
    shape, n, flat = flatten(price, phi, F, K, T, r)
    out = np.empty(n, dtype=np.float64)
    status = np.empty(n, dtype=np.int8)
    loop(*loop_args(flat), out, status)
    return out.reshape(shape), status.reshape(shape)


def implied_vol(
    price: ArrayLike, kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike = 0.0
) -> FloatArray:
    """Black-76 implied volatility of discounted option prices.

    Parameters
    ----------
    price : array_like
        Present value ``DF * undiscounted price``, currency of F and K.
    kind : OptionKind, str, int or array-like
        Call or put.
    F, K : array_like
        Forward and strike, > 0.
    T : array_like
        Years, > 0.
    r : array_like, default 0.0
        Discount rate, continuously compounded.

    Returns
    -------
    FloatArray
        Volatility (decimal) of the broadcast shape; NaN where there is no solution (see
        ``IVStatus``), 0 where the price equals intrinsic value. Accuracy: module doc.
    """
    return _solve(price, kind, F, K, T, r)[0]


def implied_vol_status(
    price: ArrayLike, kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike = 0.0
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """Implied vol and, per element, its ``IVStatus`` code (as int8).

    Same arguments as ``implied_vol``. Compare codes with ``IVStatus`` members, e.g.
    ``status == IVStatus.BELOW_INTRINSIC``.
    """
    return _solve(price, kind, F, K, T, r)


def implied_vol_inverse(
    price_coin: ArrayLike, kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Implied vol of coin-settled option prices (``price_coin = C_usd / F``, r = 0).

    Parameters
    ----------
    price_coin : array_like
        Premium in coin per coin of underlying (e.g. Deribit mark price).
    kind, F, K, T
        As in ``implied_vol``; F and K in USD.

    Returns
    -------
    FloatArray
        Volatility (decimal); NaN where there is none (upper bound: 1 coin for a call,
        K/F for a put).
    """
    usd = np.asarray(price_coin, dtype=np.float64) * np.asarray(F, dtype=np.float64)
    return _solve(usd, kind, F, K, T, 0.0)[0]


def implied_vol_inverse_status(
    price_coin: ArrayLike, kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """``implied_vol_inverse`` and its per-element ``IVStatus`` codes."""
    usd = np.asarray(price_coin, dtype=np.float64) * np.asarray(F, dtype=np.float64)
    return _solve(usd, kind, F, K, T, 0.0)


def implied_vol_guaranteed(
    kind: Any, F: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, r: ArrayLike = 0.0
) -> BoolArray:
    """Whether the round trip sigma -> price -> sigma is guaranteed within 1e-10.

    True where the option is in the box of the module doc (``sigma`` in [0.01, 5], ``T``
    in [1 minute, 5 years], ``|ln(K/F)| <= 6 sigma sqrt(T)``, up to a relative 1e-12 at
    the edges) and its Black-76 price still carries sigma::

        4 eps P <= 1e-10 vega    and    price > 1e-300

    with ``P`` the price for an out-of-the-money option and ``DF max(F, K)`` for an
    in-the-money one (its time value is a difference of numbers of that size).

    Parameters
    ----------
    kind, F, K, T, sigma, r
        As in ``black76``: call or put; forward and strike (same currency); years;
        volatility (decimal); discount rate (continuously compounded).

    Returns
    -------
    BoolArray
        Of the broadcast shape; False for invalid inputs (NaN, F or K <= 0, ...).
    """
    g = black76_risk(kind, F, K, T, sigma, r)
    phi = as_phi(kind)
    F_, K_, T_, s_, r_ = (np.asarray(a, dtype=np.float64) for a in (F, K, T, sigma, r))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        sst = s_ * np.sqrt(T_)
        in_box = (
            (s_ >= _SIGMA_RANGE[0] * (1 - _EDGE))
            & (s_ <= _SIGMA_RANGE[1] * (1 + _EDGE))
            & (T_ >= _T_RANGE[0] * (1 - _EDGE))
            & (T_ <= _T_RANGE[1] * (1 + _EDGE))
            & (np.abs(np.log(K_ / F_)) <= _MAX_SD * sst * (1 + _EDGE) + 4 * _EPS)
        )
        itm = phi * (F_ - K_) > 0
        rounding_scale = np.where(itm, np.exp(-r_ * T_) * np.maximum(F_, K_), g.price)
        carries = (4 * _EPS * rounding_scale <= 1e-10 * g.vega) & (g.price > 1e-300)
    return np.asarray(in_box & carries)


__all__ = [
    "IVStatus",
    "implied_vol",
    "implied_vol_guaranteed",
    "implied_vol_inverse",
    "implied_vol_inverse_status",
    "implied_vol_status",
]

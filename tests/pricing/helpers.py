"""Comparison helpers: error measured against each Greek's natural scale."""

from __future__ import annotations

import numpy as np


def greek_scales(F, K, T, sigma, r) -> dict[str, np.ndarray]:
    """The size each Greek's rounding error is measured against (see test docstrings).

    A price is a difference of terms of size max(F, K), so its absolute rounding is about
    eps * max(F, K); the other Greeks inherit the same structure with their own units.
    d1 itself carries an absolute rounding of about eps / (sigma sqrt T) (ln(F/K) is
    known to eps), which the Greeks that are not differences of F and K terms show as
    a relative error of that size: their scale is multiplied by ``1 + 1/(sigma sqrt T)``.
    """
    F, K, T, sigma, r = (np.asarray(a, dtype=np.float64) for a in (F, K, T, sigma, r))
    scale = np.maximum(F, K)
    sst = sigma * np.sqrt(T)
    k2 = np.log(F / K) ** 2 / sst**2
    c = 1.0 + 1.0 / sst
    return {
        "price": scale,
        "delta": c,
        "gamma": c / (F * sst),
        "vega": c * scale * np.sqrt(T),
        "theta": c * scale * (sigma / np.sqrt(T) + np.abs(r)),
        "rho": scale * T,
        "vanna": c / sigma,
        "volga": c * scale * np.sqrt(T) / sigma * (1.0 + k2),
        "charm": c / T + np.abs(r),
    }


def inverse_scales(F, K, T, sigma) -> dict[str, np.ndarray]:
    """``greek_scales`` carried into the fields of ``InverseGreeks`` (r = 0).

    Coin values are USD values over F; the premium-adjusted delta and the coin gamma are
    differences, so their scales add those of their terms.
    """
    s = greek_scales(F, K, T, sigma, 0.0)
    F = np.asarray(F, dtype=np.float64)
    return {
        "price_coin": s["price"] / F,
        "price_usd": s["price"],
        "delta": s["delta"],
        "delta_premium_adjusted": s["delta"] + s["price"] / F,
        "gamma_usd": s["gamma"],
        "gamma_coin": s["gamma"] + (s["delta"] + s["price"] / F) / F,
        "vega_usd": s["vega"],
        "vega_coin": s["vega"] / F,
        "theta_usd": s["theta"],
        "theta_coin": s["theta"] / F,
    }


def scaled_error(got, want, scale) -> np.ndarray:
    """min(relative error, error / scale), elementwise; NaN where exactly one is NaN."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    err = np.abs(got - want)
    rel = err / np.maximum(np.abs(want), 1e-300)
    out = np.minimum(rel, err / scale)
    both_nan = np.isnan(got) & np.isnan(want)
    out = np.where(both_nan, 0.0, out)
    return np.where(np.isnan(got) != np.isnan(want), np.inf, out)

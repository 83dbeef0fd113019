"""Coin price of an inverse option from its IV (for files that give IV but no price)."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from deltahedge._typing import FloatArray


def coin_price_from_iv(
    kind: np.ndarray, F: FloatArray, K: FloatArray, T: FloatArray, sigma: FloatArray
) -> FloatArray:
    """Black-76 (r = 0) price in coin: ``phi (F N(phi d1) - K N(phi d2)) / F``; NaN if invalid."""
    F, K, T, sigma = (np.asarray(x, dtype=np.float64) for x in (F, K, T, sigma))
    with np.errstate(all="ignore"):
        sd = sigma * np.sqrt(T)
        d1 = (np.log(F / K) + 0.5 * sd * sd) / sd
        d2 = d1 - sd
        price = kind * (F * ndtr(kind * d1) - K * ndtr(kind * d2)) / F
    bad = ~((F > 0) & (K > 0) & (T > 0) & (sigma > 0))
    return np.where(bad, np.nan, price)

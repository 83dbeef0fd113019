"""Static-arbitrage checks of fitted smiles: butterfly (Durrleman) and calendar spreads.

* Butterfly: a slice is free of butterfly arbitrage iff Durrleman's
  ``g(k) >= 0`` for all ``k`` (Gatheral and Jacquier 2014, Lemma 2.2); we test it on a
  fine grid (``check_grid``).
* Calendar: free of calendar-spread arbitrage iff total variance ``w(k, T)`` is
  non-decreasing in ``T`` at every fixed ``k`` (Gatheral and Jacquier 2014, Lemma 2.1).

Each violation is reported with where it is: the expiry (or pair of expiries) and the
log-moneyness range of the contiguous run of grid points that break the condition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deltahedge._typing import ArrayLike, FloatArray

#: Grid points used by ``check_grid``.
N_CHECK = 201


@dataclass(frozen=True)
class ArbitrageViolation:
    """One contiguous run of grid points that breaks a no-arbitrage condition.

    Parameters
    ----------
    kind : str
        ``"butterfly"`` or ``"calendar"``.
    T : float
        Expiry of the slice, years (calendar: the earlier of the two).
    T_next : float or None
        Calendar only: the later expiry whose total variance is lower.
    k_lo, k_hi : float
        Log-moneyness range of the run.
    worst : float
        Butterfly: the most negative ``g``; calendar: the largest drop
        ``w(k, T) - w(k, T_next)`` (total variance, > 0).
    """

    kind: str
    T: float
    T_next: float | None
    k_lo: float
    k_hi: float
    worst: float

    def describe(self) -> str:
        """One line for tables and logs."""
        where = f"k in [{self.k_lo:+.3f}, {self.k_hi:+.3f}]"
        if self.kind == "butterfly":
            return f"butterfly at T={self.T:.4f}y, {where}, min g={self.worst:.3g}"
        return (
            f"calendar between T={self.T:.4f}y and {self.T_next:.4f}y, {where}, "
            f"w drops by {self.worst:.3g}"
        )


def check_grid(k_data: ArrayLike, atm_total_variance: float, n: int = N_CHECK) -> FloatArray:
    """The log-moneyness grid on which a slice is checked.

    It covers the quoted range widened by half its span on each side, and at least
    ``+-8`` ATM standard deviations ``sqrt(w_atm)``.
    """
    k = np.asarray(k_data, dtype=np.float64)
    span = float(k.max() - k.min())
    sd = float(np.sqrt(max(atm_total_variance, 1e-12)))
    lo = min(float(k.min()) - 0.5 * span, -8.0 * sd)
    hi = max(float(k.max()) + 0.5 * span, 8.0 * sd)
    return np.linspace(lo, hi, n)


def _runs(bad: np.ndarray) -> list[tuple[int, int]]:
    idx = np.flatnonzero(bad)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    ends = np.concatenate((idx[breaks], [idx[-1]]))
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def butterfly_violations(
    T: float, k: ArrayLike, g: ArrayLike, tol: float = 0.0
) -> list[ArbitrageViolation]:
    """Runs of grid points where Durrleman's ``g < -tol``.

    Parameters
    ----------
    T : float
        Expiry of the slice, years.
    k : array-like
        Log-moneyness grid, ascending.
    g : array-like
        ``g(k)`` on that grid (see ``svi.durrleman_g``).
    tol : float
        Tolerance (default 0: any negative value counts).
    """
    kk = np.asarray(k, dtype=np.float64)
    gg = np.asarray(g, dtype=np.float64)
    return [
        ArbitrageViolation(
            "butterfly", float(T), None, float(kk[i]), float(kk[j]), float(gg[i : j + 1].min())
        )
        for i, j in _runs(~(gg >= -tol))
    ]


def calendar_violations(
    T: ArrayLike, k: ArrayLike, w: ArrayLike, tol: float = 1e-10
) -> list[ArbitrageViolation]:
    """Runs where total variance falls from one expiry to the next at fixed ``k``.

    Parameters
    ----------
    T : array-like, shape (n,)
        Expiries, ascending, years.
    k : array-like, shape (m,)
        Log-moneyness grid, ascending.
    w : array-like, shape (n, m)
        Total variance of each expiry on the grid.
    tol : float
        Drops up to ``tol`` (total variance) are ignored (rounding).
    """
    TT = np.asarray(T, dtype=np.float64)
    kk = np.asarray(k, dtype=np.float64)
    ww = np.asarray(w, dtype=np.float64)
    out = []
    for i in range(len(TT) - 1):
        drop = ww[i] - ww[i + 1]
        for a, b in _runs(drop > tol):
            out.append(
                ArbitrageViolation(
                    "calendar",
                    float(TT[i]),
                    float(TT[i + 1]),
                    float(kk[a]),
                    float(kk[b]),
                    float(drop[a : b + 1].max()),
                )
            )
    return out


__all__ = [
    "N_CHECK",
    "ArbitrageViolation",
    "butterfly_violations",
    "calendar_violations",
    "check_grid",
]

"""Hull and White's "gain" of smile-adjusted deltas over Black-Scholes, per delta bucket.

For a delta ``d`` the one-step hedging error of an option is ``e = dV - d dF`` (USD); the
gain is ``1 - sum(e_d**2) / sum(e_BS**2)`` over a bucket (Hull and White 2017, eq. 9):
the share of the Black-Scholes hedging error variance that ``d`` removes. Buckets are
Black-Scholes deltas within 0.05 of 0.1, 0.2, ..., 0.9 (calls) and -0.1, ..., -0.9 (puts).

Three deltas are compared with the Black-Scholes delta (Black-76 at the option's own
mark IV):

* sticky strike: Black-76 delta at the fitted surface's vol of the option (``dsigma/dF =
  0``); it differs from the Black-Scholes delta only through the fit error, so its gain
  measures what the surface fit itself adds or costs;
* sticky moneyness: the smile moves with the forward (``delta.smile_delta``);
* minimum variance (Hull and White 2017, eq. 7): its coefficients are fitted per kind on
  the first half of the snapshots (all buckets together, ``0.05 <= |delta_BS| <= 0.95``)
  and tested both there (in-sample) and on the second half (out-of-sample).

The sticky deltas need no fit; they are reported on both halves too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deltahedge.core.errors import InvalidInput
from deltahedge.marketdata.chain import OptionChain
from deltahedge.surface.delta import (
    HedgeSteps,
    fit_min_variance_steps,
    hedge_steps,
    smile_delta,
)
from deltahedge.surface.surface import Surface, fit_surface

BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 10))


@dataclass(frozen=True)
class GainRow:
    """Gains of one (underlying, kind, delta bucket); ``bucket`` is ``"all"`` for the pooled row.

    ``n_in``/``n_out`` count hedge steps in the fitting and the test halves; ``mv_*`` are
    minimum-variance gains, ``sm_*`` sticky-moneyness gains, ``ss_*`` sticky-strike gains
    (fractions; 0.1 = 10 % less error variance than Black-Scholes delta; negative means
    worse). ``coeffs`` are the minimum-variance ``(a, b, c)`` fitted on the first half for
    this kind.
    """

    underlying: str
    kind: str
    bucket: str
    n_in: int
    n_out: int
    mv_in: float
    mv_out: float
    sm_in: float
    sm_out: float
    ss_in: float
    ss_out: float
    coeffs: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _sm_delta(h: HedgeSteps, surfaces: list[Surface]) -> np.ndarray:
    out = np.empty(len(h.dV))
    for s in np.unique(h.step):
        m = h.step == s
        dvdk = surfaces[s].dvol_dk(h.K[m], h.T[m])
        out[m] = h.delta_bs[m] - h.vega[m] * dvdk / h.F[m]
    return out


def _ss_delta(h: HedgeSteps, surfaces: list[Surface]) -> np.ndarray:
    out = np.empty(len(h.dV))
    for s in np.unique(h.step):
        m = h.step == s
        out[m] = smile_delta(surfaces[s], h.kind[m], h.F[m], h.K[m], h.T[m], "sticky_strike")
    return out


def _mv_delta(h: HedgeSteps, coef: tuple[float, float, float]) -> np.ndarray:
    a, b, c = coef
    d = h.delta_bs
    return d + h.vega / (h.F * np.sqrt(h.T)) * (a + b * d + c * d * d)


def _gain(h: HedgeSteps, delta: np.ndarray, m: np.ndarray) -> float:
    e_bs = h.dV[m] - h.delta_bs[m] * h.dF[m]
    e = h.dV[m] - delta[m] * h.dF[m]
    den = float(np.sum(e_bs**2))
    return 1.0 - float(np.sum(e**2)) / den if den > 0 else float("nan")


def hedge_gain_table(
    chains: list[OptionChain],
    surfaces: list[Surface] | None = None,
) -> list[GainRow]:
    """Gain table of one underlying's snapshots (ascending in time).

    Parameters
    ----------
    chains : list of OptionChain
        At least 4 snapshots of one underlying; the first ``ceil(n/2)`` are the fitting
        half, the test half starts at the last of them (so no step is lost).
    surfaces : list of Surface, optional
        SVI surfaces fitted to ``chains`` (fitted here when omitted), for sticky moneyness.

    Returns
    -------
    list of GainRow
        Calls then puts, buckets 0.1..0.9 then the pooled ``"all"`` row.
    """
    n = len(chains)
    if n < 4:
        raise InvalidInput(f"a gain table needs at least 4 snapshots, got {n}")
    if surfaces is None:
        surfaces = [fit_surface(c) for c in chains]
    half = (n + 1) // 2
    h_in = hedge_steps(chains[:half])
    h_out = hedge_steps(chains[half - 1 :])
    sm_in = _sm_delta(h_in, surfaces[:half])
    sm_out = _sm_delta(h_out, surfaces[half - 1 :])
    ss_in = _ss_delta(h_in, surfaces[:half])
    ss_out = _ss_delta(h_out, surfaces[half - 1 :])
    rows = []
    for kind, sign in (("call", 1), ("put", -1)):
        fit_m = (
            (h_in.kind == sign) & (np.abs(h_in.delta_bs) >= 0.05) & (np.abs(h_in.delta_bs) <= 0.95)
        )
        coef = fit_min_variance_steps(h_in.select(fit_m))
        mv_in = _mv_delta(h_in, coef)
        mv_out = _mv_delta(h_out, coef)
        for b in (*BUCKETS, None):

            def sel(h: HedgeSteps, b: float | None = b, sign: int = sign) -> np.ndarray:
                m = h.kind == sign
                if b is None:
                    return m & (np.abs(h.delta_bs) >= 0.05) & (np.abs(h.delta_bs) <= 0.95)
                return m & (np.abs(h.delta_bs - sign * b) < 0.05)

            mi, mo = sel(h_in), sel(h_out)
            rows.append(
                GainRow(
                    underlying=chains[0].underlying,
                    kind=kind,
                    bucket="all" if b is None else f"{sign * b:+.1f}",
                    n_in=int(mi.sum()),
                    n_out=int(mo.sum()),
                    mv_in=_gain(h_in, mv_in, mi),
                    mv_out=_gain(h_out, mv_out, mo),
                    sm_in=_gain(h_in, sm_in, mi),
                    sm_out=_gain(h_out, sm_out, mo),
                    ss_in=_gain(h_in, ss_in, mi),
                    ss_out=_gain(h_out, ss_out, mo),
                    coeffs=coef,
                )
            )
    return rows


__all__ = ["BUCKETS", "GainRow", "hedge_gain_table"]

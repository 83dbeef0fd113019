"""Implied total volatility of a normalised out-of-the-money Black price (numba).

Implied volatility follows the structure of Jaeckel (2015), "Let's Be Rational",
Wilmott 2015(75):40-53: work with the normalised price ``beta = V / (DF sqrt(F K))`` of the
out-of-the-money option (put-call parity, so no cancellation against intrinsic value),
as a call on ``x = -|ln(F/K)| <= 0``::

    b(x, s) = exp(x/2) N(x/s + s/2) - exp(-x/2) N(x/s - s/2),   s = sigma sqrt(T)

split the range of ``b`` into three branches at the tangents through the inflection point
``s_c = sqrt(2|x|)``, start from a cubic Hermite interpolation of the inverse (lower branch:
in ``w = sqrt(-1/ln b)``, where ``s ~ |x| w / sqrt(2)`` near 0; middle: in ``b``) or an
asymptotic expansion (upper branch), and run Householder(3) steps on the objective that is
nearly linear on each branch:
``1/ln b`` (lower), ``b`` (middle), ``ln(b_max - b)`` (upper), with ``b_max = exp(x/2)``.
A bracket is kept, and a step that leaves it is replaced by bisection, so the iteration
always converges. Derivatives used (from ``b' = e^{x/2} n(d1)``, as in Jaeckel 2015)::

    b'(s)    = exp(-(h^2 + t^2)/2) / sqrt(2 pi),          h = x/s, t = s/2
    b''/b'   = h^2/s - s/4
    b'''/b'  = (h^2/s - s/4)^2 - 3 h^2/s^2 - 1/4
"""

from __future__ import annotations

import math

from numba import njit

from deltahedge.pricing._special import (
    ERF_SMALL_D,
    HALF_LN_2PI,
    INV_SQRT2,
    INV_SQRT_2PI,
    _erf_small,
    norm_cdf,
    norm_tail_given_pdf,
)

_MAX_ITER = 40


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
    if abs(d1) <= ERF_SMALL_D and abs(d2) <= ERF_SMALL_D:
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
def _lower_hermite(x: float, ln_beta: float, s_l: float, b_l: float, v_l: float) -> float:
    # In w = sqrt(-1/ln b), s(w) is nearly linear on the lower branch: s ~ |x| w / sqrt(2)
    # as s -> 0 (ln b ~ -x^2 / (2 s^2)). Cubic Hermite on [0, w_l] with that slope at 0
    # and ds/dw = 2 b / (w^3 b') at s_l.
    w = math.sqrt(-1.0 / ln_beta)
    w_l = math.sqrt(-1.0 / math.log(b_l))
    m0 = -x * INV_SQRT2
    m1 = 2.0 * b_l / (w_l * w_l * w_l * v_l)
    u = w / w_l
    u2 = u * u
    u3 = u2 * u
    return (u3 - 2.0 * u2 + u) * w_l * m0 + (3.0 * u2 - 2.0 * u3) * s_l + (u3 - u2) * w_l * m1


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
        ``s`` with ``b(x, s) == beta`` to machine precision; +inf when ``beta`` is at or
        above ``exp(x/2)`` (no solution); NaN for NaN input or when no iteration budget
        suffices (not seen in tests).
    """
    ex2 = math.exp(0.5 * x)
    emx2 = 1.0 / ex2
    b_max = ex2
    if not (beta < b_max):
        return math.inf if beta >= b_max else math.nan
    ln_beta = math.log(beta)
    gap_target = b_max - beta
    s_c = math.sqrt(-2.0 * x)
    lo = 0.0
    hi = math.inf
    mode = 1  # 0 lower (1/ln b), 1 middle (b), 2 upper (ln(b_max - b))
    if s_c > 0.0:
        # at s_c: d1 = 0, d2 = -s_c, b' = e^{x/2} n(0), n(d2) = e^{x/2} b'  (no exp needed)
        v_c = INV_SQRT_2PI * ex2
        tail_c = norm_tail_given_pdf(-s_c, v_c * ex2)
        b_c = max(0.5 * ex2 - emx2 * tail_c, 0.0)
        gap_c = 0.5 * ex2 + emx2 * tail_c
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
            s = _lower_hermite(x, ln_beta, s_l, b_l, v_l)
            if not (s > 0.0 and s < s_l):
                s = _lower_guess(x, ln_beta)
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
            s = _upper_guess(x, math.log(gap_target))
            if not math.isfinite(s):
                s = 2.0 * s_u
        else:
            hi = s_u
            s = _inverse_hermite(beta, b_c, b_u, s_c, s_u, v_c, v_u)
    if not (s > lo and s < hi):
        s = 0.5 * (lo + hi) if hi < math.inf else 2.0 * lo + 1.0
    inv_ln_beta = 1.0 / ln_beta
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
        inv_s = 1.0 / s
        h = x * inv_s
        h2s = h * h * inv_s
        r2 = h2s - 0.25 * s  # b''/b'
        r3 = r2 * r2 - 3.0 * h2s * inv_s - 0.25  # b'''/b'
        if mode == 0:
            lb = math.log(b) if b > 0.0 else -math.inf
            # f = 1/ln b - 1/ln beta, G(b) = 1/ln b; with q = b'/b:
            # G' b' = -q / ln^2 b,  (G''/G') b' = -q (ln b + 2)/ln b,
            # (G'''/G') b'^2 = q^2 (2 + 6/ln b + 6/ln^2 b)
            inv_lb = 1.0 / lb
            q = bp / b
            f = inv_lb - inv_ln_beta
            fp = -q * inv_lb * inv_lb
            g2q = -(lb + 2.0) * inv_lb * q
            h2 = g2q + r2
            h3 = (2.0 + 6.0 * inv_lb + 6.0 * inv_lb * inv_lb) * q * q + 3.0 * g2q * r2 + r3
        elif mode == 1:
            f = b - beta
            fp = bp
            h2 = r2
            h3 = r3
        else:
            # f = ln(b_max - b) - ln(b_max - beta);  G = ln(gap), G' = -1/gap
            f = math.log(gap) - ln_gap_target
            q = bp / gap
            fp = -q
            h2 = q + r2
            h3 = 2.0 * q * q + 3.0 * q * r2 + r3
        if not (math.isfinite(fp) and fp != 0.0 and math.isfinite(f)):
            # b under- or overflowed at this s (far from the root): bisect
            s = 0.5 * (lo + hi) if hi < math.inf else 2.0 * s
            continue
        nu = -f / fp
        factor = _householder_factor(nu, h2, h3)
        # far from the root (e.g. b underflowing) the Householder factor can shrink a
        # huge Newton step to a tiny one: then take the Newton step, which the bracket
        # turns into bisection, and never take a small step for convergence
        if not (factor > 0.0 and factor < 2.0):
            factor = 1.0
        ds = nu * factor
        s_new = s + ds
        if abs(ds) <= 1e-6 * s and abs(nu) <= 1e-5 * s:
            # Householder(3) converges cubically: after a step this small the error is
            # below machine precision (the step itself may cross the bracket by an ulp).
            return s_new
        if not (s_new > lo and s_new < hi):  # also catches NaN
            s_new = 0.5 * (lo + hi) if hi < math.inf else 2.0 * s
        s = s_new
    return math.nan


__all__ = ["normalised_black", "normalised_implied_s"]

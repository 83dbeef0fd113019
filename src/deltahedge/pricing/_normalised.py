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

The computations themselves are the branch-free functions of ``_nsteps`` (shared with
the block solver ``_iv_block``, so both give the same bits); this module holds the
scalar driver and the branching code for the rare cases (upper-branch guess, fixed-point
lower guess with the C library's log, bisection).
"""

from __future__ import annotations

import math

from numba import njit

from deltahedge.pricing._nsteps import (
    CONTINUE,
    DONE,
    b_from,
    b_otm_v,
    clamp_guess,
    coefficients,
    exp_s,
    householder_factor,
    inverse_hermite,
    iterate_v,
    log_s,
    lower_guess_v,
    lower_hermite,
    setup_v,
)
from deltahedge.pricing._special import (
    FM,
    HALF_LN_2PI,
    INV_SQRT_2PI,
    norm_cdf,
    tail_and_erf_branchless,
)
from deltahedge.pricing._vmath import exp_in_range, log_in_range

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


@njit(cache=True, error_model="numpy", fastmath=FM)
def _b_otm(x: float, s: float, ex2: float, emx2: float) -> tuple[float, float, float]:
    # (b, b_max - b, b') for x <= 0 and s > 0 (nsteps.b_otm_v, the C library's exp where
    # the fast one does not hold)
    b, gap, bp, ok = b_otm_v(x, s, ex2, emx2)
    if not ok:
        h = x / s
        t = 0.5 * s
        bp = INV_SQRT_2PI * math.exp(-0.5 * (h * h + t * t))
        b, gap = b_from(x, h, t, ex2, emx2, bp)
    return b, gap, bp


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


@njit(cache=True, error_model="numpy", fastmath=FM)
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
    ex2 = exp_s(0.5 * x)
    emx2 = 1.0 / ex2
    b_max = ex2
    if not (beta < b_max):
        return math.inf if beta >= b_max else math.nan
    ln_beta = log_s(beta)
    gap_target = b_max - beta
    mode, s, lo, hi, plain, need_guess = setup_v(beta, x, ex2, emx2, ln_beta)
    if need_guess:
        s, ok = lower_guess_v(x, ln_beta)
        plain = plain and ok
    s = clamp_guess(s, lo, hi)
    if not (plain and exp_in_range(0.5 * x) and log_in_range(beta)):
        mode, s, lo, hi = _setup_scalar(beta, x, ex2, emx2, ln_beta, gap_target)
    inv_ln_beta = 1.0 / ln_beta
    ln_gap_target = log_s(gap_target) if mode == 2.0 else 0.0
    return iterate_from(
        mode, x, beta, ex2, emx2, inv_ln_beta, ln_gap_target, gap_target, s, lo, hi, 0
    )


@njit(cache=True, error_model="numpy", fastmath=FM)
def _setup_scalar(
    beta: float, x: float, ex2: float, emx2: float, ln_beta: float, gap_target: float
) -> tuple[float, float, float, float]:
    # setup_v with branches, for the cases it leaves to the scalar code: the upper-branch
    # guess, the fixed-point lower guess, exp or log outside the fast range
    b_max = ex2
    s_c = math.sqrt(-2.0 * x)
    lo = 0.0
    hi = math.inf
    mode = 1.0  # 0 lower (1/ln b), 1 middle (b), 2 upper (ln(b_max - b))
    if s_c > 0.0:
        # at s_c: d1 = 0, d2 = -s_c, b' = e^{x/2} n(0), n(d2) = e^{x/2} b'  (no exp needed)
        v_c = INV_SQRT_2PI * ex2
        tail_c = tail_and_erf_branchless(-s_c, v_c * ex2)[0]
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
            mode = 0.0
            hi = s_l
            s = lower_hermite(x, ln_beta, s_l, b_l, v_l, log_s(b_l))
            if not (s > 0.0 and s < s_l):
                s = _lower_guess(x, ln_beta)
        else:
            lo = max(s_l, 0.0)
            s = inverse_hermite(beta, b_l, b_c, lo, s_c, v_l, v_c)
    else:
        lo = s_c
        s_u = s_c + gap_c / v_c
        b_u, gap_u, v_u = _b_otm(x, s_u, ex2, emx2)
        if b_max - beta < gap_u:
            mode = 2.0
            lo = s_u
            s = _upper_guess(x, log_s(gap_target))
            if not math.isfinite(s):
                s = 2.0 * s_u
        else:
            hi = s_u
            s = inverse_hermite(beta, b_c, b_u, s_c, s_u, v_c, v_u)
    if not (s > lo and s < hi):
        s = 0.5 * (lo + hi) if hi < math.inf else 2.0 * lo + 1.0
    return mode, s, lo, hi


@njit(cache=True, error_model="numpy", fastmath=FM)
def iterate_from(
    mode: float,
    x: float,
    beta: float,
    ex2: float,
    emx2: float,
    inv_ln_beta: float,
    ln_gap_target: float,
    gap_target: float,
    s: float,
    lo: float,
    hi: float,
    it0: int,
) -> float:
    """The solver's iterations from step ``it0`` on, from iterate ``s`` in ``(lo, hi)``.

    Each step is ``_nsteps.iterate_v``; where that says IRREGULAR the step is redone
    here with branches: the C library's exp and log, bisection when the Householder step
    is unusable or leaves the bracket. NaN after ``_MAX_ITER`` steps in all.
    """
    for _it in range(it0, _MAX_ITER):
        code, s_new, lo_new, hi_new = iterate_v(
            mode, x, beta, ex2, emx2, inv_ln_beta, ln_gap_target, gap_target, s, lo, hi
        )
        if code == DONE:
            return s_new
        if code == CONTINUE:
            s, lo, hi = s_new, lo_new, hi_new
            continue
        b, gap, bp = _b_otm(x, s, ex2, emx2)
        if mode == 2.0:
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
        lg = 0.0
        if mode == 0.0:
            lg = log_s(b) if b > 0.0 else -math.inf
        elif mode == 2.0:
            lg = log_s(gap)
        f, fp, h2, h3 = coefficients(mode, x, s, beta, inv_ln_beta, ln_gap_target, b, gap, bp, lg)
        if not (math.isfinite(fp) and fp != 0.0 and math.isfinite(f)):
            # b under- or overflowed at this s (far from the root): bisect
            s = 0.5 * (lo + hi) if hi < math.inf else 2.0 * s
            continue
        nu = -f / fp
        factor = householder_factor(nu, h2, h3)
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


__all__ = ["iterate_from", "normalised_black", "normalised_implied_s"]

"""Branch-free pieces of the implied-vol solver, shared by its scalar and block forms.

``_normalised.normalised_implied_s`` (one option, branches) and ``_iv_block`` (blocks of
options, SIMD passes) both call these functions, so an option solved in a block goes
through exactly the arithmetic the scalar solver would have done (the tests compare the
two to 1e-14, and an ill-conditioned price would show any difference of rounding). Each
function is straight-line code (both sides of a choice computed, then selected) that
numba can vectorise: the fast ``_vmath.vexp``/``vlog`` instead of the C library, with a
flag saying whether their arguments were in range. Where a flag is down, or the solver
takes a rare branch (upper-branch guess, bisection), the caller takes the scalar path,
which for those cases is the original branching code with the C library's functions.

Notation as in ``_normalised``: ``x = -|ln(F/K)| <= 0``, ``s = sigma sqrt(T)``,
``ex2 = exp(x/2)``, ``emx2 = 1/ex2``, ``bp = b'(s)``; modes 0 (lower branch, objective
``1/ln b``), 1 (middle, ``b``), 2 (upper, ``ln(b_max - b)``).
"""

from __future__ import annotations

import math

from numba import njit

from deltahedge.pricing._special import (
    ERF_SMALL_D,
    FM,
    HALF_LN_2PI,
    INV_SQRT2,
    INV_SQRT_2PI,
    tail_and_erf_branchless,
)
from deltahedge.pricing._vmath import exp_in_range, log_in_range, vexp, vlog

#: outcome codes of ``iterate_v``
CONTINUE = 0
DONE = 1
IRREGULAR = 2

_SIXTH = 1.0 / 6.0
_SINH = tuple(1.0 / math.factorial(k) for k in range(3, 16, 2))


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def exp_s(a: float) -> float:
    """``vexp(a)`` in its range, else the C library's ``exp`` (scalar code only)."""
    return vexp(a) if exp_in_range(a) else math.exp(a)


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def log_s(a: float) -> float:
    """``vlog(a)`` in its range, else the C library's ``log`` (scalar code only)."""
    return vlog(a) if log_in_range(a) else math.log(a)


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def _sinh_small(u: float) -> float:
    # sinh(u) for |u| <= 0.44 (all the near-the-money formula needs): odd Taylor series to
    # u^15; the next term is below 2e-20 relative
    u2 = u * u
    c = _SINH
    p = c[5] + u2 * c[6]
    p = c[4] + u2 * p
    p = c[3] + u2 * p
    p = c[2] + u2 * p
    p = c[1] + u2 * p
    p = c[0] + u2 * p
    return u + u * u2 * p


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def b_from(x: float, h: float, t: float, ex2: float, emx2: float, bp: float) -> tuple[float, float]:
    """``(b, b_max - b)`` at ``d1 = h + t``, ``d2 = h - t`` given ``bp = b'``.

    Both tails ``N(-|d|)`` from Cody's erfcx times the density (``n(d1) = bp/ex2``,
    ``n(d2) = bp ex2``); ``b_max - b = e^{x/2} N(-d1) + e^{-x/2} N(d2)`` is a sum of
    positive terms. Near the money (|d1|, |d2| <= 0.663) ``b = sinh(x/2) +
    (e^{x/2} erf(d1/sqrt2) - e^{-x/2} erf(d2/sqrt2))/2``, same-signed terms.
    """
    d1 = h + t
    d2 = h - t  # < 0
    tail1, e1 = tail_and_erf_branchless(d1, bp * emx2)
    nd2, e2 = tail_and_erf_branchless(d2, bp * ex2)
    near = (abs(d1) <= ERF_SMALL_D) & (abs(d2) <= ERF_SMALL_D)
    e1s = e1 if d1 >= 0.0 else -e1
    e2s = e2 if d2 >= 0.0 else -e2
    # near: |x| = s |d1 + d2| / 2 <= 1.33 * 0.663, so |x/2| <= 0.44
    b_near = _sinh_small(0.5 * x) + 0.5 * (ex2 * e1s - emx2 * e2s)
    gap_near = 0.5 * (ex2 * (1.0 - e1s) + emx2 * (1.0 + e2s))
    nd1 = tail1 if d1 < 0.0 else 1.0 - tail1
    nmd1 = 1.0 - tail1 if d1 < 0.0 else tail1
    b_far = ex2 * nd1 - emx2 * nd2
    gap_far = ex2 * nmd1 + emx2 * nd2
    b = b_near if near else b_far
    return max(b, 0.0), (gap_near if near else gap_far)


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def density_v(x: float, s: float) -> tuple[float, float, float, bool]:
    """``(h, t, b', exp in range)`` at ``s > 0``: ``h = x/s``, ``t = s/2``, one fast exp."""
    h = x / s
    t = 0.5 * s
    a = -0.5 * (h * h + t * t)
    return h, t, INV_SQRT_2PI * vexp(a), exp_in_range(a)


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def b_otm_v(x: float, s: float, ex2: float, emx2: float) -> tuple[float, float, float, bool]:
    """``(b, b_max - b, b', exp in range)`` at ``s > 0`` (one fast exp)."""
    h, t, bp, ok = density_v(x, s)
    b, gap = b_from(x, h, t, ex2, emx2, bp)
    return b, gap, bp, ok


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def householder_factor(nu: float, h2: float, h3: float) -> float:
    return (1.0 + 0.5 * h2 * nu) / (1.0 + nu * (h2 + h3 * nu * _SIXTH))


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def lower_hermite(
    x: float, ln_beta: float, s_l: float, b_l: float, v_l: float, ln_b_l: float
) -> float:
    """First guess on the lower branch, given ``ln_b_l = ln b(s_l)``.

    In ``w = sqrt(-1/ln b)``, ``s(w)`` is nearly linear on the lower branch: ``s ~ |x| w /
    sqrt(2)`` as s -> 0 (``ln b ~ -x^2 / (2 s^2)``). Cubic Hermite on ``[0, w_l]`` with
    that slope at 0 and ``ds/dw = 2 b / (w^3 b')`` at ``s_l``.
    """
    w = math.sqrt(-1.0 / ln_beta)
    w_l = math.sqrt(-1.0 / ln_b_l)
    m0 = -x * INV_SQRT2
    m1 = 2.0 * b_l / (w_l * w_l * w_l * v_l)
    u = w / w_l
    u2 = u * u
    u3 = u2 * u
    return (u3 - 2.0 * u2 + u) * w_l * m0 + (3.0 * u2 - 2.0 * u3) * s_l + (u3 - u2) * w_l * m1


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def inverse_hermite(
    beta: float, b0: float, b1: float, s0: float, s1: float, v0: float, v1: float
) -> float:
    """Cubic Hermite interpolation of the inverse ``s(b)`` on ``[b0, b1]``, ``ds/db = 1/b'``.

    The chord when a slope is unusable or the cubic leaves ``(s0, s1)``; the midpoint when
    ``b1 <= b0``.
    """
    db = b1 - b0
    u = (beta - b0) / db
    chord = s0 + (s1 - s0) * u
    u2 = u * u
    u3 = u2 * u
    s = (
        (2.0 * u3 - 3.0 * u2 + 1.0) * s0
        + (u3 - 2.0 * u2 + u) * db / v0
        + (3.0 * u2 - 2.0 * u3) * s1
        + (u3 - u2) * db / v1
    )
    usable = (v0 > 0.0) & (v1 > 0.0) & (s > s0) & (s < s1)
    s = s if usable else chord
    return s if db > 0.0 else 0.5 * (s0 + s1)


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def setup_a(
    beta: float, x: float, ex2: float, emx2: float
) -> tuple[float, float, float, float, float, float]:
    """The tangent points: ``(s_c, b'(s_c), b(s_c), s_l, s_u, s_e)``.

    The three branches of Jaeckel (2015) meet at the tangents through the inflection
    point ``s_c = sqrt(2|x|)``, at ``s_l = s_c - b_c/b'_c`` and ``s_u = s_c + (b_max -
    b_c)/b'_c``; ``s_e`` is the one on beta's side where ``b`` is needed next (``s_l`` when
    ``beta < b_c``, else ``s_u``), 0 where there is none (``s_l <= 0``).
    """
    b_max = ex2
    s_c = math.sqrt(-2.0 * x)
    pos = s_c > 0.0
    # at s_c: d1 = 0, d2 = -s_c, b' = e^{x/2} n(0), n(d2) = e^{x/2} b' (no exp needed)
    v_c = INV_SQRT_2PI * ex2 if pos else INV_SQRT_2PI
    tail_c, _e = tail_and_erf_branchless(-s_c, v_c * ex2)
    b_c = max(0.5 * ex2 - emx2 * tail_c, 0.0) if pos else 0.0
    gap_c = 0.5 * ex2 + emx2 * tail_c if pos else b_max
    lower = beta < b_c
    s_l = s_c - b_c / v_c
    s_u = s_c + gap_c / v_c
    s_e = s_l if lower else s_u
    return s_c, v_c, b_c, s_l, s_u, max(s_e, 0.0)


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def setup_c(
    beta: float,
    x: float,
    ex2: float,
    ln_beta: float,
    s_c: float,
    v_c: float,
    b_c: float,
    s_l: float,
    s_u: float,
    b_e: float,
    gap_e: float,
    v_e: float,
) -> tuple[float, float, float, float, bool, bool]:
    """Branch and first guess from ``b, b_max - b, b'`` at ``s_e`` (0, 0, 0 if ``s_e = 0``):
    ``(mode, s, lo, hi, plain, need_guess)``.

    ``plain`` is False where the scalar solver must decide (the upper-branch guess, a log
    out of the fast range); ``need_guess`` where the lower-branch Hermite guess left its
    interval (then ``lower_guess_v`` gives ``s``). ``s`` still has to go through
    ``clamp_guess``.
    """
    b_max = ex2
    lower = beta < b_c
    # lower branch, below b(s_l): objective 1/ln b, Hermite guess in w
    m0 = lower & (beta < b_e)
    s0 = lower_hermite(x, ln_beta, s_l, b_e, v_e, vlog(b_e))
    ok0 = (s0 > 0.0) & (s0 < s_l)
    # middle branch, either side of s_c: objective b, Hermite guess of the inverse
    lo_l = max(s_l, 0.0)
    s1 = inverse_hermite(
        beta,
        b_e if lower else b_c,
        b_c if lower else b_e,
        lo_l if lower else s_c,
        s_c if lower else s_u,
        v_e if lower else v_c,
        v_c if lower else v_e,
    )
    m2 = (not lower) & (b_max - beta < gap_e)
    mode = 0.0 if m0 else (2.0 if m2 else 1.0)
    s = s0 if m0 else s1
    lo = 0.0 if m0 else (lo_l if lower else s_c)
    hi = s_l if m0 else (s_c if lower else s_u)
    plain = (not m2) & (log_in_range(b_e) | (not m0))
    return mode, s, lo, hi, plain, m0 & (not ok0)


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def setup_v(
    beta: float, x: float, ex2: float, emx2: float, ln_beta: float
) -> tuple[float, float, float, float, bool, bool]:
    """``setup_a``, ``b`` at ``s_e`` and ``setup_c``: ``(mode, s, lo, hi, plain,
    need_guess)``, ``plain`` also False where the exp at ``s_e`` is out of range."""
    s_c, v_c, b_c, s_l, s_u, s_e = setup_a(beta, x, ex2, emx2)
    ev = s_e > 0.0
    b_e, gap_e, v_e, ok = b_otm_v(x, s_e if ev else 1.0, ex2, emx2)
    b_e = b_e if ev else 0.0
    v_e = v_e if ev else 0.0
    mode, s, lo, hi, plain, need = setup_c(
        beta, x, ex2, ln_beta, s_c, v_c, b_c, s_l, s_u, b_e, gap_e, v_e
    )
    return mode, s, lo, hi, plain & (ok | (not ev)), need


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def lower_guess_v(x: float, ln_beta: float) -> tuple[float, bool]:
    """Lower-branch guess where the Hermite one leaves its interval: ``(s, logs in range)``.

    ``ln b ~ -(h^2 + t^2)/2 - ln sqrt(2 pi) + ln s - ln(h^2 - t^2)`` for ``|h| >> t``
    (Mills ratio); two fixed-point passes on ``h^2 = x^2 / s^2``, each stopping the lane
    where the asymptotic form no longer applies.
    """
    s = -x / math.sqrt(-2.0 * ln_beta)
    alive = True
    ok = True
    for _ in range(2):
        h2 = x * x / (s * s)
        t2 = 0.25 * s * s
        gap = h2 - t2
        alive = alive & (gap > 0.0)
        rhs = -ln_beta - 0.5 * t2 - HALF_LN_2PI + vlog(s) - vlog(gap)
        ok = ok & ((not alive) | (log_in_range(s) & log_in_range(gap)))
        alive = alive & (rhs > 0.0)
        s = -x / math.sqrt(2.0 * rhs) if alive else s
    return s, ok


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def clamp_guess(s: float, lo: float, hi: float) -> float:
    """``s`` if inside ``(lo, hi)``, else the midpoint (``2 lo + 1`` when ``hi`` is inf)."""
    if (s > lo) & (s < hi):
        return s
    return 0.5 * (lo + hi) if hi < math.inf else 2.0 * lo + 1.0


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def coefficients(
    mode: float,
    x: float,
    s: float,
    beta: float,
    inv_ln_beta: float,
    ln_gap_target: float,
    b: float,
    gap: float,
    bp: float,
    lg: float,
) -> tuple[float, float, float, float]:
    """``(f, f', f''/f', f'''/f')`` of the branch's objective at ``s``, ``lg = ln b`` (mode 0)
    or ``ln(b_max - b)`` (mode 2); derivatives from ``b' = e^{x/2} n(d1)`` (module doc of
    ``_normalised``)."""
    inv_s = 1.0 / s
    h = x * inv_s
    h2s = h * h * inv_s
    r2 = h2s - 0.25 * s  # b''/b'
    r3 = r2 * r2 - 3.0 * h2s * inv_s - 0.25  # b'''/b'
    q = bp / (b if mode == 0.0 else gap)
    # mode 0: f = 1/ln b - 1/ln beta; with q = b'/b: G' b' = -q / ln^2 b,
    # (G''/G') b' = -q (ln b + 2)/ln b, (G'''/G') b'^2 = q^2 (2 + 6/ln b + 6/ln^2 b)
    inv_lb = 1.0 / lg
    g2q = -(lg + 2.0) * inv_lb * q
    f0 = inv_lb - inv_ln_beta
    fp0 = -q * inv_lb * inv_lb
    h20 = g2q + r2
    h30 = (2.0 + 6.0 * inv_lb + 6.0 * inv_lb * inv_lb) * q * q + 3.0 * g2q * r2 + r3
    # mode 2: f = ln(b_max - b) - ln(b_max - beta), G' = -1/gap
    f2 = lg - ln_gap_target
    h22 = q + r2
    h32 = 2.0 * q * q + 3.0 * q * r2 + r3
    m0 = mode == 0.0
    m1 = mode == 1.0
    f = f0 if m0 else (b - beta if m1 else f2)
    fp = fp0 if m0 else (bp if m1 else -q)
    h2 = h20 if m0 else (r2 if m1 else h22)
    h3 = h30 if m0 else (r3 if m1 else h32)
    return f, fp, h2, h3


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def objective_v(
    mode: float,
    x: float,
    s: float,
    beta: float,
    inv_ln_beta: float,
    ln_gap_target: float,
    b: float,
    gap: float,
    bp: float,
) -> tuple[float, float, float, float, bool]:
    """``coefficients`` with the fast log: ``(f, f', f''/f', f'''/f', log in range)``."""
    lg_arg = b if mode == 0.0 else gap
    lg = vlog(lg_arg)
    ok_l = log_in_range(lg_arg) | (mode == 1.0)
    f, fp, h2, h3 = coefficients(mode, x, s, beta, inv_ln_beta, ln_gap_target, b, gap, bp, lg)
    return f, fp, h2, h3, ok_l


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def step_c(
    mode: float,
    beta: float,
    gap_target: float,
    s: float,
    lo: float,
    hi: float,
    b: float,
    gap: float,
    f: float,
    fp: float,
    h2: float,
    h3: float,
    ok_l: bool,
) -> tuple[int, float, float, float]:
    """One Householder(3) step from the objective at ``s``: ``(code, s, lo, hi)``.

    ``DONE``: ``s`` is the answer (``b == beta`` exactly, or a step below 1e-6 s: its
    error is below machine precision). ``CONTINUE``: the next iterate and bracket.
    ``IRREGULAR``: state unchanged; the caller repeats this step with the scalar code
    (bisection, a log out of the fast range).
    """
    below = gap > gap_target if mode == 2.0 else b < beta
    above = gap < gap_target if mode == 2.0 else b > beta
    exact = (not below) & (not above)
    lo2 = max(lo, s) if below else lo
    hi2 = min(hi, s) if above else hi
    regular = (abs(fp) < math.inf) & (fp != 0.0) & (abs(f) < math.inf)
    nu = -f / fp
    factor = householder_factor(nu, h2, h3)
    # far from the root the factor can shrink a huge Newton step to a tiny one: then
    # the Newton step, which the bracket turns into bisection
    factor = factor if (factor > 0.0) & (factor < 2.0) else 1.0
    ds = nu * factor
    s_new = s + ds
    small = (abs(ds) <= 1e-6 * s) & (abs(nu) <= 1e-5 * s)
    inside = (s_new > lo2) & (s_new < hi2)
    # in the scalar solver's order: exact hit, unusable step (bisect), converged, inside
    # the bracket, outside it (bisect); selects, not branches
    stepped = ok_l & regular & (small | inside)
    code = DONE if small else CONTINUE
    code = code if stepped else IRREGULAR
    code = DONE if exact else code
    move = (code != IRREGULAR) & (not exact)
    cont = code == CONTINUE
    return code, (s_new if move else s), (lo2 if cont else lo), (hi2 if cont else hi)


@njit(cache=True, error_model="numpy", fastmath=FM, inline="always")
def iterate_v(
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
) -> tuple[int, float, float, float]:
    """``density_v``, ``b_from`` and ``step_c``: one step; ``IRREGULAR`` also where the
    exp is out of the fast range."""
    h, t, bp, ok_e = density_v(x, s)
    b, gap = b_from(x, h, t, ex2, emx2, bp)
    f, fp, h2, h3, ok_l = objective_v(mode, x, s, beta, inv_ln_beta, ln_gap_target, b, gap, bp)
    code, s2, lo2, hi2 = step_c(mode, beta, gap_target, s, lo, hi, b, gap, f, fp, h2, h3, ok_l)
    if not ok_e:
        return IRREGULAR, s, lo, hi
    return code, s2, lo2, hi2


__all__ = [
    "CONTINUE",
    "DONE",
    "IRREGULAR",
    "b_from",
    "b_otm_v",
    "clamp_guess",
    "coefficients",
    "density_v",
    "exp_s",
    "householder_factor",
    "inverse_hermite",
    "iterate_v",
    "log_s",
    "lower_guess_v",
    "lower_hermite",
    "objective_v",
    "setup_a",
    "setup_c",
    "setup_v",
    "step_c",
]

"""A compiled differential-evolution search on a slice's own per-slice targets.

The least-squares fits of ``fit.py`` minimise smooth surrogates; a few slices still miss
a target that some butterfly-free SVI slice meets. ``de_refine`` searches raw SVI
parameters ``(a, b, rho, m, ln sigma)`` directly on the lexicographic score
``1000 * (targets missed) + (quoted rows outside their bid-ask IV) + 10 * median
|fit - mark|`` (the median in vol decimals, so it only breaks ties between equal
counts), rejecting candidates that break ``b >= 0``, ``|rho| <= rho_max``, Lee's wing
bound ``b (1 + |rho|) <= 2``, a negative minimum variance or Durrleman's ``g >= 0`` on
the check grid. It is DE/rand/1/bin (Storn and Price 1997) with a fixed-seed xorshift
generator, so the result is deterministic and ``de_refine.py_func`` is its readable
twin (same code under the Python interpreter).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Per-slice targets (issue 3), vol decimals and share of quoted rows.
MEDIAN_TARGET = 0.005
INSIDE_TARGET = 0.9


@njit(cache=True)
def _rand(state):  # type: ignore[no-untyped-def]
    # xorshift64* (Vigna 2016) on a one-element uint64 array; uniform in [0, 1)
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return float((x * np.uint64(2685821657736338717)) >> np.uint64(11)) / 9007199254740992.0


@njit(cache=True)
def _butterfly_free(a, b, rho, m, s, kg):  # type: ignore[no-untyped-def]
    # Durrleman's g >= 0 (and w > 0) on the grid kg (svi.durrleman_g)
    if b == 0.0 and a == a:
        # a flat smile (w = a, w' = w'' = 0, so g = 1): the loop's answer without the loop
        # (many DE trials sit on the b = 0 bound)
        return a > 0.0
    for i in range(kg.shape[0]):
        y = kg[i] - m
        r = math.sqrt(y * y + s * s)
        w = a + b * (rho * y + r)
        if w <= 0.0:
            return False
        w1 = b * (rho + y / r)
        w2 = b * s * s / (r * r * r)
        t = 1.0 - kg[i] * w1 / (2.0 * w)
        if t * t - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2 < 0.0:
            return False
    return True


@njit(cache=True)
def _score(x, T, k, mark, rk, rbid, rask, rho_max, buf):  # type: ignore[no-untyped-def]
    # The score without the butterfly check (inf when a parameter bound is broken).
    a, b, rho, m, s = x[0], x[1], x[2], x[3], math.exp(x[4])
    if not (b >= 0.0 and abs(rho) <= rho_max and b * (1.0 + abs(rho)) <= 2.0):
        return np.inf
    if a + b * s * math.sqrt(1.0 - rho * rho) < 0.0:
        return np.inf
    n_out = 0
    for i in range(rk.shape[0]):
        y = rk[i] - m
        v = math.sqrt(max(a + b * (rho * y + math.sqrt(y * y + s * s)), 0.0) / T)
        if v < rbid[i] or v > rask[i]:
            n_out += 1
    for i in range(k.shape[0]):
        y = k[i] - m
        w = a + b * (rho * y + math.sqrt(y * y + s * s))
        buf[i] = abs(math.sqrt(max(w, 0.0) / T) - mark[i])
    med = np.median(buf)
    nr = rk.shape[0]
    missed = (med > MEDIAN_TARGET) + ((nr - n_out) / nr < INSIDE_TARGET)
    return 1000.0 * missed + n_out + 10.0 * med


@njit(cache=True)
def slice_objective(x, T, k, mark, rk, rbid, rask, kg, rho_max, buf):  # type: ignore[no-untyped-def]
    """The score of raw SVI ``x = (a, b, rho, m, ln sigma)`` (module docstring); inf if inadmissible."""
    f = _score(x, T, k, mark, rk, rbid, rask, rho_max, buf)
    if f < np.inf and not _butterfly_free(x[0], x[1], x[2], x[3], math.exp(x[4]), kg):
        return np.inf
    return f


@njit(cache=True)
def de_refine(x0, lo, hi, T, k, mark, rk, rbid, rask, kg, rho_max, n_pop, n_gen, seed, out):  # type: ignore[no-untyped-def]
    """Differential evolution from ``x0`` within ``[lo, hi]``; best point into ``out``, returns its score.

    The population starts at ``x0`` and ``n_pop - 1`` points drawn around it (half the
    box width, clipped to the box); DE/rand/1/bin with ``F = 0.6``, ``CR = 0.9``.
    """
    d = 5
    state = np.empty(1, dtype=np.uint64)
    # splitmix-style seeding: the golden-ratio multiple of the seed, mod 2**64, plus 1
    state[0] = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)
    buf = np.empty(k.shape[0])
    pop = np.empty((n_pop, d))
    fit = np.empty(n_pop)
    trial = np.empty(d)
    for j in range(d):
        pop[0, j] = x0[j]
    for i in range(1, n_pop):
        for j in range(d):
            v = x0[j] + (_rand(state) - 0.5) * (hi[j] - lo[j]) * 0.5
            pop[i, j] = min(max(v, lo[j]), hi[j])
    for i in range(n_pop):
        fit[i] = slice_objective(pop[i], T, k, mark, rk, rbid, rask, kg, rho_max, buf)
    for _ in range(n_gen):
        for i in range(n_pop):
            r1 = int(_rand(state) * n_pop)
            r2 = int(_rand(state) * n_pop)
            r3 = int(_rand(state) * n_pop)
            jr = int(_rand(state) * d)
            for j in range(d):
                if j == jr or _rand(state) < 0.9:
                    v = pop[r1, j] + 0.6 * (pop[r2, j] - pop[r3, j])
                    trial[j] = min(max(v, lo[j]), hi[j])
                else:
                    trial[j] = pop[i, j]
            # once the population has converged most trials are their parent again
            # (pop[r2] == pop[r3]): scoring one would change nothing, so it is skipped
            same = True
            for j in range(d):
                if trial[j] != pop[i, j]:
                    same = False
            if same:
                continue
            # the (longer) butterfly check only for a trial that would replace its parent
            f = _score(trial, T, k, mark, rk, rbid, rask, rho_max, buf)
            if f <= fit[i] and _butterfly_free(
                trial[0], trial[1], trial[2], trial[3], math.exp(trial[4]), kg
            ):
                fit[i] = f
                for j in range(d):
                    pop[i, j] = trial[j]
    best = 0
    for i in range(1, n_pop):
        if fit[i] < fit[best]:
            best = i
    for j in range(d):
        out[j] = pop[best, j]
    return fit[best]


__all__ = ["INSIDE_TARGET", "MEDIAN_TARGET", "de_refine", "slice_objective"]

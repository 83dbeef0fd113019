"""Implied vol of many options at once: the scalar solver's steps in SIMD passes.

``implied_vol_loop`` solves blocks of 128 options. Every option goes through the same
straight-line passes (``_nsteps``: the normalised out-of-the-money price; the tangent
points, ``b`` at the one on beta's side, branch and first guess; then per Householder
step the density, ``b``, the objective and the step), computed for all lanes and
selected, which numba compiles to AVX2 code. After a step the options still iterating
move to the front of the block (once fewer than half are), so later steps cost only
what is left. The scalar code takes what the passes leave: invalid or boundary prices
(the status codes), the upper-branch guess, the fixed-point lower guess (a few per
block), a step that would bisect or needs an exp or log out of the fast range (from
that step on, ``_normalised.iterate_from``). Both paths run the same arithmetic, so each
option gets exactly the value of ``kernels.b76_implied_vol_status`` (tested: equal
arrays, every status code); ``_loops.implied_vol_scalar_loop`` is that plain twin.
Passes are split where the values crossing them are selects or divisions, never a
product that a fused multiply-add could absorb, which keeps the rounding the same.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from deltahedge.pricing._normalised import _MAX_ITER, iterate_from
from deltahedge.pricing._nsteps import (
    CONTINUE,
    DONE,
    IRREGULAR,
    b_from,
    clamp_guess,
    density_v,
    lower_guess_v,
    objective_v,
    setup_a,
    setup_c,
    step_c,
)
from deltahedge.pricing._special import FM
from deltahedge.pricing._vmath import exp_in_range, log_in_range, vexp, vlog
from deltahedge.pricing.kernels import IV_OK, b76_implied_vol_status

_B = 128

# rows of the block work array: the inputs, by lane
_P, _PHI, _F, _K, _T, _R = 0, 1, 2, 3, 4, 5
# the solver's state, by position (lanes still iterating move to the front)
_X, _BETA, _EX2, _EMX2, _ILNB, _GAPT = 6, 7, 8, 9, 10, 11
_MODE, _S, _LO, _HI = 12, 13, 14, 15
_STATE = 16  # 0 scalar from the start, 1 iterating, 2 done, 3 scalar from step _HAND
_HAND = 17
_LANE = 18
_MOVED = (_X, _BETA, _EX2, _EMX2, _ILNB, _GAPT, _MODE, _S, _LO, _HI, _LANE)
# scratch: the tangent points of the setup, then h, t, b', b, b_max - b of each step
_A0 = 19
_ROWS = 28


@njit(cache=True, error_model="numpy", inline="always")
def _gather(w, row, src, stride, b0, m):  # type: ignore[no-untyped-def]
    # w[row, :m] = options b0 .. b0 + m - 1 of a (flat array, stride 0 or 1) input
    if stride == 0:
        c = src[0]
        for j in range(m):
            w[row, j] = c
    elif stride == 1:
        v = src[b0 : b0 + m]
        for j in range(m):
            w[row, j] = v[j]
    else:
        for j in range(m):
            w[row, j] = src[(b0 + j) * stride]


@njit(cache=True, error_model="numpy", fastmath=FM)
def implied_vol_loop(price, spr, phi, sp, F, sF, K, sK, T, sT, r, sr, out, status):  # type: ignore[no-untyped-def]
    """``out[i], status[i]`` = ``kernels.b76_implied_vol_status`` of option i."""
    n = out.shape[0]
    w = np.empty((_ROWS, _B))
    for b0 in range(0, n, _B):
        m = min(_B, n - b0)
        _gather(w, _P, price, spr, b0, m)
        _gather(w, _PHI, phi, sp, b0, m)
        _gather(w, _F, F, sF, b0, m)
        _gather(w, _K, K, sK, b0, m)
        _gather(w, _T, T, sT, b0, m)
        _gather(w, _R, r, sr, b0, m)
        for j in range(m):  # (1) SIMD: the normalised out-of-the-money price
            p = w[_P, j]
            q = w[_PHI, j]
            f = w[_F, j]
            k = w[_K, j]
            t = w[_T, j]
            rr = w[_R, j]
            valid = (f > 0.0) & (k > 0.0) & (t > 0.0) & ((q == 1.0) | (q == -1.0))
            valid = valid & (abs(p + f + k + t + rr) < math.inf)
            a = rr * t
            p = p * vexp(a) if rr != 0.0 else p
            valid = valid & (exp_in_range(a) | (rr == 0.0))
            intrinsic = max(q * (f - k), 0.0)
            valid = valid & (p > intrinsic) & (p < (f if q > 0.0 else k))
            tv = p - intrinsic
            fk = f / k
            x = -abs(vlog(fk))
            beta = tv / math.sqrt(f) / math.sqrt(k)
            ex2 = vexp(0.5 * x)
            valid = valid & log_in_range(fk) & exp_in_range(0.5 * x)
            valid = valid & (beta < ex2) & log_in_range(beta)
            w[_X, j] = x
            w[_BETA, j] = beta
            w[_EX2, j] = ex2
            w[_EMX2, j] = 1.0 / ex2
            w[_ILNB, j] = vlog(beta)  # ln beta for now
            w[_GAPT, j] = ex2 - beta
            w[_STATE, j] = 1.0 if valid else 0.0
        for j in range(m):  # (2a) SIMD: tangent points
            s_c, v_c, b_c, s_l, s_u, s_e = setup_a(w[_BETA, j], w[_X, j], w[_EX2, j], w[_EMX2, j])
            w[_A0, j] = s_c
            w[_A0 + 1, j] = v_c
            w[_A0 + 2, j] = b_c
            w[_A0 + 3, j] = s_l
            w[_A0 + 4, j] = s_u
            w[_A0 + 5, j] = s_e
        for j in range(m):  # (2b) SIMD: b at the tangent point on beta's side
            s_e = w[_A0 + 5, j]
            ev = s_e > 0.0
            x = w[_X, j]
            h, t, bp, ok = density_v(x, s_e if ev else 1.0)
            b, gap = b_from(x, h, t, w[_EX2, j], w[_EMX2, j], bp)
            w[_A0 + 6, j] = b if ev else 0.0
            w[_A0 + 7, j] = gap
            w[_A0 + 8, j] = bp if ev else 0.0
            w[_STATE, j] = w[_STATE, j] if ok | (not ev) else 0.0
        nguess = 0
        for j in range(m):  # (2c) SIMD: branch and first guess
            mode, s, lo, hi, plain, need = setup_c(
                w[_BETA, j], w[_X, j], w[_EX2, j], w[_ILNB, j], w[_A0, j], w[_A0 + 1, j],
                w[_A0 + 2, j], w[_A0 + 3, j], w[_A0 + 4, j], w[_A0 + 6, j], w[_A0 + 7, j],
                w[_A0 + 8, j],
            )  # fmt: skip
            go = plain & (w[_STATE, j] == 1.0)
            w[_MODE, j] = mode
            w[_S, j] = s
            w[_LO, j] = lo
            w[_HI, j] = hi
            w[_STATE, j] = 1.0 if go else 0.0
            w[_HAND, j] = 1.0 if go & need else 0.0
            nguess += go & need
        if nguess:  # the fixed-point lower guess, for the few that need it: packed, SIMD
            k = 0
            for j in range(m):
                if w[_HAND, j] == 1.0:
                    w[_A0, k] = w[_X, j]
                    w[_A0 + 1, k] = w[_ILNB, j]
                    w[_A0 + 2, k] = j
                    k += 1
            for q in range(k):
                s, ok = lower_guess_v(w[_A0, q], w[_A0 + 1, q])
                w[_A0 + 3, q] = s
                w[_A0 + 4, q] = 1.0 if ok else 0.0
            for q in range(k):
                j = int(w[_A0 + 2, q])
                w[_S, j] = w[_A0 + 3, q]
                w[_STATE, j] = w[_A0 + 4, q]
        for j in range(m):
            w[_S, j] = clamp_guess(w[_S, j], w[_LO, j], w[_HI, j])
            w[_ILNB, j] = 1.0 / w[_ILNB, j]
            w[_LANE, j] = j
        npos = _settle(w, m, b0, 0, out, status)
        steps = 0
        while npos > 0 and steps < _MAX_ITER:
            for j in range(npos):  # (3a) SIMD: the density at every iterate
                h, t, bp, ok = density_v(w[_X, j], w[_S, j])
                w[_A0, j] = h
                w[_A0 + 1, j] = t
                w[_A0 + 2, j] = bp
                w[_A0 + 3, j] = 1.0 if ok else 0.0
            for j in range(npos):  # (3b) SIMD: b and b_max - b
                b, gap = b_from(
                    w[_X, j], w[_A0, j], w[_A0 + 1, j], w[_EX2, j], w[_EMX2, j], w[_A0 + 2, j]
                )
                w[_A0 + 4, j] = b
                w[_A0 + 5, j] = gap
            for j in range(npos):  # (3c) SIMD: the objective and its derivatives
                f, fp, h2, h3, ok_l = objective_v(
                    w[_MODE, j], w[_X, j], w[_S, j], w[_BETA, j], w[_ILNB, j], 0.0,
                    w[_A0 + 4, j], w[_A0 + 5, j], w[_A0 + 2, j],
                )  # fmt: skip
                w[_A0, j] = f
                w[_A0 + 1, j] = fp
                w[_A0 + 2, j] = h2
                w[_A0 + 6, j] = h3
                w[_A0 + 7, j] = 1.0 if ok_l & (w[_A0 + 3, j] == 1.0) else 0.0
            nact = 0
            for j in range(npos):  # (3d) SIMD: one Householder step of every iterating option
                code, s, lo, hi = step_c(
                    w[_MODE, j], w[_BETA, j], w[_GAPT, j], w[_S, j], w[_LO, j], w[_HI, j],
                    w[_A0 + 4, j], w[_A0 + 5, j], w[_A0, j], w[_A0 + 1, j], w[_A0 + 2, j],
                    w[_A0 + 6, j], True,
                )  # fmt: skip
                code = code if w[_A0 + 7, j] == 1.0 else IRREGULAR
                act = w[_STATE, j] == 1.0
                cont = act & (code == CONTINUE)
                w[_S, j] = s if act & (code != IRREGULAR) else w[_S, j]
                w[_LO, j] = lo if cont else w[_LO, j]
                w[_HI, j] = hi if cont else w[_HI, j]
                state = 2.0 if code == DONE else (3.0 if code == IRREGULAR else 1.0)
                w[_STATE, j] = state if act else w[_STATE, j]
                w[_HAND, j] = steps if act & (code == IRREGULAR) else w[_HAND, j]
                nact += cont
            steps += 1
            if 2 * nact < npos or nact == 0 or steps == _MAX_ITER:
                npos = _settle(w, npos, b0, steps, out, status)


@njit(cache=True, error_model="numpy", fastmath=FM)
def _settle(w, npos, b0, steps, out, status):  # type: ignore[no-untyped-def]
    # Write out the options that are done, solve those the passes leave with the scalar
    # code (from the start, or from the step that was irregular), move the ones still
    # iterating to the front; return their number.
    k = 0
    for p in range(npos):
        state = w[_STATE, p]
        j = int(w[_LANE, p])
        if state == 1.0 and steps < _MAX_ITER:
            if k != p:
                for row in _MOVED:
                    w[row, k] = w[row, p]
                w[_STATE, k] = 1.0
            k += 1
            continue
        s = math.nan
        if state == 2.0:
            s = w[_S, p]
        elif state != 0.0:
            it0 = steps if state == 1.0 else int(w[_HAND, p])
            s = iterate_from(
                w[_MODE, p], w[_X, p], w[_BETA, p], w[_EX2, p], w[_EMX2, p], w[_ILNB, p],
                0.0, w[_GAPT, p], w[_S, p], w[_LO, p], w[_HI, p], it0,
            )  # fmt: skip
        i = b0 + j
        if math.isfinite(s):
            out[i] = s / math.sqrt(w[_T, j])
            status[i] = IV_OK
        else:  # invalid or boundary input, upper branch, or out of iterations: as the kernel
            v, c = b76_implied_vol_status(
                w[_P, j], w[_PHI, j], w[_F, j], w[_K, j], w[_T, j], w[_R, j]
            )
            out[i] = v
            status[i] = c
    return k


__all__ = ["implied_vol_loop"]

"""A small compiled random-number generator for the path models: xoshiro256** per path.

Blackman and Vigna (2018), "Scrambled linear pseudorandom number generators"
(https://prng.di.unimi.it/xoshiro256starstar.c): 256 bits of state, period 2^256 - 1,
a few nanoseconds a draw. The state is seeded from a 64-bit seed by splitmix64 (as the
authors recommend). Uniforms take the top 53 bits; normals come in pairs from
Marsaglia's polar method, so one Heston step (two correlated shocks) costs one pair.

Each path owns its state (seeded from its word of ``models.path_seeds``), so a path's
numbers depend only on ``(seed, path index)``, whatever thread draws them. The pure-Python
twin ``xoshiro_reference`` is held to the kernel in the tests.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = [
    "exponential",
    "new_state",
    "next_u64",
    "normal_pair",
    "uniform",
    "xoshiro_reference",
]

_MASK = (1 << 64) - 1


@nb.njit(cache=True, inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@nb.njit(cache=True, inline="always")
def _splitmix64(z: np.uint64) -> tuple[np.uint64, np.uint64]:
    z = z + np.uint64(0x9E3779B97F4A7C15)
    r = z
    r = (r ^ (r >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    r = (r ^ (r >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z, r ^ (r >> np.uint64(31))


@nb.njit(cache=True)
def new_state(seed: np.uint64) -> np.ndarray:
    """The 4-word state for ``seed``, filled by splitmix64."""
    s = np.empty(4, dtype=np.uint64)
    z = np.uint64(seed)
    for i in range(4):
        z, s[i] = _splitmix64(z)
    return s


@nb.njit(cache=True, inline="always")
def next_u64(s: np.ndarray) -> np.uint64:
    """The next 64-bit output (xoshiro256**), advancing ``s`` in place."""
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@nb.njit(cache=True, inline="always")
def uniform(s: np.ndarray) -> float:
    """Uniform on [0, 1) from the top 53 bits."""
    return float(next_u64(s) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@nb.njit(cache=True, inline="always")
def normal_pair(s: np.ndarray) -> tuple[float, float]:
    """Two independent standard normals (Marsaglia's polar method)."""
    while True:
        u = 2.0 * uniform(s) - 1.0
        v = 2.0 * uniform(s) - 1.0
        r2 = u * u + v * v
        if 0.0 < r2 < 1.0:
            f = math.sqrt(-2.0 * math.log(r2) / r2)
            return u * f, v * f


@nb.njit(cache=True, inline="always")
def exponential(s: np.ndarray, mean: float) -> float:
    """Exponential with the given mean (inversion: ``-mean ln(1 - U)``)."""
    return -mean * math.log(1.0 - uniform(s))


def xoshiro_reference(seed: int, n: int) -> list[int]:
    """Readable twin: the first ``n`` 64-bit outputs for ``seed`` (splitmix64 seeding)."""

    def rotl(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & _MASK

    z = seed & _MASK
    s = []
    for _ in range(4):
        z = (z + 0x9E3779B97F4A7C15) & _MASK
        r = z
        r = ((r ^ (r >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        r = ((r ^ (r >> 27)) * 0x94D049BB133111EB) & _MASK
        s.append(r ^ (r >> 31))
    out = []
    for _ in range(n):
        out.append((rotl((s[1] * 5) & _MASK, 7) * 9) & _MASK)
        t = (s[1] << 17) & _MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out

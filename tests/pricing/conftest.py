"""Random option inputs shared by the pricing tests (seeded, with extreme rows)."""

from __future__ import annotations

import numpy as np
import pytest

MINUTE = 1.0 / (365.0 * 24 * 60)


def random_inputs(n: int, seed: int = 7, rates: bool = True) -> dict[str, np.ndarray]:
    """``n`` options: log-uniform F, T and sigma; strikes up to 8 standard deviations away.

    The last rows are extremes: 1-minute and 30-year expiries, vols of 0.1% and 500%,
    strikes 8 standard deviations in and out of the money, forwards from 1e-3 to 1e7.
    """
    rng = np.random.default_rng(seed)
    F = np.exp(rng.uniform(np.log(1e-3), np.log(1e7), n))
    T = np.exp(rng.uniform(np.log(MINUTE), np.log(30.0), n))
    sigma = np.exp(rng.uniform(np.log(1e-3), np.log(5.0), n))
    z = rng.uniform(-8.0, 8.0, n)
    r = rng.uniform(-0.05, 0.20, n) if rates else np.zeros(n)
    phi = rng.choice(np.array([1, -1], dtype=np.int8), n)
    m = min(n // 10, 64)
    T[:m] = rng.choice([MINUTE, 30.0], m)
    sigma[:m] = rng.choice([1e-3, 5.0], m)
    z[:m] = rng.choice([-8.0, 8.0], m)
    K = F * np.exp(z * sigma * np.sqrt(T))
    return {"phi": phi, "F": F, "K": K, "T": T, "sigma": sigma, "r": r}


@pytest.fixture(scope="session")
def inputs_100k() -> dict[str, np.ndarray]:
    return random_inputs(100_000)

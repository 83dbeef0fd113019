"""Seeded, compiled price-path models for hedging backtests.

One stepping kernel covers the whole affine jump-diffusion family (Duffie, Pan and
Singleton 2000), in log-forward ``x = ln F`` and variance ``v``, with time in years::

    dx = (mu - v/2 - lam*kbar) dt + sqrt(v) dW1 + Zy dN
    dv = kappa (theta - v) dt + sigma_v sqrt(v) dW2 + Zv dN,   d<W1, W2> = rho dt
    Zv ~ Exp(mean mu_v),  Zy | Zv ~ N(mu_j + rho_j Zv, sigma_j^2),  N ~ Poisson(lam)
    kbar = E[exp(Zy)] - 1 = exp(mu_j + sigma_j^2/2) / (1 - rho_j mu_v) - 1

* **GBM**: ``v = sigma^2`` constant, no jumps (the step is exact).
* **Merton (1976)**: GBM plus log-normal jumps (exact per step).
* **Heston (1993)**: full-truncation Euler (Lord, Koekkoek and van Dijk 2010).
* **Bates (1996)**: Heston plus Merton jumps in price.
* **SVCJ** (Duffie, Pan and Singleton 2000; Eraker, Johannes and Polson 2003): Heston
  plus simultaneous, correlated jumps in price and variance.

Reproducibility: every path ``i`` draws from its own xoshiro256** stream (``_rng``)
seeded with word ``i`` of ``numpy.random.SeedSequence(seed).generate_state(n_paths)``, so
a path's numbers depend only on ``(seed, i)``: not on the thread that computes it, the
chunk it is in or the machine (the Dask sweep relies on this).

BTC defaults (``SVCJ_BTC``) -- Hou, Wang, Chen and Haerdle (2020), "Pricing cryptocurrency
options", J. Financial Econometrics 18(2), MCMC estimates on the CRIX index, as printed
in the public Quantlet ``QuantLet/SFE_class_2017/SFECrixSimu`` (``SFECrixSimu.R``):
kappa 0.187, theta 0.054, sigma_v 0.0069, rho 0.2748, mu_J -0.049, sigma_J^2 2.06,
lambda 0.051, mu_V 0.709, rho_J -0.21. **Units, as checked in the estimation code**
(``SVCJ_crix.m``): the data are ``y = ln(P_t/P_{t-1}) * sqrt(250)`` on daily CRIX
closes (every calendar day), one Euler step per day. So ``V`` is the variance of daily
log returns times 250, rates are per day, and the jump sizes are in units of
``sqrt(250)`` times a log return; the code names the jump-size parameter ``s2J`` and
draws ``N(.., s2J)``, i.e. 2.06 is a *variance*. With ``c = 365/250`` (CRIX trades 365
days a year) the conversion to years and decimal log returns is::

    kappa = 0.187 * 365            = 68.3 / yr     (half-life 3.7 days)
    theta = 0.054 * c              = 0.0788        (28% diffusive vol)
    sigma_v = 0.0069 * sqrt(365 c) = 0.159 / sqrt(yr)
    lam = 0.051 * 365              = 18.6 / yr
    mu_j = -0.049 / sqrt(250)      = -0.0031
    sigma_j = sqrt(2.06 / 250)     = 0.0908
    mu_v = 0.709 * c               = 1.035         (in annual variance)
    rho_j = -0.21 / (sqrt(250) c)  = -0.0091       (log return per unit of annual variance)

which gives a stationary total volatility of about 70%/yr, in line with BTC. The estimation
code stores ``s2V`` (the square of sigma_v); the Quantlet prints 0.0069 as ``sigma_v``
and we take it so; were 0.0069 the variance, sigma_v would be 1.92/sqrt(yr).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import IntEnum

import numba as nb
import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.backtest._rng import exponential, new_state, normal_pair
from deltahedge.core.errors import InvalidInput

__all__ = [
    "BATES_BTC",
    "GBM_BTC",
    "HESTON_BTC",
    "MERTON_BTC",
    "SVCJ_BTC",
    "ModelKind",
    "PathModel",
    "bootstrap_paths",
    "path_seeds",
    "simulate_paths",
    "simulate_paths_reference",
]


class ModelKind(IntEnum):
    """The path models; the integer is what the compiled kernels read."""

    GBM = 0
    MERTON = 1
    HESTON = 2
    BATES = 3
    SVCJ = 4


#: Index of each parameter in ``PathModel.as_array()``.
P_MU, P_V0, P_KAPPA, P_THETA, P_SIGV, P_RHO, P_LAM, P_MUJ, P_SJ, P_MUV, P_RHOJ = range(11)


@dataclass(frozen=True)
class PathModel:
    """Parameters of one affine jump-diffusion, in years and decimal log returns.

    Parameters
    ----------
    kind : ModelKind
    mu : float
        Drift of ``ln F`` before the ``-v/2`` and jump compensator, per year (0: a
        martingale forward, the risk-neutral choice with r = 0).
    v0 : float
        Initial variance per year (sigma^2 for GBM and Merton).
    kappa, theta, sigma_v, rho : float
        Variance mean reversion per year, long-run variance, vol of variance per
        sqrt(year), correlation of the price and variance shocks.
    lam : float
        Jump intensity per year.
    mu_j, sigma_j : float
        Mean and std of the log price jump (given ``Zv``: mean ``mu_j + rho_j Zv``).
    mu_v, rho_j : float
        Mean of the exponential variance jump; its loading on the price jump mean.
    """

    kind: ModelKind
    mu: float = 0.0
    v0: float = 0.36
    kappa: float = 0.0
    theta: float = 0.36
    sigma_v: float = 0.0
    rho: float = 0.0
    lam: float = 0.0
    mu_j: float = 0.0
    sigma_j: float = 0.0
    mu_v: float = 0.0
    rho_j: float = 0.0

    def __post_init__(self) -> None:
        if self.v0 < 0 or self.theta < 0:
            raise InvalidInput(f"variances must be >= 0, got v0={self.v0}, theta={self.theta}")
        if not -1.0 <= self.rho <= 1.0:
            raise InvalidInput(f"rho={self.rho} is outside [-1, 1]")
        if self.lam < 0 or self.sigma_j < 0 or self.mu_v < 0:
            raise InvalidInput(
                f"lam={self.lam}, sigma_j={self.sigma_j}, mu_v={self.mu_v} must all be >= 0"
            )
        if self.rho_j * self.mu_v >= 1.0:
            raise InvalidInput(
                f"rho_j*mu_v={self.rho_j * self.mu_v} must be < 1 for E[exp(Zy)] to exist"
            )

    @property
    def jump_compensator(self) -> float:
        """``kbar = E[exp(Zy)] - 1`` of one price jump (dimensionless)."""
        if self.lam == 0.0:
            return 0.0
        return math.exp(self.mu_j + 0.5 * self.sigma_j**2) / (1.0 - self.rho_j * self.mu_v) - 1.0

    def as_array(self) -> FloatArray:
        """The 11 parameters in the order the kernels read (``P_MU`` ... ``P_RHOJ``)."""
        return np.array(
            [
                self.mu,
                self.v0,
                self.kappa,
                self.theta,
                self.sigma_v,
                self.rho,
                self.lam,
                self.mu_j,
                self.sigma_j,
                self.mu_v,
                self.rho_j,
            ],
            dtype=np.float64,
        )

    def with_(self, **changes: float) -> PathModel:
        """A copy with some parameters changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def long_run_variance(self) -> float:
        """Stationary mean of the total variance per year, diffusion plus jumps."""
        vbar = self.theta + (self.lam * self.mu_v / self.kappa if self.kappa > 0 else 0.0)
        if self.kind in (ModelKind.GBM, ModelKind.MERTON):
            vbar = self.v0
        ej2 = (self.mu_j + self.rho_j * self.mu_v) ** 2 + self.sigma_j**2
        return vbar + self.lam * ej2


_C = 365.0 / 250.0
#: SVCJ on CRIX (Hou, Wang, Chen and Haerdle 2020), converted to years (module docstring).
SVCJ_BTC = PathModel(
    kind=ModelKind.SVCJ,
    v0=0.054 * _C,
    kappa=0.187 * 365.0,
    theta=0.054 * _C,
    sigma_v=0.0069 * math.sqrt(365.0 * _C),
    rho=0.2748,
    lam=0.051 * 365.0,
    mu_j=-0.049 / math.sqrt(250.0),
    sigma_j=math.sqrt(2.06 / 250.0),
    mu_v=0.709 * _C,
    rho_j=-0.21 / (math.sqrt(250.0) * _C),
)
#: Bates with the SVCJ price jumps and no variance jumps, variance level matched to SVCJ.
BATES_BTC = PathModel(
    kind=ModelKind.BATES,
    v0=0.36,
    kappa=SVCJ_BTC.kappa,
    theta=0.36,
    sigma_v=SVCJ_BTC.sigma_v,
    rho=SVCJ_BTC.rho,
    lam=SVCJ_BTC.lam,
    mu_j=SVCJ_BTC.mu_j,
    sigma_j=SVCJ_BTC.sigma_j,
)
#: Heston with the SVCJ diffusion and a 60% vol level.
HESTON_BTC = PathModel(
    kind=ModelKind.HESTON,
    v0=0.36,
    kappa=SVCJ_BTC.kappa,
    theta=0.36,
    sigma_v=SVCJ_BTC.sigma_v,
    rho=SVCJ_BTC.rho,
)
#: Merton with the SVCJ price jumps on a 55% diffusion (about 62% total vol).
MERTON_BTC = PathModel(
    kind=ModelKind.MERTON,
    v0=0.55**2,
    theta=0.55**2,
    lam=SVCJ_BTC.lam,
    mu_j=SVCJ_BTC.mu_j,
    sigma_j=SVCJ_BTC.sigma_j,
)
#: GBM at 60% vol.
GBM_BTC = PathModel(kind=ModelKind.GBM, v0=0.36, theta=0.36)


def path_seeds(seed: int | np.random.Generator, n_paths: int) -> np.ndarray:
    """One uint32 seed per path: word ``i`` of ``SeedSequence(seed).generate_state(n)``.

    A ``Generator`` is turned into an integer seed by one draw from it.
    """
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(0, 2**63 - 1))
    if int(seed) < 0:
        raise InvalidInput(f"seed={seed} must be >= 0")
    return np.random.SeedSequence(int(seed)).generate_state(n_paths, dtype=np.uint32)


@nb.njit(cache=True, inline="always")
def _step(
    x: float, v: float, dt: float, p: np.ndarray, kbar: float, to_jump: float, rs: np.ndarray
) -> tuple[float, float, float]:
    """One step of the jump-diffusion, drawing from the path's generator state ``rs``.

    ``to_jump`` is the time (years) left to the next jump of the Poisson process: jumps
    arrive after exponential waits of mean ``1/lam``, so a step draws no random number
    for its jump count (exactly Poisson(``lam dt``) per step, independent across steps).
    The two shocks of a step are one polar pair. Returns the new ``(x, v, to_jump)``.
    """
    vp = v if v > 0.0 else 0.0
    sq = math.sqrt(vp * dt)
    z1, z2 = normal_pair(rs)
    x += (p[P_MU] - 0.5 * vp - p[P_LAM] * kbar) * dt + sq * z1
    if p[P_SIGV] > 0.0 or p[P_KAPPA] > 0.0:
        rho = p[P_RHO]
        w2 = rho * z1 + math.sqrt(1.0 - rho * rho) * z2
        v += p[P_KAPPA] * (p[P_THETA] - vp) * dt + p[P_SIGV] * sq * w2
    if p[P_LAM] > 0.0:
        to_jump -= dt
        while to_jump <= 0.0:
            zv = exponential(rs, p[P_MUV]) if p[P_MUV] > 0.0 else 0.0
            x += p[P_MUJ] + p[P_RHOJ] * zv + p[P_SJ] * normal_pair(rs)[0]
            v += zv
            to_jump += exponential(rs, 1.0 / p[P_LAM])
    return x, v, to_jump


@nb.njit(cache=True)
def _fill_path(
    seed: np.uint32, f0: float, dt: float, p: np.ndarray, kbar: float, f: np.ndarray, v: np.ndarray
) -> None:
    rs = new_state(np.uint64(seed))
    x = math.log(f0)
    var = p[P_V0]
    f[0] = f0
    v[0] = var
    to_jump = exponential(rs, 1.0 / p[P_LAM]) if p[P_LAM] > 0.0 else math.inf
    for j in range(1, f.shape[0]):
        x, var, to_jump = _step(x, var, dt, p, kbar, to_jump, rs)
        f[j] = math.exp(x)
        v[j] = var if var > 0.0 else 0.0


@nb.njit(cache=True, parallel=True)
def _simulate_kernel(
    seeds: np.ndarray,
    f0: float,
    dt: float,
    p: np.ndarray,
    kbar: float,
    f: np.ndarray,
    v: np.ndarray,
) -> None:
    for i in nb.prange(seeds.shape[0]):
        _fill_path(seeds[i], f0, dt, p, kbar, f[i], v[i])


def simulate_paths(
    model: PathModel,
    f0: float,
    dt: float,
    n_steps: int,
    n_paths: int,
    seed: int | np.random.Generator = 0,
) -> tuple[FloatArray, FloatArray]:
    """Simulate forward-price and variance paths.

    Parameters
    ----------
    model : PathModel
    f0 : float
        Initial forward (USD).
    dt : float
        Step in years (one minute = 1/525600).
    n_steps, n_paths : int
    seed : int or numpy.random.Generator
        Path ``i`` depends only on ``(seed, i)``.

    Returns
    -------
    (F, v) : arrays of shape (n_paths, n_steps + 1)
        Forward in USD and instantaneous variance per year.
    """
    if f0 <= 0 or dt <= 0 or n_steps < 1 or n_paths < 1:
        raise InvalidInput(
            f"need f0 > 0, dt > 0, n_steps >= 1, n_paths >= 1; got {f0}, {dt}, {n_steps}, {n_paths}"
        )
    f = np.empty((n_paths, n_steps + 1))
    v = np.empty((n_paths, n_steps + 1))
    _simulate_kernel(
        path_seeds(seed, n_paths), f0, dt, model.as_array(), model.jump_compensator, f, v
    )
    return f, v


def simulate_paths_reference(
    model: PathModel, f0: float, dt: float, n_steps: int, normals: FloatArray
) -> FloatArray:
    """Readable pure-numpy twin of the diffusion step (no jumps), for tests.

    ``normals`` has shape (n_paths, n_steps, 2): the two standard normals of each step.
    Returns the forward paths, shape (n_paths, n_steps + 1).
    """
    if model.lam != 0.0:
        raise InvalidInput("the reference twin covers the diffusion only (lam must be 0)")
    n = normals.shape[0]
    x = np.full(n, math.log(f0))
    v = np.full(n, model.v0)
    out = np.empty((n, n_steps + 1))
    out[:, 0] = f0
    for j in range(n_steps):
        vp = np.maximum(v, 0.0)
        z1, z2 = normals[:, j, 0], normals[:, j, 1]
        x = x + (model.mu - 0.5 * vp) * dt + np.sqrt(vp * dt) * z1
        w2 = model.rho * z1 + math.sqrt(1 - model.rho**2) * z2
        v = v + model.kappa * (model.theta - vp) * dt + model.sigma_v * np.sqrt(vp * dt) * w2
        out[:, j + 1] = np.exp(x)
    return out


@nb.njit(cache=True, parallel=True)
def _bootstrap_kernel(
    seeds: np.ndarray, r: np.ndarray, block: int, f0: float, out: np.ndarray
) -> None:
    n_r = r.shape[0]
    for i in nb.prange(seeds.shape[0]):
        np.random.seed(seeds[i])  # noqa: NPY002 (numba's per-thread stream, seeded per path)
        x = math.log(f0)
        out[i, 0] = f0
        j = 1
        while j < out.shape[1]:
            start = np.random.randint(0, n_r - block + 1)  # noqa: NPY002 (numba's per-thread stream, seeded per path)
            for b in range(block):
                if j >= out.shape[1]:
                    break
                x += r[start + b]
                out[i, j] = math.exp(x)
                j += 1


def bootstrap_paths(
    log_returns: FloatArray,
    f0: float,
    n_steps: int,
    n_paths: int,
    block: int = 60,
    seed: int | np.random.Generator = 0,
    demean: bool = True,
) -> FloatArray:
    """Moving-block bootstrap of real log returns (Kuensch 1989) into price paths.

    Parameters
    ----------
    log_returns : array
        Real per-step log returns (e.g. Bitstamp 1-minute closes).
    f0 : float
        Starting price (USD).
    n_steps, n_paths : int
    block : int
        Block length in steps; keeps volatility clustering within a block.
    seed : int or numpy.random.Generator
    demean : bool
        Remove the sample mean so the paths have no drift.

    Returns
    -------
    array of shape (n_paths, n_steps + 1), USD.
    """
    r = np.asarray(log_returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if block < 1 or block > r.shape[0]:
        raise InvalidInput(f"block={block} must be in [1, {r.shape[0]}] (number of returns)")
    if demean:
        r = r - r.mean()
    out = np.empty((n_paths, n_steps + 1))
    _bootstrap_kernel(path_seeds(seed, n_paths), r, int(block), float(f0), out)
    return out

"""Parameter sweeps: every policy's grid x delta models, run in-process or on Dask.

A sweep is a list of ``SweepTask`` (frozen, picklable); each task simulates the same
paths (same model, seed and sizes: common random numbers, so policies are compared on
identical markets) and returns a plain dict of summary figures. Because the paths
depend only on the seed and path index (``models.path_seeds``), a task gives the same
numbers in this process, in a local process pool or on a remote Dask worker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from deltahedge._typing import FloatArray
from deltahedge.backtest.models import SVCJ_BTC, PathModel
from deltahedge.backtest.policies import Policy, PolicyKind
from deltahedge.backtest.simulator import Book, Costs, DeltaModel, simulate
from deltahedge.core.errors import InvalidInput

__all__ = [
    "BAND_POLICIES",
    "Scenario",
    "SweepTask",
    "default_grid",
    "run_sweep",
    "run_task",
]

#: The band policies: a no-trade band that moves with the book or the market (the
#: Whalley-Wilmott and Zakamouline bands from gamma and costs, the gamma-weighted band,
#: the vol-adaptive band) or two bands (hysteresis), as against the fixed interval and the
#: fixed threshold.
BAND_POLICIES = (
    PolicyKind.HYSTERESIS,
    PolicyKind.WHALLEY_WILMOTT,
    PolicyKind.ZAKAMOULINE,
    PolicyKind.VOL_ADAPTIVE,
    PolicyKind.GAMMA_WEIGHTED,
)

#: Marks of a scenario's legs: ``demo`` sticky moneyness on the embedded demo surface
#: (``book.demo_surface``), ``flat`` one sticky-strike vol for every leg.
SURFACES = ("demo", "flat")


@dataclass(frozen=True)
class Scenario:
    """Market, book and costs a sweep runs on (simulated paths).

    ``book`` is ``"straddle"`` (short ATM straddle, 1 coin a leg), ``"put_strip"`` (short
    puts at 80..100% of spot), ``"ten"`` (a 10-option mixed book: six legs expiring at
    ``expiry_days``, four at twice that) or a positions CSV; ``expiry_days`` the options'
    life, ``days`` the simulated horizon, ``step_minutes`` the path step. ``surface``
    (``SURFACES``) sets the marks; ``svi``, when given, overrides it with one slice.
    ``lot`` is the hedge's size increment (coin), ``min_variance`` the Hull-White
    ``(a, b, c)`` of the ``MIN_VARIANCE`` delta model.
    """

    model: PathModel = SVCJ_BTC
    f0: float = 90_000.0
    days: float = 7.0
    step_minutes: float = 5.0
    expiry_days: float = 7.0
    book: str = "straddle"
    vol: float = 0.6
    n_paths: int = 2000
    seed: int = 20260101
    taker_fee: float = 5e-4
    half_spread: float = 1e-4
    impact: float = 0.0
    funding_rate: float = 0.0
    lot: float = 0.0
    latency: int = 0
    decide_every: int = 1
    surface: str = "demo"
    min_variance: tuple[float, float, float] | None = None
    #: Optional raw SVI slice (a, b, rho, m, s, T_slice) applied to every leg: marks are
    #: then sticky-moneyness on it and each leg's Black-76 vol is its smile vol at t = 0.
    svi: tuple[float, float, float, float, float, float] | None = None

    @property
    def dt(self) -> float:
        """Path step in years."""
        return self.step_minutes / (365.0 * 24 * 60)

    @property
    def n_steps(self) -> int:
        """Steps in the horizon."""
        return max(1, round(self.days * 24 * 60 / self.step_minutes))

    def __post_init__(self) -> None:
        if self.surface not in SURFACES:
            raise InvalidInput(f"surface {self.surface!r} unknown; allowed: {', '.join(SURFACES)}")

    def make_book(self) -> Book:
        """The option book of this scenario, marked on its surface (or ``svi`` slice)."""
        book = self._plain_book()
        if self.svi is None:
            return book.on_surface(_demo_surface(), self.f0) if self.surface == "demo" else book
        a, b, rho, m, s, ts = self.svi
        k = np.log(book.strike / self.f0) - m
        vol = np.sqrt((a + b * (rho * k + np.sqrt(k * k + s * s))) / ts)
        svi = np.tile(np.array(self.svi, dtype=float), (len(vol), 1))
        return Book(book.cp, book.strike, book.expiry, book.qty, vol, svi)

    def _plain_book(self) -> Book:
        t = self.expiry_days / 365.0
        if self.book == "straddle":
            return Book.straddle(self.f0, t, self.vol)
        if self.book == "put_strip":
            return Book.put_strip(self.f0, t, self.vol, np.array([0.8, 0.85, 0.9, 0.95, 1.0]))
        if self.book == "ten":
            m = np.array([0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 0.9, 1.0, 1.1, 1.2])
            cp = np.array([-1, -1, -1, -1, 1, 1, -1, 1, 1, 1], dtype=float)
            exp = np.where(np.arange(10) < 6, t, 2 * t)
            qty = np.array([-1, -1, -2, -2, -2, -1, 1, 1, 0.5, -1.0])
            return Book(cp, self.f0 * m, exp, qty, np.full(10, self.vol))
        if self.book.endswith(".csv"):
            return Book.from_csv(self.book)
        raise InvalidInput(
            f"book {self.book!r} unknown; allowed: straddle, put_strip, ten or a positions .csv"
        )

    def costs(self) -> Costs:
        """The hedge leg's costs."""
        return Costs(
            taker_fee=self.taker_fee,
            half_spread=self.half_spread,
            impact=self.impact,
            impact_size=10.0,
            funding_rate=self.funding_rate,
            lot=self.lot,
            latency=self.latency,
        )

    @property
    def size(self) -> float:
        """Total |quantity| of the book in coin (scales the band grids)."""
        return float(np.abs(self.make_book().qty).sum())


@dataclass(frozen=True)
class SweepTask:
    """One point of the grid: a scenario, a policy and a delta model."""

    scenario: Scenario
    policy: Policy
    delta_model: DeltaModel = DeltaModel.BLACK76
    extra: dict = field(default_factory=dict, compare=False)


@lru_cache(maxsize=1)
def _demo_surface():  # type: ignore[no-untyped-def]
    from deltahedge.backtest.book import demo_surface

    return demo_surface()


@lru_cache(maxsize=4)
def _delta_table(sc: Scenario) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The scenario's model-delta table, built once per process (a few seconds)."""
    from deltahedge.backtest.cos import model_delta_table

    book = sc.make_book()
    return model_delta_table(sc.model, book.cp, book.strike, float(book.expiry.max()))


def run_task(task: SweepTask) -> dict[str, float | str]:
    """Simulate one task and return its summary with the policy and delta model named."""
    sc = task.scenario
    table = _delta_table(sc) if task.delta_model == DeltaModel.MODEL else None
    res = simulate(
        sc.make_book(),
        task.policy,
        model=sc.model,
        f0=sc.f0,
        n_paths=sc.n_paths,
        dt=sc.dt,
        n_steps=sc.n_steps,
        seed=sc.seed,
        costs=sc.costs(),
        delta_model=task.delta_model,
        decide_every=sc.decide_every,
        delta_table=table,
        flat_vol=0.0,
        min_variance=sc.min_variance,
    )
    out: dict[str, float | str] = dict(res.summary())
    out["policy"] = task.policy.name
    out["params"] = ",".join(f"{p:g}" for p in task.policy.params)
    out["delta_model"] = task.delta_model.name
    return out


def default_grid(
    sc: Scenario, delta_models: Sequence[DeltaModel] = (DeltaModel.BLACK76,), n_points: int = 7
) -> list[SweepTask]:
    """Each policy's parameter grid (bands scaled to the book's size) x delta models."""
    q = sc.size
    fracs = np.geomspace(0.005, 0.5, n_points)
    everys = np.unique(np.geomspace(1, max(2, sc.n_steps // 4), n_points).round())
    k = sc.taker_fee + sc.half_spread
    sig_ref = math.sqrt(sc.model.long_run_variance)
    per_step = sc.decide_every
    policies: list[Policy] = []
    policies += [Policy(PolicyKind.FIXED_INTERVAL, (float(e),)) for e in everys]
    policies += [Policy(PolicyKind.FIXED_THRESHOLD, (f * q,)) for f in fracs]
    policies += [Policy(PolicyKind.TIME_OR_THRESHOLD, (float(everys[-2]), f * q)) for f in fracs]
    policies += [Policy(PolicyKind.HYSTERESIS, (f * q, 0.5 * f * q)) for f in fracs]
    # risk aversion per USD: Whalley-Wilmott bands from ~0.03 to ~3 coin on the straddle
    lams = np.geomspace(1e-7, 1e-1, n_points) * 90_000.0 / sc.f0
    policies += [Policy(PolicyKind.WHALLEY_WILMOTT, (float(lam), k)) for lam in lams]
    halflife = max(1.0, 60.0 / (sc.step_minutes * per_step))
    policies += [Policy(PolicyKind.VOL_ADAPTIVE, (f * q, halflife, sig_ref, 1.0)) for f in fracs]
    policies += [Policy(PolicyKind.LELAND, (float(e), 2 * k)) for e in everys]
    policies += [Policy(PolicyKind.ZAKAMOULINE, (float(lam), k, sig_ref, 0.0)) for lam in lams]
    # band = multiple |Gamma| F sigma sqrt(1 day)
    policies += [
        Policy(PolicyKind.GAMMA_WEIGHTED, (float(m), 86_400.0, sig_ref))
        for m in np.geomspace(0.03, 3.0, n_points)
    ]
    # randomised timing (+-50% of the interval) and size (+-30%): a separate frontier
    policies += [Policy(PolicyKind.FIXED_INTERVAL, (float(e),), jitter=(0.5, 0.3)) for e in everys]
    return [SweepTask(sc, p, dm) for dm in delta_models for p in policies]


def run_sweep(
    tasks: Iterable[SweepTask],
    scheduler: str | None = None,
    local: bool = False,
    n_workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, float | str]]:
    """Run tasks in order; returns their summaries in the same order.

    Parameters
    ----------
    tasks : iterable of SweepTask
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://HOST:8786``).
    local : bool
        Without ``scheduler``: True starts a Dask ``LocalCluster`` (processes,
        ``n_workers`` workers, 1 thread each); False runs in this process.
    progress : callable, optional
        Called with ``(done, total)`` after each finished task.
    """
    tasks = list(tasks)
    if scheduler is None and not local:
        out = []
        for i, t in enumerate(tasks):
            out.append(run_task(t))
            if progress:
                progress(i + 1, len(tasks))
        return out
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = client.map(run_task, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[dict[str, float | str] | None] = [None] * len(tasks)
        for n_done, fut in enumerate(as_completed(futures), start=1):
            results[index[fut.key]] = fut.result()
            if progress:
                progress(n_done, len(tasks))
        return [r for r in results if r is not None]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def scenario_dict(sc: Scenario) -> dict:
    """A scenario as plain values (for JSON reports)."""
    d = asdict(sc)
    d["model"] = {k: (v.name if hasattr(v, "name") else v) for k, v in asdict(sc.model).items()}
    return d

"""End-to-end backtest runs shared by the CLI and the benchmark.

Each ``run_*`` returns a plain dict: ``rows`` (one sweep point each), ``comparison``
(cost of the best band policy relative to the best fixed-interval and fixed-threshold
policies at equal hedging error, per delta model) and ``delta_models`` (hedging error
of each delta model and its reduction relative to Black-76).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deltahedge.backtest.frontier import compare_policies
from deltahedge.backtest.policies import Policy, PolicyKind
from deltahedge.backtest.simulator import DeltaModel
from deltahedge.backtest.sweep import BAND_POLICIES, Scenario, default_grid, run_sweep

__all__ = [
    "deribit_min_variance_coeffs",
    "deribit_svi_slice",
    "run_bitstamp",
    "run_deribit",
    "run_sim",
]

Progress = Callable[[int, int], None] | None
_BAND = [p.name for p in BAND_POLICIES]


def _delta_model_reduction(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Error std of each delta model under the most frequent fixed-interval hedge."""
    best: dict[str, float] = {}
    for r in rows:
        if r["policy"] == "FIXED_INTERVAL" and r["params"] == "1":
            best[str(r["delta_model"])] = float(r["std_pnl"])
    out: dict[str, Any] = {"error_std": best}
    if "BLACK76" in best:
        out["reduction_vs_black76"] = {
            k: 1.0 - v / best["BLACK76"] for k, v in best.items() if k != "BLACK76"
        }
    return out


def _comparisons(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    models = sorted({str(r["delta_model"]) for r in rows})
    return {m: compare_policies(rows, _BAND, m) for m in models}


def deribit_svi_slice(
    folder: str | Path, target_days: float = 7.0
) -> tuple[float, float, float, float, float, float]:
    """Raw SVI (a, b, rho, m, s, T) fitted to the first BTC snapshot's slice nearest ``target_days``."""
    from deltahedge.backtest.realdata import fit_svi_slice
    from deltahedge.marketdata.load import load_chain

    files = sorted(Path(folder).glob("deribit_options_snapshot_*.csv"))
    c = load_chain(files[0], underlying="BTC")
    exps = np.unique(c.expiry_ns)
    t_of = {e: float(np.median(c.T[c.expiry_ns == e])) for e in exps}
    e = min(exps, key=lambda x: abs(t_of[x] * 365 - target_days))
    sel = (c.expiry_ns == e) & np.isfinite(c.mark_iv)
    k = np.log(c.strike[sel] / c.forward[sel])
    keep = np.abs(k) < 0.4
    t = t_of[e]
    a, b, rho, m, s = fit_svi_slice(k[keep], c.mark_iv[sel][keep], t)
    return (a, b, rho, m, s, t)


def deribit_min_variance_coeffs(folder: str | Path) -> tuple[float, float, float]:
    """Hull and White's ``(a, b, c)`` fitted on every consecutive pair of BTC snapshots.

    ``deltahedge.surface.fit_min_variance`` on the ``deribit_chain_2026`` snapshots (calls
    and puts together); the coefficients of the ``MIN_VARIANCE`` delta model.
    """
    from deltahedge.marketdata.load import load_chain
    from deltahedge.surface import fit_min_variance

    files = sorted(Path(folder).glob("deribit_options_snapshot_*.csv"))
    if len(files) < 2:
        from deltahedge.core.errors import DataError

        raise DataError(f"{folder}: need two or more deribit_options_snapshot_*.csv files")
    return fit_min_variance([load_chain(f, underlying="BTC") for f in files])


def run_sim(
    scenario: Scenario,
    delta_models: Sequence[DeltaModel] = (DeltaModel.BLACK76,),
    n_points: int = 7,
    scheduler: str | None = None,
    local: bool = False,
    progress: Progress = None,
    n_workers: int = 2,
) -> dict[str, Any]:
    """Sweep every policy x delta model on simulated paths (see ``sweep.run_sweep``)."""
    tasks = default_grid(scenario, delta_models, n_points)
    rows = run_sweep(
        tasks, scheduler=scheduler, local=local, n_workers=n_workers, progress=progress
    )
    return {
        "market": f"simulated {scenario.model.kind.name}",
        "rows": rows,
        "comparison": _comparisons(rows),
        "delta_models": _delta_model_reduction(rows),
    }


def run_deribit(folder: str | Path, progress: Progress = None) -> dict[str, Any]:
    """Real Deribit snapshots: delta-model errors and policy frontiers on a listed book."""
    from deltahedge.backtest.realdata import (
        delta_model_errors,
        deribit_replay,
        panel_deltas,
        replay_policy,
    )

    rp = deribit_replay(folder)
    errors = delta_model_errors(rp)
    # book: the expiry quoted in every snapshot closest to 30 days at the start;
    # short the ATM straddle and 85/90/95% puts, 1 coin each
    alive = np.all(np.isfinite(rp.mark_usd), axis=1)
    days0 = rp.T[:, 0] * 365
    cand = np.where(alive & (days0 > 10))[0]
    e = rp.expiry_ns[cand[np.argmin(np.abs(days0[cand] - 30))]]
    f0 = rp.forward[cand[rp.expiry_ns[cand] == e][0], 0]
    rows_idx: list[int] = []
    for cp, m in ((1, 1.0), (-1, 1.0), (-1, 0.95), (-1, 0.9), (-1, 0.85)):
        pool = cand[(rp.expiry_ns[cand] == e) & (rp.cp[cand] == cp)]
        rows_idx.append(int(pool[np.argmin(np.abs(rp.strike[pool] - m * f0))]))
    book_rows = np.array(rows_idx)
    qty = -np.ones(len(book_rows))
    size = float(np.abs(qty).sum())
    k = 5e-4 + 1e-4  # replay_policy's fee + half-spread
    # the ATM call's mark IV at the start: the vol of the vol-dependent bands
    sig_ref = float(rp.iv[book_rows[0], 0])
    fracs = np.geomspace(0.01, 0.5, 8)
    # risk aversion per USD: bands from ~0.01 coin (1e-1) to never trading (1e-6)
    lams = np.geomspace(1e-6, 1e-1, 8)
    policies = (
        [Policy(PolicyKind.FIXED_INTERVAL, (float(e),)) for e in (1, 2, 3, 4, 6, 8, 12)]
        + [Policy(PolicyKind.FIXED_THRESHOLD, (f * size,)) for f in fracs]
        + [Policy(PolicyKind.HYSTERESIS, (f * size, 0.5 * f * size)) for f in fracs]
        + [
            Policy(PolicyKind.TIME_OR_THRESHOLD, (4.0, f * size))
            for f in np.geomspace(0.02, 0.5, 5)
        ]
        + [Policy(PolicyKind.WHALLEY_WILMOTT, (float(lam), k)) for lam in lams]
        + [Policy(PolicyKind.ZAKAMOULINE, (float(lam), k, sig_ref, 0.0)) for lam in lams]
        + [Policy(PolicyKind.VOL_ADAPTIVE, (f * size, 4.0, sig_ref, 1.0)) for f in fracs]
        + [
            Policy(PolicyKind.GAMMA_WEIGHTED, (float(m), 86_400.0, sig_ref))
            for m in np.geomspace(0.03, 3.0, 8)
        ]
        + [Policy(PolicyKind.LELAND, (float(e), 2 * k)) for e in (1, 2, 3, 4, 6, 8, 12)]
    )
    rows = []
    models = ("BLACK76", "MARK_IV", "SMILE")
    deltas = {m: panel_deltas(rp, m) for m in models}
    total = len(models) * len(policies)
    for dm_name in models:
        for p in policies:
            r: dict[str, Any] = replay_policy(rp, book_rows, qty, p, deltas[dm_name])
            r.update(
                policy=p.name,
                params=",".join(f"{x:g}" for x in p.params),
                delta_model=dm_name,
            )
            rows.append(r)
            if progress:
                progress(len(rows), total)
    return {
        "market": "Deribit BTC snapshots 2026-01-01..07 (25), perp-hedged",
        "book": [str(n) for n in rp.names[book_rows]],
        "error_label": "hedging error: std of the 24 between-snapshot hedged PnLs (USD)",
        "rows": rows,
        "comparison": _comparisons(rows),
        "delta_models": {
            "error_std": {k: v for k, v in errors.items() if k != "n"},
            "n_option_intervals": errors["n"],
            "reduction_vs_black76": {
                k: 1.0 - errors[k] / errors["BLACK76"] for k in models if k != "BLACK76"
            },
            "reduction_vs_mark_iv": {"SMILE": 1.0 - errors["SMILE"] / errors["MARK_IV"]},
        },
    }


def run_bitstamp(
    csv: str | Path,
    chain_folder: str | Path | None = None,
    l2_file: str | Path | None = None,
    window_days: float = 7.0,
    stride_hours: float = 12.0,
    n_points: int = 6,
    progress: Progress = None,
) -> dict[str, Any]:
    """Bitstamp minute path, short straddles on a real Deribit smile, hedged per minute.

    Windows of ``window_days`` every ``stride_hours`` of the minute closes (each rescaled to
    start at 100,000 USD), a short ATM straddle expiring at the window's end marked
    sticky-moneyness on the SVI slice of the first Deribit snapshot nearest that expiry
    (``chain_folder``; the embedded demo surface without it), hedged every minute with a
    5 bp taker fee; with ``l2_file`` buys walk its asks and sells its bids.
    """
    from deltahedge.backtest.realdata import bitstamp_windows, l2_profile, load_bitstamp_closes
    from deltahedge.backtest.simulator import Costs, simulate
    from deltahedge.backtest.sweep import SweepTask

    _, closes = load_bitstamp_closes(csv)
    f0 = 100_000.0
    window = int(window_days * 24 * 60)
    paths = bitstamp_windows(closes, window, int(stride_hours * 60), f0)
    svi = deribit_svi_slice(chain_folder, window_days) if chain_folder else None
    r = np.diff(np.log(closes))
    from deltahedge.backtest.models import ModelKind, PathModel

    vol = float(r.std() * math.sqrt(525600))  # realised vol of the whole file, per year
    sc = Scenario(
        model=PathModel(ModelKind.GBM, v0=vol**2, theta=vol**2),
        f0=f0,
        days=window_days,
        expiry_days=window_days,
        step_minutes=1.0,
        vol=vol,
        n_paths=len(paths),
        svi=svi,
    )
    costs = Costs(taker_fee=5e-4)
    if l2_file:
        off, size = l2_profile(l2_file, "asks")
        boff, bsize = l2_profile(l2_file, "bids")
        costs = Costs(
            taker_fee=5e-4,
            l2_offsets=off,
            l2_sizes=size,
            l2_bid_offsets=boff,
            l2_bid_sizes=bsize,
        )
    # marks: sticky moneyness on the Deribit slice (or the embedded demo surface)
    dms = (DeltaModel.BLACK76, DeltaModel.SMILE)
    tasks: list[SweepTask] = default_grid(sc, dms, n_points)
    rows = []
    for i, t in enumerate(tasks):
        res = simulate(
            sc.make_book(), t.policy, paths=paths, dt=sc.dt, costs=costs, delta_model=t.delta_model
        )
        row: dict[str, Any] = dict(res.summary())
        row.update(
            policy=t.policy.name,
            params=",".join(f"{x:g}" for x in t.policy.params),
            delta_model=t.delta_model.name,
        )
        rows.append(row)
        if progress:
            progress(i + 1, len(tasks))
    return {
        "market": f"Bitstamp 1-min, {len(paths)} windows of {window_days:g} days",
        "svi": svi,
        "rows": rows,
        "comparison": _comparisons(rows),
        "delta_models": _delta_model_reduction(rows),
    }

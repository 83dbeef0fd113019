"""Surface benchmarks: fitting a full BTC chain, and vols / smile deltas for 1,000 options.

Peers measured in the same run: ``scipy.optimize.least_squares`` fitting the same SVI
slices to mark IVs only (5 bounded parameters from a generic start: less work than our
fit, which also projects into the bid-ask and checks butterflies), and the pure-Python
twins of the compiled kernels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from deltahedge.bench.timing import best_time

_CHAIN = "deribit_chain_2026/deribit_options_snapshot_20260101T091835Z.csv"


def _data_file() -> Path | None:
    for root in (
        Path("../shared/data"),
        Path(__file__).resolve().parents[3].parent / "shared" / "data",
    ):
        if (root / _CHAIN).is_file():
            return root / _CHAIN
    return None


def _scipy_slice_fits(quotes) -> None:  # type: ignore[no-untyped-def]
    from scipy.optimize import least_squares

    for q in quotes:
        w = q.mark_iv**2 * q.T

        def resid(x, q=q, w=w):  # type: ignore[no-untyped-def]
            a, b, rho, m, s = x
            return a + b * (rho * (q.k - m) + np.sqrt((q.k - m) ** 2 + s * s)) - w

        least_squares(
            resid,
            [w.min() * 0.5, 0.1, -0.1, 0.0, 0.1],
            bounds=([-1, 0, -0.999, -2, 1e-4], [1, 5, 0.999, 2, 5]),
        )


def run(console: Console, quick: bool) -> None:
    """Print the surface benchmark tables."""
    from deltahedge.marketdata import load_chain
    from deltahedge.surface import _eval, fit_surface, slice_quotes, smile_delta

    path = _data_file()
    if path is None:
        console.print("surface bench skipped: ../shared/data/deribit_chain_2026 not found")
        return
    chain = load_chain(path, underlying="BTC")
    repeat = 3 if quick else 7
    quotes = slice_quotes(chain)
    t_fit = best_time(lambda: fit_surface(chain), repeat=repeat)
    t_ssvi = best_time(lambda: fit_surface(chain, "ssvi"), repeat=repeat)
    t_scipy = best_time(lambda: _scipy_slice_fits(quotes), repeat=repeat)
    surf = fit_surface(chain)

    rng = np.random.default_rng(7)
    n = 1000
    T = rng.uniform(surf.T[0], surf.T[-1], n)
    F = surf.forward(T)
    K = F * np.exp(rng.normal(0, 0.2, n))
    kind = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    t_vol = best_time(lambda: surf.vol(K, T), repeat=repeat)
    t_sm = best_time(lambda: smile_delta(surf, kind, F, K, T, "sticky_moneyness"), repeat=repeat)
    t_both = best_time(
        lambda: (surf.vol(K, T), smile_delta(surf, kind, F, K, T, "sticky_moneyness")),
        repeat=repeat,
    )
    t_mv = best_time(
        lambda: smile_delta(surf, kind, F, K, T, "min_variance", (0.1, -0.2, 0.05)), repeat=repeat
    )
    lfn = np.log(surf.forwards)
    out1, out2 = np.empty(n), np.empty(n)
    t_vol_py = best_time(
        lambda: _eval.vol_kernel.py_func(
            surf.T, lfn, float(np.log(surf.spot)), surf.params, K, T, out1, out2
        ),
        repeat=3,
    )

    t = Table(
        title=f"surface: BTC chain of {path.name} ({len(surf.T)} expiries, "
        f"{sum(len(q) for q in quotes)} usable strikes)"
    )
    for col in ("task", "time", "target", "peer", "peer time", "speed-up"):
        t.add_column(col, justify="right")
    t.add_row(
        "fit full chain, SVI",
        f"{t_fit * 1e3:.1f} ms",
        "<= 100 ms",
        "scipy least_squares per slice (mark only)",
        f"{t_scipy * 1e3:.1f} ms",
        f"{t_scipy / t_fit:.2f}x",
    )
    t.add_row("fit full chain, SSVI", f"{t_ssvi * 1e3:.1f} ms", "", "", "", "")
    t.add_row(
        "vol, 1,000 options",
        f"{t_vol * 1e6:.1f} us",
        "<= 50 us",
        "pure-Python twin",
        f"{t_vol_py * 1e6:.0f} us",
        f"{t_vol_py / t_vol:.0f}x",
    )
    t.add_row(
        "smile delta (sticky moneyness), 1,000", f"{t_sm * 1e6:.1f} us", "<= 50 us", "", "", ""
    )
    t.add_row(
        "vol + smile delta (sticky moneyness), 1,000",
        f"{t_both * 1e6:.1f} us",
        "<= 50 us",
        "",
        "",
        "",
    )
    t.add_row("smile delta (min variance), 1,000", f"{t_mv * 1e6:.1f} us", "<= 50 us", "", "", "")
    console.print(t)


__all__ = ["run"]

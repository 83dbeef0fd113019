"""``deltahedge surface``: fit and plot volatility surfaces; the smile-delta gain table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from deltahedge.marketdata.chain import OptionChain
    from deltahedge.surface import GainRow, Surface


def _fit_table(surface: Surface) -> object:
    from rich.table import Table

    from deltahedge.core.units import ns_to_datetime

    t = Table(
        title=(
            f"{surface.underlying} {surface.method.upper()} fit at "
            f"{ns_to_datetime(surface.ts_ns):%Y-%m-%d %H:%M} UTC"
        ),
        caption="errors vs mark IV in vol points; inside: share of quoted rows whose fitted "
        "vol is inside their bid-ask IV; butterfly: Durrleman g >= 0 on the check grid",
    )
    for col in (
        "expiry",
        "T (y)",
        "a",
        "b",
        "rho",
        "m",
        "sigma",
        "n",
        "RMSE",
        "med|err|",
        "inside",
        "butterfly",
    ):
        t.add_column(col, justify="right")
    for i, d in enumerate(surface.diagnostics):
        a, b, rho, m, s = surface.params[i]
        if d.butterfly:
            bfly = f"[red]{len(d.butterfly)} violation(s)[/red]"
        elif d.n_butterfly_before_repair:
            bfly = f"ok (repaired {d.n_butterfly_before_repair})"
        else:
            bfly = "ok"
        t.add_row(
            f"{ns_to_datetime(d.expiry_ns):%d%b%y}".upper(),
            f"{d.T:.4f}",
            f"{a:.5f}",
            f"{b:.4f}",
            f"{rho:+.3f}",
            f"{m:+.4f}",
            f"{s:.4f}",
            str(d.n_strikes),
            f"{d.rmse_vol_pts:.2f}",
            f"{d.median_abs_err_vol_pts:.2f}",
            f"{100 * d.share_inside:.0f}%/{d.n_quoted_rows}",
            bfly,
        )
    return t


def plot_surface(surface: Surface, chain: OptionChain, path: Path) -> None:
    """Write a PNG: one panel per expiry with bid, ask and mark IV and the fitted smile."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from deltahedge.core.units import ns_to_datetime
    from deltahedge.surface import quote_ivs, svi_total_variance

    bid_iv, ask_iv = quote_ivs(chain)
    n = len(surface.T)
    ncol = min(4, n)
    nrow = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.3 * nrow), squeeze=False)
    for i in range(nrow * ncol):
        ax = axes[i // ncol][i % ncol]
        if i >= n:
            ax.axis("off")
            continue
        d = surface.diagnostics[i]
        F = surface.forwards[i]
        # out-of-the-money rows only (calls K >= F, puts K < F): the quotes a smile is read from
        otm = np.where(chain.kind > 0, chain.strike >= F, chain.strike < F)
        rows = (chain.expiry_ns == surface.expiry_ns[i]) & otm
        k = np.log(chain.strike[rows] / F)
        both = np.isfinite(bid_iv[rows]) & np.isfinite(ask_iv[rows])
        kq = k[both]
        ax.vlines(
            kq,
            100 * bid_iv[rows][both],
            100 * ask_iv[rows][both],
            color="0.75",
            lw=2.5,
            label="bid-ask IV (OTM)",
            zorder=1,
        )
        ax.scatter(k, 100 * bid_iv[rows], marker="^", s=10, color="tab:blue", label="bid", zorder=2)
        ax.scatter(k, 100 * ask_iv[rows], marker="v", s=10, color="tab:red", label="ask", zorder=2)
        ax.scatter(k, 100 * chain.mark_iv[rows], s=9, color="black", label="mark", zorder=3)
        lo, hi = (kq.min(), kq.max()) if kq.size else (k.min(), k.max())
        pad = 0.15 * (hi - lo)
        kg = np.linspace(lo - pad, hi + pad, 300)
        w = svi_total_variance(surface.slice_params(i), kg)
        ax.plot(
            kg,
            100 * np.sqrt(np.maximum(w, 0) / surface.T[i]),
            color="tab:green",
            lw=1.6,
            label="fit",
            zorder=4,
        )
        ax.set_xlim(kg[0], kg[-1])
        inq = (k >= kg[0]) & (k <= kg[-1])
        ys = np.concatenate([100 * chain.mark_iv[rows][inq], 100 * np.sqrt(w / surface.T[i])])
        ys = ys[np.isfinite(ys)]
        if ys.size:
            span = ys.max() - ys.min()
            ax.set_ylim(ys.min() - 0.25 * span - 1, ys.max() + 0.25 * span + 1)
        ax.set_title(
            f"{ns_to_datetime(d.expiry_ns):%d %b %y}  T={d.T:.3f}y  "
            f"RMSE {d.rmse_vol_pts:.2f}  in {100 * d.share_inside:.0f}%",
            fontsize=8.5,
        )
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if i % ncol == 0:
            ax.set_ylabel("implied vol (%)", fontsize=8)
        if i // ncol == nrow - 1 or i + ncol >= n:
            ax.set_xlabel("k = ln(K/F)", fontsize=8)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncol=5, fontsize=8, frameon=False)
    fig.suptitle(
        f"{surface.underlying} {surface.method.upper()} smiles, "
        f"{ns_to_datetime(surface.ts_ns):%Y-%m-%d %H:%M} UTC",
        fontsize=11,
        x=0.02,
        ha="left",
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_gain_table(console: Console, rows: list[GainRow]) -> None:
    """Print a gain table (fractions shown in percent)."""
    from rich.table import Table

    t = Table(
        title=f"{rows[0].underlying}: gain vs Black-Scholes delta (variance reduction of "
        "one-step hedging errors, %)",
        caption="MV: Hull-White minimum variance, fitted on the first half; SM: sticky "
        "moneyness. in: first half of the snapshots; out: second half.",
    )
    for col in ("kind", "delta", "n in", "n out", "MV in", "MV out", "SM in", "SM out"):
        t.add_column(col, justify="right")
    for r in rows:
        style = "bold" if r.bucket == "all" else None
        t.add_row(
            r.kind,
            r.bucket,
            str(r.n_in),
            str(r.n_out),
            f"{100 * r.mv_in:.1f}",
            f"{100 * r.mv_out:.1f}",
            f"{100 * r.sm_in:.1f}",
            f"{100 * r.sm_out:.1f}",
            style=style,
        )
    console.print(t)
    for kind in ("call", "put"):
        a, b, c = next(r.coeffs for r in rows if r.kind == kind)
        console.print(
            f"{rows[0].underlying} {kind}s: minimum-variance (a, b, c) = "
            f"({a:+.4f}, {b:+.4f}, {c:+.4f})"
        )


def register(app: typer.Typer) -> None:
    sub = typer.Typer(
        help="Fit and plot volatility surfaces (SVI / SSVI); smile-delta gains.",
        no_args_is_help=True,
    )
    app.add_typer(sub, name="surface")

    @sub.command("fit")
    def fit(
        file: Path = typer.Argument(..., help="A chain file (any format load_chain reads)."),
        method: str = typer.Option("svi", help="svi (per expiry) or ssvi (global)."),
        underlying: str = typer.Option("BTC", help="Coin to fit, e.g. BTC or ETH."),
        phi: str = typer.Option("power_law", help="SSVI phi: power_law or heston."),
        plot: Path | None = typer.Option(None, help="Write the smiles to this PNG."),
        json_out: Path | None = typer.Option(None, "--json", help="Write the surface as JSON."),
    ) -> None:
        """Fit a surface to one chain and print, per expiry, parameters, errors and checks."""
        from rich.console import Console

        from deltahedge.core.errors import DeltaHedgeError
        from deltahedge.marketdata import load_chain
        from deltahedge.surface import fit_surface

        console = Console(width=max(Console().width, 120))
        try:
            chain = load_chain(file, underlying=underlying, snapshot=0)
            surface = fit_surface(chain, method, phi=phi)  # type: ignore[arg-type]
        except DeltaHedgeError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        console.print(_fit_table(surface))
        cal = surface.calendar
        console.print(
            "calendar: no arbitrage between expiries"
            if not cal
            else f"calendar: {len(cal)} violation(s): " + "; ".join(v.describe() for v in cal[:5])
        )
        if plot is not None:
            plot_surface(surface, chain, plot)
            console.print(f"plot written to {plot}")
        if json_out is not None:
            json_out.write_text(surface.to_json())
            console.print(f"surface written to {json_out}")

    @sub.command("gain")
    def gain(
        folder: Path = typer.Argument(
            Path("../shared/data/deribit_chain_2026"),
            help="Folder of Deribit snapshot CSVs (deribit_options_snapshot_*.csv).",
        ),
        underlying: str = typer.Option("BTC,ETH", help="Comma-separated coins."),
    ) -> None:
        """Hull-White gain of min-variance and sticky-moneyness deltas over Black-Scholes."""
        from rich.console import Console

        from deltahedge.marketdata import load_chains
        from deltahedge.surface import hedge_gain_table

        console = Console()
        files = sorted(folder.glob("deribit_options_snapshot_*.csv"))
        if len(files) < 4:
            console.print(f"[red]error:[/red] {folder} holds {len(files)} snapshot files; need 4+")
            raise typer.Exit(2)
        for u in [x.strip().upper() for x in underlying.split(",") if x.strip()]:
            chains = [
                load_chain_one for f in files for load_chain_one in load_chains(f, underlying=u)
            ]
            print_gain_table(console, hedge_gain_table(chains))


__all__ = ["plot_surface", "print_gain_table", "register"]

"""``deltahedge surface``: fit and plot volatility surfaces; the smile-delta gain table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from deltahedge.marketdata.chain import OptionChain
    from deltahedge.surface import GainRow, SliceDiagnostics, Surface


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


def _skipped_line(surface: Surface) -> str:
    """One line: how many rows the fit used and, per reason, the rows it did not."""
    left = {k: v for k, v in surface.skipped.items() if v}
    used = surface.n_rows - sum(surface.skipped.values())
    line = f"fit used {used} of {surface.n_rows} rows"
    if left:
        line += "; not used: " + ", ".join(f"{k}={v}" for k, v in left.items())
    if surface.forwards_filled:
        line += f"; {surface.forwards_filled} forwards from put-call parity"
    return line


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
        caption="BS delta: Black-76 at the option's own mark IV. SS: sticky strike "
        "(Black-76 at the fitted surface's vol: differs from BS by the fit error only); "
        "SM: sticky moneyness; MV: Hull-White minimum variance, fitted on the first half. "
        "in: first half of the snapshots; out: second half.",
    )
    for col in (
        "kind",
        "delta",
        "n in",
        "n out",
        "SS in",
        "SS out",
        "SM in",
        "SM out",
        "MV in",
        "MV out",
    ):
        t.add_column(col, justify="right")
    for r in rows:
        style = "bold" if r.bucket == "all" else None
        t.add_row(
            r.kind,
            r.bucket,
            str(r.n_in),
            str(r.n_out),
            *(f"{100 * x:.1f}" for x in (r.ss_in, r.ss_out, r.sm_in, r.sm_out, r.mv_in, r.mv_out)),
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
        rich_markup_mode="rich",
    )
    app.add_typer(sub, name="surface")

    @sub.command("fit")
    def fit(
        file: Path = typer.Argument(
            ...,
            help="Chain file, any format load_chain reads (detected from its first line): "
            "Deribit snapshot CSV, Deribit daily file, Deribit API JSON, a DERIBIT.ws "
            "recording, or a Tardis options_chain CSV(.gz).",
            show_default=False,
        ),
        method: str = typer.Option(
            "svi",
            "--method",
            "-m",
            help="svi: a raw SVI smile per expiry (closest to the quotes); ssvi: one SSVI "
            "surface across expiries, free of calendar and butterfly arbitrage by construction.",
        ),
        underlying: str = typer.Option(
            "BTC", "--underlying", "-u", help="Coin to fit, e.g. BTC or ETH."
        ),
        snapshot: str | None = typer.Option(
            None,
            "--snapshot",
            "-s",
            help="Which snapshot of a file holding several (daily files: one a day): an "
            "index (0 first, -1 last) or the start of its UTC time, e.g. 2021-06-15 or "
            "2026-01-03T09. Default: the first, with a note saying how many there are.",
        ),
        phi: str = typer.Option("power_law", help="SSVI phi: power_law or heston."),
        repair: bool = typer.Option(
            True,
            "--repair/--no-repair",
            help="SVI: refit a slice with butterfly arbitrage (Durrleman g < 0) under the "
            "constraint g >= 0. --no-repair shows the free fits and their violations.",
        ),
        repair_calendar: bool = typer.Option(
            False,
            "--repair-calendar",
            help="SVI: raise the level of each slice whose total variance falls below the "
            "previous expiry's, so that the surface is free of calendar arbitrage (the fit "
            "to the quotes gets worse; the table shows by how much). SSVI needs no repair.",
        ),
        min_strikes: int = typer.Option(
            5, "--min-strikes", help="Fit only expiries with at least this many usable strikes."
        ),
        min_t_days: float = typer.Option(
            0.0, "--min-t-days", help="Cleaning: drop options expiring within this many days."
        ),
        format: str | None = typer.Option(
            None,
            "--format",
            help="Force the chain format instead of detecting it (deltahedge.marketdata.FORMATS).",
        ),
        plot: Path | None = typer.Option(
            None, help="Write the smiles (bid, ask, mark IV and the fit) to this PNG."
        ),
        json_out: Path | None = typer.Option(None, "--json", help="Write the surface as JSON."),
    ) -> None:
        """Fit a surface to one chain and print, per expiry, parameters, errors and checks.

        Steps: load one snapshot of one coin; clean it (marketdata.clean_chain: rows that are expired, crossed, without any price, below intrinsic or above the no-arbitrage bound are dropped, and missing forwards are implied from put-call parity), printing the rows dropped per reason; fit; print the rows the fit could not use, per reason (no mark IV; one_sided: no call or put at the strike quoted on both sides; few_strikes: expiry with fewer than --min-strikes usable strikes).

        Table, one row per expiry: the raw SVI parameters (a, b, rho, m, sigma) of total variance in k = ln(K/F); n, the usable strikes; RMSE and median |fit - mark IV| in vol points; inside, the share of rows quoted on both sides whose fitted vol lies inside their bid-ask IV, out of that many rows; butterfly, Durrleman's g >= 0 on a grid covering the quotes and the wings. Then the calendar check between consecutive expiries.

        Targets on the Deribit snapshots (issue 3): median error <= 0.5 vol point, >= 90 % inside, no butterfly arbitrage.

        Examples:

        [bold]deltahedge surface fit ../shared/data/deribit_chain_2026/deribit_options_snapshot_20260105T092511Z.csv -u ETH --plot smiles.png[/bold]

        [bold]deltahedge surface fit ../shared/data/deribit_eod_2021/btc_eod_202106.txt --snapshot 2021-06-15 --method ssvi[/bold]
        """
        from rich.console import Console

        from deltahedge.core.errors import DataError, DeltaHedgeError
        from deltahedge.core.units import ns_to_datetime
        from deltahedge.marketdata import clean_chain, load_chains
        from deltahedge.surface import fit_surface

        console = Console(width=max(Console().width, 120))
        snap: str | int | None = snapshot
        if snapshot is not None and snapshot.strip().lstrip("-").isdigit():
            snap = int(snapshot)
        try:
            chains = load_chains(file, format, underlying, snap)
            if len(chains) > 1:
                times = [f"{ns_to_datetime(c.ts_ns):%Y-%m-%d %H:%M:%S}" for c in chains]
                if snapshot is not None:
                    raise DataError(
                        f"--snapshot {snapshot!r} matches {len(chains)} snapshots ({times[0]} "
                        f"... {times[-1]}); give more of the time, or an index"
                    )
                console.print(
                    f"{file.name} holds {len(chains)} {chains[0].underlying} snapshots, "
                    f"{times[0]} to {times[-1]} UTC; fitting the first (choose another "
                    "with --snapshot INDEX or --snapshot TIME)",
                    soft_wrap=True,
                )
            chain, report = clean_chain(chains[0], min_T=min_t_days / 365.0)
            console.print(str(report), soft_wrap=True)
            surface = fit_surface(
                chain,
                method,  # type: ignore[arg-type]
                phi=phi,  # type: ignore[arg-type]
                repair=repair,
                repair_calendar=repair_calendar,
                min_strikes=min_strikes,
            )
        except DeltaHedgeError as exc:
            console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
            raise typer.Exit(2) from exc
        console.print(_fit_table(surface))
        console.print(_skipped_line(surface), soft_wrap=True)
        cal = surface.calendar
        console.print(
            "calendar: no arbitrage between expiries"
            if not cal
            else f"calendar: {len(cal)} violation(s): " + "; ".join(v.describe() for v in cal[:5]),
            soft_wrap=True,
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
        """Hull-White gain of sticky-strike, sticky-moneyness and min-variance deltas over Black-Scholes.

        For each option seen in two consecutive snapshots, the one-step hedging error of a delta d is dV - d dF (USD; V the option's USD value, F its expiry's forward). The gain of d in a bucket is 1 - SSE(d) / SSE(Black-Scholes delta): the share of the Black-Scholes hedging-error variance that d removes (Hull and White 2017, eq. 9). Buckets: Black-Scholes delta within 0.05 of 0.1 ... 0.9 (puts -0.1 ... -0.9), and all of them pooled (bold).

        The minimum-variance coefficients (a, b, c) are fitted per kind on the first half of the snapshots (in-sample) and tested on the second half (out-of-sample); the sticky deltas need no fit. The surfaces are SVI fits of each snapshot.
        """
        from rich.console import Console

        from deltahedge.marketdata import load_chains
        from deltahedge.surface import hedge_gain_table

        console = Console(width=max(Console().width, 120))
        files = sorted(folder.glob("deribit_options_snapshot_*.csv"))
        if len(files) < 4:
            console.print(f"[red]error:[/red] {folder} holds {len(files)} snapshot files; need 4+")
            raise typer.Exit(2)
        for u in [x.strip().upper() for x in underlying.split(",") if x.strip()]:
            chains = [
                load_chain_one for f in files for load_chain_one in load_chains(f, underlying=u)
            ]
            print_gain_table(console, hedge_gain_table(chains))

    @sub.command("slices")
    def slices(
        folder: Path = typer.Argument(
            Path("../shared/data/deribit_chain_2026"),
            help="Folder of Deribit snapshot CSVs (deribit_options_snapshot_*.csv).",
        ),
        underlying: str = typer.Option("BTC,ETH", help="Comma-separated coins."),
        show: int = typer.Option(40, help="Most slices missing a target to list."),
    ) -> None:
        """Per-slice SVI fit quality on every snapshot: slices missing the issue-3 targets."""
        import time

        from rich.console import Console

        from deltahedge.marketdata import load_chains
        from deltahedge.surface import fit_surface

        console = Console(width=max(Console().width, 120))
        files = sorted(folder.glob("deribit_options_snapshot_*.csv"))
        if not files:
            console.print(f"[red]error:[/red] {folder} holds no snapshot files")
            raise typer.Exit(2)
        coins = {x.strip().upper() for x in underlying.split(",") if x.strip()}
        rows: list[tuple[str, str, SliceDiagnostics]] = []
        wall = cpu = 0.0
        for f in files:
            for chain in load_chains(f):
                if chain.underlying not in coins:
                    continue
                t0, c0 = time.perf_counter(), time.process_time()
                surf = fit_surface(chain, "svi")
                wall += time.perf_counter() - t0
                cpu += time.process_time() - c0
                rows.extend((f.name[25:40], chain.underlying, d) for d in surf.diagnostics)
        console.print(slice_table(rows, show))
        bad_med = sum(d.median_abs_err_vol_pts > 0.5 for *_, d in rows)
        bad_in = sum(d.share_inside < 0.9 for *_, d in rows)
        bad_bf = sum(bool(d.butterfly) for *_, d in rows)
        worst_med = max(d.median_abs_err_vol_pts for *_, d in rows)
        worst_in = min(d.share_inside for *_, d in rows)
        console.print(
            f"{len(rows)} slices: {bad_med} with median |fit - mark| > 0.5 vol pt "
            f"(worst {worst_med:.2f}), {bad_in} with < 90% inside bid-ask "
            f"(worst {worst_in:.1%}), {bad_bf} with butterfly arbitrage; "
            f"fits took {wall:.2f} s wall, {cpu:.2f} s CPU",
            soft_wrap=True,
        )


def slice_table(rows: list[tuple[str, str, SliceDiagnostics]], show: int) -> Table:
    """The slices (snapshot, coin, diagnostics) missing a target, worst first."""
    from rich.table import Table

    bad = [r for r in rows if r[2].median_abs_err_vol_pts > 0.5 or r[2].share_inside < 0.9]
    bad.sort(key=lambda r: (-r[2].median_abs_err_vol_pts, r[2].share_inside))
    t = Table(title=f"slices missing a target ({len(bad)} of {len(rows)})")
    for col in ("snapshot", "coin", "days", "strikes", "median err", "inside", "min g"):
        t.add_column(col, justify="right")
    for snap, coin, d in bad[:show]:
        t.add_row(
            snap,
            coin,
            f"{d.T * 365:.2f}",
            str(d.n_strikes),
            f"{d.median_abs_err_vol_pts:.2f}",
            f"{d.share_inside:.1%}",
            f"{d.min_g:.3g}",
        )
    return t


__all__ = ["plot_surface", "print_gain_table", "register", "slice_table"]

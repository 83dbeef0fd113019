"""Error-versus-cost frontiers from sweep results, and their reports (table, PNG, HTML).

A sweep row holds ``std_pnl`` (hedging error, USD) and ``mean_cost`` (USD) for one policy
setting. A policy's frontier is its Pareto set (no other setting of it has both less
error and less cost). ``cost_at_std`` interpolates a frontier's cost at a given error,
linearly between its points, so policies are compared at the same hedging error.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "compare_policies",
    "cost_at_std",
    "frontier_table",
    "pareto",
    "write_html",
    "write_png",
]

Row = dict[str, Any]


def pareto(rows: Sequence[Row]) -> list[Row]:
    """The Pareto-efficient rows (min ``std_pnl`` and ``mean_cost``), sorted by std."""
    ordered = sorted(rows, key=lambda r: (r["std_pnl"], r["mean_cost"]))
    out: list[Row] = []
    best_cost = math.inf
    for r in ordered:
        if r["mean_cost"] < best_cost:
            out.append(r)
            best_cost = r["mean_cost"]
    return out


def cost_at_std(front: Sequence[Row], target: float) -> float:
    """Cost of a frontier at hedging error ``target`` (NaN outside its range).

    The frontier is interpolated linearly between its points (std ascending, cost
    descending).
    """
    if not front:
        return math.nan
    s = np.array([r["std_pnl"] for r in front])
    c = np.array([r["mean_cost"] for r in front])
    if target < s[0] * (1 - 1e-12) or target > s[-1] * (1 + 1e-12):
        return math.nan
    return float(np.interp(target, s, c))


def _groups(rows: Sequence[Row]) -> dict[tuple[str, str], list[Row]]:
    g: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        g.setdefault((str(r["policy"]), str(r["delta_model"])), []).append(r)
    return g


def compare_policies(
    rows: Sequence[Row], band: Sequence[str], delta_model: str = "BLACK76"
) -> dict[str, float]:
    """Cost of the best band policy relative to the best fixed-interval and threshold.

    At a common error level (the geometric middle of the range that all three frontiers
    cover; if they do not overlap, the smallest error all three reach, taking each
    family's cheapest setting at or below it), each family's cost is the least over its
    policies; returns the costs and the ratios ``band_vs_interval`` and
    ``band_vs_threshold``.
    """
    fronts = {k[0]: pareto(v) for k, v in _groups(rows).items() if k[1] == delta_model}
    fam = {
        "band": [fronts[p] for p in band if p in fronts],
        "interval": [fronts["FIXED_INTERVAL"]] if "FIXED_INTERVAL" in fronts else [],
        "threshold": [fronts["FIXED_THRESHOLD"]] if "FIXED_THRESHOLD" in fronts else [],
    }
    if not all(fam.values()):
        return {"target_std": math.nan}
    lo = max(min(f[0]["std_pnl"] for f in fs) for fs in fam.values())
    hi = min(max(f[-1]["std_pnl"] for f in fs) for fs in fam.values())
    out: dict[str, float] = {"target_std": math.nan}
    overlap = lo <= hi
    # with overlapping frontiers: interpolate at their geometric middle; otherwise the
    # least cost at or below the smallest error every family reaches (``interpolated`` 0)
    target = math.sqrt(lo * hi) if overlap else lo
    out["target_std"] = target
    out["interpolated"] = 1.0 if overlap else 0.0
    for name, fs in fam.items():
        if overlap:
            costs = [cost_at_std(f, target) for f in fs]
        else:
            costs = [r["mean_cost"] for f in fs for r in f if r["std_pnl"] <= target * (1 + 1e-9)]
        costs = [c for c in costs if math.isfinite(c)]
        out[f"{name}_cost"] = min(costs) if costs else math.nan

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else math.nan  # a family that need not trade: no ratio

    out["band_vs_interval"] = ratio(out["band_cost"], out["interval_cost"])
    out["band_vs_threshold"] = ratio(out["band_cost"], out["threshold_cost"])
    return out


#: parameter names of each policy, in the order of ``Policy.params`` (see ``policies``)
PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "FIXED_INTERVAL": ("every",),
    "FIXED_THRESHOLD": ("band",),
    "TIME_OR_THRESHOLD": ("every", "band"),
    "HYSTERESIS": ("outer", "inner"),
    "WHALLEY_WILMOTT": ("lambda", "k"),
    "VOL_ADAPTIVE": ("band", "halflife", "sig_ref", "elast"),
    "LELAND": ("every", "k"),
    "ZAKAMOULINE": ("lambda", "k", "sigma", "tau"),
    "GAMMA_WEIGHTED": ("multiple", "horizon_s", "sigma"),
}


def describe_params(policy: str, params: str) -> str:
    """``"0.215443,0.107722"`` of HYSTERESIS -> ``"outer=0.215 inner=0.108"``."""
    names = PARAM_NAMES.get(policy.removesuffix("+JITTER"), ())
    vals = [v for v in str(params).split(",") if v != ""]
    parts = []
    for i, v in enumerate(vals):
        try:
            text = f"{float(v):.3g}"
        except ValueError:
            text = v
        parts.append(f"{names[i]}={text}" if i < len(names) else text)
    return " ".join(parts)


def frontier_table(rows: Sequence[Row], title: str = "Error-versus-cost frontier"):  # type: ignore[no-untyped-def]
    """A Rich table of each (policy, delta model)'s Pareto points.

    ``every`` is in decision steps, ``band``/``outer``/``inner`` in coin, ``lambda`` per
    USD, ``k`` a fraction of notional (the legend of ``deltahedge.backtest.policies``).
    """
    from rich.table import Table

    t = Table(
        title=title,
        caption="every: decision steps; band/outer/inner: coin; "
        "lambda: risk aversion per USD; k: cost as a fraction of notional; "
        "+JITTER: randomised timing (+-50%) and size (+-30%)",
    )
    for col in ("policy", "delta", "params", "error std", "mean cost", "CVaR99", "trades"):
        left = col in ("policy", "delta", "params")
        t.add_column(col, justify="left" if left else "right", no_wrap=col != "params")
    for (pol, dm), grp in sorted(_groups(rows).items()):
        for r in pareto(grp):
            t.add_row(
                pol.lower(),
                dm.lower(),
                describe_params(pol, str(r["params"])),
                f"{r['std_pnl']:,.1f}",
                f"{r['mean_cost']:,.1f}",
                f"{r['cvar99']:,.0f}",
                f"{r['mean_trades']:,.1f}",
            )
    return t


def summary_table(summary: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Rich table of the band-versus-naive cost ratios and the delta models' error change."""
    from rich.table import Table

    t = Table(title="At equal hedging error: cost of the best band policy relative to")
    for col in ("delta", "error std", "band cost", "fixed interval", "fixed threshold"):
        t.add_column(col, justify="left" if col == "delta" else "right")
    no_trade = False
    for dm, c in (summary.get("comparison") or {}).items():
        if not isinstance(c, dict) or not math.isfinite(c.get("target_std", math.nan)):
            t.add_row(dm.lower(), "frontiers do not meet", "", "", "")
            continue

        def ratio(key: str, c: dict[str, float] = c) -> str:
            v = c.get(key, math.nan)
            return f"{v:.3f}x" if math.isfinite(v) else "n/a"

        band_cost = c.get("band_cost", math.nan)
        idle = band_cost == 0.0
        no_trade |= idle
        t.add_row(
            dm.lower(),
            f"{c['target_std']:,.1f}",
            f"{band_cost:,.1f}" + (" (no trades)" if idle else ""),
            ratio("band_vs_interval"),
            ratio("band_vs_threshold"),
        )
    notes = []
    red = (summary.get("delta_models") or {}).get("reduction_vs_black76") or {}
    if red:
        notes.append(
            "hedging error vs black76: "
            + ", ".join(f"{k.lower()} {-100 * v:+.1f} %" for k, v in red.items())
        )
    if no_trade:
        notes.append(
            "no trades: a band so wide it never trades already has that error, so on these "
            "paths hedging with that delta model does not lower the error"
        )
    if notes:
        t.caption = "\n".join(notes)
    return t


def write_png(
    rows: Sequence[Row],
    path: str | Path,
    title: str = "",
    xlabel: str = "hedging error: std of final PnL (USD)",
) -> Path:
    """Plot every (policy, delta model) frontier, error (x) against cost (y), log axes.

    One colour per policy, one line style per delta model.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 6), dpi=110)
    styles = {"BLACK76": "-", "SMILE": "--", "MODEL": ":", "MARK_IV": "-."}
    policies = sorted({str(r["policy"]) for r in rows})
    colours = {p: plt.get_cmap("tab10")(i % 10) for i, p in enumerate(policies)}
    for (pol, dm), grp in sorted(_groups(rows).items()):
        front = [r for r in pareto(grp) if r["mean_trades"] > 0]  # log axes: no 0 cost
        ax.plot(
            [r["std_pnl"] for r in front],
            [max(r["mean_cost"], 1e-6) for r in front],
            styles.get(dm, "-"),
            color=colours[pol],
            marker="o",
            ms=3,
            label=f"{pol} / {dm}",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean trading cost (USD)")
    ax.set_title(title or "Hedging error versus cost", fontsize=10)
    ax.text(
        0.01,
        0.01,
        "Pareto points of each policy; settings that never trade are left out",
        transform=ax.transAxes,
        fontsize=7,
        color="grey",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out


def write_html(
    rows: Sequence[Row], path: str | Path, title: str = "", extra: dict[str, Any] | None = None
) -> Path:
    """A self-contained HTML report: plotly.js inlined from the installed package."""
    from plotly.offline import get_plotlyjs

    traces = []
    for (pol, dm), grp in sorted(_groups(rows).items()):
        front = [r for r in pareto(grp) if r["mean_trades"] > 0]
        traces.append(
            {
                "x": [r["std_pnl"] for r in front],
                "y": [max(r["mean_cost"], 1e-6) for r in front],
                "text": [f"{pol}({r['params']}) trades {r['mean_trades']:.1f}" for r in front],
                "mode": "lines+markers",
                "name": f"{pol} / {dm}",
                "line": {"dash": {"BLACK76": "solid", "SMILE": "dash"}.get(dm, "dot")},
            }
        )
    layout = {
        "title": title or "Hedging error versus cost",
        "xaxis": {"type": "log", "title": "hedging error: std of final PnL (USD)"},
        "yaxis": {"type": "log", "title": "mean trading cost (USD)"},
    }
    cols = [
        "policy",
        "delta_model",
        "params",
        "std_pnl",
        "mean_cost",
        "cvar95",
        "cvar99",
        "mean_trades",
        "mean_turnover",
        "mean_max_drawdown",
        "mean_pnl",
    ]
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(f'{r[c]:,.4g}' if isinstance(r[c], float) else str(r[c]))}</td>"
            for c in cols
        )
        + "</tr>"
        for r in rows
    )
    extra_html = (
        f"<h2>Summary</h2><pre>{html.escape(json.dumps(extra, indent=2, default=str))}</pre>"
        if extra
        else ""
    )
    doc = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<script>{get_plotlyjs()}</script>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}</style></head><body>
<h1>{html.escape(title or "Hedging error versus cost")}</h1>
<div id="plot" style="width:100%;height:600px"></div>{extra_html}
<h2>All sweep points</h2><table><tr>{head}</tr>{body}</table>
<script>Plotly.newPlot("plot", {json.dumps(traces)}, {json.dumps(layout)});</script>
</body></html>"""
    out = Path(path)
    out.write_text(doc, encoding="utf-8")
    return out

"""The live terminal view of an engine (Rich): delta against the band, Greeks, hedges, PnL.

It only reads what the engine computed (like the dashboard); ``render`` builds one frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from deltahedge.core.units import ns_to_datetime
from deltahedge.engine.publish import band_of

if TYPE_CHECKING:
    from deltahedge.engine.engine import Engine


def delta_bar(delta: float, band: float | None, width: int = 21) -> Text:
    """``[-----|--*--|-----]``: the delta's position against the band (scale: 2x the band)."""
    if band is None or band <= 0:
        return Text(f"{delta:+.3f}")
    half = width // 2
    scale = 2.0 * band
    pos = half + round(max(-1.0, min(1.0, delta / scale)) * half)
    edge = round(half / 2)
    chars = ["-"] * width
    chars[half - edge] = chars[half + edge] = "|"
    chars[half] = "+"
    chars[pos] = "*"
    inside = abs(delta) <= band
    return Text("[" + "".join(chars) + "]", style="green" if inside else "bold red")


def render(engine: Engine, speed: float | None = None, note: str = "") -> Group:
    """One frame of the terminal view."""
    r = engine.last_risk
    c = engine.counters
    band = band_of(engine.policy)
    head = Text()
    head.append("deltahedge demo ", style="bold")
    now = engine.clock.now_ns()
    head.append(f"simulated time {ns_to_datetime(now):%Y-%m-%d %H:%M:%S} UTC")
    if speed is not None:
        head.append(f"  (accelerated x{speed:g})", style="yellow")
    head.append(f"  mode: {engine.mode}", style="bold red" if engine.mode != "running" else "green")
    greeks = Table(title="book risk", title_justify="left", show_header=True)
    for col in ("BTC index", "net delta BTC", "band", "delta vs band", "cash gamma $/1%",
                "vega $/vol pt", "theta $/day", "hedge legs BTC"):  # fmt: skip
        if col == "delta vs band":
            greeks.add_column(col, justify="center", no_wrap=True, min_width=23)
        else:
            greeks.add_column(col, justify="right")
    if r is not None:
        u = engine._ui
        S = float(r.index[u])
        d = float(r.delta_coin[u])
        greeks.add_row(
            f"{S:,.1f}", f"{d:+.3f}", f"±{band:g}" if band else "-", delta_bar(d, band),
            f"{float(r.gamma_coin[u]) * S * S / 100:,.0f}", f"{float(r.vega_usd[u]) / 100:,.0f}",
            f"{float(r.theta_usd_per_day[u]):,.0f}", f"{engine.account.delta_coin():+.3f}",
        )  # fmt: skip
    p = engine.pnl
    pnl = Table(title="PnL since start, USD", title_justify="left")
    for col in ("total", "delta", "gamma", "vega", "theta", "funding", "fees", "residual",
                "today (UTC)"):  # fmt: skip
        pnl.add_column(col, justify="right")
    pnl.add_row(*(f"{x:,.0f}" for x in (p.total, p.delta, p.gamma, p.vega, p.theta, p.funding,
                                         p.fees, p.residual, engine.daily.value)))  # fmt: skip
    hedges = Table(title="last hedges", title_justify="left")
    for col in ("time (sim)", "delta before", "hedge BTC", "legs", "fees $", "status"):
        hedges.add_column(col)
    for h in list(engine.hedge_log)[-8:][::-1]:
        legs = ", ".join(f"{q:+g} {s}@{px:,.1f}" for _, s, q, px in h.legs if q)
        hedges.add_row(
            f"{ns_to_datetime(h.ts_ns):%H:%M:%S}", f"{h.book_delta_coin:+.3f}",
            f"{h.filled_coin:+.3f}", legs or "-", f"{h.fees_usd:,.2f}", h.status,
        )  # fmt: skip
    lat = engine.hedge_latency
    rej = sum(c.rejected.values())
    stats = Text(
        f"ticks {c.ticks:,}  hedges {c.hedges}  refused {c.denied}  bad ticks rejected {rej} "
        f"{dict(c.rejected) if rej else ''}  errors {c.errors}  tick->intent p50 "
        f"{lat.quantile(0.5) * 1e6:,.0f} us p99 {lat.quantile(0.99) * 1e6:,.0f} us"
        if lat.n
        else f"ticks {c.ticks:,}  no hedge yet  bad ticks rejected {rej}"
    )
    vol = engine.vol
    stats.append(f"  vol forecast {100 * vol.forecast():.1f} % ({vol.source})")
    parts: list = [head, greeks, pnl, hedges, stats]
    if engine.message:
        parts.append(Text(engine.message, style="yellow"))
    if note:
        parts.append(Text(note, style="dim"))
    return Group(Panel(Group(*parts), border_style="blue"))


__all__ = ["delta_bar", "render"]

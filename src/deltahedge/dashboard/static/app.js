// deltahedge dashboard: renders what the engine published; computes no risk.
"use strict";

const COLORS = {
  delta: "#4aa3ff", gamma: "#b07cff", vega: "#2ec4b6", theta: "#f5b942",
  funding: "#ff8c42", fees: "#ff5c5c", residual: "#7d8a9c",
};
const PNL_KEYS = ["delta", "gamma", "vega", "theta", "funding", "fees", "residual"];
const BASE_LAYOUT = {
  paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
  font: { color: "#c9d1d9", size: 11, family: "DejaVu Sans, system-ui, sans-serif" },
  margin: { l: 56, r: 12, t: 8, b: 28 },
  xaxis: { gridcolor: "#1e2733", zerolinecolor: "#324155", linecolor: "#243040", tickformat: "%H:%M:%S", hoverformat: "%H:%M:%S.%L" },
  yaxis: { gridcolor: "#1e2733", zerolinecolor: "#324155", linecolor: "#243040" },
  legend: { orientation: "h", x: 0, y: 1.12, font: { size: 10 } },
  hovermode: "x unified", showlegend: true,
};
const PLOT_CONFIG = { displayModeBar: false, responsive: true };

const state = { snap: null, lastMsgAt: 0, hedgeSeen: new Set(), meta: null, ws: null };

const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}
function fmt(x, digits = 2) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  const v = Math.abs(x) < 0.5 * 10 ** -digits ? 0 : Number(x);  // no "-0"
  return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
// contracts: whole numbers as such (934 inverse contracts), fractions of a coin to the lot (1.024)
function fmtSize(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  return Number.isInteger(Math.round(x * 1e9) / 1e9) ? fmt(x, 0) : Number(x.toFixed(6)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}
function fmtSigned(x, digits = 2) { return (x >= 0.5 * 10 ** -digits ? "+" : "") + fmt(x, digits); }
function usd(x) {
  if (x === null || x === undefined) return "—";
  const a = Math.abs(x);
  if (a >= 1e6) return fmtSigned(x / 1e6, 2) + "M";
  if (a >= 1e4) return fmtSigned(x / 1e3, 1) + "k";
  return fmtSigned(x, 0);
}
function signClass(x) { return x > 0 ? "pos" : x < 0 ? "neg" : ""; }
function tsDate(ns) { return new Date(ns / 1e6); }
function tsText(ns) { return ns ? tsDate(ns).toISOString().slice(11, 19) : "—"; }
function layout(extra) {
  const l = structuredClone(BASE_LAYOUT);
  for (const [k, v] of Object.entries(extra || {})) {
    l[k] = (typeof v === "object" && !Array.isArray(v) && l[k]) ? Object.assign(l[k], v) : v;
  }
  return l;
}
const plotReady = () => typeof window.Plotly !== "undefined";
// Plotly.react into `div`, or an empty-state line when there is nothing to draw.
function plot(div, traces, lay, hasData, emptyText) {
  if (!hasData) {
    if (div.dataset.empty !== "1") {
      Plotly.purge(div);
      div.replaceChildren(el("div", { class: "empty", text: emptyText }));
      div.dataset.empty = "1";
    }
    return;
  }
  if (div.dataset.empty === "1") { div.replaceChildren(); div.dataset.empty = "0"; }
  Plotly.react(div, traces, lay, PLOT_CONFIG);
}

// ---------------------------------------------------------------- underlyings
function renderUnderlyings(s) {
  const box = $("underlyings");
  if (!s.underlyings.length) { box.replaceChildren(el("div", { class: "empty", text: "waiting for the engine…" })); return; }
  box.replaceChildren(...s.underlyings.map((u) => {
    const known = u.band_lower_coin !== null && u.band_upper_coin !== null;
    const lo = known ? u.band_lower_coin : 0, hi = known ? u.band_upper_coin : 0;
    const span = Math.max(Math.abs(lo), Math.abs(hi), Math.abs(u.delta_coin)) * 1.25 || 1;
    const pct = (x) => ((x + span) / (2 * span)) * 100;
    const out = known && (u.delta_coin < lo || u.delta_coin > hi);
    const bar = el("div", { class: "bandbar", title: known ? `band ${fmt(lo, 3)} … ${fmt(hi, 3)} ${u.underlying}` : "band unknown" },
      known ? el("div", { class: "band", style: `left:${pct(lo)}%;width:${pct(hi) - pct(lo)}%` }) : null,
      el("div", { class: "zero", style: `left:${pct(0)}%` }),
      el("div", { class: "marker" + (out ? " out" : ""), style: `left:${pct(u.delta_coin)}%` }));
    const labels = el("div", { class: "bandlabels" },
      el("span", { text: fmt(-span, 2) }), el("span", { text: known ? `band ${fmt(lo, 2)} / ${fmt(hi, 2)}` : "band unknown" }),
      el("span", { text: fmt(span, 2) }));
    const tile = (k, v, cls, id) => el("div", { class: "tile" }, el("div", { class: "k", text: k }),
      el("div", { class: "v " + (cls || ""), text: v, id: id }));
    const left = el("div", {},
      el("div", { class: "name" }, u.underlying, el("span", { class: "spot", text: fmt(u.spot_usd, 2) })),
      el("div", { class: "delta" + (out ? " out" : ""), id: `delta-${u.underlying}`, text: fmtSigned(u.delta_coin, 3) }),
      el("div", { class: "delta-usd", id: `delta-usd-${u.underlying}`, text: `${usd(u.delta_usd)} USD` }));
    const right = el("div", {},
      el("div", { class: "tiles" },
        tile("Γ cash /1%", usd(u.gamma_cash_usd), signClass(u.gamma_cash_usd), `gamma-${u.underlying}`),
        tile("vega /vol pt", usd(u.vega_usd), signClass(u.vega_usd), `vega-${u.underlying}`),
        tile("θ /day", usd(u.theta_usd_per_day), signClass(u.theta_usd_per_day), `theta-${u.underlying}`),
        tile("policy", u.policy || "—", "", null)),
      bar, labels);
    return el("div", { class: "und" }, left, right);
  }));
}

// ---------------------------------------------------------------- delta chart
function renderDelta(s) {
  const box = $("delta-charts");
  for (const series of s.delta_history) {
    const id = `delta-chart-${series.underlying}`;
    let div = $(id);
    if (!div) { div = el("div", { class: "delta-chart", id }); box.append(div); }
    div.dataset.points = String(series.ts_ns.length);
    const x = series.ts_ns.map(tsDate);
    const t0 = series.ts_ns.length ? series.ts_ns[0] : 0;
    const hedges = s.hedges.filter((h) => h.underlying === series.underlying && h.book_delta_coin !== null && h.ts_ns >= t0);
    const traces = [
      { x, y: series.band_upper_coin, mode: "lines", line: { color: "rgba(74,163,255,.6)", width: 1, dash: "dot" }, name: "band", hoverinfo: "skip" },
      { x, y: series.band_lower_coin, mode: "lines", line: { color: "rgba(74,163,255,.6)", width: 1, dash: "dot" }, fill: "tonexty", fillcolor: "rgba(74,163,255,.08)", showlegend: false, hoverinfo: "skip" },
      { x, y: series.delta_coin, mode: "lines", line: { color: "#e6edf3", width: 1.4 }, name: `${series.underlying} delta` },
      { x: hedges.map((h) => tsDate(h.ts_ns)), y: hedges.map((h) => h.book_delta_coin), mode: "markers", name: "hedge",
        marker: { size: 9, symbol: hedges.map((h) => h.side === "buy" ? "triangle-up" : "triangle-down"),
          color: hedges.map((h) => h.side === "buy" ? "#2ecc71" : "#ff5c5c"), line: { width: 0 } },
        text: hedges.map((h) => `${h.side} ${fmt(Math.abs(h.size_coin), 3)} ${h.underlying} @ ${fmt(h.price, 2)}<br>${h.reason}`),
        hovertemplate: "%{text}<extra></extra>" },
    ];
    Plotly.react(div, traces, layout({ yaxis: { title: { text: series.underlying, font: { size: 11 } } }, showlegend: false, margin: { l: 56, r: 12, t: 4, b: 22 } }), PLOT_CONFIG);
  }
}

// ---------------------------------------------------------------- pnl
function renderPnl(s) {
  const h = s.pnl_history;
  const n = h.ts_ns.length;
  const step = Math.max(1, Math.ceil(n / 90));
  const idx = []; for (let i = n - 1; i >= 0; i -= step) idx.unshift(i);
  const x = idx.map((i) => tsDate(h.ts_ns[i]));
  const traces = PNL_KEYS.map((k) => ({ type: "bar", x, y: idx.map((i) => h[k][i]), name: k, marker: { color: COLORS[k] } }));
  traces.push({ type: "scatter", mode: "lines", x, y: idx.map((i) => PNL_KEYS.reduce((a, k) => a + h[k][i], 0)), name: "total", line: { color: "#ffffff", width: 1.6 } });
  plot($("pnl-chart"), traces, layout({ barmode: "relative", bargap: 0.05 }), n > 0, "no PnL attribution published");
  const tb = $("pnl-table").tBodies[0];
  const value = (k) => (s.pnl ? s.pnl[k] : null);
  const rows = PNL_KEYS.concat(["total"]).map((k) => el("tr", {}, el("td", { text: k }),
    el("td", { class: signClass(value(k)), id: `pnl-${k}`, text: value(k) === null ? "—" : fmtSigned(value(k), 0) })));
  tb.replaceChildren(...rows);
}

// ---------------------------------------------------------------- hedge log
function renderHedges(s) {
  const tb = $("hedge-log").tBodies[0];
  if (state.hedgeSeen.size > 5000) state.hedgeSeen = new Set(s.hedges.map((h) => h.intent_id));
  const rows = s.hedges.slice(-150).reverse().map((h) => {
    const fresh = !state.hedgeSeen.has(h.intent_id);
    state.hedgeSeen.add(h.intent_id);
    return el("tr", { class: fresh && state.snap ? "fresh" : "", "data-intent": h.intent_id },
      el("td", { class: "mono", text: tsText(h.ts_ns) }), el("td", { text: h.underlying }),
      el("td", { class: "side-" + h.side, text: h.side }), el("td", { class: "num", text: fmtSize(h.size) }),
      el("td", { class: "num " + signClass(h.size_coin), text: fmtSigned(h.size_coin, 3) }),
      el("td", { text: h.instrument }), el("td", { text: h.venue }), el("td", { class: "num", text: fmt(h.price, 2) }),
      el("td", { class: "num", text: fmt(h.slippage_bps, 1) }), el("td", { class: "num", text: fmt(h.fees_usd, 2) }),
      el("td", { class: "reason", text: h.reason }), el("td", { class: "mono muted", text: h.intent_id.slice(0, 12) }));
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { class: "muted", colspan: "12", text: "no hedges yet" })));
  tb.replaceChildren(...rows);
  $("hedge-count").textContent = `${s.hedges.length} hedges`;
}

// ---------------------------------------------------------------- smiles
function renderSmiles(s) {
  const sel = $("smile-select");
  const keys = s.smiles.map((f) => `${f.underlying} ${f.expiry}`);
  if (sel.options.length !== keys.length || [...sel.options].some((o, i) => o.value !== keys[i])) {
    const keep = sel.value;
    sel.replaceChildren(...keys.map((k) => el("option", { value: k, text: k })));
    if (keys.includes(keep)) sel.value = keep;
    else {  // first show an expiry that has quotes to compare the fit with
      const quoted = s.smiles.find((f) => f.quotes.length > 0);
      if (quoted) sel.value = `${quoted.underlying} ${quoted.expiry}`;
    }
  }
  sel.setAttribute("data-quotes", String((s.smiles.find((f) => `${f.underlying} ${f.expiry}` === sel.value) || { quotes: [] }).quotes.length));
  const fit = s.smiles.find((f) => `${f.underlying} ${f.expiry}` === sel.value);
  if (!fit) { plot($("smile-chart"), [], null, false, "no smile fits published"); return; }
  const q = fit.quotes;
  const pct = (v) => (v === null ? null : v * 100);
  const traces = [
    { x: fit.strikes, y: fit.fitted_iv.map(pct), mode: "lines", name: `fit (${fit.model || "model"})`, line: { color: "#4aa3ff", width: 2 } },
    { x: q.map((p) => p.strike), y: q.map((p) => pct(p.bid_iv)), mode: "markers", name: "bid", marker: { symbol: "triangle-up", size: 7, color: "#2ecc71" } },
    { x: q.map((p) => p.strike), y: q.map((p) => pct(p.ask_iv)), mode: "markers", name: "ask", marker: { symbol: "triangle-down", size: 7, color: "#ff5c5c" } },
    { x: q.map((p) => p.strike), y: q.map((p) => pct(p.mark_iv)), mode: "markers", name: "mark", marker: { size: 5, color: "#e6edf3" } },
  ];
  plot($("smile-chart"), traces, layout({
    yaxis: { title: { text: "IV %", font: { size: 11 } } }, hovermode: "closest",
    xaxis: { tickformat: ",.0f", hoverformat: ",.0f", title: { text: `strike · forward ${fmt(fit.forward, 0)} · T ${fmt(fit.t_years * 365, 0)}d`, font: { size: 10 } } },
    margin: { l: 56, r: 12, t: 8, b: 40 },
    shapes: [{ type: "line", x0: fit.forward, x1: fit.forward, yref: "paper", y0: 0, y1: 1, line: { color: "#7d8a9c", dash: "dot", width: 1 } }],
  }), true, "");
}

function renderVega(s) {
  const traces = s.underlyings.map((u, i) => ({
    type: "bar", name: u.underlying, x: u.vega_by_expiry.map((e) => e.expiry), y: u.vega_by_expiry.map((e) => e.vega_usd),
    marker: { color: ["#4aa3ff", "#b07cff", "#2ec4b6", "#f5b942"][i % 4] },
  }));
  const any = s.underlyings.some((u) => u.vega_by_expiry.length > 0);
  plot($("vega-chart"), traces, layout({ barmode: "group", hovermode: "closest", xaxis: { type: "category", tickformat: "" }, legend: { y: 1.18 }, margin: { l: 56, r: 12, t: 18, b: 28 } }), any, "no vega by expiry published");
}

// ---------------------------------------------------------------- venues, limits, header
function renderVenues(s) {
  if (!s.venues.length) { $("venues").tBodies[0].replaceChildren(el("tr", {}, el("td", { class: "muted", colspan: "6", text: "no venue status published" }))); return; }
  $("venues").tBodies[0].replaceChildren(...s.venues.map((v) => {
    const stale = v.staleness_s !== null && v.staleness_limit_s !== null && v.staleness_s > v.staleness_limit_s;
    return el("tr", { "data-venue": v.venue }, el("td", { text: v.venue }),
      el("td", { class: v.connected ? "link-up" : "link-down", text: v.connected ? "● up" : "● down" }),
      el("td", { class: "num", text: fmt(v.latency_ms, 0) }),
      el("td", { class: "num" + (stale ? " stale" : ""), text: fmt(v.staleness_s, 2) }),
      el("td", { class: "num", text: fmt(v.staleness_limit_s, 1) }), el("td", { class: "muted", text: v.message }));
  }));
}
function renderLimits(s) {
  if (!s.limits.length) { $("limits").replaceChildren(el("div", { class: "empty", text: "no risk limits published" })); return; }
  $("limits").replaceChildren(...s.limits.map((l) => {
    const u = l.utilisation;
    const cls = u >= 1 ? "breach" : u >= 0.8 ? "warn" : "";
    return el("div", { class: "limit" },
      el("div", { class: "row" }, el("span", { text: l.name }),
        el("span", { class: "mono", text: `${fmt(l.used, 2)} / ${fmt(l.limit, 2)} ${l.unit} · ${fmt(u * 100, 0)}%` })),
      el("div", { class: "bar" }, el("div", { class: "fill " + cls, style: `width:${Math.min(100, u * 100)}%` })));
  }));
}
function renderHeader(s) {
  const m = $("mode");
  m.textContent = s.mode; m.dataset.mode = s.mode;
  $("engine-time").textContent = s.ts_ns ? tsDate(s.ts_ns).toISOString().replace("T", " ").slice(0, 19) : "—";
  $("seq").textContent = s.seq;
  const msg = $("message");
  msg.hidden = !s.message; msg.textContent = s.message || "";
}

function render(s) {
  renderHeader(s); renderUnderlyings(s); renderHedges(s); renderVenues(s); renderLimits(s);
  if (plotReady()) { renderDelta(s); renderPnl(s); renderSmiles(s); renderVega(s); }
  state.snap = s;
}

// ---------------------------------------------------------------- transport
// The first message is a full snapshot; later ones carry only the history since `base_seq`.
function appendColumns(prev, add, keys, keep) {
  const out = Object.assign({}, add);
  for (const k of keys) out[k] = prev[k].concat(add[k]).slice(-keep);
  return out;
}
function merge(prev, msg) {
  if (msg.base_seq === undefined) return msg;
  if (!prev || prev.seq !== msg.base_seq) {  // cannot happen on one socket; resync from REST
    fetch("/api/state", { cache: "no-store" }).then((r) => r.json()).then((full) => render(full));
    return prev || msg;
  }
  const seriesKeys = ["ts_ns", "delta_coin", "band_lower_coin", "band_upper_coin"];
  const delta = prev.delta_history.map((p) => {
    const add = msg.delta_history.find((d) => d.underlying === p.underlying);
    return add ? appendColumns(p, add, seriesKeys, msg.max_points) : p;
  });
  for (const d of msg.delta_history) {
    if (!prev.delta_history.some((p) => p.underlying === d.underlying)) delta.push(d);
  }
  const pnlKeys = ["ts_ns"].concat(PNL_KEYS);
  return Object.assign({}, msg, {
    delta_history: delta,
    hedges: prev.hedges.concat(msg.hedges).slice(-msg.max_hedges),
    pnl_history: appendColumns(prev.pnl_history, msg.pnl_history, pnlKeys, msg.max_points),
  });
}

function connect(delay = 500) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/ws`);
  state.ws = ws;
  ws.onopen = () => { $("conn").classList.add("on"); delay = 500; };
  ws.onmessage = (ev) => { state.lastMsgAt = Date.now(); render(merge(state.snap, JSON.parse(ev.data))); };
  ws.onclose = () => { $("conn").classList.remove("on"); setTimeout(() => connect(Math.min(delay * 2, 8000)), delay); };
}
setInterval(() => {
  const age = (Date.now() - state.lastMsgAt) / 1000;
  $("age").textContent = state.lastMsgAt ? `${age.toFixed(1)}s ago` : "—";
  $("age").classList.toggle("stale", state.lastMsgAt > 0 && age > 5 && state.meta?.source !== "journal");
}, 250);

// ---------------------------------------------------------------- controls
let pending = null;
function toast(text, ok) {
  const t = $("control-result");
  t.textContent = text; t.className = "toast " + (ok ? "ok" : "err"); t.hidden = false;
  t.dataset.ok = ok ? "1" : "0";
}
function askControl(action, mode) {
  pending = { action, mode };
  $("control-title").textContent = action === "kill" ? `Kill switch: ${mode}` : action[0].toUpperCase() + action.slice(1) + " hedging";
  $("token-input").value = "";
  $("control-dialog").showModal();
  $("token-input").focus();
}
async function sendControl(token) {
  const { action, mode } = pending;
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const body = action === "kill" ? JSON.stringify({ mode }) : "{}";
  try {
    const r = await fetch(`/api/control/${action}`, { method: "POST", headers, body, cache: "no-store" });
    const j = await r.json().catch(() => ({}));
    if (r.ok) toast(`${action}${mode && action === "kill" ? " (" + mode + ")" : ""} accepted`, true);
    else toast(`refused (${r.status}): ${j.detail || r.statusText}`, false);
  } catch (e) { toast(`failed: ${e}`, false); }
}
function setupControls() {
  for (const b of document.querySelectorAll("#controls button")) {
    b.addEventListener("click", () => askControl(b.dataset.action, b.dataset.mode));
  }
  $("control-cancel").addEventListener("click", () => $("control-dialog").close());
  $("control-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = $("token-input").value;
    $("token-input").value = "";
    $("control-dialog").close();
    sendControl(token);
  });
  $("smile-select").addEventListener("change", () => state.snap && plotReady() && renderSmiles(state.snap));
}

async function init() {
  setupControls();
  try {
    const meta = await (await fetch("/api/meta", { cache: "no-store" })).json();
    state.meta = meta;
    $("source").textContent = meta.source;
    if (!meta.controls_enabled) {
      for (const b of document.querySelectorAll("#controls button")) b.disabled = true;
      $("readonly").hidden = false;
    }
  } catch (e) { /* the websocket still brings the data */ }
  connect();
}
document.addEventListener("DOMContentLoaded", init);

// chart.js: a visit's vitals over time as a small SVG line chart, drawn
// here (no chart library: the workstation works offline). Blood pressure
// and heart rate share one axis; SpO2 and respiratory rate are listed in
// the table beside it (and in the discharge summary).
import { svg, h } from "./dom.js";
import { clockTime } from "./format.js";

// Every vitals reading of a visit from its events, amendments applied:
// [{time (ms), iso, item ("phase.item"), actor, value}].
export function vitalsReadings(visit, events) {
  const vitals = new Set();
  for (const p of visit.phases) for (const it of p.items) if (it.kind === "vitals") vitals.add(`${p.id}.${it.id}`);
  const out = [];
  for (const ev of events) {
    if (ev.type === "item.recorded") {
      for (const [id, v] of Object.entries(ev.data.values || {})) {
        const ref = id.includes(".") ? id : `${ev.data.phase}.${id}`;
        // A late entry at the time it was observed (docs/safety.md, H8).
        const late = ev.data.observed_at !== undefined;
        const iso = late ? new Date(ev.data.observed_at).toISOString() : ev.time;
        if (vitals.has(ref)) out.push({ time: Date.parse(iso), iso, item: ref, actor: ev.actor, value: v, late });
      }
    } else if (ev.type === "item.amended" && vitals.has(ev.data.item)) {
      for (let i = out.length - 1; i >= 0; i--)
        if (out[i].item === ev.data.item) {
          out[i] = { ...out[i], value: ev.data.value, amended: true };
          break;
        }
    }
  }
  return out.sort((a, b) => a.time - b.time);
}

const SERIES = [
  { key: "sbp", label: "Systolic BP", cls: "s-sbp", dash: null, marker: "v" },
  { key: "dbp", label: "Diastolic BP", cls: "s-dbp", dash: null, marker: "^" },
  { key: "hr", label: "Heart rate", cls: "s-hr", dash: "4 3", marker: "o" },
];

export function chart(readings) {
  if (!readings.length) return h("p", { class: "muted" }, "No vitals recorded yet.");
  const W = 640, H = 240, L = 44, R = 12, T = 12, B = 30;
  const t0 = readings[0].time;
  const t1 = Math.max(readings[readings.length - 1].time, t0 + 10 * 60000);
  let hi = 160;
  for (const r of readings) for (const s of SERIES) if (r.value[s.key] > hi) hi = r.value[s.key];
  hi = Math.ceil(hi / 20) * 20;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - v / hi) * (H - T - B);
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "vitals-chart", role: "img", "aria-labelledby": "chart-title chart-desc" },
    svg("title", { id: "chart-title" }, "Vitals over time"),
    svg("desc", { id: "chart-desc" }, `${readings.length} readings; the table beside the chart lists them.`));
  for (let v = 0; v <= hi; v += 40) {
    g.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, String(v)));
  }
  const span = (t1 - t0) / 60000;
  const step = span > 180 ? 60 : span > 60 ? 30 : span > 20 ? 10 : 5;
  for (let m = 0; m <= span; m += step)
    g.append(svg("text", { x: x(t0 + m * 60000), y: H - 8, "text-anchor": "middle", class: "axis" }, `${m} min`));
  for (const s of SERIES) {
    const pts = readings.filter((r) => typeof r.value[s.key] === "number").map((r) => [x(r.time), y(r.value[s.key])]);
    if (!pts.length) continue;
    g.append(svg("polyline", { points: pts.map((p) => p.join(",")).join(" "), class: `line ${s.cls}`, "stroke-dasharray": s.dash }));
    for (const [px, py] of pts) {
      const d = s.marker === "v" ? `M${px - 5},${py - 4}L${px + 5},${py - 4}L${px},${py + 4}Z`
        : s.marker === "^" ? `M${px - 5},${py + 4}L${px + 5},${py + 4}L${px},${py - 4}Z` : null;
      g.append(d ? svg("path", { d, class: `mark ${s.cls}` }) : svg("circle", { cx: px, cy: py, r: 3.5, class: `mark ${s.cls}` }));
    }
  }
  const legend = h("ul", { class: "legend" }, SERIES.map((s) => h("li", { class: s.cls }, h("span", { class: "swatch", "aria-hidden": "true" }), s.label)));
  return h("figure", { class: "chart" }, g, legend);
}

// The same readings as a table (what the chart shows, readable by anyone).
export function table(readings, caption) {
  const keys = [];
  for (const r of readings) for (const k of Object.keys(r.value)) if (!keys.includes(k)) keys.push(k);
  const names = { sbp: "SBP", dbp: "DBP", hr: "HR", spo2: "SpO\u2082", rr: "RR" };
  return h("table", { class: "vitals-table" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "Item"), keys.map((k) => h("th", { scope: "col" }, names[k] || k)), h("th", { scope: "col" }, "By"))),
    h("tbody", {}, readings.map((r) => h("tr", {},
      h("td", {}, clockTime(r.iso)), h("td", {}, r.item.replace(".", " \u203a ")),
      keys.map((k) => h("td", { class: "num" }, r.value[k] === undefined ? "" : String(r.value[k]))),
      h("td", {}, r.actor, r.amended ? " (amended)" : "", r.late ? " (late entry)" : "")))));
}

// flowsheet.js: a visit's observations as a time grid, as on a paper or
// EHR flowsheet: a row per vitals field, per scheduled item (sedation,
// dissociation) and per score; a column per entry at the time it was
// observed (a late entry at its observed time, marked late), a missed
// checkpoint as a gap column ("missed" at its due time), a check not done
// with its reason. A column whose entry raised a rule's alert carries it in
// the Alerts row, in its colour: the protocol's rules are what say a value
// is out of range. Built from the visit's events alone.
import { h } from "./dom.js";
import { clockTime, dateTime, fieldName, messageInWords, priorityLabel, priorityRank, unit, value as show } from "./format.js";

// An alert raised by a rule in the step of the entry it looked at follows
// that entry in the log, within a moment of it (as visit.js's flags).
const SAME_STEP_MS = 1000;
// A skip just after a checkpoint's entry belongs to that checkpoint.
const SAME_CHECKPOINT_MS = 2 * 60000;

function itemOf(visit, phase, id) {
  const [p, i] = id.includes(".") ? id.split(".") : [phase, id];
  const ph = visit.phases.find((x) => x.id === p);
  return ph ? ph.items.find((x) => x.id === i) || null : null;
}

// The rows: [{key, label, unit}], and how an item's value fills them.
function rowsOf(visit) {
  const rows = [];
  const seen = new Set();
  const push = (key, label, u) => {
    if (seen.has(key)) return;
    seen.add(key);
    rows.push({ key, label, unit: u });
  };
  for (const p of visit.phases)
    for (const it of p.items) {
      if (it.kind === "vitals") for (const f of it.fields) push(`vitals:${f.name}`, fieldName(f.name), unit(f.unit));
      else if (it.kind === "score") push(`item:${it.id}`, it.title, "");
      else if (it.schedule && it.kind !== "signature") push(`item:${it.id}`, it.title, it.kind === "number" && it.fields[0] ? unit(it.fields[0].unit) : "");
    }
  return rows;
}

// {rowKey: cell value} of one item's value.
function cellsOf(it, value, rowKeys) {
  const out = {};
  if (!it) return out;
  if (it.kind === "vitals" && value && typeof value === "object") {
    for (const [k, x] of Object.entries(value)) if (rowKeys.has(`vitals:${k}`)) out[`vitals:${k}`] = x;
  } else if (rowKeys.has(`item:${it.id}`)) {
    out[`item:${it.id}`] = it.kind === "score" && value && typeof value === "object" ? value.total : value;
  }
  return out;
}

// The rows an item fills, whatever its value.
function rowKeysOf(it, rowKeys) {
  if (!it) return [];
  if (it.kind === "vitals") return it.fields.map((f) => `vitals:${f.name}`).filter((k) => rowKeys.has(k));
  return rowKeys.has(`item:${it.id}`) ? [`item:${it.id}`] : [];
}

// The grid: {rows, cols}; a column is {time (ms), kind: "entry" | "missed" |
// "skipped", phase, actor, late, recordedAt, cells: {rowKey: {value, amended,
// missed, skipped}}, alerts: [{priority, message}]}.
export function flowsheet(visit, events) {
  const rows = rowsOf(visit);
  const keys = new Set(rows.map((r) => r.key));
  const cols = [];
  let last = null; // the latest entry column, for the alerts of its step
  let lastAt = null;
  for (const ev of events) {
    const d = ev.data || {};
    const at = Date.parse(ev.time);
    if (ev.type === "item.recorded") {
      const cells = {};
      for (const [id, x] of Object.entries(d.values || {}))
        for (const [k, val] of Object.entries(cellsOf(itemOf(visit, d.phase, id), x, keys))) cells[k] = { value: val };
      last = null;
      lastAt = at;
      if (!Object.keys(cells).length) continue;
      const late = d.observed_at !== undefined;
      last = { time: late ? d.observed_at : at, kind: "entry", phase: d.phase, items: Object.keys(d.values || {}).map((k) => k.split(".").pop()), actor: ev.actor, late, recordedAt: ev.time, cells, alerts: [] };
      cols.push(last);
    } else if (ev.type === "item.amended") {
      const [phase, id] = d.item.split(".");
      const changed = cellsOf(itemOf(visit, phase, id), d.value, keys);
      for (let i = cols.length - 1; i >= 0; i--) {
        const c = cols[i];
        if (c.kind !== "entry" || c.phase !== phase || !Object.keys(changed).some((k) => k in c.cells)) continue;
        for (const [k, val] of Object.entries(changed)) c.cells[k] = { value: val, amended: true };
        break;
      }
      last = null;
    } else if (ev.type === "item.overdue") {
      const [phase, id] = d.item.split(".");
      const missed = rowKeysOf(itemOf(visit, phase, id), keys);
      if (missed.length) {
        let c = cols.find((x) => x.kind === "missed" && x.phase === phase && x.time === d.due);
        if (!c) cols.push((c = { time: d.due, kind: "missed", phase, cells: {}, alerts: [] }));
        for (const k of missed) c.cells[k] = { missed: true, item: id, grace: graceOf(itemOf(visit, phase, id)) };
      }
      last = null;
    } else if (ev.type === "item.skipped" && d.occurrence !== undefined) {
      const [phase, id] = d.item.split(".");
      const skipped = rowKeysOf(itemOf(visit, phase, id), keys);
      if (skipped.length) {
        // The checkpoint's entry just before, if it left this row empty.
        let c = null;
        for (let i = cols.length - 1; i >= 0 && !c; i--) {
          const x = cols[i];
          if (x.kind === "entry" && x.phase === phase && at - x.time <= SAME_CHECKPOINT_MS && skipped.every((k) => !(k in x.cells))) c = x;
          if (at - x.time > SAME_CHECKPOINT_MS) break;
        }
        if (!c) cols.push((c = { time: at, kind: "skipped", phase, actor: ev.actor, cells: {}, alerts: [] }));
        for (const k of skipped) c.cells[k] = { skipped: d.reason };
      }
      last = null;
    } else if (ev.type === "alert.raised") {
      if (last && d.source === "rule" && at - lastAt <= SAME_STEP_MS) last.alerts.push({ priority: d.priority, message: messageInWords(d.message) });
    } else if (!/^(alert|note|block)\./.test(ev.type)) {
      last = null;
    }
  }
  cols.sort((a, b) => a.time - b.time);
  return { rows, cols: cols.filter((c) => c.kind !== "missed" || !madeGood(c, cols)) };
}

function graceOf(it) {
  return it && it.schedule ? it.schedule.grace_ms : 0;
}

// A missed checkpoint that a reading recorded later (a late entry, with its
// observed time) made good, by the server's rule (core/engine/visit.c,
// G8): a reading of the item in the same phase observed within the grace
// either side of the due time. Those rows are not "missed" (the gate does
// not count them); the column goes when no row is left.
function madeGood(col, cols) {
  for (const [k, c] of Object.entries(col.cells)) {
    const good = cols.some((x) => x.kind === "entry" && x.phase === col.phase && x.items.includes(c.item) &&
      x.time > col.time - c.grace && x.time <= col.time + c.grace);
    if (good) delete col.cells[k];
  }
  return !Object.keys(col.cells).length;
}

function phaseTitle(visit, id) {
  const p = visit.phases.find((x) => x.id === id);
  return p ? p.title.replace(/\s*\(.*\)$/, "") : id;
}

function cell(c) {
  if (!c) return h("td", { class: "fs-empty" }, "");
  if (c.missed) return h("td", { class: "fs-gap" }, "missed");
  if (c.skipped !== undefined) return h("td", { class: "fs-skipped", title: c.skipped }, "not done", h("span", { class: "visually-hidden" }, `: ${c.skipped}`));
  return h("td", { class: `num${c.amended ? " fs-amended" : ""}` }, show(c.value), c.amended ? h("span", { class: "fs-mark", title: "amended" }, "*") : null);
}

// The columns from..to as one table (the printed summary splits a long
// visit into several, each with the row labels).
function gridTable(visit, sheet, from, to, caption) {
  const cols = sheet.cols.slice(from, to);
  const used = sheet.rows.filter((r) => cols.some((c) => c.cells[r.key]));
  const anyAlert = cols.some((c) => c.alerts.length);
  return h("table", { class: "flowsheet" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Time"),
      cols.map((c) => h("th", { scope: "col", class: `fs-col fs-${c.kind}`, title: `${phaseTitle(visit, c.phase)}${c.actor ? `, ${c.actor}` : ""}` },
        // Spaces between the parts, so that they read as words wherever the
        // spans are not laid out as blocks (a screen reader, a hidden panel's
        // text, a copy).
        h("span", { class: "fs-time" }, clockTime(new Date(c.time).toISOString())), " ",
        h("span", { class: "fs-phase" }, phaseTitle(visit, c.phase)),
        c.late ? [" ", h("span", { class: "fs-late late-mark", title: `entered ${dateTime(c.recordedAt)}` }, `late, entered ${clockTime(c.recordedAt)}`)] : null,
        c.kind === "missed" ? [" ", h("span", { class: "fs-late" }, "due")] : null)))),
    h("tbody", {},
      used.map((r) => h("tr", {}, h("th", { scope: "row" }, r.label, r.unit ? h("span", { class: "muted" }, ` (${r.unit})`) : null),
        cols.map((c) => cell(c.cells[r.key])))),
      anyAlert
        ? h("tr", { class: "fs-alerts" }, h("th", { scope: "row" }, "Alerts"), cols.map((c) => {
            if (!c.alerts.length) return h("td", {}, "");
            const top = c.alerts.reduce((p, a) => (priorityRank(a.priority) > priorityRank(p) ? a.priority : p), "");
            return h("td", { class: `fs-alert fs-alert-${top}` }, c.alerts.map((a) =>
              h("span", { class: `badge alarm-${a.priority}`, title: a.message }, priorityLabel(a.priority).replace(" priority", ""),
                h("span", { class: "visually-hidden" }, `: ${a.message}`))));
          }))
        : null));
}

// The flowsheet on the visit page: one table scrolling sideways (by
// keyboard too), the newest column in view.
export function flowsheetView(visit, events) {
  const sheet = flowsheet(visit, events);
  if (!sheet.cols.length) return h("p", { class: "muted" }, "Nothing recorded on the flowsheet yet.");
  const box = h("div", { class: "flowsheet-scroll", tabindex: "0", role: "region", "aria-label": "Flowsheet, scrolls sideways" },
    gridTable(visit, sheet, 0, sheet.cols.length, "Observations by time: missed checkpoints as gaps, a column's alerts in its colour"));
  requestAnimationFrame(() => { box.scrollLeft = box.scrollWidth; });
  return box;
}

// The flowsheet for print: tables of at most `per` columns.
export function flowsheetPrint(visit, events, per = 8) {
  const sheet = flowsheet(visit, events);
  if (!sheet.cols.length) return h("p", {}, "Nothing recorded.");
  const out = [];
  for (let i = 0; i < sheet.cols.length; i += per)
    out.push(gridTable(visit, sheet, i, i + per, sheet.cols.length > per ? `Flowsheet, columns ${i + 1}\u2013${Math.min(i + per, sheet.cols.length)} of ${sheet.cols.length}` : "Flowsheet"));
  return out;
}

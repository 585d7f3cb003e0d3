// summary.js: the visit summary to print at discharge (the print stylesheet
// leaves only this): who, what protocol, the timeline, the vitals, every
// alert and who acknowledged it, and the signatures.
import { get } from "./api.js";
import { h, clear } from "./dom.js";
import { changedParam, dateTime, clockTime, messageInWords, priorityLabel, unit, value as show } from "./format.js";
import { table, vitalsReadings } from "./chart.js";
import { flowsheetPrint } from "./flowsheet.js";
import { events as loadEvents, describe, itemTitle, alertMessages, amendedText, attestedText, lastAmendment } from "./history.js";
import { title as protocolTitle } from "./protocols.js";
import { patientBanner, patientLine, patientPath } from "./patient.js";
import { passedByOverride, passedText } from "./passed.js";

// The head of every printed page: the patient (name, date of birth,
// allergies) and the visit, in a page margin box (CSS @page @top-left),
// set while the summary is shown. The page numbers are app.css's. A
// stylesheet made here, not a <style> element: the Content-Security-Policy
// allows styles from the server only, and a stylesheet built through the
// CSSOM is not inline markup.
const pageHead = new CSSStyleSheet();

function setPageHead(text) {
  // A CSS string: a backslash and a quote escaped, control characters (none
  // should come) as spaces.
  const quoted = `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\u0000-\u001f\u007f]/g, " ")}"`;
  pageHead.replaceSync(text ? `@page { @top-left { content: ${quoted}; } }` : "");
  if (!document.adoptedStyleSheets.includes(pageHead)) document.adoptedStyleSheets = [...document.adoptedStyleSheets, pageHead];
}

export function stop() {
  setPageHead("");
}

// A value with its unit ("37 mg", not "37"): a number item's field unit.
function withUnit(it) {
  const u = it.kind === "number" && it.fields[0] ? unit(it.fields[0].unit) : "";
  return `${show(it.value)}${u ? ` ${u}` : ""}`;
}

// An item's title on the checklist, with its phase when another phase has an
// item of the same title (the infusion's and observation's "Sedation": W13).
function checklistTitle(recorded, p, it) {
  return recorded.some(([q, x]) => q !== p && x.title === it.title) ? `${it.title} (${p.title})` : it.title;
}

// Under an amended value: who amended it, when, from what and why (X4).
function amendedNote(v, events, p, it) {
  const ev = it.kind !== "signature" ? lastAmendment(events, `${p.id}.${it.id}`) : null;
  return ev ? h("div", { class: "amended-mark" }, amendedText(v, ev)) : null;
}

function alertRows(v, events) {
  const rows = new Map();
  for (const ev of events) {
    const d = ev.data || {};
    if (ev.type === "alert.raised") rows.set(d.alert, { raised: ev, ack: null, escalations: 0, resolved: null });
    const r = rows.get(d.alert);
    if (!r) continue;
    if (ev.type === "alert.acknowledged") r.ack = ev;
    if (ev.type === "alert.escalated") Object.assign(r, { escalations: d.level, priority: d.priority });
    if (ev.type === "alert.resolved") r.resolved = ev;
  }
  return [...rows.values()];
}

// A carried alert (a self-harm risk, H4): closed only by its assessment or a clinician.
function carried(v, a) {
  const x = (v.alerts || []).find((y) => y.id === a.raised.data.alert);
  return x && x.carried;
}

function signatures(v, events) {
  const out = [];
  for (const ev of events) {
    const d = ev.data || {};
    if (ev.type === "item.recorded")
      for (const k of Object.keys(d.values || {})) {
        const ph = v.phases.find((p) => p.id === d.phase);
        const it = ph && ph.items.find((x) => x.id === k);
        if (it && it.kind === "signature") {
          const a = d.attests && d.attests[k];
          const outcome = d.values[k] !== true ? `: ${show(d.values[k])}` : "";
          out.push([ev, `${it.title}${outcome}${a ? `, attesting ${attestedText(v, it, a, d.phase)}` : ""}`]);
        }
      }
    if (ev.type === "signature.voided") out.push([ev, `${itemTitle(v, d.item)} void: ${d.reason}`]);
    if (ev.type === "gate.overridden") out.push([ev, `Override of the ${d.phase} gate: ${d.reason}`]);
    if (ev.type === "visit.discharged") out.push([ev, "Discharge"]);
    if (ev.type === "visit.aborted") out.push([ev, `Visit stopped: ${d.reason}`]);
  }
  return out;
}

// What a clinician's override passed unrecorded (docs/safety.md V1): each
// item, who passed it and when; nothing printed when none.
function passedPrint(v) {
  const passed = passedByOverride(v);
  if (!passed.length) return null;
  return [h("h2", {}, "Passed by override"),
    h("table", { class: "passed-table" }, h("thead", {}, h("tr", {}, ["Item", "Phase", "By", "Time"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, passed.map((p) => h("tr", {},
        h("td", {}, passedText(p)),
        h("td", {}, (v.phases.find((x) => x.id === p.phase) || { title: p.phase }).title),
        h("td", {}, p.overridden_by),
        h("td", {}, clockTime(p.overridden_at))))))];
}

export async function render(main, id) {
  clear(main).append(h("p", {}, "Loading\u2026"));
  let v, events, title, patient;
  try {
    [v, events] = await Promise.all([get(`/visits/${id}`), loadEvents(id)]);
    title = await protocolTitle(v.protocol).catch(() => v.protocol);
    // (null: no hospital record; undefined: it could not be read)
    patient = await get(patientPath(v.patient)).catch((err) => (err.status === 404 ? null : undefined));
  } catch (err) {
    clear(main).append(h("p", { class: "error" }, err.message));
    return;
  }
  setPageHead(`${patientLine(v.patient, patient)} \u2014 ${title}, visit ${v.id}, ${dateTime(v.started_at)}`);
  const readings = vitalsReadings(v, events);
  const end = events.find((e) => e.type === "visit.discharged" || e.type === "visit.aborted");
  const alerts = alertRows(v, events);
  const messages = alertMessages(events);
  const signed = signatures(v, events);
  const notes = events.filter((e) => e.type === "note.written");
  const phasesEntered = events.filter((e) => e.type === "visit.started" || e.type === "phase.entered");
  const recorded = [];
  for (const p of v.phases) for (const it of p.items) if (it.count && it.kind !== "vitals" && it.kind !== "signature") recorded.push([p, it]);

  clear(main).append(h("article", { class: "summary", "aria-labelledby": "sum-title" },
    h("div", { class: "no-print actions" },
      h("a", { href: `#/visit/${v.id}`, class: "button quiet" }, "Back to the visit"),
      h("button", { type: "button", class: "primary", id: "print", onclick: () => window.print() }, "Print")),
    h("h1", { id: "sum-title" }, "Visit summary"),
    patientBanner(patient),
    h("dl", { class: "facts" },
      h("dt", {}, "Patient"), h("dd", {}, v.patient),
      h("dt", {}, "Chair or bay"), h("dd", {}, v.location || "not recorded"),
      h("dt", {}, "Protocol"), h("dd", {}, `${title} (${v.protocol})`),
      h("dt", {}, "Visit"), h("dd", {}, String(v.id)),
      h("dt", {}, "Started"), h("dd", {}, dateTime(v.started_at), " by ", events[0] ? events[0].actor : ""),
      h("dt", {}, "Status"), h("dd", {}, v.status, end ? ` ${dateTime(end.time)} by ${end.actor}` : ""),
      h("dt", {}, "Weight"), h("dd", {}, v.params && v.params.weight !== undefined ? `${v.params.weight} kg` : "\u2014"),
      h("dt", {}, "Changed from the protocol"),
      h("dd", { class: "changed-params" }, v.changed_params && v.changed_params.length
        ? `${v.changed_params.map(changedParam).join("; ")} (set by ${events[0] ? events[0].actor : ""})` : "nothing")),
    h("h2", {}, "Phases"),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "Phase"), h("th", { scope: "col" }, "By"))),
      h("tbody", {}, phasesEntered.map((e) => h("tr", {}, h("td", {}, dateTime(e.time)),
        h("td", {}, (v.phases.find((p) => p.id === e.data.phase) || { title: e.data.phase }).title), h("td", {}, e.actor))))),
    h("h2", {}, "Flowsheet"),
    flowsheetPrint(v, events),
    h("h2", {}, "Vitals"),
    readings.length ? table(readings, "Every vitals reading") : h("p", {}, "None recorded."),
    h("h2", {}, "Checklist"),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Item"), h("th", { scope: "col" }, "Value"), h("th", { scope: "col" }, "By"), h("th", { scope: "col" }, "Time"))),
      h("tbody", {}, recorded.map(([p, it]) => h("tr", {}, h("td", {}, checklistTitle(recorded, p, it)), h("td", {}, withUnit(it), amendedNote(v, events, p, it)), h("td", {}, it.recorded_by),
        h("td", {}, it.late ? `${clockTime(it.observed_at)} (late, entered ${clockTime(it.recorded_at)})` : clockTime(it.recorded_at)))))),
    passedPrint(v),
    h("h2", {}, "Alerts"),
    alerts.length
      ? h("table", { class: "alerts-table" }, h("thead", {}, h("tr", {}, ["Raised", "Priority", "Alert", "Acknowledged", "Reminded"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, alerts.map((a) => h("tr", {},
            h("td", {}, clockTime(a.raised.time)),
            h("td", {}, h("span", { class: `badge alarm-${a.raised.data.priority}` }, priorityLabel(a.raised.data.priority))),
            h("td", {}, messageInWords(a.raised.data.message), carried(v, a) ? h("strong", {}, ` (carried until a clinician's assessment; ${a.resolved ? `closed ${clockTime(a.resolved.time)}` : "still open"})`) : null),
            h("td", {}, a.ack ? `${a.ack.actor}, ${clockTime(a.ack.time)}${a.ack.data.reason ? ` (${a.ack.data.reason})` : ""}` : "not acknowledged"),
            // V7: reminders; a priority only when it rose.
            h("td", {}, a.escalations ? `${a.escalations}\u00d7${a.priority && a.priority !== a.raised.data.priority ? `, raised to ${a.priority}` : ""}` : "")))))
      : h("p", {}, "No alerts."),
    h("h2", {}, "Nursing notes"),
    notes.length
      ? h("ul", { class: "notes" }, notes.map((ev) => h("li", {}, h("strong", {}, `${dateTime(ev.time)}, ${ev.actor}`),
          end && ev.time > end.time ? " (addendum)" : "", ": ", h("span", { class: "note-text" }, ev.data.note))))
      : h("p", {}, "None."),
    h("h2", {}, "Signatures"),
    signed.length
      ? h("ul", {}, signed.map(([ev, what]) => h("li", {}, `${what}: `, h("strong", {}, ev.actor), `, ${dateTime(ev.time)}`)))
      : h("p", {}, "None."),
    h("h2", {}, "Timeline"),
    h("ol", { class: "timeline" }, events.map((ev) => h("li", {}, h("time", { datetime: ev.time }, clockTime(ev.time)), ` ${ev.actor}: ${describe(v, ev, messages)}`)))));
}

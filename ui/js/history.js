// history.js: a visit's events, paged in from the log, told as sentences
// for the history list and the discharge summary.
import { all } from "./api.js";
import { escalation, messageInWords, timeOrDate, unit, value } from "./format.js";
import { now } from "./clock.js";

export function events(visitId) {
  return all(`/visits/${visitId}/events`, "events");
}

function findItem(visit, ref, phase) {
  const [p, i] = ref.includes(".") ? ref.split(".") : [phase, ref];
  const ph = visit.phases.find((x) => x.id === p);
  return ph && ph.items.find((x) => x.id === i);
}

// "phase.item" -> the item's title in this visit's protocol.
export function itemTitle(visit, ref, phase) {
  const it = findItem(visit, ref, phase);
  return it ? it.title : ref;
}

// A recorded value with its unit when the item is a number ("35 mg").
function itemValue(visit, ref, phase, v) {
  const it = findItem(visit, ref, phase);
  const u = it && it.kind === "number" && it.fields && it.fields[0] ? unit(it.fields[0].unit) : "";
  return `${value(v)}${u && typeof v === "number" ? ` ${u}` : ""}`;
}

// What a signature (sig: its item in the visit, with attest_params) attests
// ({items, params, calculation}, the values the signer saw) in words, with
// titles and units (V6): "Ketamine dose drawn up: 36 mg, Body weight today:
// 72.5 kg, Ordered dose per kg: 0.5 mg/kg (72.5 kg x 0.5 mg/kg = 36.25 mg; ...)",
// not "dose 36, weight 72.5, dose_mg_per_kg 0.5". phase: the signature's.
export function attestedText(visit, sig, a, phase) {
  if (!a) return "";
  const params = (sig && sig.attest_params) || [];
  const parts = Object.entries(a.items || {})
    .map(([ref, x]) => `${itemTitle(visit, ref, phase)}: ${itemValue(visit, ref, phase, x)}`)
    .concat(Object.entries(a.params || {}).map(([name, x]) => {
      const p = params.find((q) => q.name === name) || {};
      const u = unit(p.unit);
      return `${p.title || name}: ${value(x)}${u ? ` ${u}` : ""}`;
    }));
  return parts.join(", ") + (a.calculation ? ` (${a.calculation})` : "");
}

// The amendment that set item ref's ("phase.item") value now: its
// item.amended when one came after the item's last entry, else null (X4:
// an amended value showed its first entry's time and person, unmarked).
export function lastAmendment(events, ref) {
  const [phase, id] = ref.split(".");
  let last = null;
  for (const ev of events) {
    const d = ev.data || {};
    if (ev.type === "item.amended" && d.item === ref) last = ev;
    else if (ev.type === "item.recorded" && d.values && (ref in d.values || (d.phase === phase && id in d.values))) last = null;
  }
  return last;
}

// "Amended by dr.osei at 18:46 from 30.5 mg. Reason: recounted" (ev: an
// item.amended).
export function amendedText(visit, ev) {
  const d = ev.data || {};
  return `Amended by ${ev.actor} at ${timeOrDate(ev.time, now())} from ${itemValue(visit, d.item, null, d.previous)}. Reason: ${d.reason}`;
}

function phaseTitle(visit, id) {
  const ph = visit.phases.find((x) => x.id === id);
  return ph ? ph.title : id;
}

// Alert ids to their messages, from the events that raised them, and the
// priority each had at each level (priorities[level]: raised at 0, then after
// each escalation), so that an escalation says whether it rose.
export function alertMessages(events) {
  const m = new Map();
  for (const ev of events) {
    const d = ev.data || {};
    if (ev.type === "alert.raised") m.set(d.alert, { message: messageInWords(d.message), priorities: [d.priority] });
    else if (ev.type === "alert.escalated" && m.has(d.alert)) m.get(d.alert).priorities[d.level] = d.priority;
  }
  return m;
}

// The alarm manager's answer to the report of an alert (the hl7 plugin's
// PCD-04, docs/hl7.md): who answered, whether it took the report, its code
// and text. It changes nothing of the alert: only staff acknowledge one, so a
// refusal says that the alert stands here all the same.
function reported(d, alert) {
  const manager = d.manager ? `Alarm manager ${d.manager}` : "The alarm manager";
  const code = [d.code, d.text].filter(Boolean).join(": ");
  if (d.status === "accepted") return `${manager} accepted the report of ${alert}${code ? ` (${code})` : ""}`;
  return `${manager} refused the report of ${alert}${code ? ` (${code})` : ""}: it may not pass it on; the alert stands here`;
}

// alerts: alertMessages(events), so that an acknowledgement names its alert.
export function describe(visit, ev, alerts) {
  const d = ev.data || {};
  const known = (id) => alerts && alerts.get(id);
  const alert = (id) => (known(id) ? `"${known(id).message}"` : `Alert ${id}`);
  switch (ev.type) {
    case "visit.started":
      return `Visit started on ${d.protocol} for patient ${d.patient}`;
    case "phase.entered":
      return `Entered ${phaseTitle(visit, d.phase)}`;
    case "phase.minimum_reached":
      return `Minimum time in ${phaseTitle(visit, d.phase)} reached`;
    case "item.recorded":
      // A signature's item named once, with what it attests (V6).
      return Object.entries(d.values || {})
        .map(([k, v]) => {
          const a = d.attests && d.attests[k];
          return `${itemTitle(visit, k, d.phase)}: ${itemValue(visit, k, d.phase, v)}${a ? `, attesting ${attestedText(visit, findItem(visit, k, d.phase), a, d.phase)}` : ""}`;
        })
        .join("; ") + (d.observed_at !== undefined ? ` (late entry: observed ${timeOrDate(d.observed_at, now())})` : "");
    case "signature.voided":
      return `${itemTitle(visit, d.item)} void: ${d.reason}`;
    case "item.amended":
      return `${itemTitle(visit, d.item)} amended from ${itemValue(visit, d.item, null, d.previous)} to ${itemValue(visit, d.item, null, d.value)}. Reason: ${d.reason}`;
    case "item.skipped":
      return `${itemTitle(visit, d.item)}${d.occurrence === undefined ? "" : ` (check ${d.occurrence + 1})`} not done. Reason: ${d.reason}`;
    case "item.overdue":
      return `${itemTitle(visit, d.item)} overdue`;
    case "item.not_applicable":
      return `${itemTitle(visit, d.item)} (check ${d.occurrence + 1}) did not apply`;
    case "gate.blocked":
      return `Moving on refused: ${(d.reasons || []).join("; ")}`;
    case "gate.overridden":
      return `Gate of ${phaseTitle(visit, d.phase)} overridden. Reason: ${d.reason}. Overridden: ${(d.reasons || []).join("; ")}`;
    case "alert.raised":
      return `Alert (${d.priority})${d.follows ? `, after ${alert(d.follows)}` : ""}: ${messageInWords(d.message)}`;
    case "alert.acknowledged":
      return `Acknowledged ${alert(d.alert)}${d.reason ? ". Reason: " + d.reason : ""}`;
    case "alert.escalated":
      return `${escalation(d, known(d.alert) && known(d.alert).priorities[d.level - 1])}: ${alert(d.alert)}`;
    case "alert.resolved":
      return `Cause cleared: ${alert(d.alert)}`;
    case "alert.reported":
      return reported(d, alert(d.alert));
    case "block.set":
      return `Hold: ${d.reason}`;
    case "block.cleared":
      return `Hold lifted (${d.rule})`;
    case "note.added":
      return `Note: ${d.message}`;
    case "note.written":
      return `Nursing note: ${d.note}`;
    case "visit.discharged":
      return "Discharged";
    case "visit.aborted":
      return `Visit stopped. Reason: ${d.reason}`;
    default:
      return ev.type;
  }
}

// visit.js: one visit. Its alerts, what still holds the phase and the way
// on, the current phase's checklist (inputs that fit each item, due and
// overdue badges, the server's refusals next to the field), the vitals
// chart, the earlier phases' values (amendable with a reason), and the
// history of every event. Kept live from the event stream; what a nurse is
// typing survives the refresh, and a sign-in that ends (drafts.js). A card
// whose entry raised an alert still open says so under its value.
import { get, post } from "./api.js";
import { h, add, clear, announce } from "./dom.js";
import { ageBadge, changedParam, dateTime, duration, lateEntry, messageInWords, observedMs, priorityLabel, priorityRank, refreshAges, reminded, staleAfter, timeOrDate, unit, value as show } from "./format.js";
import { now, onTick } from "./clock.js";
import { subscribe } from "./stream.js";
import { ask, showError as pageError } from "./dialog.js";
import { clearErrors, showError, errorSlot } from "./errors.js";
import { controls, read, fill } from "./inputs.js";
import { chart, table, vitalsReadings } from "./chart.js";
import { flowsheetView } from "./flowsheet.js";
import { lastVitals } from "./board.js";
import { events as loadEvents, describe, alertMessages, amendedText, attestedText, itemTitle, lastAmendment } from "./history.js";
import { can, current } from "./session.js";
import { ackControls } from "./ack.js";
import { title as protocolTitle } from "./protocols.js";
import * as drafts from "./drafts.js";
import * as downtime from "./downtime.js";
import { patientBanner, patientPath, previousCard, sessionLine } from "./patient.js";
import { passedByOverride, passedText } from "./passed.js";

let state = null; // {id, visit, events, title, root, loadedAt, drafted, restored, typed, left, keptObserved}
let unsubscribe = null;
let pending = null;
let loads = 0; // loads started: only the newest one draws

// Every time on the visit's page: its time of day on the 24-hour clock, and
// its date too when it is not today on the workstation's clock (AK10: an
// amendment of another day read "at 09:04 AM").
const at = (iso) => timeOrDate(iso, now());

// A gate may wait for time alone (an observation's minimum duration): with
// no event to say so, the visit is read again once its time has moved on
// this far.
const STALE_MS = 30000;

async function load() {
  const id = state.id;
  const mine = ++loads;
  state.loadedAt = now();
  const [visit, events] = await Promise.all([
    get(`/visits/${id}`),
    loadEvents(id),
  ]);
  const title = await protocolTitle(visit.protocol).catch(() => visit.protocol);
  // The hospital's record for the banner (docs/safety.md L7) and, for a
  // session of a course, the course's measures beside the previous session's.
  // (null: none, 404; undefined: it could not be read, so the banner says nothing rather than "no record")
  const patient = await get(patientPath(visit.patient)).catch((err) => (err.status === 404 ? null : undefined));
  // Answers can arrive out of order: an older load must not draw over a
  // newer one.
  if (!state || state.id !== id || mine !== loads) return;
  state.visit = visit;
  state.events = events;
  state.title = title;
  state.patient = patient;
  draw();
}

function refresh() {
  clearTimeout(pending);
  pending = setTimeout(() => load().catch(pageError), 100);
}

// A command on visit id (by default the one on the page); its answer is
// that visit's new state, drawn only if the page still shows that visit.
async function command(path, body, id = state.id) {
  const v = await post(`/visits/${id}/${path}`, body);
  if (state && state.id === id) {
    state.visit = v;
    refresh();
  }
  return v;
}

// What a dialog is opened for (X9): the visit whose command it sends, never
// the one the page shows when it is submitted, and the patient its title names.
function opened() {
  return { id: state.id, patient: state.visit.patient };
}

// A signature (a signature item, an override, a discharge, stopping a
// visit) asks the signer's password again; it travels with the command.
function password() {
  return [{ name: "password", label: "Your password (asked again to sign)", type: "password", required: true, autocomplete: "current-password" }];
}

function withPassword(body, values) {
  return { ...body, password: values.password };
}

// ---- header ------------------------------------------------------------------

function header(v) {
  const phases = v.phases;
  const current = phases.findIndex((p) => p.id === v.phase);
  return h("header", { class: "visit-head" },
    h("div", { class: "visit-title" },
      h("h1", {}, `Patient ${v.patient}`, v.location ? h("span", { class: "muted" }, ` · ${v.location}`) : null),
      h("p", {}, `${state.title} `, h("span", { class: "muted" }, `(${v.protocol})`), " \u00b7 started ", dateTime(v.started_at),
        " \u00b7 ", h("span", { class: `status status-${v.status}` }, v.status)),
      sessionLine(v)),
    patientBanner(state.patient),
    // What differs from the protocol's defaults (a clinician's prescription): always in view.
    v.changed_params && v.changed_params.length
      ? h("div", { class: "changed-params", role: "note" }, h("strong", {}, "Changed from the protocol: "),
          v.changed_params.map(changedParam).join("; "))
      : null,
    h("ol", { class: "stepper", "aria-label": "Phases" }, phases.map((p, i) =>
      h("li", { class: i < current || v.status === "discharged" ? "done" : i === current ? "current" : "", "aria-current": i === current && v.status === "active" ? "step" : null },
        p.title))),
    h("p", { class: "visit-links" },
      h("a", { href: `#/visit/${v.id}/summary`, class: "button quiet" }, "Discharge summary"),
      can("record") ? h("button", { type: "button", class: "quiet", onclick: writeNote }, v.status === "active" ? "Add a note\u2026" : "Add an addendum\u2026") : null,
      v.status === "active" && can("discharge")
        ? h("button", { type: "button", class: "quiet danger-text", onclick: abortVisit }, "Stop the visit\u2026")
        : null));
}

// A nursing note, at any time (after the discharge, an addendum): in the
// history and on the summary, with who wrote it and when.
async function writeNote() {
  const on = opened();
  await ask({
    title: state.visit.status === "active" ? "Add a note" : "Add an addendum",
    patient: on.patient,
    text: "A nursing note for the record: what you saw, did or were told. It changes nothing the checklist judges.",
    fields: [{ name: "note", label: "Note", type: "textarea", required: true, hint: "Up to 2000 characters." }],
    submit: "Save the note",
    action: (vals) => command("notes", { note: vals.note }, on.id),
  });
}

async function abortVisit() {
  const on = opened();
  await ask({
    title: "Stop this visit",
    patient: on.patient,
    text: "The visit ends here; everything recorded stays in its history.",
    fields: [{ name: "reason", label: "Reason", type: "textarea", required: true }, ...password()],
    submit: "Stop the visit",
    danger: true,
    action: (vals) => command("abort", withPassword({ reason: vals.reason }, vals), on.id),
  });
}

// ---- alerts ----------------------------------------------------------------

function ackBy(alertId) {
  const ev = state.events.find((e) => e.type === "alert.acknowledged" && e.data.alert === alertId);
  return ev ? `acknowledged by ${ev.actor} at ${at(ev.time)}` : "acknowledged";
}

// The loudest first, as the banners are (alarms.js): then, within a
// priority, those still to acknowledge before those acknowledged, the newest
// first (AE7: a medium overdue above a high "Dose given" alert drew the
// clinician's first acknowledgement).
function loudestFirst(a, b) {
  return priorityRank(b.priority) - priorityRank(a.priority) || Number(Boolean(a.acknowledged)) - Number(Boolean(b.acknowledged)) || b.id - a.id;
}

function alertsSection(v) {
  const open = (v.alerts || []).filter((a) => a.state !== "closed").sort(loudestFirst);
  if (!open.length) return null;
  return h("section", { class: "visit-alerts", "aria-labelledby": "va-title" },
    h("h2", { id: "va-title" }, "Alerts"),
    h("ul", { class: "plain" }, open.map((a) =>
      h("li", { class: `alarm alarm-${a.priority} ${a.acknowledged ? "acked" : ""}`, id: `visit-alert-${a.id}`, tabindex: "-1", dataset: { alert: a.id, state: a.state } },
        h("span", { class: "alarm-priority" }, priorityLabel(a.priority)),
        h("span", { class: "alarm-text" }, messageInWords(a.message),
          h("span", { class: "alarm-meta" }, ` raised ${at(a.raised_at)}`, a.level ? `, ${reminded(a.level)}` : "",
            a.acknowledged ? `, ${ackBy(a.id)}` : "", a.state === "resolved" ? ", cause cleared"
              : a.resolved_at ? `, condition cleared at ${at(a.resolved_at)}` : "")),
        ackControls({ ...a, patient: v.patient }, refresh)))));
}

// What a clinician's override passed unrecorded stays in view for the rest of
// the visit, who and when (docs/safety.md V1).
function passedSection(v) {
  const passed = passedByOverride(v);
  if (!passed.length) return null;
  return h("section", { class: "visit-passed card", "aria-labelledby": "vp-title" },
    h("h2", { id: "vp-title" }, "Passed by override"),
    h("ul", { class: "plain" }, passed.map((p) =>
      h("li", { class: "passed-item", dataset: { item: p.item } }, passedText(p),
        h("span", { class: "muted" }, ` \u00b7 ${p.overridden_by}, ${at(p.overridden_at)}`)))));
}

// ---- gate --------------------------------------------------------------------

function gateSection(v) {
  if (v.status !== "active") return h("section", { class: "gate card" }, h("p", {}, `This visit is ${v.status}.`));
  const idx = v.phases.findIndex((p) => p.id === v.phase);
  const last = idx === v.phases.length - 1;
  const next = v.phases[idx + 1];
  const reasons = [...(v.gate.reasons || [])];
  for (const b of v.blocks || []) if (!reasons.includes(b.reason)) reasons.push(b.reason);
  const mayMove = last ? can("discharge") : can("record");
  const form = h("div", { class: "gate-actions" },
    mayMove
      ? h("button", { type: "button", class: "primary big", id: "advance", "aria-describedby": "gate-reasons",
          onclick: () => (last ? discharge() : advance()) },
          last ? "Discharge the patient\u2026" : `Next phase: ${next.title}`)
      : null,
    can("override") && !v.gate.ok
      ? h("button", { type: "button", class: "big", id: "override", onclick: override }, "Clinician override\u2026")
      : null,
    errorSlot(h, "", "gate-error"));
  return h("section", { class: `gate card ${v.gate.ok ? "gate-ok" : "gate-blocked"}`, "aria-labelledby": "gate-title" },
    h("h2", { id: "gate-title" }, v.gate.ok ? "Ready to move on" : "Still needed before moving on"),
    h("ul", { id: "gate-reasons" }, v.gate.ok ? h("li", {}, "Everything this phase needs is recorded.") : reasons.map((r) => h("li", {}, r))),
    form);
}

async function advance() {
  const box = state.root.querySelector(".gate");
  clearErrors(box);
  try {
    await command("advance");
    announce("Moved to the next phase");
  } catch (err) {
    showError(box, err);
    refresh();
  }
}

async function discharge() {
  const on = opened();
  await ask({
    title: "Discharge the patient",
    patient: on.patient,
    text: "Discharging signs the visit off: the summary can then be printed.",
    fields: password(),
    submit: "Sign and discharge",
    action: (vals) => command("discharge", withPassword({}, vals), on.id),
  });
}

// Each rule hold (block) standing in the phase is passed only when ticked: the
// override names the holds it passes, each reviewed for itself (docs/safety.md Q5);
// so is each required item it passes unrecorded (the dose check, the suicide-risk
// assessment: V1). The dialog lists what else the gate still needs (W13).
async function override() {
  const blocks = (state.visit && state.visit.blocks) || [];
  const gate = (state.visit && state.visit.gate) || {};
  const items = gate.unrecorded || [];
  const boxes = blocks.map((b) => h("input", { type: "checkbox", name: `hold-${b.rule}`, dataset: { hold: b.rule } }));
  const itemBoxes = items.map((it) => h("input", { type: "checkbox", name: `item-${it.item}`, dataset: { item: it.item } }));
  // The gate's words for an item ticked below ("... not recorded", "... is void (...)").
  const boxed = items.map((it) => `${it.title} ${it.void ? "is void" : "not recorded"}`);
  const needed = (gate.reasons || []).filter((r) => !blocks.some((b) => b.reason === r) && !boxed.some((t) => r.startsWith(t)));
  const on = opened();
  await ask({
    title: "Clinician override",
    patient: on.patient,
    text: "The phase ends although its gate does not hold. What is overridden is recorded with your reason." +
      (blocks.length || items.length ? " Tick each hold and each unrecorded item you have reviewed and pass: one not ticked still holds." : ""),
    detail: needed.length
      ? h("div", { class: "override-passes" }, h("p", {}, "It passes what the phase still needs:"), h("ul", {}, needed.map((r) => h("li", {}, r))))
      : null,
    fields: [
      ...blocks.map((b, i) => ({ name: `hold-${b.rule}`, label: `Pass the hold of ${b.rule}: ${b.reason}`, input: boxes[i] })),
      ...items.map((it, i) => ({ name: `item-${it.item}`, label: `Pass ${it.void ? "void" : "unrecorded"}: ${it.title}`, input: itemBoxes[i] })),
      { name: "reason", label: "Clinical reason", type: "textarea", required: true },
      ...password(),
    ],
    submit: "Sign the override",
    danger: true,
    action: (vals) => {
      const holds = blocks.filter((b, i) => boxes[i].checked).map((b) => b.rule);
      const passes = items.filter((it, i) => itemBoxes[i].checked).map((it) => it.item);
      return command("override", withPassword({ reason: vals.reason, ...(holds.length ? { holds } : {}), items: passes }, vals), on.id);
    },
  });
}

// ---- the checklist -------------------------------------------------------------

function dueBadge(it) {
  if (!it.due_at) return null;
  const left = Date.parse(it.due_at) - now();
  if (it.overdue) return h("span", { class: "badge badge-overdue", dataset: { due: Date.parse(it.due_at) } }, "Overdue");
  return h("span", { class: `badge ${left <= 0 ? "badge-now" : "badge-due"}`, dataset: { due: Date.parse(it.due_at) } },
    left <= 0 ? "Due now" : `Due in ${duration(left)}`);
}

// current: an item of the current phase, whose value goes stale past its
// interval and grace (the age says so, counting). An amended value says
// so, by whom, when and why (X4), after its first entry's person and time.
function lastValue(it, phaseId, current) {
  if (!it.count) return null;
  const amended = it.kind !== "signature" ? lastAmendment(state.events, `${phaseId}.${it.id}`) : null;
  const u = it.kind === "number" && it.fields[0] ? unit(it.fields[0].unit) : "";
  // A void signature: who signed and when, then since when and by whose
  // change it is void (X4: "Void: ... · dr.osei, 18:21" credited the signer
  // with the time of the signing alone).
  const voided = it.void ? lastVoided(`${phaseId}.${it.id}`) : null;
  const what = it.kind !== "signature" ? show(it.value) + (u ? ` ${u}` : "")
    : it.void ? `Void: ${it.void}` : `Signed${it.value !== true ? `: ${show(it.value)}` : ""}${it.attests ? ` (${attestedText(state.visit, it, it.attests)})` : ""}`;
  return h("p", { class: it.void ? "last void" : "last" }, what,
    h("span", { class: "muted" }, ` \u00b7 ${it.void ? "signed by " : ""}${it.recorded_by}, ${at(it.late ? it.observed_at : it.recorded_at)}`,
      voided ? ` \u00b7 void since ${at(voided.time)}, by ${voided.actor}'s change` : "", it.count > 1 ? ` \u00b7 ${it.count} entries` : ""),
    it.late ? [" ", h("span", { class: "late-mark" }, lateEntry(it.observed_at, it.recorded_at, now()))] : null,
    amended ? [" ", h("span", { class: "amended-mark" }, amendedText(state.visit, amended))] : null,
    current && staleAfter(it) !== null && it.kind !== "signature" ? [" \u00b7 ", ageBadge(h, observedMs(it), staleAfter(it), now())] : null);
}

// The latest signature.voided of signature ref ("phase.item"), or null.
function lastVoided(ref) {
  let last = null;
  for (const ev of state.events) if (ev.type === "signature.voided" && ev.data && ev.data.item === ref) last = ev;
  return last;
}

async function amend(it, phaseId) {
  const box = h("div", {}, controls(it));
  fill(it, box, it.value);
  const on = opened();
  await ask({
    title: `Amend: ${it.title}`,
    patient: on.patient,
    text: `Now: ${show(it.value)}. The old value stays in the history.`,
    fields: [{ name: "value", label: "Corrected value", input: box }, { name: "reason", label: "Reason for the correction", type: "textarea", required: true }],
    submit: "Save the correction",
    action: async (vals) => {
      const value = read(it, box);
      if (value === undefined) throw Object.assign(new Error("Enter the corrected value"), { field: "value" });
      return command("amend", { item: `${phaseId}.${it.id}`, value, reason: vals.reason }, on.id);
    },
  });
}

// A clinician's answer given again (an amend_only clinician's item: AQ1): a
// new entry, now, of the value chosen, the earlier answer kept as it was.
// The server takes the same value again as a new reading (U11).
async function answerAgain(it) {
  const box = h("div", {}, controls(it));
  fill(it, box, it.value);
  const on = opened();
  await ask({
    title: `Answer again: ${it.title}`,
    patient: on.patient,
    text: `Your answer of ${at(it.recorded_at)}: ${show(it.value)}. This records your answer now, on what you see now, ` +
      "as a new entry; the earlier one stays in the history. To correct the earlier answer itself, use Amend.",
    fields: [{ name: "value", label: "Your answer now", input: box }],
    submit: "Record the answer",
    action: async () => {
      const value = read(it, box);
      if (value === undefined) throw Object.assign(new Error("Choose your answer"), { field: "value" });
      return command("entries", { [it.id]: value }, on.id);
    },
  });
}

async function skip(it) {
  const on = opened();
  await ask({
    title: `Not done: ${it.title}`,
    patient: on.patient,
    text: it.due_at ? "This check is recorded as not done, with your reason; the next one is due as usual." : null,
    fields: [{ name: "reason", label: "Why it is not done", type: "textarea", required: true }],
    submit: "Record as not done",
    action: (vals) => command("skip", { item: it.id, reason: vals.reason }, on.id),
  });
}

// What a signature attests, as the visit says it would record it now: the
// confirmed value, the params, the calculation. Sent back with the signature,
// so that a value changed while the dialog is open refuses it.
function attestList(it) {
  const a = it.to_attest || {};
  const rows = [];
  for (const [ref, x] of Object.entries(a.items || {})) {
    const [p, i] = ref.split(".");
    const item = (state.visit.phases.find((ph) => ph.id === p) || { items: [] }).items.find((y) => y.id === i);
    const u = item && item.kind === "number" && item.fields[0] ? unit(item.fields[0].unit) : "";
    rows.push([itemTitle(state.visit, ref), `${show(x)}${u ? ` ${u}` : ""}`]);
  }
  for (const [name, x] of Object.entries(a.params || {})) {
    const p = (it.attest_params || []).find((q) => q.name === name) || {};
    const u = unit(p.unit);
    rows.push([p.title || name, `${show(x)}${u ? ` ${u}` : ""}`]);
  }
  if (a.calculation) rows.push(["Calculation", a.calculation]);
  return h("dl", { class: "attests" }, rows.map(([k, x]) => [h("dt", {}, k), h("dd", {}, x)]));
}

// key: the entry's name for it ("screening.dose_check" for one of a phase
// the visit has left, AL7).
async function sign(it, key = it.id) {
  const choice = it.fields[0] && it.fields[0].kind === "choice" ? it.fields[0] : null;
  const outcome = choice ? h("select", { name: "outcome", required: true },
    h("option", { value: "" }, "Choose\u2026"), choice.options.map((o) => h("option", { value: o }, o))) : null;
  const on = opened();
  await ask({
    title: it.title,
    patient: on.patient,
    text: `You sign that ${it.meaning || "you confirmed this"}${it.of ? `, and that you did not record or amend ${itemTitle(state.visit, it.of)}` : ""}. You attest:`,
    detail: attestList(it),
    fields: [...(outcome ? [{ name: "outcome", label: "Outcome", input: outcome }] : []), ...password()],
    submit: "Sign",
    action: (vals) => {
      if (outcome && !vals.outcome) throw Object.assign(new Error("Choose the outcome"), { field: "outcome" });
      return command("entries", { ...withPassword({ [key]: outcome ? vals.outcome : true }, vals), attests: { [key]: it.to_attest } }, on.id);
    },
  });
}

// ---- alerts an entry raised --------------------------------------------------------

// "phase.item" -> the open alerts its entries raised. A rule's alert is
// raised in the step of the entry it looked at: its alert.raised follows
// that entry's item.recorded (or item.amended) in the log, with only other
// alerts, notes, holds and voided signatures of that step between them, within a moment of it
// (the engine stamps each event as it is made).
// Of the entry's items, only those the alert is about are flagged: the
// items it names, or those its rule runs on (the visit's phases list each
// rule's `on`); a screening entry holds a dozen items and one rule's alert
// is about one or two of them.
const SAME_STEP_MS = 1000;
function aboutItems(v, data, phase) {
  if (Array.isArray(data.items)) return data.items;
  if (data.item) return [data.item];
  const phases = v.phases || [];
  const inPhase = (p) => p && (p.rules || []).find((r) => r.id === data.rule);
  const rule = inPhase(phases.find((p) => p.id === phase)) || phases.map(inPhase).find(Boolean);
  return rule ? rule.on : null;
}

// Each alert goes with the entry it came from (`entry`: its item.recorded
// or item.amended event), so that a card tells an alert of the value it
// shows from one of an earlier entry still open (AE5).
function alertsByItem(v) {
  const open = new Map((v.alerts || []).filter((a) => a.state !== "closed").map((a) => [a.id, a]));
  const out = new Map();
  let refs = [];
  let phase = null;
  let entry = null;
  for (const ev of state.events) {
    if (ev.type === "item.recorded") {
      refs = Object.keys(ev.data.values || {}).map((id) => (id.includes(".") ? id : `${ev.data.phase}.${id}`));
      phase = ev.data.phase;
      entry = ev;
    } else if (ev.type === "item.amended") {
      refs = [ev.data.item];
      phase = ev.data.item.split(".")[0];
      entry = ev;
    } else if (ev.type === "alert.raised") {
      const a = open.get(ev.data.alert);
      if (!a || ev.data.source !== "rule" || entry === null || Date.parse(ev.time) - Date.parse(entry.time) > SAME_STEP_MS) continue;
      const about = aboutItems(v, ev.data, phase);
      for (const ref of about ? refs.filter((r) => about.includes(r)) : refs) out.set(ref, [...(out.get(ref) || []), { ...a, entry }]);
    } else if (!/^(alert|note|block|signature)\./.test(ev.type)) {
      // signature.voided is of the same step: an amendment of the dose voids
      // its check before dose_calc's alert is raised (X4).
      refs = [];
    }
  }
  return out;
}

// "from this entry" only for an alert of the entry whose value the card
// shows (its recorded_at, or an amendment of it); an earlier entry's alert
// still open says which it was (AE5: "HIGH PRIORITY ALERT from this entry:
// BP 214/126" under 200/118).
function fromWhich(a, it) {
  if (a.entry.type === "item.amended" || Date.parse(a.entry.time) === Date.parse(it.recorded_at)) return " from this entry: ";
  return ` from the ${it.kind === "vitals" ? "reading" : "entry"} of ${at(a.entry.data.observed_at || a.entry.time)}: `;
}

// One flag per alarm on a card (AK6): alerts of one rule in the same words
// (an amended reading's alert, kept until acknowledged, and the one the
// amendment raised again, which `follows` it) are said once, by the newest,
// with how many more alike the Alerts list above shows.
function oneFlagEach(raised) {
  const newest = new Map();
  for (const a of [...raised].sort((x, y) => y.id - x.id)) {
    const key = `${a.priority}\u0000${a.rule}\u0000${String(a.message).split(" [")[0]}`;
    if (newest.has(key)) newest.get(key).alike += 1;
    else newest.set(key, { ...a, alike: 0 });
  }
  return [...newest.values()].sort((x, y) => x.id - y.id);
}

function flags(raised, it) {
  if (!raised || !raised.length) return null;
  return h("ul", { class: "plain item-flags" }, oneFlagEach(raised).map((a) =>
    h("li", { class: `item-flag flag-${a.priority}`, dataset: { alert: a.id } },
      h("span", { class: "alarm-priority" }, `${priorityLabel(a.priority)} alert`), fromWhich(a, it), messageInWords(a.message),
      a.acknowledged ? h("span", { class: "muted" }, " (acknowledged)") : null,
      a.alike ? h("span", { class: "muted" }, ` (${a.alike === 1 ? "an earlier alert alike is" : `${a.alike} earlier alerts alike are`} listed under Alerts)`) : null)));
}

// An item: its title, last value, the alerts its entry raised, and (in the
// current phase) its controls. The current phase's items are one form with
// one Record (checklistForm): a checkpoint's vitals, sedation and
// dissociation are typed and recorded together.
function itemCard(it, phaseId, current) {
  const required = it.required ? h("span", { class: "tag tag-required" }, "Required") : h("span", { class: "tag" }, "Optional");
  const head = h("div", { class: "item-head" }, h("h3", { id: `item-${it.id}` }, it.title), required, current ? dueBadge(it) : null);
  const raised = state.raisedBy.get(`${phaseId}.${it.id}`);
  const top = raised && raised.length ? raised.reduce((p, a) => (priorityRank(a.priority) > priorityRank(p) ? a.priority : p), "") : "";
  const card = h("div", { class: `item card ${it.overdue ? "item-overdue" : ""} ${it.count ? "item-done" : ""} ${top ? `item-alert item-alert-${top}` : ""}`,
    role: "group", "aria-labelledby": `item-${it.id}`, dataset: { item: it.id } }, head, lastValue(it, phaseId, current), flags(raised, it));
  if (current && it.applies === false) {
    card.classList.add("item-na");
    card.append(h("p", { class: "muted" }, "Does not apply to this visit."));
    return card;
  }
  const buttons = h("div", { class: "item-actions" });
  if (current && it.kind === "signature") {
    if ((!it.count || it.void) && can("sign")) buttons.append(h("button", { type: "button", class: "primary", onclick: () => sign(it) }, it.void ? "Sign again\u2026" : "Sign\u2026"));
    // Not "the second person" for an assessment (V6): who signs is a clinician
    // other than whoever recorded what it confirms.
    else if (!it.count || it.void) card.append(h("p", { class: "hint" }, `A clinician signs this${it.of ? `, not the person who recorded ${itemTitle(state.visit, it.of, phaseId)}` : ""}.`));
  } else if (current && it.clinician && !can("sign")) {
    // A clinician's entry (clinician = true: the prescriber's judgement,
    // docs/safety.md AL6): the server refuses anyone else's, 403.
    card.append(h("p", { class: "hint" }, it.count ? "A clinician changes this." : "A clinician enters this."));
  } else if (current && can("record") && it.amend_only) {
    // Changed only by an amendment (the server refuses a new entry of
    // another value, 409 naming /amend: docs/safety.md G1, U11): Amend below,
    // not "Record again" (X8). A clinician's judgement once given is also
    // given again, a new entry of its time (docs/safety.md AQ1: a BP before
    // leaving that raised an alert after the prescriber's "yes" holds the
    // leaving until she answers again; an amendment keeps the first answer's
    // time and lifts nothing).
    if (it.clinician && it.count && can("sign"))
      buttons.append(h("button", { type: "button", class: "quiet", onclick: () => answerAgain(it) }, "Answer again\u2026"));
  } else if (current && can("record")) {
    // Done and not scheduled again: the controls wait behind "Record again",
    // so that what is still to do stands out.
    const collapsed = it.count > 0 && !it.due_at;
    const entry = h("div", { class: "entry", hidden: collapsed }, controls(it),
      // Once done, only a checkpoint still to come can be "not done": the
      // server then covers the one due now, and the next stays due.
      it.count && !it.due_at ? null : h("div", { class: "item-actions" }, h("button", { type: "button", class: "quiet", onclick: () => skip(it) }, "Not done\u2026")));
    add(card, entry);
    if (collapsed) {
      const again = h("button", { type: "button", class: "quiet", "aria-expanded": "false", onclick: () => {
        entry.hidden = false;
        again.remove();
        const first = entry.querySelector("input, textarea");
        if (first) first.focus();
      } }, "Record again");
      buttons.append(again);
    }
  }
  // Not on a visit discharged or aborted: the server refuses its amendment
  // (AE11: offered, then refused inside the dialog). Nor to a nurse on a
  // clinician's item: the server refuses her amendment, 403 (AL6, AQ1).
  if (it.count && it.kind !== "signature" && can("record") && state.visit.status === "active" && !(it.clinician && !can("sign"))) buttons.append(h("button", { type: "button", class: "quiet", onclick: () => amend(it, phaseId) }, "Amend\u2026"));
  if (buttons.childNodes.length) card.append(buttons);
  return card;
}

// ---- one Record for the phase's items --------------------------------------------

// "HH:MM" of a time, in the browser's zone (what <input type=time> holds).
function hhmm(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

// When the values typed and not recorded yet were first typed, if the server
// was away since ({at, away: "during" | "before"}) or they were put back on
// a page drawn anew ({at, kept: why}): that is their observed time (V2:
// typed at 12:43 in an outage, recorded at 12:47; X2: typed at 16:20, the
// visit left and come back to at 16:26: observed at the time typed, and
// recorded late). null: they are observed now.
function typedAway() {
  return state && state.typed && (state.typed.away || state.typed.kept) ? state.typed : null;
}

// Why values typed earlier are on the page: what the hint beside Record and
// a restored card's note say after "typed".
const KEPT = {
  left: "before you left this visit",
  signin: "before you signed in again",
  reload: "before the page was loaded again",
};
function typedWhy(typed) {
  if (typed.away === "during") return "while the server was away";
  if (typed.away === "before") return "before the server went away";
  return KEPT[typed.kept] || "earlier and not recorded";
}

// The observed time the form says, in ms, or null for "now": the field left
// as it was (it follows the clock, or holds the time typed in an outage) or
// set to the current minute. A time of day later than now is yesterday's (a
// visit over midnight).
function observedAt(form) {
  const input = form.querySelector("input[data-field=observed_at]");
  if (!input) return null;
  if (!input.dataset.touched) return typedAway() ? typedAway().at : null;
  if (!input.value || input.value === hhmm(now())) return null;
  const [hh, mm] = input.value.split(":").map(Number);
  const d = new Date(now());
  d.setHours(hh, mm, 0, 0);
  let at = d.getTime();
  if (at > now()) at -= 24 * 3600 * 1000;
  return at;
}

function observedHint(form) {
  const hint = form.querySelector(".observed-hint");
  if (!hint) return;
  const at = observedAt(form);
  const typed = typedAway();
  const input = form.querySelector("input[data-field=observed_at]");
  if (typed && input && !input.dataset.touched)
    hint.textContent = `Observed at ${hhmm(typed.at)} (typed ${typedWhy(typed)}): ` +
      "recorded as a late entry of that time. Set the time the values were taken if that was earlier.";
  else
    hint.textContent = at === null ? "Now. Set the time the values were taken if that was earlier: the entry is then marked late."
      : `A late entry: observed ${duration(now() - at)} ago. Rules, the chart and the checkpoints use this time.`;
  hint.classList.toggle("late-mark", at !== null);
  // "Now" beside a time that is not now (kept from a draft, the outage's,
  // or set by hand): the values were taken now after all (AE3).
  const nowButton = form.querySelector(".observed-now");
  if (nowButton) nowButton.hidden = at === null;
}

// "Now": the values are observed now, whatever time was kept or set; their
// draft still says when they were typed.
function observedNow(form) {
  if (state && state.typed) state.typed = { at: state.typed.at, away: null };
  if (state) state.keptObserved = false;
  resetObserved();
  saveDraft();
  const input = form.querySelector("input[data-field=observed_at]");
  if (input) input.focus();
  announce("Observed now");
}

function recordBar() {
  const input = h("input", { id: "observed-at", type: "time", step: 60, value: hhmm(typedAway() ? typedAway().at : now()), dataset: { field: "observed_at" },
    "aria-describedby": "observed-hint observed-err" });
  input.addEventListener("input", () => {
    input.dataset.touched = "1";
    // Set by hand on this page: no longer the draft's kept time.
    if (state) state.keptObserved = false;
    observedHint(input.form);
  });
  const box = h("div", { class: "record-bar" },
    h("div", { class: "field observed" }, h("label", { for: "observed-at" }, "Observed at"), input,
      h("button", { type: "button", class: "quiet observed-now", hidden: true, onclick: () => observedNow(input.form) }, "Now"),
      h("p", { class: "hint observed-hint", id: "observed-hint" }),
      errorSlot(h, "observed_at", "observed-err")),
    h("div", { class: "item-actions" }, h("button", { type: "submit", class: "primary big", id: "record" }, "Record")),
    errorSlot(h, "", "record-err"));
  return box;
}

// Every item of the form with something entered: {item id: value}.
function entered(phase, form) {
  const out = {};
  for (const it of phase.items) {
    if (it.kind === "signature" || it.applies === false) continue;
    const card = form.querySelector(`.item[data-item="${CSS.escape(it.id)}"]`);
    const value = card && read(it, card);
    if (value !== undefined) out[it.id] = value;
  }
  return out;
}

async function recordAll(e) {
  e.preventDefault();
  const form = e.currentTarget;
  const phase = state.visit.phases.find((p) => p.id === state.visit.phase);
  clearErrors(form);
  const values = entered(phase, form);
  const ids = Object.keys(values);
  if (!ids.length) {
    showError(form, { message: "Nothing entered yet: type or choose the values to record, then Record." });
    return;
  }
  const at = observedAt(form);
  const body = at === null ? { ...values } : { ...values, observed_at: new Date(at).toISOString() };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await command("entries", body);
    const titles = ids.map((id) => phase.items.find((x) => x.id === id).title);
    announce(`Recorded: ${titles.join(", ")}${at === null ? "" : " (late entry)"}`);
    // What is typed from now on is typed now (saveDraft).
    if (state) state.typed = null;
    for (const id of ids) emptyIfRecorded(phase.items.find((x) => x.id === id), values[id]);
    resetObserved();
  } catch (err) {
    // Nothing was recorded: what was typed stays, the refusal at its field.
    showError(form, err);
  } finally {
    const b = state && state.root && state.root.querySelector(".checklist button[type=submit]");
    if (b) b.disabled = false;
    button.disabled = false;
    // A disabled button loses the focus: it goes back to Record (the card
    // the nurse was on), not to the top of the page; a page drawn anew keeps
    // it there by its id.
    if (b && (!document.activeElement || document.activeElement === document.body)) b.focus();
  }
}

function resetObserved() {
  const input = state && state.root && state.root.querySelector(".checklist input[data-field=observed_at]");
  if (!input) return;
  delete input.dataset.touched;
  input.value = hhmm(now());
  observedHint(input.form);
}

// Once an entry is recorded its item starts empty again. The page may have
// been drawn again while the entry was on its way (what was typed carried
// over), so the item to empty is the one on the page now, and only while it
// still holds what was recorded: what the nurse typed since stays.
function emptyIfRecorded(it, value) {
  if (!state || !state.root) return;
  const card = state.root.querySelector(`.checklist .item[data-item="${CSS.escape(it.id)}"]`);
  if (!card || JSON.stringify(read(it, card)) !== JSON.stringify(value)) return;
  for (const el of card.querySelectorAll("input, textarea")) {
    if (el.type === "radio") el.checked = false;
    else el.value = "";
  }
  const total = card.querySelector("output");
  if (total) total.textContent = "";
  state.restored.delete(it.id);
  const note = card.querySelector(".draft-note");
  if (note) note.remove();
  saveDraft();
}

// What is typed on the checklist goes to the tab's storage as it is typed,
// with when the first of it was typed (and whether the server was away then).
// A time set by hand in "Observed at" goes with them (AE3: it was lost on
// leaving the page), as a time (ms), not the field's "HH:MM".
function saveDraft() {
  if (!(state && state.visit && state.root)) return;
  const values = snapshot().values;
  if (!Object.keys(values).length) state.typed = null;
  else if (!state.typed) state.typed = { at: now(), away: downtime.away() ? "during" : null };
  const input = state.root.querySelector(".checklist input[data-field=observed_at]");
  const observed = input && input.dataset.touched ? observedAt(input.form) : null;
  drafts.save(state.id, values, state.typed, observed);
}

// The field of the checklist an input or change event is in: its
// data-field, or that of its radio group's first button.
function fieldOf(el) {
  if (el.dataset && el.dataset.field) return el.dataset.field;
  if (el.type !== "radio" || !el.name) return null;
  const first = el.form && el.form.querySelector(`input[name="${CSS.escape(el.name)}"][data-field]`);
  return first ? first.dataset.field : null;
}

// A value put back from a draft (X2) is the draft's until it is typed anew:
// a card whose every field put back has been typed in again (or emptied) is
// a reading taken again, no longer "Typed at ..."; once no card put back is
// left, the draft's kept time goes, and a time set by hand before it was
// left, and what is on the page is observed now (AE3: 214/126 typed over a
// kept 200/118 of 19:02 was recorded as observed 19:02, before a
// colleague's 19:04 reading, and so not the latest). One value corrected is
// not a new reading: the draft's time stays, and "Now" is beside it.
function retyped(el) {
  const card = el.closest(".checklist .item[data-item]");
  const left = card && state.restored.get(card.dataset.item);
  if (!left) return;
  left.delete(fieldOf(el));
  if (left.size) return;
  state.restored.delete(card.dataset.item);
  const note = card.querySelector(".draft-note");
  if (note) note.remove();
  if (state.restored.size) return;
  if (state.typed && state.typed.kept) state.typed = { at: now(), away: downtime.away() ? "during" : null };
  const input = state.root.querySelector(".checklist input[data-field=observed_at]");
  if (state.keptObserved) {
    state.keptObserved = false;
    resetObserved();
  } else if (input) {
    // A time set by hand on this page stays set.
    if (!input.dataset.touched) input.value = hhmm(now());
    observedHint(input.form);
  }
}

// The checklist fields (data-field) that a value put back fills.
function fieldsOf(id, value) {
  return new Set(value && typeof value === "object" ? Object.keys(value).map((f) => `${id}.${f}`) : [id]);
}

// The server went away with values typed and not recorded: they keep the
// time they were typed as their observed time, however late they are
// recorded; the field beside Record stops following the clock and says so.
downtime.onAway(() => {
  if (!state || !state.typed || state.typed.away) return;
  state.typed.away = "before";
  saveDraft();
  tick();
});
for (const type of ["input", "change"])
  document.addEventListener(type, (e) => {
    if (!(state && state.root && e.target instanceof Element && e.target.closest(".checklist"))) return;
    retyped(e.target);
    saveDraft();
  });

function checklist(v) {
  const phase = v.phases.find((p) => p.id === v.phase);
  if (!phase || v.status !== "active") return null;
  const recordable = can("record") && phase.items.some((it) => it.kind !== "signature" && it.applies !== false);
  const form = h("form", { class: "checklist-form", novalidate: true, "aria-labelledby": "cl-title" },
    phase.items.map((it) => itemCard(it, phase.id, true)),
    recordable ? recordBar() : null);
  form.addEventListener("submit", recordAll);
  const section = h("section", { class: "checklist", "aria-labelledby": "cl-title" }, h("h2", { id: "cl-title" }, phase.title), fromEarlierPhases(v), form);
  observedHint(form);
  return section;
}

// The signatures of phases the visit has left that are signed from here
// (AL7): one a change voided (the dose amended in the infusion, docs/safety.md
// G5) and one a change since requires (PHQ-9 item 9 amended from 0: the
// suicide-risk assessment, AI1). The gate names them and holds until they are
// signed; their cards and Sign are here, above the phase's own items.
function fromEarlierPhases(v) {
  const idx = v.phases.findIndex((p) => p.id === v.phase);
  const cards = v.phases.slice(0, idx).flatMap((p) => p.items
    .filter((it) => it.kind === "signature" && (it.owed || (it.void && it.to_attest)))
    .map((it) => earlierSignatureCard(it, p)));
  return cards.length ? h("div", { class: "from-earlier" }, cards) : null;
}

function earlierSignatureCard(it, p) {
  const card = itemCard(it, p.id, false);
  // Its own heading id: the same item's card is also under "Recorded in
  // earlier phases".
  const heading = card.querySelector(".item-head h3");
  heading.id = `item-${p.id}-${it.id}-here`;
  card.setAttribute("aria-labelledby", heading.id);
  card.classList.add("item-from-earlier");
  card.querySelector(".item-head").append(h("span", { class: "tag" }, `From ${p.title}`));
  card.append(h("p", { class: "hint" }, `${it.owed ? "A change since this phase requires it" : "A change since voided it"}: this phase holds until it is signed.`));
  if (can("sign"))
    card.append(h("div", { class: "item-actions" }, h("button", { type: "button", class: "primary", onclick: () => sign(it, `${p.id}.${it.id}`) },
      it.void ? "Sign again\u2026" : "Sign\u2026")));
  else card.append(h("p", { class: "hint" }, `A clinician signs this${it.of ? `, not the person who recorded ${itemTitle(state.visit, it.of, p.id)}` : ""}.`));
  return card;
}

function earlier(v) {
  const idx = v.status === "active" ? v.phases.findIndex((p) => p.id === v.phase) : v.phases.length;
  const done = v.phases.slice(0, idx).filter((p) => p.items.some((it) => it.count));
  if (!done.length) return null;
  return h("section", { class: "earlier", "aria-labelledby": "earlier-title" },
    h("h2", { id: "earlier-title" }, "Recorded in earlier phases"),
    done.map((p) => h("details", {}, h("summary", {}, p.title),
      p.items.filter((it) => it.count).map((it) => itemCard(it, p.id, false)))));
}

function historySection() {
  const evs = [...state.events].reverse();
  const alerts = alertMessages(state.events);
  return h("section", { class: "history", "aria-labelledby": "hist-title" },
    h("h2", { id: "hist-title" }, "History"),
    // It scrolls in its own box: focusable, so that a keyboard scrolls it too
    // (axe: scrollable-region-focusable).
    h("ol", { class: "timeline", reversed: true, tabindex: "0", "aria-labelledby": "hist-title" }, evs.map((ev) =>
      h("li", { class: `ev ev-${ev.type.replace(".", "-")}` },
        h("time", { datetime: ev.time }, at(ev.time)), " ",
        h("span", { class: "actor" }, ev.actor), " ",
        h("span", {}, describe(state.visit, ev, alerts))))));
}

// ---- drawing, keeping what is being typed ----------------------------------------

function snapshot() {
  const out = { values: {}, focus: null };
  if (!state.root || !state.visit) return out;
  const phase = state.visit.phases.find((p) => p.id === state.visit.phase);
  for (const card of state.root.querySelectorAll(".checklist .item[data-item]")) {
    const it = phase && phase.items.find((x) => x.id === card.dataset.item);
    if (!it) continue;
    const v = read(it, card);
    if (v !== undefined) out.values[it.id] = v;
  }
  // An observed time the nurse set stays set across a redraw.
  const observed = state.root.querySelector(".checklist input[data-field=observed_at]");
  if (observed && observed.dataset.touched) out.observed = observed.value;
  const active = document.activeElement;
  // By the field it enters, not its id: ids are made anew at every draw.
  if (active && state.root.contains(active)) out.focus = (active.dataset && active.dataset.field) || active.id || null;
  return out;
}

function restore(snap, v) {
  const phase = v.phases.find((p) => p.id === v.phase);
  for (const [id, val] of Object.entries(snap.values)) {
    const card = state.root.querySelector(`.checklist .item[data-item="${CSS.escape(id)}"]`);
    const it = phase && phase.items.find((x) => x.id === id);
    if (card && it) {
      fill(it, card, val);
      // Typed before the page was drawn anew from nothing (another page and
      // back, a sign-in, a reload): not recorded yet, and the card says when
      // it was typed and why it is back.
      if (state.restored.has(id))
        card.querySelector(".item-head").after(h("p", { class: "draft-note", role: "note" }, restoredNote()));
      const entry = card.querySelector(".entry");
      if (entry && entry.hidden) {
        entry.hidden = false;
        const again = card.querySelector("[aria-expanded]");
        if (again) again.remove();
      }
    }
  }
  const observed = state.root.querySelector(".checklist input[data-field=observed_at]");
  if (observed && snap.observed !== undefined) {
    observed.value = snap.observed;
    observed.dataset.touched = "1";
    observedHint(observed.form);
  }
  if (snap.focus) {
    const el = state.root.querySelector(`[data-field="${CSS.escape(snap.focus)}"]`) || document.getElementById(snap.focus);
    if (el) el.focus();
  }
}

// A restored card's note: "Typed at 16:20 before you left this visit: not
// recorded yet. ..." (the time: of the first value typed of the draft).
function restoredNote() {
  const typed = state.typed;
  const when = typed ? ` at ${hhmm(typed.at)}` : "";
  const why = typed && typed.kept ? ` ${KEPT[typed.kept] || "earlier"}` : state.left ? ` ${KEPT[state.left] || "earlier"}` : " earlier";
  return `Typed${when}${why}: not recorded yet. Check it, then Record.`;
}

function draw() {
  if (!state || !state.visit) return;
  const v = state.visit;
  const snap = snapshot();
  if (!state.drafted) {
    // The first drawing: what was typed and not recorded before comes back.
    state.drafted = true;
    const draft = drafts.load(state.id);
    state.left = draft.left;
    for (const [id, val] of Object.entries(draft.values))
      if (!(id in snap.values)) {
        snap.values[id] = val;
        state.restored.set(id, fieldsOf(id, val));
      }
    // Put back, they keep the time they were typed as their observed time
    // (X2), and say why they are back; a time set by hand comes back set.
    if (!state.typed && draft.typed && state.restored.size) state.typed = { ...draft.typed, kept: draft.left || "earlier" };
    if (draft.observed !== null && state.restored.size && snap.observed === undefined) {
      snap.observed = hhmm(draft.observed);
      state.keptObserved = true;
    }
  }
  for (const id of [...state.restored.keys()]) if (!(id in snap.values)) state.restored.delete(id);
  state.raisedBy = alertsByItem(v);
  const readings = vitalsReadings(v, state.events);
  const root = clear(state.root);
  add(root, header(v), alertsSection(v), passedSection(v),
    h("div", { class: "visit-grid" },
      h("div", { class: "visit-main" }, gateSection(v), checklist(v), earlier(v)),
      h("div", { class: "visit-side" },
        previousCard(v, state.patient),
        h("section", { class: "card", "aria-labelledby": "vc-title" }, h("h2", { id: "vc-title" }, "Vitals"), chart(readings),
          readings.length ? h("details", {}, h("summary", {}, "Readings as a table"), table(readings, "Vitals readings")) : null),
        h("section", { class: "card flowsheet-card", "aria-labelledby": "fs-title" }, h("h2", { id: "fs-title" }, "Flowsheet"), staleNote(v), flowsheetView(v, state.events)),
        historySection())));
  restore(snap, v);
}

// Above the flowsheet: how old the latest vitals (any vitals item: in an
// infusion before its first checkpoint, the baseline) and the current
// phase's other scheduled values are, stale past their interval and grace.
function staleNote(v) {
  const phase = v.phases.find((p) => p.id === v.phase);
  if (!phase || v.status !== "active") return null;
  const rows = [];
  const vitals = lastVitals(v);
  if (vitals) rows.push([`Latest vitals (${vitals.item.title})`, vitals.at, vitals.limit ?? null]);
  for (const it of phase.items)
    if (it.kind !== "vitals" && it.kind !== "signature" && staleAfter(it) !== null && observedMs(it) !== null) rows.push([it.title, observedMs(it), staleAfter(it)]);
  if (!rows.length) return null;
  return h("ul", { class: "plain stale-note" }, rows.map(([title, observed, limit]) =>
    h("li", {}, `${title}: observed ${at(new Date(observed).toISOString())}, `, ageBadge(h, observed, limit, now()))));
}

function tick() {
  if (!state || !state.root) return;
  refreshAges(state.root, now());
  if (now() - state.loadedAt >= STALE_MS) {
    state.loadedAt = now(); // once, until that load starts
    refresh();
  }
  // The observed time follows the clock until the nurse sets it, or the
  // server goes away with values typed (then it is when they were typed).
  const observed = state.root.querySelector(".checklist input[data-field=observed_at]");
  if (observed && !observed.dataset.touched && document.activeElement !== observed) observed.value = hhmm(typedAway() ? typedAway().at : now());
  if (observed) observedHint(observed.form);
  for (const b of state.root.querySelectorAll(".checklist .badge[data-due]")) {
    if (b.classList.contains("badge-overdue")) continue;
    const left = Number(b.dataset.due) - now();
    b.textContent = left <= 0 ? "Due now" : `Due in ${duration(left)}`;
    b.className = `badge ${left <= 0 ? "badge-now" : "badge-due"}`;
  }
}

export function render(main, id) {
  stop();
  state = { id: Number(id), visit: null, events: [], root: main, loadedAt: now(), drafted: false, restored: new Map(), raisedBy: new Map(), typed: null, left: null, keptObserved: false };
  clear(main).append(h("p", {}, "Loading\u2026"));
  unsubscribe = subscribe((ev) => {
    if (state && ev.visit === state.id) refresh();
  });
  load().catch((err) => {
    clear(main).append(h("h1", {}, "Visit"), h("p", { class: "error" }, err.status === 404 ? `There is no visit ${id}.` : err.message));
  });
}

// Reads the visit anew (the server is back after an outage); what is typed
// stays, as on any new drawing.
export function reload() {
  if (state) refresh();
}

export function stop() {
  // Values typed and not recorded stay (drafts.js), marked with why the page
  // went: another page, or the sign-in ended (no user any more).
  if (state && state.visit) drafts.leave(state.id, current() ? "left" : "signin");
  if (unsubscribe) unsubscribe();
  unsubscribe = null;
  clearTimeout(pending);
  state = null;
}

onTick(tick);
// A reload (or the tab closed: its storage goes with it) leaves the draft.
window.addEventListener("pagehide", () => {
  if (state && state.visit) drafts.leave(state.id, "reload");
});

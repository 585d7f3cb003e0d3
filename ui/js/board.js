// board.js: every active visit at a glance, kept live from the event
// stream: patient, protocol and version, phase and time in it, the next due
// item as the server judges it (a countdown, then "due now" counting up
// through the grace, then "overdue" counting up once the server says so),
// the last vitals with their age (stale past the protocol's interval and
// grace), a signature someone waits for, and the highest alert in its
// colour; what holds a visit (a rule's hold, what its gate waits for once
// everything is recorded). Rows with an overdue item, an alert or a hold
// come first. Below: the
// course alerts (a patient's missed session or non-response: a patient and
// no visit, who to call) and the patients due today or overdue for their
// course's next session.
import { all, get } from "./api.js";
import { h, clear } from "./dom.js";
import { ageBadge, changedParam, duration, messageInWords, observedMs, priorityLabel, priorityRank, refreshAges, staleAfter, value as show } from "./format.js";
import { now, onTick } from "./clock.js";
import { subscribe } from "./stream.js";
import { showError } from "./dialog.js";
import { title } from "./protocols.js";
import { can } from "./session.js";
import { ackControls } from "./ack.js";
import { patientHref, sessionWords } from "./patient.js";
import { passedByOverride, passedText } from "./passed.js";

let rows = []; // [{visit (list entry), detail (whole state)}]
let courseAlerts = []; // open alerts with a patient and no visit
let due = []; // GET /patients?due=today: open courses due before tonight or overdue
let table = null;
let below = null; // the course alerts and the due list
let stopped = true;

// What is due next in the visit's current phase: {title, due (ms), overdue}:
// an item's due time, or moving on when the phase's maximum comes first (a
// dosed esketamine patient left in Dosing, docs/safety.md AN1).
export function nextDue(detail) {
  const phase = detail.phases.find((p) => p.id === detail.phase);
  let best = null;
  for (const it of phase ? phase.items : []) {
    if (!it.due_at) continue;
    const due = Date.parse(it.due_at);
    if (!best || due < best.due) best = { title: it.title, due, overdue: !!it.overdue };
  }
  if (detail.leave_by) {
    const due = Date.parse(detail.leave_by);
    if (!best || due < best.due) best = { title: `Move on from ${phase ? phase.title : detail.phase}`, due, overdue: !!detail.leave_overdue };
  }
  return best;
}

async function load() {
  // An aborted visit whose alerts are not all acknowledged stays on the
  // board: they escalate until someone does (docs/safety.md, G3).
  const list = [...await all("/visits?status=active", "visits"), ...await all("/visits?status=aborted&alerts=active", "visits")];
  const details = await Promise.all(list.map((v) => get(`/visits/${v.id}`).catch(() => null)));
  const titles = await Promise.all(list.map((v) => title(v.protocol).catch(() => v.protocol)));
  const [open, dueToday] = await Promise.all([all("/alerts?state=open", "alerts"), get("/patients?due=today")]);
  rows = list.map((v, i) => ({ visit: v, detail: details[i], title: titles[i] }));
  courseAlerts = open.filter((a) => a.visit === null || a.visit === undefined);
  due = dueToday.patients;
  draw();
}

// A held visit (one a reading or a rule holds) needs someone, as an overdue
// item does: it comes before the quiet ones (AK4). A hold stops the dosing or
// the discharge over a dangerous reading, its alert perhaps acknowledged: it
// ranks with a high alert, above a medium or a low one (AN6: 190/115 and
// 214/126 sorted below a low alert's 176/102). Within a rank, the louder
// alert, then an overdue item and a hold.
function urgency(r) {
  const due = r.detail && nextDue(r.detail);
  const alert = priorityRank(r.visit.alerts && r.visit.alerts.highest);
  const held = r.detail && holds(r.detail).length > 0;
  return Math.max(alert, held ? priorityRank("high") : 0) * 100 + alert * 10 + (due && due.overdue ? 5 : 0) + (held ? 5 : 0);
}

function dueCell(r) {
  const due = r.detail && nextDue(r.detail);
  if (!due) return h("td", { class: "due" }, "\u2014");
  return h("td", { class: "due", dataset: { due: due.due, overdue: due.overdue ? "1" : "" } },
    h("span", { class: "due-item" }, due.title), " ", dueBadge(due.due, due.overdue));
}

// Red only when the server says overdue (the grace has run out); between
// the due time and then it is due now, counting up; both count on.
function dueBadge(due, overdue) {
  const left = due - now();
  if (overdue) return h("span", { class: "badge badge-overdue" }, `Overdue ${duration(Math.max(0, -left))}`);
  if (left <= 0) return h("span", { class: "badge badge-now" }, `Due now, ${duration(-left)} ago`);
  return h("span", { class: "badge badge-due" }, "in ", h("span", { class: "countdown" }, duration(left)));
}

// The latest vitals of the visit (by the time they were observed), and
// when they go stale: the interval and grace of the vitals the current
// phase schedules, else of their own item.
export function lastVitals(detail) {
  let best = null;
  let scheduled = null;
  for (const p of detail.phases)
    for (const it of p.items) {
      if (it.kind !== "vitals") continue;
      if (p.id === detail.phase && staleAfter(it) !== null) scheduled = it;
      const at = observedMs(it);
      if (at !== null && (!best || at > best.at)) best = { item: it, at };
    }
  if (best) best.limit = staleAfter(scheduled) ?? staleAfter(best.item);
  return best;
}

function vitalsCell(r) {
  const last = r.detail && lastVitals(r.detail);
  if (!last) return h("td", { class: "last-vitals" }, h("span", { class: "muted" }, "none yet"));
  // A line breaks between readings, never inside one.
  const readings = show(last.item.value).split(", ");
  return h("td", { class: "last-vitals" },
    h("span", { class: "vitals-value" }, readings.flatMap((x, i) => [i ? ", " : "", h("span", { class: "reading" }, x)])), " ",
    ageBadge(h, last.at, last.limit ?? null, now()));
}

// Signatures the visit waits for: of the current phase, the item they
// confirm is recorded and nobody has signed it (or a change voided the
// signature); of a phase the visit has left, one a change voided (the dose
// amended in the infusion: signed again from here, docs/safety.md G5; AK5)
// or one a change since requires (owed: the assessment after PHQ-9 item 9
// amended from 0, AI1).
// Each with the title of its phase when that is not the current one.
export function awaitingSignatures(detail) {
  const out = [];
  for (const phase of detail.phases) {
    const current = phase.id === detail.phase;
    for (const it of phase.items)
      if (it.kind === "signature" && (current ? it.to_attest && it.applies !== false && (!it.count || it.void) : (it.void && it.to_attest) || it.owed))
        out.push(current ? it : { ...it, phase_title: phase.title });
    if (current) break;
  }
  return out;
}

// What holds the visit that recording what is due does not move on (AK4):
// each hold of a rule (a dangerous reading: "Baseline BP 214/126 is at or
// above the hold limit ..."), and, once nothing of the phase is left to
// record, what the gate still says but the time the phase takes, the alerts
// to acknowledge (the Alert column's) and the signatures to sign again (the
// Waiting for column's): "last vitals heart rate 128 above 120 ..." at the
// discharge. The gate's words are the server's (core/engine/gate.c).
export function holds(detail) {
  if (!detail || !detail.gate || detail.gate.ok || detail.status !== "active") return [];
  const blocks = (detail.blocks || []).map((b) => b.reason);
  const phase = detail.phases.find((p) => p.id === detail.phase);
  const items = phase ? phase.items : [];
  const reasons = detail.gate.reasons || [];
  const toRecord = (detail.gate.unrecorded || []).length > 0 ||
    reasons.some((r) => items.some((it) => r === `${it.title} is due` || r === `${it.title} is overdue`));
  if (toRecord) return blocks;
  // "... (Screening before dosing) is void: ..." or "... not recorded: a change since ...".
  const signing = awaitingSignatures(detail).filter((it) => it.phase_title).map((it) => `${it.title} (${it.phase_title}) `);
  const shownElsewhere = (r) => blocks.includes(r) || /^minimum time in .+ not (reached|started)\b/.test(r) ||
    /^(high|medium|low) alert \d+ not acknowledged/.test(r) || signing.some((t) => r.startsWith(t));
  return [...blocks, ...reasons.filter((r) => !shownElsewhere(r))];
}

// " (Screening before dosing, again: void)": of which phase, when not the
// current one, and why again.
function signWhy(it) {
  const parts = [it.phase_title, it.void ? "again: void" : it.owed ? "now required" : null].filter(Boolean);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

// ... what holds the visit (AK4), and what a clinician's override passed
// unrecorded, for the rest of the visit (docs/safety.md V1).
function waitingCell(r) {
  const held = r.detail ? holds(r.detail) : [];
  const waits = r.detail ? awaitingSignatures(r.detail) : [];
  const passed = passedByOverride(r.detail);
  if (!held.length && !waits.length && !passed.length) return h("td", { class: "waiting" }, h("span", { class: "muted" }, "\u2014"));
  return h("td", { class: "waiting" }, held.map((why) => h("span", { class: "badge badge-held" }, `Held: ${why}`)),
    waits.map((it) => h("span", { class: "badge badge-sign" },
      `Clinician to sign: ${it.title}${signWhy(it)}`)),
    passed.map((p) => h("span", { class: "badge badge-passed", dataset: { item: p.item } }, passedText(p))));
}

// The highest priority, and what is to acknowledge by priority from the
// visit's alerts ("1 high, 1 medium to acknowledge"): not "High · 2 to
// acknowledge" for a high and a medium (X8). The count alone when the
// visit's detail could not be read.
function alertCell(r) {
  const a = r.visit.alerts || {};
  if (!a.highest) return h("td", {}, h("span", { class: "muted" }, "none"));
  const open = ((r.detail && r.detail.alerts) || []).filter((x) => !x.acknowledged && x.state !== "acknowledged" && x.state !== "closed");
  const counted = (list) => ["high", "medium", "low"].map((p) => [p, list.filter((x) => x.priority === p).length]).filter(([, n]) => n > 0)
    .map(([p, n]) => `${n} ${p}`).join(", ");
  // A carried alert is a clinician's to acknowledge: a nurse's board says
  // so, not "1 high to acknowledge" of an alert she cannot (AE9).
  const theirs = can("record") && !can("sign") ? open.filter((x) => x.carried) : [];
  const mine = open.filter((x) => !theirs.includes(x));
  const what = !open.length || open.length !== a.active ? `${a.active} to acknowledge`
    : [mine.length ? `${counted(mine)} to acknowledge` : null, theirs.length ? `${counted(theirs)} for a clinician to acknowledge` : null].filter(Boolean).join("; ");
  return h("td", {}, h("span", { class: `badge alarm-${a.highest}` }, priorityLabel(a.highest)),
    a.active ? ` ${what}` : " acknowledged");
}

const COLUMNS = ["Chair / bay", "Patient", "Protocol", "Phase", "Time in phase", "Next due", "Last vitals", "Waiting for", "Alert"];

function draw() {
  if (stopped || !table) return;
  const body = clear(table.tBodies[0]);
  const sorted = [...rows].sort((a, b) => urgency(b) - urgency(a) || a.visit.id - b.visit.id);
  if (!sorted.length)
    body.append(h("tr", {}, h("td", { colspan: 9, class: "empty" }, "No active visits. ", can("record") ? h("a", { href: "#/start" }, "Start a visit") : null)));
  for (const r of sorted) {
    const v = r.visit;
    const protocol = v.protocol.split("@");
    // The row's tooltip says what differs from the protocol (a clinician's prescription).
    const changed = v.changed_params && v.changed_params.length ? `Changed from the protocol: ${v.changed_params.map(changedParam).join("; ")}` : null;
    body.append(h("tr", { dataset: { visit: v.id }, title: changed, class: v.alerts && v.alerts.highest ? `row-${v.alerts.highest}` : "" },
      h("td", { class: "location" }, v.location || h("span", { class: "muted" }, "—")),
      h("th", { scope: "row" }, h("a", { href: `#/visit/${v.id}`, class: "row-link" }, v.patient),
        r.detail && r.detail.course ? h("a", { href: patientHref(v.patient), class: "course-link" }, ` ${sessionWords(r.detail.course.session, r.detail.course.counted, r.detail.course.sessions, r.detail.course.no_dose)}`) : null),
      h("td", {}, r.title, h("span", { class: "muted" }, ` v${protocol[1]}`)),
      h("td", { class: "phase" }, v.phase_title || v.phase, v.status === "aborted" ? [" ", h("span", { class: "badge badge-overdue" }, "aborted")] : null),
      h("td", { class: "in-phase", dataset: { since: Date.parse(v.phase_started_at) } }, duration(now() - Date.parse(v.phase_started_at))),
      dueCell(r),
      vitalsCell(r),
      waitingCell(r),
      alertCell(r)));
  }
  // Each cell carries its column's name, which a narrow screen shows beside
  // it when the rows become cards (app.css).
  for (const tr of body.rows) for (const [i, cell] of [...tr.cells].entries()) if (cell.tagName === "TD" && cell.colSpan === 1) cell.dataset.label = COLUMNS[i];
  drawCourses();
}

// The course alerts, most urgent first, and who is due today or overdue.
function drawCourses() {
  if (!below) return;
  const alerts = [...courseAlerts].sort((a, b) => priorityRank(b.priority) - priorityRank(a.priority) || a.id - b.id);
  clear(below).append(
    h("section", { class: "card board-course-alerts", "aria-labelledby": "bca-title" },
      h("h2", { id: "bca-title" }, "Course alerts"),
      alerts.length
        ? h("ul", { class: "plain" }, alerts.map((a) =>
            h("li", { class: `alarm alarm-${a.priority} ${a.acknowledged ? "acked" : ""}`, dataset: { alert: a.id, rule: a.rule } },
              h("span", { class: "alarm-priority" }, priorityLabel(a.priority)),
              h("span", { class: "alarm-text" }, h("a", { href: patientHref(a.patient) }, `Patient ${a.patient}`), ": ", messageInWords(a.message),
                h("span", { class: "alarm-meta" }, a.acknowledged ? " acknowledged" : "")),
              ackControls(a, () => load().catch(showError)))))
        : h("p", { class: "muted" }, "No course alerts.")),
    h("section", { class: "card board-due", "aria-labelledby": "bd-title" },
      h("h2", { id: "bd-title" }, "Due today / overdue"),
      due.length
        ? h("table", { class: "due-patients" },
            h("caption", {}, "Patients whose next course session is due today or overdue"),
            h("thead", {}, h("tr", {}, ["Patient", "Protocol", "Sessions", "Last session", "Next due"].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", {}, [...due].sort((a, b) => Number(b.overdue) - Number(a.overdue) || Date.parse(a.next_due) - Date.parse(b.next_due)).map((d) =>
              h("tr", { dataset: { patient: d.patient, overdue: d.overdue ? "1" : "" } },
                h("th", { scope: "row" }, h("a", { href: patientHref(d.patient) }, d.patient)),
                h("td", {}, d.protocol),
                h("td", { class: "num" }, String(d.counted ?? d.sessions)),
                h("td", {}, d.last_session_at ? new Date(d.last_session_at).toLocaleDateString([], { month: "short", day: "numeric" }) : "\u2014"),
                h("td", {}, new Date(d.next_due).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }), " ",
                  d.overdue ? h("span", { class: "badge badge-overdue" }, "overdue") : h("span", { class: "badge badge-due" }, "due today"))))))
        : h("p", { class: "muted" }, "No patient is due today.")));
}

// Once a second: countdowns, due and overdue times, times in phase and the
// vitals' ages move on the server's clock.
function tick() {
  if (stopped || !table) return;
  for (const td of table.querySelectorAll("td.in-phase")) td.textContent = duration(now() - Number(td.dataset.since));
  for (const td of table.querySelectorAll("td.due[data-due]")) {
    const badge = td.querySelector(".badge");
    if (badge) badge.replaceWith(dueBadge(Number(td.dataset.due), td.dataset.overdue === "1"));
  }
  refreshAges(table, now());
}

let unsubscribe = null;
let pending = null;

export function render(main) {
  stopped = false;
  table = h("table", { class: "board" },
    h("caption", {}, "Active visits"),
    h("thead", {}, h("tr", {},
      COLUMNS.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}));
  below = h("div", { class: "board-courses" });
  clear(main).append(h("h1", {}, "Board"), table, below);
  unsubscribe = subscribe((ev) => {
    // The site's own events (sign-ins, users) change nothing here; a
    // course's (a missed session's alert) do.
    const course = ev.type && (ev.type.startsWith("course.") || (ev.type.startsWith("alert.") && ev.data && ev.data.course));
    if (!ev.visit && !course) return;
    clearTimeout(pending);
    pending = setTimeout(() => load().catch(showError), 150);
  });
  load().catch(showError);
}

// Reads the board anew (the server is back after an outage).
export function reload() {
  if (table) load().catch(showError);
}

export function stop() {
  stopped = true;
  table = null;
  below = null;
  if (unsubscribe) unsubscribe();
  unsubscribe = null;
}

onTick(tick);

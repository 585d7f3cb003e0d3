// patient.js: one patient's treatment courses (#/patient/ID, from the board
// and from a visit): each course's sessions as a timeline (number, date,
// status, PHQ-9, dose, the alerts of each session), the PHQ-9 trend with the
// response and remission lines (the thresholds come from the course's
// protocol in the API's answer, never from here), the course's alerts and
// the next session due, and the REMS Patient Monitoring Forms due (each
// discharged esketamine session's, with its deadline; recorded as sent here).
// Also the pieces the visit page shows of its course
// ("session 3 of 6", the previous session's values next to today's).
import { get, post } from "./api.js";
import { h, svg, clear } from "./dom.js";
import { dateTime, duration, messageInWords, priorityLabel, reminded, unit } from "./format.js";
import { subscribe } from "./stream.js";
import { showError } from "./dialog.js";
import { title as protocolTitle } from "./protocols.js";
import { withSite } from "./site.js";
import { can } from "./session.js";
import { ackControls } from "./ack.js";

// The measure the trend chart draws (the course's response measure in the
// bundled protocols: docs/clinical/course.md).
const TREND = "phq9";

// Course measure names in words; any other is shown as written.
const MEASURES = { phq9: "PHQ-9", dose: "Dose", dose_mg_per_kg: "Dose per kg" };
export function measureName(name) {
  return MEASURES[name] || name.replace(/_/g, " ");
}

export function patientHref(patient) {
  return `#/patient/${encodeURIComponent(patient)}`;
}

export function patientPath(patient) {
  return `/patients/${encodeURIComponent(patient)}`;
}

function dateOnly(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleDateString([], { weekday: "short", year: "numeric", month: "short", day: "numeric" });
}

function yesNo(x) {
  return x === true ? "yes" : x === false ? "no" : "not yet known";
}

// A session's dose with its unit (docs/workstation.md U5: a bare number, and
// none for esketamine): the course's `dose` measure in the unit the protocol
// declares for it (the course's plan says it: "35 mg", "0.5 mg/kg"); for a
// protocol whose course measures no dose, the visit's own `dose` item as
// recorded (esketamine_rems: the choice "56 mg", its unit in its words). An
// aborted session counts for nothing and shows none, as its measures.
function doseText(c, s, visits) {
  if (c.plan.measures && c.plan.measures.dose) {
    const m = measureEntry(c, "dose", s.number);
    return m ? measureText(c, "dose", m.value, m.from) : "";
  }
  const v = s.counts ? visits.get(s.visit) : null;
  for (const ph of (v && v.phases) || [])
    for (const it of ph.items || [])
      if (it.id === "dose" && it.value !== undefined && it.value !== null) {
        const u = typeof it.value === "number" && it.fields && it.fields[0] ? unit(it.fields[0].unit) : "";
        return u ? `${it.value} ${u}` : String(it.value);
      }
  return "";
}

// Measure `name`'s value in words, with the unit its course protocol declares
// (AO3, V9: "36 mg", never a bare "36"), and, when the value was read from the
// measure's `otherwise` item (AD4: the dose drawn up while the dose given is
// not recorded), which item it is. course: an entry of GET /patients/{patient}'s
// courses, or null (the value alone).
function measureText(course, name, value, from) {
  const m = course && course.plan && course.plan.measures && course.plan.measures[name];
  const u = m ? unit(m.unit) : "";
  return `${value}${u ? ` ${u}` : ""}${from ? ` (from ${from}, ${name === "dose" ? "the dose given" : "its item"} not recorded)` : ""}`;
}

// The entry of measure `name` at session `number` ({session, value, from}), or undefined.
function measureEntry(course, name, number) {
  return (course.measures[name] || []).find((x) => x.session === number);
}

// The value of measure `name` at session `number`, or undefined.
function measureAt(course, name, number) {
  const m = measureEntry(course, name, number);
  return m ? m.value : undefined;
}

let state = null; // {patient, root, loads}
let unsubscribe = null;
let pending = null;

async function load() {
  const mine = state;
  const p = await get(patientPath(mine.patient));
  // Each session's own alerts come with its visit.
  const visits = new Map();
  await Promise.all(p.courses.flatMap((c) => c.sessions.map(async (s) => {
    visits.set(s.visit, await get(`/visits/${s.visit}`).catch(() => null));
  })));
  const titles = new Map();
  await Promise.all(p.courses.map(async (c) => titles.set(c.protocol, await protocolTitle(c.protocol).catch(() => c.protocol))));
  if (state !== mine) return;
  draw(p, visits, titles);
}

function draw(p, visits, titles) {
  const root = clear(state.root);
  root.append(h("h1", {}, `Patient ${p.patient}`), patientBanner(p));
  // Open courses first, then the closed ones, newest first.
  const courses = [...p.courses].sort((a, b) => (a.status === "open" ? 0 : 1) - (b.status === "open" ? 0 : 1) || b.id - a.id);
  const due = formsDue(p); // null: no form due, and nothing shown (not "null")
  if (due) root.append(due);
  for (const c of courses) root.append(courseSection(c, visits, titles.get(c.protocol) || c.protocol));
}

// The REMS Patient Monitoring Forms not recorded as sent, every course's, with
// their deadline (docs/rems.md): a nurse records each one sent, how and the
// REMS's reference.
function formsDue(p) {
  const due = p.forms_due || [];
  if (!due.length) return null;
  return h("section", { class: "card forms-due", "aria-labelledby": "forms-due-title" },
    h("h2", { id: "forms-due-title" }, "REMS forms due"),
    h("ul", { class: "plain" }, due.map((f) => h("li", { class: `form-due ${f.status}`, dataset: { visit: f.visit, status: f.status } },
      h("a", { href: `#/visit/${f.visit}` }, formSession(f)), ` of ${dateOnly(f.session_started_at)}: Patient Monitoring Form due by `,
      h("time", { datetime: f.deadline, class: "deadline" }, dateTime(f.deadline)), " ",
      h("span", { class: `badge ${f.status === "overdue" ? "badge-overdue" : "badge-due"}` }, f.status),
      can("record") ? sentForm(f) : null))));
}

// A form's session in words: "Session 2", or "Aborted visit 3" (C5, C7).
const formSession = (f) => (f.counted ? `Session ${f.counted}` : f.no_dose ? `Visit ${f.session}, no dose given` : `Aborted visit ${f.session}`);

function sentForm(f) {
  const method = h("select", { name: "method", "aria-label": `How the form of ${formSession(f).toLowerCase()} was sent` },
    ["portal", "fax", "phone"].map((m) => h("option", { value: m }, m)));
  const reference = h("input", { name: "reference", type: "text", maxlength: "200", required: true, "aria-label": `The REMS's reference for ${formSession(f).toLowerCase()}`, placeholder: "REMS reference" });
  // A form with fields missing is recorded as sent only with why (docs/rems.md,
  // safety.md C1): the server's 409 names the fields missing.
  const incomplete = h("input", { name: "incomplete_reason", type: "text", maxlength: "200", "aria-label": `Why the form of ${formSession(f).toLowerCase()} is sent with fields missing, if it is`, placeholder: "sent incomplete because (if fields are missing)" });
  return h("form", { class: "rems-sent", onsubmit: (ev) => {
    ev.preventDefault();
    const body = { method: method.value, reference: reference.value };
    if (incomplete.value.trim()) body.incomplete_reason = incomplete.value;
    post(`/visits/${f.visit}/rems/submitted`, body).then(refresh, showError);
  } }, method, " ", reference, " ", incomplete, " ", h("button", { type: "submit" }, "Record as sent"));
}

function courseSection(c, visits, title) {
  const id = `course-${c.id}`;
  // The sessions that count, the induction's at most (AD3: discharged visits
  // with no dose given counted here, "7 of 6"), as the sessions' caption says.
  const done = Math.min(c.sessions.filter((s) => s.counts && s.status === "discharged").length, c.plan.sessions);
  return h("section", { class: "card course", dataset: { course: c.id, status: c.status }, "aria-labelledby": `${id}-title` },
    h("div", { class: "course-head" },
      h("h2", { id: `${id}-title` }, `${title}: course ${c.id}`),
      h("span", { class: `status status-${c.status === "open" ? "active" : "closed"}` }, c.status)),
    h("dl", { class: "course-facts" },
      h("dt", {}, "Started"), h("dd", {}, dateOnly(c.started_at)),
      h("dt", {}, "Stage"), h("dd", {}, `${c.stage}: ${done} of ${c.plan.sessions} induction sessions completed`),
      h("dt", {}, "Next session"), h("dd", { class: "next-due" }, nextDue(c)),
      h("dt", {}, "Response"), h("dd", { class: "response", dataset: { value: String(c.response) } },
        yesNo(c.response), c.thresholds.response_fall_pct !== null ? h("span", { class: "muted" }, ` (${measureName(TREND)} ${c.thresholds.response_fall_pct} % or more below the first session)`) : null),
      h("dt", {}, "Remission"), h("dd", { class: "remission", dataset: { value: String(c.remission) } },
        yesNo(c.remission), c.thresholds.remission_below !== null ? h("span", { class: "muted" }, ` (${measureName(TREND)} below ${c.thresholds.remission_below})`) : null),
      c.closed ? [h("dt", {}, "Closed"), h("dd", {}, `${dateTime(c.closed.at)} by ${c.closed.by}: ${c.closed.reason}`)] : null),
    courseAlerts(c),
    remsForms(c),
    h("div", { class: "course-grid" },
      sessionsTable(c, visits),
      trendChart(c)),
    integrationForm(c),
    can("export") ? h("p", {}, h("a", { href: withSite(`/api/v1/courses/${c.id}/fhir`), download: `course-${c.id}.fhir.json`, class: "button quiet" }, "Export the course (FHIR)")) : null);
}

function nextDue(c) {
  if (!c.next_due) return h("span", { class: "muted" }, c.status === "open" ? "nothing due" : "course closed");
  return [dateTime(c.next_due), " ", c.overdue ? h("span", { class: "badge badge-overdue" }, "overdue") : null];
}

// Each REMS form a session owes (discharged, or aborted after its dose): sent (when, by whom, how) or due by its deadline.
function remsForms(c) {
  const forms = c.rems_forms || [];
  if (!forms.length) return null;
  return h("table", { class: "rems-forms" },
    h("caption", {}, "REMS Patient Monitoring Forms"),
    h("thead", {}, h("tr", {}, ["Session", "Due by", "Status"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, forms.map((f) => h("tr", { dataset: { session: f.session, status: f.status } },
      h("th", { scope: "row" }, h("a", { href: `#/visit/${f.visit}` }, formSession(f))),
      h("td", {}, h("time", { datetime: f.deadline }, dateTime(f.deadline))),
      h("td", {}, f.submitted
        ? `sent ${dateTime(f.submitted.at)} by ${f.submitted.by} (${f.submitted.method}, reference ${f.submitted.reference})` +
          (f.submitted.incomplete_reason ? `; sent with fields missing: ${f.submitted.incomplete_reason}` : "") +
          (f.submitted.late_ms > 0 ? `; sent late, ${duration(f.submitted.late_ms)} after its deadline` : "")
        : h("span", { class: `badge ${f.status === "overdue" ? "badge-overdue" : "badge-due"}` }, f.status))))));
}

// The course's alerts still open (a missed session, a non-response): who to call.
function courseAlerts(c) {
  const open = c.alerts.filter((a) => a.state !== "closed");
  if (!open.length) return null;
  return h("ul", { class: "plain course-alerts", "aria-label": "Course alerts" }, open.map((a) =>
    h("li", { class: `alarm alarm-${a.priority} ${a.state === "acknowledged" ? "acked" : ""}`, dataset: { alert: a.id, rule: a.rule } },
      h("span", { class: "alarm-priority" }, priorityLabel(a.priority)),
      h("span", { class: "alarm-text" }, messageInWords(a.message),
        h("span", { class: "alarm-meta" }, ` raised ${dateTime(a.raised_at)}`, a.level ? `, ${reminded(a.level)}` : "", a.state === "acknowledged" ? ", acknowledged" : "")),
      a.state === "active" ? ackControls({ ...a, patient: a.patient || state.patient }, refresh) : null)));
}

// Each session's alerts: its visit's and the course's about it.
function sessionAlerts(c, s, visits) {
  const v = visits.get(s.visit);
  return alertList([...(v && v.alerts ? v.alerts : []), ...c.alerts.filter((a) => a.session === s.number)]);
}

// A session's alerts in its row: how many of each priority (and how many are
// still open), their texts one click away, so that they do not make the row
// hundreds of pixels tall (AO3); the course's open alerts are in full above.
function alertList(list) {
  if (!list.length) return h("span", { class: "muted" }, "none");
  const order = ["high", "medium", "low"];
  const priorities = [...new Set(list.map((a) => a.priority))].sort((x, y) => (order.indexOf(x) + 1 || 9) - (order.indexOf(y) + 1 || 9));
  const counts = priorities.map((p) => `${list.filter((a) => a.priority === p).length} ${p}`);
  const open = list.filter((a) => a.state !== "closed").length;
  const summary = `${list.length} ${list.length === 1 ? "alert" : "alerts"}: ${counts.join(", ")}` +
    (open === list.length ? "" : open ? `; ${open} open` : "; all closed");
  return h("details", { class: "session-alerts" }, h("summary", {}, summary),
    h("ul", { class: "plain" }, list.map((a) =>
      h("li", { dataset: { rule: a.rule } }, h("span", { class: `badge alarm-${a.priority}` }, priorityLabel(a.priority)), " ", messageInWords(a.message),
        a.state === "closed" ? h("span", { class: "muted" }, " (closed)") : null))));
}

// The session due's alerts: the course's open missed-session alert is about
// it (it has no visit yet), as is any course alert naming its number (L9).
function nextAlerts(c) {
  const next = c.sessions.length + 1;
  return alertList(c.alerts.filter((a) => a.state !== "closed" && (a.session === next || (a.session === undefined && a.rule === "missed_session"))));
}

// An integration psychotherapy session, in the timeline between the sessions.
function integrationRow(x) {
  return h("tr", { class: "integration", dataset: { after: x.after_session } },
    h("th", { scope: "row" }, "Integration"),
    h("td", { dataset: { label: "Date" } }, h("time", { datetime: x.at }, dateTime(x.at))),
    h("td", {}, `with ${x.by}`),
    h("td", { colspan: "3", class: "integration-note" }, x.note));
}

// Recording an integration session held today (a note, who held it).
function integrationForm(c) {
  if (c.status !== "open" || !can("record")) return null;
  const note = h("textarea", { name: "note", rows: "2", maxlength: "2000", required: true, "aria-label": "What the integration session covered" });
  const by = h("input", { name: "by", type: "text", maxlength: "200", "aria-label": "Held by (default: you)", placeholder: "held by (default: you)" });
  return h("form", { class: "integration-form", onsubmit: (ev) => {
    ev.preventDefault();
    const body = { note: note.value };
    if (by.value.trim()) body.by = by.value;
    post(`/courses/${c.id}/integration`, body).then(refresh, showError);
  } }, h("label", {}, "Integration session today: ", note), " ", by, " ", h("button", { type: "submit" }, "Record integration session"));
}

function sessionsTable(c, visits) {
  const integration = c.integration || [];
  const between = (n) => integration.filter((x) => x.after_session === n).map(integrationRow);
  const rows = [...between(0)];
  c.sessions.forEach((s) => {
    const phq = measureAt(c, TREND, s.number);
    rows.push(h("tr", { dataset: { session: s.number, status: s.status } },
      h("th", { scope: "row" }, h("a", { href: `#/visit/${s.visit}` }, s.counts ? `Session ${s.counted}` : s.no_dose ? "No dose given" : "Aborted visit"), s.counts ? null : h("span", { class: "muted" }, " (counts for nothing)")),
      h("td", { dataset: { label: "Date" } }, h("time", { datetime: s.started_at }, dateOnly(s.started_at))),
      h("td", { dataset: { label: "Status" } }, h("span", { class: `status status-${s.status}` }, s.status)),
      h("td", { class: "num phq9", dataset: { label: measureName(TREND) } }, phq === undefined ? "" : String(phq)),
      h("td", { class: "num dose", dataset: { label: measureName("dose") } }, doseText(c, s, visits)),
      h("td", { class: "alerts", dataset: { label: "Alerts" } }, sessionAlerts(c, s, visits))));
    rows.push(...between(s.number));
  });
  const counted = c.sessions.filter((s) => s.counts).length;
  const undosed = c.sessions.filter((s) => s.no_dose).length;
  const aborted = c.sessions.length - counted - undosed;
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  if (c.next_due && c.status === "open")
    rows.push(h("tr", { class: `next ${c.overdue ? "overdue" : ""}`, dataset: { session: c.sessions.length + 1, status: "due" } },
      h("th", { scope: "row" }, `Session ${counted + 1}`),
      h("td", { dataset: { label: "Date" } }, h("time", { datetime: c.next_due }, dateOnly(c.next_due))),
      h("td", { dataset: { label: "Status" } }, c.overdue ? h("span", { class: "badge badge-overdue" }, "overdue") : h("span", { class: "badge badge-due" }, "due")),
      h("td", {}), h("td", {}), h("td", { class: "alerts", dataset: { label: "Alerts" } }, nextAlerts(c))));
  return h("table", { class: "course-sessions" },
    h("caption", {}, `Sessions (${Math.min(counted, c.plan.sessions)} of ${c.plan.sessions} in the induction series` +
      `${counted > c.plan.sessions ? `, ${counted - c.plan.sessions} maintenance` : ""}` +
      `${aborted ? `; ${plural(aborted, "aborted visit counts", "aborted visits count")} for nothing` : ""}` +
      `${undosed ? `; ${plural(undosed, "visit with no dose given counts", "visits with no dose given count")} for nothing` : ""})`),
    h("thead", {}, h("tr", {}, ["Session", "Date", "Status", measureName(TREND), measureName("dose"), "Alerts"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows));
}

// The trend measure by session, with the response line (the first session's
// value less the protocol's fall_pct) and the remission line (its cut-off).
// Each point at the session's number as the sessions table says it
// (`counted`: docs/safety.md AR3, after an aborted visit the chart said 6, 7,
// 8 beside the table's 5, 6, 7); a visit that counts for nothing (aborted, or
// no dose given) has no session number and no point (its value stays in the
// table). The value of a session still open (today's, not yet judged) is
// drawn provisional: hollow, joined by a dashed line, "not yet judged" in the
// legend.
function trendChart(c) {
  const bySession = new Map(c.sessions.map((s) => [s.number, s]));
  const points = (c.measures[TREND] || []).flatMap((m) => {
    const s = bySession.get(m.session);
    if (!s || !s.counts || s.no_dose || !s.counted) return [];
    return [{ session: s.counted, value: m.value, provisional: s.status !== "discharged" }];
  });
  const name = measureName(TREND);
  if (!points.length) return h("p", { class: "muted course-chart" }, `No ${name} recorded yet.`);
  const fall = c.thresholds.response_fall_pct, below = c.thresholds.remission_below;
  const lines = [];
  // label: the legend's; short: beside the line, within the chart (L9)
  if (fall !== null && fall !== undefined) {
    const v = points[0].value * (1 - fall / 100);
    lines.push({ cls: "response", value: v, label: `Response (${fall} % below the first)`, short: `Response ${Math.round(v * 10) / 10}` });
  }
  if (below !== null && below !== undefined) lines.push({ cls: "remission", value: below, label: `Remission (below ${below})`, short: `Remission <${below}` });
  const W = 520, H = 240, L = 40, R = 150, T = 12, B = 34;
  const last = Math.max(c.plan.sessions, ...points.map((p) => p.session));
  let hi = Math.max(10, ...points.map((p) => p.value), ...lines.map((l) => l.value));
  hi = Math.ceil(hi / 5) * 5;
  const x = (n) => L + (last > 1 ? (n - 1) / (last - 1) : 0.5) * (W - L - R);
  const y = (v) => T + (1 - v / hi) * (H - T - B);
  const titleId = `trend-${c.id}-title`, descId = `trend-${c.id}-desc`;
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "course-chart", role: "img", "aria-labelledby": `${titleId} ${descId}` },
    svg("title", { id: titleId }, `${name} by session`),
    svg("desc", { id: descId }, `${points.length} values: ${points.map((p) => `session ${p.session} ${p.value}${p.provisional ? " (not yet judged: the session is open)" : ""}`).join(", ")}. ` +
      lines.map((l) => `${l.label}: ${Math.round(l.value * 10) / 10}.`).join(" ")));
  for (let v = 0; v <= hi; v += 5)
    g.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, String(v)));
  for (let n = 1; n <= last; n++) g.append(svg("text", { x: x(n), y: H - 14, "text-anchor": "middle", class: "axis" }, String(n)));
  g.append(svg("text", { x: (L + W - R) / 2, y: H - 1, "text-anchor": "middle", class: "axis" }, "session"));
  for (const l of lines)
    g.append(svg("line", { x1: L, x2: W - R, y1: y(l.value), y2: y(l.value), class: `threshold ${l.cls}`, "data-value": String(l.value) }),
      svg("text", { x: W - R + 6, y: y(l.value) + 4, class: `threshold-label ${l.cls}` }, l.short));
  // The line through the judged sessions; dashed on to an open one's value.
  const at = (p) => `${x(p.session)},${y(p.value)}`;
  const judged = points.filter((p) => !p.provisional);
  if (judged.length) g.append(svg("polyline", { points: judged.map(at).join(" "), class: "trend" }));
  const open = points.filter((p) => p.provisional);
  if (open.length) g.append(svg("polyline", { points: [...judged.slice(-1), ...open].map(at).join(" "), class: "trend provisional" }));
  for (const p of points)
    g.append(svg("circle", { cx: x(p.session), cy: y(p.value), r: 5, class: `point${p.provisional ? " provisional" : ""}`,
      "data-session": String(p.session), "data-value": String(p.value) }));
  const legend = h("ul", { class: "legend" },
    h("li", { class: "l-trend" }, h("span", { class: "swatch", "aria-hidden": "true" }), name),
    open.length ? h("li", { class: "l-provisional" }, h("span", { class: "swatch", "aria-hidden": "true" }), `${name} of a session still open: not yet judged`) : null,
    lines.map((l) => h("li", { class: `l-${l.cls}` }, h("span", { class: "swatch", "aria-hidden": "true" }), l.label)));
  return h("figure", { class: "chart course-trend" }, g, legend);
}

function refresh() {
  clearTimeout(pending);
  pending = setTimeout(() => { if (state) load().catch(showError); }, 150);
}

export function render(main, patient) {
  stop();
  state = { patient, root: clear(main) };
  main.append(h("p", { class: "muted" }, "Loading\u2026"));
  // A course's events and its sessions' change what this page shows.
  unsubscribe = subscribe((ev) => {
    if (!ev.type || ev.type.startsWith("course.") || ev.type.startsWith("alert.") || ev.type.startsWith("visit.")) refresh();
  });
  load().catch((err) => {
    if (err.status === 404) clear(main).append(h("h1", {}, `Patient ${patient}`), patientBanner(null), h("p", {}, "This patient has no treatment course."));
    else showError(err);
  });
}

// Reads the patient anew (the server is back after an outage).
export function reload() {
  if (state) refresh();
}

export function stop() {
  state = null;
  clearTimeout(pending);
  if (unsubscribe) unsubscribe();
  unsubscribe = null;
}

// ---- the hospital's record: the patient banner (docs/safety.md L7) -----------------

const SEX = { F: "female", M: "male", O: "other", U: "unknown", A: "ambiguous", N: "not applicable" };
const SEVERITY = { SV: "severe", MO: "moderate", MI: "mild", U: "severity unknown" };

function nameOf(n) {
  if (!n) return null;
  const given = [n.prefix, n.given, n.middle].filter(Boolean).join(" ");
  const family = [n.family, n.suffix].filter(Boolean).join(" ");
  return [family, given].filter(Boolean).join(", ") || null;
}

// A code says its system ("RXNORM 6130", not a bare 6130: docs/safety.md N4);
// a local one (HL7's L or 99zzz) says nothing more than its code.
function allergyItem(a) {
  const system = a.system && !/^(L|99.*)$/i.test(a.system) ? a.system : null;
  const coded = a.code ? [system, a.code].filter(Boolean).join(" ") : null;
  const what = a.text || coded || "allergy";
  return h("li", { class: `allergy${a.severity === "SV" ? " severe" : ""}` },
    h("strong", {}, what), a.text && coded ? ` (${coded})` : null,
    a.severity ? ` \u00b7 ${SEVERITY[a.severity] || a.severity}` : null,
    a.reactions && a.reactions.length ? ` \u00b7 reaction: ${a.reactions.join(", ")}` : null);
}

// The patient in one line, for the head of every printed page: the
// reference, and from the hospital's record the name, date of birth, MRN
// and allergies (or that there is no record). p as patientBanner's.
export function patientLine(patient, p) {
  const d = p && p.demographics;
  const parts = [`Patient ${patient}`];
  if (d) {
    if (nameOf(d.name)) parts.push(nameOf(d.name));
    if (d.birth_date) parts.push(`born ${d.birth_date}`);
    if (d.mrn && d.mrn !== patient) parts.push(`MRN ${d.mrn}`);
    const allergies = (p.allergies || []).map((a) => a.text || a.code || "allergy");
    parts.push(allergies.length ? `Allergies: ${allergies.join(", ")}` : "No allergies on the hospital record");
  } else if (p !== undefined) {
    parts.push("No hospital record: ask about allergies");
  }
  return parts.join(" \u00b7 ");
}

// The banner of the visit and patient pages: what the hospital's system said
// of the patient (GET /patients/{patient}: name, date of birth, sex, MRN,
// allergies, a merge), or that there is no hospital record. p: that answer,
// null when there is none (404), undefined when it could not be read.
export function patientBanner(p) {
  if (p === undefined) return null; // not read: say nothing rather than something wrong
  const d = p && p.demographics;
  if (!d) {
    return h("section", { class: "patient-banner no-record", "aria-label": "Hospital record" },
      h("p", {}, h("strong", {}, "No hospital record"), " for this patient: no name, date of birth or allergies from the hospital's system. Ask the patient about allergies."));
  }
  const facts = [
    nameOf(d.name) ? h("span", { class: "pb-name" }, h("strong", {}, nameOf(d.name))) : null,
    // N3: the record of a reference spelled otherwise (mg-b for MG-B) says whose it is.
    d.record_of ? h("span", { class: "pb-record-of" }, `hospital record of ${d.record_of}`) : null,
    d.birth_date ? h("span", { class: "pb-dob" }, `born ${d.birth_date}`) : null,
    d.sex ? h("span", { class: "pb-sex" }, SEX[d.sex] || d.sex) : null,
    d.mrn ? h("span", { class: "pb-mrn" }, `MRN ${d.mrn}`) : null,
  ].filter(Boolean);
  const allergies = p.allergies || [];
  return h("section", { class: "patient-banner", "aria-label": "Hospital record" },
    h("p", { class: "pb-facts" }, facts.flatMap((f, i) => (i ? [" \u00b7 ", f] : [f]))),
    d.merged_into
      ? h("p", { class: "pb-merged", role: "alert" }, h("strong", {}, `Merged into ${d.merged_into}`),
          " by the hospital: this reference is no longer used. ", h("a", { href: patientHref(d.merged_into) }, `Patient ${d.merged_into}`))
      : null,
    d.merged_from && d.merged_from.length
      ? h("p", { class: "pb-merged-from" }, `Also known as (merged into this patient): ${d.merged_from.join(", ")}`)
      : null,
    allergies.length
      ? h("div", { class: "pb-allergies" }, h("strong", {}, "Allergies: "), h("ul", {}, allergies.map(allergyItem)))
      : h("p", { class: "pb-allergies none" }, "No allergies on the hospital record."));
}

// ---- on the visit page ---------------------------------------------------------

// A session in words (docs/safety.md C7), as the course's FHIR export says it
// (export/course_fhir.c): "Session 6 of 6" counts the sessions that count
// (`counted`: an aborted one counts for nothing), past the induction series
// "Maintenance session 2 (session 8)", with the course's own number when an
// aborted visit came before ("; visit 7 of the course"); an aborted one is
// "Aborted visit 3 of the course (counts for nothing)". `number` is the
// session's place in the course, aborted ones included.
export function sessionWords(number, counted, of, noDose) {
  if (noDose) return `Visit ${number} of the course, no dose given (counts for nothing)`;
  if (counted === null || counted === undefined) return `Aborted visit ${number} of the course (counts for nothing)`;
  const course = counted !== number ? `; visit ${number} of the course` : "";
  return counted <= of ? `Session ${counted} of ${of}${course}` : `Maintenance session ${counted - of} (session ${counted}${course})`;
}

// "Session 3 of 6" (or a maintenance session), linking to the patient's page.
export function sessionLine(v) {
  if (!v.course) return null;
  const c = v.course;
  const text = sessionWords(c.session, c.counted, c.sessions, c.no_dose);
  return h("p", { class: "course-line" }, h("strong", {}, text), c.new && c.session === 1 ? " \u00b7 a new course" : null, " \u00b7 ",
    h("a", { href: patientHref(v.patient) }, "the patient's course"));
}

// The previous session's values next to today's (patient: the answer of
// GET /patients/{patient}, or null while it is not read).
export function previousCard(v, patient) {
  if (!v.course || !v.course.previous) return null;
  const prev = v.course.previous;
  const course = patient && patient.courses.find((c) => c.id === v.course.id);
  const names = [...new Set([...Object.keys(prev.measures), ...(course ? Object.keys(course.measures) : [])])];
  return h("section", { class: "card previous-session", "aria-labelledby": "ps-title" },
    h("h2", { id: "ps-title" }, "Previous session"),
    h("table", { class: "previous-values" },
      h("caption", {}, `Session ${prev.counted} (`, h("a", { href: `#/visit/${prev.visit}` }, dateOnly(prev.at)), ") and today"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Measure"), h("th", { scope: "col" }, "Previous session"), h("th", { scope: "col" }, "Today"))),
      h("tbody", {}, names.map((n) => {
        // With its unit and, read from the dose drawn up, said so (AO3, AD4).
        const before = course ? measureEntry(course, n, prev.session) : undefined;
        const today = course ? measureEntry(course, n, v.course.session) : undefined;
        return h("tr", { dataset: { measure: n } }, h("th", { scope: "row" }, measureName(n)),
          h("td", { class: "num previous" }, prev.measures[n] === undefined ? "\u2014" : measureText(course, n, prev.measures[n], before && before.from)),
          h("td", { class: "num today" }, today === undefined ? "\u2014" : measureText(course, n, today.value, today.from)));
      }))));
}

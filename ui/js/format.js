// format.js: how times, durations, units and values read on screen.

// UCUM units as the protocols write them, as people read them.
export function unit(u) {
  if (!u) return "";
  return u.replace("mm[Hg]", "mmHg").replace(/^\{[^}]*\}$/, "");
}

// A server's message as people read it: the UCUM units it quotes from the
// protocol ("above 180 mm[Hg]") as on the workstation's labels ("mmHg").
export function unitsInWords(text) {
  return String(text).replace(/mm\[Hg\]/g, "mmHg").replace(/ ?\{score\}/g, "");
}

// Field names of vitals and scores the protocols use, in words; any other
// name is shown as written.
const FIELD_NAMES = {
  sbp: "Systolic BP",
  dbp: "Diastolic BP",
  hr: "Heart rate",
  spo2: "SpO\u2082",
  rr: "Respiratory rate",
  temp: "Temperature",
  total: "Total",
};
export function fieldName(name) {
  return FIELD_NAMES[name] || name.replace(/_/g, " ");
}

// Every time of day on screen is on the 24-hour clock, whatever the
// browser's language: the server's messages say "21:39" and a card said
// "09:39 PM" beside them (AK10).
const DAY_TIME = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };

export function clockTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleTimeString([], DAY_TIME);
}

// "09:07:13": a time of day to the second (the header's clock on a narrow screen).
export function clockTimeSeconds(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString([], { ...DAY_TIME, second: "2-digit" });
}

// A time of day for today (now: the workstation's clock, ms; the browser's
// when not given), the date too for another day: an alert raised yesterday
// at 10:12 does not read as today's 10:12 (docs/safety.md L9), nor
// "Amended by nina at 09:04" an amendment of another day (AK10). Every
// time on a visit's cards and alerts is said by this.
export function timeOrDate(iso, now) {
  if (!iso) return "";
  const d = new Date(iso);
  const today = new Date(now === undefined ? Date.now() : now);
  if (d.toDateString() === today.toDateString()) return clockTime(iso);
  return d.toLocaleString([], { weekday: "short", month: "short", day: "numeric", ...DAY_TIME });
}

export function dateTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString([], { year: "numeric", month: "short", day: "numeric", ...DAY_TIME, second: "2-digit" });
}

// 75000 -> "1 min 15 s"; 5400000 -> "1 h 30 min".
export function duration(ms) {
  const neg = ms < 0;
  let s = Math.floor(Math.abs(ms) / 1000);
  const hrs = Math.floor(s / 3600);
  const min = Math.floor((s % 3600) / 60);
  s %= 60;
  let text;
  if (hrs) text = `${hrs} h ${min} min`;
  else if (min) text = `${min} min ${String(s).padStart(2, "0")} s`;
  else text = `${s} s`;
  return neg ? "-" + text : text;
}

// A server's message as a nurse reads it (AK6): each value it quotes as
// JSON (an amendment's "from {"sbp":130,"dbp":80,...} to {...}") in words,
// as the card shows a value ("BP 130/80, Heart rate 72, ..."), and its
// units as the labels say them.
export function messageInWords(text) {
  if (text === null || text === undefined) return "";
  const words = String(text).replace(/\{[^{}]*\}/g, (json) => {
    try {
      const v = JSON.parse(json);
      return v && typeof v === "object" && !Array.isArray(v) ? value(v) : json;
    } catch {
      return json;
    }
  });
  return unitsInWords(words);
}

// A recorded value in words: vitals as "142/88, HR 70", a check as Yes/No.
export function value(v) {
  if (v === true) return "Yes";
  if (v === false) return "No";
  if (v === null || v === undefined) return "";
  if (typeof v === "object") {
    if ("sbp" in v && "dbp" in v) {
      const rest = Object.entries(v).filter(([k]) => k !== "sbp" && k !== "dbp").map(([k, x]) => `${fieldName(k)} ${x}`);
      return [`BP ${v.sbp}/${v.dbp}`, ...rest].join(", ");
    }
    if ("total" in v) return `total ${v.total} (` + Object.entries(v).filter(([k]) => k !== "total").map(([k, x]) => `${k} ${x}`).join(", ") + ")";
    return Object.entries(v).map(([k, x]) => `${fieldName(k)} ${x}`).join(", ");
  }
  return String(v);
}

const PRIORITY_RANK = { high: 3, medium: 2, low: 1 };
export function priorityRank(p) {
  return PRIORITY_RANK[p] || 0;
}
export function priorityLabel(p) {
  return { high: "High priority", medium: "Medium priority", low: "Low priority" }[p] || p;
}

// An alert's escalations in words (V7): each one reminds again that it is
// not acknowledged, and is louder only when the protocol raised its priority
// with it (defaults.escalation_raises_priority), which the banner's colour
// and priority then say. "Escalated 1×" of an alert as loud as it was read as
// louder.
export function reminded(level) {
  return level === 1 ? "reminded again" : `reminded ${level}×`;
}

// An alert.escalated event ({level, priority}) in words, given the priority
// it had before (undefined: not known): "reminded again: still medium", or
// "raised from medium to high" only when it rose.
export function escalation(d, before) {
  if (before && before !== d.priority) return `Not acknowledged: raised from ${before} to ${d.priority}`;
  return `Not acknowledged: ${reminded(d.level)}${before ? `: still ${d.priority}` : ` (${d.priority})`}`;
}

// A changed param ({name, title, unit, value, default}) in words:
// "Ordered dose per kg: 1 mg/kg (protocol: 0.5)".
export function changedParam(c) {
  const u = unit(c.unit);
  return `${c.title || c.name}: ${value(c.value)}${u ? ` ${u}` : ""} (protocol: ${value(c.default)})`;
}

// A late entry (observed before it was typed) in words: "Late entry:
// observed 14:30, entered 14:40 (10 min 00 s late)", each time with its
// date when not today (now: timeOrDate's).
export function lateEntry(observed, recorded, now) {
  return `Late entry: observed ${timeOrDate(observed, now)}, entered ${timeOrDate(recorded, now)} (${duration(Date.parse(recorded) - Date.parse(observed))} late)`;
}

// When a scheduled item's latest value goes stale: older than its interval
// plus its grace (the protocol's schedule, in the visit's JSON). null for an
// item without a repeating schedule (its value never goes stale).
export function staleAfter(item) {
  const s = item && item.schedule;
  return s && s.every_ms > 0 ? s.every_ms + s.grace_ms : null;
}

// The time an item's latest value was observed, in ms (a late entry's
// observed time), or null.
export function observedMs(item) {
  if (!item || !item.count) return null;
  const t = Date.parse(item.observed_at || item.recorded_at);
  return Number.isFinite(t) ? t : null;
}

// A value's age in words, and whether it is stale: an element that
// refreshAges() keeps counting.
export function ageBadge(h, at, limit, nowMs) {
  const el = h("span", { class: "age", dataset: { at, limit: limit === null ? "" : limit } });
  setAge(el, nowMs);
  return el;
}

function setAge(el, nowMs) {
  const age = Math.max(0, nowMs - Number(el.dataset.at));
  const limit = el.dataset.limit === "" ? null : Number(el.dataset.limit);
  const stale = limit !== null && age > limit;
  el.textContent = stale ? `stale: ${duration(age)} old` : `${duration(age)} ago`;
  el.classList.toggle("stale", stale);
  el.title = limit === null ? "" : `stale once older than ${duration(limit)} (the protocol's interval and grace)`;
}

// Every age on the page, on the clock's tick.
export function refreshAges(root, nowMs) {
  for (const el of root.querySelectorAll(".age[data-at]")) setAge(el, nowMs);
}

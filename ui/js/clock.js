// clock.js: the server's time. Countdowns run on it, not on the
// workstation's own clock: the server decides what is due and overdue, and
// under a simulated clock (tests, demonstrations) its time moves only when
// it is told to.
//
// The page's clock never goes backwards. Between answers of the server it
// moves on from the server's last time by the time elapsed in this browser,
// measured on the monotonic performance.now() (not Date.now(): the
// workstation's own clock may be set back). While the server cannot be
// reached the time shown is not confirmed by it, and says so; a simulated
// clock, which moves only when the server is told to, stays where it was.
import { getLive, post } from "./api.js";

let serverMs = Date.now(); // the server's time at the last answer
let perfMs = performance.now(); // performance.now() at that answer
let simulated = false;
let frozenAt = null; // the simulated clock's time (it does not run by itself)
let available = true;
let answered = false; // the last sync had the server's answer
let syncing = false;
let synced = false; // a first answer came (before it, the workstation's time)
let shown = 0; // the latest time now() gave since: never go below it
const listeners = [];

export function now() {
  const t = simulated && frozenAt !== null ? frozenAt : serverMs + (performance.now() - perfMs);
  if (!synced) return t;
  if (t > shown) shown = t;
  return shown;
}

export function isSimulated() {
  return simulated;
}

// Whether the time shown is the server's: the last sync was answered and
// the server is not away (downtime.js marks the page body.offline).
export function isConfirmed() {
  return !available || (answered && !document.body.classList.contains("offline"));
}

// What the header shows after the time: "" or why it is not plain.
export function note() {
  if (!isConfirmed()) return simulated ? " (simulated; held: server unreachable)" : " (not confirmed by the server)";
  return simulated ? " (simulated)" : "";
}

// The same, short, for a narrow header (a tablet, a phone: issue 19, U4).
export function shortNote() {
  if (!isConfirmed()) return simulated ? " (simulated; held)" : " (not confirmed)";
  return simulated ? " (simulated)" : "";
}

export function onTick(fn) {
  listeners.push(fn);
}

function tick() {
  // Back from an outage: confirm the time at once, not at the next sync.
  if (available && !answered && !syncing && !document.body.classList.contains("offline")) sync();
  for (const fn of listeners) fn(now());
}

// Asks the server for its time (GET /api/v1/clock); without that endpoint
// the workstation's time is used. Never the last answer again (api.js
// keeps those for downtime): an old time would move the clock back.
export async function sync() {
  if (!available) return;
  syncing = true;
  try {
    const c = await getLive("/clock");
    if (!synced || simulated !== !!c.simulated) shown = 0; // a clock of another kind
    synced = true;
    simulated = !!c.simulated;
    frozenAt = simulated ? c.now_ms : null;
    serverMs = c.now_ms;
    perfMs = performance.now();
    answered = true;
  } catch (err) {
    if (err.status === 404) available = false;
    else answered = false;
  } finally {
    syncing = false;
  }
  tick();
}

// An event's time is the server's time when it happened: a simulated clock
// that jumped shows here before the next sync.
export function sawServerTime(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return;
  if (simulated) {
    if (frozenAt === null || t > frozenAt) frozenAt = t;
  }
}

// Admin only (the server says 403 otherwise): moves simulated time on,
// firing every deadline on the way.
export async function advance(by) {
  await post("/clock", { advance: by });
  await sync();
}

let timer = null;
export function start() {
  if (timer) return;
  sync();
  timer = setInterval(tick, 1000);
  setInterval(sync, 15000);
}

// clock.js: the server's time. Countdowns run on it, not on the
// workstation's own clock: the server decides what is due and overdue, and
// under a simulated clock (tests, demonstrations) its time moves only when
// it is told to.
import { get, post } from "./api.js";

let offset = 0; // server time minus local time, ms
let simulated = false;
let frozenAt = null; // the simulated clock's time (it does not run by itself)
let available = true;
const listeners = [];

export function now() {
  return simulated && frozenAt !== null ? frozenAt : Date.now() + offset;
}

export function isSimulated() {
  return simulated;
}

export function onTick(fn) {
  listeners.push(fn);
}

function tick() {
  for (const fn of listeners) fn(now());
}

// Asks the server for its time (GET /api/v1/clock); without that endpoint
// the workstation's time is used.
export async function sync() {
  if (!available) return;
  try {
    const c = await get("/clock");
    simulated = !!c.simulated;
    frozenAt = simulated ? c.now_ms : null;
    offset = c.now_ms - Date.now();
  } catch (err) {
    if (err.status === 404) available = false;
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

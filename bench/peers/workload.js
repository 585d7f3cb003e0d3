// workload.js: the reference workload of shared/bench/WORKLOAD.md for the
// peers (XState, bpmn-engine), the same as bench/workload.c: the generator,
// the timeline, a simulated clock, the checksums and the JSON line. Each
// peer gives it the engine-specific part (start a visit, record, discharge).

// uint32 arithmetic throughout, as WORKLOAD.md (Math.imul: multiplication mod 2^32).
export function mix32(x) {
  x >>>= 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x;
}

export function vitalsOf(sid, k) {
  const h = mix32((sid * 4 + k) >>> 0);
  return { sbp: 100 + (h % 70), spo2: 91 + ((h >>> 8) % 10), hr: 50 + ((h >>> 16) % 70) };
}

export function screeningOf(sid) {
  const h = mix32((sid * 4) >>> 0);
  return { consent: true, npo_hours: 6 + (h % 6), baseline_sbp: 100 + ((h >>> 8) % 70), contraindication: false, iv_access: true };
}

export const MINUTE = 60000;
export const SPREAD_MS = 3600000;
export const CHECKPOINT_EVERY_MS = 15 * MINUTE;
export const OBSERVATION_END_MS = 165 * MINUTE;
// The engine's own overdue deadline for a checkpoint: due + 5 min of grace, as
// bench/workload/protocol.lua (`grace = "5m"`); never reached in this workload.
export const GRACE_MS = 5 * MINUTE;
export const CHECKPOINTS = 3;
export const EVENTS_PER_VISIT = 7;
// Thresholds of the rule and the gate, as the vigil protocol's params.
export const SBP_MAX = 160;
export const SPO2_MIN = 92;

export const startMs = (i, n) => Math.floor((i * SPREAD_MS) / n);
export const outOfRange = (x) => x.sbp > SBP_MAX || x.spo2 < SPO2_MIN;

const PUBLISHED = {
  1000: { events: 7650, alerts: 650, alerts_delivered: 1300, discharged: 787 },
  10000: { events: 76479, alerts: 6479, alerts_delivered: 12958, discharged: 7845 },
  100000: { events: 764819, alerts: 64819, alerts_delivered: 129638, discharged: null },
};

// What the generator alone says the run must produce, whatever the engine.
export function predict(n) {
  let alerts = 0;
  let discharged = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 1; k <= CHECKPOINTS; k++) alerts += outOfRange(vitalsOf(i, k)) ? 1 : 0;
    discharged += outOfRange(vitalsOf(i, CHECKPOINTS)) ? 0 : 1;
  }
  return { events: EVENTS_PER_VISIT * n + alerts, alerts, alerts_delivered: 2 * alerts, discharged };
}

function matches(what, want, got, tool) {
  let ok = true;
  for (const k of Object.keys(want)) {
    if (want[k] === null || want[k] === got[k]) continue;
    process.stderr.write(`${tool}: ${what} ${k}: expected ${want[k]}, got ${got[k]}\n`);
    ok = false;
  }
  return ok;
}

// A simulated clock on a binary heap of timers, ordered by due time and then
// by the order they were set (so that timers due together fire as set). A
// cleared timer is only marked, and skipped when it reaches the top: clearing
// is O(1), which is the engines' common case (a deadline replaced).
export class HeapClock {
  constructor(start = 0) {
    this.t = start;
    this.heap = [];
    this.seq = 0;
  }

  now() {
    return this.t;
  }

  setTimeout(fn, ms, ...args) {
    const timer = { at: this.t + Math.max(0, Number(ms) || 0), seq: this.seq++, fn, args, cleared: false };
    const h = this.heap;
    let i = h.length;
    h.push(timer);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(timer, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = timer;
    return timer;
  }

  clearTimeout(timer) {
    if (timer) timer.cleared = true;
  }

  pop() {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && before(h[l + 1], h[l]) ? l + 1 : l;
        if (!before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  // Moves time to `to`, firing every timer due on the way, each at its own time.
  advanceTo(to) {
    const h = this.heap;
    while (h.length > 0 && h[0].at <= to) {
      const timer = this.pop();
      if (timer.cleared) continue;
      this.t = timer.at;
      timer.fn(...timer.args);
    }
    this.t = to;
  }

  get armed() {
    return this.heap.length;
  }
}

function before(a, b) {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

const ACT_START = 0;
const ACT_DISCHARGE = 4;
const OFFSETS = [0, CHECKPOINT_EVERY_MS, 2 * CHECKPOINT_EVERY_MS, 3 * CHECKPOINT_EVERY_MS, OBSERVATION_END_MS];

function rssBytes() {
  if (global.gc) global.gc(); // live memory only: the peers' best case
  return process.memoryUsage().rss;
}

// Runs the timeline of n visits on `engine` ({start(i), vitals(i, k, x),
// discharge(i), clock}) as bench.c does: a merge of five cursors in time
// order; before each action the clock moves to its time, so that the
// engine's own timers due by then fire first. At t = 60 min (every visit
// live) it samples memory. Returns the figures.
export async function runTimeline(n, engine) {
  const cursor = [0, 0, 0, 0, 0];
  const liveAt = SPREAD_MS;
  let rssLive = -1;
  let heapLive = -1;
  const rssBefore = rssBytes();
  const heapBefore = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let sampleMs = 0;
  for (;;) {
    let act = -1;
    let at = Infinity;
    for (let a = 0; a < 5; a++) {
      if (cursor[a] >= n) continue;
      const t = startMs(cursor[a], n) + OFFSETS[a];
      if (t < at) {
        at = t;
        act = a;
      }
    }
    if (act < 0) break;
    if (rssLive < 0 && at >= liveAt) {
      await engine.settle?.();
      engine.clock.advanceTo(liveAt);
      await engine.settle?.();
      // The sample (and its garbage collection) is not part of the timeline's time.
      const s0 = process.hrtime.bigint();
      rssLive = rssBytes();
      heapLive = process.memoryUsage().heapUsed;
      sampleMs = Number(process.hrtime.bigint() - s0) / 1e6;
    }
    engine.clock.advanceTo(at);
    const i = cursor[act]++;
    // An engine that works synchronously (XState) is not made to wait for a
    // microtask on every action; one that answers with promises is awaited.
    const pending =
      act === ACT_START ? engine.start(i) : act === ACT_DISCHARGE ? engine.discharge(i) : engine.vitals(i, act, vitalsOf(i, act));
    if (pending) await pending;
  }
  await engine.settle?.();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6 - sampleMs;
  const cpu = process.cpuUsage(cpu0);
  return {
    wallMs,
    cpuS: (cpu.user + cpu.system) / 1e6,
    rssPerLiveVisit: (rssLive - rssBefore) / n,
    heapPerLiveVisit: (heapLive - heapBefore) / n,
  };
}

// Checks the run against the generator and WORKLOAD.md and prints the JSON line.
export function report(tool, peer, n, fig, got) {
  let ok = matches('engine vs generator:', predict(n), got, tool);
  if (PUBLISHED[n]) ok = matches('engine vs WORKLOAD.md:', PUBLISHED[n], got, tool) && ok;
  const line = {
    mode: 'm1',
    engine: peer,
    n,
    wall_ms: +fig.wallMs.toFixed(1),
    cpu_s: +fig.cpuS.toFixed(3),
    events: got.events,
    events_per_s: Math.round(got.events / (fig.wallMs / 1e3)),
    peak_rss_kib: process.resourceUsage().maxRSS,
    rss_per_live_visit_bytes: +fig.rssPerLiveVisit.toFixed(1),
    js_heap_per_live_visit_bytes: +fig.heapPerLiveVisit.toFixed(1),
    lua_heap_bytes: null,
    lua_heap_per_visit: null,
    alerts: got.alerts,
    alerts_delivered: got.alerts_delivered,
    discharged: got.discharged,
    checksums_ok: ok,
  };
  process.stdout.write(JSON.stringify(line) + '\n');
  return ok;
}

export function parseN(tool, argv) {
  const i = argv.indexOf('--n');
  const n = i >= 0 ? Number(argv[i + 1]) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 10000000) {
    process.stderr.write(`usage: node --expose-gc ${tool}.js --n N\n`);
    process.exit(2);
  }
  return n;
}

// bpmn.js: the reference workload (shared/bench/WORKLOAD.md) on bpmn-engine,
// one Engine (process instance) per visit, as bpmn-engine's API
// documentation shows: the process (infusion.bpmn) is parsed once with
// bpmn-moddle and serialized with moddle-context-serializer, and every
// Engine is given that sourceContext (no XML parsing per visit); the nurse's
// entries signal user tasks (execution.signal); the rule and the gates are
// expression conditions calling services (not inline scripts, which
// bpmn-engine runs in a new vm context at every call); one listener
// (EventEmitter) serves every instance. Time is the engine's `timers` option
// (bpmn-elements' Timers) over a simulated clock on a binary heap.
//
//   node --expose-gc bpmn.js --n N
//
// Prints one JSON line with the fields of vigil-bench's; exit 1 when the
// checksums differ.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';

import * as elements from 'bpmn-elements';
import { Engine } from 'bpmn-engine';
import BpmnModdle from 'bpmn-moddle';
import Serializer, { TypeResolver } from 'moddle-context-serializer';

import { HeapClock, outOfRange, parseN, report, runTimeline, screeningOf } from './workload.js';

const n = parseN('bpmn', process.argv);
const clock = new HeapClock(0);
// One Timers per Engine: an engine that ends clears every timer its Timers
// still holds, so a shared one would cancel the other visits' deadlines.
const clockTimers = {
  setTimeout: (fn, ms, ...args) => clock.setTimeout(fn, ms, ...args),
  clearTimeout: (t) => clock.clearTimeout(t),
};

const source = readFileSync(new URL('./infusion.bpmn', import.meta.url), 'utf8');
const moddleContext = await new BpmnModdle().fromXML(source);
if (moddleContext.warnings?.length) throw new Error(`infusion.bpmn: ${moddleContext.warnings[0].message}`);
const sourceContext = Serializer(moddleContext, TypeResolver(elements));

// Every event the visits make, kept in memory, as vigil's in-memory store keeps its own.
const log = [];
const got = { events: 0, alerts: 0, alerts_delivered: 0, discharged: 0 };

function record(type, api) {
  log.push({ type, visit: api.environment.variables.visit, time: clock.now(), activity: api.id, output: api.content.output });
  got.events++;
  if (type === 'alert.raised') got.alerts++;
  else if (type === 'visit.discharged') got.discharged++;
}

// The workload's events, from the activities that end.
const EVENT_OF = {
  start: 'visit.started',
  screening: 'item.recorded',
  vitals1: 'item.recorded',
  vitals2: 'item.recorded',
  vitals3: 'item.recorded',
  alert1: 'alert.raised',
  alert2: 'alert.raised',
  alert3: 'alert.raised',
  observationEnd: 'phase.minimum_reached',
  overdueEnd1: 'item.overdue',
  overdueEnd2: 'item.overdue',
  overdueEnd3: 'item.overdue',
  discharged: 'visit.discharged',
  held: 'gate.blocked',
  refused: 'gate.blocked',
};

const listener = new EventEmitter();
listener.on('activity.end', (api) => {
  const type = EVENT_OF[api.id];
  if (!type) return;
  // A user task's output (the signal's message) is the visit's latest entry,
  // which the conditions that follow read.
  if (api.content.output) api.environment.output.last = api.content.output;
  record(type, api);
  if (type === 'alert.raised') listener.emit('alert.raised', api);
});
// Two subscribers for alerts, as in vigil-bench.
const onAlert = () => got.alerts_delivered++;
listener.on('alert.raised', onAlert);
listener.on('alert.raised', onAlert);

// The same rule and gates as bench/workload/protocol.lua.
const services = {
  screeningPasses: ({ environment }) => {
    const s = environment.output.last;
    return s.consent && s.npo_hours >= 6 && s.baseline_sbp < 180 && !s.contraindication && s.iv_access;
  },
  outOfRange: ({ environment }) => outOfRange(environment.output.last),
  lastVitalsInRange: ({ environment }) => !outOfRange(environment.output.vitals),
};
// The gate needs the last vitals, not the discharge task's own (empty) entry.
listener.on('activity.end', (api) => {
  if (api.id === 'vitals1' || api.id === 'vitals2' || api.id === 'vitals3') api.environment.output.vitals = api.content.output;
});

const executions = new Array(n).fill(null);

const engine = {
  clock,
  async start(i) {
    const e = new Engine({ name: `visit-${i + 1}`, sourceContext, timers: new elements.Timers(clockTimers), services, variables: { visit: i + 1 } });
    executions[i] = await e.execute({ listener });
    executions[i].signal({ id: 'screening', ...screeningOf(i) });
  },
  vitals(i, k, x) {
    executions[i].signal({ id: `vitals${k}`, sbp: x.sbp, spo2: x.spo2, hr: x.hr });
  },
  discharge(i) {
    executions[i].signal({ id: 'discharge' });
    // The instance has run to its end; it is let go, as vigil lets go of a closed visit.
    executions[i] = null;
  },
};

const fig = await runTimeline(n, engine);
if (log.length !== got.events) throw new Error('log and counts disagree');
process.exitCode = report('bpmn', 'bpmn-engine@25.0.1', n, fig, got) ? 0 : 1;

// xstate.js: the reference workload (shared/bench/WORKLOAD.md) on XState 5,
// one actor per visit, as XState's documentation recommends: a machine made
// with setup() (named guards and delays), delayed transitions (`after`) for
// the deadlines, `emit` for the events the outside hears, and actor.on() for
// the subscribers. Time is a simulated clock given to createActor (`clock`),
// on a binary heap (workload.js): XState's own SimulatedClock sorts all its
// timers on every fire, which is its worst case, not its best.
//
//   node --expose-gc xstate.js --n N
//
// Prints one JSON line with the fields of vigil-bench's; exit 1 when the
// checksums differ.
import { assign, createActor, emit, setup } from 'xstate';

import {
  CHECKPOINTS,
  CHECKPOINT_EVERY_MS,
  GRACE_MS,
  HeapClock,
  OBSERVATION_END_MS,
  outOfRange,
  parseN,
  report,
  runTimeline,
  screeningOf,
} from './workload.js';

const n = parseN('xstate', process.argv);
const clock = new HeapClock(0);

// Every event the visits emit, kept in memory, as vigil's in-memory store keeps its own.
const log = [];
const got = { events: 0, alerts: 0, alerts_delivered: 0, discharged: 0 };

const event = (type, data) =>
  emit(({ context, event: e }) => ({ type, visit: context.visit, time: clock.now(), ...(data ? data(context, e) : null) }));

const reading = (context, e) => ({ item: 'vitals', k: context.k, sbp: e.sbp, spo2: e.spo2, hr: e.hr });

// A checkpoint's reading, on time or overdue: the rule alerts if out of range.
const onVitals = [
  {
    guard: 'outOfRange',
    target: 'recorded',
    actions: ['keepReading', event('item.recorded', reading), event('alert.raised', reading)],
  },
  { target: 'recorded', actions: ['keepReading', event('item.recorded', reading)] },
];

// The same rule, gate and deadlines as bench/workload/protocol.lua.
const visitMachine = setup({
  guards: {
    screeningPasses: ({ event: e }) =>
      e.consent && e.npo_hours >= 6 && e.baseline_sbp < 180 && !e.contraindication && e.iv_access,
    outOfRange: ({ event: e }) => outOfRange(e),
    moreCheckpoints: ({ context }) => context.k < CHECKPOINTS,
    lastVitalsInRange: ({ context }) => context.last !== null && !outOfRange(context.last),
  },
  actions: {
    keepReading: assign({ k: ({ context }) => context.k + 1, last: ({ event: e }) => e }),
  },
  delays: {
    // The phase's minimum duration (end of observation), from the visit's start.
    observation: OBSERVATION_END_MS,
    // A checkpoint not recorded by its due time + grace is overdue.
    overdue: CHECKPOINT_EVERY_MS + GRACE_MS,
  },
}).createMachine({
  id: 'infusion',
  context: ({ input }) => ({ visit: input.visit, k: 0, last: null }),
  entry: event('visit.started'),
  initial: 'screening',
  states: {
    screening: {
      on: {
        SCREENING: [
          { guard: 'screeningPasses', target: 'observation', actions: event('item.recorded', () => ({ item: 'screening' })) },
          { target: 'refused', actions: event('gate.blocked', () => ({ reason: 'screening failed' })) },
        ],
      },
    },
    observation: {
      after: { observation: { target: 'ready', actions: event('phase.minimum_reached') } },
      initial: 'awaiting',
      states: {
        awaiting: {
          after: { overdue: { target: 'overdue', actions: event('item.overdue') } },
          on: {
            VITALS: onVitals,
          },
        },
        overdue: {
          on: {
            VITALS: onVitals,
          },
        },
        recorded: { always: [{ guard: 'moreCheckpoints', target: 'awaiting' }, { target: 'done' }] },
        done: {},
      },
    },
    ready: {
      on: {
        DISCHARGE: [
          { guard: 'lastVitalsInRange', target: 'discharged', actions: event('visit.discharged') },
          { target: 'held', actions: event('gate.blocked', () => ({ reason: 'last vitals out of range' })) },
        ],
      },
    },
    held: {},
    refused: {},
    discharged: { type: 'final' },
  },
});

function onAny(e) {
  log.push(e);
  got.events++;
  if (e.type === 'alert.raised') got.alerts++;
  else if (e.type === 'visit.discharged') got.discharged++;
}

function onAlert() {
  got.alerts_delivered++;
}

const actors = new Array(n).fill(null);

const engine = {
  clock,
  start(i) {
    const actor = createActor(visitMachine, { input: { visit: i + 1 }, clock });
    actor.on('*', onAny);
    // Two subscribers for alerts, as in vigil-bench.
    actor.on('alert.raised', onAlert);
    actor.on('alert.raised', onAlert);
    actor.start();
    actors[i] = actor;
    actor.send({ type: 'SCREENING', ...screeningOf(i) });
  },
  vitals(i, k, x) {
    actors[i].send({ type: 'VITALS', sbp: x.sbp, spo2: x.spo2, hr: x.hr });
  },
  discharge(i) {
    actors[i].send({ type: 'DISCHARGE' });
    // A discharged visit's actor has reached its final state and stopped;
    // it is let go, as vigil lets go of a closed visit.
    if (actors[i].getSnapshot().status === 'done') actors[i] = null;
  },
};

const fig = await runTimeline(n, engine);
if (log.length !== got.events) throw new Error('log and counts disagree');
process.exitCode = report('xstate', 'xstate@5.33.3', n, fig, got) ? 0 : 1;

// instructions.mjs: CPU instructions per event of vigil (M1) and of XState
// under node, counted by valgrind's callgrind (total Ir, every thread), a
// measure that does not depend on how busy the machine is. perf's
// `instructions` counter is not available on this VM (`perf stat -e
// instructions` says <not supported>), hence callgrind.
//
//   node bench/instructions.mjs BUILD_DIR [--n 1000,10000] [--engines vigil,xstate] [--repeat 3]
//
// Each engine runs the workload at two N (the same two for both) under
// callgrind. A process's count includes what does not grow with N: for
// vigil, loading the protocol into Lua; for node, starting V8 and compiling
// the peer's modules, about 3-4 billion instructions). So the figure
// reported is the difference: (Ir(N2) - Ir(N1)) / (events(N2) -
// events(N1)), the instructions each further event costs. For XState that
// includes V8's work on the side (JIT compilation, garbage collection, on its
// helper threads), whose amount varies from run to run: node's whole count
// at N = 1,000 moved between 2.9 and 4.6 billion over eleven runs, so over
// N = 1,000 to 2,000 (7,677 events between them) XState's figure ranged
// 149k-243k, and over 1,000 to 10,000 (68,829 events) 125k-131k. Hence the
// wide span by default, and --repeat: every repetition measures both
// engines, and the ratio is taken within the repetition. vigil's count moves
// by under 1%.
// Prints a JSON line per run, one per engine and repetition with
// instructions_per_event, one per repetition with the ratio, and a summary
// (median, min, max); exit status 1 when a run's checksums differ, 2 on a
// usage error or when valgrind is missing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let build = null;
let ns = [1000, 10000];
let engines = ['vigil', 'xstate'];
let repeat = 3;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--n') ns = args[++i].split(/[ ,]+/).filter(Boolean).map(Number);
  else if (args[i] === '--engines') engines = args[++i].split(',');
  else if (args[i] === '--repeat') repeat = Number(args[++i]);
  else if (!build && !args[i].startsWith('--')) build = args[i];
  else {
    process.stderr.write(`instructions.mjs: unknown argument '${args[i]}'\n`);
    process.exit(2);
  }
}
if (!build || !(Number.isInteger(repeat) && repeat > 0) || ns.length !== 2 || !ns.every((n) => Number.isInteger(n) && n > 0) || ns[0] >= ns[1]) {
  process.stderr.write('usage: node bench/instructions.mjs BUILD_DIR [--n N1,N2] [--engines vigil,xstate] [--repeat R]  (N1 < N2)\n');
  process.exit(2);
}
if (spawnSync('valgrind', ['--version']).status !== 0) {
  process.stderr.write('instructions.mjs: valgrind not found (apt-get install valgrind)\n');
  process.exit(2);
}

const commands = {
  vigil: (n) => [join(build, 'bench', 'vigil-bench'), '--n', String(n)],
  xstate: (n) => [process.execPath, '--expose-gc', join(here, 'peers', 'xstate.js'), '--n', String(n)],
};

const tmp = mkdtempSync(join(tmpdir(), 'vigil-instructions-'));
let ok = true;
const per = {}; // engine -> instructions per event, one per repetition
const ratios = [];
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), repetitions: xs.length });
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
try {
  for (let r = 1; r <= repeat; r++) {
    const mine = {};
    for (const engine of engines) {
      if (!commands[engine]) throw new Error(`unknown engine '${engine}'`);
      const runs = [];
      for (const n of ns) {
        const log = join(tmp, `${engine}-${n}.log`);
        const cmd = commands[engine](n);
        process.stderr.write(`instructions.mjs: (${r}/${repeat}) valgrind --tool=callgrind ${cmd.join(' ')}\n`);
        const t0 = Date.now();
        const res = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', `--log-file=${log}`, ...cmd], {
          encoding: 'utf8',
          maxBuffer: 1 << 26,
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const line = (res.stdout ?? '').split('\n').find((l) => l.startsWith('{'));
        const m = /Collected : (\d+)/.exec(readFileSync(log, 'utf8'));
        if (!line || !m || (res.status !== 0 && res.status !== 1)) throw new Error(`${cmd.join(' ')} under callgrind: exit status ${res.status}`);
        const fig = JSON.parse(line);
        const run = {
          bench: 'instructions',
          repetition: r,
          engine: fig.engine ?? 'vigil',
          n,
          events: fig.events,
          instructions: Number(m[1]),
          instructions_per_event_whole_process: Math.round(Number(m[1]) / fig.events),
          valgrind_s: +((Date.now() - t0) / 1000).toFixed(1),
          checksums_ok: fig.checksums_ok,
        };
        if (!fig.checksums_ok) ok = false;
        runs.push(run);
        out(run);
      }
      const [a, b] = runs;
      const line = {
        bench: 'instructions_per_event',
        repetition: r,
        engine: a.engine,
        n_low: a.n,
        n_high: b.n,
        events_low: a.events,
        events_high: b.events,
        instructions_low: a.instructions,
        instructions_high: b.instructions,
        instructions_per_event: Math.round((b.instructions - a.instructions) / (b.events - a.events)),
        checksums_ok: a.checksums_ok && b.checksums_ok,
      };
      mine[engine] = line.instructions_per_event;
      (per[engine] ??= []).push(line.instructions_per_event);
      out(line);
    }
    if (mine.vigil && mine.xstate) {
      const q = mine.xstate / mine.vigil;
      ratios.push(q);
      out({ bench: 'instructions_ratio', repetition: r, n_low: ns[0], n_high: ns[1], vigil_instructions_per_event: mine.vigil, xstate_instructions_per_event: mine.xstate, xstate_over_vigil: +q.toFixed(2) });
    }
  }
  const summary = { bench: 'instructions_summary', n_low: ns[0], n_high: ns[1] };
  for (const [engine, xs] of Object.entries(per)) summary[engine] = spread(xs);
  if (ratios.length) summary.xstate_over_vigil = spread(ratios.map((q) => +q.toFixed(2)));
  summary.checksums_ok = ok;
  out(summary);
  if (summary.xstate_over_vigil)
    process.stderr.write(
      `instructions.mjs: per further event (N ${ns[0]} to ${ns[1]}, median of ${ratios.length}): vigil ${summary.vigil.median}, XState ${summary.xstate.median}; XState / vigil ${summary.xstate_over_vigil.median} (${summary.xstate_over_vigil.min}-${summary.xstate_over_vigil.max})\n`,
    );
} catch (e) {
  process.stderr.write(`instructions.mjs: ${e.message}\n`);
  rmSync(tmp, { recursive: true, force: true });
  process.exit(2);
}
rmSync(tmp, { recursive: true, force: true });
process.exit(ok ? 0 : 1);

// results.mjs: bench/RESULTS.md, its charts and README.md's table from the
// JSON lines of one `make bench` run (run-all.sh). Medians over repetitions;
// every ratio is between figures of the same run.
//
//   node bench/results.mjs RESULTS.jsonl BENCH_SRC_DIR
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const [linesPath, benchDir] = process.argv.slice(2);
if (!linesPath || !benchDir) {
  process.stderr.write('usage: node results.mjs RESULTS.jsonl BENCH_SRC_DIR\n');
  process.exit(2);
}
const all = readFileSync(linesPath, 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l));
// A run whose checksums differ does not count (WORKLOAD.md): it is listed, not used.
const lines = all.filter((l) => l.checksums_ok !== false);
const rejected = all.filter((l) => l.checksums_ok === false);

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const where = (pred) => lines.filter(pred);
const med = (pred, key) => median(where(pred).map((l) => l[key]));
const vigil = (mode, n) => (l) => l.mode === mode && l.n === n && !l.engine;
const peer = (name, n) => (l) => l.engine?.startsWith(name) && l.n === n;
const allOk = rejected.length === 0;

const fmt = (x, digits = 0) => {
  if (!Number.isFinite(x)) return '—';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
};
const k = (x) => (Number.isFinite(x) ? `${fmt(x / 1000, x >= 100000 ? 0 : 1)}k` : '—');
const kib = (b) => (Number.isFinite(b) ? `${fmt(b / 1024, b >= 102400 ? 0 : 2)} KiB` : '—');
const ratio = (a, b, digits = 1) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${fmt(a / b, digits)}x` : '—');
// A comparison on a figure the run does not have is neither met nor missed.
const test = (x, pred) => (Number.isFinite(x) ? pred(x) : undefined);
const verdict = (ok) => (ok === undefined || Number.isNaN(ok) ? '—' : ok ? 'met' : '**missed**');

const NS = [1000, 10000, 100000];
const bpmnNs = [...new Set(where((l) => l.engine?.startsWith('bpmn')).map((l) => l.n))].sort((a, b) => a - b);

// ---- M1 ----
const m1 = NS.map((n) => ({
  n,
  v: med(vigil('m1', n), 'events_per_s'),
  vCpu: med(vigil('m1', n), 'cpu_s'),
  vMem: med(vigil('m1', n), 'rss_per_live_visit_bytes'),
  x: med(peer('xstate', n), 'events_per_s'),
  xCpu: med(peer('xstate', n), 'cpu_s'),
  xMem: med(peer('xstate', n), 'rss_per_live_visit_bytes'),
  runs: where(vigil('m1', n)).length,
}));
const bpmn = bpmnNs.map((n) => ({
  n,
  ev: med(peer('bpmn', n), 'events_per_s'),
  mem: med(peer('bpmn', n), 'rss_per_live_visit_bytes'),
  cpu: med(peer('bpmn', n), 'cpu_s'),
  peak: med(peer('bpmn', n), 'peak_rss_kib'),
}));
const bpmnTop = bpmn[bpmn.length - 1];

// ---- limits (vigil-durable-bench, same run) ----
const fdatasync = med((l) => l.bench === 'fsync' && l.call === 'fdatasync', 'syncs_per_s');
const sqlite1 = med((l) => l.bench === 'sqlite' && l.rows_per_commit === 1, 'rows_per_s');
const sqlite100 = med((l) => l.bench === 'sqlite' && l.rows_per_commit === 100, 'rows_per_s');
const writers1000 = med((l) => l.bench === 'writers' && l.writers === 1000, 'events_per_s');

// ---- M2-M5 ----
const m2 = {
  ev: med(vigil('m2', 10000), 'events_per_s'),
  fsyncs: med(vigil('m2', 10000), 'fsyncs_per_event'),
  ev100k: med(vigil('m2', 100000), 'events_per_s'),
};
const m3 = where(vigil('m3', 10000))[0];
const m4 = {
  burst: med(vigil('m4', 10000), 'burst_ms'),
  limit: med(vigil('m4', 10000), 'limit_ms'),
  ratio: med(vigil('m4', 10000), 'ratio_to_limit'),
  raw: med(vigil('m4', 10000), 'raw_libuv_ms'),
  sqlite: med(vigil('m4', 10000), 'sqlite_one_transaction_ms'),
  commit: med(vigil('m4', 10000), 'commit_ms'),
  done: med(vigil('m4', 10000), 'last_done_ms'),
};
const m5 = {
  rec: med(vigil('m5', 10000), 'recovery_ms'),
  cpu: med(vigil('m5', 10000), 'recovery_cpu_s'),
  ok: where(vigil('m5', 10000)).every((l) => l.checksums_ok),
  runs: where(vigil('m5', 10000)).length,
};

const at = (n) => m1.find((r) => r.n === n);
const targets = [];
for (const n of [10000, 100000]) {
  const r = at(n);
  targets.push([`M1 events/s at N = ${fmt(n)}: >= 20x XState's (aim 40x)`, ratio(r.v, r.x), test(r.v / r.x, (q) => q >= 20)]);
  targets.push([`M1 CPU time at N = ${fmt(n)}: >= 30x less than XState`, ratio(r.xCpu, r.vCpu), test(r.xCpu / r.vCpu, (q) => q >= 30)]);
}
const r100k = at(100000);
targets.push([
  'Memory per live visit at N = 100,000: <= 1/10 of XState',
  `${kib(r100k.vMem)} vs ${kib(r100k.xMem)}: 1/${fmt(r100k.xMem / r100k.vMem, 1)}`,
  test(r100k.xMem / r100k.vMem, (q) => q >= 10),
]);
if (bpmnTop)
  targets.push([
    'Memory per live visit: <= 1/1000 of bpmn-engine',
    `${kib(r100k.vMem)} (N = 100,000) vs ${kib(bpmnTop.mem)} (bpmn-engine at N = ${fmt(bpmnTop.n)}): 1/${fmt(bpmnTop.mem / r100k.vMem, 0)}`,
    test(bpmnTop.mem / r100k.vMem, (q) => q >= 1000),
  ]);
const x10k = at(10000).x;
targets.push(['M2 durable, N = 10,000: >= 5x XState in-memory events/s', `${k(m2.ev)} vs ${k(x10k)}: ${ratio(m2.ev, x10k)}`, test(m2.ev / x10k, (q) => q >= 5)]);
targets.push([
  'M2: >= 0.6x same-run SQLite rows/s at 100 rows per commit',
  `${k(m2.ev)} vs ${k(sqlite100)}: ${ratio(m2.ev, sqlite100, 2)}`,
  test(m2.ev / sqlite100, (q) => q >= 0.6),
]);
targets.push(['M2: <= 0.02 fsyncs per event', fmt(m2.fsyncs, 5), test(m2.fsyncs, (q) => q <= 0.02)]);
if (m3) {
  targets.push([
    'M3, 10,000 live visits: checkpoint lateness p99 <= 2x raw libuv p99, max < 10 ms',
    `p99 ${fmt(m3.lateness_ms_p99, 2)} ms vs raw ${fmt(m3.raw_libuv_lateness_ms_p99, 2)} ms (${ratio(m3.lateness_ms_p99, m3.raw_libuv_lateness_ms_p99, 2)}); max ${fmt(m3.lateness_ms_max, 1)} ms`,
    m3.lateness_target_met,
  ]);
  targets.push([
    'M3: alert latency p99 <= raw libuv p99 + single-row commit p99 + 0.5 ms',
    `${fmt(m3.alert_latency_ms_p99, 2)} ms vs ${fmt(m3.raw_libuv_lateness_ms_p99, 2)} + ${fmt(m3.sqlite_commit1_ms_p99, 2)} + 0.5 = ${fmt(m3.raw_libuv_lateness_ms_p99 + m3.sqlite_commit1_ms_p99 + 0.5, 2)} ms`,
    m3.alert_target_met,
  ]);
}
targets.push([
  'M4: 10,000 checkpoints due together processed, committed, delivered in <= 2.5x the same-run limits',
  `${fmt(m4.burst, 0)} ms vs ${fmt(m4.limit, 0)} ms (libuv ${fmt(m4.raw, 1)} + SQLite alone ${fmt(m4.sqlite, 0)}): ${fmt(m4.ratio, 2)}x`,
  test(m4.ratio, (q) => q <= 2.5),
]);
targets.push([
  'M5: recover 10,000 in-flight visits after SIGKILL in < 1 s, none lost or twice, checksums unchanged',
  `${fmt(m5.rec, 0)} ms (CPU ${fmt(m5.cpu, 2)} s); checksums ${m5.ok ? 'unchanged' : 'DIFFERENT'} in ${m5.runs} runs`,
  test(m5.rec, (q) => q < 1000 && m5.ok),
]);

// ---- charts ----
const chartDir = join(benchDir, 'results');
mkdirSync(chartDir, { recursive: true });
const datDir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
const dat = (rows) => rows.map((r) => r.join(' ')).join('\n') + '\n';
writeFileSync(join(datDir, 'vigil.dat'), dat(m1.filter((r) => Number.isFinite(r.v)).map((r) => [r.n, r.v, r.vMem / 1024])));
writeFileSync(join(datDir, 'xstate.dat'), dat(m1.filter((r) => Number.isFinite(r.x)).map((r) => [r.n, r.x, r.xMem / 1024])));
writeFileSync(join(datDir, 'bpmn.dat'), dat(bpmn.map((r) => [r.n, r.ev, r.mem / 1024])));
const plot = (file, title, ylabel, col) => `
set terminal pngcairo size 800,480 font "sans,11"
set output "${join(chartDir, file)}"
set title "${title}"
set xlabel "N (concurrent visits)"
set ylabel "${ylabel}"
set logscale xy
set grid
set key outside right
set xrange [10:200000]
plot "${join(datDir, 'vigil.dat')}" using 1:${col} with linespoints lw 2 pt 7 title "vigil", \\
     "${join(datDir, 'xstate.dat')}" using 1:${col} with linespoints lw 2 pt 5 title "XState 5", \\
     "${join(datDir, 'bpmn.dat')}" using 1:${col} with linespoints lw 2 pt 9 title "bpmn-engine"
`;
let charts = true;
try {
  execFileSync('gnuplot', { input: plot('events_per_s.png', 'M1, in memory: events per second', 'events/s', 2) });
  execFileSync('gnuplot', { input: plot('memory_per_visit.png', 'Memory per live visit (RSS at t = 60 min)', 'KiB per visit', 3) });
} catch (e) {
  process.stderr.write(`results.mjs: gnuplot: ${e.message}\n`);
  charts = false;
}
rmSync(datDir, { recursive: true, force: true });

// ---- RESULTS.md ----
const git = (args) => {
  try {
    return execFileSync('git', args, { cwd: benchDir, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
};
const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const commit = git(['rev-parse', '--short', 'HEAD']);
const cpu = cpus()[0]?.model ?? '?';
const load = (process.env.LOAD_AT_START ?? '?').split(' ').join(' / ');
const reps = Math.max(...m1.map((r) => r.runs));

const targetTable = [
  '| target (issue 8) | measured (medians, same run) | |',
  '|---|---|---|',
  ...targets.map(([t, m, ok]) => `| ${t} | ${m} | ${verdict(ok)} |`),
].join('\n');

const m1Table = [
  '| N | vigil events/s | XState events/s | vigil / XState | CPU s vigil / XState | memory per live visit vigil / XState |',
  '|---|---|---|---|---|---|',
  ...m1.map(
    (r) =>
      `| ${fmt(r.n)} | ${k(r.v)} | ${k(r.x)} | ${ratio(r.v, r.x)} | ${fmt(r.vCpu, 3)} / ${fmt(r.xCpu, 2)} (${ratio(r.xCpu, r.vCpu, 0)} less) | ${kib(r.vMem)} / ${kib(r.xMem)} |`,
  ),
].join('\n');

const bpmnTable = bpmn.length
  ? [
      '| N | bpmn-engine events/s | CPU s | memory per live visit | peak RSS | vigil / bpmn-engine events/s (vigil at N = 1,000) |',
      '|---|---|---|---|---|---|',
      ...bpmn.map(
        (r) =>
          `| ${fmt(r.n)} | ${fmt(r.ev)} | ${fmt(r.cpu, 1)} | ${kib(r.mem)} | ${fmt(r.peak / 1024, 0)} MiB | ${ratio(at(1000).v, r.ev, 0)} |`,
      ),
    ].join('\n')
  : '(bpmn-engine not run)';

const limitsTable = [
  '| limit (same run) | figure |',
  '|---|---|',
  `| write 4 KiB + fdatasync | ${fmt(fdatasync)}/s |`,
  `| SQLite alone, WAL + FULL, 1 row per commit | ${fmt(sqlite1)} rows/s |`,
  `| SQLite alone, 100 rows per commit | ${k(sqlite100)} rows/s |`,
  m3 ? `| SQLite alone, single-row commit latency p50 / p99 | ${fmt(m3.sqlite_commit1_ms_p50, 3)} / ${fmt(m3.sqlite_commit1_ms_p99, 3)} ms |` : '',
  m3
    ? `| raw libuv, 10,000 timers on M3's schedule: lateness p50 / p99 / max | ${fmt(m3.raw_libuv_lateness_ms_p50, 3)} / ${fmt(m3.raw_libuv_lateness_ms_p99, 3)} / ${fmt(m3.raw_libuv_lateness_ms_max, 3)} ms |`
    : '',
  `| raw libuv, 10,000 timers due in the same ms: last callback | ${fmt(m4.raw, 1)} ms |`,
  `| SQLite alone, one transaction of the burst's rows | ${fmt(m4.sqlite, 0)} ms |`,
  `| vigil, 1,000 durable writers, group commit (vigil-durable-bench) | ${k(writers1000)} events/s |`,
]
  .filter(Boolean)
  .join('\n');

const modesTable = [
  '| mode | figure (median) |',
  '|---|---|',
  `| M2 durable, N = 10,000, up to 1,000 commands per transaction | ${k(m2.ev)} events/s, ${fmt(m2.fsyncs, 5)} fsyncs per event |`,
  `| M2 durable, N = 100,000 (one run) | ${k(m2.ev100k)} events/s |`,
  m3
    ? `| M3 real time, 10,000 live visits (15 min = 1 s) | lateness p50 / p99 / max ${fmt(m3.lateness_ms_p50, 2)} / ${fmt(m3.lateness_ms_p99, 2)} / ${fmt(m3.lateness_ms_max, 1)} ms; alert latency ${fmt(m3.alert_latency_ms_p50, 2)} / ${fmt(m3.alert_latency_ms_p99, 2)} / ${fmt(m3.alert_latency_ms_max, 1)} ms; end of observation heard ${fmt(m3.deadline_heard_ms_p50, 2)} / ${fmt(m3.deadline_heard_ms_p99, 2)} ms; ${fmt(m3.events_per_commit, 1)} events per commit |`
    : '',
  `| M4 burst, 10,000 due together | readings done ${fmt(m4.done, 0)} ms, commit ${fmt(m4.commit, 0)} ms, all delivered ${fmt(m4.burst, 0)} ms |`,
  `| M5 recovery of 10,000 visits after SIGKILL | ${fmt(m5.rec, 0)} ms |`,
]
  .filter(Boolean)
  .join('\n');

const chartsMd = charts
  ? '![events per second against N](results/events_per_s.png)\n\n![memory per live visit against N](results/memory_per_visit.png)'
  : '(gnuplot was not available: no charts)';

const results = `# Benchmark results

Written by \`make bench\` (\`bench/run-all.sh\`, \`bench/results.mjs\`) at ${when}, tree at
${commit}. **Measured on a 2-core VM** (${cpu}, ${cpus().length} cores; load average ${load} over 1, 5 and 15
minutes as the run began): absolute figures vary between runs, by up to 2x on a busy machine,
and a busy machine slows the peers more than vigil; the ratios compare figures of the same run. M1, M2, M4 and M5 are medians of
${reps} repetition${reps === 1 ? '' : 's'}, the peers and vigil alternating; M3, M2 at N = 100,000 and bpmn-engine ran
once. Every run matched the workload's checksums: ${allOk ? 'yes' : `**no**: ${rejected.map((l) => `${l.engine ?? 'vigil ' + l.mode} at N = ${fmt(l.n)} (${l.events} events)`).join(', ')} did not, and is left out of the figures (its line is under Raw lines)`}. \`bench/README.md\` says what
each figure measures.

## Targets

${targetTable}

What stands in the way of the targets missed, and what the profiles led to:
[bench/README.md](README.md#issue-8-what-stands-in-the-way-of-the-targets-missed).

## M1, in memory, against XState 5.33.3 (binary-heap simulated clock)

${m1Table}

bpmn-engine 25.0.1 is run at small N only: it needs about 0.1 s of CPU and several MiB per visit,
so N = 10,000 would take minutes and tens of GiB.

${bpmnTable}

${chartsMd}

## Durable, real time, burst, recovery

${modesTable}

## Limits of the same run

${limitsTable}

## Raw lines

<details><summary>${all.length} JSON lines</summary>

\`\`\`
${all.map((l) => JSON.stringify(l)).join('\n')}
\`\`\`
</details>
`;
writeFileSync(join(benchDir, 'RESULTS.md'), results);

// README.md: the targets table and the charts, between its markers.
const readmePath = join(benchDir, '..', 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const begin = '<!-- bench:begin -->';
const end = '<!-- bench:end -->';
const i = readme.indexOf(begin);
const j = readme.indexOf(end);
if (i >= 0 && j > i) {
  const block = `${begin}
Latest \`make bench\` (${when}, ${commit}; a 2-core VM with load ${load} as it began, so ratios within the run matter,
not absolute figures; all of it in [bench/RESULTS.md](bench/RESULTS.md)):

${targetTable}

${charts ? '![events per second against N](bench/results/events_per_s.png)\n![memory per live visit against N](bench/results/memory_per_visit.png)\n' : ''}${end}`;
  writeFileSync(readmePath, readme.slice(0, i) + block + readme.slice(j + end.length));
}
process.stdout.write(`results.mjs: wrote ${join(benchDir, 'RESULTS.md')}\n`);


// results.mjs: bench/RESULTS.md, its charts and README.md's table from the
// JSON lines of one `make bench` run (run-all.sh).
//
// Every comparison of vigil with a peer (and of M2 with SQLite alone) is made
// within a round: a vigil block (vigil's runs next to the peer's, for as long
// as the peer's run took) against the peer's one run. Vigil's figure for a
// round is its events over the block's summed time (and CPU), the ratio is
// taken in the round, and what is reported is the median and the range
// (min-max) of the per-round ratios, with each round's 1-min load average. No
// figure is a ratio of medians of separate runs, nor a best case.
//
//   node bench/results.mjs RESULTS.jsonl BENCH_SRC_DIR
//
// From run-all.sh's environment: LOAD_AT_START, BENCH_COMMIT and BENCH_DIRTY
// (the tree as the run began), ROUNDS, BPMN_ROUNDS, DURABLE_ROUNDS, INSTR_N,
// INSTR_REPEAT. Run by hand, BENCH_TREE replaces the tree's description and
// BENCH_NOTE adds a paragraph under the heading (say there how the lines
// were put together, if not by one run-all.sh).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
// A run whose checksums differ does not count (WORKLOAD.md): it is listed, and its round left out.
const rejected = all.filter((l) => l.checksums_ok === false);

// ---- numbers ----
const finite = (xs) => xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
const median = (xs) => {
  const v = finite(xs).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const sum = (xs) => finite(xs).reduce((a, b) => a + b, 0);
const stat = (xs) => {
  const v = finite(xs);
  return { med: median(v), min: v.length ? Math.min(...v) : NaN, max: v.length ? Math.max(...v) : NaN, count: v.length };
};
const fmt = (x, digits = 0) => {
  if (!Number.isFinite(x)) return '—';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
};
const k = (x) => (Number.isFinite(x) ? `${fmt(x / 1000, x >= 100000 ? 0 : 1)}k` : '—');
const kib = (b) => (Number.isFinite(b) ? `${fmt(b / 1024, b >= 102400 ? 0 : 2)} KiB` : '—');
// A median and its range: "14.7x (13.1–16.0)".
const range = (s, f, unit = '') => (s.count ? `${f(s.med)}${unit} (${f(s.min)}–${f(s.max)})` : '—');
const rx = (s, digits = 1) => range(s, (x) => fmt(x, digits), 'x');
const inv = (s, digits = 1) => (s.count ? `1/${fmt(s.med, digits)} (1/${fmt(s.min, digits)}–1/${fmt(s.max, digits)})` : '—');
const verdict = (ok) => (ok === undefined || Number.isNaN(ok) ? '—' : ok ? 'met' : '**missed**');
// A target judged on the median of the per-round ratios, and how many rounds met it.
const judge = (s, xs, pred) => (s.count ? { ok: pred(s.med), of: `met in ${finite(xs).filter(pred).length} of ${s.count} rounds` } : { ok: undefined, of: '' });

// ---- rounds ----
const rounds = all.filter((l) => l.bench === 'round');
const key = (l) => `${l.group}|${l.rep}`;
const vigilRuns = all.filter((l) => l.side === 'vigil');
// A vigil block: the runs of one mode in one round, pooled.
const pool = (runs) => {
  const f = runs[0];
  const events = sum(runs.map((l) => l.events));
  const wall = sum(runs.map((l) => l.wall_ms));
  const cpu = sum(runs.map((l) => l.cpu_s));
  return {
    rep: f.rep,
    group: f.group,
    side: 'vigil',
    block_of: runs.length,
    mode: f.mode,
    n: f.n,
    wall_ms: +wall.toFixed(1),
    cpu_s: +cpu.toFixed(3),
    events,
    events_per_s: Math.round(events / (wall / 1000)),
    cpu_us_per_event: +((cpu / events) * 1e6).toFixed(3),
    rss_per_live_visit_bytes: median(runs.map((l) => l.rss_per_live_visit_bytes)),
    peak_rss_kib: median(runs.map((l) => l.peak_rss_kib)),
    ...(f.mode === 'm2' ? { fsyncs_per_event: median(runs.map((l) => l.fsyncs_per_event)), batch_max: f.batch_max } : {}),
    checksums_ok: runs.every((l) => l.checksums_ok !== false),
  };
};
const blocks = new Map();
for (const l of vigilRuns) {
  if (l.mode !== 'm1' && l.mode !== 'm2') continue;
  if (l.group?.startsWith('once')) continue;
  const kk = `${key(l)}|${l.mode}`;
  if (!blocks.has(kk)) blocks.set(kk, []);
  blocks.get(kk).push(l);
}
const pooled = new Map([...blocks].map(([kk, runs]) => [kk, pool(runs)]));

// One record per round of a pair (vigil against a peer).
const pairs = rounds
  .filter((r) => r.peer === 'xstate' || r.peer === 'bpmn')
  .map((r) => {
    const mode = r.group.includes('-m2-') ? 'm2' : 'm1';
    const v = pooled.get(`${key(r)}|${mode}`);
    const p = all.find((l) => l.side === 'peer' && key(l) === key(r));
    const ok = !!v && !!p && v.checksums_ok && p.checksums_ok !== false;
    return {
      ...r,
      mode,
      v,
      p,
      ok,
      ev: ok ? v.events_per_s / p.events_per_s : NaN,
      cpu: ok ? p.cpu_s / p.events / (v.cpu_s / v.events) : NaN,
      mem: ok ? p.rss_per_live_visit_bytes / v.rss_per_live_visit_bytes : NaN,
    };
  });
const groupOf = (peer, mode, n) => pairs.filter((p) => p.peer === peer && p.mode === mode && p.n === n);
const summary = (ps) => {
  const good = ps.filter((p) => p.ok);
  return {
    rounds: ps.length,
    good: good.length,
    ev: stat(good.map((p) => p.ev)),
    evs: good.map((p) => p.ev),
    cpu: stat(good.map((p) => p.cpu)),
    cpus: good.map((p) => p.cpu),
    mem: stat(good.map((p) => p.mem)),
    mems: good.map((p) => p.mem),
    vEv: stat(good.map((p) => p.v.events_per_s)),
    pEv: stat(good.map((p) => p.p.events_per_s)),
    vCpuUs: stat(good.map((p) => p.v.cpu_us_per_event)),
    pCpuUs: stat(good.map((p) => (p.p.cpu_s / p.p.events) * 1e6)),
    vMem: stat(good.map((p) => p.v.rss_per_live_visit_bytes)),
    pMem: stat(good.map((p) => p.p.rss_per_live_visit_bytes)),
    vRuns: stat(good.map((p) => p.v.block_of)),
    load: stat(ps.flatMap((p) => [p.load1_start, p.load1_end])),
  };
};
const xsNs = [...new Set(pairs.filter((p) => p.peer === 'xstate' && p.mode === 'm1').map((p) => p.n))].sort((a, b) => a - b);
const m2Ns = [...new Set(pairs.filter((p) => p.peer === 'xstate' && p.mode === 'm2').map((p) => p.n))].sort((a, b) => a - b);
const bpmnNs = [...new Set(pairs.filter((p) => p.peer === 'bpmn').map((p) => p.n))].sort((a, b) => a - b);
const m1 = xsNs.map((n) => ({ n, ...summary(groupOf('xstate', 'm1', n)) }));
const m2x = m2Ns.map((n) => ({ n, ...summary(groupOf('xstate', 'm2', n)) }));
const bpmn = bpmnNs.map((n) => ({ n, ...summary(groupOf('bpmn', 'm1', n)) }));

// ---- the durable rounds: limits, M2 next to them, M4, M5 ----
const durable = rounds
  .filter((r) => r.group === 'durable')
  .map((r) => {
    const mine = all.filter((l) => key(l) === key(r));
    const lim = (pred, kk) => mine.find((l) => l.side === 'limits' && pred(l))?.[kk];
    const v = pooled.get(`${key(r)}|m2`);
    const m4 = mine.find((l) => l.mode === 'm4');
    const m5 = mine.find((l) => l.mode === 'm5');
    const sqlite100 = lim((l) => l.bench === 'sqlite' && l.rows_per_commit === 100, 'rows_per_s');
    const okLimits = mine.filter((l) => l.side === 'limits').every((l) => l.checksums_ok !== false);
    return {
      ...r,
      v,
      fdatasync: lim((l) => l.bench === 'fsync' && l.call === 'fdatasync', 'syncs_per_s'),
      sqlite1: lim((l) => l.bench === 'sqlite' && l.rows_per_commit === 1, 'rows_per_s'),
      sqlite100,
      writers1000: okLimits ? lim((l) => l.bench === 'writers' && l.writers === 1000, 'events_per_s') : NaN,
      m2: v?.checksums_ok ? v.events_per_s : NaN,
      m2Sqlite: v?.checksums_ok ? v.events_per_s / sqlite100 : NaN,
      m4,
      m4Ratio: m4?.checksums_ok ? m4.ratio_to_limit : NaN,
      m5,
    };
  });
const dur = {
  fdatasync: stat(durable.map((d) => d.fdatasync)),
  sqlite1: stat(durable.map((d) => d.sqlite1)),
  sqlite100: stat(durable.map((d) => d.sqlite100)),
  writers1000: stat(durable.map((d) => d.writers1000)),
  m2: stat(durable.map((d) => d.m2)),
  m2Sqlite: stat(durable.map((d) => d.m2Sqlite)),
  m2Sqlites: durable.map((d) => d.m2Sqlite),
  m4Ratio: stat(durable.map((d) => d.m4Ratio)),
  m4Ratios: durable.map((d) => d.m4Ratio),
  m4Burst: stat(durable.map((d) => d.m4?.burst_ms)),
  m4Done: stat(durable.map((d) => d.m4?.last_done_ms)),
  m4Commit: stat(durable.map((d) => d.m4?.commit_ms)),
  m4Raw: stat(durable.map((d) => d.m4?.raw_libuv_ms)),
  m4Sqlite: stat(durable.map((d) => d.m4?.sqlite_one_transaction_ms)),
  m5: stat(durable.filter((d) => d.m5?.checksums_ok).map((d) => d.m5.recovery_ms)),
  m5Cpu: stat(durable.filter((d) => d.m5?.checksums_ok).map((d) => d.m5.recovery_cpu_s)),
  m5Ok: durable.every((d) => d.m5?.checksums_ok),
  m5Runs: durable.filter((d) => d.m5).length,
};
const m2Fsyncs = stat([...pooled.values()].filter((b) => b.mode === 'm2' && b.checksums_ok).map((b) => b.fsyncs_per_event));
const once = all.filter((l) => l.group?.startsWith('once') && l.side === 'vigil');
const onceLoad = (l) => {
  const r = l && rounds.find((x) => x.group === l.group);
  return r ? `load ${fmt(r.load1_start, 2)} → ${fmt(r.load1_end, 2)}` : 'load not recorded';
};
const m2At100k = once.find((l) => l.mode === 'm2' && l.n === 100000);
const m3 = once.find((l) => l.mode === 'm3');

// ---- instructions per event (callgrind) ----
const instrRuns = all.filter((l) => l.bench === 'instructions');
const instrPer = all.filter((l) => l.bench === 'instructions_per_event');
const instrRatios = all.filter((l) => l.bench === 'instructions_ratio');
const instrOf = (pred) => stat(instrPer.filter((l) => pred(l.engine)).map((l) => l.instructions_per_event));
const instrV = instrOf((e) => e === 'vigil');
const instrX = instrOf((e) => e?.startsWith('xstate'));
const instrQ = stat(instrRatios.map((l) => l.xstate_over_vigil));
const instrNs = instrRatios[0] ?? instrPer[0];

// ---- load ----
const loads = stat(rounds.flatMap((r) => [r.load1_start, r.load1_end]));
const loadText = loads.count
  ? `1-min load average from ${fmt(loads.min, 2)} to ${fmt(loads.max, 2)} at the starts and ends of its ${rounds.length} rounds, median ${fmt(loads.med, 2)}`
  : 'no rounds';

// ---- targets ----
const targets = [];
const at = (n) => m1.find((r) => r.n === n);
for (const n of [10000, 100000]) {
  const r = at(n);
  if (!r) continue;
  const e = judge(r.ev, r.evs, (q) => q >= 20);
  targets.push([`M1 events/s at N = ${fmt(n)}: >= 20x XState's (aim 40x)`, `${rx(r.ev)}; ${e.of}`, e.ok]);
  const c = judge(r.cpu, r.cpus, (q) => q >= 30);
  targets.push([`M1 CPU time at N = ${fmt(n)}: >= 30x less than XState`, `${rx(r.cpu)}; ${c.of}`, c.ok]);
}
const r100k = at(100000);
if (r100k) {
  const m = judge(r100k.mem, r100k.mems, (q) => q >= 10);
  targets.push([
    'Memory per live visit at N = 100,000: <= 1/10 of XState',
    `${kib(r100k.vMem.med)} vs ${kib(r100k.pMem.med)}; per round ${inv(r100k.mem)}; ${m.of}`,
    m.ok,
  ]);
}
const bpmnTop = bpmn[bpmn.length - 1];
if (bpmnTop && !bpmnTop.good) {
  targets.push([
    'Memory per live visit: <= 1/1000 of bpmn-engine',
    `not measured: bpmn-engine's checksums differed in all ${bpmnTop.rounds} rounds at N = ${fmt(bpmnTop.n)} (it reads the real clock when it arms a timer: bench/README.md)`,
    undefined,
  ]);
} else if (bpmnTop) {
  const m = judge(bpmnTop.mem, bpmnTop.mems, (q) => q >= 1000);
  targets.push([
    'Memory per live visit: <= 1/1000 of bpmn-engine',
    `at N = ${fmt(bpmnTop.n)}, both: ${kib(bpmnTop.vMem.med)} vs ${kib(bpmnTop.pMem.med)}; per round ${inv(bpmnTop.mem, 0)}; ${m.of}`,
    m.ok,
  ]);
}
for (const r of m2x) {
  const e = judge(r.ev, r.evs, (q) => q >= 5);
  targets.push([`M2 durable, N = ${fmt(r.n)}: >= 5x XState in-memory events/s`, `${rx(r.ev, 2)}; ${e.of}`, e.ok]);
}
if (durable.length) {
  const e = judge(dur.m2Sqlite, dur.m2Sqlites, (q) => q >= 0.6);
  targets.push(['M2: >= 0.6x same-round SQLite rows/s at 100 rows per commit', `${rx(dur.m2Sqlite, 2)}; ${e.of}`, e.ok]);
}
if (m2Fsyncs.count)
  targets.push([
    'M2: <= 0.02 fsyncs per event',
    range(m2Fsyncs, (x) => fmt(x, 5)),
    m2Fsyncs.max <= 0.02,
  ]);
if (m3) {
  targets.push([
    `M3, 10,000 live visits: checkpoint lateness p99 <= 2x raw libuv p99, max < 10 ms (one run, ${onceLoad(m3)})`,
    `p99 ${fmt(m3.lateness_ms_p99, 2)} ms vs raw ${fmt(m3.raw_libuv_lateness_ms_p99, 2)} ms (${fmt(m3.lateness_ms_p99 / m3.raw_libuv_lateness_ms_p99, 2)}x); max ${fmt(m3.lateness_ms_max, 1)} ms`,
    m3.lateness_target_met,
  ]);
  targets.push([
    `M3: alert latency p99 <= raw libuv p99 + single-row commit p99 + 0.5 ms (one run, ${onceLoad(m3)})`,
    `${fmt(m3.alert_latency_ms_p99, 2)} ms vs ${fmt(m3.raw_libuv_lateness_ms_p99, 2)} + ${fmt(m3.sqlite_commit1_ms_p99, 2)} + 0.5 = ${fmt(m3.raw_libuv_lateness_ms_p99 + m3.sqlite_commit1_ms_p99 + 0.5, 2)} ms`,
    m3.alert_target_met,
  ]);
}
if (durable.length) {
  const e = judge(dur.m4Ratio, dur.m4Ratios, (q) => q <= 2.5);
  targets.push([
    'M4: 10,000 checkpoints due together processed, committed, delivered in <= 2.5x the same-run limits',
    `${rx(dur.m4Ratio, 2)}; ${e.of}`,
    e.ok,
  ]);
  targets.push([
    'M5: recover 10,000 in-flight visits after SIGKILL in < 1 s, none lost or twice, checksums unchanged',
    `${range(dur.m5, (x) => fmt(x, 0), ' ms')}; checksums ${dur.m5Ok ? 'unchanged' : 'DIFFERENT'} in ${dur.m5Runs} runs`,
    dur.m5.count ? dur.m5.max < 1000 && dur.m5Ok : undefined,
  ]);
}
if (instrQ.count)
  targets.push([
    `(no target) CPU instructions per further event, callgrind, N = ${fmt(instrNs.n_low)} to ${fmt(instrNs.n_high)}, ${instrQ.count} repetition${instrQ.count === 1 ? '' : 's'}: not touched by the load`,
    `vigil ${range(instrV, k)}, XState ${range(instrX, k)}; XState / vigil per repetition ${rx(instrQ)}`,
    undefined,
  ]);
const targetTable = [
  '| target (issue 8) | measured: median of the per-round ratios (min–max) | |',
  '|---|---|---|',
  ...targets.map(([t, m, ok]) => `| ${t} | ${m} | ${verdict(ok)} |`),
].join('\n');

// ---- charts ----
const chartDir = join(benchDir, 'results');
mkdirSync(chartDir, { recursive: true });
const datDir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
const dat = (rows) => rows.map((r) => r.join(' ')).join('\n') + '\n';
const series = [];
const addSeries = (file, rows, title, pt) => {
  if (!rows.length) return;
  writeFileSync(join(datDir, file), dat(rows));
  series.push({ file, title, pt });
};
addSeries('xstate.dat', m1.filter((r) => r.ev.count).map((r) => [r.n, r.ev.med, r.ev.min, r.ev.max]), 'vigil / XState 5', 5);
addSeries('bpmn.dat', bpmn.filter((r) => r.ev.count).map((r) => [r.n, r.ev.med, r.ev.min, r.ev.max]), 'vigil / bpmn-engine', 9);
// Both charts: log-log against N, the same frame.
const chart = (png, title, ylabel, plots) => `
set terminal pngcairo size 800,480 font "sans,11"
set output "${join(chartDir, png)}"
set title "${title}"
set xlabel "N (concurrent visits)"
set ylabel "${ylabel}"
set logscale xy
set grid
set key outside right
set xrange [50:200000]
plot ${plots.join(', \\\n     ')}
`;
const ratioPlot = chart('events_ratio.png', 'M1 events/s, vigil / peer: median of the per-round ratios, bars min-max',
  'vigil events/s / peer events/s',
  series.map((s) => `"${join(datDir, s.file)}" using 1:2:3:4 with yerrorlines lw 2 pt ${s.pt} title "${s.title}"`));
const vMemRows = new Map();
for (const r of [...m1, ...bpmn]) if (r.vMem.count && !vMemRows.has(r.n)) vMemRows.set(r.n, r.vMem.med / 1024);
writeFileSync(join(datDir, 'mem_vigil.dat'), dat([...vMemRows].sort((a, b) => a[0] - b[0])));
writeFileSync(join(datDir, 'mem_xstate.dat'), dat(m1.filter((r) => r.pMem.count).map((r) => [r.n, r.pMem.med / 1024])));
writeFileSync(join(datDir, 'mem_bpmn.dat'), dat(bpmn.filter((r) => r.pMem.count).map((r) => [r.n, r.pMem.med / 1024])));
const memSeries = [
  ['mem_vigil.dat', 'vigil', 7],
  ['mem_xstate.dat', 'XState 5', 5],
  ['mem_bpmn.dat', 'bpmn-engine', 9],
].filter(([f]) => readFileSync(join(datDir, f), 'utf8').trim());
const memPlot = chart('memory_per_visit.png', 'Memory per live visit (RSS at t = 60 min), median of the rounds', 'KiB per visit',
  memSeries.map(([f, t, pt]) => `"${join(datDir, f)}" using 1:2 with linespoints lw 2 pt ${pt} title "${t}"`));
let charts = series.length > 0 && memSeries.length > 0;
if (charts) {
  try {
    execFileSync('gnuplot', { input: ratioPlot });
    execFileSync('gnuplot', { input: memPlot });
  } catch (e) {
    process.stderr.write(`results.mjs: gnuplot: ${e.message}\n`);
    charts = false;
  }
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
// When the run ended (its lines' file last written), not when this script ran.
const when = statSync(linesPath).mtime.toISOString().replace(/\.\d+Z$/, 'Z');
// The tree the binaries were built from: run-all.sh notes the commit as the run begins, and how many files
// (outside bench/ and README.md) differed from it; BENCH_TREE, when set, says it in words instead.
const commit = process.env.BENCH_COMMIT || git(['rev-parse', '--short', 'HEAD']);
const dirty =
  process.env.BENCH_DIRTY !== undefined
    ? Number(process.env.BENCH_DIRTY)
    : git(['status', '--porcelain', '--untracked-files=no'])
        .split('\n')
        .filter((l) => l.trim() && !/ (bench\/|README\.md$)/.test(l)).length;
const tree =
  process.env.BENCH_TREE ||
  (dirty && commit !== '?' ? `${commit} with ${dirty} file${dirty === 1 ? '' : 's'} (outside bench/) changed but not committed` : commit);
const cpu = cpus()[0]?.model ?? '?';
const loadStart = (process.env.LOAD_AT_START ?? '?').split(' ').join(' / ');
const settings = ['ROUNDS', 'BPMN_ROUNDS', 'DURABLE_ROUNDS', 'INSTR_N', 'INSTR_REPEAT']
  .filter((s) => process.env[s] !== undefined)
  .map((s) => `${s}=${process.env[s]}`)
  .join(', ');

const m1Table = [
  '| N | rounds | vigil events/s | XState events/s | vigil / XState events/s, per round | CPU per event, XState / vigil, per round | memory per live visit vigil / XState | vigil runs per round |',
  '|---|---|---|---|---|---|---|---|',
  ...m1.map(
    (r) =>
      `| ${fmt(r.n)} | ${r.good} of ${r.rounds} | ${range(r.vEv, k)} | ${range(r.pEv, k)} | **${rx(r.ev)}** | ${rx(r.cpu)} | ${kib(r.vMem.med)} / ${kib(r.pMem.med)}; ${inv(r.mem)} | ${fmt(r.vRuns.med)} |`,
  ),
].join('\n');
const m2xTable = m2x.length
  ? [
      '| N | rounds | vigil M2 (durable) events/s | XState (in memory) events/s | M2 / XState, per round |',
      '|---|---|---|---|---|',
      ...m2x.map((r) => `| ${fmt(r.n)} | ${r.good} of ${r.rounds} | ${range(r.vEv, k)} | ${range(r.pEv, k)} | **${rx(r.ev, 2)}** |`),
    ].join('\n')
  : '(not run)';
const bpmnTable = bpmn.length
  ? [
      '| N | rounds | vigil events/s | bpmn-engine events/s | vigil / bpmn-engine events/s, per round | CPU per event, bpmn-engine / vigil | memory per live visit vigil / bpmn-engine | vigil runs per round |',
      '|---|---|---|---|---|---|---|---|',
      ...bpmn.map(
        (r) =>
          `| ${fmt(r.n)} | ${r.good} of ${r.rounds} | ${range(r.vEv, k)} | ${range(r.pEv, (x) => fmt(x, 0))} | **${rx(r.ev, 0)}** | ${rx(r.cpu, 0)} | ${kib(r.vMem.med)} / ${kib(r.pMem.med)}; ${inv(r.mem, 0)} | ${fmt(r.vRuns.med)} |`,
      ),
    ].join('\n')
  : '(bpmn-engine not run)';

const blocksText = (r) =>
  r.vigil_before && r.vigil_after
    ? `${r.vigil_before[0]} + ${r.vigil_after[0]} (${fmt(r.vigil_before[1] / 1000, 1)} + ${fmt(r.vigil_after[1] / 1000, 1)})`
    : `${r.vigil_runs} (${fmt(r.vigil_block_ms / 1000, 1)})`;
const pairName = (p) => (p.peer === 'xstate' ? `XState, ${p.mode.toUpperCase()} N = ${fmt(p.n)}` : `bpmn-engine, N = ${fmt(p.n)}`);
const roundTable = [
  '| pair | round | load 1-min start → end | vigil runs before + after the peer (s) | peer run s | vigil events/s | peer events/s | events/s ratio | CPU ratio |',
  '|---|---|---|---|---|---|---|---|---|',
  ...[...pairs]
    .sort((a, b) => (a.peer === b.peer ? (a.mode === b.mode ? a.n - b.n || a.rep - b.rep : a.mode < b.mode ? -1 : 1) : a.peer < b.peer ? 1 : -1))
    .map(
      (p) =>
        `| ${pairName(p)} | ${p.rep} | ${fmt(p.load1_start, 2)} → ${fmt(p.load1_end, 2)} | ${blocksText(p)} | ${fmt(p.peer_wall_ms / 1000, 1)} | ${p.v ? k(p.v.events_per_s) : '—'} | ${p.p ? fmt(p.p.events_per_s) : '—'} | ${p.ok ? `${fmt(p.ev, p.peer === 'bpmn' ? 0 : 2)}x` : 'checksums differ: left out'} | ${p.ok ? `${fmt(p.cpu, p.peer === 'bpmn' ? 0 : 1)}x` : '—'} |`,
    ),
].join('\n');

const durableTable = durable.length
  ? [
      '| round | load 1-min start → end | M2 runs before + after the limits (s) | fdatasync/s | SQLite, 100 rows per commit, rows/s | M2 events/s | M2 / SQLite | M4 burst / limits | M5 recovery |',
      '|---|---|---|---|---|---|---|---|---|',
      ...durable.map(
        (d) =>
          `| ${d.rep} | ${fmt(d.load1_start, 2)} → ${fmt(d.load1_end, 2)} | ${blocksText(d)} | ${fmt(d.fdatasync)} | ${k(d.sqlite100)} | ${k(d.m2)} | ${fmt(d.m2Sqlite, 2)}x | ${fmt(d.m4Ratio, 2)}x (${fmt(d.m4?.burst_ms, 0)} ms) | ${fmt(d.m5?.recovery_ms, 0)} ms |`,
      ),
    ].join('\n')
  : '(not run)';

const limitsTable = [
  '| limit (durable rounds) | median (min–max) |',
  '|---|---|',
  `| write 4 KiB + fdatasync | ${range(dur.fdatasync, (x) => fmt(x))}/s |`,
  `| SQLite alone, WAL + FULL, 1 row per commit | ${range(dur.sqlite1, (x) => fmt(x))} rows/s |`,
  `| SQLite alone, 100 rows per commit | ${range(dur.sqlite100, k)} rows/s |`,
  m3 ? `| SQLite alone, single-row commit latency p50 / p99 (M3's run) | ${fmt(m3.sqlite_commit1_ms_p50, 3)} / ${fmt(m3.sqlite_commit1_ms_p99, 3)} ms |` : '',
  m3
    ? `| raw libuv, 10,000 timers on M3's schedule: lateness p50 / p99 / max | ${fmt(m3.raw_libuv_lateness_ms_p50, 3)} / ${fmt(m3.raw_libuv_lateness_ms_p99, 3)} / ${fmt(m3.raw_libuv_lateness_ms_max, 3)} ms |`
    : '',
  `| raw libuv, 10,000 timers due in the same ms: last callback (M4's runs) | ${range(dur.m4Raw, (x) => fmt(x, 1), ' ms')} |`,
  `| SQLite alone, one transaction of the burst's rows (M4's runs) | ${range(dur.m4Sqlite, (x) => fmt(x, 0), ' ms')} |`,
  `| vigil, 1,000 durable writers, group commit (vigil-durable-bench) | ${range(dur.writers1000, k)} events/s |`,
]
  .filter(Boolean)
  .join('\n');

const modesTable = [
  '| mode | figure |',
  '|---|---|',
  durable.length ? `| M2 durable, N = 10,000, up to 1,000 commands per transaction (durable rounds) | ${range(dur.m2, k)} events/s, ${range(m2Fsyncs, (x) => fmt(x, 5))} fsyncs per event |` : '',
  m2At100k ? `| M2 durable, N = 100,000 (one run; ${onceLoad(m2At100k)}) | ${k(m2At100k.events_per_s)} events/s |` : '',
  m3
    ? `| M3 real time, 10,000 live visits, 15 min = 1 s (one run; ${onceLoad(m3)}) | lateness p50 / p99 / max ${fmt(m3.lateness_ms_p50, 2)} / ${fmt(m3.lateness_ms_p99, 2)} / ${fmt(m3.lateness_ms_max, 1)} ms; alert latency ${fmt(m3.alert_latency_ms_p50, 2)} / ${fmt(m3.alert_latency_ms_p99, 2)} / ${fmt(m3.alert_latency_ms_max, 1)} ms; end of observation heard ${fmt(m3.deadline_heard_ms_p50, 2)} / ${fmt(m3.deadline_heard_ms_p99, 2)} ms; ${fmt(m3.events_per_commit, 1)} events per commit |`
    : '',
  durable.length
    ? `| M4 burst, 10,000 due together (durable rounds) | readings done ${range(dur.m4Done, (x) => fmt(x, 0), ' ms')}, commit ${range(dur.m4Commit, (x) => fmt(x, 0), ' ms')}, all delivered ${range(dur.m4Burst, (x) => fmt(x, 0), ' ms')} |`
    : '',
  durable.length ? `| M5 recovery of 10,000 visits after SIGKILL (durable rounds) | ${range(dur.m5, (x) => fmt(x, 0), ' ms')}, CPU ${range(dur.m5Cpu, (x) => fmt(x, 2), ' s')} |` : '',
]
  .filter(Boolean)
  .join('\n');

const instrTable = instrPer.length
  ? [
      '| repetition | engine | N | events | instructions (whole process, callgrind Ir) | per event, whole process | per further event |',
      '|---|---|---|---|---|---|---|',
      ...instrRuns.map((l) => {
        const per = instrPer.find((p) => p.engine === l.engine && p.repetition === l.repetition);
        return `| ${l.repetition ?? 1} | ${l.engine} | ${fmt(l.n)} | ${fmt(l.events)} | ${fmt(l.instructions)} | ${fmt(l.instructions_per_event_whole_process)} | ${per && l.n === per.n_high ? `**${fmt(per.instructions_per_event)}**` : ''} |`;
      }),
    ].join('\n') +
    (instrQ.count
      ? `\n\nPer further event, median (min–max) of ${instrQ.count} repetition${instrQ.count === 1 ? '' : 's'}: vigil ${range(instrV, (x) => fmt(x))}, XState ${range(instrX, (x) => fmt(x))}; XState executes **${rx(instrQ)}** as many as vigil, the ratio taken within each repetition.`
      : '')
  : '(not run: INSTR=0, or valgrind missing)';

const chartsMd = charts
  ? '![vigil / peer events per second, per round, against N](results/events_ratio.png)\n\n![memory per live visit against N](results/memory_per_visit.png)'
  : '(gnuplot was not available, or nothing to plot: no charts)';

// Raw lines: vigil's blocks pooled (every run of a block is in results.jsonl).
const rawLines = [...all.filter((l) => !(l.side === 'vigil' && (l.mode === 'm1' || l.mode === 'm2') && !l.group?.startsWith('once'))), ...pooled.values()].sort(
  (a, b) => (a.rep ?? 0) - (b.rep ?? 0),
);
const rejectedText = rejected.length
  ? `**no**: ${rejected.map((l) => `${l.engine ?? 'vigil ' + (l.mode ?? l.bench)} at N = ${fmt(l.n)} in round ${l.rep} of ${l.group}${l.events !== undefined ? ` (${l.events} events)` : ''}`).join(', ')} did not; its round is left out of the figures (its line is under Raw lines)`
  : 'yes';

const results = `# Benchmark results

Written by \`make bench\` (\`bench/run-all.sh\`, \`bench/results.mjs\`) at ${when}, tree at
${tree}${settings ? ` (${settings})` : ''}. **Measured on a 2-core VM** (${cpu}, ${cpus().length} cores) shared with other work:
load average ${loadStart} over 1, 5 and 15 minutes as the run began, and ${loadText}. The load average counts the
benchmark's own process (about 1, a little more for node's helper threads), so a figure near 1 is the benchmark alone and
anything above is other work on the same 2 cores. Absolute figures move with that load; the ratios are taken
**within each round**, vigil's runs and the peer's run side by side for about the same clock time, and reported as the
median and the range (min–max) of the per-round ratios: bench/README.md, "How vigil is compared". Every run matched the
workload's checksums: ${rejectedText}.${process.env.BENCH_NOTE ? `\n\n${process.env.BENCH_NOTE}` : ''}

## Targets

${targetTable}

What stands in the way of the targets missed, and what the profiles led to:
[bench/README.md](README.md#issue-8-what-stands-in-the-way-of-the-targets-missed).

## M1, in memory, against XState 5.33.3 (binary-heap simulated clock)

Events/s of each side are the median (min–max) of the rounds' own figures; the ratios are per round.

${m1Table}

## M2 (durable) against XState in memory

${m2xTable}

## bpmn-engine 25.0.1

Run at small N only: it needs about 0.1 s of CPU and several MiB per visit. Compared with vigil at the same N, in rounds.

${bpmnTable}

${chartsMd}

## Every round

${roundTable}

## CPU instructions per event (callgrind)

\`bench/instructions.mjs\`: each engine under \`valgrind --tool=callgrind\` at two N; the instructions a further event costs
are the difference of the two totals over the difference of the events (the start of node and V8, or of the protocol's
Lua, cancels out). Instruction counts do not depend on the machine's load; XState's vary from run to run with when V8's
helper threads compile and collect, hence the repetitions. \`perf stat -e instructions\` is not supported on this VM.

${instrTable}

## Durable, real time, burst, recovery

Each durable round runs the limits (\`vigil-durable-bench\`) with M2 at N = 10,000 on both sides, at least 0.5 s each (together as
long as SQLite's run at 100 rows per commit), then M4 and M5.

${durableTable}

${modesTable}

## Limits

${limitsTable}

## Raw lines

<details><summary>${rawLines.length} JSON lines (vigil's blocks pooled: \`block_of\` runs; each run is in results.jsonl)</summary>

\`\`\`
${rawLines.map((l) => JSON.stringify(l)).join('\n')}
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
Latest \`make bench\` (${when}, ${tree}) on a 2-core VM shared with other work (${loadText}). vigil and each peer
run interleaved in rounds; every ratio below is the median of the per-round ratios with their range, never a ratio of
separate runs' medians ([bench/README.md](bench/README.md#how-vigil-is-compared)); all of it, round by round, in
[bench/RESULTS.md](bench/RESULTS.md):

${targetTable}

${charts ? '![vigil / peer events per second, per round, against N](bench/results/events_ratio.png)\n![memory per live visit against N](bench/results/memory_per_visit.png)\n' : ''}${end}`;
  writeFileSync(readmePath, readme.slice(0, i) + block + readme.slice(j + end.length));
}
process.stdout.write(`results.mjs: wrote ${join(benchDir, 'RESULTS.md')}\n`);

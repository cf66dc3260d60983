// The printed table and bench/RESULTS.md: the latest run in full, then a History section that every
// run appends one entry to (earlier entries are read back and kept as they are).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpuUsPerRequest, type LoadResult } from './load.ts';
import type { ProfileSummary } from './profile.ts';

export type CeilingId = 'a' | 'b' | 'c';

export interface Row {
  id: string;
  label: string;
  load: LoadResult;
  /** Which ceiling this scenario is measured against (ceilings themselves: none). */
  ceiling?: CeilingId;
  /** That ceiling measured again in turns with this scenario: the ratios divide by it (else by the ceilings phase's). */
  paired?: LoadResult;
  /** Extra throughput unit (the cycle: cycles/s). */
  unit?: { name: string; perSec: number };
  note?: string;
  /** Runs split over several server processes (the postgres phase): each process's share. */
  processes?: { reqPerSec: number; peakRssMb: number; connections: number }[];
}

/** The postgres phase: device authorization and token polls with DATABASE_URL, one process and two. */
export interface PostgresRun {
  /** Why the phase did not run (PostgreSQL not installed). */
  skipped?: string;
  /** How the throwaway PostgreSQL ran (durability settings, pinning). */
  settings: string;
  /** DATABASE_POOL_SIZE of each server process. */
  poolSize: number;
  /** Pending codes seeded for the polls. */
  codes: number;
  seedSeconds: number;
  /** (b-pg): bare Fastify and one PostgreSQL statement per request, on the same server and core. */
  ceiling?: Row;
  rows: Row[];
}

/** `load`: the size's turns taken together (load.turns: each turn's own). */
export interface GrowthPoint { codes: number; load: LoadResult; seedSeconds: number }
export interface SizeSample { realSeconds: number; virtualSeconds: number; dbMb: number; walMb: number; rows: number; auditRows: number; freePages: number; pages: number }
/** `auditRetentionSeconds`: how long the run's server keeps audit events (AUDIT_RETENTION_DAYS). */
export interface SweepRun { warp: number; codeLifetime: number; sweepInterval: number; auditRetentionSeconds: number; load: LoadResult; samples: SizeSample[] }

export interface Machine {
  nproc: number;
  cpu: string;
  ramGb: number;
  node: string;
  pinned: string;
  loadBefore: number[];
  loadAfter: number[];
}

export interface Report {
  date: string;
  command: string;
  machine: Machine;
  options: Record<string, string | number | boolean>;
  ceilings: Record<CeilingId, Row | undefined>;
  scenarios: Row[];
  growth: GrowthPoint[];
  sweep?: SweepRun;
  postgres?: PostgresRun;
  profiles: { scenario: string; summary: ProfileSummary }[];
  wallSeconds: number;
  problems: string[];
}

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
const pct = (n: number) => `${n >= 0 ? '+' : ''}${(n * 100).toFixed(1)} %`;

/**
 * The scenario against its ceiling: throughput, peak RSS, and `cpu`, the ceiling's server CPU per
 * request over the scenario's (what the throughput ratio would be with the core to themselves).
 */
function ratio(r: Row, rep: Report): { tput?: number; rss?: number; cpu?: number } {
  const c = r.paired ?? (r.ceiling === undefined ? undefined : rep.ceilings[r.ceiling]?.load);
  if (!c) return {};
  const [mine, theirs] = [cpuUsPerRequest(r.load), cpuUsPerRequest(c)];
  return {
    tput: r.load.reqPerSec / c.reqPerSec, rss: r.load.peakRssMb / c.peakRssMb,
    ...(mine === undefined || theirs === undefined ? {} : { cpu: theirs / mine }),
  };
}

/** The change from `first` to `g` by CPU per request, as a throughput change would read (`–` unmeasured). */
function growthByCpu(first: GrowthPoint, g: GrowthPoint): string {
  const [mine, theirs] = [cpuUsPerRequest(g.load), cpuUsPerRequest(first.load)];
  return mine === undefined || theirs === undefined ? '–' : pct(theirs / mine - 1);
}

/** A throughput ratio for the targets, with its CPU-per-request counterpart when measured. */
const withCpu = (q: { tput?: number; cpu?: number }): string => `${f2(q.tput ?? NaN)}×${q.cpu === undefined ? '' : ` (by server CPU per request ${f2(q.cpu)}×)`}`;
const cpuText = (l: LoadResult): string => { const us = cpuUsPerRequest(l); return us === undefined ? '–' : f0(us); };

/** The ceiling a scenario's ratios divide by: `(b)`, with its req/s when it was measured beside the scenario. */
const vsCeiling = (r: Row): string => (r.ceiling === undefined ? '' : `(${r.ceiling})${r.paired === undefined ? '' : ` ${f0(r.paired.reqPerSec)}`}`);

/**
 * a ÷ b as throughput: each divided by its own ceiling first when both were measured beside one, so
 * the machine's drift between the two scenarios cancels out (when they took their turns together,
 * the ceiling is one and the same run, and this is their req/s in the same seconds).
 */
function relative(a: Row, b: Row, rep: Report): number {
  const qa = ratio(a, rep).tput;
  const qb = ratio(b, rep).tput;
  if (a.paired !== undefined && b.paired !== undefined && qa !== undefined && qb !== undefined) return qa / qb;
  return a.load.reqPerSec / b.load.reqPerSec;
}

/** The same comparison by server CPU per request (b's over a's: a's throughput relative to b's, on a core of their own). */
function relativeCpu(a: Row, b: Row): string {
  const [ua, ub] = [cpuUsPerRequest(a.load), cpuUsPerRequest(b.load)];
  return ua === undefined || ub === undefined ? '' : ` (by server CPU per request ${f2(ub / ua)}×)`;
}

function mixText(mix: Record<string, number>, total: number): string {
  const entries = Object.entries(mix);
  if (entries.length === 0) return '–';
  return entries.map(([k, v]) => `${k}: ${f0(v)} (${((v / Math.max(1, total)) * 100).toFixed(1)} %)`).join('; ');
}

export function mainTable(rep: Report): string {
  const head = '| Run | req/s | p50 ms | p99 ms | max ms | peak RSS MB | conn. errors / timeouts | non-2xx | server CPU µs/req | vs ceiling | throughput ratio | CPU ratio | RSS ratio |';
  const sep = '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|';
  const lines = [head, sep];
  const rows = [...Object.values(rep.ceilings).filter((r): r is Row => r !== undefined), ...rep.scenarios];
  for (const r of rows) {
    const q = ratio(r, rep);
    const extra = r.unit ? ` (${f0(r.unit.perSec)} ${r.unit.name})` : '';
    lines.push(`| ${r.label} | ${f0(r.load.reqPerSec)}${extra} | ${f1(r.load.p50)} | ${f1(r.load.p99)} | ${f0(r.load.max)} | ${f1(r.load.peakRssMb)} | ${r.load.errors} / ${r.load.timeouts} | ${f0(r.load.non2xx)} | ${cpuText(r.load)} | ${vsCeiling(r)} | ${q.tput === undefined ? '' : f2(q.tput)} | ${q.cpu === undefined ? '' : f2(q.cpu)} | ${q.rss === undefined ? '' : f2(q.rss)} |`);
  }
  return lines.join('\n');
}

/** Device authorization and token polls on SQLite (when the scenarios phase ran) beside PostgreSQL, one process and two. */
export function postgresTable(rep: Report): string {
  const pg = rep.postgres;
  if (!pg) return '';
  if (pg.skipped !== undefined) return `PostgreSQL phase skipped: ${pg.skipped}`;
  const head = '| Scenario | Store, server processes | req/s | p50 ms | p99 ms | peak RSS MB (each process) | conn. errors / timeouts | non-2xx | vs ceiling | throughput ratio | RSS ratio (worst process) |';
  const sep = '|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|';
  const lines = [head, sep];
  const line = (scenario: string, store: string, r: Row) => {
    const q = ratio(r, rep);
    const each = r.processes !== undefined && r.processes.length > 1;
    const rps = each ? `${f0(r.load.reqPerSec)} (${r.processes?.map((p) => f0(p.reqPerSec)).join(' + ')})` : f0(r.load.reqPerSec);
    const rss = each ? (r.processes?.map((p) => f1(p.peakRssMb)).join(' / ') ?? '') : f1(r.load.peakRssMb);
    lines.push(`| ${scenario} | ${store} | ${rps} | ${f1(r.load.p50)} | ${f1(r.load.p99)} | ${rss} | ${r.load.errors} / ${r.load.timeouts} | ${f0(r.load.non2xx)} | ${vsCeiling(r)} | ${q.tput === undefined ? '' : f2(q.tput)} | ${q.rss === undefined ? '' : f2(q.rss)} |`);
  };
  if (pg.ceiling) line('(b-pg) ceiling: one UPDATE … RETURNING per request', 'PostgreSQL, bare Fastify', pg.ceiling);
  for (const id of ['device_authorization', 'poll']) {
    const scenario = id === 'poll' ? 'token polls' : 'device authorization';
    const sqlite = rep.scenarios.find((r) => r.id === id);
    if (sqlite) line(scenario, 'SQLite, 1', sqlite);
    const one = pg.rows.find((r) => r.id === `pg1_${id}`);
    if (one) line(scenario, 'PostgreSQL, 1', one);
    const two = pg.rows.find((r) => r.id === `pg2_${id}`);
    if (two) line(scenario, 'PostgreSQL, 2 (half the connections each)', two);
  }
  return lines.join('\n');
}

function postgresSection(rep: Report): string {
  const pg = rep.postgres;
  if (!pg) return '';
  const parts = ['### PostgreSQL beside SQLite: device authorization and token polls', ''];
  if (pg.skipped !== undefined) {
    parts.push(`Skipped: ${pg.skipped}.`, '');
    return parts.join('\n');
  }
  parts.push(`The same scenarios, durations and connections with \`DATABASE_URL\` on a throwaway ${pg.settings}. Each server process: \`DATABASE_POOL_SIZE=${pg.poolSize}\`, no Redis (each counts its own rate limits, all at the maximum). ${f0(pg.codes)} pending codes seeded for the polls in ${f1(pg.seedSeconds)} s through the Store interfaces (the seeder's own sessions with synchronous_commit=off). Two processes: the same database and SERVER_SECRET, all server processes and PostgreSQL on CPU 0, two autocannon instances in parallel on CPU 1 with half the connections each; req/s is their sum, latencies the worse of the two. With one core for the whole server side, a second process adds no CPU: the two-process rows measure the cost of sharing, not scaling.`, '');
  parts.push(postgresTable(rep), '');
  for (const r of pg.rows) parts.push(`- ${r.label}: ${mixText(r.load.mix, r.load.responses)}${r.load.exhausted === undefined ? '' : `; stopped early: ${r.load.exhausted}`}`);
  parts.push('');
  return parts.join('\n');
}

function growthTable(rep: Report): string {
  const lines = ['| Live pending codes | req/s | each turn | change vs first | server CPU µs/req | each turn | change vs first (by CPU) | p50 ms | p99 ms | peak RSS MB | answers |', '|---:|---:|---|---:|---:|---|---:|---:|---:|---:|---|'];
  const first = rep.growth[0];
  for (const g of rep.growth) {
    const change = first ? g.load.reqPerSec / first.load.reqPerSec - 1 : 0;
    const cpuChange = first === undefined ? '–' : growthByCpu(first, g);
    const turns = g.load.turns ?? [];
    lines.push(`| ${f0(g.codes)} | ${f0(g.load.reqPerSec)} | ${turns.map((t) => f0(t.reqPerSec)).join(' / ')} | ${pct(change)} | ${cpuText(g.load)} | ${turns.map((t) => (t.cpuUs === undefined ? '–' : f0(t.cpuUs))).join(' / ')} | ${cpuChange} | ${f1(g.load.p50)} | ${f1(g.load.p99)} | ${f1(g.load.peakRssMb)} | ${mixText(g.load.mix, g.load.responses)} |`);
  }
  return lines.join('\n');
}

function sweepTable(s: SweepRun): string {
  const lines = ['| real s | virtual time | rows in device_authorizations | rows in audit_events | db file MB | -wal MB | free pages / pages |', '|---:|---:|---:|---:|---:|---:|---:|'];
  const every = Math.max(1, Math.round(s.samples.length / 15));
  s.samples.forEach((x, i) => {
    if (i % every !== 0 && i !== s.samples.length - 1) return;
    lines.push(`| ${f0(x.realSeconds)} | ${f1(x.virtualSeconds / 3600)} h | ${f0(x.rows)} | ${f0(x.auditRows)} | ${f1(x.dbMb)} | ${f1(x.walMb)} | ${f0(x.freePages)} / ${f0(x.pages)} |`);
  });
  return lines.join('\n');
}

interface Verdict { target: string; measured: string; met: boolean | undefined }

/** Once the first retention period is over, the file may still grow by this much at most. */
const SWEEP_BOUND = 0.1;
/**
 * The rows held may follow the arrival rate, but not double: without a sweeper they would, from
 * one retention period's arrivals at the start of the window to two at its end.
 */
const ROWS_BOUND = 0.5;

/**
 * How the file grew once the first rows were past their retention: `growth` is the file's,
 * `rowsGrowth` that of the most rows the tables held since (the retention window holds as many
 * rows as arrived during it, so it follows the arrival rate), and `perRow` the file's growth beyond
 * what those rows need. SQLite never gives pages back to the file, only reuses them, so a bounded
 * file is one that grows no faster than the most rows it has held.
 */
export function sweepVerdict(s: SweepRun): { plateauFrom: number | undefined; growth: number | undefined; rowsGrowth?: number; perRow?: number } {
  // Virtual seconds after which the first codes and the first audit events are past their retention and a sweep has run.
  const settled = Math.max(s.codeLifetime + 3600, s.auditRetentionSeconds) + s.sweepInterval * s.warp;
  const after = s.samples.filter((x) => x.virtualSeconds >= settled);
  const a = after[0];
  const b = after[after.length - 1];
  if (!a || !b || after.length < 3) return { plateauFrom: undefined, growth: undefined };
  const held = (x: SizeSample) => x.rows + x.auditRows;
  const growth = b.dbMb / a.dbMb - 1;
  const rowsGrowth = Math.max(...after.map(held)) / Math.max(1, held(a)) - 1;
  return { plateauFrom: a.realSeconds, growth, rowsGrowth, perRow: (1 + growth) / (1 + rowsGrowth) - 1 };
}

export function verdicts(rep: Report): Verdict[] {
  const out: Verdict[] = [];
  const get = (id: string) => rep.scenarios.find((r) => r.id === id);
  // Issue 19's targets, which include issue 9's (polls ≥ 0.85× (b), device authorization ≥ 1.0× (c)).
  const polls = get('poll');
  if (polls) {
    const q = ratio(polls, rep);
    out.push({ target: 'Token polls ≥ 1.0× ceiling (b)', measured: withCpu(q), met: q.tput === undefined ? undefined : q.tput >= 1.0 });
    out.push({ target: 'Token polls p99 ≤ 15 ms', measured: `${f1(polls.load.p99)} ms`, met: polls.load.p99 <= 15 });
  }
  const da = get('device_authorization');
  if (da) {
    const q = ratio(da, rep);
    out.push({ target: 'Device authorization ≥ 1.3× ceiling (c)', measured: withCpu(q), met: q.tput === undefined ? undefined : q.tput >= 1.3 });
    out.push({ target: 'Device authorization p99 ≤ 20 ms', measured: `${f1(da.load.p99)} ms`, met: da.load.p99 <= 20 });
  }
  const confidential = get('poll_confidential');
  if (polls && confidential) {
    const r = relative(confidential, polls, rep);
    out.push({ target: 'Confidential-client polls ≥ 0.9× public-client polls', measured: `${f2(r)}×${relativeCpu(confidential, polls)}`, met: r >= 0.9 });
  }
  const pgPolls = rep.postgres?.rows.find((r) => r.id === 'pg1_poll');
  if (polls && pgPolls) {
    const r = pgPolls.load.reqPerSec / polls.load.reqPerSec;
    const bound = rep.postgres?.ceiling === undefined ? '' : `; the bare (b-pg) ceiling itself: ${f2(rep.postgres.ceiling.load.reqPerSec / polls.load.reqPerSec)}×`;
    out.push({ target: 'PostgreSQL polls ≥ 0.5× SQLite polls (one process each)', measured: `${f2(r)}×${bound}`, met: r >= 0.5 });
  }
  // Issue 19: an ID token costs at most 1.5× a token-issuing poll without one (its throughput at least 1/1.5 of it).
  const token = get('token');
  const withId = get('token_openid');
  if (token && withId) {
    const cost = relative(token, withId, rep);
    out.push({ target: 'A token-issuing poll with an ID token costs ≤ 1.5× one without', measured: `${f2(cost)}× (${f0(withId.load.reqPerSec)} against ${f0(token.load.reqPerSec)} req/s)${relativeCpu(token, withId)}`, met: cost <= 1.5 });
  }
  // Issue 19: the refresh grant, UserInfo and introspection each at least 0.3× ceiling (b).
  for (const [id, name] of [['refresh', 'Refresh grant'], ['userinfo', 'UserInfo'], ['introspection', 'Introspection']] as const) {
    const r = get(id);
    if (!r) continue;
    const q = ratio(r, rep);
    out.push({ target: `${name} ≥ 0.3× ceiling (b)`, measured: withCpu(q), met: q.tput === undefined ? undefined : q.tput >= 0.3 });
  }
  const rss = rep.scenarios.map((r) => ({ r, q: ratio(r, rep).rss })).filter((x) => x.q !== undefined);
  if (rss.length > 0) {
    const worst = rss.reduce((a, b) => ((b.q ?? 0) > (a.q ?? 0) ? b : a));
    const over = rss.filter((x) => (x.q ?? 0) > 1.3).map((x) => x.r.id);
    out.push({
      target: 'Peak RSS ≤ 1.3× the bare server\'s in the same scenario',
      measured: `worst ${f2(worst.q ?? NaN)}× (${worst.r.id}); over: ${over.length === 0 ? 'none' : over.join(', ')}`,
      met: over.length === 0,
    });
  }
  if (rep.growth.length >= 2) {
    const first = rep.growth[0];
    const last = rep.growth[rep.growth.length - 1];
    if (first && last) {
      const change = last.load.reqPerSec / first.load.reqPerSec - 1;
      const p99 = last.load.p99 / first.load.p99 - 1;
      out.push({ target: `Growth ${f0(first.codes)} → ${f0(last.codes)} codes: throughput within 15 %`, measured: `${pct(change)} (by server CPU per request ${growthByCpu(first, last)})`, met: Math.abs(change) <= 0.15 });
      // Up to 100k codes the tail stays flat; to a million (issue 19) it may at most double.
      const million = last.codes >= 1_000_000;
      out.push({
        target: million ? 'Growth: p99 at most twice the smallest size\'s' : 'Growth: p99 flat (within 15 % of the smallest size\'s)',
        measured: `${f1(first.load.p99)} → ${f1(last.load.p99)} ms (${pct(p99)})`,
        met: million ? p99 <= 1 : p99 <= 0.15,
      });
    }
  }
  if (rep.sweep) {
    const v = sweepVerdict(rep.sweep);
    out.push({
      target: `Database file bounded under constant device authorization (sweeper on): after the first retention period, < ${SWEEP_BOUND * 100} % growth beyond the most rows held, and those < ${ROWS_BOUND * 100} % more than at its start`,
      measured: v.perRow === undefined ? 'run too short to reach the retention period'
        : `${pct(v.perRow)} (the file ${pct(v.growth ?? NaN)} from ${f0(v.plateauFrom ?? 0)} s real to the end, the most rows held ${pct(v.rowsGrowth ?? NaN)})`,
      met: v.perRow === undefined ? undefined : v.perRow < SWEEP_BOUND && (v.rowsGrowth ?? Infinity) < ROWS_BOUND,
    });
  }
  return out;
}

const yesNo = (m: boolean | undefined) => (m === undefined ? 'not measured' : m ? '**met**' : '**not met**');

function profileSection(rep: Report): string {
  if (rep.profiles.length === 0) return '';
  const parts = ['## CPU profiles (server, `--profile`)', ''];
  for (const p of rep.profiles) {
    const s = p.summary;
    parts.push(`### ${p.scenario} — ${f0(s.busyMs)} ms busy, ${f0(s.idleMs)} ms idle (\`${s.file}\`)`, '');
    parts.push('| Self time by package / area | ms | share |', '|---|---:|---:|');
    for (const a of s.areas) parts.push(`| ${a.name} | ${f0(a.ms)} | ${(a.share * 100).toFixed(1)} % |`);
    parts.push('', '| Top self-time functions | ms | share |', '|---|---:|---:|');
    for (const fn of s.functions) parts.push(`| \`${fn.name.replaceAll('|', '\\|')}\` | ${f0(fn.ms)} | ${(fn.share * 100).toFixed(1)} % |`);
    parts.push('');
  }
  return parts.join('\n');
}

export function latestSection(rep: Report): string {
  const m = rep.machine;
  const parts: string[] = [];
  parts.push(`## Latest run: ${rep.date}`, '');
  parts.push(`- Command: \`${rep.command}\``);
  parts.push(`- Machine: ${m.nproc} cores (\`nproc\`), ${m.cpu}, ${f1(m.ramGb)} GB RAM; Node ${m.node}`);
  parts.push(`- Pinning: ${m.pinned}`);
  parts.push(`- Load average (1/5/15 min) before: ${m.loadBefore.map(f2).join(' / ')}, after: ${m.loadAfter.map(f2).join(' / ')} — other work shares this machine, so numbers are noisy`);
  parts.push(`- Options: ${Object.entries(rep.options).map(([k, v]) => `${k}=${String(v)}`).join(', ')}`);
  parts.push(`- Wall time: ${f0(rep.wallSeconds)} s`);
  parts.push('');
  parts.push('### Throughput and latency', '');
  parts.push('Ceilings: (a) bare Fastify, constant JSON to a form POST; (b) + one SQLite PK SELECT and one UPDATE of a random row among 100k; (c) + one SQLite INSERT. Scenarios are compared with: device authorization → (c); token polls, the refresh grant, UserInfo and introspection → (b); everything else → (a). The RSS ratio compares the server\'s peak RSS with the ceiling\'s.', '');
  parts.push('Server CPU µs/req is the CPU time the server process used over the measured run (all its threads, from /proc) per response, and the CPU ratio is its ceiling\'s over the scenario\'s: the throughput ratio the two would have with the core to themselves. CPU time leaves out the time the machine gave to other work, but not what that work costs a request (shared caches, a slower core), so it moves with the machine too: it is a second view, and the targets are judged by throughput.', '');
  if (rep.scenarios.some((r) => r.paired !== undefined)) {
    parts.push(`Each scenario's ceiling was measured again in turns with it (its req/s beside the ceiling's letter): both servers warmed up, then ${String(rep.options.turns)} turns each of ${f1(Number(rep.options.duration) / Number(rep.options.turns))} s, alternating (every other round in reverse order), and the scenario's ratios divide by that run rather than by the ceiling rows above, which ran minutes earlier: the machine's drift over the run then moves both sides of a ratio alike. A side's latencies are over all its turns. Two scenarios that a target compares (confidential against public polls, a token with an ID token against one without) took their turns together with one ceiling, each on a fresh copy of the seeded database, so their comparison is of the same seconds; run apart, each is divided by its own ceiling first.`, '');
  }
  parts.push(mainTable(rep), '');
  const notes = [...Object.values(rep.ceilings), ...rep.scenarios].filter((r): r is Row => r?.note !== undefined || r?.load.exhausted !== undefined);
  if (notes.length > 0) {
    for (const r of notes) parts.push(`- ${r.label}: ${[r.note, r.load.exhausted === undefined ? undefined : `stopped early after ${f1(r.load.seconds)} s: ${r.load.exhausted}`].filter(Boolean).join('; ')}`);
    parts.push('');
  }
  parts.push('### Answers (every response body classified: status and OAuth/PingOne/RSA error code)', '');
  for (const r of rep.scenarios) parts.push(`- ${r.label}: ${mixText(r.load.mix, r.load.responses)}`);
  parts.push('');
  const pgSection = postgresSection(rep);
  if (pgSection !== '') parts.push(pgSection);
  if (rep.growth.length > 0) {
    parts.push('### Growth: token polls against more live codes', '', `Each size has a database and a server of its own; after a warm-up each, the servers took ${rep.growth[0]?.load.turns?.length ?? 1} turns each of ${f1((rep.growth[0]?.load.seconds ?? 0) / (rep.growth[0]?.load.turns?.length ?? 1))} s, every other round in reverse order, and each size reports its turns taken together.`, '', growthTable(rep), '');
  }
  if (rep.sweep) {
    const s = rep.sweep;
    parts.push('### Database size under constant device authorization (sweeper on)', '');
    parts.push(`Codes live ${s.codeLifetime} s; expired ones are kept an hour (EXPIRED_RETENTION_MS) and then swept (SWEEP_INTERVAL_SECONDS=${s.sweepInterval}). Each device authorization is also an audit event (\`device.requested\`), kept ${f1(s.auditRetentionSeconds / 86_400)} day(s) here (AUDIT_RETENTION_DAYS, its shortest; 90 by default) and then swept. To see the steady state within the run, the server's clock runs ${s.warp}× faster than the wall clock (bench/time-warp.ts; one real second is ${s.warp} s for the server). Device authorization load meanwhile: ${f0(s.load.reqPerSec)} req/s, p99 ${f1(s.load.p99)} ms, peak RSS ${f1(s.load.peakRssMb)} MB; answers: ${mixText(s.load.mix, s.load.responses)}.`, '');
    parts.push(sweepTable(s), '');
    const v = sweepVerdict(s);
    const last = s.samples[s.samples.length - 1];
    if (v.growth !== undefined && last) {
      parts.push(`Once the first codes and audit events were past their retention (from ${f0(v.plateauFrom ?? 0)} s real), the sweeper deletes as many rows as arrive: the tables hold ~${f0(last.rows)} device authorizations and ~${f0(last.auditRows)} audit events, and the file stays at ${f1(last.dbMb)} MB (+${f1(last.walMb)} MB of -wal, which SQLite reuses rather than truncates); deleted pages go to the freelist and are reused. The steady state is the arrival rate × the retentions: at real time the same ${f0(s.load.reqPerSec)} req/s would hold ~${f0(s.load.reqPerSec * (s.codeLifetime + 3600))} device authorizations and ~${f0(s.load.reqPerSec * 86_400)} audit events per day of AUDIT_RETENTION_DAYS — bounded, by the retentions much more than by the ${s.codeLifetime} s lifetime.`, '');
    }
  }
  parts.push('### Targets (issues 9 and 19)', '', '| Target | This run | Verdict |', '|---|---|---|');
  for (const v of verdicts(rep)) parts.push(`| ${v.target} | ${v.measured} | ${yesNo(v.met)} |`);
  parts.push('');
  if (rep.problems.length > 0) {
    parts.push('### Problems seen in this run', '');
    for (const p of rep.problems) parts.push(`- ${p}`);
    parts.push('');
  }
  const prof = profileSection(rep);
  if (prof !== '') parts.push(prof);
  return parts.join('\n');
}

function historyEntry(rep: Report): string {
  const m = rep.machine;
  const lines = [`### ${rep.date} — \`${rep.command}\``, '',
    `${m.nproc} cores, ${m.cpu}, Node ${m.node}, load average before ${m.loadBefore.map(f2).join('/')}, after ${m.loadAfter.map(f2).join('/')}`, '',
    '| Run | req/s | p99 ms | peak RSS MB | server CPU µs/req | ratio to ceiling | CPU ratio |', '|---|---:|---:|---:|---:|---:|---:|'];
  for (const r of [...Object.values(rep.ceilings).filter((x): x is Row => x !== undefined), ...rep.scenarios]) {
    const q = ratio(r, rep);
    const beside = r.paired === undefined ? '' : ` (of ${f0(r.paired.reqPerSec)})`;
    lines.push(`| ${r.label} | ${f0(r.load.reqPerSec)} | ${f1(r.load.p99)} | ${f1(r.load.peakRssMb)} | ${cpuText(r.load)} | ${q.tput === undefined ? '' : `${f2(q.tput)}${beside}`} | ${q.cpu === undefined ? '' : f2(q.cpu)} |`);
  }
  for (const r of [...(rep.postgres?.ceiling ? [rep.postgres.ceiling] : []), ...(rep.postgres?.rows ?? [])]) {
    const q = ratio(r, rep);
    const rss = r.processes !== undefined && r.processes.length > 1 ? r.processes.map((p) => f1(p.peakRssMb)).join(' / ') : f1(r.load.peakRssMb);
    lines.push(`| ${r.label} | ${f0(r.load.reqPerSec)} | ${f1(r.load.p99)} | ${rss} | ${cpuText(r.load)} | ${q.tput === undefined ? '' : f2(q.tput)} | |`);
  }
  if (rep.postgres?.skipped !== undefined) lines.push(`| PostgreSQL phase skipped: ${rep.postgres.skipped} | | | | | | |`);
  for (const g of rep.growth) lines.push(`| polls, ${f0(g.codes)} live codes | ${f0(g.load.reqPerSec)} | ${f1(g.load.p99)} | ${f1(g.load.peakRssMb)} | ${cpuText(g.load)} | | |`);
  lines.push('', `Targets: ${verdicts(rep).map((v) => `${v.target}: ${v.measured} (${v.met === undefined ? 'n/a' : v.met ? 'met' : 'not met'})`).join('; ')}`, '');
  return lines.join('\n');
}

const HISTORY = '## History';
/** A hand-kept section (what was changed for speed, with before/after numbers): carried over as it is. */
const CHANGES = '## Changes';
const PREAMBLE = `# Benchmark results

Written by \`npm run bench\` (bench/run.ts; issue 9). The latest run is below in full; every
run also appends a short entry to History, which is never rewritten.
`;

/** Writes the file: preamble, the latest run, then the old History plus this run's entry. */
export function writeResults(file: string, rep: Report): void {
  let history = '';
  let changes = '';
  if (existsSync(file)) {
    const old = readFileSync(file, 'utf8');
    const at = old.indexOf(`\n${HISTORY}\n`);
    if (at >= 0) history = old.slice(at + HISTORY.length + 2).replace(/^\n+/, '').trimEnd();
    else if (old.trim() !== '') history = `### Earlier content (the file had no History section)\n\n${old.trim()}`;
    const from = old.indexOf(`\n${CHANGES}`);
    if (from >= 0) changes = old.slice(from + 1, at > from ? at : undefined).trimEnd();
  }
  const entry = historyEntry(rep);
  const body = [PREAMBLE, latestSection(rep), ...(changes === '' ? [] : [changes, '']), HISTORY, '', history === '' ? entry : `${history}\n\n${entry}`].join('\n');
  writeFileSync(file, `${body.trimEnd()}\n`);
}

// The load generator: autocannon against one server process, or against several in turns
// (runInterleaved), with per-connection request generators, an answer mix taken from every response
// body, the server's CPU time and its peak RSS.
import autocannon from 'autocannon';
import { cpuSeconds, sampleRss } from './procs.ts';

export type Req = autocannon.Request;

/** What a scenario gives each connection: its requests (autocannon loops over them). */
export type ConnectionRequests = (ctl: LoadControl) => Req[];

export interface LoadControl {
  /** Counts one answer in the mix under `key`. */
  count(key: string): void;
  /** Ends the run early (a pool of one-shot items ran dry). */
  exhausted(why: string): void;
}

export interface LoadOptions {
  url: string;
  connections: number;
  duration: number;
  /** Seconds of the same load before measuring (results discarded; RSS is sampled through it). */
  warmup: number;
  /** The server's pid, for RSS. */
  pid: number;
  perConnection: ConnectionRequests;
}

export interface LoadResult {
  reqPerSec: number;
  /** Responses counted over the measured run. */
  responses: number;
  seconds: number;
  p50: number;
  p99: number;
  p90: number;
  max: number;
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  non2xx: number;
  peakRssMb: number;
  mix: Record<string, number>;
  exhausted?: string;
  /** The measured run on the monotonic clock in µs (the clock V8's CPU profiles use): to cut profiles to it. */
  windowUs: [number, number];
  /** CPU seconds the server process used over the measured run (all its threads; procs.ts cpuSeconds). */
  cpuSeconds?: number;
  /** A run taken in turns (runInterleaved): each turn's req/s and the server's CPU µs per request in it. */
  turns?: { reqPerSec: number; cpuUs?: number }[];
}

/** The server's CPU per response in µs, when it was measured. */
export const cpuUsPerRequest = (r: LoadResult): number | undefined =>
  (r.cpuSeconds === undefined || r.responses === 0 ? undefined : (r.cpuSeconds * 1e6) / r.responses);

const ERROR_MEMBER = /"(?:error|code)"\s*:\s*"([^"]{1,64})"/;

/** `<status>` or `<status> <error>` from an OAuth, PingOne, RFC 7807 or RSA error body. */
export function answerKey(status: number, body: string): string {
  if (status >= 200 && status < 300) return String(status);
  const m = ERROR_MEMBER.exec(body);
  return m?.[1] === undefined ? String(status) : `${status} ${m[1]}`;
}

/** Adds mix counting to requests that have no onResponse of their own. */
export function counted(ctl: LoadControl, reqs: Req[]): Req[] {
  return reqs.map((r) => r.onResponse !== undefined ? r : { ...r, onResponse: (status: number, body: string) => { ctl.count(answerKey(status, body)); } });
}

/**
 * One autocannon run as it comes before aggregation (`skipAggregateResult`): its latency histogram
 * is still whole, so that the runs of one server's turns can be merged exactly (`result`).
 */
interface RawRun extends Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx', number> { start: Date; finish: Date }

/** autocannon.aggregateResult, which its type definitions leave out. */
const aggregateResult = (autocannon as unknown as { aggregateResult: (runs: RawRun[], opts: { url: string; connections: number }) => autocannon.Result }).aggregateResult;

interface Turn { raw: RawRun; mix: Map<string, number>; exhausted?: string; windowUs: [number, number]; cpuSeconds?: number }

function once(opts: LoadOptions, seconds: number): Promise<{ raw: RawRun; mix: Map<string, number>; exhausted?: string }> {
  const mix = new Map<string, number>();
  let exhausted: string | undefined;
  let instance: autocannon.Instance | undefined;
  const ctl: LoadControl = {
    count(key) { mix.set(key, (mix.get(key) ?? 0) + 1); },
    exhausted(why) {
      if (exhausted === undefined) {
        exhausted = why;
        setImmediate(() => instance?.stop());
      }
    },
  };
  return new Promise((resolve, reject) => {
    instance = autocannon({
      url: opts.url,
      connections: opts.connections,
      duration: seconds,
      timeout: 10,
      skipAggregateResult: true,
      setupClient: (client) => { client.setRequests(counted(ctl, opts.perConnection(ctl))); },
    }, (err: unknown, result: unknown) => {
      const raw = result as RawRun;
      if (err !== null && err !== undefined) reject(err instanceof Error ? err : new Error('autocannon failed'));
      else resolve(exhausted === undefined ? { raw, mix } : { raw, mix, exhausted });
    });
  });
}

/** CLOCK_MONOTONIC in µs, shared by every process on the machine. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** One measured run of `seconds`, with the server's CPU over it. */
async function measured(opts: LoadOptions, seconds: number): Promise<Turn> {
  const start = monotonicUs();
  const cpu0 = cpuSeconds(opts.pid);
  const run = await once(opts, seconds);
  const cpu1 = cpuSeconds(opts.pid);
  const turn: Turn = { ...run, windowUs: [start, monotonicUs()] };
  if (cpu0 !== undefined && cpu1 !== undefined) turn.cpuSeconds = cpu1 - cpu0;
  return turn;
}

/**
 * The result of one server's measured runs: counts and answers added up, seconds the runs' own
 * (not the gaps between them), latencies from their histograms merged.
 */
function result(opts: LoadOptions, turns: Turn[], cpu: number | undefined, peakRssMb: number): LoadResult {
  const first = turns[0];
  const last = turns.at(-1);
  if (first === undefined || last === undefined) throw new Error('no measured run');
  const all = aggregateResult(turns.map((t) => t.raw), { url: opts.url, connections: opts.connections });
  const responses = answered(all);
  const seconds = turns.reduce((sum, t) => sum + runSeconds(t.raw), 0);
  const mix = new Map<string, number>();
  for (const t of turns) for (const [k, v] of t.mix) mix.set(k, (mix.get(k) ?? 0) + v);
  const out: LoadResult = {
    reqPerSec: responses / seconds,
    responses,
    seconds,
    p50: all.latency.p50,
    p99: all.latency.p99,
    p90: all.latency.p90,
    max: all.latency.max,
    errors: all.errors,
    timeouts: all.timeouts,
    non2xx: all.non2xx,
    peakRssMb,
    mix: Object.fromEntries([...mix.entries()].sort((a, b) => b[1] - a[1])),
    windowUs: [first.windowUs[0], last.windowUs[1]],
  };
  const exhausted = turns.find((t) => t.exhausted !== undefined)?.exhausted;
  if (exhausted !== undefined) out.exhausted = exhausted;
  if (cpu !== undefined) out.cpuSeconds = cpu;
  if (turns.length > 1) out.turns = turns.map(turnRate);
  return out;
}

const answered = (r: Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx', number>): number => r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'];
const runSeconds = (r: RawRun): number => (r.finish.getTime() - r.start.getTime()) / 1000;

function turnRate(t: Turn): { reqPerSec: number; cpuUs?: number } {
  const responses = answered(t.raw);
  const reqPerSec = responses / runSeconds(t.raw);
  return t.cpuSeconds === undefined || responses === 0 ? { reqPerSec } : { reqPerSec, cpuUs: (t.cpuSeconds * 1e6) / responses };
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  // Sampled through the warm-up too: the peak is the process's, whenever it came.
  const rss = sampleRss(opts.pid);
  try {
    if (opts.warmup > 0) await once(opts, opts.warmup);
    const turn = await measured(opts, opts.duration);
    return result(opts, [turn], turn.cpuSeconds, rss.stop());
  } finally {
    rss.stop();
  }
}

/**
 * Several servers measured in turns. After every side's warm-up, `turns` rounds give each side
 * `duration / turns` seconds of load in turn, so that a machine whose speed drifts over seconds or
 * minutes (other work on a shared host) slows every side alike, not only the one that ran then;
 * every other round runs the sides in reverse order.
 * Each side's result adds up its turns; its CPU runs from the start of its first turn to the end of
 * the last round, so that work it leaves over for the others' turns (a checkpoint, a collection)
 * still counts as its own. When a side's one-shot pool runs dry, that round is the last.
 */
export async function runInterleaved(sides: LoadOptions[], turns: number): Promise<LoadResult[]> {
  const rss = sides.map((o) => sampleRss(o.pid));
  const runs: Turn[][] = sides.map(() => []);
  const cpuStart: (number | undefined)[] = [];
  try {
    for (const o of sides) if (o.warmup > 0) await once(o, o.warmup);
    for (let round = 0; round < turns && !runs.some((r) => r.at(-1)?.exhausted !== undefined); round++) {
      // Every other round in reverse, so that no side always comes right after the same other.
      const order = round % 2 === 0 ? [...sides.keys()] : [...sides.keys()].reverse();
      for (const i of order) {
        const o = sides[i] as LoadOptions;
        if (round === 0) cpuStart[i] = cpuSeconds(o.pid);
        runs[i]?.push(await measured(o, o.duration / turns));
      }
    }
    return sides.map((o, i) => {
      const start = cpuStart[i];
      const end = cpuSeconds(o.pid);
      return result(o, runs[i] ?? [], start === undefined || end === undefined ? undefined : end - start, rss[i]?.stop() ?? 0);
    });
  } finally {
    for (const r of rss) r.stop();
  }
}

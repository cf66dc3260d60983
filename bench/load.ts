// The load generator: one autocannon run against one server process, with per-connection request
// generators, an answer mix taken from every response body, and the server's peak RSS.
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

function once(opts: LoadOptions, seconds: number): Promise<{ result: autocannon.Result; mix: Map<string, number>; exhausted?: string }> {
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
      setupClient: (client) => { client.setRequests(counted(ctl, opts.perConnection(ctl))); },
    }, (err: unknown, result) => {
      if (err !== null && err !== undefined) reject(err instanceof Error ? err : new Error('autocannon failed'));
      else resolve(exhausted === undefined ? { result, mix } : { result, mix, exhausted });
    });
  });
}

/** CLOCK_MONOTONIC in µs, shared by every process on the machine. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  // Sampled through the warm-up too: the peak is the process's, whenever it came.
  const rss = sampleRss(opts.pid);
  let run: Awaited<ReturnType<typeof once>>;
  let peak: number;
  const windowUs: [number, number] = [0, 0];
  const cpu: [number | undefined, number | undefined] = [undefined, undefined];
  try {
    if (opts.warmup > 0) await once(opts, opts.warmup);
    windowUs[0] = monotonicUs();
    cpu[0] = cpuSeconds(opts.pid);
    run = await once(opts, opts.duration);
    cpu[1] = cpuSeconds(opts.pid);
    windowUs[1] = monotonicUs();
  } finally {
    peak = rss.stop();
  }
  const { result, mix, exhausted } = run;
  const responses = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  const seconds = (new Date(result.finish).getTime() - new Date(result.start).getTime()) / 1000;
  const out: LoadResult = {
    reqPerSec: responses / seconds,
    responses,
    seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    p90: result.latency.p90,
    max: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    peakRssMb: peak,
    mix: Object.fromEntries([...mix.entries()].sort((a, b) => b[1] - a[1])),
    windowUs,
  };
  if (exhausted !== undefined) out.exhausted = exhausted;
  if (cpu[0] !== undefined && cpu[1] !== undefined) out.cpuSeconds = cpu[1] - cpu[0];
  return out;
}

// Device logins driven over real HTTP against several `serve` instances while a store they share
// restarts under them (restarts-*.test.ts). Every answer is judged as it arrives: the step's own
// success, or a 503 with Retry-After in its surface's shape (the step is then tried again), and
// anything else (a 500, a wrong status or shape, no answer within ANSWER_BOUND_MS) is recorded as a
// problem. Every success is kept, so that afterwards the test can check it still holds: each
// device_code handed out still exists, each approval gave exactly one token, no code gave two.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { cliJson, runCli } from '../cli/run.ts';
import { tempDir } from '../helpers/build.ts';
import { CHECK, CONSENT, UNLIMITED, VERIFY } from './_support.ts';
import { DEVICE_CODE_GRANT, PASSWORD } from './_load.ts';

export { PASSWORD } from './_load.ts';

/**
 * No request may go unanswered longer than this: the pool gives up on a connection after 10 s and
 * a dead Redis answers at once (README "Scaling out"); the rest is headroom for a loaded machine.
 */
export const ANSWER_BOUND_MS = 45_000;
/** How long a step may keep answering 503 before it counts as never recovering. */
const RECOVERY_BOUND_MS = 120_000;
const RETRY_MS = 200;

/** The budgets of the reliability suite lifted, with windows long enough that no test straddles one. */
export const LOAD_ENV: Readonly<Record<string, string>> = {
  ...UNLIMITED,
  RATE_LIMIT_USERINFO: '1000000',
  RATE_LIMIT_WINDOW_SECONDS: '3600',
  PUBLIC_URL: 'http://auth.example.test',
};

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed, when it is JSON. */
  json: Record<string, unknown>;
}

/** One request, its whole answer read; throws when there is none within ANSWER_BOUND_MS. */
export async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, { redirect: 'manual', ...init, signal: AbortSignal.timeout(ANSWER_BOUND_MS) });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') json = JSON.parse(text) as Record<string, unknown>;
  return { status: res.status, headers: res.headers, text, json };
}

export const form = (body: Record<string, string>): RequestInit => ({
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString(),
});

/** The front ends whose 503 is checked, each in its own shape. */
export type Surface = 'oauth' | 'page' | 'flows' | 'veeam' | 'rsa';

/** Why `r` is not a 503 with Retry-After in `surface`'s shape; undefined when it is one. */
export function notUnavailable(surface: Surface, r: Reply): string | undefined {
  if (r.status !== 503) return `status ${r.status}`;
  const retryAfter = Number(r.headers.get('retry-after'));
  if (!Number.isInteger(retryAfter) || retryAfter < 1) return `Retry-After ${String(r.headers.get('retry-after'))}`;
  const type = r.headers.get('content-type') ?? '';
  if (/at .*\.(ts|js):\d+/.test(r.text)) return 'a stack trace in the body';
  switch (surface) {
    case 'oauth': // RFC 6749 §5.2
      return type.startsWith('application/json') && r.json.error === 'temporarily_unavailable' && typeof r.json.error_description === 'string'
        ? undefined : `not RFC 6749 JSON: ${type} ${r.text.slice(0, 200)}`;
    case 'page':
      return type.startsWith('text/html; charset=utf-8') && r.text.startsWith('<!doctype html>') && /<main[ >]/.test(r.text)
        && !/server_error|"error"\s*:/.test(r.text)
        ? undefined : `not the page's HTML: ${type} ${r.text.slice(0, 200)}`;
    case 'flows': // PingOne's envelope
      return type.startsWith('application/json') && r.json.code === 'REQUEST_FAILED' && typeof r.json.message === 'string' && typeof r.json.id === 'string'
        ? undefined : `not the flow API's envelope: ${type} ${r.text.slice(0, 200)}`;
    case 'veeam': // RFC 9457 problem
      return type.startsWith('application/problem+json') && r.json.status === 503 && r.json.error === 'temporarily_unavailable'
        ? undefined : `not a problem document: ${type} ${r.text.slice(0, 200)}`;
    case 'rsa':
      return type.startsWith('application/json') && r.json.status === 503 && r.json.error === 'Service Unavailable'
        && r.json.message === 'The service is temporarily unavailable. Try again later.'
        ? undefined : `not RSA's error body: ${type} ${r.text.slice(0, 200)}`;
  }
}

/** Asserts `r` is a 503 with Retry-After in `surface`'s shape. */
export function assertUnavailable(surface: Surface, r: Reply, what: string): void {
  const why = notUnavailable(surface, r);
  assert.equal(why, undefined, `${what}: expected a 503 in the ${surface} shape: ${why ?? ''}`);
}

export interface Login {
  deviceCode: string;
  userCode: string;
  /** The approval answered COMPLETED: exactly one token must come of it. */
  approved: boolean;
  /** The access tokens its polls were given. */
  tokens: string[];
}

/** What the load saw: its problems, the 503s per surface, and every login it started. */
export class Outcomes {
  readonly problems: string[] = [];
  readonly refusals = new Map<Surface, number>();
  readonly logins: Login[] = [];

  /** 'ok' when `ok(r)`; 'unavailable' for a 503 in the surface's shape; 'wrong' (recorded) otherwise. */
  judge(surface: Surface, what: string, r: Reply, ok: (r: Reply) => boolean): 'ok' | 'unavailable' | 'wrong' {
    if (ok(r)) return 'ok';
    if (r.status === 503) {
      const why = notUnavailable(surface, r);
      if (why === undefined) {
        this.refusals.set(surface, (this.refusals.get(surface) ?? 0) + 1);
        return 'unavailable';
      }
      this.problems.push(`${what}: a 503 of the wrong shape: ${why}`);
      return 'wrong';
    }
    this.problems.push(`${what}: ${r.status} ${r.text.slice(0, 300)}`);
    return 'wrong';
  }

  /** Sends until the answer is `ok` (undefined, and a problem recorded, when it is something else or never comes). */
  async until(surface: Surface, what: string, call: () => Promise<Reply>, ok: (r: Reply) => boolean): Promise<Reply | undefined> {
    const giveUp = Date.now() + RECOVERY_BOUND_MS;
    for (;;) {
      let r: Reply;
      try {
        r = await call();
      } catch (err) {
        this.problems.push(`${what}: no answer (${err instanceof Error ? err.message : String(err)})`);
        return undefined;
      }
      const verdict = this.judge(surface, what, r, ok);
      if (verdict === 'ok') return r;
      if (verdict === 'wrong') return undefined;
      if (Date.now() > giveUp) {
        this.problems.push(`${what}: still 503 after ${RECOVERY_BOUND_MS / 1000} s`);
        return undefined;
      }
      await sleep(RETRY_MS);
    }
  }
}

export interface Deployment {
  clientId: string;
  envId: string;
}

/** What the logins use, made with the CLI on `env`'s store: a client polling every second, and alice. */
export async function deploy(t: TestContext, env: Readonly<Record<string, string>>): Promise<Deployment> {
  const admin = tempDir(t);
  const created = await cliJson<{ client_id: string; environment_id: string }>(admin, ['client', 'create', '--name', 'TV', '--poll-interval', '1'], { env });
  const alice = await runCli(admin, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: `${PASSWORD}\n`, env });
  assert.equal(alice.code, 0, alice.stderr);
  return { clientId: created.client_id, envId: created.environment_id };
}

/** Where one login's steps go: the device asks `start`, the person approves on `approve`, polls alternate over `polls`. */
export interface Route {
  start: string;
  approve: string;
  polls: readonly string[];
}

const isError = (error: string) => (r: Reply) => r.status === 400 && r.json.error === error;

export function deviceAuthorization(base: string, d: Deployment): Promise<Reply> {
  return send(`${base}/oauth/device_authorization`, form({ client_id: d.clientId, scope: 'openid' }));
}

export function poll(base: string, d: Deployment, deviceCode: string): Promise<Reply> {
  return send(`${base}/oauth/token`, form({ grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: d.clientId }));
}

/** A verification flow started on `base` for this browser: its step URL and cookie. */
export interface Flow {
  url: string;
  cookie: string;
}

export function startFlow(base: string, d: Deployment): Promise<Reply> {
  return send(`${base}/${d.envId}/device`);
}

export function flowOf(base: string, d: Deployment, started: Reply): Flow {
  const id = new URL(started.headers.get('location') ?? '').searchParams.get('flowId') ?? '';
  const cookie = started.headers.getSetCookie()[0]?.split(';')[0] ?? '';
  return { url: `${base}/${d.envId}/flows/${id}`, cookie };
}

export function flowStep(flow: Flow, type: string, body: object, base?: string): Promise<Reply> {
  // The same flow may be driven through another instance: only the origin changes.
  const url = base === undefined ? flow.url : `${base}${new URL(flow.url).pathname}`;
  return send(url, { method: 'POST', headers: { 'content-type': type, cookie: flow.cookie }, body: JSON.stringify(body) });
}

const flowStatus = (status: string) => (r: Reply) => r.status === 200 && r.json.status === status;

/**
 * One device login from start to token, every step tried again while it answers 503: the device
 * asks for a code, polls once (pending), the person approves through the flow API, the device
 * polls at its interval until it has the token. False when a step went wrong (recorded).
 */
export async function deviceLogin(o: Outcomes, d: Deployment, route: Route, username = 'alice'): Promise<boolean> {
  const started = await o.until('oauth', 'device authorization', () => deviceAuthorization(route.start, d), (r) => r.status === 200);
  if (started === undefined) return false;
  const login: Login = { deviceCode: String(started.json.device_code), userCode: String(started.json.user_code), approved: false, tokens: [] };
  o.logins.push(login);
  let interval = Number(started.json.interval);
  if (!await o.until('oauth', 'a poll before approval', () => poll(route.approve, d, login.deviceCode), isError('authorization_pending'))) return false;

  const entry = await o.until('page', 'the verification page', () => startFlow(route.approve, d), (r) => r.status === 302);
  if (entry === undefined) return false;
  const flow = flowOf(route.approve, d, entry);
  const steps: [string, object, (r: Reply) => boolean][] = [
    [CHECK, { username, password: PASSWORD }, (r) => r.status === 200],
    [VERIFY, { userCode: login.userCode }, flowStatus('DAG_CONSENT_REQUIRED')],
    [CONSENT, { accept: true }, flowStatus('COMPLETED')],
  ];
  for (const [type, body, ok] of steps) {
    if (!await o.until('flows', `flow step ${type.split('.').slice(-2, -1)[0] ?? type}`, () => flowStep(flow, type, body), ok)) return false;
  }
  login.approved = true;

  for (let i = 0; ; i++) {
    await sleep(interval * 1000 + 100);
    const at = route.polls[i % route.polls.length] ?? route.start;
    const r = await o.until('oauth', 'a poll after approval', () => poll(at, d, login.deviceCode), (x) => x.status === 200 || isError('slow_down')(x));
    if (r === undefined) return false;
    if (r.status === 200) {
      login.tokens.push(String(r.json.access_token));
      return true;
    }
    interval += 5;
  }
}

/** A worker running device logins back to back until `stop()`, each on the route `routeOf(n)` gives its n-th login. */
export class LoginWorker {
  completed = 0;
  readonly finished: Promise<void>;

  constructor(o: Outcomes, d: Deployment, stop: () => boolean, routeOf: (n: number) => Route) {
    this.finished = (async () => {
      for (let n = 0; !stop(); n++) {
        if (await deviceLogin(o, d, routeOf(n))) this.completed++;
        else await sleep(RETRY_MS);
      }
    })();
  }
}

/**
 * Devices whose codes nobody approves, polling at their interval over every instance until
 * `stop()`: the polls a real deployment sees most. Each answer is pending (or slow_down, which
 * lengthens that device's interval), or a 503 in RFC 6749's shape.
 */
export async function pendingPolls(o: Outcomes, d: Deployment, instances: readonly string[], stop: () => boolean, devices = 3): Promise<void> {
  const waiting: { login: Login; interval: number; due: number }[] = [];
  for (let i = 0; i < devices; i++) {
    const started = await o.until('oauth', 'device authorization', () => deviceAuthorization(instances[i % instances.length] ?? '', d), (r) => r.status === 200);
    if (started === undefined) return;
    const login: Login = { deviceCode: String(started.json.device_code), userCode: String(started.json.user_code), approved: false, tokens: [] };
    o.logins.push(login);
    waiting.push({ login, interval: Number(started.json.interval), due: 0 });
  }
  for (let n = 0; !stop(); n++) {
    const next = waiting.find((w) => w.due <= Date.now());
    if (next === undefined) {
      await sleep(50);
      continue;
    }
    let r: Reply;
    try {
      r = await poll(instances[n % instances.length] ?? '', d, next.login.deviceCode);
    } catch (err) {
      o.problems.push(`a pending poll: no answer (${err instanceof Error ? err.message : String(err)})`);
      return;
    }
    const verdict = o.judge('oauth', 'a pending poll', r, (x) => isError('authorization_pending')(x) || isError('slow_down')(x));
    if (verdict === 'wrong') return;
    if (isError('slow_down')(r)) next.interval += 5;
    next.due = Date.now() + next.interval * 1000 + 100;
  }
}

/** Polls `done` until it holds; throws, naming `what`, when it has not within `boundMs`. */
export async function eventually(what: string, done: () => boolean | Promise<boolean>, boundMs = 60_000): Promise<void> {
  const giveUp = Date.now() + boundMs;
  while (!await done()) {
    if (Date.now() > giveUp) throw new Error(`${what}: not within ${boundMs / 1000} s`);
    await sleep(100);
  }
}

/**
 * What the load was told still holds, asked of every instance in turn: no problem was recorded;
 * every approval gave exactly one token, and every token is still good (UserInfo answers for it);
 * every device_code handed out is still known, and none that gave a token gives a second.
 */
export async function assertAnswersHold(o: Outcomes, d: Deployment, instances: readonly string[]): Promise<void> {
  assert.deepEqual(o.problems, [], 'every answer was the step\'s own or a 503 in its surface\'s shape');
  const at = (i: number) => instances[i % instances.length] ?? '';
  const tokens = o.logins.flatMap((l) => l.tokens);
  assert.equal(new Set(tokens).size, tokens.length, 'no token twice');
  for (const login of o.logins) {
    if (login.approved) assert.equal(login.tokens.length, 1, `the approval of ${login.userCode} gave exactly one token`);
  }
  for (const [i, token] of tokens.entries()) {
    const info = await send(`${at(i)}/oauth/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(info.status, 200, `a token given out is still good: ${info.text}`);
    assert.equal(typeof info.json.sub, 'string');
  }
  for (const [i, login] of o.logins.entries()) {
    const r = await poll(at(i), d, login.deviceCode);
    assert.notEqual(r.json.error_description, 'unknown device_code', `the device_code handed out for ${login.userCode} still exists`);
    if (login.tokens.length > 0) {
      assert.equal(r.status, 400, `a code that gave a token gives no second one: ${r.text}`);
      assert.equal(r.json.error, 'invalid_grant');
    } else {
      assert.ok(r.status === 200 || ['authorization_pending', 'slow_down'].includes(String(r.json.error)), `a code not yet redeemed is still pending: ${r.status} ${r.text}`);
    }
  }
}

/** The load of both restart tests, running until `finish` (or the test's end). */
export interface Load {
  /** Waits until each worker has completed two more logins (both routes, so on both instances). */
  completeAgain(what: string): Promise<void>;
  /** Stops the load and waits for its last requests. */
  finish(): Promise<void>;
}

/**
 * Two people's device logins back to back, each starting on one instance and approved on the other
 * (alternating), and three devices nobody approves polling both; returns once each worker has
 * completed a login.
 */
export async function startLoad(t: TestContext, o: Outcomes, d: Deployment, a: string, b: string): Promise<Load> {
  let stopping = false;
  const stop = () => stopping;
  t.after(() => { stopping = true; });
  const workers = [0, 1].map((w) => new LoginWorker(o, d, stop, (n) => {
    const [first, second] = (w + n) % 2 === 0 ? [a, b] : [b, a];
    return { start: first, approve: second, polls: [second, first] };
  }));
  const polling = pendingPolls(o, d, [a, b], stop);
  await eventually('device logins complete before the outage', () => workers.every((w) => w.completed >= 1), 120_000);
  return {
    async completeAgain(what) {
      const before = workers.map((w) => w.completed);
      await eventually(what, () => workers.every((w, i) => w.completed >= (before[i] ?? 0) + 2), 120_000);
    },
    async finish() {
      stopping = true;
      await Promise.all([...workers.map((w) => w.finished), polling]);
    },
  };
}

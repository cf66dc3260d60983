// Two instances of the server on one Redis (and one database, as behind a load balancer): each is
// its own app with its own services, sharing only what a real second process would share.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { build, TestClock, type BuildOptions, type TestApp } from '../helpers/build.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

export const PASSWORD = 'correct horse battery';
export const CHECK = 'application/vnd.pingidentity.usernamePassword.check+json';
export const VERIFY = 'application/vnd.pingidentity.deviceAuthGrant.userCode.verify+json';

export interface Pair {
  redis: TestRedis;
  a: TestApp;
  b: TestApp;
}

export async function twoInstances(t: TestContext, env: Record<string, string> = {}, o: { password?: string; logger?: BuildOptions['logger'] } = {}): Promise<Pair> {
  const redis = await startRedis(t, o.password === undefined ? {} : { password: o.password });
  const clock = new TestClock();
  const shared = { ...env, REDIS_URL: redis.url };
  const a = await build(t, { env: shared, clock, ...(o.logger === undefined ? {} : { logger: o.logger }) });
  const b = await build(t, { env: shared, clock, dir: a.dir });
  return { redis, a, b };
}

/** A flow API session from `remoteAddress`, signed in as `username`, at the code step. */
export async function flowAtCode(h: TestApp, remoteAddress: string, username = 'alice') {
  const started = await h.inject({ method: 'GET', url: `/${h.services.defaultEnv.id}/device`, remoteAddress });
  assert.equal(started.statusCode, 302, started.body);
  const flowId = new URL(String(started.headers.location)).searchParams.get('flowId') ?? '';
  const cookie = String(started.headers['set-cookie']).split(';')[0] ?? '';
  const url = `/${h.services.defaultEnv.id}/flows/${flowId}`;
  const post = (type: string, body: object) =>
    h.inject({ method: 'POST', url, remoteAddress, headers: { cookie, 'content-type': type }, payload: JSON.stringify(body) });
  const signedIn = await post(CHECK, { username, password: PASSWORD });
  assert.equal(signedIn.statusCode, 200, signedIn.body);
  return { verify: (userCode: string) => post(VERIFY, { userCode }) };
}

export function flowError(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.json<{ code: string }>().code, code);
}

/** A code no device holds here: these tests start no device authorization where it is used. */
export const WRONG_CODE = 'BBBB-BBBB';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits (polling /readyz) until the app sees Redis as `up`. */
export async function untilRedis(h: TestApp, up: boolean): Promise<void> {
  const until = Date.now() + 5000;
  for (;;) {
    const res = await h.inject({ method: 'GET', url: '/readyz' });
    if (res.json<{ checks: { redis?: boolean } }>().checks.redis === up) return;
    if (Date.now() > until) throw new Error(`Redis never became ${up ? 'reachable' : 'unreachable'}: ${res.body}`);
    await sleep(50);
  }
}

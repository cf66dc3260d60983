// Redis stopped mid-test (README "Shared limits"): the guess budget fails closed, a 503
// with Retry-After in each surface's shape, and answers at once; the plain limits fail open to
// per-instance counters, so sign-ins and device logins go on; readiness and metrics say so, the
// log says it once and never shows the password; everything recovers when Redis is back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Writable } from 'node:stream';
import { loggerOptions } from '../../src/http/logging.ts';
import { encodeForm, type TestApp } from '../helpers/build.ts';
import { startRedis } from '../helpers/redis.ts';
import { build } from '../helpers/build.ts';
import { assertHtmlPage, PageBrowser } from '../pages/_support.ts';
import { REDEEM_PATH, RSA_APP_ID, assertRsaError } from '../rsa/_support.ts';
import { flowAtCode, flowError, PASSWORD, twoInstances, untilRedis, WRONG_CODE } from './_support.ts';

const REDIS_PASSWORD = 'redis-password-never-logged';

function sample(metrics: string, name: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function readiness(h: TestApp): Promise<{ statusCode: number; status: string; redis: boolean | undefined }> {
  const res = await h.inject({ method: 'GET', url: '/readyz' });
  const body = res.json<{ status: string; checks: { redis?: boolean } }>();
  return { statusCode: res.statusCode, status: body.status, redis: body.checks.redis };
}

test('with Redis down, codes are refused (503) in each surface\'s shape while sign-ins and limits go on; all recovers', async (t) => {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString('utf8')); done(); } });
  const { redis, a, b } = await twoInstances(t, { RATE_LIMIT_DEVICE_AUTHORIZATION: '2' }, {
    password: REDIS_PASSWORD, logger: { ...loggerOptions('info', false), stream },
  });
  await a.user('alice', PASSWORD);
  const client = await a.publicClient();
  const authorize = (h: TestApp) => h.form('/oauth/device_authorization', { client_id: client.clientId });
  const started = await authorize(a);
  assert.equal(started.statusCode, 200);
  const userCode = started.json<{ user_code: string }>().user_code;
  const flow = await flowAtCode(a, '192.0.2.50');
  const page = new PageBrowser(b);
  await page.open('/device');
  await page.submit({ username: 'alice', password: PASSWORD });
  assert.equal((await readiness(a)).status, 'ready');

  await redis.stop();

  // The guess budget fails closed, at once, in each surface's own shape.
  const before = Date.now();
  const api = await flow.verify(WRONG_CODE);
  assert.ok(Date.now() - before < 1000, 'a dead Redis answers fast');
  flowError(api, 503, 'REQUEST_FAILED');
  assert.equal(api.headers['retry-after'], '5');
  const shown = await page.submit({ user_code: userCode });
  assertHtmlPage(shown, 503);
  assert.equal(shown.headers['retry-after'], '5');
  assert.match(shown.body, /Codes cannot be checked just now/);
  assert.match(shown.body, /name="user_code"/, 'the code form again, to try once more');
  const redeem = await a.inject({
    method: 'POST', url: REDEEM_PATH, headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ deviceRegistrationCode: '123456789', appId: RSA_APP_ID, deviceName: 'phone', platform: 'iOS' }),
  });
  assertRsaError(redeem, 503, 'The service is temporarily unavailable. Try again later.');
  assert.equal(redeem.headers['retry-after'], '5');

  // The plain limits fail open to this instance's counters: device logins and sign-ins go on, still limited.
  const counted = await authorize(a);
  assert.equal(counted.statusCode, 200, counted.body);
  assert.equal(counted.headers['ratelimit-remaining'], '1', 'counted afresh in this process');
  assert.equal((await authorize(a)).statusCode, 200);
  assert.equal((await authorize(a)).statusCode, 429, 'and still limited, per instance');
  assert.equal((await authorize(b)).statusCode, 200, 'B counts on its own meanwhile');
  const signIn = await a.inject({
    method: 'POST', url: '/api/oauth2/token', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: encodeForm({ grant_type: 'Password', Username: 'alice', Password: PASSWORD }),
  });
  assert.equal(signIn.statusCode, 200, signIn.body);

  assert.deepEqual(await readiness(a), { statusCode: 200, status: 'degraded', redis: false });
  const metrics = (await a.inject({ method: 'GET', url: '/metrics' })).body;
  assert.equal(sample(metrics, 'dcs_redis_up'), 0);
  assert.ok((sample(metrics, 'dcs_rate_limit_fallbacks_total{limit="device_authorization"}') ?? 0) >= 3, 'every check counted locally is counted');

  await redis.start();
  await untilRedis(a, true);
  await untilRedis(b, true);
  flowError(await flow.verify(WRONG_CODE), 400, 'INVALID_DATA');
  assertHtmlPage(await page.submit({ user_code: userCode }), 200);
  assert.match(page.body, /name="action" value="approve"/, 'the right code, checked again, leads to consent');
  assert.deepEqual(await readiness(a), { statusCode: 200, status: 'ready', redis: true });

  const log = lines.join('');
  assert.ok(!log.includes(REDIS_PASSWORD), 'the Redis password is never logged');
  const entries = lines.map((l) => JSON.parse(l) as { level: number; msg: string; redis?: string });
  const outages = entries.filter((e) => e.msg.startsWith('redis unreachable'));
  assert.equal(outages.length, 1, 'the outage is logged once, not per request');
  const [outage] = outages;
  assert.ok(outage);
  assert.equal(outage.level, 50);
  assert.equal(outage.redis, `redis://127.0.0.1:${redis.port}`, 'the address, without the password');
  assert.ok(entries.some((e) => e.msg.startsWith('redis answers')), 'and so is the recovery');
  assert.ok(entries.some((e) => e.level === 50 && e.msg === 'request failed'), 'each refused code is logged as an error');
});

// `serve` refuses to start on a Redis that does not answer (test/cli/loud-mistakes.test.ts); an app whose
// Redis went away between that check and its first request rides the outage out like any other.
test('an app whose Redis is down from its first request serves with local limits, and shares them once Redis is up', async (t) => {
  const redis = await startRedis(t);
  await redis.stop();
  const h = await build(t, { env: { REDIS_URL: redis.url, RATE_LIMIT_DISCOVERY: '100' } });
  const discovery = () => h.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
  assert.equal((await discovery()).statusCode, 200);
  assert.deepEqual(await readiness(h), { statusCode: 200, status: 'degraded', redis: false });
  await redis.start();
  await untilRedis(h, true);
  assert.equal((await discovery()).headers['ratelimit-remaining'], '99', 'counted in Redis, afresh');
  assert.ok((await h.services.redis?.client.keys('dcs:rl:discovery:*'))?.length === 1);
});

test('a wrong Redis password is refused by Redis, logged without it, and the app still serves (serve refuses to start: test/cli/loud-mistakes.test.ts)', async (t) => {
  const redis = await startRedis(t, { password: REDIS_PASSWORD });
  const wrong = 'a-wrong-password-never-logged';
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString('utf8')); done(); } });
  const h = await build(t, { env: { REDIS_URL: `redis://:${wrong}@127.0.0.1:${redis.port}` }, logger: { ...loggerOptions('trace', false), stream } });
  assert.equal((await h.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).statusCode, 200);
  assert.deepEqual(await readiness(h), { statusCode: 200, status: 'degraded', redis: false });
  await h.user('alice', PASSWORD);
  flowError(await (await flowAtCode(h, '192.0.2.9')).verify(WRONG_CODE), 503, 'REQUEST_FAILED');
  const log = lines.join('');
  assert.match(log, /redis unreachable/);
  assert.ok(!log.includes(wrong), 'the password is in no log line, not even the failed AUTH');
  assert.ok(!log.includes(REDIS_PASSWORD));
});

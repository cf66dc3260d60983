// Two instances on one Redis share every budget (README "Shared limits"): what a caller spends on A is spent on
// B, with the same 429 (Retry-After, RateLimit-*) in each surface's shape; wrong codes entered
// through A's page count on B's flow API and RSA redemption; windows end for both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { RedisConnection } from '../../src/redis/connection.ts';
import { DEVICE_CODE_GRANT, encodeForm, type TestApp } from '../helpers/build.ts';
import { assertOAuthError, basic } from '../oauth/_support.ts';
import { assertHtmlPage, PageBrowser } from '../pages/_support.ts';
import { REDEEM_PATH, RSA_APP_ID, assertRsaError } from '../rsa/_support.ts';
import { assertProblem } from '../veeam/_support.ts';
import { flowAtCode, flowError, PASSWORD, sleep, twoInstances, WRONG_CODE } from './_support.ts';

function assertLimitHeaders(res: LightMyRequestResponse, limit: number): void {
  assert.match(String(res.headers['retry-after']), /^\d+$/);
  assert.equal(res.headers['ratelimit-limit'], String(limit));
  assert.equal(res.headers['ratelimit-remaining'], '0');
  assert.match(String(res.headers['ratelimit-reset']), /^\d+$/);
}

const form = (h: TestApp, url: string, body: Record<string, string>, headers: Record<string, string> = {}, remoteAddress = '192.0.2.10') =>
  h.inject({ method: 'POST', url, remoteAddress, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: encodeForm(body) });

test('a rate limit spent on instance A is refused on B, with Retry-After and RateLimit-*; the window ends for both', async (t) => {
  // A window far longer than the steps take on a loaded machine; its end is brought forward on Redis.
  const { a, b, redis } = await twoInstances(t, { RATE_LIMIT_DISCOVERY: '3', RATE_LIMIT_WINDOW_SECONDS: '60' });
  const discovery = (h: TestApp, remoteAddress = '192.0.2.10') => h.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server', remoteAddress });
  assert.equal((await discovery(a)).headers['ratelimit-remaining'], '2');
  assert.equal((await discovery(b)).headers['ratelimit-remaining'], '1', 'B sees what A counted');
  assert.equal((await discovery(a)).statusCode, 200);
  const refused = await discovery(b);
  assertOAuthError(refused, 429, 'temporarily_unavailable');
  assertLimitHeaders(refused, 3);
  const retryAfter = Number(refused.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= 60, String(retryAfter));
  assert.equal((await discovery(b, '198.51.100.1')).statusCode, 200, 'another source has its own budget');

  const client = new RedisConnection(redis.url);
  t.after(() => client.close());
  await client.connect();
  for (const key of await client.client.keys('dcs:rl:discovery:*')) await client.client.pexpire(key, 20);
  await sleep(100);
  assert.equal((await discovery(b)).statusCode, 200, 'the window ended on Redis\'s clock, for both');
  assert.equal((await discovery(a)).statusCode, 200);
});

test('a confidential client is one caller on every instance, however it sends its credentials', async (t) => {
  // A window long enough for three client authentications on a loaded machine.
  const { a, b } = await twoInstances(t, { RATE_LIMIT_TOKEN: '2', RATE_LIMIT_WINDOW_SECONDS: '60' });
  const { client, secret } = await a.confidentialClient();
  const poll = { grant_type: DEVICE_CODE_GRANT, device_code: 'dc_unknown' };
  assertOAuthError(await form(a, '/oauth/token', poll, { authorization: basic(client.clientId, secret) }), 400, 'invalid_grant');
  assertOAuthError(await form(b, '/oauth/token', { ...poll, client_id: client.clientId, client_secret: secret }, {}, '203.0.113.1'), 400, 'invalid_grant');
  const spent = await form(a, `/${a.services.defaultEnv.id}/as/token`, poll, { authorization: basic(client.clientId, secret) });
  assertOAuthError(spent, 429, 'temporarily_unavailable');
  assertLimitHeaders(spent, 2);
});

test('the per-account sign-in throttle and the Veeam limits are shared too', async (t) => {
  const { a, b } = await twoInstances(t, { ACCOUNT_SIGN_IN_FAILURES: '2', RATE_LIMIT_SESSION: '3' });
  await a.user('alice', PASSWORD);
  const grant = (h: TestApp, username: string, password: string, remoteAddress: string) =>
    form(h, '/api/oauth2/token', { grant_type: 'Password', Username: username, Password: password }, {}, remoteAddress);
  assertProblem(await grant(a, 'alice', 'wrong', '198.51.100.1'), 400, 'invalid_grant');
  assertProblem(await grant(b, 'alice', 'wrong', '198.51.100.2'), 400, 'invalid_grant');
  const throttled = await grant(a, 'alice', PASSWORD, '198.51.100.3');
  assertProblem(throttled, 429, 'too_many_requests');
  assert.match(String(throttled.headers['retry-after']), /^\d+$/);

  // The password grant's own limit, per source: two requests on A, one on B, the fourth refused on A.
  for (const [i, h] of [a, a, b].entries()) assertProblem(await grant(h, `nobody${i}`, 'x', '203.0.113.7'), 400, 'invalid_grant');
  const limited = await grant(a, 'nobody9', 'x', '203.0.113.7');
  assertProblem(limited, 429, 'too_many_requests');
  assertLimitHeaders(limited, 3);
});

test('wrong codes entered through A\'s page exhaust the budget on B\'s flow API and RSA redemption; the window slides for both', async (t) => {
  const { a, b } = await twoInstances(t, { CODE_GUESS_BUDGET: '2', CODE_GUESS_WINDOW_SECONDS: '600' });
  await a.user('alice', PASSWORD);
  const page = new PageBrowser(a);
  await page.open('/device');
  assertHtmlPage(await page.submit({ username: 'alice', password: PASSWORD }), 200);
  assertHtmlPage(await page.submit({ user_code: WRONG_CODE }), 400);
  a.clock.advance(60);
  assertHtmlPage(await page.submit({ user_code: WRONG_CODE }), 400);

  // The page's requests come from inject's default address.
  const onB = await flowAtCode(b, '127.0.0.1');
  const refused = await onB.verify(WRONG_CODE);
  flowError(refused, 429, 'REQUEST_LIMITED');
  assert.equal(refused.headers['retry-after'], '540', 'the oldest wrong code leaves the window in 540 s');
  const redeem = await b.inject({
    method: 'POST', url: REDEEM_PATH, remoteAddress: '127.0.0.1', headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ deviceRegistrationCode: '123456789', appId: RSA_APP_ID, deviceName: 'phone', platform: 'iOS' }),
  });
  assertRsaError(redeem, 429, 'Too many requests.');
  assertHtmlPage(await page.submit({ user_code: WRONG_CODE }), 429);
  flowError(await (await flowAtCode(a, '198.51.100.4')).verify(WRONG_CODE), 400, 'INVALID_DATA');

  a.clock.advance(540);
  flowError(await onB.verify(WRONG_CODE), 400, 'INVALID_DATA');
  flowError(await onB.verify(WRONG_CODE), 429, 'REQUEST_LIMITED');
});

test('wrong codes sent all at once to both instances spend exactly the shared budget: none slips between a look at the count and its guess', async (t) => {
  const { a, b } = await twoInstances(t, { CODE_GUESS_BUDGET: '3', RATE_LIMIT_DEVICE_REGISTRATION: '1000' });
  const redeem = (h: TestApp, code: string) => h.inject({
    method: 'POST', url: REDEEM_PATH, remoteAddress: '192.0.2.77', headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ deviceRegistrationCode: code, appId: RSA_APP_ID, deviceName: 'phone', platform: 'iOS' }),
  });
  const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => redeem(i % 2 === 0 ? a : b, String(400000000 + i))));
  assert.deepEqual(answers.map((r) => r.statusCode).sort(), [...Array<number>(3).fill(400), ...Array<number>(13).fill(429)]);
  for (const r of answers) {
    if (r.statusCode === 400) assertRsaError(r, 400, 'The device registration code is invalid, expired or already used.');
    else assertRsaError(r, 429, 'Too many requests.');
  }
});

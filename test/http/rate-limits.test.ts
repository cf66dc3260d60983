// Rate limits as an attacker tries them (README "Rate limits"): every escape below must fail to buy a fresh
// budget. The limiter's clock is the app's, so windows end when the test says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { FixedWindowLimiter } from '../../src/core/limiter.ts';
import { sourceGroup } from '../../src/http/rate-limit.ts';
import { build, DEVICE_CODE_GRANT, TestClock, type TestApp } from '../helpers/build.ts';
import { assertOAuthError, basic } from '../oauth/_support.ts';
import { assertHtmlPage } from '../pages/_support.ts';
import { assertProblem } from '../veeam/_support.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const CHECK = 'application/vnd.pingidentity.usernamePassword.check+json';
const PASSWORD = 'correct horse battery';

function tokenRequest(h: TestApp, url: string, payload: string, headers: Record<string, string> = {}, remoteAddress = '192.0.2.10'): Promise<LightMyRequestResponse> {
  return h.inject({ method: 'POST', url, headers: { ...FORM, ...headers }, payload, remoteAddress });
}

function assertLimited(res: LightMyRequestResponse): void {
  assertOAuthError(res, 429, 'temporarily_unavailable');
  assert.match(String(res.headers['retry-after']), /^\d+$/);
  assert.equal(res.headers['ratelimit-remaining'], '0');
}

test('the limiter: windows end on the clock, a refund gives one hit back, peek does not count', async () => {
  const clock = new TestClock();
  const l = new FixedWindowLimiter({ max: 2, windowSeconds: 60 }, clock, 1000);
  assert.equal((await l.hit('a')).allowed, true);
  assert.equal((await l.peek('a')).allowed, true);
  assert.equal((await l.hit('a')).remaining, 0);
  assert.equal((await l.peek('a')).allowed, false);
  assert.equal((await l.hit('a')).allowed, false);
  await l.refund('a');
  assert.equal((await l.hit('a')).allowed, false, 'a refund does not undo a refusal beyond the limit');
  clock.advance(60);
  assert.equal((await l.hit('a')).allowed, true, 'a new window');
});

test('inventing keys does not flush an exhausted counter; past capacity new keys share one budget', async () => {
  const clock = new TestClock();
  const l = new FixedWindowLimiter({ max: 2, windowSeconds: 60 }, clock, 1000);
  await l.hit('victim-of-its-own-making');
  await l.hit('victim-of-its-own-making');
  assert.equal((await l.hit('victim-of-its-own-making')).allowed, false);
  let freshAllowed = 0;
  for (let i = 0; i < 5000; i++) if ((await l.hit(`invented-${i}`)).allowed) freshAllowed++;
  assert.equal((await l.hit('victim-of-its-own-making')).allowed, false, 'still exhausted after 5000 invented keys');
  assert.ok(l.size <= 1000, `bounded: ${l.size}`);
  // 999 keys got their own budget (one hit each); the other 4001 shared the overflow's two.
  assert.equal(freshAllowed, 999 + 2);
  clock.advance(60);
  assert.equal((await l.hit('victim-of-its-own-making')).allowed, true, 'expired entries are reclaimed');
});

test('IPv6 sources are grouped by /64; IPv4 and IPv4-mapped addresses are themselves', () => {
  assert.equal(sourceGroup('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  assert.equal(sourceGroup('2001:DB8:1:2::ffff'), '2001:db8:1:2::/64');
  assert.equal(sourceGroup('2001:0db8:0001:0002:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(sourceGroup('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(sourceGroup('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(sourceGroup('::1'), '0:0:0:0::/64');
  assert.equal(sourceGroup('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(sourceGroup('192.0.2.1'), '192.0.2.1');
  assert.notEqual(sourceGroup('2001:db8:1:2::1'), sourceGroup('2001:db8:1:3::1'));
});

test('a confidential client is one caller however it sends its credentials, on the root and per-environment paths', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_TOKEN: '6' } });
  const { client, secret } = await h.confidentialClient();
  const id = client.clientId;
  const b64 = Buffer.from(`${id}:${secret}`).toString('base64');
  const env = `/${h.services.defaultEnv.id}/as/token`;
  const grant = `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT)}&device_code=dc_unknown`;
  // Every spelling authenticates (invalid_grant proves it), and each one spends the same budget.
  const spellings: [string, string, Record<string, string>, string][] = [
    ['form body', '/oauth/token', {}, `${grant}&client_id=${id}&client_secret=${secret}`],
    ['Basic', '/oauth/token', { authorization: basic(id, secret) }, grant],
    ['basic, lower case, extra spaces', '/oauth/token', { authorization: `basic    ${b64}` }, grant],
    ['Basic without padding', env, { authorization: `BASIC ${b64.replace(/=+$/, '')}` }, grant],
    ['percent-encoded client_id', env, {}, `${grant}&client_id=${encodeURIComponent(id).replace(/-/g, '%2D')}&client_secret=${secret}`],
    ['another source address', env, { authorization: basic(id, secret) }, grant],
  ];
  for (const [name, url, headers, payload] of spellings) {
    const res = await tokenRequest(h, url, payload, headers, name === 'another source address' ? '198.51.100.99' : '192.0.2.10');
    assertOAuthError(res, 400, 'invalid_grant');
  }
  assertLimited(await tokenRequest(h, '/oauth/token', grant, { authorization: basic(id, secret) }));
  assertLimited(await tokenRequest(h, env, `${grant}&client_id=${id}&client_secret=${secret}`, {}, '203.0.113.5'));
});

test('a public client\'s budget is per source; the device authorization endpoint has its own', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_TOKEN: '2', RATE_LIMIT_DEVICE_AUTHORIZATION: '2' } });
  const client = await h.publicClient();
  const poll = `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT)}&device_code=dc_x&client_id=${client.clientId}`;
  for (let i = 0; i < 2; i++) assertOAuthError(await tokenRequest(h, '/oauth/token', poll), 400, 'invalid_grant');
  assertLimited(await tokenRequest(h, `/${h.services.defaultEnv.id}/as/token`, poll));
  // Another device, from elsewhere, is not the same caller.
  assertOAuthError(await tokenRequest(h, '/oauth/token', poll, {}, '198.51.100.7'), 400, 'invalid_grant');
  // IPv6: another address of the same /64 is the same source.
  assertOAuthError(await tokenRequest(h, '/oauth/token', poll, {}, '2001:db8:7:7::1'), 400, 'invalid_grant');
  assertOAuthError(await tokenRequest(h, '/oauth/token', poll, {}, '2001:db8:7:7::2'), 400, 'invalid_grant');
  assertLimited(await tokenRequest(h, '/oauth/token', poll, {}, '2001:db8:7:7:ffff:ffff:ffff:ffff'));
  const authorize = `client_id=${client.clientId}`;
  for (let i = 0; i < 2; i++) assert.equal((await tokenRequest(h, '/oauth/device_authorization', authorize)).statusCode, 200);
  assertLimited(await tokenRequest(h, '/oauth/device_authorization', authorize));
  h.clock.advance(60);
  assert.equal((await tokenRequest(h, '/oauth/device_authorization', authorize)).statusCode, 200, 'the window ends');
});

test('unknown clients and wrong secrets are limited per source, before any secret is checked; others are not slowed', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_CLIENT_AUTH_FAILURES: '3' } });
  const { client, secret } = await h.confidentialClient();
  const grant = `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT)}&device_code=dc_x`;
  const attacker = '192.0.2.66';
  const attempts = [
    `${grant}&client_id=nobody-${crypto.randomUUID()}&client_secret=guess`,
    `${grant}&client_id=${client.clientId}&client_secret=wrong`,
    `${grant}&client_id=another-${crypto.randomUUID()}`,
  ];
  for (const payload of attempts) {
    const res = await tokenRequest(h, '/oauth/token', payload, {}, attacker);
    assertOAuthError(res, 401, 'invalid_client');
  }
  // An unknown client and a wrong secret got the same answer.
  const a = (await tokenRequest(h, '/oauth/token', attempts[0] ?? '', {}, '192.0.2.200')).json<{ error_description: string }>();
  const b = (await tokenRequest(h, '/oauth/token', attempts[1] ?? '', {}, '192.0.2.201')).json<{ error_description: string }>();
  assert.equal(a.error_description, b.error_description);
  // Spent: a wrong secret is now refused with 429, not 401: the secret was never checked.
  assertLimited(await tokenRequest(h, '/oauth/token', `${grant}&client_id=${client.clientId}&client_secret=wrong`, {}, attacker));
  assertLimited(await tokenRequest(h, '/oauth/device_authorization', `client_id=nobody-${crypto.randomUUID()}`, {}, attacker));
  // The real client elsewhere authenticates as usual.
  assertOAuthError(await tokenRequest(h, '/oauth/token', `${grant}&client_id=${client.clientId}&client_secret=${secret}`, {}, '198.51.100.1'), 400, 'invalid_grant');
});

function flowRequest(h: TestApp, o: InjectOptions & { remoteAddress: string }): Promise<LightMyRequestResponse> {
  return h.inject(o);
}

async function startFlow(h: TestApp, remoteAddress: string): Promise<{ url: string; cookie: string }> {
  const res = await flowRequest(h, { method: 'GET', url: `/${h.services.defaultEnv.id}/device`, remoteAddress });
  assert.equal(res.statusCode, 302, res.body);
  const flowId = new URL(String(res.headers.location)).searchParams.get('flowId') ?? '';
  return { url: `/${h.services.defaultEnv.id}/flows/${flowId}`, cookie: String(res.headers['set-cookie']).split(';')[0] ?? '' };
}

test('the verification limit is one budget per source across the page and the flow API together', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_VERIFICATION: '4' } });
  const remoteAddress = '192.0.2.30';
  const flow = await startFlow(h, remoteAddress); // 1: /device (the page)
  assert.equal((await flowRequest(h, { method: 'GET', url: flow.url, headers: { cookie: flow.cookie }, remoteAddress })).statusCode, 200); // 2: flow API
  assertHtmlPage(await flowRequest(h, { method: 'GET', url: `/${h.services.defaultEnv.id}/signon?flowId=x`, remoteAddress }), 404); // 3: page
  assert.equal((await flowRequest(h, { method: 'GET', url: flow.url, headers: { cookie: flow.cookie }, remoteAddress })).statusCode, 200); // 4
  const limitedFlow = await flowRequest(h, { method: 'GET', url: flow.url, headers: { cookie: flow.cookie }, remoteAddress });
  assert.equal(limitedFlow.statusCode, 429);
  assert.equal(limitedFlow.json<{ code: string }>().code, 'REQUEST_LIMITED');
  assert.ok(limitedFlow.headers['retry-after']);
  const limitedPage = await flowRequest(h, { method: 'GET', url: '/device', remoteAddress });
  assertHtmlPage(limitedPage, 429);
  assert.ok(limitedPage.headers['retry-after']);
  assert.equal(limitedPage.headers['ratelimit-limit'], '4');
});

test('wrong passwords are throttled per account, whatever the source; unknown accounts alike; other accounts are not', async (t) => {
  const h = await build(t, { env: { ACCOUNT_SIGN_IN_FAILURES: '3', ACCOUNT_SIGN_IN_WINDOW_SECONDS: '900' } });
  await h.user('alice', PASSWORD);
  await h.user('bob', PASSWORD);
  const check = async (username: string, password: string, n: number) => {
    const remoteAddress = `198.51.100.${n}`;
    const flow = await startFlow(h, remoteAddress);
    return flowRequest(h, { method: 'POST', url: flow.url, headers: { cookie: flow.cookie, 'content-type': CHECK }, payload: JSON.stringify({ username, password }), remoteAddress });
  };
  for (let i = 1; i <= 3; i++) assert.equal((await check('alice', 'wrong password', i)).statusCode, 400);
  // From a fourth address, even with the right password: the account rests.
  const throttled = await check('alice', PASSWORD, 4);
  assert.equal(throttled.statusCode, 429, throttled.body);
  assert.equal(throttled.json<{ code: string }>().code, 'REQUEST_LIMITED');
  assert.ok(throttled.headers['retry-after']);
  // The Veeam password grant is the same sign-in: the same throttle.
  assertProblem(await h.form('/api/oauth2/token', { grant_type: 'Password', Username: 'alice', Password: PASSWORD }), 429, 'too_many_requests');
  // Bob is not affected.
  assert.equal((await check('bob', PASSWORD, 5)).statusCode, 200);
  // An unknown account is throttled the same way, so the throttle reveals nothing.
  for (let i = 6; i <= 8; i++) assert.equal((await check('nobody', 'x', i)).statusCode, 400);
  assert.equal((await check('nobody', 'x', 9)).statusCode, 429);
  h.clock.advance(900);
  assert.equal((await check('alice', PASSWORD, 10)).statusCode, 200, 'the window ends');
});

test('a right password gives its attempt back: a user who gets it right is not throttled by their own sign-ins', async (t) => {
  const h = await build(t, { env: { ACCOUNT_SIGN_IN_FAILURES: '2' } });
  await h.user('alice', PASSWORD);
  for (let i = 0; i < 5; i++) {
    const res = await h.form('/api/oauth2/token', { grant_type: 'Password', Username: 'alice', Password: PASSWORD });
    assert.equal(res.statusCode, 200, res.body);
  }
});

test('the page shows the account throttle on the sign-in form, with Retry-After', async (t) => {
  const h = await build(t, { env: { ACCOUNT_SIGN_IN_FAILURES: '1' } });
  await h.user('alice', PASSWORD);
  const { PageBrowser } = await import('../pages/_support.ts');
  const b = new PageBrowser(h);
  await b.open('/device');
  assertHtmlPage(await b.submit({ username: 'alice', password: 'wrong' }), 400);
  const res = await b.submit({ username: 'alice', password: PASSWORD });
  assertHtmlPage(res, 429);
  assert.match(res.body, /too many failed sign-ins for this account/i);
  assert.match(res.body, /name="password"/, 'the sign-in form again');
  assert.ok(res.headers['retry-after']);
});

test('the guess budget groups IPv6 sources by /64', async (t) => {
  const h = await build(t, { env: { CODE_GUESS_BUDGET: '2' } });
  await h.user('alice', PASSWORD);
  const tryCode = async (remoteAddress: string) => {
    const flow = await startFlow(h, remoteAddress);
    await flowRequest(h, { method: 'POST', url: flow.url, headers: { cookie: flow.cookie, 'content-type': CHECK }, payload: JSON.stringify({ username: 'alice', password: PASSWORD }), remoteAddress });
    return flowRequest(h, {
      method: 'POST', url: flow.url, remoteAddress,
      headers: { cookie: flow.cookie, 'content-type': 'application/vnd.pingidentity.deviceAuthGrant.userCode.verify+json' },
      payload: JSON.stringify({ userCode: 'BBBB-BBBB' }),
    });
  };
  assert.equal((await tryCode('2001:db8:5:5::1')).statusCode, 400);
  assert.equal((await tryCode('2001:db8:5:5::2')).statusCode, 400);
  assert.equal((await tryCode('2001:db8:5:5:ffff::9')).statusCode, 429, 'the same /64 shares one budget');
  assert.equal((await tryCode('2001:db8:5:6::1')).statusCode, 400, 'the next /64 has its own');
});

test('429 in each surface\'s own shape, with Retry-After and RateLimit-* headers', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_DISCOVERY: '1', RATE_LIMIT_SESSION: '1', RATE_LIMIT_DEVICE_REGISTRATION: '1' } });
  const twice = async (o: InjectOptions & { url: string }) => {
    await h.inject(o);
    const res = await h.inject(o);
    assert.equal(res.statusCode, 429, `${o.url}: ${res.body}`);
    assert.match(String(res.headers['retry-after']), /^\d+$/);
    for (const name of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) assert.ok(res.headers[name] !== undefined, `${name} on ${o.url}`);
    return res;
  };
  assertOAuthError(await twice({ method: 'GET', url: '/.well-known/openid-configuration' }), 429, 'temporarily_unavailable');
  assertOAuthError(await twice({ method: 'GET', url: '/docs' }), 429, 'temporarily_unavailable');
  assertProblem(await twice({ method: 'POST', url: '/api/oauth2/token', headers: FORM, payload: 'grant_type=Password' }), 429, 'too_many_requests');
  const rsa = await twice({ method: 'POST', url: '/api/v1/devices/registrations', headers: { 'content-type': 'application/json' }, payload: '{}' });
  assert.equal(rsa.json<{ message: string }>().message, 'Too many requests.');
});

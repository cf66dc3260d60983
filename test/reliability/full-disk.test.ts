// A full disk (issue 9 §3): the database cannot grow. Every request that needs room answers a clear
// 503 with Retry-After in its front end's shape (never a 500, never a crash), reads keep working,
// and once there is room again writes succeed and the file is intact.
//
// The disk is "filled" with SQLite's max_page_count on the server's own connection, capped at the
// size the file has: a table then takes new rows only while its last page has room. So each front
// end is driven with writes until its first 503, the way traffic fills a disk, and every answer
// before that must be a success.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { Client } from '../../src/model/records.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { build, DEVICE_CODE_GRANT, type TestApp } from '../helpers/build.ts';
import { assertNoStackTrace, assertOAuthError, decide, poll, startAuthorization } from '../oauth/_support.ts';
import { assertHtmlPage, PASSWORD, signedIn } from '../pages/_support.ts';
import { adminJwt, adminKeyFile, CODE_PATH, LOOKUP_PATH, REDEEM_PATH, RSA_APP_ID, rsaRequest } from '../rsa/_support.ts';
import { assertProblem, getDeviceCode, sessionToken } from '../veeam/_support.ts';
import { assertDatabaseIntact, CHECK, cookieOf, flowIdOf, UNLIMITED, VERIFY } from './_support.ts';

/** More writes than any table's last page can take rows (a 4 KiB page holds at most ~150 of the smallest). */
const MAX_WRITES = 400;
const WRONG_CODE = 'BBBB-BBBB';

/** The server's store, whose connection the test caps. */
function sqliteStore(h: TestApp): SqliteStore {
  const store = h.services.store;
  assert.ok(store instanceof SqliteStore, 'the tests run on the SQLite store');
  return store;
}

/**
 * Sends `write(i)` until it answers 503 and returns that answer; every earlier answer must be a
 * success (`ok`). Fails if the disk never fills within MAX_WRITES writes.
 */
async function untilFull(what: string, write: (i: number) => Promise<LightMyRequestResponse>, ok: (res: LightMyRequestResponse) => boolean): Promise<LightMyRequestResponse> {
  for (let i = 0; i < MAX_WRITES; i++) {
    const res = await write(i);
    if (res.statusCode === 503) {
      assert.equal(res.headers['retry-after'], '30', `${what}: Retry-After`);
      assertNoStackTrace(res.body);
      return res;
    }
    assert.ok(ok(res), `${what}: write ${i} answered ${res.statusCode} before the disk was full: ${res.body.slice(0, 300)}`);
  }
  assert.fail(`${what}: no 503 after ${MAX_WRITES} writes on a full disk`);
}

function assertPingOneUnavailable(res: LightMyRequestResponse): void {
  assert.equal(res.statusCode, 503);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json<Record<string, unknown>>();
  assert.deepEqual(Object.keys(body).sort(), ['code', 'id', 'message']);
  assert.equal(body.code, 'REQUEST_FAILED');
  assert.equal(body.id, res.headers['x-request-id']);
}

function assertRsaUnavailable(res: LightMyRequestResponse, path: string): void {
  assert.equal(res.statusCode, 503);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json<Record<string, unknown>>();
  assert.deepEqual(Object.keys(body), ['timestamp', 'status', 'error', 'message', 'path']);
  assert.deepEqual({ status: body.status, error: body.error, message: body.message, path: body.path },
    { status: 503, error: 'Service Unavailable', message: 'The service is temporarily unavailable. Try again later.', path });
}

function assertPageUnavailable(res: LightMyRequestResponse): void {
  assert.match(assertHtmlPage(res, 503), /Please try again later/);
}

/** A flow started for this browser and signed in as alice, through the flow API (DAG_USER_CODE_REQUIRED). */
async function signedInFlow(h: TestApp): Promise<{ url: string; cookie: string }> {
  const started = await h.inject({ method: 'GET', url: `/${h.services.defaultEnv.id}/device` });
  assert.equal(started.statusCode, 302);
  const flow = { url: `/${h.services.defaultEnv.id}/flows/${flowIdOf(started.headers.location)}`, cookie: cookieOf(started.headers['set-cookie']) };
  const res = await flowPost(h, flow, CHECK, { username: 'alice', password: PASSWORD });
  assert.equal(res.statusCode, 200, res.body);
  return flow;
}

function flowPost(h: TestApp, flow: { url: string; cookie: string }, type: string, body: object): Promise<LightMyRequestResponse> {
  return h.inject({ method: 'POST', url: flow.url, headers: { 'content-type': type, cookie: flow.cookie }, payload: JSON.stringify(body) });
}

function refresh(h: TestApp, client: Client, token: string): Promise<LightMyRequestResponse> {
  return h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: token, client_id: client.clientId });
}

/**
 * A redemption frees its code's row as it adds the device's: the longest device name there may be
 * makes each one need more room than it frees, so the disk does fill.
 */
function redeem(h: TestApp, code: string): Promise<LightMyRequestResponse> {
  return h.inject({
    method: 'POST', url: REDEEM_PATH, headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ deviceRegistrationCode: code, appId: RSA_APP_ID, deviceName: 'p'.repeat(200), platform: 'i'.repeat(64) }),
  });
}

/** Everything the writes below need, made while there is room. */
async function prepare(h: TestApp) {
  const env = h.services.defaultEnv;
  const { client } = await h.services.admin.createClient({ envId: env.id, name: 'TV', scope: 'openid profile', refreshTokens: true });
  const alice = await h.user('alice');
  // Users for registration codes, one code each: cloned from alice (no password hashing needed).
  const users = Array.from({ length: 60 + 100 }, (_, i) => ({ ...alice, id: randomUUID(), username: `rsa${i}`, email: `rsa${i}@example.test` }));
  for (const u of users) await h.services.store.users.create(u);
  const jwt = await adminJwt(h, await adminKeyFile(h));
  const issue = (username: string) => rsaRequest(h, 'POST', CODE_PATH, jwt, { username, appId: RSA_APP_ID });
  // Codes to redeem once the disk is full (the first 60 users get theirs then).
  const codes: string[] = [];
  for (const u of users.slice(60)) codes.push((await issue(u.username)).json<{ deviceRegistrationCode: string }>().deviceRegistrationCode);
  const session = await sessionToken(h, 'alice');
  // getDeviceCode creates the environment's account client on first use: once, now.
  assert.equal((await getDeviceCode(h, `Bearer ${session}`)).statusCode, 200);
  // A refresh token from a device login with offline_access.
  const login = await startAuthorization(h, client, { scope: 'openid offline_access' });
  await decide(h, login.user_code, alice, true);
  const token = (await poll(h, login.device_code, client.clientId)).json<{ refresh_token: string }>().refresh_token;
  // A denied code: polling it only reads.
  const denied = await startAuthorization(h, client);
  await decide(h, denied.user_code, alice, false);
  // Flows waiting for a code: the flow API's wrong codes are what fill the guesses table.
  const flows = [];
  for (let i = 0; i < 40; i++) flows.push(await signedInFlow(h));
  const page = await signedIn(h, '/device', 'alice');
  return { client, alice, users: users.slice(0, 60), jwt, issue, codes, session, token, denied, flows, page };
}

test('a full disk: every write answers 503 + Retry-After in its front end\'s shape, reads work, and writes resume when there is room', async (t) => {
  const h = await build(t, { env: { ...UNLIMITED } });
  const store = sqliteStore(h);
  const env = h.services.defaultEnv;
  const p = await prepare(h);
  const roomy = store.maxPageCount(0);
  const size = store.maxPageCount(1);
  assert.ok(size < roomy, `capped at the file's size (${size} pages)`);

  // OAuth: device authorizations until the table is full.
  const device = (i: number) => h.form('/oauth/device_authorization', { client_id: p.client.clientId, scope: i % 2 === 0 ? 'openid' : 'openid profile' });
  assertOAuthError(await untilFull('device authorization', device, (r) => r.statusCode === 200), 503, 'temporarily_unavailable');
  // Veeam: getDeviceCode writes the same table; the password grant writes a session grant.
  assertProblem(await untilFull('getDeviceCode', () => getDeviceCode(h, `Bearer ${p.session}`), (r) => r.statusCode === 200), 503, 'temporarily_unavailable');
  const veeamToken = () => h.form('/api/oauth2/token', { grant_type: 'Password', Username: 'alice', Password: PASSWORD });
  assertProblem(await untilFull('Veeam session', veeamToken, (r) => r.statusCode === 200), 503, 'temporarily_unavailable');
  // OAuth refresh: each success rotates the token; the failed rotation changes nothing.
  let token = p.token;
  const rotated = await untilFull('refresh', () => refresh(h, p.client, token), (r) => {
    if (r.statusCode !== 200) return false;
    token = r.json<{ refresh_token: string }>().refresh_token;
    return true;
  });
  assertOAuthError(rotated, 503, 'temporarily_unavailable');
  // The page: starting a flow stores it.
  assertPageUnavailable(await untilFull('GET /device', () => h.inject({ method: 'GET', url: '/device' }), (r) => r.statusCode === 302));
  // The flow API: a wrong code is counted (per source) before it is refused.
  const wrong = (i: number) => {
    const flow = p.flows[Math.floor(i / 5)];
    assert.ok(flow, 'enough flows to fill the guesses table');
    return flowPost(h, flow, VERIFY, { userCode: WRONG_CODE });
  };
  assertPingOneUnavailable(await untilFull('flow API wrong code', wrong, (r) => r.statusCode === 400));
  // …and on the page, where the same table is now full.
  const pageWrong = await untilFull('page wrong code', () => p.page.post({ action: 'code', user_code: WRONG_CODE }), (r) => r.statusCode === 400);
  assertPageUnavailable(pageWrong);
  // RSA: new registration codes, and redemptions (which register a device).
  const users = [...p.users];
  const issue = () => p.issue(users.shift()?.username ?? 'nobody');
  assertRsaUnavailable(await untilFull('registration code', issue, (r) => r.statusCode === 200), CODE_PATH);
  const codes = [...p.codes];
  assertRsaUnavailable(await untilFull('redemption', () => redeem(h, codes.shift() ?? ''), (r) => r.statusCode === 201), REDEEM_PATH);

  // Reads need no room.
  for (const url of ['/healthz', '/readyz', '/oauth/jwks', '/.well-known/openid-configuration', `/${env.id}/as/jwks`]) {
    assert.equal((await h.inject({ method: 'GET', url })).statusCode, 200, url);
  }
  assert.equal((await h.inject({ method: 'GET', url: p.flows[0]?.url ?? '', headers: { cookie: p.flows[0]?.cookie ?? '' } })).statusCode, 200);
  assertHtmlPage(await p.page.open(p.page.path), 200);
  assertOAuthError(await poll(h, p.denied.device_code, p.client.clientId), 400, 'access_denied');
  const lookup = await rsaRequest(h, 'POST', LOOKUP_PATH, p.jwt, { username: 'alice' });
  assert.equal(lookup.statusCode, 200, lookup.body);
  assert.equal((await h.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'still serving');

  // Room again: the same writes succeed, and the file is sound.
  store.maxPageCount(roomy);
  assert.equal((await device(0)).statusCode, 200);
  assert.equal((await getDeviceCode(h, `Bearer ${p.session}`)).statusCode, 200);
  assert.equal((await veeamToken()).statusCode, 200);
  assert.equal((await refresh(h, p.client, token)).statusCode, 200, 'the token whose rotation failed still works');
  assert.equal((await h.inject({ method: 'GET', url: '/device' })).statusCode, 302);
  assert.equal((await flowPost(h, await signedInFlow(h), VERIFY, { userCode: WRONG_CODE })).statusCode, 400);
  assert.equal((await p.issue(users.shift()?.username ?? '')).statusCode, 200);
  assert.equal((await redeem(h, codes.shift() ?? '')).statusCode, 201);
  assertDatabaseIntact(h.config.databasePath);
});

// Redeeming an approved code spends it and stores its grant in one transaction
// (DeviceAuthorizationStore.redeem): when the disk fills, the device is told to retry (503) and its
// code is still approved, so the retry gets the token and the person need not approve again.
test('a poll that meets a full disk keeps its approval: the retry gets the token', async (t) => {
  const h = await build(t, { env: { ...UNLIMITED } });
  const store = sqliteStore(h);
  const { client } = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'TV', scope: 'openid' });
  const alice = await h.user('alice');
  const approved = [];
  for (let i = 0; i < 100; i++) {
    const d = await startAuthorization(h, client);
    await decide(h, d.user_code, alice, true);
    approved.push(d.device_code);
  }
  const roomy = store.maxPageCount(0);
  store.maxPageCount(1);
  const codes = [...approved];
  let last = '';
  const redeemNext = () => {
    last = codes.shift() ?? '';
    return h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: last, client_id: client.clientId });
  };
  assertOAuthError(await untilFull('token', redeemNext, (r) => r.statusCode === 200), 503, 'temporarily_unavailable');
  store.maxPageCount(roomy);
  const retry = await poll(h, last, client.clientId);
  assert.equal(retry.statusCode, 200, `the retry after room came back: ${retry.body}`);
});

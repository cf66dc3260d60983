// The PingOne-compatible flow API (docs/vendors.md) over HTTP, against a real SQLite file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { build, DEVICE_CODE_GRANT, type TestApp } from '../helpers/build.ts';

const CHECK = 'application/vnd.pingidentity.usernamePassword.check+json';
const VERIFY = 'application/vnd.pingidentity.deviceAuthGrant.userCode.verify+json';
const CONSENT = 'application/vnd.pingidentity.deviceAuthGrant.consent+json';
const PASSWORD = 'correct horse battery';

interface FlowBody {
  id: string;
  status: string;
  _links: Record<string, { href: string }>;
  _embedded: { user?: { username: string }; application?: { name: string }; scopes?: string[] };
}
interface PingError {
  id: string;
  code: string;
  message: string;
  details?: { code: string; target?: string; message: string; innerError?: { failuresRemaining: number } }[];
}

/** PingOne's documented verify request body, byte for byte (`{\n "userCode": "{{userCode}}"\n}`). */
const documentedVerifyBody = (userCode: string) => `{\n "userCode": "${userCode}"\n}`;

async function startDevice(h: TestApp, clientId: string) {
  const res = await h.form('/oauth/device_authorization', { client_id: clientId });
  assert.equal(res.statusCode, 200);
  return res.json<{ device_code: string; user_code: string }>();
}

async function startFlow(h: TestApp, path = `/${h.services.defaultEnv.id}/device`) {
  const res = await h.inject({ method: 'GET', url: path });
  assert.equal(res.statusCode, 302, res.body);
  const location = new URL(String(res.headers.location));
  const flowId = location.searchParams.get('flowId');
  assert.ok(flowId);
  const cookie = String(res.headers['set-cookie']).split(';')[0] ?? '';
  assert.match(String(res.headers['set-cookie']), /HttpOnly/);
  const url = `/${h.services.defaultEnv.id}/flows/${flowId}`;
  return {
    flowId,
    location,
    cookie,
    url,
    get: (c = cookie) => h.inject({ method: 'GET', url, headers: c ? { cookie: c } : {} }),
    post: (type: string, payload: string | object, c = cookie) =>
      h.inject({ method: 'POST', url, headers: { 'content-type': type, ...(c ? { cookie: c } : {}) }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
  };
}

type Flow = Awaited<ReturnType<typeof startFlow>>;

async function signIn(flow: Flow, username = 'alice'): Promise<void> {
  const res = await flow.post(CHECK, { username, password: PASSWORD });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json<FlowBody>().status, 'DAG_USER_CODE_REQUIRED');
}

function pingError(res: LightMyRequestResponse, status: number, code: string): PingError {
  assert.equal(res.statusCode, status, res.body);
  const body = res.json<PingError>();
  assert.equal(body.code, code);
  assert.equal(typeof body.id, 'string');
  assert.equal(typeof body.message, 'string');
  return body;
}

const poll = (h: TestApp, clientId: string, deviceCode: string) =>
  h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: clientId });

test('the whole flow with PingOne\'s documented request: sign in → verify code → consent → COMPLETED, and the device gets its token', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid profile' });
  await h.user('alice');
  const device = await startDevice(h, client.clientId);
  const flow = await startFlow(h);

  const initial = await flow.get();
  assert.equal(initial.statusCode, 200);
  const body = initial.json<FlowBody & { createdAt: string; expiresAt: string }>();
  assert.equal(body.status, 'USERNAME_PASSWORD_REQUIRED');
  assert.ok(body._links['usernamePassword.check']);
  assert.equal(body._links.self?.href, `http://issuer.test${flow.url}`);
  assert.equal(Date.parse(body.expiresAt) - Date.parse(body.createdAt), 15 * 60 * 1000);
  assert.equal(initial.headers['cache-control'], 'no-store');

  await signIn(flow);
  const verified = await flow.post(VERIFY, documentedVerifyBody(device.user_code));
  assert.equal(verified.statusCode, 200, verified.body);
  const consent = verified.json<FlowBody>();
  assert.equal(consent.status, 'DAG_CONSENT_REQUIRED');
  assert.ok(consent._links['deviceAuthGrant.consent']);
  assert.deepEqual(consent._embedded.application, { name: 'Test TV' });
  assert.deepEqual(consent._embedded.scopes, ['openid', 'profile']);
  assert.equal(consent._embedded.user?.username, 'alice');

  assert.equal((await poll(h, client.clientId, device.device_code)).json<{ error: string }>().error, 'authorization_pending');
  const done = await flow.post(CONSENT, { accept: true });
  assert.equal(done.statusCode, 200);
  assert.equal(done.json<FlowBody>().status, 'COMPLETED');
  assert.deepEqual(Object.keys(done.json<FlowBody>()._links), ['self']);

  h.clock.advance(5);
  const token = await poll(h, client.clientId, device.device_code);
  assert.equal(token.statusCode, 200, token.body);
});

test('refusing consent fails the flow and the device gets access_denied', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('alice');
  const device = await startDevice(h, client.clientId);
  const flow = await startFlow(h);
  await signIn(flow);
  assert.equal((await flow.post(VERIFY, { userCode: device.user_code })).statusCode, 200);
  const refused = await flow.post(CONSENT, { accept: false });
  assert.equal(refused.statusCode, 200);
  assert.equal(refused.json<FlowBody>().status, 'FAILED');
  assert.equal((await poll(h, client.clientId, device.device_code)).json<{ error: string }>().error, 'access_denied');
  // Terminal: a late accept changes nothing.
  pingError(await flow.post(CONSENT, { accept: true }), 400, 'INVALID_REQUEST');
  h.clock.advance(10);
  assert.equal((await poll(h, client.clientId, device.device_code)).json<{ error: string }>().error, 'access_denied');
});

test('a step sent again after its answer was lost (a 503 after the change was stored) is answered as the first was, and changes nothing', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('alice');
  await h.user('bob');
  const device = await startDevice(h, client.clientId);
  const other = await startDevice(h, client.clientId);
  const flow = await startFlow(h);
  await signIn(flow);
  // The sign-in again: the same person's right password repeats the answer; a wrong one or another person is the wrong step.
  const again = await flow.post(CHECK, { username: 'alice', password: PASSWORD });
  assert.equal(again.statusCode, 200, again.body);
  assert.equal(again.json<FlowBody>().status, 'DAG_USER_CODE_REQUIRED');
  pingError(await flow.post(CHECK, { username: 'alice', password: 'wrong password' }), 400, 'INVALID_REQUEST');
  pingError(await flow.post(CHECK, { username: 'bob', password: PASSWORD }), 400, 'INVALID_REQUEST');

  assert.equal((await flow.post(VERIFY, { userCode: device.user_code })).statusCode, 200);
  // The same code again, in any spelling the code box takes; another code is the wrong step and spends nothing.
  for (const spelling of [device.user_code, device.user_code.replace('-', '').toLowerCase()]) {
    const repeated = await flow.post(VERIFY, { userCode: spelling });
    assert.equal(repeated.statusCode, 200, repeated.body);
    assert.equal(repeated.json<FlowBody>().status, 'DAG_CONSENT_REQUIRED');
  }
  pingError(await flow.post(VERIFY, { userCode: other.user_code }), 400, 'INVALID_REQUEST');

  assert.equal((await flow.post(CONSENT, { accept: true })).json<FlowBody>().status, 'COMPLETED');
  const approvedAgain = await flow.post(CONSENT, { accept: true });
  assert.equal(approvedAgain.statusCode, 200, approvedAgain.body);
  assert.equal(approvedAgain.json<FlowBody>().status, 'COMPLETED');
  // A refusal after the approval is not a repeat: the approval stands.
  pingError(await flow.post(CONSENT, { accept: false }), 400, 'INVALID_REQUEST');
  h.clock.advance(10);
  assert.equal((await poll(h, client.clientId, device.device_code)).statusCode, 200);
  assert.equal((await poll(h, client.clientId, other.device_code)).json<{ error: string }>().error, 'authorization_pending');

  const metrics = (await h.inject({ method: 'GET', url: '/metrics' })).body;
  for (const [step, n] of [['sign_in', 1], ['user_code', 2], ['consent', 1]] as const) {
    assert.match(metrics, new RegExp(`^dcs_verifications_total\\{step="${step}",outcome="repeated"\\} ${n}$`, 'm'), step);
  }
  assert.match(metrics, /^dcs_verifications_total\{step="consent",outcome="approved"\} 1$/m);
});

test('GET /device variants: root, per environment, per application; unknown ones are 404', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const env = h.services.defaultEnv.id;
  const root = await h.inject({ method: 'GET', url: '/device?user_code=WDJB-MJHT' });
  assert.equal(root.statusCode, 302);
  const location = new URL(String(root.headers.location));
  assert.equal(location.pathname, `/${env}/signon`);
  assert.equal(location.searchParams.get('user_code'), 'WDJB-MJHT');
  assert.equal(root.headers['cache-control'], 'no-store');
  assert.equal((await h.inject({ method: 'GET', url: `/${env}/device/${client.clientId}` })).statusCode, 302);
  assert.equal((await h.inject({ method: 'GET', url: `/${env}/device/no-such-client` })).statusCode, 404);
  assert.equal((await h.inject({ method: 'GET', url: '/00000000-0000-4000-8000-000000000000/device' })).statusCode, 404);
});

test('a flow started for one application refuses another application\'s code', async (t) => {
  const h = await build(t);
  const tv = await h.publicClient();
  const other = await h.publicClient();
  await h.user('alice');
  const device = await startDevice(h, other.clientId);
  const flow = await startFlow(h, `/${h.services.defaultEnv.id}/device/${tv.clientId}`);
  await signIn(flow);
  const res = pingError(await flow.post(VERIFY, { userCode: device.user_code }), 400, 'INVALID_DATA');
  assert.equal(res.details?.[0]?.target, 'userCode');
});

test('a flow is bound to the browser that created it', async (t) => {
  const h = await build(t);
  await h.user('alice');
  const flow = await startFlow(h);
  const stranger = await startFlow(h); // another browser, with its own cookie
  pingError(await flow.get(''), 404, 'NOT_FOUND');
  pingError(await flow.get(stranger.cookie), 404, 'NOT_FOUND');
  pingError(await flow.post(CHECK, { username: 'alice', password: PASSWORD }, stranger.cookie), 404, 'NOT_FOUND');
  pingError(await flow.get('dcs_browser=not-a-valid-secret'), 404, 'NOT_FOUND');
  assert.equal((await flow.get()).json<FlowBody>().status, 'USERNAME_PASSWORD_REQUIRED');
});

test('flows expire after 15 minutes without activity; activity renews them', async (t) => {
  const h = await build(t);
  await h.user('alice');
  const flow = await startFlow(h);
  h.clock.advance(14 * 60);
  await signIn(flow); // renews
  h.clock.advance(14 * 60);
  assert.equal((await flow.get()).statusCode, 200);
  h.clock.advance(60);
  pingError(await flow.get(), 404, 'NOT_FOUND');
  pingError(await flow.post(VERIFY, { userCode: 'BBBB-BBBB' }), 404, 'NOT_FOUND');
  pingError(await h.inject({ method: 'GET', url: `/${h.services.defaultEnv.id}/flows/00000000-0000-4000-8000-000000000000`, headers: { cookie: flow.cookie } }), 404, 'NOT_FOUND');
});

test('wrong credentials are INVALID_DATA on the password; a disabled user cannot sign in', async (t) => {
  const h = await build(t);
  await h.user('alice');
  await h.user('bob');
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'bob', true);
  const flow = await startFlow(h);
  for (const creds of [{ username: 'alice', password: 'wrong password' }, { username: 'nobody', password: PASSWORD }, { username: 'bob', password: PASSWORD }]) {
    const err = pingError(await flow.post(CHECK, creds), 400, 'INVALID_DATA');
    assert.equal(err.details?.[0]?.code, 'INVALID_VALUE');
    assert.equal(err.details[0].target, 'password');
  }
  assert.equal((await flow.get()).json<FlowBody>().status, 'USERNAME_PASSWORD_REQUIRED');
});

test('media types: one the status does not accept is 400, an unknown one is 415', async (t) => {
  const h = await build(t);
  await h.user('alice');
  const flow = await startFlow(h);
  pingError(await flow.post(VERIFY, { userCode: 'BBBB-BBBB' }), 400, 'INVALID_REQUEST');
  pingError(await flow.post(CONSENT, { accept: true }), 400, 'INVALID_REQUEST');
  pingError(await flow.post('application/vnd.pingidentity.session.reset+json', {}), 415, 'INVALID_REQUEST');
  pingError(await flow.post('application/json', { username: 'alice', password: PASSWORD }), 415, 'INVALID_REQUEST');
  pingError(await flow.post('text/plain', 'hello'), 415, 'INVALID_REQUEST');
  assert.equal((await flow.get()).json<FlowBody>().status, 'USERNAME_PASSWORD_REQUIRED');
});

test('malformed bodies are 400 INVALID_DATA, never a 500', async (t) => {
  const h = await build(t);
  await h.user('alice');
  const flow = await startFlow(h);
  for (const payload of ['{', '', '{"__proto__": {"admin": true}}', '{"constructor": {"prototype": {}}}', '{"username": "alice"}',
    '{"username": "alice", "password": "x", "extra": 1}', '{"username": 5, "password": "x"}', '{"username": "al\\u0000ice", "password": "x"}', '[]']) {
    const res = await flow.post(CHECK, payload);
    assert.ok(res.statusCode === 400, `${payload}: ${res.statusCode} ${res.body}`);
    assert.equal(res.json<PingError>().code, 'INVALID_DATA', payload);
    assert.doesNotMatch(res.body, /\n\s+at /);
  }
  const big = await flow.post(CHECK, JSON.stringify({ username: 'a'.repeat(100_000), password: 'x' }));
  assert.equal(big.statusCode, 413);
  assert.equal((await flow.get()).json<FlowBody>().status, 'USERNAME_PASSWORD_REQUIRED');
});

test('wrong codes count down failuresRemaining; the fifth fails the flow', async (t) => {
  const h = await build(t, { env: { CODE_GUESS_BUDGET: '50' } });
  const client = await h.publicClient();
  await h.user('alice');
  const device = await startDevice(h, client.clientId);
  const flow = await startFlow(h);
  await signIn(flow);
  const wrong = device.user_code === 'BBBB-BBBB' ? 'CCCC-CCCC' : 'BBBB-BBBB';
  for (let remaining = 4; remaining >= 1; remaining--) {
    const err = pingError(await flow.post(VERIFY, documentedVerifyBody(wrong)), 400, 'INVALID_DATA');
    assert.deepEqual(err.details?.[0], { code: 'INVALID_VALUE', target: 'userCode', message: 'that code is not valid', innerError: { failuresRemaining: remaining } });
  }
  const fifth = pingError(await flow.post(VERIFY, documentedVerifyBody(wrong)), 400, 'INVALID_DATA');
  assert.equal(fifth.details?.[0]?.innerError?.failuresRemaining, 0);
  assert.equal((await flow.get()).json<FlowBody>().status, 'FAILED');
  // Even the right code cannot revive a failed flow.
  pingError(await flow.post(VERIFY, documentedVerifyBody(device.user_code)), 400, 'INVALID_REQUEST');
});

test('expired and already-used codes get their own messages and do not count as guesses', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ codeLifetime: 60 });
  await h.user('alice');
  const expired = await startDevice(h, client.clientId);
  h.clock.advance(61);
  const used = await startDevice(h, client.clientId);

  const first = await startFlow(h);
  await signIn(first);
  assert.equal((await first.post(VERIFY, { userCode: used.user_code })).statusCode, 200);
  assert.equal((await first.post(CONSENT, { accept: true })).statusCode, 200);

  const flow = await startFlow(h);
  await signIn(flow);
  const e1 = pingError(await flow.post(VERIFY, { userCode: expired.user_code }), 400, 'INVALID_DATA');
  assert.match(e1.details?.[0]?.message ?? '', /expired/);
  const e2 = pingError(await flow.post(VERIFY, { userCode: used.user_code }), 400, 'INVALID_DATA');
  assert.match(e2.details?.[0]?.message ?? '', /already been used/);
  assert.equal(e2.details?.[0]?.innerError, undefined);
  assert.equal((await flow.get()).json<FlowBody>().status, 'DAG_USER_CODE_REQUIRED');
});

test('a code that expires between verification and consent fails the flow', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ codeLifetime: 60 });
  await h.user('alice');
  const device = await startDevice(h, client.clientId);
  const flow = await startFlow(h);
  await signIn(flow);
  assert.equal((await flow.post(VERIFY, { userCode: device.user_code })).statusCode, 200);
  h.clock.advance(61);
  const err = pingError(await flow.post(CONSENT, { accept: true }), 400, 'INVALID_DATA');
  assert.match(err.details?.[0]?.message ?? '', /expired/);
  assert.equal((await flow.get()).json<FlowBody>().status, 'FAILED');
});

test('two concurrent consents on one code cannot both win', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('alice');
  await h.user('bob');
  const device = await startDevice(h, client.clientId);
  const a = await startFlow(h);
  const b = await startFlow(h);
  await signIn(a, 'alice');
  await signIn(b, 'bob');
  assert.equal((await a.post(VERIFY, { userCode: device.user_code })).statusCode, 200);
  assert.equal((await b.post(VERIFY, { userCode: device.user_code })).statusCode, 200);
  const results = await Promise.all([a.post(CONSENT, { accept: true }), b.post(CONSENT, { accept: false })]);
  assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 400]);
  const winner = results[0].statusCode === 200 ? 'approved' : 'denied';
  const row = await h.services.store.deviceAuthorizations.getByDeviceCodeHash(h.services.secrets.hashCode('device', device.device_code));
  assert.equal(row?.status, winner);

  // And on one flow: a double submit yields one decision.
  const device2 = await startDevice(h, client.clientId);
  const c = await startFlow(h);
  await signIn(c);
  assert.equal((await c.post(VERIFY, { userCode: device2.user_code })).statusCode, 200);
  const twice = await Promise.all([c.post(CONSENT, { accept: true }), c.post(CONSENT, { accept: true })]);
  // The one that reads the flow after the other's approval is a repeat (200); one that read it before is too late (400).
  assert.ok(twice.some((r) => r.statusCode === 200), twice.map((r) => r.body).join('; '));
  for (const r of twice) {
    if (r.statusCode === 200) assert.equal(r.json<FlowBody>().status, 'COMPLETED');
    else pingError(r, 400, 'INVALID_REQUEST');
  }
  const approvals = await h.services.store.audit.list({ envId: h.services.defaultEnv.id, types: ['device.approved'], limit: 10 });
  assert.equal(approvals.filter((e) => e.details.flow === c.flowId).length, 1, 'one decision');
});

test('a user disabled after signing in cannot consent', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('alice');
  const device = await startDevice(h, client.clientId);
  const flow = await startFlow(h);
  await signIn(flow);
  assert.equal((await flow.post(VERIFY, { userCode: device.user_code })).statusCode, 200);
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'alice', true);
  pingError(await flow.post(CONSENT, { accept: true }), 403, 'ACCESS_FAILED');
  assert.equal((await poll(h, client.clientId, device.device_code)).json<{ error: string }>().error, 'authorization_pending');
});

test('the per-source budget of wrong codes answers 429 with Retry-After, survives a restart and is not reset by a success', async (t) => {
  const h = await build(t, { env: { CODE_GUESS_BUDGET: '3', CODE_GUESS_WINDOW_SECONDS: '600' } });
  const client = await h.publicClient();
  await h.user('alice');
  const device = await startDevice(h, client.clientId);
  const wrong = device.user_code === 'BBBB-BBBB' ? 'CCCC-CCCC' : 'BBBB-BBBB';

  const a = await startFlow(h);
  await signIn(a);
  pingError(await a.post(VERIFY, { userCode: wrong }), 400, 'INVALID_DATA');
  pingError(await a.post(VERIFY, { userCode: wrong }), 400, 'INVALID_DATA');
  // A success in between does not refill the budget.
  assert.equal((await a.post(VERIFY, { userCode: device.user_code })).statusCode, 200);

  const b = await startFlow(h);
  await signIn(b);
  pingError(await b.post(VERIFY, { userCode: wrong }), 400, 'INVALID_DATA');
  h.clock.advance(60);
  const limited = await b.post(VERIFY, { userCode: device.user_code });
  const err = pingError(limited, 429, 'REQUEST_LIMITED');
  assert.equal(err.details?.[0]?.code, 'LIMIT_EXCEEDED');
  assert.equal(limited.headers['retry-after'], '540');

  // Restart on the same database: the budget is still spent.
  await h.app.close();
  await h.services.close();
  const again = await build(t, { dir: h.dir, clock: h.clock, env: { CODE_GUESS_BUDGET: '3', CODE_GUESS_WINDOW_SECONDS: '600' } });
  const flow = await startFlow(again);
  await signIn(flow);
  pingError(await flow.post(VERIFY, { userCode: wrong }), 429, 'REQUEST_LIMITED');
  // The window slides: the three failures (all at one instant) leave it together, 600 s on.
  again.clock.advance(539);
  pingError(await flow.post(VERIFY, { userCode: wrong }), 429, 'REQUEST_LIMITED');
  again.clock.advance(2);
  for (let i = 0; i < 3; i++) pingError(await flow.post(VERIFY, { userCode: wrong }), 400, 'INVALID_DATA');
  pingError(await flow.post(VERIFY, { userCode: wrong }), 429, 'REQUEST_LIMITED');
});

// GET /metrics (README "Operations"): Prometheus text with requests by route and status, latency, and what the
// engine did, counted by outcome; optionally behind a bearer token.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build, type TestApp } from '../helpers/build.ts';
import { decide, poll, startAuthorization } from '../oauth/_support.ts';

async function scrape(h: TestApp, authorization?: string): Promise<string> {
  const res = await h.inject({ method: 'GET', url: '/metrics', headers: authorization === undefined ? {} : { authorization } });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return res.body;
}

/** The value of one sample line, e.g. `dcs_token_polls_total{outcome="slow_down"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('metrics count device authorizations, polls by outcome, tokens, verifications, wrong codes and limits', async (t) => {
  const h = await build(t, { env: { CODE_GUESS_BUDGET: '1', RATE_LIMIT_DISCOVERY: '3' } });
  const client = await h.publicClient();
  const alice = await h.user('alice');
  const started = await startAuthorization(h, client);
  await poll(h, started.device_code, client.clientId); // authorization_pending
  await poll(h, started.device_code, client.clientId); // slow_down
  await decide(h, started.user_code, alice, true);
  h.clock.advance(60);
  assert.equal((await poll(h, started.device_code, client.clientId)).statusCode, 200);
  await poll(h, started.device_code, client.clientId); // invalid_grant: used
  // A wrong code through the flow API, then the spent budget.
  const entry = await h.inject({ method: 'GET', url: `/${h.services.defaultEnv.id}/device` });
  const flowId = new URL(String(entry.headers.location)).searchParams.get('flowId') ?? '';
  const cookie = String(entry.headers['set-cookie']).split(';')[0] ?? '';
  const flowUrl = `/${h.services.defaultEnv.id}/flows/${flowId}`;
  const act = (type: string, body: object) => h.inject({ method: 'POST', url: flowUrl, headers: { cookie, 'content-type': type }, payload: JSON.stringify(body) });
  await act('application/vnd.pingidentity.usernamePassword.check+json', { username: 'alice', password: 'correct horse battery' });
  const verify = 'application/vnd.pingidentity.deviceAuthGrant.userCode.verify+json';
  assert.equal((await act(verify, { userCode: 'BBBB-BBBB' })).statusCode, 400);
  assert.equal((await act(verify, { userCode: 'BBBB-BBBB' })).statusCode, 429);
  // From another address: /metrics shares the discovery budget of its own source.
  for (let i = 0; i < 4; i++) await h.inject({ method: 'GET', url: '/oauth/jwks', remoteAddress: '192.0.2.77' });

  const text = await scrape(h);
  assert.equal(sample(text, 'dcs_device_authorizations_total'), 1);
  for (const [outcome, n] of [['authorization_pending', 1], ['slow_down', 1], ['token', 1], ['invalid_grant', 1]] as const) {
    assert.equal(sample(text, `dcs_token_polls_total{outcome="${outcome}"}`), n, outcome);
  }
  assert.equal(sample(text, 'dcs_tokens_issued_total{kind="access"}'), 1);
  assert.equal(sample(text, 'dcs_verifications_total{step="sign_in",outcome="ok"}'), 1);
  assert.equal(sample(text, 'dcs_verifications_total{step="user_code",outcome="invalid_user_code"}'), 1);
  assert.equal(sample(text, 'dcs_verifications_total{step="user_code",outcome="guess_budget_exhausted"}'), 1);
  assert.equal(sample(text, 'dcs_wrong_codes_total{kind="user_code"}'), 1);
  assert.equal(sample(text, 'dcs_guess_budget_exhausted_total{kind="user_code"}'), 1);
  assert.equal(sample(text, 'dcs_rate_limited_total{limit="discovery"}'), 1);
  assert.equal(sample(text, 'dcs_http_requests_total{method="POST",route="/oauth/token",status="400"}'), 3);
  assert.equal(sample(text, 'dcs_http_requests_total{method="POST",route="/oauth/token",status="200"}'), 1);
  assert.equal(sample(text, 'dcs_http_requests_total{method="GET",route="/oauth/jwks",status="429"}'), 1);
  assert.ok((sample(text, 'dcs_http_request_duration_seconds_count{method="POST",route="/oauth/token"}') ?? 0) >= 4);
  assert.match(text, /^dcs_process_cpu_user_seconds_total /m, 'process metrics');
  assert.match(text, /^dcs_nodejs_eventloop_lag_seconds /m);
  // No code, user or client id becomes a label.
  assert.ok(!text.includes(started.user_code) && !text.includes(client.clientId) && !text.includes(alice.id));
});

test('unknown paths are one route label, so scanning cannot grow the metrics', async (t) => {
  const h = await build(t);
  for (let i = 0; i < 20; i++) await h.inject({ method: 'GET', url: `/nothing/${crypto.randomUUID()}` });
  const text = await scrape(h);
  assert.equal(sample(text, 'dcs_http_requests_total{method="GET",route="unmatched",status="404"}'), 20);
  assert.ok(!/route="\/nothing/.test(text));
});

test('registration codes, session tokens and refused sign-ins are counted', async (t) => {
  const h = await build(t, { env: { ACCOUNT_SIGN_IN_FAILURES: '1' } });
  await h.user('alice');
  const grant = (password: string) => h.form('/api/oauth2/token', { grant_type: 'Password', Username: 'alice', Password: password });
  assert.equal((await grant('correct horse battery')).statusCode, 200);
  await grant('wrong');
  assert.equal((await grant('wrong')).statusCode, 429);
  const { adminKeyFile, adminJwt, CODE_PATH, RSA_APP_ID, rsaRequest } = await import('../rsa/_support.ts');
  const jwt = await adminJwt(h, await adminKeyFile(h));
  const code = (await rsaRequest(h, 'POST', CODE_PATH, jwt, { username: 'alice', appId: RSA_APP_ID })).json<{ deviceRegistrationCode: string }>().deviceRegistrationCode;
  await rsaRequest(h, 'POST', '/api/v1/devices/registrations', undefined, { deviceRegistrationCode: code, appId: RSA_APP_ID, deviceName: 'p', platform: 'iOS' });
  const text = await scrape(h);
  assert.equal(sample(text, 'dcs_tokens_issued_total{kind="session"}'), 1);
  assert.equal(sample(text, 'dcs_rate_limited_total{limit="account_sign_in"}'), 1);
  assert.equal(sample(text, 'dcs_registration_codes_total{event="issued"}'), 1);
  assert.equal(sample(text, 'dcs_registration_codes_total{event="redeemed"}'), 1);
});

test('with METRICS_TOKEN, /metrics needs that bearer token', async (t) => {
  const token = 'metrics-token-0123456789';
  const h = await build(t, { env: { METRICS_TOKEN: token } });
  for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${Buffer.from(`x:${token}`).toString('base64')}`, `Bearer ${token}x`]) {
    const res = await h.inject({ method: 'GET', url: '/metrics', headers: authorization === undefined ? {} : { authorization } });
    assert.equal(res.statusCode, 401, String(authorization));
    assert.equal(res.json<{ error: string }>().error, 'invalid_token');
    assert.match(String(res.headers['www-authenticate']), /^Bearer /);
  }
  assert.match(await scrape(h, `Bearer ${token}`), /dcs_http_requests_total/);
});

test('refreshes by outcome, reuse detections and revocations are counted', async (t) => {
  const h = await build(t);
  const client = (await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'CLI', refreshTokens: true })).client;
  const started = await startAuthorization(h, client, { scope: 'openid offline_access' });
  await decide(h, started.user_code, await h.user('alice'), true);
  const first = (await poll(h, started.device_code, client.clientId)).json<{ refresh_token: string }>();
  const refresh = (token: string) => h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: token, client_id: client.clientId });
  const second = (await refresh(first.refresh_token)).json<{ refresh_token: string; access_token: string }>();
  await refresh(first.refresh_token); // reuse: the grant ends
  await h.form('/oauth/revoke', { token: second.access_token, client_id: client.clientId });
  const text = await scrape(h);
  assert.equal(sample(text, 'dcs_refreshes_total{outcome="ok"}'), 1);
  assert.equal(sample(text, 'dcs_refreshes_total{outcome="invalid_grant"}'), 1);
  assert.equal(sample(text, 'dcs_refresh_reuse_total'), 1);
  assert.equal(sample(text, 'dcs_revocations_total{kind="access_token"}'), 1);
});

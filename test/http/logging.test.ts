// The log of a whole day's work holds no secret (README "Operations"): a device login through the page with a
// confidential client, a Veeam session and device code, an RSA admin JWT, a registration code and
// its redemption, and requests that put codes in the query string under percent-encoded names.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { test } from 'node:test';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { buildApp } from '../../src/app.ts';
import pretty from 'pino-pretty';
import { redactUrl, loggerOptions, PRETTY_OPTIONS } from '../../src/http/logging.ts';
import { openServices } from '../../src/services.ts';
import { build, TestClock, tempDir, testConfig, DEVICE_CODE_GRANT, encodeForm } from '../helpers/build.ts';
import { basic } from '../oauth/_support.ts';

interface LogLine {
  level: number;
  reqId?: string;
  msg: string;
  req?: { method: string; url: string; ip?: string };
  res?: { statusCode: number };
  responseTime?: number;
}

/** A Writable that keeps what is written, one entry per write (pino writes one line at a time). */
function collect(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  return { lines, stream: new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString('utf8')); done(); } }) };
}

test('redactUrl recognises parameters by their decoded name', () => {
  assert.equal(redactUrl('/device?user_code=WDJB-MJHT'), '/device?user_code=[REDACTED]');
  assert.equal(redactUrl('/device?user%5Fcode=WDJB-MJHT&x=1'), '/device?user%5Fcode=[REDACTED]&x=1');
  assert.equal(redactUrl('/x?%55SER_CODE=a&ACCESS_TOKEN=b&Device%5fCode=c&plain=d'), '/x?%55SER_CODE=[REDACTED]&ACCESS_TOKEN=[REDACTED]&Device%5fCode=[REDACTED]&plain=d');
  assert.equal(redactUrl('/x?client%5Fsecret=s&bad%ZZname=v'), '/x?client%5Fsecret=[REDACTED]&bad%ZZname=v');
  assert.equal(redactUrl('/no-query'), '/no-query');
});

test('redactUrl redacts path segments and parameter values that hold a token: a JWT, a dc_ device code, an rt_ refresh token', () => {
  const jwt = 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
  const dc = `dc_${'A'.repeat(43)}`;
  const rt = `rt_${'b-_9'.repeat(10)}`;
  assert.equal(redactUrl(`/oauth/userinfo/${jwt}`), '/oauth/userinfo/[REDACTED]');
  assert.equal(redactUrl(`/oauth/userinfo/${jwt.split('.').slice(0, 2).join('.')}.`), '/oauth/userinfo/[REDACTED]', 'signature cut off');
  assert.equal(redactUrl(`/oauth/token/${dc}/x`), '/oauth/token/[REDACTED]/x');
  assert.equal(redactUrl(`/${rt}`), '/[REDACTED]');
  assert.equal(redactUrl(`/x/Bearer%20${jwt}?a=1`), '/x/[REDACTED]?a=1', 'found once decoded');
  assert.equal(redactUrl(`/x/dc%5F${'A'.repeat(43)}`), '/x/[REDACTED]');
  assert.equal(redactUrl(`/x?next=${jwt}&page=2&q=${rt}`), '/x?next=[REDACTED]&page=2&q=[REDACTED]', 'a token under any name');
  // Paths and values without a token are left as they are.
  for (const plain of ['/oauth/device_authorization', '/device/qr.svg?user_code=[REDACTED]', '/api/v1/accounts/created/getDeviceCode',
    '/4f1c0d2e-0000-4000-8000-000000000000/as/token', '/docs/rt_x', '/eyJ', '/x?scope=openid+profile']) {
    assert.equal(redactUrl(plain), plain, plain);
  }
});

test('a full device login, a Veeam session and an RSA registration leave no secret in the log', async (t) => {
  const dir = tempDir(t);
  const clock = new TestClock();
  const services = await openServices(testConfig(dir), { clock });
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString('utf8')); done(); } });
  const app = await buildApp({ services, logger: { ...loggerOptions('trace', false), stream } });
  t.after(async () => {
    await app.close();
    await services.close();
  });
  const secrets: string[] = [];
  const form = (url: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: encodeForm(body) });

  const password = 'correct horse battery staple';
  secrets.push(password);
  await services.admin.users.create({ envId: services.defaultEnv.id, username: 'alice', email: 'alice@example.test', password });
  const { client, secret } = await services.admin.createClient({ envId: services.defaultEnv.id, name: 'Backend', confidential: true });
  secrets.push(secret ?? 'missing');

  // The device asks for a code (Basic), the person signs in on the page and approves, the device gets its token.
  const started = (await form('/oauth/device_authorization', {}, { authorization: basic(client.clientId, secret ?? '') })).json<{ device_code: string; user_code: string }>();
  secrets.push(started.device_code, started.user_code, started.user_code.replace('-', ''));
  const entry = await app.inject({ method: 'GET', url: `/device?user%5Fcode=${started.user_code}` });
  const cookie = String(entry.headers['set-cookie']).split(';')[0] ?? '';
  secrets.push(cookie.split('=')[1] ?? 'missing');
  const page = new URL(String(entry.headers.location));
  const flowId = page.searchParams.get('flowId') ?? '';
  const signon = `${page.pathname}?flowId=${flowId}&%75ser_code=${started.user_code}`;
  const csrfOf = async () => /name="csrf" value="([^"]+)"/.exec((await app.inject({ method: 'GET', url: signon, headers: { cookie } })).body)?.[1] ?? '';
  const csrf = await csrfOf();
  secrets.push(csrf);
  const post = (fields: Record<string, string>) => app.inject({
    method: 'POST', url: page.pathname, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: encodeForm({ flowId, csrf, ...fields }),
  });
  assert.equal((await post({ action: 'signin', username: 'alice', password: 'a wrong password' })).statusCode, 400);
  secrets.push('a wrong password');
  assert.equal((await post({ action: 'signin', username: 'alice', password })).statusCode, 303);
  assert.equal((await post({ action: 'code', user_code: started.user_code })).statusCode, 303);
  assert.equal((await post({ action: 'approve' })).statusCode, 303);
  const token = await form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: started.device_code, client_id: client.clientId, client_secret: secret ?? '' });
  assert.equal(token.statusCode, 200, token.body);
  secrets.push(token.json<{ access_token: string }>().access_token);
  // Codes and tokens where they do not belong: in query strings, under encoded names.
  await app.inject({ method: 'GET', url: `/oauth/jwks?device%5Fcode=${started.device_code}&access%5Ftoken=${token.json<{ access_token: string }>().access_token}` });
  // …and pasted into paths, where no route takes them (404s are logged too).
  assert.equal((await app.inject({ method: 'GET', url: `/oauth/userinfo/${token.json<{ access_token: string }>().access_token}` })).statusCode, 404);
  await app.inject({ method: 'GET', url: `/oauth/token/${started.device_code}` });

  // Veeam: the password grant and getDeviceCode.
  const session = (await form('/api/oauth2/token', { grant_type: 'Password', Username: 'alice', Password: password })).json<{ access_token: string }>().access_token;
  secrets.push(session);
  const dc = await app.inject({ method: 'GET', url: '/api/v1/accounts/created/getDeviceCode', headers: { authorization: `Bearer ${session}` } });
  const veeam = dc.json<{ deviceCode: string; userCode: string }>();
  secrets.push(veeam.deviceCode, veeam.userCode);
  await app.inject({ method: 'GET', url: `/api/v1/accounts/${session}`, headers: { authorization: `Bearer ${session}` } });

  // RSA: an admin key, its JWT, a registration code and its redemption.
  const { file } = await services.adminKeys.create(services.defaultEnv, 'super_admin', 'log test');
  secrets.push(file.accessKey.split('\n')[1] ?? 'missing');
  const iat = Math.floor(clock.now() / 1000);
  const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).setSubject(file.accessID)
    .setAudience(file.adminRestApiUrl).setIssuedAt(iat).setExpirationTime(iat + 3600).sign(createPrivateKey(file.accessKey));
  secrets.push(jwt);
  const issued = await app.inject({
    method: 'POST', url: '/AdminInterface/restapi/v1/users/deviceRegistrationCode',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'alice', appId: '1f00c62b-a5c0-49d3-9ffb-92314d717187' }),
  });
  const code = issued.json<{ deviceRegistrationCode: string }>().deviceRegistrationCode;
  secrets.push(code);
  const redeemed = await app.inject({
    method: 'POST', url: '/api/v1/devices/registrations', headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ deviceRegistrationCode: code, appId: '1f00c62b-a5c0-49d3-9ffb-92314d717187', deviceName: 'phone', platform: 'iOS' }),
  });
  assert.equal(redeemed.statusCode, 201);
  await app.inject({ method: 'GET', url: `/device?deviceRegistrationCode=${code}&password=${encodeURIComponent(password)}` });

  const log = lines.join('');
  const requests = lines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.req !== undefined);
  assert.equal(requests.length, 17, 'every request is logged');
  assert.equal(new Set(requests.map((l) => l.reqId)).size, requests.length, 'one line per request');
  assert.match(log, /"reqId":/, 'lines carry the request id');
  assert.match(log, /\[REDACTED\]/);
  for (const s of secrets) {
    assert.ok(s.length >= 8, `a secret worth looking for: ${s}`);
    assert.ok(!log.includes(s), `the log holds a secret: ${s.slice(0, 12)}…`);
  }
});

test('JSON logs: one line per request, written when the answer is sent, with method, redacted URL, status and time', async (t) => {
  const { lines, stream } = collect();
  const h = await build(t, { logger: { ...loggerOptions('info', false), stream } });
  const client = await h.publicClient();
  const started = await h.form('/oauth/device_authorization', { client_id: client.clientId });
  const { user_code: userCode } = started.json<{ user_code: string }>();
  const entry = await h.inject({ method: 'GET', url: `/device?user_code=${userCode}&lang=en` });
  assert.equal(entry.statusCode, 302);
  await h.inject({ method: 'GET', url: '/no/such/path' });

  const logged = lines.map((l) => JSON.parse(l) as LogLine);
  assert.equal(logged.length, 3, lines.join(''));
  const [device, page, missing] = logged as [LogLine, LogLine, LogLine & { refused?: unknown }];
  assert.equal(device.msg.replace(/ [\d.]+ ms$/, ''), 'POST /oauth/device_authorization 200');
  assert.equal(page.level, 30, 'info');
  assert.equal(page.reqId, entry.headers['x-request-id']);
  assert.deepEqual(page.req, { method: 'GET', url: '/device?user_code=[REDACTED]&lang=en', ip: '127.0.0.0/24' });
  assert.deepEqual(page.res, { statusCode: 302 });
  assert.equal(typeof page.responseTime, 'number');
  assert.match(page.msg, /^GET \/device\?user_code=\[REDACTED\]&lang=en 302 \d+(\.\d)? ms$/);
  assert.match(missing.msg, /^GET \/no\/such\/path 404 \d+(\.\d)? ms route_not_found$/, 'a refusal names its error code');
  assert.deepEqual(missing.refused, { code: 'route_not_found' });
  assert.ok(!lines.join('').includes(userCode), 'the code is not in the log');
});

test('health and readiness probes and metrics scrapes are logged at debug, everything else at info', async (t) => {
  const probes = ['/healthz', '/readyz', '/metrics'];
  const info = collect();
  const h = await build(t, { logger: { ...loggerOptions('info', false), stream: info.stream } });
  for (const url of [...probes, '/oauth/jwks']) assert.equal((await h.inject({ method: 'GET', url })).statusCode, 200, url);
  assert.deepEqual(info.lines.map((l) => (JSON.parse(l) as LogLine).msg.replace(/ [\d.]+ ms$/, '')), ['GET /oauth/jwks 200'], 'probes are quiet at info');

  const debug = collect();
  const d = await build(t, { logger: { ...loggerOptions('debug', false), stream: debug.stream } });
  for (const url of [...probes, '/oauth/jwks']) await d.inject({ method: 'GET', url });
  const byUrl = new Map(debug.lines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.req).map((l) => [l.req?.url, l.level]));
  for (const url of probes) assert.equal(byUrl.get(url), 20, `${url} at debug`);
  assert.equal(byUrl.get('/oauth/jwks'), 30);
});

test('in a terminal (pino-pretty), a request is one line: time, level, request id, method, URL, status, time taken', async (t) => {
  const out = collect();
  const stream = pretty({ ...PRETTY_OPTIONS, colorize: false, sync: true, destination: out.stream });
  const h = await build(t, { logger: { ...loggerOptions('info', false), stream } });
  const client = await h.publicClient();
  const res = await h.inject({ method: 'GET', url: '/device?user_code=WDJB-MJHT' });
  await h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: 'dc_unknown', client_id: client.clientId });
  await h.inject({ method: 'GET', url: '/healthz' });
  const text = out.lines.join('');
  const shown = text.split('\n').filter((l) => l !== '');
  assert.equal(shown.length, 2, text);
  assert.match(shown[0] ?? '', new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] INFO: \\[${String(res.headers['x-request-id'])}\\] GET /device\\?user_code=\\[REDACTED\\] 302 \\d+(\\.\\d)? ms$`));
  assert.match(shown[1] ?? '', /INFO: \[[\w-]+\] POST \/oauth\/token 400 \d+(\.\d)? ms invalid_grant$/);
  assert.ok(!text.includes('WDJB-MJHT'));
});

// The device-login library against a real listening server: discovery, the device authorization
// request, polling at the server's pace, and every way a login ends. Where the client must really
// wait between polls the server's clock follows wall time (1 s intervals); elsewhere the client's
// sleeps advance the server's clock instead (virtualTime), so slow_down and long intervals cost nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { deviceLogin, pollForToken, startDeviceAuthorization, type PollEvent, type UserCodePrompt } from '../../src/client/device-login.ts';
import { discover } from '../../src/client/discovery.ts';
import { DeviceLoginError } from '../../src/client/errors.ts';
import type { FetchLike } from '../../src/client/transport.ts';
import { build } from '../helpers/build.ts';
import { decide } from '../oauth/_support.ts';
import { decideCodes, freePort, listeningServer, loseFirstToken, virtualTime } from './_support.ts';

/** fetch that records the URLs it was asked for. */
function recordingFetch(inner: FetchLike = (url, init) => fetch(url, init)): { fetch: FetchLike; urls: string[] } {
  const urls: string[] = [];
  return { urls, fetch: (url, init) => { urls.push(`${init.method ?? 'GET'} ${url}`); return inner(url, init); } };
}

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** Metadata of a server that does not exist: for tests whose fetch is fake. */
const FAKE_METADATA = {
  issuer: 'https://as.example',
  device_authorization_endpoint: 'https://as.example/device_authorization',
  token_endpoint: 'https://as.example/token',
};

test('deviceLogin: discovery, the code, pending, approval, a token that verifies with the JWKS', async (t) => {
  const { h, base } = await listeningServer(t);
  const client = await h.publicClient({ pollInterval: 1, scope: 'openid profile email' });
  const user = await h.user('alice');
  const prompts: UserCodePrompt[] = [];
  const events: PollEvent[] = [];
  const started = Date.now();

  const result = await deviceLogin({
    issuer: base,
    clientId: client.clientId,
    scope: 'profile email',
    onCode: (prompt) => { prompts.push(prompt); },
    onPoll: async (event) => {
      events.push(event);
      const prompt = prompts[0];
      if (events.length === 1 && prompt !== undefined) await decide(h, prompt.user_code, user, true);
    },
  });

  const elapsed = Date.now() - started;
  assert.equal(prompts.length, 1);
  const prompt = prompts[0];
  assert.ok(prompt);
  // What the person sees, and only that: the device code stays inside the client.
  assert.deepEqual(Object.keys(prompt).sort(), ['expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete']);
  assert.equal(prompt.verification_uri, `${base}/device`);
  assert.equal(prompt.verification_uri_complete, `${base}/device?user_code=${prompt.user_code}`);
  assert.equal(prompt.interval, 1);
  assert.equal(events[0]?.outcome, 'authorization_pending');
  // Two polls, each one interval after the last (a wall-clock poll may be slowed down once at worst).
  assert.ok(elapsed >= 2000, `polled too fast: ${elapsed} ms`);
  assert.ok(events.every((e) => e.outcome !== 'retry'), JSON.stringify(events));

  assert.equal(result.metadata.issuer, base);
  assert.equal(result.token.token_type, 'Bearer');
  assert.equal(result.token.scope, 'profile email');
  assert.equal(result.token.expires_in, 3600);
  assert.ok(result.obtainedAt >= started && result.obtainedAt <= Date.now(), 'obtained during this login');
  assert.ok(result.metadata.jwks_uri !== undefined);
  const { payload } = await jwtVerify(result.token.access_token, createRemoteJWKSet(new URL(result.metadata.jwks_uri)), {
    issuer: base, audience: base, typ: 'at+jwt',
  });
  assert.equal(payload.sub, user.id);
  assert.equal(payload.client_id, client.clientId);
});

test('two logins whose pending answers go out in one event-loop turn are each approved once, and both get a token', async (t) => {
  // On a busy machine two polls can be group-committed together (SqliteDb.grouped), and their
  // answers' onSend hooks then run interleaved. Here the server holds the first /token answers
  // until both logins have polled, then lets them go at once: the same interleaving, every time.
  let release = (): void => undefined;
  const together = new Promise<void>((resolve) => { release = resolve; });
  let held = 0;
  let approvals: ReturnType<typeof decideCodes> | undefined;
  const { h, base } = await listeningServer(t, (app) => {
    // Registered before decideCodes's hook, so both answers reach it together.
    app.app.addHook('onSend', async (request, _reply, payload) => {
      if (!(request.url.split('?')[0] ?? '').endsWith('/token')) return payload;
      if (++held === 2) release();
      await together;
      return payload;
    });
    approvals = decideCodes(app, true);
  });
  assert.ok(approvals);
  const client = await h.publicClient({ pollInterval: 1 });
  const time = virtualTime(h);
  const metadata = await discover(base);
  const events: PollEvent[][] = [[], []];
  const results = await Promise.allSettled(events.map((seen) => deviceLogin({
    issuer: base, metadata, clientId: client.clientId, clock: time.clock, sleep: time.sleep, onPoll: (e) => { seen.push(e); },
  })));

  for (const r of results) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
  assert.deepEqual(events.map((seen) => seen.map((e) => e.outcome)), [['authorization_pending'], ['authorization_pending']]);
  assert.equal(approvals.codes.length, 2);
  const user = await approvals.user;
  for (const r of results) {
    assert.ok(r.status === 'fulfilled');
    const { payload } = await jwtVerify(r.value.token.access_token, createRemoteJWKSet(new URL(`${base}/oauth/jwks`)), { issuer: base, audience: base });
    assert.equal(payload.sub, user.id);
  }
});

test('a poll whose answer was lost redeemed the code: the retry meets invalid_grant, and the error says the answer was lost', async (t) => {
  let lost: ReturnType<typeof loseFirstToken> | undefined;
  const { h, base } = await listeningServer(t, (app) => { lost = loseFirstToken(app); });
  assert.ok(lost);
  const client = await h.publicClient({ pollInterval: 1 });
  const user = await h.user('lee');
  const time = virtualTime(h);
  const events: PollEvent[] = [];
  let userCode = '';
  await assert.rejects(
    deviceLogin({
      issuer: base, clientId: client.clientId, clock: time.clock, sleep: time.sleep,
      onCode: (prompt) => { userCode = prompt.user_code; },
      onPoll: async (event) => {
        events.push(event);
        if (events.length === 1) await decide(h, userCode, user, true);
      },
    }),
    (err: unknown) => {
      assert.ok(err instanceof DeviceLoginError);
      assert.equal(err.code, 'invalid_grant');
      assert.equal(err.oauthError, 'invalid_grant');
      assert.equal(err.message, 'the answer to a poll was lost (the connection failed), and the server will not take the code again; '
        + 'start the login again (the device_code has already been used)');
      return true;
    },
  );
  assert.deepEqual(events.map((e) => e.outcome), ['authorization_pending', 'retry']);
  // One copy of each poll reached the server: fetch did not replay the POST on its own.
  assert.deepEqual(lost.statuses, [400, 200, 400]);
});

test('invalid_grant is named a lost answer only when a poll since the last pending answer failed without one', async () => {
  const authorization = { device_code: 'dc', user_code: 'U', verification_uri: 'https://as.example/device', verification_uri_complete: undefined, expires_in: 600, interval: 1, expiresAt: Number.MAX_SAFE_INTEGER };
  const poll = (answers: (Response | Error)[]) => pollForToken({
    metadata: FAKE_METADATA, clientId: 'tv', authorization, sleep: () => Promise.resolve(),
    fetch: () => {
      const next = answers.shift() ?? json(500, {});
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  });
  const used = (): Response => json(400, { error: 'invalid_grant', error_description: 'the device_code has already been used' });
  const reset = new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
  await assert.rejects(poll([reset, json(503, {}), used()]), { code: 'invalid_grant', message: /^the answer to a poll was lost .*; start the login again \(the device_code has already been used\)$/ });
  await assert.rejects(poll([reset, json(400, { error: 'authorization_pending' }), used()]), { code: 'invalid_grant', message: 'the token request failed (the device_code has already been used)' });
  await assert.rejects(poll([used()]), { code: 'invalid_grant', message: 'the token request failed (the device_code has already been used)' });
});

test('slow_down: the interval grows by 5 s and stays grown, and the server accepts the slower polls', async (t) => {
  const { h, base } = await listeningServer(t);
  const client = await h.publicClient({ pollInterval: 1 });
  const user = await h.user('sam');
  const time = virtualTime(h);
  const events: PollEvent[] = [];
  let userCode = '';

  const result = await deviceLogin({
    issuer: base,
    clientId: client.clientId,
    clock: time.clock,
    sleep: time.sleep,
    onCode: (prompt) => { userCode = prompt.user_code; },
    onPoll: async (event) => {
      events.push(event);
      // The second poll comes at once, too early: the server answers slow_down.
      if (events.length === 1) time.skipNext();
      if (events.length === 3) await decide(h, userCode, user, true);
    },
  });

  assert.deepEqual(events.map((e) => [e.outcome, e.interval]), [['authorization_pending', 1], ['slow_down', 6], ['authorization_pending', 6]]);
  // 1 s, 1 s (skipped), then 6 s for every later poll; no second slow_down from the server.
  assert.deepEqual(time.sleeps, [1000, 1000, 6000, 6000]);
  assert.ok(result.token.access_token.length > 0);
});

test('slow_down twice adds 5 s each time (a fake server)', async () => {
  const answers = [json(400, { error: 'slow_down' }), json(400, { error: 'slow_down' }), json(400, { error: 'authorization_pending' }), json(200, { access_token: 'at', token_type: 'Bearer' })];
  let now = 0;
  const sleeps: number[] = [];
  const token = await pollForToken({
    metadata: FAKE_METADATA,
    clientId: 'tv',
    authorization: { device_code: 'dc', user_code: 'U', verification_uri: 'https://as.example/device', verification_uri_complete: undefined, expires_in: 600, interval: 2, expiresAt: 600_000 },
    clock: { now: () => now },
    sleep: (ms) => { sleeps.push(ms); now += ms; return Promise.resolve(); },
    fetch: () => Promise.resolve(answers.shift() ?? json(500, {})),
  });
  assert.equal(token.access_token, 'at');
  assert.deepEqual(sleeps, [2000, 7000, 12000, 12000]);
});

test('a token with control characters is refused rather than printed', async () => {
  await assert.rejects(pollForToken({
    metadata: FAKE_METADATA,
    clientId: 'tv',
    authorization: { device_code: 'dc', user_code: 'U', verification_uri: 'https://as.example/device', verification_uri_complete: undefined, expires_in: 600, interval: 1, expiresAt: Number.MAX_SAFE_INTEGER },
    sleep: () => Promise.resolve(),
    fetch: () => Promise.resolve(json(200, { access_token: 'ok\u001b]0;pwned\u0007', token_type: 'Bearer' })),
  }), { code: 'invalid_response' });
});

test('access_denied ends the login with a DeviceLoginError', async (t) => {
  const { h, base } = await listeningServer(t);
  const client = await h.publicClient({ pollInterval: 1 });
  const user = await h.user('bob');
  const time = virtualTime(h);
  let userCode = '';
  await assert.rejects(
    deviceLogin({
      issuer: base,
      clientId: client.clientId,
      clock: time.clock,
      sleep: time.sleep,
      onCode: (prompt) => { userCode = prompt.user_code; },
      onPoll: () => decide(h, userCode, user, false),
    }),
    (err: unknown) => {
      assert.ok(err instanceof DeviceLoginError);
      assert.equal(err.code, 'access_denied');
      assert.equal(err.oauthError, 'access_denied');
      assert.equal(err.status, 400);
      assert.match(err.message, /^sign-in was denied/);
      return true;
    },
  );
  assert.equal(time.sleeps.length, 2, 'one pending poll, then the denial');
});

test('expired_token: a short-lived code that nobody approves ends the login when it expires', async (t) => {
  const { h, base } = await listeningServer(t);
  const client = await h.publicClient({ codeLifetime: 2, pollInterval: 1 });
  const started = Date.now();
  await assert.rejects(deviceLogin({ issuer: base, clientId: client.clientId }), { name: 'DeviceLoginError', code: 'expired_token' });
  // Not before the code's lifetime; no upper bound: a loaded machine may poll late, never too early.
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1900, `stopped after ${elapsed} ms`);
});

test('the local deadline stops polling even when the server never says expired_token', async () => {
  let now = 0;
  let polls = 0;
  const sleeps: number[] = [];
  const fake: FetchLike = (url) => {
    if (url.endsWith('/device_authorization')) {
      return Promise.resolve(json(200, { device_code: 'dc', user_code: 'WDJB-MJHT', verification_uri: 'https://as.example/device', expires_in: 10, interval: 3 }));
    }
    polls++;
    return Promise.resolve(json(400, { error: 'authorization_pending' }));
  };
  const clock = { now: () => now };
  const authorization = await startDeviceAuthorization({ metadata: FAKE_METADATA, clientId: 'tv', fetch: fake, clock });
  assert.equal(authorization.expiresAt, 10_000);
  await assert.rejects(
    pollForToken({ metadata: FAKE_METADATA, clientId: 'tv', authorization, fetch: fake, clock, sleep: (ms) => { sleeps.push(ms); now += ms; return Promise.resolve(); } }),
    { code: 'expired_token', message: /expired before it was approved \(after 10 s\)/ },
  );
  // Polls at 3, 6 and 9 s; then it sleeps only until the deadline and does not poll again.
  assert.equal(polls, 3);
  assert.deepEqual(sleeps, [3000, 3000, 3000, 1000]);
});

test('interval: 5 s when the server names none; a 503 is retried; an AbortSignal cancels', async () => {
  let now = 0;
  const sleeps: number[] = [];
  const answers = [json(503, {}), json(200, { access_token: 'at', token_type: 'Bearer', expires_in: 60 })];
  const fake: FetchLike = (url) => url.endsWith('/device_authorization')
    ? Promise.resolve(json(200, { device_code: 'dc', user_code: 'C', verification_uri: 'https://as.example/device', expires_in: 600 }))
    : Promise.resolve(answers.shift() ?? json(500, {}));
  const events: PollEvent[] = [];
  const result = await deviceLogin({
    issuer: FAKE_METADATA.issuer, metadata: FAKE_METADATA, clientId: 'tv', fetch: fake,
    clock: { now: () => now }, sleep: (ms) => { sleeps.push(ms); now += ms; return Promise.resolve(); },
    onPoll: (e) => { events.push(e); },
  });
  assert.equal(result.token.expires_in, 60);
  assert.deepEqual(sleeps, [5000, 5000]);
  assert.deepEqual(events, [{ attempt: 1, outcome: 'retry', interval: 5 }]);

  const controller = new AbortController();
  const pending = deviceLogin({
    issuer: FAKE_METADATA.issuer, metadata: FAKE_METADATA, clientId: 'tv', signal: controller.signal,
    fetch: (url) => url.endsWith('/device_authorization')
      ? Promise.resolve(json(200, { device_code: 'dc', user_code: 'C', verification_uri: 'https://as.example/device', expires_in: 600, interval: 60 }))
      : Promise.resolve(json(400, { error: 'authorization_pending' })),
    onCode: () => { setImmediate(() => { controller.abort(); }); },
  });
  await assert.rejects(pending, { code: 'aborted' });
});

test('invalid_client: an unknown client id, and a confidential client with a wrong secret', async (t) => {
  const { h, base } = await listeningServer(t);
  await assert.rejects(deviceLogin({ issuer: base, clientId: 'no-such-client' }), (err: unknown) => {
    assert.ok(err instanceof DeviceLoginError);
    assert.equal(err.code, 'invalid_client');
    assert.equal(err.status, 401);
    assert.match(err.message, /does not accept this client/);
    return true;
  });
  const { client, secret } = await h.confidentialClient();
  await assert.rejects(deviceLogin({ issuer: base, clientId: client.clientId, clientSecret: `${secret}x` }), (err: unknown) => {
    assert.ok(err instanceof DeviceLoginError);
    assert.equal(err.code, 'invalid_client');
    assert.ok(!err.message.includes(secret), 'the secret is never in a message');
    return true;
  });
});

test('discovery refuses metadata that names another issuer, before any code is requested', async (t) => {
  const h = await build(t); // PUBLIC_URL is http://issuer.test, not the address it listens on
  const base = await h.listen();
  const client = await h.publicClient();
  const rec = recordingFetch();
  await assert.rejects(deviceLogin({ issuer: base, clientId: client.clientId, fetch: rec.fetch }), (err: unknown) => {
    assert.ok(err instanceof DeviceLoginError);
    assert.equal(err.code, 'issuer_mismatch');
    assert.match(err.message, /names "http:\/\/issuer\.test"/);
    return true;
  });
  assert.deepEqual(rec.urls, [`GET ${base}/.well-known/oauth-authorization-server`]);
});

test('a per-environment issuer: RFC 8414 path-inserted discovery, client_secret_basic, the environment\'s keys', async (t) => {
  const { h, base } = await listeningServer(t);
  const tenant = await h.services.admin.createEnvironment('tenant2');
  const issuer = `${base}/${tenant.id}/as`;
  const created = await h.services.admin.createClient({ envId: tenant.id, name: 'Backend', confidential: true, pollInterval: 1, scope: 'devices:read' });
  assert.ok(created.secret !== undefined);
  const user = await h.user('tina', 'correct horse battery', tenant.id);
  const time = virtualTime(h);
  const rec = recordingFetch();
  let userCode = '';

  const result = await deviceLogin({
    issuer, clientId: created.client.clientId, clientSecret: created.secret, fetch: rec.fetch, clock: time.clock, sleep: time.sleep,
    onCode: (prompt) => {
      userCode = prompt.user_code;
      assert.equal(prompt.verification_uri, `${base}/${tenant.id}/device`);
    },
    onPoll: () => decide(h, userCode, user, true, tenant),
  });
  assert.deepEqual(rec.urls, [
    `GET ${base}/.well-known/oauth-authorization-server/${tenant.id}/as`,
    `POST ${issuer}/device_authorization`,
    `POST ${issuer}/token`,
    `POST ${issuer}/token`,
  ]);
  assert.equal(result.metadata.issuer, issuer);
  assert.equal(result.token.scope, 'devices:read');
  const { payload } = await jwtVerify(result.token.access_token, createRemoteJWKSet(new URL(`${issuer}/jwks`)), { issuer, audience: issuer });
  assert.equal(payload.sub, user.id);
});

test('discovery falls back to OpenID Connect Discovery; a trailing slash on the issuer is forgiven', async (t) => {
  const { base } = await listeningServer(t);
  const rec = recordingFetch((url, init) =>
    url.includes('/.well-known/oauth-authorization-server') ? Promise.resolve(json(404, { error: 'invalid_request' })) : fetch(url, init));
  const metadata = await discover(`${base}/`, { fetch: rec.fetch });
  assert.equal(metadata.issuer, base);
  assert.equal(metadata.token_endpoint, `${base}/oauth/token`);
  assert.deepEqual(metadata.token_endpoint_auth_methods_supported, ['none', 'client_secret_basic', 'client_secret_post']);
  assert.deepEqual(rec.urls, [`GET ${base}/.well-known/oauth-authorization-server`, `GET ${base}/.well-known/openid-configuration`]);

  const none = recordingFetch(() => Promise.resolve(json(404, {})));
  await assert.rejects(discover(`${base}/x/as`, { fetch: none.fetch }), { code: 'discovery_failed', message: /HTTP 404.*HTTP 404/ });
  assert.deepEqual(none.urls, [`GET ${base}/.well-known/oauth-authorization-server/x/as`, `GET ${base}/x/as/.well-known/openid-configuration`]);
});

test('plain http to another machine is refused unless allowed; an unreachable server is a network error', async () => {
  const never: FetchLike = () => Promise.reject(new Error('must not be called'));
  await assert.rejects(discover('http://as.example', { fetch: never }), { code: 'insecure_url' });
  await assert.rejects(discover('ftp://as.example', { fetch: never }), { code: 'discovery_failed' });
  await assert.rejects(discover('https://user:pw@as.example', { fetch: never }), { code: 'discovery_failed', message: /credentials/ });
  const metadata = await discover('http://as.example', {
    allowHttp: true,
    fetch: () => Promise.resolve(json(200, { ...FAKE_METADATA, issuer: 'http://as.example', token_endpoint: 'http://as.example/token', device_authorization_endpoint: 'http://as.example/da' })),
  });
  assert.equal(metadata.token_endpoint, 'http://as.example/token');
  // Metadata that points an https issuer's endpoints at plain http elsewhere is refused too.
  await assert.rejects(discover('https://as.example', { fetch: () => Promise.resolve(json(200, { ...FAKE_METADATA, issuer: 'https://as.example', token_endpoint: 'http://evil.example/token' })) }), { code: 'insecure_url' });

  const closed = `http://127.0.0.1:${await freePort()}`;
  await assert.rejects(discover(closed), (err: unknown) => {
    assert.ok(err instanceof DeviceLoginError);
    assert.equal(err.code, 'network');
    assert.equal(err.message, `cannot reach ${closed}/.well-known/oauth-authorization-server (ECONNREFUSED)`);
    return true;
  });
});

test('client_secret_post when it is the only method the server lists; Basic form-encodes the credentials', async () => {
  const seen: { auth: string | null; body: string }[] = [];
  const fake: FetchLike = (_url, init) => {
    seen.push({ auth: new Headers(init.headers).get('authorization'), body: typeof init.body === 'string' ? init.body : '' });
    return Promise.resolve(json(200, { device_code: 'dc', user_code: 'C', verification_uri: 'https://as.example/device', expires_in: 600 }));
  };
  await startDeviceAuthorization({ metadata: { ...FAKE_METADATA, token_endpoint_auth_methods_supported: ['client_secret_post'] }, clientId: 'tv', clientSecret: 's3cret', scope: 'a b', fetch: fake });
  await startDeviceAuthorization({ metadata: FAKE_METADATA, clientId: 'tv:1', clientSecret: 'p w&', fetch: fake });
  assert.deepEqual(seen[0], { auth: null, body: 'scope=a+b&client_id=tv&client_secret=s3cret' });
  assert.deepEqual(seen[1], { auth: `Basic ${Buffer.from('tv%3A1:p+w%26').toString('base64')}`, body: '' });
});

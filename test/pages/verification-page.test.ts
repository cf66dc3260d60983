// RFC 8628 §3.3: the verification page end to end through Fastify inject: sign in, enter or confirm the
// code, consent, done; and the device's view of each outcome on the token endpoint.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from '../helpers/build.ts';
import {
  alertText, assertHtmlPage, deviceSees, deviceStarts, flowStatus, PageBrowser, PASSWORD, pollToken, signedIn,
} from './_support.ts';

test('verification_uri_complete: sign in (wrong password first), prefilled code not auto-approved, wrong code, consent, approve, token', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid profile email', refreshTokens: true });
  await h.user('alice');
  const device = await deviceStarts(h, client, 'openid profile email offline_access');
  const b = new PageBrowser(h);

  // GET /device?user_code=… → 302 with the cookie → the sign-in step.
  const start = await h.inject({ method: 'GET', url: `/device?user_code=${device.user_code}` });
  assert.equal(start.statusCode, 302);
  assert.match(String(start.headers['set-cookie']), /^dcs_browser=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
  assert.match(String(start.headers.location), /^http:\/\/issuer\.test\/[0-9a-f-]{36}\/signon\?flowId=[0-9a-f-]{36}&user_code=/);
  let body = assertHtmlPage(await b.open(device.verification_uri_complete), 200);
  assert.match(b.path, /^\/[0-9a-f-]{36}\/signon\?flowId=[0-9a-f-]{36}&user_code=[A-Z]{4}-[A-Z]{4}$/);
  const flowId = b.field('flowId') ?? '';
  assert.match(body, /<h1 id="page-title">Sign in<\/h1>/);
  assert.match(body, /<label for="username">Username<\/label>/);
  assert.match(body, /<label for="password">Password<\/label>/);
  assert.match(body, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  assert.equal(b.field('user_code'), device.user_code, 'the code rides along through sign-in');
  assert.match(b.field('csrf') ?? '', /^[0-9a-f]{64}$/);

  // Wrong password: the same form, 400, a message linked to the inputs, the username kept.
  let res = await b.submit({ username: 'alice', password: 'wrong horse battery' });
  body = assertHtmlPage(res, 400);
  assert.equal(alertText(body), 'That username or password is not correct.');
  assert.match(body, /<p class="alert" id="form-error" role="alert">/);
  assert.match(body, /id="password"[^>]*aria-describedby="form-error"[^>]*aria-invalid="true"/);
  assert.equal(b.field('username'), 'alice');
  assert.equal(b.field('user_code'), device.user_code);
  assert.equal(await flowStatus(h, flowId), 'USERNAME_PASSWORD_REQUIRED');

  // Right password: 303 (Post/Redirect/Get) to the code step, the code carried in the URL.
  res = await b.post({ username: 'alice', password: PASSWORD });
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, `http://issuer.test/${h.services.defaultEnv.id}/signon?flowId=${flowId}&user_code=${device.user_code}`);
  body = assertHtmlPage(await b.open(res.headers.location), 200);

  // The code form: prefilled, readable, never submitted for the person.
  assert.match(body, /<h1 id="page-title">Confirm the code<\/h1>/);
  assert.equal(b.field('user_code'), device.user_code);
  const input = /<input[^>]*id="user_code"[^>]*>/.exec(body)?.[0] ?? '';
  for (const attr of ['autocomplete="one-time-code"', 'autocapitalize="characters"', 'autofocus', 'class="code"', 'required']) {
    assert.ok(input.includes(attr), `${attr} on ${input}`);
  }
  assert.match(body, /<label for="user_code">/);
  assert.doesNotMatch(body, /<script/i);
  assert.equal(await flowStatus(h, flowId), 'DAG_USER_CODE_REQUIRED');
  assert.equal(await deviceSees(h, device.device_code, client), 'authorization_pending');

  // A wrong code: the same form, 400, attempts left.
  body = assertHtmlPage(await b.submit({ user_code: 'BBBB-BBBB' }), 400);
  assert.equal(alertText(body), 'That code is not right. Check the code on your device and try again. You have 4 attempts left.');
  assert.match(body, /id="user_code"[^>]*aria-describedby="form-error code-hint"[^>]*aria-invalid="true"/);
  assert.equal(b.field('user_code'), 'BBBB-BBBB', 'what was typed stays, to be corrected');

  // The right code: consent with the application, the scopes in words, the code and the warning.
  res = await b.submit({ user_code: device.user_code });
  body = assertHtmlPage(res, 200);
  assert.match(body, /<h1 id="page-title">Allow Test TV to access your account\?<\/h1>/);
  assert.match(body, /Signed in as <strong>alice<\/strong>/);
  assert.ok(body.includes(`<p class="label">Code on your device</p>\n<p class="usercode">${device.user_code}</p>`));
  for (const sentence of ['Confirm who you are', 'See your name and username', 'See your email address and whether it is verified', 'Stay signed in and keep access']) {
    assert.ok(body.includes(sentence), sentence);
  }
  assert.ok(body.includes('Only continue if you started this on a device you own.'));
  assert.match(body, /<button type="submit" name="action" value="approve">Approve<\/button>/);
  assert.match(body, /<button type="submit" name="action" value="deny" class="secondary">Deny<\/button>/);
  assert.equal(await flowStatus(h, flowId), 'DAG_CONSENT_REQUIRED');
  h.clock.advance(5);
  assert.equal(await deviceSees(h, device.device_code, client), 'authorization_pending');

  // Approve → done page; the device's next poll gets its token.
  res = await b.post({ action: 'approve' });
  assert.equal(res.statusCode, 303);
  body = assertHtmlPage(await b.open(String(res.headers.location)), 200);
  assert.ok(body.includes("You're all set — return to your device."));
  assert.doesNotMatch(body, /<form/);
  assert.equal(await flowStatus(h, flowId), 'COMPLETED');
  h.clock.advance(5);
  const token = await pollToken(h, device.device_code, client);
  assert.equal(token.statusCode, 200, token.body);
  assert.equal(token.json<{ scope: string }>().scope, 'openid profile email offline_access');

  // Reloading the done page shows it again.
  assertHtmlPage(await b.open(b.path), 200);
  assert.ok(b.body.includes("You're all set"));
});

test('GET /device: sign in, type the code by hand (lower case, spaces), approve; the token is issued', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('bob');
  const device = await deviceStarts(h, client);
  const b = await signedIn(h, device.verification_uri, 'bob');
  assert.doesNotMatch(b.path, /user_code/);
  assert.match(b.body, /<h1 id="page-title">Enter the code<\/h1>/);
  assert.equal(b.field('user_code'), '', 'nothing prefilled');

  const typed = ` ${device.user_code.toLowerCase().replace('-', ' ')} `;
  assertHtmlPage(await b.submit({ user_code: typed }), 200);
  assert.ok(b.body.includes(`>${device.user_code}</p>`), 'the consent screen shows the code in display form');
  assertHtmlPage(await b.submit({ action: 'approve' }), 200);
  assert.ok(b.body.includes("You're all set — return to your device."));
  assert.equal(await deviceSees(h, device.device_code, client), 'token');
});

test('deny: the FAILED page says so; the device gets access_denied', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('carol');
  const device = await deviceStarts(h, client);
  const b = await signedIn(h, device.verification_uri_complete, 'carol');
  assertHtmlPage(await b.submit({}), 200);
  assert.match(b.body, /Allow Test TV/);
  const res = await b.post({ action: 'deny' });
  assert.equal(res.statusCode, 303);
  const body = assertHtmlPage(await b.open(String(res.headers.location)), 200);
  assert.match(body, /<h1 id="page-title">Request denied<\/h1>/);
  assert.match(body, /start again on your device/);
  assert.equal(await deviceSees(h, device.device_code, client), 'access_denied');
});

test('the default-environment page /signon?flowId= renders the same flow', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('dave');
  const device = await deviceStarts(h, client);
  const b = new PageBrowser(h);
  await b.open(device.verification_uri);
  const flowId = b.field('flowId') ?? '';
  assertHtmlPage(await b.open(`/signon?flowId=${flowId}&user_code=${device.user_code}`), 200);
  assert.equal(b.path, `/signon?flowId=${flowId}&user_code=${device.user_code}`);
  // The relative form action posts to /signon; the redirect goes to the canonical page.
  const res = await b.post({ username: 'dave', password: PASSWORD });
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, `http://issuer.test/${h.services.defaultEnv.id}/signon?flowId=${flowId}&user_code=${device.user_code}`);
});

test('a flow pinned to an application (/{envId}/device/{clientId}) names it from the start; another environment works the same way', async (t) => {
  const h = await build(t);
  const tenant = await h.services.admin.createEnvironment('tenant2');
  const { client } = await h.services.admin.createClient({ envId: tenant.id, name: 'Living-room TV' });
  await h.user('erin', PASSWORD, tenant.id);
  const started = await h.form(`/${tenant.id}/as/device_authorization`, { client_id: client.clientId });
  const device = started.json<{ user_code: string; device_code: string }>();
  const b = new PageBrowser(h);
  assertHtmlPage(await b.open(`/${tenant.id}/device/${client.clientId}?user_code=${device.user_code}`), 200);
  assert.ok(b.path.startsWith(`/${tenant.id}/signon?`));
  assert.match(b.body, /Sign in to connect <strong>Living-room TV<\/strong>/);
  assertHtmlPage(await b.submit({ username: 'erin', password: PASSWORD }), 200);
  assertHtmlPage(await b.submit({}), 200);
  assert.match(b.body, /Allow Living-room TV to access your account\?/);
  assertHtmlPage(await b.submit({ action: 'approve' }), 200);
  assert.ok(b.body.includes("You're all set"));
  const token = await h.form(`/${tenant.id}/as/token`, {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: client.clientId,
  });
  assert.equal(token.statusCode, 200, token.body);
});

test('unknown scopes are shown verbatim; names and scopes are escaped; no scope at all is said plainly', async (t) => {
  const h = await build(t);
  const { client } = await h.services.admin.createClient({
    envId: h.services.defaultEnv.id, name: '<img src=x onerror=alert(1)> "TV" & co', scope: 'openid files:read <b>bold</b>',
  });
  await h.user('frank');
  const device = await deviceStarts(h, client, 'openid files:read <b>bold</b>');
  const b = await signedIn(h, device.verification_uri_complete, 'frank');
  const body = assertHtmlPage(await b.submit({}), 200);
  assert.ok(body.includes('Allow &lt;img src=x onerror=alert(1)&gt; &quot;TV&quot; &amp; co to access your account?'));
  assert.ok(body.includes('<li>Use the permission <code>files:read</code></li>'));
  assert.ok(body.includes('<li>Use the permission <code>&lt;b&gt;bold&lt;/b&gt;</code></li>'));
  assert.ok(body.includes('<li>Confirm who you are, using your account ID</li>'));
  assert.doesNotMatch(body, /<img|<b>/);

  const { client: bare } = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'Bare', scope: '' });
  const d2 = await deviceStarts(h, bare);
  const b2 = await signedIn(h, d2.verification_uri_complete, 'frank');
  assertHtmlPage(await b2.submit({}), 200);
  assert.ok(b2.body.includes('no specific permissions were requested'));
});

test('a user_code in the URL is escaped into the form, never trusted', async (t) => {
  const h = await build(t);
  const b = new PageBrowser(h);
  const body = assertHtmlPage(await b.open(`/device?user_code=${encodeURIComponent('"><script>alert(1)</script>')}`), 200);
  assert.doesNotMatch(body, /<script/);
  assert.ok(body.includes('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"'));
  assert.equal(b.field('user_code'), '"><script>alert(1)</script>');
});

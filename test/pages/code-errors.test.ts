// Wrong codes on the page (RFC 8628 §5.1): wrong, expired and used codes re-render the form with a clear message;
// five wrong codes fail the flow; the per-source guessing budget answers 429 with Retry-After.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from '../helpers/build.ts';
import { alertText, assertHtmlPage, deviceSees, deviceStarts, flowStatus, PageBrowser, signedIn } from './_support.ts';

test('five wrong codes: attempts left count down, then the FAILED page; the flow accepts nothing more', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('alice');
  const device = await deviceStarts(h, client);
  const b = await signedIn(h, device.verification_uri, 'alice');
  const flowId = b.field('flowId') ?? '';
  for (const left of [4, 3, 2]) {
    const body = assertHtmlPage(await b.submit({ user_code: 'BBBB-BBBB' }), 400);
    assert.equal(alertText(body), `That code is not right. Check the code on your device and try again. You have ${left} attempts left.`);
  }
  let body = assertHtmlPage(await b.submit({ user_code: 'not even a code' }), 400);
  assert.match(alertText(body) ?? '', /You have 1 attempt left\.$/);
  const codeForm = b.formFields();
  body = assertHtmlPage(await b.submit({ user_code: 'CCCC-CCCC' }), 400);
  assert.match(body, /<h1 id="page-title">Too many wrong codes<\/h1>/);
  assert.match(body, /Start again on your device/);
  assert.doesNotMatch(body, /<form/);
  assert.equal(await flowStatus(h, flowId), 'FAILED');

  // The right code now changes nothing: the FAILED page is shown again.
  const late = await b.post({ ...codeForm, user_code: device.user_code });
  assert.equal(late.statusCode, 303);
  assertHtmlPage(await b.open(late.headers.location ?? ''), 200);
  assert.match(b.body, /Too many wrong codes/);
  assert.equal(await deviceSees(h, device.device_code, client), 'authorization_pending', 'the device itself is untouched');
});

test('an expired code: the code form again with a message; the device gets expired_token', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ codeLifetime: 120 });
  await h.user('alice');
  const device = await deviceStarts(h, client);
  const b = await signedIn(h, device.verification_uri_complete, 'alice');
  h.clock.advance(121);
  const body = assertHtmlPage(await b.submit({}), 400);
  assert.equal(alertText(body), 'That code has expired. Start again on your device to get a new code.');
  assert.match(body, /name="action" value="code"/);
  assert.equal(b.field('user_code'), device.user_code);
  assert.equal(await flowStatus(h, b.field('flowId') ?? ''), 'DAG_USER_CODE_REQUIRED');
  assert.equal(await deviceSees(h, device.device_code, client), 'expired_token');
});

test('a code that expires on the consent screen: Approve says so, the flow ends, nothing is approved', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ codeLifetime: 120 });
  await h.user('alice');
  const device = await deviceStarts(h, client);
  const b = await signedIn(h, device.verification_uri_complete, 'alice');
  assertHtmlPage(await b.submit({}), 200);
  const flowId = b.field('flowId') ?? '';
  h.clock.advance(121);
  const body = assertHtmlPage(await b.submit({ action: 'approve' }), 400);
  assert.equal(alertText(body), 'That code has expired. Start again on your device to get a new code.');
  assert.match(body, /<h1 id="page-title">Not connected<\/h1>/);
  assert.doesNotMatch(body, /<form/);
  assert.equal(await flowStatus(h, flowId), 'FAILED');
  assert.equal(await deviceSees(h, device.device_code, client), 'expired_token');
});

test('a code already used (approved elsewhere): the code form says so', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('alice');
  await h.user('bob');
  const device = await deviceStarts(h, client);
  const first = await signedIn(h, device.verification_uri_complete, 'alice');
  const second = await signedIn(h, device.verification_uri_complete, 'bob');
  assertHtmlPage(await first.submit({}), 200);
  assertHtmlPage(await first.submit({ action: 'approve' }), 200);
  const body = assertHtmlPage(await second.submit({}), 400);
  assert.equal(alertText(body), 'That code has already been used. Start again on your device to get a new code.');

  // Both on the consent screen, the first decides: the second's Approve is refused with the message.
  const d2 = await deviceStarts(h, client);
  const x = await signedIn(h, d2.verification_uri_complete, 'alice');
  const y = await signedIn(h, d2.verification_uri_complete, 'bob');
  assertHtmlPage(await x.submit({}), 200);
  assertHtmlPage(await y.submit({}), 200);
  assertHtmlPage(await x.submit({ action: 'deny' }), 200);
  const refused = assertHtmlPage(await y.submit({ action: 'approve' }), 400);
  assert.equal(alertText(refused), 'That code has already been used. Start again on your device to get a new code.');
  assert.match(refused, /Not connected/);
  assert.equal(await deviceSees(h, d2.device_code, client), 'access_denied');
});

test('a user disabled before consent cannot approve: 403 with a message', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('alice');
  const device = await deviceStarts(h, client);
  const b = await signedIn(h, device.verification_uri_complete, 'alice');
  assertHtmlPage(await b.submit({}), 200);
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'alice', true);
  const body = assertHtmlPage(await b.submit({ action: 'approve' }), 403);
  assert.equal(alertText(body), 'This account can no longer approve devices.');
  assert.doesNotMatch(body, /value="approve"/);
  assert.equal(await deviceSees(h, device.device_code, client), 'authorization_pending');
});

test('the per-source guessing budget: a 429 page with Retry-After, even for the right code, across flows', async (t) => {
  const h = await build(t, { env: { CODE_GUESS_BUDGET: '3', CODE_GUESS_WINDOW_SECONDS: '600' } });
  const client = await h.publicClient({ codeLifetime: 1800 });
  await h.user('alice');
  const device = await deviceStarts(h, client);
  const a = await signedIn(h, device.verification_uri, 'alice');
  const b = await signedIn(h, device.verification_uri, 'alice');
  assertHtmlPage(await a.submit({ user_code: 'BBBB-BBBB' }), 400);
  assertHtmlPage(await a.submit({ user_code: 'BBBB-BBBC' }), 400);
  h.clock.advance(60);
  assertHtmlPage(await b.submit({ user_code: 'BBBB-BBBD' }), 400);

  const res = await b.post({ user_code: device.user_code });
  const body = assertHtmlPage(res, 429);
  assert.equal(res.headers['retry-after'], '540');
  assert.equal(alertText(body), 'Too many wrong codes have been tried from your network. Try again in about 9 minutes.');
  assert.match(body, /name="action" value="code"/, 'the same form');
  assert.equal(await flowStatus(h, b.field('flowId') ?? ''), 'DAG_USER_CODE_REQUIRED');
  assert.equal(await deviceSees(h, device.device_code, client), 'authorization_pending');

  // The window slides: once the oldest failure is old enough, the right code goes through.
  h.clock.advance(541);
  assertHtmlPage(await b.submit({ user_code: device.user_code }), 200);
  assert.match(b.body, /Allow Test TV/);
});

test('an expired flow (15 minutes idle) is a 404 page pointing back to the start', async (t) => {
  const h = await build(t);
  const b = new PageBrowser(h);
  await b.open('/device');
  const form = b.formFields();
  h.clock.advance(15 * 60 + 1);
  const body = assertHtmlPage(await b.open(b.path), 404);
  assert.match(body, /This link has expired/);
  assert.match(body, /<a href="device">/);
  assertHtmlPage(await b.post({ ...form, username: 'alice', password: 'x' }), 404);
});

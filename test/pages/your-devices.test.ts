// "Your devices" tells grants apart and asks before ending them: where and when each was approved
// and last used, grants of one application numbered, a confirmation before a sign-out, and "Sign
// out of all devices".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client, User } from '../../src/model/records.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { approveAsPerson, poll } from '../oauth/_support.ts';
import { assertHtmlPage, PageBrowser, PASSWORD, unescapeHtml } from './_support.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** A device login from `address` (through TRUST_PROXY), approved by alice; its refresh token. */
async function loginFrom(h: TestApp, client: Client, address: string, userAgent: string): Promise<string> {
  const started = await h.inject({
    method: 'POST', url: '/oauth/device_authorization', headers: { ...FORM, 'x-forwarded-for': address, 'user-agent': userAgent },
    payload: `client_id=${client.clientId}&scope=openid%20offline_access`,
  });
  assert.equal(started.statusCode, 200, started.body);
  const { device_code: deviceCode, user_code: userCode } = started.json<{ device_code: string; user_code: string }>();
  await approveAsPerson(h, userCode, 'alice', PASSWORD);
  const token = await poll(h, deviceCode, client.clientId);
  assert.equal(token.statusCode, 200, token.body);
  return token.json<{ refresh_token: string }>().refresh_token;
}

async function setup(t: Parameters<typeof build>[0]): Promise<{ h: TestApp; tv: Client; alice: User }> {
  const h = await build(t, { env: { TRUST_PROXY: 'on' } });
  const tv = (await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'Living-room TV', refreshTokens: true })).client;
  const alice = await h.user('alice');
  return { h, tv, alice };
}

async function devices(h: TestApp): Promise<PageBrowser> {
  const b = new PageBrowser(h);
  assertHtmlPage(await b.open('/device?view=devices'), 200);
  assertHtmlPage(await b.submit({ username: 'alice', password: PASSWORD }), 200);
  assert.match(b.body, /<h1 id="page-title">Your devices<\/h1>/);
  return b;
}

const names = (body: string) => [...body.matchAll(/<p class="name" id="grant-\d+"><strong>([^<]*)<\/strong>/g)].map((m) => unescapeHtml(m[1] ?? ''));

test('each grant says where and when it was approved and last used; two of one application are numbered', async (t) => {
  const { h, tv } = await setup(t);
  const first = await loginFrom(h, tv, '8.8.8.8', 'SmartTV/1.0');
  h.clock.advance(60);
  await loginFrom(h, tv, '193.99.144.80', 'SmartTV/2.0');
  h.clock.advance(3600);
  const refreshed = await h.inject({
    method: 'POST', url: '/oauth/token', headers: { ...FORM, 'x-forwarded-for': '193.99.144.80', 'user-agent': 'SmartTV/1.0' },
    payload: `grant_type=refresh_token&refresh_token=${first}&client_id=${tv.clientId}`,
  });
  assert.equal(refreshed.statusCode, 200, refreshed.body);

  const b = await devices(h);
  assert.deepEqual(names(b.body), ['Living-room TV (2 of 2)', 'Living-room TV (1 of 2)'], 'newest first, numbered by approval');
  const [newer, older] = b.body.split('<li>').slice(1);
  // Relative to the page's clock (13:01), the exact time (UTC) in the title.
  assert.match(older ?? '', /Approved <time[^>]*title="January 1, 2026 at 12:00 PM UTC">1 hour ago<\/time> from United States, [^<(]*\(8\.8\.8\.8\) · <span class="agent">SmartTV\/1\.0<\/span>/);
  assert.match(older ?? '', /Last used <time[^>]*title="January 1, 2026 at 1:01 PM UTC">less than a minute ago<\/time> from Germany, [^<(]*\(193\.99\.144\.80\) · <span class="agent">SmartTV\/1\.0<\/span>/);
  assert.match(newer ?? '', /Approved <time[^>]*title="January 1, 2026 at 12:01 PM UTC">1 hour ago<\/time> from Germany, [^<(]*\(193\.99\.144\.80\) · <span class="agent">SmartTV\/2\.0<\/span>/);
  assert.doesNotMatch(newer ?? '', /Last used <time[^>]*>[^<]*<\/time> from/, 'never refreshed: no place to say');
});

test('Sign out asks first: the confirmation names the device and where it was approved; Cancel changes nothing', async (t) => {
  const { h, tv, alice } = await setup(t);
  await loginFrom(h, tv, '8.8.8.8', 'SmartTV/1.0');
  const b = await devices(h);
  const link = /href="([^"]*confirm=[^"]*)"[^>]*>Sign out…<\/a>/.exec(b.body)?.[1];
  assert.ok(link);
  assertHtmlPage(await b.open(new URL(unescapeHtml(link), `http://page.test${b.path}`).pathname + new URL(unescapeHtml(link), `http://page.test${b.path}`).search), 200);
  assert.match(b.body, /<h1 id="page-title">Sign out Living-room TV\?<\/h1>/);
  assert.match(b.body, /from United States, [^<(]*\(8\.8\.8\.8\)/);
  assert.match(b.body, /<input type="hidden" name="action" value="signout">/);
  assert.match(b.body, /<a class="button secondary" href="signon\?flowId=[0-9a-f-]{36}&amp;view=devices">Cancel<\/a>/);
  assert.equal((await h.services.grants.listLive(h.services.defaultEnv, alice.id)).length, 1, 'asking changed nothing');
  assertHtmlPage(await b.submit({}), 200);
  assert.match(b.body, /Living-room TV is signed out/);
  assert.equal((await h.services.grants.listLive(h.services.defaultEnv, alice.id)).length, 0);
});

test('"Sign out of all devices" asks, then ends every grant of the person and no one else\'s; each is an audit event', async (t) => {
  const { h, tv, alice } = await setup(t);
  const speaker = (await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'Kitchen speaker', refreshTokens: true })).client;
  await loginFrom(h, tv, '8.8.8.8', 'SmartTV/1.0');
  const speakerToken = await loginFrom(h, speaker, '8.8.8.8', 'Speaker/1.0');
  const bob = await h.user('bob');
  await h.services.grants.open(tv, bob, 'openid', 'device', false, null, null);
  const b = await devices(h);
  assert.match(b.body, /Sign out of all devices…<\/a>/);
  const flowId = b.field('flowId') ?? new URL(`http://x${b.path}`).searchParams.get('flowId') ?? '';
  assertHtmlPage(await b.open(`/${h.services.defaultEnv.id}/signon?flowId=${flowId}&view=devices&confirm=all`), 200);
  assert.match(b.body, /<h1 id="page-title">Sign out of all devices\?<\/h1>/);
  assert.match(b.body, /All 2 devices and sessions connected to your account will be signed out\./);
  assert.match(b.body, /<input type="hidden" name="action" value="signout-all">/);
  assertHtmlPage(await b.submit({}), 200);
  assert.match(b.body, /Every device and session is signed out and can no longer use your account\./);
  assert.deepEqual(names(b.body), []);
  assert.equal((await h.services.grants.listLive(h.services.defaultEnv, alice.id)).length, 0);
  assert.equal((await h.services.grants.listLive(h.services.defaultEnv, bob.id)).length, 1, 'another person\'s grant stands');
  const refused = await h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: speakerToken, client_id: speaker.clientId });
  assert.equal(refused.statusCode, 400);
  const revoked = await h.services.store.audit.list({ envId: h.services.defaultEnv.id, types: ['grant.revoked'], limit: 10 });
  assert.equal(revoked.length, 2);
  assert.ok(revoked.every((e) => e.actor === `user:${alice.id}` && e.details.via === 'your_devices'));
});

// The audit trail (README "Audit trail"): each step of a device login, a denial, a wrong code, a
// refresh reuse and an operator's change is recorded exactly once, with stable type names, and no
// event carries a secret, a code or a token. Written with the change it describes: a write that
// does not happen (a second decision, a second revocation) leaves no event.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent, AuditEventType, Client } from '../../src/model/records.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { approveAsPerson, decide, poll, startAuthorization } from '../oauth/_support.ts';

const PASSWORD = 'correct horse battery';

async function events(h: TestApp, types?: AuditEventType[]): Promise<AuditEvent[]> {
  return h.services.store.audit.list({ envId: h.services.defaultEnv.id, limit: 1000, ...(types ? { types } : {}) });
}

function count(list: AuditEvent[], type: AuditEventType): number {
  return list.filter((e) => e.type === type).length;
}

async function refreshClient(h: TestApp): Promise<Client> {
  return (await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'CLI', scope: 'openid profile', refreshTokens: true })).client;
}

test('a device login approved by a person: requested, signed in, approved, token issued — each once, in order', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid profile' });
  const user = await h.user('alice', PASSWORD);
  const before = (await events(h)).length;
  const started = await startAuthorization(h, client, { scope: 'openid profile' });
  await approveAsPerson(h, started.user_code, 'alice', PASSWORD);
  const token = await poll(h, started.device_code, client.clientId);
  assert.equal(token.statusCode, 200, token.body);

  const list = (await events(h)).slice(before);
  assert.deepEqual(list.map((e) => e.type), ['device.requested', 'signin.succeeded', 'device.approved', 'token.issued']);
  const [requested, signedIn, approved, issued] = list;
  assert.ok(requested && signedIn && approved && issued);
  assert.equal(requested.actor, `client:${client.clientId}`);
  assert.match(requested.subject ?? '', /^device:/);
  assert.equal(signedIn.actor, `user:${user.id}`);
  assert.deepEqual(signedIn.details, { username: 'alice', method: 'password' });
  assert.equal(approved.actor, `user:${user.id}`);
  assert.equal(approved.subject, requested.subject, 'the approval names the device that was requested');
  assert.equal(issued.actor, `client:${client.clientId}`);
  assert.match(issued.subject ?? '', /^grant:/);
  assert.equal(issued.details.user_id, user.id);
  assert.equal(issued.details.id_token, true);
  for (const e of list) {
    assert.equal(e.envId, h.services.defaultEnv.id);
    assert.equal(e.outcome, 'success');
    assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'UUIDv7');
  }

  // No secret, code or token anywhere in the trail.
  const body = token.json<{ access_token: string; id_token: string }>();
  const trail = JSON.stringify(await events(h));
  for (const secret of [started.device_code, started.user_code, started.user_code.replace('-', ''), body.access_token, body.id_token, PASSWORD]) {
    assert.equal(trail.includes(secret), false, `the trail holds ${secret.slice(0, 12)}…`);
  }
});

test('a consumed device code presented again ends its grant: one grant.revoked naming the replay, none for a third presentation', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const user = await h.user('erin', PASSWORD);
  const started = await startAuthorization(h, client);
  await decide(h, started.user_code, user, true);
  assert.equal((await poll(h, started.device_code, client.clientId)).statusCode, 200);
  assert.equal((await poll(h, started.device_code, client.clientId)).statusCode, 400);
  assert.equal((await poll(h, started.device_code, client.clientId)).statusCode, 400);
  const [revoked, ...more] = await events(h, ['grant.revoked']);
  assert.ok(revoked);
  assert.equal(more.length, 0);
  assert.equal(revoked.details.via, 'device_code_replay');
  assert.equal(revoked.details.user_id, user.id);
});

test('a denial, a wrong code and a failed sign-in are recorded once each, as failures where they failed', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const user = await h.user('bob', PASSWORD);
  const denied = await startAuthorization(h, client);
  await decide(h, denied.user_code, user, false);
  // A second decision of the same code is refused and records nothing.
  await assert.rejects(decide(h, denied.user_code, user, true));
  assert.equal(count(await events(h), 'device.denied'), 1);
  assert.equal(count(await events(h), 'device.approved'), 0);

  const envId = h.services.defaultEnv.id;
  const start = await h.inject({ method: 'GET', url: `/${envId}/device` });
  const flowId = new URL(String(start.headers.location)).searchParams.get('flowId') ?? '';
  const cookie = String(start.headers['set-cookie']).split(';')[0] ?? '';
  const step = (type: string, body: object) =>
    h.inject({ method: 'POST', url: `/${envId}/flows/${flowId}`, headers: { 'content-type': type, cookie }, payload: JSON.stringify(body) });
  assert.equal((await step('application/vnd.pingidentity.usernamePassword.check+json', { username: 'bob', password: 'wrong' })).statusCode, 400);
  assert.equal((await step('application/vnd.pingidentity.usernamePassword.check+json', { username: 'bob', password: PASSWORD })).statusCode, 200);
  assert.equal((await step('application/vnd.pingidentity.deviceAuthGrant.userCode.verify+json', { userCode: 'BCDF-GHJK' })).statusCode, 400);

  const [failed, ...moreFailed] = await events(h, ['signin.failed']);
  assert.ok(failed);
  assert.equal(moreFailed.length, 0);
  assert.equal(failed.outcome, 'failure');
  assert.deepEqual(failed.details, { username: 'bob', reason: 'wrong_password', method: 'password' });
  const [rejected, ...moreRejected] = await events(h, ['device.code_rejected']);
  assert.ok(rejected);
  assert.equal(moreRejected.length, 0);
  assert.equal(rejected.actor, `user:${user.id}`);
  assert.equal(rejected.subject, `flow:${flowId}`);
  assert.equal(rejected.details.failed_attempts, 1);
  assert.equal(JSON.stringify(await events(h)).includes('BCDFGHJK'), false, 'the wrong code itself is not kept');
});

test('refresh, reuse and revocation: token.refreshed, then token.reuse_detected once; a second revocation records nothing', async (t) => {
  const h = await build(t);
  const client = await refreshClient(h);
  const user = await h.user('carol', PASSWORD);
  const started = await startAuthorization(h, client, { scope: 'openid offline_access' });
  await decide(h, started.user_code, user, true);
  const first = (await poll(h, started.device_code, client.clientId)).json<{ refresh_token: string }>();
  const refresh = (token: string) => h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: token, client_id: client.clientId });
  const second = (await refresh(first.refresh_token)).json<{ refresh_token: string }>();
  assert.equal((await refresh(first.refresh_token)).statusCode, 400, 'reuse');
  assert.equal((await refresh(first.refresh_token)).statusCode, 400, 'reuse again: the grant is already ended');
  const list = await events(h);
  assert.equal(count(list, 'token.refreshed'), 1);
  assert.equal(count(list, 'token.reuse_detected'), 1);
  const reuse = list.find((e) => e.type === 'token.reuse_detected');
  assert.ok(reuse);
  assert.equal(reuse.outcome, 'failure');
  assert.equal(reuse.details.user_id, user.id);
  // The grant is gone already: revoking its token again changes and records nothing.
  assert.equal((await h.form('/oauth/revoke', { token: second.refresh_token, client_id: client.clientId })).statusCode, 200);
  assert.equal(count(await events(h), 'grant.revoked'), 0);

  const other = await startAuthorization(h, client, { scope: 'openid offline_access' });
  await decide(h, other.user_code, user, true);
  const live = (await poll(h, other.device_code, client.clientId)).json<{ refresh_token: string }>();
  assert.equal((await h.form('/oauth/revoke', { token: live.refresh_token, client_id: client.clientId })).statusCode, 200);
  const revoked = await events(h, ['grant.revoked']);
  assert.equal(revoked.length, 1);
  assert.equal(revoked.at(0)?.actor, `client:${client.clientId}`);
  assert.equal(revoked.at(0)?.details.via, 'revocation_endpoint');
});

test('operator changes are admin.changed with the command line as actor; key rotation is key.rotated', async (t) => {
  const h = await build(t);
  const { client } = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'TV' });
  await h.services.admin.updateClient(h.services.defaultEnv.id, client.clientId, { refreshTokens: true, pollInterval: 10 });
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, (await h.user('dave')).username, true);
  await h.services.admin.deleteClient(h.services.defaultEnv.id, client.clientId);
  const changes = await events(h, ['admin.changed']);
  const actions = changes.map((e) => e.details.action);
  assert.deepEqual(changes.find((e) => e.details.action === 'client.updated')?.details.fields, ['refresh_tokens', 'poll_interval']);
  for (const action of ['client.created', 'client.updated', 'user.created', 'user.disabled', 'client.deleted']) {
    assert.equal(actions.filter((a) => a === action).length, 1, action);
  }
  assert.ok(changes.every((e) => e.actor === 'cli'));
  assert.ok(changes.some((e) => e.subject === `client:${client.clientId}`));
  const kid = await h.services.keys.rotate(h.services.defaultEnv.id, 'ES256', 60, (k) => [h.services.audit.event({
    envId: k.envId, type: 'key.rotated', actor: 'cli', subject: `key:${k.kid}`, details: { alg: k.alg },
  })]);
  assert.deepEqual((await events(h, ['key.rotated'])).map((e) => e.subject), [`key:${kid}`]);
});

test('metrics count audit events by type', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await startAuthorization(h, client);
  await startAuthorization(h, client);
  assert.match(await h.services.metrics.render(), /dcs_audit_events_total\{type="device\.requested"\} 2\n/);
  assert.equal(count(await events(h), 'device.requested'), 2);
});

test('"I didn\'t start this" from another country: device.reported with both contexts and the mismatch; device.requested with the requester\'s', async (t) => {
  const h = await build(t, { env: { TRUST_PROXY: 'on' } });
  const client = await h.publicClient();
  await h.user('frank', PASSWORD);
  const requested = await h.inject({
    method: 'POST', url: '/oauth/device_authorization', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '8.8.8.8' },
    payload: `client_id=${client.clientId}`,
  });
  assert.equal(requested.statusCode, 200, requested.body);
  const { user_code: userCode } = requested.json<{ user_code: string }>();
  const envId = h.services.defaultEnv.id;
  const elsewhere = { 'x-forwarded-for': '193.99.144.80' };
  const start = await h.inject({ method: 'GET', url: `/${envId}/device`, headers: elsewhere });
  const flowId = new URL(String(start.headers.location)).searchParams.get('flowId') ?? '';
  const cookie = String(start.headers['set-cookie']).split(';')[0] ?? '';
  const step = (type: string, body: object) => h.inject({
    method: 'POST', url: `/${envId}/flows/${flowId}`, headers: { 'content-type': type, cookie, ...elsewhere }, payload: JSON.stringify(body),
  });
  assert.equal((await step('application/vnd.pingidentity.usernamePassword.check+json', { username: 'frank', password: PASSWORD })).statusCode, 200);
  assert.equal((await step('application/vnd.pingidentity.deviceAuthGrant.userCode.verify+json', { userCode })).statusCode, 200);
  assert.equal((await step('application/vnd.pingidentity.deviceAuthGrant.consent+json', { report: true })).statusCode, 200);

  const [request] = await events(h, ['device.requested']);
  assert.ok(request?.source);
  assert.equal(request.source.address, '8.8.8.8');
  assert.equal(request.source.country, 'US');
  const [report, ...more] = await events(h, ['device.reported']);
  assert.ok(report);
  assert.equal(more.length, 0);
  assert.equal(report.outcome, 'failure');
  assert.equal(report.source?.country, 'DE');
  assert.equal(report.details.location_mismatch, true);
  assert.equal((report.details.requester as { country?: string } | null)?.country, 'US');
  assert.equal(report.subject, request.subject);
  assert.equal(count(await events(h), 'device.approved') + count(await events(h), 'device.denied'), 0, 'a report is not also a denial event');
});

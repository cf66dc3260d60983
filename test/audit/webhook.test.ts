// The audit webhook on SQLite (src/audit/webhook.ts, src/store/sqlite/audit.ts): what a receiver
// gets is signed so that it can check it, and an outage of the receiver loses nothing, delivers
// nothing twice once it is confirmed, and keeps each environment's events in order. Time is a
// TestClock moved past the backoff and delivery is driven by drain(), so nothing here sleeps or
// depends on how fast the machine is (docs/architecture.md, "The injected clock").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { freePort } from '../../scripts/net.ts';
import { AuditWebhook, retryDelayMs, WEBHOOK_BATCH } from '../../src/audit/webhook.ts';
import type { Client, Environment } from '../../src/model/records.ts';
import { build, TestClock, type TestApp } from '../helpers/build.ts';
import {
  byEnvironment, isOk, SECRET, startReceiver, verifySignature, type Answer, type Arrival, type EventJson, type Receiver,
} from './_support.ts';

async function webhookApp(t: Parameters<typeof build>[0], receiver: Receiver, clock: TestClock): Promise<{ h: TestApp; hook: AuditWebhook }> {
  const h = await build(t, { clock, env: { AUDIT_WEBHOOK_URL: receiver.url, AUDIT_WEBHOOK_SECRET: SECRET } });
  const hook = new AuditWebhook({
    outbox: h.services.store.auditOutbox, clock, telemetry: h.services.metrics, url: receiver.url, secret: SECRET,
  });
  t.after(() => hook.stop());
  return { h, hook };
}

/** A device authorization over the OAuth front end (RFC 8628 §3.1): a device.requested event. */
async function requestDevice(h: TestApp, clientId: string, env?: Environment): Promise<void> {
  const res = await h.form(env === undefined ? '/oauth/device_authorization' : `/${env.id}/as/device_authorization`, { client_id: clientId, scope: 'openid' });
  assert.equal(res.statusCode, 200, res.body);
}

/** The outbox in the order the store will deliver it (seq): the order the events were committed. */
function outboxOrder(file: string): { eventId: string; envId: string }[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT event_id, env_id FROM audit_outbox ORDER BY seq').all() as { event_id: string; env_id: string }[])
      .map((r) => ({ eventId: r.event_id, envId: r.env_id }));
  } finally {
    db.close();
  }
}

const metric = (text: string, name: string): number => Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);

test('signatures verify: a receiver recomputes HMAC-SHA-256 over "<t>.<raw body>" with the secret; a wrong secret, another body or an old t do not verify', async (t) => {
  const receiver = await startReceiver(t);
  // Wall time, so `t` is checked against the receiver's own clock, as a real receiver would.
  const clock = new TestClock('real');
  const { h, hook } = await webhookApp(t, receiver, clock);
  const client = await h.publicClient();
  await requestDevice(h, client.clientId);

  assert.equal(await hook.drain(), true);
  assert.ok(receiver.arrivals.length >= 1);
  const now = Math.floor(Date.now() / 1000);
  for (const a of receiver.arrivals) {
    assert.equal(a.path, '/audit-hook');
    assert.match(a.contentType ?? '', /^application\/json/);
    assert.match(a.signature ?? '', /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.equal(verifySignature(SECRET, a.signature, a.raw, now), true, 'the shared secret verifies the raw body');
    assert.equal(verifySignature('another-secret-of-enough-length', a.signature, a.raw, now), false, 'a wrong secret does not');
    assert.equal(verifySignature(SECRET, a.signature, `${a.raw} `, now), false, 'one byte more in the body does not');
    if (a.raw.includes('device.requested')) {
      assert.equal(verifySignature(SECRET, a.signature, a.raw.replace('device.requested', 'device.approved'), now), false, 'nor another event type');
    }
    assert.equal(verifySignature(SECRET, a.signature, a.raw, now + 3600), false, 'an hour later it is a replay');
    const t0 = Number(/^t=(\d+)/.exec(a.signature ?? '')?.[1]);
    assert.equal(verifySignature(SECRET, a.signature?.replace(/^t=\d+/, `t=${t0 + 1}`), a.raw, now), false, 'the time is signed too');
  }
  // Everything the trail holds arrived, as the store lists it.
  const listed = await h.services.store.audit.list({ limit: 1000 });
  assert.deepEqual(new Set(receiver.delivered().map((e) => e.id)), new Set(listed.map((e) => e.id)));
  assert.ok(receiver.delivered().some((e) => e.type === 'device.requested' && e.actor === `client:${client.clientId}`));
  assert.equal(await h.services.store.auditOutbox.pending(), 0);
  assert.equal(await hook.drain(), false, 'nothing left to deliver');
});

test('an outage (503s, dropped connections, then one environment down) loses nothing: after it every event arrives exactly once, in order per environment, with backoff', async (t) => {
  const receiver = await startReceiver(t);
  const clock = new TestClock();
  const { h, hook } = await webhookApp(t, receiver, clock);
  const { store, audit } = h.services;
  const tenant = await h.services.admin.createEnvironment('tenant');
  const envs = [h.services.defaultEnv, tenant];

  // Events in both environments, interleaved, one second apart so their order is their time.
  const clients: Client[] = [];
  for (const env of envs) {
    clock.advance(1);
    clients.push(await h.publicClient({ envId: env.id }));
  }
  const more = async (rounds: number): Promise<void> => {
    for (let i = 0; i < rounds; i++) {
      for (const [n, env] of envs.entries()) {
        clock.advance(1);
        const c = clients[n];
        assert.ok(c);
        if (i % 10 === 0) await requestDevice(h, c.clientId, n === 0 ? undefined : env);
        else await audit.record(audit.event({ envId: env.id, type: 'limit.exhausted', subject: 'limit:test', outcome: 'failure', details: { i } }));
      }
    }
  };
  // More than a batch in each environment, so recovery takes several POSTs per environment.
  await more(WEBHOOK_BATCH + 20);

  // The receiver is down: 503.
  receiver.respond = () => 503;
  assert.equal(await hook.drain(), true);
  assert.equal(receiver.arrivals.length, 2, 'one attempt per environment, at its oldest batch');
  assert.deepEqual(receiver.arrivals.map((a) => a.events.length), [WEBHOOK_BATCH, WEBHOOK_BATCH]);
  assert.equal(await hook.drain(), false, 'nothing is due before the backoff');
  clock.t += retryDelayMs(1) - 1;
  assert.equal(await hook.drain(), false, 'nor a millisecond before it ends');
  clock.t += 1;
  assert.equal(await hook.drain(), true, 'once it ends, each environment is tried again');
  assert.equal(receiver.arrivals.length, 4);

  // Connections are dropped without an answer; events go on happening during the outage (ten
  // seconds of them, past the second backoff).
  receiver.respond = () => 'drop';
  await more(5);
  assert.ok(retryDelayMs(2) <= 10_000);
  assert.equal(await hook.drain(), true);
  assert.equal(receiver.arrivals.length, 6);

  const total = (await store.audit.list({ limit: 10_000 })).length;
  assert.equal(await store.auditOutbox.pending(), total, 'nothing left the outbox unconfirmed');
  // What the outbox will deliver, in its order: every event of the trail, each environment's in time order.
  const order = outboxOrder(h.config.databasePath);
  assert.equal(order.length, total);
  const listed = new Map((await store.audit.list({ limit: 10_000 })).map((e) => [e.id, e]));
  for (const [env, rows] of byEnvironment(order)) {
    const times = rows.map((r) => listed.get(r.eventId)?.at ?? NaN);
    assert.deepEqual(times, [...times].sort((a, b) => a - b), `environment ${env}: outbox order is time order`);
  }

  // The tenant's receiver recovers first: its events go, the default environment's wait behind its failed head.
  receiver.respond = (a: Arrival): Answer => (a.events[0]?.environment_id === tenant.id ? 200 : 503);
  clock.t += retryDelayMs(3);
  assert.equal(await hook.drain(), true);
  const tenantDone = receiver.delivered();
  assert.ok(tenantDone.length > WEBHOOK_BATCH, 'the tenant got all of its events, in several batches');
  assert.ok(tenantDone.every((e) => e.environment_id === tenant.id), 'the default environment got nothing while its head fails');
  const failedDefault = receiver.arrivals.filter((a) => !isOk(a.answer) && a.events[0]?.environment_id === h.services.defaultEnv.id);
  assert.equal(failedDefault.length, 4, 'its head was tried once more, not once per tenant batch');

  // Recovery: everything else arrives.
  receiver.respond = () => 204;
  assert.equal(await hook.drain(), false, 'the default environment waits out its backoff (attempt 4)');
  clock.t += retryDelayMs(4);
  assert.equal(await hook.drain(), true);
  assert.equal(await store.auditOutbox.pending(), 0);

  const delivered = receiver.delivered();
  const ids = delivered.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'no event was delivered twice');
  assert.deepEqual(new Set(ids), new Set(order.map((o) => o.eventId)), 'every event was delivered');
  const got = byEnvironment(delivered);
  for (const [env, rows] of byEnvironment(order)) {
    assert.deepEqual(got.get(env)?.map((e) => e.id), rows.map((r) => r.eventId), `environment ${env}: in order`);
  }
  for (const a of receiver.arrivals) {
    assert.ok(a.events.length <= WEBHOOK_BATCH);
    assert.equal(new Set(a.events.map((e: EventJson) => e.environment_id)).size, 1, 'a batch holds one environment');
  }

  const text = await h.services.metrics.render();
  const failed = receiver.arrivals.filter((a) => !isOk(a.answer)).length;
  assert.equal(metric(text, 'dcs_audit_webhook_deliveries_total{outcome="failed"}'), failed);
  assert.equal(metric(text, 'dcs_audit_webhook_deliveries_total{outcome="delivered"}'), receiver.arrivals.length - failed);
  assert.equal(metric(text, 'dcs_audit_webhook_events_total'), total);
  assert.equal(metric(text, 'dcs_audit_webhook_pending'), 0);
});

test('a receiver that redirects or answers 4xx has not confirmed: the batch stays and is delivered once it answers 2xx', async (t) => {
  const receiver = await startReceiver(t);
  const clock = new TestClock();
  const { h, hook } = await webhookApp(t, receiver, clock);
  await h.publicClient();
  const answers: Answer[] = [302, 400, 200];
  receiver.respond = () => answers[Math.min(receiver.arrivals.length - 1, answers.length - 1)] ?? 200;
  for (let attempt = 1; attempt <= answers.length; attempt++) {
    assert.equal(await hook.drain(), true);
    clock.t += retryDelayMs(attempt);
  }
  assert.deepEqual(receiver.arrivals.map((a) => a.answer), answers);
  assert.ok(receiver.arrivals.every((a) => a.path === '/audit-hook'), 'the redirect was not followed');
  const [first, , last] = receiver.arrivals;
  assert.deepEqual(last?.events.map((e) => e.id), first?.events.map((e) => e.id), 'the same batch each time');
  assert.equal(await h.services.store.auditOutbox.pending(), 0);
  assert.equal(await hook.drain(), false);
});

test('without AUDIT_WEBHOOK_URL events are written to the trail but not to the outbox', async (t) => {
  const h = await build(t);
  await h.publicClient();
  assert.ok((await h.services.store.audit.list({ limit: 100 })).length > 0);
  assert.equal(await h.services.store.auditOutbox.pending(), 0);
});

test('stop() abandons a delivery the receiver holds open, without waiting for the request timeout; the batch stays and goes out later', async (t) => {
  const receiver = await startReceiver(t);
  receiver.respond = () => 'hang';
  const clock = new TestClock();
  const h = await build(t, { clock, env: { AUDIT_WEBHOOK_URL: receiver.url, AUDIT_WEBHOOK_SECRET: SECRET } });
  await h.publicClient();
  const pending = await h.services.store.auditOutbox.pending();
  const logged: string[] = [];
  const options = { outbox: h.services.store.auditOutbox, clock, telemetry: h.services.metrics, url: receiver.url, secret: SECRET, onError: (m: string) => logged.push(m) };
  const hook = new AuditWebhook(options);
  let posted: (() => void) | undefined;
  const arrived = new Promise<void>((resolve) => { posted = resolve; });
  receiver.onArrival = () => posted?.();
  hook.start();
  await arrived;
  await hook.stop();
  assert.equal(await h.services.store.auditOutbox.pending(), pending, 'nothing left the outbox');
  assert.match(logged.join('\n'), /stopped before the receiver answered/);

  receiver.respond = () => 204;
  const next = new AuditWebhook(options);
  t.after(() => next.stop());
  clock.t += retryDelayMs(1);
  assert.equal(await next.drain(), true);
  assert.equal(await h.services.store.auditOutbox.pending(), 0);
  assert.deepEqual(receiver.delivered().map((e) => e.id), receiver.arrivals[0]?.events.map((e) => e.id));
});

test('a failed delivery is logged with why (a refused connection names ECONNREFUSED), never with the body or the secret', async (t) => {
  const clock = new TestClock();
  const url = `http://127.0.0.1:${await freePort()}/audit-hook`;
  const h = await build(t, { clock, env: { AUDIT_WEBHOOK_URL: url, AUDIT_WEBHOOK_SECRET: SECRET } });
  await h.publicClient();
  const logged: string[] = [];
  const hook = new AuditWebhook({ outbox: h.services.store.auditOutbox, clock, telemetry: h.services.metrics, url, secret: SECRET, onError: (m) => logged.push(m) });
  t.after(() => hook.stop());
  assert.equal(await hook.drain(), true);
  assert.equal(logged.length, 1);
  assert.match(logged[0] ?? '', /^audit webhook: fetch failed \(ECONNREFUSED\); \d+ events wait \(attempt 1\)$/);
  assert.ok(!logged[0]?.includes(SECRET));
});

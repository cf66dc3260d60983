// The audit webhook on PostgreSQL with several instances (src/store/postgres/audit.ts): two stores,
// each with its own pool and deliverer, on one throwaway database (test/helpers/postgres.ts),
// drain one outbox into one receiver at the same time. An environment is delivered by one instance
// at a time (its advisory lock), so each event is delivered exactly once overall and each
// environment's events in order, while the two instances work on different environments at once.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { AuditWebhook, retryDelayMs, WEBHOOK_BATCH } from '../../src/audit/webhook.ts';
import { noTelemetry } from '../../src/core/telemetry.ts';
import { timeOrderedUuid } from '../../src/crypto/codes.ts';
import type { AuditEvent, Environment } from '../../src/model/records.ts';
import { appendAudit } from '../../src/store/postgres/audit.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { TestClock } from '../helpers/build.ts';
import { postgresDatabase } from '../helpers/postgres.ts';
import { environment } from '../store/contract/fixtures.ts';
import { byEnvironment, SECRET, startReceiver, type Arrival, type Receiver } from './_support.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

async function instances(t: TestContext, n: number): Promise<PostgresStore[]> {
  const url = await postgresDatabase();
  const stores: PostgresStore[] = [];
  t.after(async () => { for (const s of stores) await s.close(); });
  // One at a time: the first migrates, the others find it done.
  for (let i = 0; i < n; i++) stores.push(await PostgresStore.open({ url, poolSize: 4, now: NOW, auditOutbox: true }));
  return stores;
}

function deliverer(t: TestContext, store: PostgresStore, clock: TestClock, receiver: Receiver, name: string): AuditWebhook {
  const hook = new AuditWebhook({ outbox: store.auditOutbox, clock, telemetry: noTelemetry, url: `${receiver.url}?from=${name}`, secret: SECRET });
  t.after(() => hook.stop());
  return hook;
}

function event(env: Environment, at: number, i: number): AuditEvent {
  return {
    id: timeOrderedUuid(at), at, envId: env.id, type: 'limit.exhausted', actor: null, subject: 'limit:test', source: null, outcome: 'failure', details: { i },
  };
}

/** The receiver's view of concurrency: how many POSTs of each environment were open at once, at most. */
function trackConcurrency(receiver: Receiver): { maxPerEnv: Map<string, number>; maxOverall: () => number } {
  const open = new Map<string, number>();
  const maxPerEnv = new Map<string, number>();
  let now = 0;
  let max = 0;
  const respond = receiver.respond;
  receiver.respond = async (a: Arrival) => {
    const env = a.events[0]?.environment_id ?? '';
    open.set(env, (open.get(env) ?? 0) + 1);
    maxPerEnv.set(env, Math.max(maxPerEnv.get(env) ?? 0, open.get(env) ?? 0));
    max = Math.max(max, ++now);
    try {
      return await respond(a);
    } finally {
      open.set(env, (open.get(env) ?? 1) - 1);
      now--;
    }
  };
  return { maxPerEnv, maxOverall: () => max };
}

test('two instances drain one outbox at once: every event delivered exactly once overall, in order per environment, two environments in parallel', async (t) => {
  const [a, b] = await instances(t, 2);
  assert.ok(a && b);
  const envs = [environment(), environment()];
  for (const env of envs) await a.environments.create(env);
  // Events of both environments interleaved, written through both instances.
  const written: AuditEvent[] = [];
  for (let i = 0; i < 2 * WEBHOOK_BATCH + 50; i++) {
    for (const [n, env] of envs.entries()) {
      const e = event(env, NOW + written.length, i);
      written.push(e);
      await (n === i % 2 ? a : b).audit.append([e]);
    }
  }
  assert.equal(await a.auditOutbox.pending(), written.length);

  const receiver = await startReceiver(t);
  const clock = new TestClock(NOW);
  // The first POST is held until a POST of the other environment arrives (at most 8 s, within the
  // deliverer's 10 s request timeout): the second instance, finding the first environment locked,
  // must be delivering the other one meanwhile.
  let release: (() => void) | undefined;
  const held = new Promise<void>((resolve) => { release = resolve; });
  let parallel = false;
  receiver.respond = async (arrival) => {
    const i = receiver.arrivals.indexOf(arrival);
    if (i === 0) {
      await Promise.race([held, new Promise((resolve) => setTimeout(resolve, 8000))]);
    } else if (!parallel && arrival.events[0]?.environment_id !== receiver.arrivals[0]?.events[0]?.environment_id) {
      parallel = true;
      release?.();
    }
    // Every fourth POST fails, so batches are retried, by whichever instance gets there first.
    return i % 4 === 3 ? 503 : 204;
  };
  const seen = trackConcurrency(receiver);
  const hooks = [deliverer(t, a, clock, receiver, 'a'), deliverer(t, b, clock, receiver, 'b')];

  for (let round = 0; round < 40 && await a.auditOutbox.pending() > 0; round++) {
    await Promise.all(hooks.map((h) => h.drain()));
    clock.t += retryDelayMs(20);
  }
  assert.equal(await a.auditOutbox.pending(), 0);
  assert.ok(parallel, 'the two instances delivered different environments at the same time');
  assert.ok(receiver.arrivals.some((x) => x.path.endsWith('from=a')) && receiver.arrivals.some((x) => x.path.endsWith('from=b')), 'both instances delivered');
  assert.ok(receiver.arrivals.some((x) => x.answer === 503), 'some batches were retried');
  for (const [env, max] of seen.maxPerEnv) assert.equal(max, 1, `environment ${env}: one delivery at a time`);
  assert.equal(seen.maxOverall(), 2);

  const delivered = receiver.delivered();
  const ids = delivered.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'no event delivered twice');
  assert.equal(ids.length, written.length, 'every event delivered');
  const got = byEnvironment(delivered);
  for (const [env, events] of byEnvironment(written)) {
    assert.deepEqual(got.get(env)?.map((e) => e.id), events.map((e) => e.id), `environment ${env}: in order`);
  }
});

test('an event whose write commits after a later event\'s is still delivered first: the deliverer waits for writes in flight', async (t) => {
  const [a, b] = await instances(t, 2);
  assert.ok(a && b);
  const env = environment();
  await a.environments.create(env);
  const first = event(env, NOW + 1, 1);
  const second = event(env, NOW + 2, 2);
  // A write on instance a has its event and outbox row but has not committed yet (its numbers in
  // the outbox come first); a later write on instance b commits meanwhile.
  let commit: (() => void) | undefined;
  const gate = new Promise<void>((resolve) => { commit = resolve; });
  let appended: (() => void) | undefined;
  const rowsWritten = new Promise<void>((resolve) => { appended = resolve; });
  const slow = a.db.transaction(async (tx) => {
    await appendAudit(tx, [first], true);
    appended?.();
    await gate;
  });
  await rowsWritten;
  await b.audit.append([second]);

  const receiver = await startReceiver(t);
  const clock = new TestClock(NOW);
  const hook = deliverer(t, b, clock, receiver, 'b');
  const draining = hook.drain();
  // The write commits once the deliverer is waiting for it (a lock it cannot have yet), or once the
  // deliverer is done, had it not waited.
  let done = false;
  const waiting = (async () => {
    while (!done) {
      const r = await b.db.get({ text: "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted" });
      if (Number(r?.n) > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  await Promise.race([draining, waiting]);
  done = true;
  commit?.();
  await slow;
  await draining;
  await waiting;
  await hook.drain();
  assert.equal(await b.auditOutbox.pending(), 0);
  assert.deepEqual(receiver.delivered().map((e) => e.id), [first.id, second.id], 'in the order the outbox numbered them');
});

// A restart of the real `serve` process loses no audit event, kill -9 included: events wait in the
// outbox in the database until a receiver confirms them (src/audit/webhook.ts), so a server killed
// while its receiver is down, or while a delivery is in flight, delivers them once it is started
// again on the same DATA_DIR. Delivery is at least once: an unconfirmed batch comes again. The
// waits are bounded generously and never asserted as speeds (a loaded 2-core machine runs this).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { freePort } from '../../scripts/net.ts';
import { cliJson, type ClientJson, type EnvironmentJson } from '../cli/run.ts';
import { startServe, type ServeProcess } from '../cli/serve-process.ts';
import { tempDir } from '../helpers/build.ts';
import { byEnvironment, firstArrivals, isOk, SECRET, startReceiver, verifySignature, type EventJson, type Receiver } from './_support.ts';

async function until(what: string, timeoutMs: number, done: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not within ${Math.round(timeoutMs / 1000)} s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function kill9(server: ServeProcess): Promise<void> {
  const exited = once(server.child, 'exit');
  server.child.kill('SIGKILL');
  await exited;
}

async function requestDevice(base: string, clientId: string): Promise<void> {
  const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: clientId, scope: 'openid' }) });
  assert.equal(res.status, 200, await res.text());
}

/** Every event of the trail, per environment, as `audit list` prints it. */
async function trail(dir: string, env: Record<string, string>, envs: readonly string[]): Promise<EventJson[]> {
  const lists = await Promise.all(envs.map((e) => cliJson<{ events: EventJson[] }>(dir, ['audit', 'list', '--env', e, '--limit', '10000'], { env })));
  return lists.flatMap((l) => l.events);
}

function assertFirstArrivalsInOrder(receiver: Receiver): void {
  for (const [env, events] of byEnvironment(firstArrivals(receiver.delivered()))) {
    const times = events.map((e) => Date.parse(e.time));
    assert.deepEqual(times, [...times].sort((x, y) => x - y), `environment ${env}: first arrivals in time order`);
  }
}

test('SIGKILL while the receiver is down, then while a delivery is in flight: after each restart every event arrives (at least once, first arrivals in order)', async (t) => {
  const dir = tempDir(t);
  // The receiver's port, with nothing listening on it yet: deliveries are refused.
  const port = await freePort();
  const env = { AUDIT_WEBHOOK_URL: `http://127.0.0.1:${port}/audit-hook`, AUDIT_WEBHOOK_SECRET: SECRET };
  const downSince = Date.now();
  let server = await startServe(t, dir, env);

  // Events of both kinds of writer: the CLI beside the server (with the same environment, as an
  // operator's shell has) and the server's own requests, in two environments, one after another.
  const tv = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'TV'], { env });
  const second = await cliJson<EnvironmentJson>(dir, ['env', 'create', '--name', 'second'], { env });
  const tv2 = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'TV 2', '--env', 'second'], { env });
  for (let i = 0; i < 3; i++) {
    await requestDevice(`${server.url}/oauth/device_authorization`, tv.client_id);
    await requestDevice(`${server.url}/${second.id}/as/device_authorization`, tv2.client_id);
  }
  await kill9(server);
  // Backoff doubles from 1 s, so the next attempt after an outage of d seconds is at most ~d later.
  const bound = Date.now() - downSince + 60_000;

  const before = await trail(dir, env, ['default', 'second']);
  const types = new Set(before.map((e) => e.type));
  assert.ok(types.has('admin.changed') && types.has('device.requested'), [...types].join(', '));
  assert.equal(before.filter((e) => e.type === 'device.requested').length, 6);

  const receiver = await startReceiver(t, port);
  server = await startServe(t, dir, env);
  const delivered = (): Set<string> => new Set(receiver.delivered().map((e) => e.id));
  await until('every event of the trail delivered after the restart', bound, () => before.every((e) => delivered().has(e.id)));
  assertFirstArrivalsInOrder(receiver);
  const now = Math.floor(Date.now() / 1000);
  for (const a of receiver.arrivals) assert.ok(verifySignature(SECRET, a.signature, a.raw, now, 600), 'signed with the secret');

  // A delivery in flight when the server dies: the receiver has the POST but never answers it.
  receiver.respond = () => 'hang';
  const late = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'Late TV'], { env });
  const isLate = (e: EventJson): boolean => e.subject === `client:${late.client_id}`;
  await until('the new event posted', 60_000, () => receiver.arrivals.some((a) => a.events.some(isLate)));
  await kill9(server);
  receiver.respond = () => 204;
  server = await startServe(t, dir, env);
  await until('the unconfirmed event delivered again after the restart', 60_000, () => receiver.delivered().some(isLate));
  const lateArrivals = receiver.arrivals.filter((a) => a.events.some(isLate));
  assert.ok(lateArrivals.length >= 2, 'it came again: at least once');
  assert.equal(lateArrivals[0]?.answer, 'hang');
  assert.ok(lateArrivals.some((a) => isOk(a.answer)));

  const after = await trail(dir, env, ['default', 'second']);
  await until('every event of the trail delivered', 60_000, () => after.every((e) => delivered().has(e.id)));
  assertFirstArrivalsInOrder(receiver);
  assert.equal(await server.stop(), 0);
});

test('SIGTERM while the receiver holds a delivery open: the server shuts down gracefully (exit 0) within its grace, and the batch is delivered after the restart', async (t) => {
  const dir = tempDir(t);
  const receiver = await startReceiver(t);
  receiver.respond = () => 'hang';
  // A grace shorter than the deliverer's 10 s request timeout: stopping must not wait for that.
  const env = { AUDIT_WEBHOOK_URL: receiver.url, AUDIT_WEBHOOK_SECRET: SECRET, SHUTDOWN_GRACE_SECONDS: '5' };
  let server = await startServe(t, dir, env);
  await until('a delivery held open', 60_000, () => receiver.arrivals.length > 0);
  const held = receiver.arrivals[0]?.events.map((e) => e.id) ?? [];
  assert.ok(held.length > 0);
  assert.equal(await server.stop(), 0, 'a graceful shutdown, not one cut off at the grace');
  receiver.respond = () => 204;
  server = await startServe(t, dir, env);
  await until('the held batch delivered after the restart', 60_000, () => held.every((id) => receiver.delivered().some((e) => e.id === id)));
  assert.equal(await server.stop(), 0);
});

// A PostgreSQL host that stops answering without closing its connections (a paused VM, a network
// partition, a failover whose old address keeps the sockets open): the server is frozen with
// SIGSTOP. Requests on the pool's open connections must not hang until the kernel gives up on the
// socket (minutes): the statement timeout answers them 503 with Retry-After in their surface's
// shape, the connections are dropped, and once the host answers again the same instance serves
// as before, with no restart.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ClientCache } from '../../src/store/postgres/client-cache.ts';
import { PgDb } from '../../src/store/postgres/db.ts';
import { startServe } from '../cli/serve-process.ts';
import { tempDir } from '../helpers/build.ts';
import { postgres } from '../helpers/postgres.ts';
import {
  assertUnavailable, deploy, deviceAuthorization, deviceLogin, eventually, flowOf, flowStep, LOAD_ENV, Outcomes, PASSWORD, poll, send, startFlow,
} from './_logins.ts';
import { CHECK } from './_support.ts';

test('PostgreSQL frozen: requests on open connections answer 503 in their shape instead of hanging, and the instance recovers by itself', { timeout: 300_000 }, async (t) => {
  const server = await postgres();
  const env = { ...LOAD_ENV, DATABASE_URL: await server.database(), SERVER_SECRET: randomBytes(32).toString('base64url') };
  const d = await deploy(t, env);
  const instance = await startServe(t, tempDir(t), env);
  const base = instance.url;

  // Requests that leave the pool with open connections, and what the probes send meanwhile.
  const pending = await deviceAuthorization(base, d);
  assert.equal(pending.status, 200, pending.text);
  const started = await startFlow(base, d);
  assert.equal(started.status, 302, started.text);
  const flow = flowOf(base, d, started);
  await Promise.all(Array.from({ length: 5 }, () => poll(base, d, String(pending.json.device_code))));

  await server.freeze(async () => {
    // At once, as a load balancer would send them: each is held by the frozen database, not by the others.
    const [polled, authorized, stepped, ready] = await Promise.all([
      poll(base, d, String(pending.json.device_code)),
      deviceAuthorization(base, d),
      flowStep(flow, CHECK, { username: 'alice', password: PASSWORD }),
      send(`${base}/readyz`),
    ]);
    assertUnavailable('oauth', polled, 'a poll');
    assertUnavailable('oauth', authorized, 'a device authorization');
    assertUnavailable('flows', stepped, 'a flow step');
    assert.equal(ready.status, 503, `not ready while the database does not answer: ${ready.text}`);
  });

  // The same instance, no restart: ready again, and a whole device login goes through.
  await eventually('ready again after the database answers', async () => (await send(`${base}/readyz`)).status === 200);
  const o = new Outcomes();
  assert.ok(await deviceLogin(o, d, { start: base, approve: base, polls: [base] }), `a whole device login: ${o.problems.join('; ')}`);
  assert.deepEqual(o.problems, []);
  assert.equal((await flowStep(flow, CHECK, { username: 'alice', password: PASSWORD })).status, 200, 'the flow that met the freeze goes on');
  assert.equal(instance.child.exitCode, null, 'the instance ran throughout');
  assert.equal(await instance.stop(), 0);
});

test('PostgreSQL frozen: an instance stops answering clients from memory once its listening connection goes unanswered, and listens again after', { timeout: 120_000 }, async (t) => {
  const server = await postgres();
  const db = new PgDb({ url: await server.database(), poolSize: 1 });
  t.after(() => db.close());
  // The heartbeat shortened from 10 s (and 5 s to answer) to keep the test short.
  const cache = new ClientCache(() => db.unboundedClient(), { everyMs: 200, timeoutMs: 1_000 });
  t.after(() => cache.close());
  cache.start();
  await eventually('the cache listens', () => cache.listening, 20_000);
  // A frozen host keeps the socket open: only the unanswered heartbeat says it is gone.
  await server.freeze(() => eventually('the cache stops trusting its silent connection', () => !cache.listening, 20_000));
  await eventually('the cache listens again once the host answers', () => cache.listening, 30_000);
});

// PostgreSQL restarting under load (README "Scaling out"): two `serve` processes on one PostgreSQL,
// device logins running through both at once (device authorizations, polls, approvals through the
// flow API, each login's steps spread over the two). The database goes away twice: once stopped
// long enough to ask every surface what it answers meanwhile (a 503 with Retry-After in its own
// shape, never a 500, never a hang), once restarted as an operator does it (`pg_ctl restart -m
// fast`) in the middle of the load. The instances are never restarted: device logins complete
// again on both once the database is back, and every answer the load was given still holds.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { startServe } from '../cli/serve-process.ts';
import { tempDir } from '../helpers/build.ts';
import { postgres } from '../helpers/postgres.ts';
import {
  assertAnswersHold, assertUnavailable, deploy, deviceAuthorization, deviceLogin, eventually, flowOf, flowStep, form, LOAD_ENV,
  Outcomes, PASSWORD, poll, send, startFlow, startLoad,
} from './_logins.ts';
import { CHECK } from './_support.ts';

const RSA_APP_ID = '1f00c62b-a5c0-49d3-9ffb-92314d717187';

test('PostgreSQL stopped and restarted under load: 503 + Retry-After in every surface\'s shape meanwhile, two instances recover by themselves, every answer holds', { timeout: 600_000 }, async (t) => {
  const server = await postgres();
  const env = { ...LOAD_ENV, DATABASE_URL: await server.database(), SERVER_SECRET: randomBytes(32).toString('base64url') };
  const d = await deploy(t, env);
  const a = await startServe(t, tempDir(t), env);
  const b = await startServe(t, tempDir(t), env);
  const instances = [a.url, b.url];

  // Logins spread over both instances and devices polling both (startLoad), judged as they go.
  const o = new Outcomes();
  const load = await startLoad(t, o, d, a.url, b.url);

  // What the probes send while the database is down: a pending code, and a flow on each instance.
  const pending = await deviceAuthorization(a.url, d);
  assert.equal(pending.status, 200, pending.text);
  const flows = await Promise.all(instances.map(async (base) => {
    const started = await startFlow(base, d);
    assert.equal(started.status, 302, started.text);
    return flowOf(base, d, started);
  }));

  await server.restart(async () => {
    for (const [i, base] of instances.entries()) {
      const name = i === 0 ? 'A' : 'B';
      assertUnavailable('oauth', await poll(base, d, String(pending.json.device_code)), `${name}: a poll`);
      assertUnavailable('oauth', await deviceAuthorization(base, d), `${name}: a device authorization`);
      assertUnavailable('page', await startFlow(base, d), `${name}: the verification page`);
      const flow = flows[i];
      assert.ok(flow);
      assertUnavailable('flows', await flowStep(flow, CHECK, { username: 'alice', password: PASSWORD }), `${name}: a flow step`);
      assertUnavailable('veeam', await send(`${base}/api/oauth2/token`, form({ grant_type: 'Password', Username: 'alice', Password: PASSWORD })), `${name}: a Veeam sign-in`);
      const redeem = await send(`${base}/api/v1/devices/registrations`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ deviceRegistrationCode: '123456789', appId: RSA_APP_ID, deviceName: 'phone', platform: 'iOS' }),
      });
      assertUnavailable('rsa', redeem, `${name}: an RSA registration`);
      const ready = await send(`${base}/readyz`);
      assert.equal(ready.status, 503, `${name}: not ready while the database is down: ${ready.text}`);
      // The landing page only points elsewhere: it is served, with the branding read at start.
      const landing = await send(`${base}/`, { headers: { accept: 'text/html' } });
      assert.equal(landing.status, 200, `${name}: the landing page while the database is down`);
      assert.match(landing.text, /href="[^"]*\/device"/);
    }
    // The load meets the outage too, and is answered in the same shape (checked as it goes).
    await eventually('the load is refused while the database is down', () => (o.refusals.get('oauth') ?? 0) > 0);
  });

  // Nothing restarts the instances: their pools open new connections by themselves.
  await load.completeAgain('device logins complete again after PostgreSQL came back');
  for (const base of instances) {
    assert.equal((await send(`${base}/readyz`)).status, 200, 'ready again');
    assert.ok(await deviceLogin(o, d, { start: base, approve: base, polls: [base] }), `a whole device login on one instance: ${o.problems.join('; ')}`);
  }
  // The flow that met the outage goes on where it was.
  for (const flow of flows) assert.equal((await flowStep(flow, CHECK, { username: 'alice', password: PASSWORD })).status, 200);

  // An operator's restart, in the middle of the load.
  const refusedBefore = [...o.refusals.values()].reduce((n, x) => n + x, 0);
  await server.restart();
  await load.completeAgain('device logins complete again after pg_ctl restart');
  t.diagnostic(`503s the load met around pg_ctl restart: ${[...o.refusals.values()].reduce((n, x) => n + x, 0) - refusedBefore}`);

  await load.finish();
  t.diagnostic(`logins: ${o.logins.length}, tokens: ${o.logins.reduce((n, l) => n + l.tokens.length, 0)}, 503s seen by the load: ${JSON.stringify(Object.fromEntries(o.refusals))}`);
  await assertAnswersHold(o, d, instances);
  for (const instance of [a, b]) {
    assert.equal(instance.child.exitCode, null, 'the instance ran throughout');
    assert.equal(await instance.stop(), 0);
  }
});

// Redis restarting under load (README "Shared limits (Redis)"): two `serve` processes sharing one
// PostgreSQL and one Redis, device logins running through both. Redis is stopped and started again
// on the same port while they run. Meanwhile the plain rate limits fall back to each instance's own
// counters (a budget per instance, not none), and the wrong-code budget fails closed: codes are
// refused with 503 and Retry-After, never checked uncounted. Once Redis is back, without a restart
// of either instance, the limits are shared again, codes are checked again, and every answer the
// load was given still holds.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { startServe } from '../cli/serve-process.ts';
import { tempDir } from '../helpers/build.ts';
import { postgresDatabase } from '../helpers/postgres.ts';
import { startRedis } from '../helpers/redis.ts';
import {
  assertAnswersHold, assertUnavailable, deploy, deviceAuthorization, eventually, flowOf, flowStep, LOAD_ENV, Outcomes, PASSWORD,
  send, startFlow, startLoad, type Flow,
} from './_logins.ts';
import { CHECK, VERIFY } from './_support.ts';

const RSA_APP_ID = '1f00c62b-a5c0-49d3-9ffb-92314d717187';
/** The discovery budget per window (an hour: no window ends during the test). */
const DISCOVERY = 4;

/** Discovery requests sent to `bases` in turn until one is refused (429): how many were answered. */
async function budgetLeft(bases: readonly string[]): Promise<number> {
  for (let n = 0; n <= 10 * DISCOVERY; n++) {
    const r = await send(`${bases[n % bases.length] ?? ''}/.well-known/openid-configuration`);
    if (r.status === 429) {
      assert.ok(Number(r.headers.get('retry-after')) >= 1, 'a refusal says when to come back');
      return n;
    }
    assert.equal(r.status, 200, r.text);
  }
  throw new Error('discovery was never limited');
}

async function redisSeen(base: string): Promise<boolean | undefined> {
  const r = await send(`${base}/readyz`);
  assert.equal(r.status, 200, `ready with or without Redis: ${r.text}`);
  return (r.json.checks as { redis?: boolean }).redis;
}

test('Redis stopped and started again under load: limits fall back per instance and return to shared, the guess budget fails closed meanwhile, both instances recover by themselves', { timeout: 600_000 }, async (t) => {
  const redis = await startRedis(t);
  const env = {
    ...LOAD_ENV, DATABASE_URL: await postgresDatabase(), REDIS_URL: redis.url, SERVER_SECRET: randomBytes(32).toString('base64url'),
    RATE_LIMIT_DISCOVERY: String(DISCOVERY),
  };
  const d = await deploy(t, env);
  const a = await startServe(t, tempDir(t), env);
  const b = await startServe(t, tempDir(t), env);
  const instances = [a.url, b.url];

  // One discovery budget across both instances while Redis answers.
  assert.equal(await budgetLeft(instances), DISCOVERY, 'the budget spread over A and B');
  assert.equal(await budgetLeft([b.url]), 0, 'and spent on both');

  const o = new Outcomes();
  const load = await startLoad(t, o, d, a.url, b.url);

  // A code for each instance's probe, and a flow on each signed in and waiting for it.
  const probes: { base: string; flow: Flow; userCode: string }[] = [];
  for (const base of instances) {
    const started = await deviceAuthorization(base, d);
    assert.equal(started.status, 200, started.text);
    const entry = await startFlow(base, d);
    assert.equal(entry.status, 302, entry.text);
    const flow = flowOf(base, d, entry);
    assert.equal((await flowStep(flow, CHECK, { username: 'alice', password: PASSWORD })).status, 200);
    probes.push({ base, flow, userCode: String(started.json.user_code) });
  }

  await redis.stop();
  for (const base of instances) await eventually('the instance sees Redis gone', async () => await redisSeen(base) === false);
  for (const [i, { base, flow, userCode }] of probes.entries()) {
    const name = i === 0 ? 'A' : 'B';
    // The wrong-code budget fails closed: the right code is refused too, in each surface's shape.
    assertUnavailable('flows', await flowStep(flow, VERIFY, { userCode }), `${name}: a code entered in a flow`);
    const redeem = await send(`${base}/api/v1/devices/registrations`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deviceRegistrationCode: '123456789', appId: RSA_APP_ID, deviceName: 'phone', platform: 'iOS' }),
    });
    assertUnavailable('rsa', redeem, `${name}: an RSA registration code`);
    // Plain limits fall back to the instance's own counters: device logins start, discovery gets a fresh budget per instance.
    assert.equal((await deviceAuthorization(base, d)).status, 200, `${name}: a device authorization`);
    assert.equal(await budgetLeft([base]), DISCOVERY, `${name}: a budget of its own`);
  }
  // The load's own codes are refused meanwhile (it tries them again until Redis is back).
  await eventually('the load meets the closed guess budget', () => (o.refusals.get('flows') ?? 0) > 0);

  await redis.start();
  for (const base of instances) await eventually('the instance sees Redis back', async () => await redisSeen(base) === true);
  // Codes are checked again: the probes' flows go on where they stopped, and the load's logins complete.
  for (const { flow, userCode } of probes) {
    const verified = await flowStep(flow, VERIFY, { userCode });
    assert.equal(verified.status, 200, verified.text);
    assert.equal(verified.json.status, 'DAG_CONSENT_REQUIRED');
  }
  await load.completeAgain('device logins complete again after Redis came back');
  // The limits are shared again (in the new Redis, which forgot the old counters).
  assert.equal(await budgetLeft(instances), DISCOVERY, 'one budget over A and B again');
  assert.equal(await budgetLeft([a.url]), 0);

  await load.finish();
  t.diagnostic(`logins: ${o.logins.length}, tokens: ${o.logins.reduce((n, l) => n + l.tokens.length, 0)}, 503s seen by the load: ${JSON.stringify(Object.fromEntries(o.refusals))}`);
  await assertAnswersHold(o, d, instances);
  for (const instance of [a, b]) {
    assert.equal(instance.child.exitCode, null, 'the instance ran throughout');
    assert.equal(await instance.stop(), 0);
  }
});

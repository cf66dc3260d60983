// Concurrent polls over real sockets (docs/architecture.md, "Consume before sign"): the code is consumed atomically before a token is
// signed, so exactly one of many simultaneous polls gets the token.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build, DEVICE_CODE_GRANT, encodeForm } from '../helpers/build.ts';
import { decide, startAuthorization } from './_support.ts';

const N = 50;

async function pollConcurrently(base: string, deviceCode: string, clientId: string): Promise<{ status: number; body: Record<string, unknown> }[]> {
  const body = encodeForm({ grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: clientId });
  return Promise.all(Array.from({ length: N }, async () => {
    const res = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }));
}

test(`${N} concurrent polls of one approved code: exactly one token, ${N - 1} invalid_grant`, async (t) => {
  const h = await build(t);
  const base = await h.listen();
  const client = await h.publicClient();
  const user = await h.user();
  const started = await startAuthorization(h, client);
  await decide(h, started.user_code, user, true);

  const results = await pollConcurrently(base, started.device_code, client.clientId);
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status === 400 && r.body.error === 'invalid_grant');
  assert.equal(ok.length, 1, JSON.stringify(results.filter((r) => r.status !== 400)));
  assert.equal(refused.length, N - 1, JSON.stringify(results.filter((r) => r.body.error !== 'invalid_grant')));
  const [winner] = ok;
  assert.ok(winner);
  assert.equal(winner.body.token_type, 'Bearer');
  assert.equal(typeof winner.body.access_token, 'string');

  const stored = await h.services.store.deviceAuthorizations.getByDeviceCodeHash(h.services.secrets.hashCode('device', started.device_code));
  assert.equal(stored?.status, 'consumed');
});

test(`${N} concurrent polls of one pending code: one authorization_pending, the rest slow_down`, async (t) => {
  const h = await build(t);
  const base = await h.listen();
  const client = await h.publicClient();
  const started = await startAuthorization(h, client);

  const results = await pollConcurrently(base, started.device_code, client.clientId);
  assert.ok(results.every((r) => r.status === 400), JSON.stringify(results.filter((r) => r.status !== 400)));
  assert.equal(results.filter((r) => r.body.error === 'authorization_pending').length, 1);
  assert.equal(results.filter((r) => r.body.error === 'slow_down').length, N - 1);
  const stored = await h.services.store.deviceAuthorizations.getByDeviceCodeHash(h.services.secrets.hashCode('device', started.device_code));
  assert.ok(stored);
  assert.equal(stored.status, 'pending');
  assert.ok(stored.interval > 5, 'the burst slowed the device down');
});

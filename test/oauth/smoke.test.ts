import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build, DEVICE_CODE_GRANT } from '../helpers/build.ts';

test('a device login completes: authorize, pending, approve, token', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid profile' });
  const user = await h.user('alice');
  const started = await h.form('/oauth/device_authorization', { client_id: client.clientId, scope: 'openid' });
  assert.equal(started.statusCode, 200);
  const body = started.json<{ device_code: string; user_code: string }>();
  const poll = () => h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: body.device_code, client_id: client.clientId });
  assert.equal((await poll()).json<{ error: string }>().error, 'authorization_pending');
  const device = await h.services.deviceFlow.findPendingByUserCode(h.services.defaultEnv, body.user_code);
  await h.services.deviceFlow.decide(device, user, true);
  const token = await poll();
  assert.equal(token.statusCode, 200);
  assert.equal(token.json<{ token_type: string }>().token_type, 'Bearer');
  assert.equal(token.headers['cache-control'], 'no-store');
});

// `client create --refresh` and `grants list|revoke`: a support desk signs a TV out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build, DEVICE_CODE_GRANT, TestClock } from '../helpers/build.ts';
import { decide, startAuthorization } from '../oauth/_support.ts';
import { assertFailure, cliJson, dataDir, runCli } from './run.ts';

test('grants list shows a user\'s devices; grants revoke signs one out and its refresh token stops working', async (t) => {
  const dir = await dataDir(t);
  const client = await cliJson<{ client_id: string; scope: string; grant_types: string[]; refresh: { rotation: boolean } }>(dir,
    ['client', 'create', '--name', 'Living-room TV', '--refresh', '--scope', 'openid']);
  assert.equal(client.scope, 'openid offline_access');
  assert.deepEqual(client.grant_types, [DEVICE_CODE_GRANT, 'refresh_token']);
  assert.equal(client.refresh.rotation, true);
  assert.equal((await runCli(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: 'correct horse battery\n' })).code, 0);

  // The CLI runs on the wall clock, so the server here does too (grants expire on it).
  const h = await build(t, { dir, clock: new TestClock('real') });
  const stored = await h.services.store.clients.get(h.services.defaultEnv.id, client.client_id);
  assert.ok(stored);
  const alice = await h.services.admin.users.getByUsername(h.services.defaultEnv.id, 'alice');
  const started = await startAuthorization(h, stored, { scope: 'openid offline_access' });
  await decide(h, started.user_code, alice, true);
  const token = (await h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: started.device_code, client_id: client.client_id }))
    .json<{ refresh_token: string }>();

  const listed = await cliJson<{ grants: { id: string; client_name: string; kind: string; scope: string }[] }>(dir, ['grants', 'list', '--user', 'alice']);
  const [grant, ...more] = listed.grants;
  assert.ok(grant);
  assert.deepEqual(more, []);
  assert.equal(grant.client_name, 'Living-room TV');
  assert.equal(grant.kind, 'device');
  const text = await runCli(dir, ['grants', 'list', '--user', 'alice']);
  assert.match(text.stdout, /GRANT_ID\s+KIND\s+APPLICATION/);
  assert.match(text.stdout, /Living-room TV/);

  const revoked = await cliJson<{ revoked_at: string | null }>(dir, ['grants', 'revoke', grant.id]);
  assert.ok(revoked.revoked_at);
  const refresh = await h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: token.refresh_token, client_id: client.client_id });
  assert.equal(refresh.json<{ error: string }>().error, 'invalid_grant');
  assert.deepEqual((await cliJson<{ grants: unknown[] }>(dir, ['grants', 'list', '--user', 'alice'])).grants, []);
  assertFailure(await runCli(dir, ['grants', 'revoke', crypto.randomUUID()]), /no grant/);
  assertFailure(await runCli(dir, ['grants', 'list', '--user', 'nobody']), /no user nobody/);
  assertFailure(await runCli(dir, ['client', 'create', '--name', 'x', '--no-rotation', '--refresh']), /public clients always rotate/);
  assertFailure(await runCli(dir, ['client', 'create', '--name', 'x', '--refresh-always']), /refresh settings need refresh tokens enabled/);
});

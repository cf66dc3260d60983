// Password hashes (issue "Ready for production" §3): OWASP's scrypt minimum by default,
// and hashes of older, weaker parameters upgraded at the next successful sign-in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { hashPassword, isWeakerThan, OWASP_MINIMUM, verifyPassword } from '../../src/crypto/passwords.ts';
import { build, tempDir } from '../helpers/build.ts';

test('the default password cost is OWASP\'s scrypt minimum, N=2^17, r=8, p=1', (t) => {
  const config = loadConfig({ DATA_DIR: tempDir(t) });
  assert.deepEqual({ ...config.passwordCost }, { N: 131072, r: 8, p: 1 });
  assert.deepEqual(OWASP_MINIMUM, { N: 131072, r: 8, p: 1 });
  assert.throws(() => loadConfig({ DATA_DIR: tempDir(t), PASSWORD_SCRYPT_N: '100000' }), /PASSWORD_SCRYPT_N: must be a power of two/);
  assert.throws(() => loadConfig({ DATA_DIR: tempDir(t), PASSWORD_SCRYPT_N: '1024' }), /PASSWORD_SCRYPT_N/);
});

test('a hash at the default cost verifies, and records its parameters', async () => {
  const stored = await hashPassword('correct horse battery', OWASP_MINIMUM);
  assert.match(stored, /^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  assert.equal(await verifyPassword('correct horse battery', stored), true);
  assert.equal(await verifyPassword('correct horse batterY', stored), false);
  assert.equal(isWeakerThan(stored, OWASP_MINIMUM), false);
  assert.equal(isWeakerThan(await hashPassword('x', { N: 2 ** 14, r: 8, p: 1 }), OWASP_MINIMUM), true);
});

test('a user\'s older, weaker hash is replaced at the next successful sign-in, and not after a wrong one', async (t) => {
  // Users created at the old cost (N=2^14), then the server runs at a higher one (N=2^15).
  const dir = tempDir(t);
  const before = await build(t, { dir });
  await before.user('alice', 'correct horse battery');
  const old = (await before.services.store.users.getByUsername(before.services.defaultEnv.id, 'alice'))?.passwordHash ?? '';
  assert.match(old, /^scrypt\$16384\$/);
  await before.app.close();
  await before.services.close();

  const h = await build(t, { dir, env: { PASSWORD_SCRYPT_N: '32768' } });
  const stored = async () => (await h.services.store.users.getByUsername(h.services.defaultEnv.id, 'alice'))?.passwordHash ?? '';
  const grant = (password: string) => h.form('/api/oauth2/token', { grant_type: 'Password', Username: 'alice', Password: password });
  assert.equal((await grant('wrong password')).statusCode, 400);
  assert.equal(await stored(), old, 'a wrong password changes nothing');
  assert.equal((await grant('correct horse battery')).statusCode, 200);
  const upgraded = await stored();
  assert.match(upgraded, /^scrypt\$32768\$8\$1\$/);
  assert.equal(await verifyPassword('correct horse battery', upgraded), true);
  assert.equal((await grant('correct horse battery')).statusCode, 200, 'the new hash works');
  assert.equal(await stored(), upgraded, 'and is not rehashed again');
});

// Confidential clients (RFC 6749 §2.3.1): secrets stored as keyed hashes, older scrypt hashes
// rewritten at the first success, and the failure budget taken before any secret is checked, so a
// concurrent burst cannot buy more checks than the budget (docs/architecture.md, "Budgets").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword } from '../../src/crypto/passwords.ts';
import { build, DEVICE_CODE_GRANT, encodeForm, type TestApp } from '../helpers/build.ts';
import { assertOAuthError, basic } from './_support.ts';

const poll = { grant_type: DEVICE_CODE_GRANT, device_code: 'dc_unknown' };

const token = (h: TestApp, body: Record<string, string>, headers: Record<string, string> = {}, remoteAddress = '192.0.2.10') =>
  h.inject({ method: 'POST', url: '/oauth/token', remoteAddress, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: encodeForm(body) });

test('60 concurrent requests with invented clients and secrets: at most the failure budget is checked, the rest refused unchecked', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_CLIENT_AUTH_FAILURES: '20' } });
  const answers = await Promise.all(Array.from({ length: 60 }, (_, i) =>
    token(h, { ...poll, client_id: `invented-${i}-${crypto.randomUUID()}`, client_secret: `guess-${i}` }, {}, '192.0.2.66')));
  const checked = answers.filter((r) => r.statusCode === 401);
  const refused = answers.filter((r) => r.statusCode === 429);
  // Every 401 went through a (decoy) secret check; every 429 was refused before one.
  assert.equal(checked.length + refused.length, 60, answers.map((r) => r.statusCode).join(','));
  assert.ok(checked.length <= 20, `${checked.length} secrets checked for a budget of 20`);
  assert.equal(checked.length, 20, 'the budget itself is spent, not less');
  for (const r of checked) assertOAuthError(r, 401, 'invalid_client');
  for (const r of refused) assertOAuthError(r, 429, 'temporarily_unavailable');
  // Another source is not affected.
  assertOAuthError(await token(h, { ...poll, client_id: 'nobody', client_secret: 'x' }, {}, '198.51.100.1'), 401, 'invalid_client');
});

test('the same burst with Basic against one real client and wrong secrets: at most the budget is checked', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_CLIENT_AUTH_FAILURES: '5' } });
  const { client, secret } = await h.confidentialClient();
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) =>
    token(h, poll, { authorization: basic(client.clientId, `wrong-${i}`) }, '192.0.2.67')));
  assert.equal(answers.filter((r) => r.statusCode === 401).length, 5);
  assert.equal(answers.filter((r) => r.statusCode === 429).length, 25);
  // The client itself, from its own address, still authenticates.
  assertOAuthError(await token(h, poll, { authorization: basic(client.clientId, secret) }, '198.51.100.2'), 400, 'invalid_grant');
});

test('right secrets give their reservation back: sequential successes never spend the failure budget', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_CLIENT_AUTH_FAILURES: '3' } });
  const { client, secret } = await h.confidentialClient();
  const answers = await Promise.all(Array.from({ length: 10 }, () => token(h, { ...poll, client_id: client.clientId, client_secret: secret })));
  // Concurrent successes may hold the budget for a moment; sequential ones never spend it.
  for (const r of answers) assert.ok(r.statusCode === 400 || r.statusCode === 429, String(r.statusCode));
  for (let i = 0; i < 10; i++) assertOAuthError(await token(h, { ...poll, client_id: client.clientId, client_secret: secret }), 400, 'invalid_grant');
  // The failures that remain are the wrong ones only.
  for (let i = 0; i < 3; i++) assertOAuthError(await token(h, { ...poll, client_id: client.clientId, client_secret: 'wrong' }), 401, 'invalid_client');
  assertOAuthError(await token(h, { ...poll, client_id: client.clientId, client_secret: secret }), 429, 'temporarily_unavailable');
});

test('a generated secret is stored as a keyed hash and checked without a password KDF', async (t) => {
  const h = await build(t);
  const { client, secret } = await h.confidentialClient();
  const stored = await h.services.store.clients.get(client.envId, client.clientId);
  assert.match(stored?.secretHash ?? '', /^hmac-sha256\$[\w-]{43}$/);
  assert.equal(stored?.secretHash?.includes(secret), false);
  assertOAuthError(await token(h, poll, { authorization: basic(client.clientId, secret) }), 400, 'invalid_grant');
  assertOAuthError(await token(h, poll, { authorization: basic(client.clientId, `${secret}x`) }), 401, 'invalid_client');
  assertOAuthError(await token(h, { ...poll, client_id: client.clientId, client_secret: '' }), 401, 'invalid_client');
  // Another server secret, another hash: the database alone does not let anyone test a guess.
  const other = await build(t, { env: { SERVER_SECRET: 'another-server-secret-of-at-least-32-chars' } });
  assert.notEqual(other.services.secrets.hashClientSecret(secret), h.services.secrets.hashClientSecret(secret));
});

test('a client with an older scrypt hash authenticates once by it; the hash is then rewritten as a keyed hash', async (t) => {
  const h = await build(t);
  const { client } = await h.confidentialClient();
  const secret = 'a-secret-from-before-keyed-hashes';
  const legacy = await hashPassword(secret, { N: 2 ** 14, r: 8, p: 1 });
  assert.equal(await h.services.store.clients.setSecretHash(client.envId, client.clientId, client.secretHash ?? '', legacy), true);

  // A wrong secret is refused and changes nothing.
  assertOAuthError(await token(h, poll, { authorization: basic(client.clientId, 'wrong') }), 401, 'invalid_client');
  assert.equal((await h.services.store.clients.get(client.envId, client.clientId))?.secretHash, legacy);

  assertOAuthError(await token(h, poll, { authorization: basic(client.clientId, secret) }), 400, 'invalid_grant');
  const rewritten = (await h.services.store.clients.get(client.envId, client.clientId))?.secretHash ?? '';
  assert.match(rewritten, /^hmac-sha256\$/);
  assert.equal(h.services.secrets.matchesClientSecret(secret, rewritten), true);
  assertOAuthError(await token(h, { ...poll, client_id: client.clientId, client_secret: secret }), 400, 'invalid_grant');
  assertOAuthError(await token(h, { ...poll, client_id: client.clientId, client_secret: 'wrong' }), 401, 'invalid_client');
  // The rewrite only replaces the hash it read: a stale one changes nothing.
  assert.equal(await h.services.store.clients.setSecretHash(client.envId, client.clientId, legacy, 'hmac-sha256$stale'), false);
});

test('concurrent wrong passwords for one account: at most the account budget is checked', async (t) => {
  const h = await build(t, { env: { ACCOUNT_SIGN_IN_FAILURES: '4', RATE_LIMIT_SESSION: '1000' } });
  await h.user('alice', 'correct horse battery');
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => h.inject({
    method: 'POST', url: '/api/oauth2/token', remoteAddress: `198.51.100.${i + 1}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: encodeForm({ grant_type: 'Password', Username: 'alice', Password: `wrong-${i}` }),
  })));
  assert.equal(answers.filter((r) => r.statusCode === 400).length, 4, answers.map((r) => r.statusCode).join(','));
  assert.equal(answers.filter((r) => r.statusCode === 429).length, 16);
});

test('Basic credentials are form-urlencoded (RFC 6749 §2.3.1): escapes are decoded, and a part without one is taken as it is', async (t) => {
  const h = await build(t);
  const { client, secret } = await h.confidentialClient();
  const raw = (id: string, pass: string) => `Basic ${Buffer.from(`${id}:${pass}`).toString('base64')}`;
  // The id with every character escaped reads as the id itself.
  const escaped = Buffer.from(client.clientId).toString('hex').replace(/../g, '%$&');
  assertOAuthError(await token(h, poll, { authorization: raw(escaped, secret) }), 400, 'invalid_grant');
  assertOAuthError(await token(h, poll, { authorization: raw(client.clientId, secret) }), 400, 'invalid_grant');
  // A '+' is a space, so the secret with one appended is another secret; a bad escape is malformed.
  assertOAuthError(await token(h, poll, { authorization: raw(client.clientId, `${secret}+`) }), 401, 'invalid_client');
  assertOAuthError(await token(h, poll, { authorization: raw(`${client.clientId}%E0%A4%A`, secret) }), 401, 'invalid_client');
});

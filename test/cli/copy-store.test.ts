// `copy-store --from <sqlite> --to <postgres>` (issue 10 §5): a deployment filled through
// the engine and HTTP on SQLite is copied by the real binary; through the store interfaces every
// record reads back equal from PostgreSQL, and the app on PostgreSQL carries on with the copied
// state (a pending approval polls to a token, a refresh token refreshes).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { User } from '../../src/model/records.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { TABLES } from '../../src/store/postgres/copy-from-sqlite.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { postgresDatabase } from '../helpers/postgres.ts';
import { decide, poll, startAuthorization, type TokenBody } from '../oauth/_support.ts';
import { assertFailure, jsonOf, runCli } from './run.ts';

const RSA_APP_ID = '1f00c62b-a5c0-49d3-9ffb-92314d717187';

interface CopyJson {
  from: string;
  to: string;
  tables: Record<string, number>;
  total: number;
}

type WithRefresh = TokenBody & { refresh_token?: string };

/** A deployment with a record of every kind, made the way the server makes them. */
async function fill(h: TestApp) {
  const { services } = h;
  const env = services.defaultEnv;
  const other = await services.admin.createEnvironment('branch-office', { mfaLicensed: false });
  const { client } = await services.admin.createClient({
    envId: env.id, name: 'TV', scope: 'openid profile', refreshTokens: true, deviceNetworks: ['127.0.0.0/8', '::1'], sameNetwork: true,
  });
  await h.confidentialClient({ envId: other.id });
  // Device policy (migration 011): the client's own above, the other environment's defaults here.
  await services.admin.setDeviceDefaults(other, { deviceNetworks: ['10.0.0.0/8'], deviceScopes: 'openid' });
  const alice = await h.user('alice');
  // Profile attributes (migration 007): alice has every one, bob none (null names, unverified email).
  await services.admin.users.update(env.id, 'alice', { name: 'Alice Liddell', givenName: 'Alice', familyName: 'Liddell', emailVerified: true });
  await h.user('bob', undefined, other.id);
  // A grant with its refresh token (rotated once, so the family has history)…
  const login = await startAuthorization(h, client, { scope: 'openid offline_access' });
  await decide(h, login.user_code, alice, true);
  const first = (await poll(h, login.device_code, client.clientId)).json<WithRefresh>();
  const rotated = await h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token ?? '', client_id: client.clientId });
  assert.equal(rotated.statusCode, 200, rotated.body);
  const tokens = rotated.json<WithRefresh>();
  // …an approved code nobody has polled yet, a pending one, a revoked access token, a flow, a wrong guess…
  const approved = await startAuthorization(h, client);
  await decide(h, approved.user_code, alice, true);
  await startAuthorization(h, client);
  assert.equal((await h.form('/oauth/revoke', { token: first.access_token, client_id: client.clientId })).statusCode, 200);
  assert.equal((await h.inject({ method: 'GET', url: '/device' })).statusCode, 302);
  await services.store.guesses.take('192.0.2.7', h.clock.now(), 0, 10);
  // …and the facades' records: an admin key, an app, a registration code, a registered device.
  await services.adminKeys.create(env, 'super_admin', 'ops');
  await services.registration.addApp(env, 'Authenticator');
  await services.registration.issue(env, { username: 'alice' }, RSA_APP_ID);
  const carol = await h.user('carol');
  const { codeHash } = await registeredDevice(h, carol.username);
  await services.keys.rotate(env.id, 'RS256', 60);
  // Sign-in through an identity provider (migration 013): a provider with its encrypted secret, a
  // federated user (no password, one email with alice), an environment without password sign-in.
  const now = h.clock.now();
  await services.store.identityProviders.create({
    envId: env.id, name: 'corp', displayName: 'Corp SSO', issuer: 'https://idp.corp.example.test', clientId: 'dcs', clientSecretEnc: services.secrets.encrypt('s3cret'),
    scope: 'openid email profile', claims: { username: 'preferred_username', email: 'email', name: 'name' }, createdAt: now,
  });
  await services.store.users.create({
    id: randomUUID(), envId: env.id, username: 'alice.corp', email: alice.email, passwordHash: '', disabled: false, name: 'Alice (Corp)', givenName: null,
    familyName: null, emailVerified: true, createdAt: now, updatedAt: now, idpIssuer: 'https://idp.corp.example.test', idpSubject: '00u1alice',
  });
  await services.store.environments.setPasswordSignIn(other.id, false);
  // The verification page's branding (migration 015), on one environment only.
  await services.admin.setBranding(other, {
    displayName: 'Branch office · 支店', logoUrl: 'https://cdn.branch.example.test/logo.png', primaryColor: '#0a7cff', supportUrl: 'https://help.branch.example.test/',
  });
  return { client, env, other, refreshToken: tokens.refresh_token ?? '', approvedCode: approved.device_code, carolCodeHash: codeHash };
}

/** Issues a code for the user and redeems it in the store, so the user has a registered device. */
async function registeredDevice(h: TestApp, username: string): Promise<{ codeHash: string }> {
  const env = h.services.defaultEnv;
  await h.services.registration.issue(env, { username }, RSA_APP_ID);
  const db = new Database(h.config.databasePath, { readonly: true });
  const row = db.prepare('SELECT c.code_hash AS h FROM registration_codes c JOIN users u ON u.id = c.user_id WHERE u.username = ?').get(username) as { h: string };
  db.close();
  const r = await h.services.store.registrationCodes.redeem(row.h, RSA_APP_ID, {
    id: randomUUID(), appId: RSA_APP_ID, deviceName: 'Pixel', platform: 'android', registeredAt: h.clock.now(),
  }, h.clock.now());
  assert.equal(r.outcome, 'ok');
  return { codeHash: row.h };
}

function rows(file: string, sql: string): Record<string, unknown>[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** Every record, read through the store interfaces, by the keys the SQLite file holds. */
async function everything(store: Store, file: string, now: number): Promise<unknown> {
  const ids = (sql: string) => rows(file, sql).map((r) => Object.values(r).map(String));
  const envs = await store.environments.list();
  const perEnv = await Promise.all(envs.map(async (e) => ({
    env: e,
    clients: await store.clients.list(e.id),
    users: await store.users.list(e.id),
    // Keys made in one millisecond (a fixed test clock) tie on created_at, which is all list() orders by.
    keys: (await store.signingKeys.list(e.id)).sort((a, b) => a.kid.localeCompare(b.kid)),
    adminKeys: await store.adminKeys.list(e.id),
    apps: await store.appIds.list(e.id),
    identityProviders: await store.identityProviders.list(e.id),
  })));
  return {
    perEnv,
    devices: await Promise.all(ids('SELECT env_id, id FROM device_authorizations ORDER BY id').map(([e, id]) => store.deviceAuthorizations.get(e ?? '', id ?? ''))),
    flows: await Promise.all(ids('SELECT env_id, id FROM flows ORDER BY id').map(([e, id]) => store.flows.get(e ?? '', id ?? '', now))),
    grants: await Promise.all(ids('SELECT env_id, id FROM grants ORDER BY id').map(([e, id]) => store.grants.get(e ?? '', id ?? ''))),
    refreshTokens: await Promise.all(ids('SELECT token_hash FROM refresh_tokens ORDER BY token_hash').map(([h]) => store.refreshTokens.find(h ?? ''))),
    registered: await Promise.all(ids('SELECT env_id, id FROM users ORDER BY id').map(([e, id]) => store.registeredDevices.listForUser(e ?? '', id ?? ''))),
    revoked: await Promise.all(ids('SELECT jti FROM revoked_access_tokens').map(([jti]) => store.revokedAccessTokens.has(jti ?? ''))),
    guesses: await Promise.all(ids('SELECT DISTINCT source FROM code_guess_failures').map(([s]) => store.guesses.count(s ?? '', 0))),
  };
}

// With the audit webhook configured the outbox fills (nothing here delivers it), so it is copied
// too, and the copy's new events must number after the copied ones.
const WEBHOOK = { AUDIT_WEBHOOK_URL: 'http://127.0.0.1:9/audit', AUDIT_WEBHOOK_SECRET: 'copy-store-webhook-secret' };

test('copy-store copies every record of every table into PostgreSQL, equal through the store interfaces; the app carries on there', async (t) => {
  const h = await build(t, { env: WEBHOOK });
  const filled = await fill(h);
  const file = h.config.databasePath;
  const url = await postgresDatabase();

  const copied = jsonOf(await runCli(h.dir, ['copy-store', '--from', file, '--to', url, '--json'])) as unknown as CopyJson;
  const expected = Object.fromEntries(TABLES.map((table) => [table, Number(rows(file, `SELECT count(*) AS n FROM ${table}`)[0]?.n)]));
  assert.deepEqual(copied.tables, expected);
  assert.ok(Object.values(expected).every((n) => n > 0), `every table had records to copy: ${JSON.stringify(expected)}`);
  assert.equal(copied.total, Object.values(expected).reduce((a, b) => a + b, 0));

  const now = h.clock.now();
  const sqlite = new SqliteStore({ file, now });
  const postgres = await PostgresStore.open({ url, poolSize: 2, now });
  try {
    assert.deepEqual(await everything(postgres, file, now), await everything(sqlite, file, now));
    const profile = (u: User | undefined) => u && [u.name, u.givenName, u.familyName, u.emailVerified];
    assert.deepEqual(profile(await postgres.users.getByUsername(filled.env.id, 'alice')), ['Alice Liddell', 'Alice', 'Liddell', true]);
    assert.deepEqual(profile(await postgres.users.getByUsername(filled.other.id, 'bob')), [null, null, null, false]);
    assert.deepEqual((await postgres.clients.get(filled.env.id, filled.client.clientId))?.devicePolicy,
      { networks: ['127.0.0.0/8', '::1/128'], scopes: null, sameNetwork: true });
    assert.deepEqual((await postgres.environments.get(filled.other.id))?.deviceDefaults, { networks: ['10.0.0.0/8'], scopes: ['openid'] });
    assert.equal((await postgres.environments.get(filled.other.id))?.passwordSignIn, false);
    assert.equal((await postgres.environments.get(filled.other.id))?.branding.primaryColor, '#0a7cff');
    const corp = await postgres.identityProviders.get(filled.env.id, 'corp');
    assert.deepEqual(corp, await sqlite.identityProviders.get(filled.env.id, 'corp'));
    assert.equal(h.services.secrets.decrypt(corp?.clientSecretEnc ?? ''), 's3cret', 'the secret stays encrypted with the same server secret');
    assert.equal((await postgres.users.getByIdentity(filled.env.id, 'https://idp.corp.example.test', '00u1alice'))?.username, 'alice.corp');
    const devices = await Promise.all(rows(file, 'SELECT env_id, id FROM device_authorizations').map((r) => postgres.deviceAuthorizations.get(String(r.env_id), String(r.id))));
    assert.ok(devices.some((d) => d?.grantId !== null && d?.sourceNetwork === '127.0.0.1'), 'a redeemed code keeps its grant and its network');
    // Registration codes have no read: the copied one redeems on PostgreSQL, and only there.
    const aliceCode = rows(file, `SELECT code_hash FROM registration_codes`)[0]?.code_hash;
    const redeemed = await postgres.registrationCodes.redeem(String(aliceCode), RSA_APP_ID, {
      id: randomUUID(), appId: RSA_APP_ID, deviceName: 'Phone', platform: 'ios', registeredAt: now,
    }, now);
    assert.equal(redeemed.outcome, 'ok');
    assert.equal((await postgres.registrationCodes.redeem(filled.carolCodeHash, RSA_APP_ID, {
      id: randomUUID(), appId: RSA_APP_ID, deviceName: 'x', platform: 'x', registeredAt: now,
    }, now)).outcome, 'invalid_code', 'a redeemed code stays redeemed');
  } finally {
    sqlite.close().catch(() => undefined);
    await postgres.close();
  }

  // The same secret (the same DATA_DIR), now on PostgreSQL: the approval made on SQLite polls to a token, the refresh token refreshes.
  const moved = await build(t, { dir: h.dir, clock: h.clock, env: { DATABASE_URL: url, ...WEBHOOK } });
  const waiting = await moved.services.store.auditOutbox.pending();
  assert.equal(moved.services.defaultEnv.id, filled.env.id);
  const token = await poll(moved, filled.approvedCode, filled.client.clientId);
  assert.equal(token.statusCode, 200, token.body);
  assert.ok(await moved.services.store.auditOutbox.pending() > waiting, 'new events join the copied outbox');
  const refreshed = await moved.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: filled.refreshToken, client_id: filled.client.clientId });
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  assert.match(refreshed.json<WithRefresh>().refresh_token ?? '', /^rt_/);

  // A second copy into the now non-empty database is refused, and says why.
  assertFailure(await runCli(h.dir, ['copy-store', '--from', file, '--to', url]), /is not empty \(environments has rows\)/);
});

test('copy-store refuses what it cannot copy: a missing source, a non-PostgreSQL URL, an unreachable server, a file that is no database', async (t) => {
  const h = await build(t);
  const file = h.config.databasePath;
  assertFailure(await runCli(h.dir, ['copy-store', '--from', `${file}.missing`, '--to', 'postgres://127.0.0.1/x']), /no SQLite database at/);
  assertFailure(await runCli(h.dir, ['copy-store', '--from', file, '--to', 'mysql://u:hunter2@127.0.0.1/x']), /--to must be a postgres/);
  const unreachable = await runCli(h.dir, ['copy-store', '--from', file, '--to', 'postgres://u:hunter2@127.0.0.1:1/x']);
  assertFailure(unreachable, /cannot connect to postgres:\/\/u@127\.0\.0\.1:1\/x/);
  assert.doesNotMatch(unreachable.stderr, /hunter2/, 'the password is never printed');
  const url = await postgresDatabase();
  assertFailure(await runCli(h.dir, ['copy-store', '--from', `${h.dir}/server-secret`, '--to', url]), /is not a SQLite database/);
  assertFailure(await runCli(h.dir, ['copy-store', '--to', url]), /missing --from/, 1);
});

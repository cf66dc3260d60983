// `idp add|list|remove` and `env update --password-sign-in` (README "Command line"): a provider is
// stored only once its discovery document (OpenID Connect Discovery 1.0 §4) was fetched and names
// exactly the issuer given; the client secret is read from a file, stored encrypted and never
// printed or recorded; every refusal is exit 1 with one line naming the problem, and stores nothing.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { openServices } from '../../src/services.ts';
import { assertFailure, cliJson, dataDir, runCli, type EnvironmentJson, type RunOptions } from './run.ts';

const PUBLIC: RunOptions = { env: { PUBLIC_URL: 'https://login.example.test' } };
const SECRET = 'upstream-secret-9f2c41d07e3b';

interface IdpJson {
  name: string;
  display_name: string;
  issuer: string;
  client_id: string;
  public: boolean;
  scope: string;
  claims: { username: string; email: string; name: string };
  redirect_uri: string;
}

/**
 * A stand-in for upstream providers on 127.0.0.1, one per path: `/good` serves a discovery document
 * naming itself; `/garbage` is not JSON; `/mismatch` names another issuer; `/incomplete` has no
 * jwks_uri; `/moved` redirects; anything else is 404. Counts the requests it gets.
 */
async function upstream(t: TestContext): Promise<{ base: string; requests: () => number }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const issuer = /^\/(\w+)\/\.well-known\/openid-configuration$/.exec(req.url ?? '')?.[1];
    const doc = (iss: string, o: Record<string, unknown> = {}) => JSON.stringify({
      issuer: iss, authorization_endpoint: `${iss}/auth`, token_endpoint: `${iss}/token`, jwks_uri: `${iss}/jwks`, ...o,
    });
    const send = (status: number, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
      res.writeHead(status, headers).end(body);
    };
    if (issuer === 'good') send(200, doc(`${base}/good`));
    else if (issuer === 'garbage') send(200, '<!doctype html><title>Sign in</title>', { 'content-type': 'text/html' });
    else if (issuer === 'mismatch') send(200, doc(`${base}/other`));
    else if (issuer === 'incomplete') send(200, doc(`${base}/incomplete`, { jwks_uri: undefined }));
    else if (issuer === 'moved') send(302, '', { location: `${base}/good/.well-known/openid-configuration` });
    else send(404, '{"error":"not_found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => { resolve(); })));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}

function secretFile(dir: string, content = `${SECRET}\n`): string {
  const file = path.join(dir, 'idp-secret');
  writeFileSync(file, content, { mode: 0o600 });
  return file;
}

async function defaultEnvId(dir: string): Promise<string> {
  const list = await cliJson<{ environments: EnvironmentJson[] }>(dir, ['env', 'list']);
  return list.environments.find((e) => e.name === 'default')?.id ?? '';
}

test('idp add fetches the discovery document, stores the secret encrypted, prints the redirect URI; list shows it without the secret; remove', async (t) => {
  const dir = await dataDir(t);
  const { base } = await upstream(t);
  const file = secretFile(dir);
  const added = await runCli(dir, ['idp', 'add', '--name', 'corp', '--display-name', 'Corp SSO', '--issuer', `${base}/good`, '--client-id', 'dcs-client',
    '--client-secret-file', file, '--json'], PUBLIC);
  const envId = await defaultEnvId(dir);
  const corp = JSON.parse(added.stdout) as IdpJson;
  assert.equal(added.code, 0, added.stderr);
  assert.deepEqual(corp, {
    name: 'corp', display_name: 'Corp SSO', issuer: `${base}/good`, client_id: 'dcs-client', public: false, scope: 'openid email profile',
    claims: { username: 'preferred_username', email: 'email', name: 'name' },
    redirect_uri: `https://login.example.test/${envId}/idp/corp/callback`,
  });

  // A public client in another environment, with its own label, scope and claims (those not named keep their defaults).
  const staging = await cliJson<EnvironmentJson>(dir, ['env', 'create', '--name', 'staging']);
  const human = await runCli(dir, ['idp', 'add', '--env', 'staging', '--name', 'azure-ad', '--issuer', `${base}/good`, '--client-id', 'dcs-public', '--public',
    '--scope', 'openid email', '--claims', 'username=upn, email=mail'], PUBLIC);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^Added identity provider azure-ad to environment staging: the page offers "Continue with azure-ad"$/m);
  assert.match(human.stdout, new RegExp(`^redirect URI: https://login\\.example\\.test/${staging.id}/idp/azure-ad/callback$`, 'm'));
  assert.match(human.stdout, /^client_id: +dcs-public \(public, PKCE only\)$/m);
  assert.match(human.stdout, /^claims: +username=upn, email=mail, name=name$/m);
  assert.match(human.stdout, /Register this redirect URI with the provider/);

  const beta = await cliJson<IdpJson>(dir, ['idp', 'add', '--name', 'a-beta', '--issuer', `${base}/good`, '--client-id', 'x', '--public'], PUBLIC);
  const listed = await runCli(dir, ['idp', 'list', '--json'], PUBLIC);
  assert.deepEqual(JSON.parse(listed.stdout), { identity_providers: [beta, corp] }, 'ordered by name, the same view as add');
  assert.deepEqual((await cliJson<{ identity_providers: IdpJson[] }>(dir, ['idp', 'list', '--env', 'staging'], PUBLIC)).identity_providers.map((p) => [p.name, p.public, p.scope, p.claims]),
    [['azure-ad', true, 'openid email', { username: 'upn', email: 'mail', name: 'name' }]]);
  const table = await runCli(dir, ['idp', 'list'], PUBLIC);
  assert.match(table.stdout, /^NAME +DISPLAY_NAME +ISSUER +CLIENT_ID +REDIRECT_URI$/m);
  assert.match(table.stdout, new RegExp(`^corp +Corp SSO +${base}/good +dcs-client +https://login\\.example\\.test/${envId}/idp/corp/callback$`, 'm'));

  // The secret: never printed, never stored or recorded as it is; what is stored decrypts to the file's content, trimmed.
  for (const r of [added, human, listed, table]) assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET));
  const audit = await runCli(dir, ['audit', 'list', '--type', 'admin.changed', '--json']);
  assert.ok(!audit.stdout.includes(SECRET));
  for (const f of readdirSync(dir).filter((f) => f.startsWith('device-code-server.db'))) {
    assert.ok(!readFileSync(path.join(dir, f)).includes(SECRET), `${f} does not hold the secret in plain text`);
  }
  const services = await openServices(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }));
  try {
    const stored = await services.store.identityProviders.get(envId, 'corp');
    assert.match(stored?.clientSecretEnc ?? '', /^v1\./);
    assert.equal(services.secrets.decrypt(stored?.clientSecretEnc ?? ''), SECRET);
    assert.equal((await services.store.identityProviders.get(staging.id, 'azure-ad'))?.clientSecretEnc, null);
  } finally {
    await services.close();
  }

  assert.deepEqual(await cliJson(dir, ['idp', 'remove', 'corp']), { removed: true, name: 'corp' });
  assertFailure(await runCli(dir, ['idp', 'remove', 'corp']), /no identity provider corp in environment default/);
  assertFailure(await runCli(dir, ['idp', 'remove', 'azure-ad']), /no identity provider azure-ad in environment default/, 1);
  assert.deepEqual((await cliJson<{ identity_providers: IdpJson[] }>(dir, ['idp', 'list'])).identity_providers.map((p) => p.name), ['a-beta']);

  const events = JSON.parse(audit.stdout) as { events: { subject: string; details: Record<string, unknown> }[] };
  assert.deepEqual(events.events.filter((e) => e.subject.startsWith('idp:')).map((e) => [e.subject, e.details]), [
    ['idp:corp', { action: 'identity_provider.added', name: 'corp', issuer: `${base}/good`, client_id: 'dcs-client', public: false, scope: 'openid email profile' }],
    ['idp:a-beta', { action: 'identity_provider.added', name: 'a-beta', issuer: `${base}/good`, client_id: 'x', public: true, scope: 'openid email profile' }],
  ]);
  const removed = await cliJson<{ events: { subject: string; details: Record<string, unknown> }[] }>(dir, ['audit', 'list', '--type', 'admin.changed']);
  assert.deepEqual(removed.events.at(-1)?.details, { action: 'identity_provider.removed', name: 'corp' });
});

test('idp add refuses, with one line naming the problem and nothing stored: a provider it cannot fetch or that does not match', async (t) => {
  const dir = await dataDir(t);
  const { base } = await upstream(t);
  const add = (issuer: string, ...more: string[]) => runCli(dir, ['idp', 'add', '--name', 'corp', '--issuer', issuer, '--client-id', 'c', '--public', ...more]);
  const discovery = (issuer: string) => `the discovery document ${issuer}/\\.well-known/openid-configuration`;
  assertFailure(await add(`${base}/garbage`), new RegExp(`${discovery(`${base}/garbage`)} is not JSON`));
  assertFailure(await add(`${base}/mismatch`),
    new RegExp(`${discovery(`${base}/mismatch`)} names "${base}/other", not "${base}/mismatch" \\(OpenID Connect Discovery 1\\.0 §4\\.3`));
  assertFailure(await add(`${base}/good/`), new RegExp(`names "${base}/good", not "${base}/good/"`), 1);
  assertFailure(await add(`${base}/incomplete`), /has no jwks_uri/);
  assertFailure(await add(`${base}/nothing`), new RegExp(`${discovery(`${base}/nothing`)} answered HTTP 404`));
  assertFailure(await add(`${base}/moved`), /answered HTTP 302 \(a redirect: give the issuer as the provider names it\)/);
  // Nobody listens on a closed port.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => { resolve(); }));
  assertFailure(await add(`http://127.0.0.1:${port}`), new RegExp(`cannot fetch the discovery document http://127\\.0\\.0\\.1:${port}/\\.well-known/openid-configuration \\(ECONNREFUSED\\)`));
  const json = await runCli(dir, ['idp', 'add', '--name', 'corp', '--issuer', `${base}/garbage`, '--client-id', 'c', '--public', '--json']);
  assert.equal(json.code, 1);
  assert.equal((JSON.parse(json.stdout) as { error: string }).error, 'invalid_request');
  assert.deepEqual((await cliJson<{ identity_providers: IdpJson[] }>(dir, ['idp', 'list'])).identity_providers, []);
});

test('idp add: usage errors before anything is fetched (a bad or taken name, an issuer that is not https off loopback, the secret options)', async (t) => {
  const dir = await dataDir(t);
  const { base, requests } = await upstream(t);
  const file = secretFile(dir);
  const add = (...args: string[]) => runCli(dir, ['idp', 'add', '--client-id', 'c', ...args]);
  await cliJson(dir, ['idp', 'add', '--name', 'corp', '--issuer', `${base}/good`, '--client-id', 'c', '--public']);
  const fetched = requests();
  assert.equal(fetched, 1);

  assertFailure(await add('--name', 'Corp_SSO', '--issuer', `${base}/good`, '--public'),
    /idp add: --name: identity provider name: 1-40 lowercase letters, digits or dashes .*, got "Corp_SSO" \(see `device-code-server idp add --help`\)/);
  assertFailure(await add('--name', 'a'.repeat(41), '--issuer', `${base}/good`, '--public'), /--name: identity provider name: 1-40/);
  assertFailure(await add('--name', 'corp', '--issuer', `${base}/good`, '--public'), /an identity provider named corp exists in environment default/);
  assertFailure(await add('--name', 'other', '--issuer', 'http://idp.example.test', '--public'),
    /idp add: --issuer: issuer http:\/\/idp\.example\.test is plain http to another machine; use https/);
  // An IPv4-mapped address is not on the loopback list: refused before a request, which would have reached the stand-in.
  assertFailure(await add('--name', 'other', '--issuer', `http://[::ffff:127.0.0.1]:${new URL(base).port}/good`, '--public'), /--issuer: .* is plain http/);
  assertFailure(await add('--name', 'other', '--issuer', `${base}/good?tenant=1`, '--public'), /--issuer: issuer must have no query or fragment/);
  assertFailure(await add('--name', 'other', '--issuer', 'ftp://idp.example.test', '--public'), /--issuer: issuer must be an https URL/);
  assertFailure(await add('--name', 'other', '--issuer', 'idp.example.test', '--public'), /--issuer: "idp\.example\.test" is not a URL/);
  assertFailure(await add('--name', 'other', '--issuer', `${base}/good`), /give --client-secret-file <file> \(a confidential client\) or --public/);
  assertFailure(await add('--name', 'other', '--issuer', `${base}/good`, '--public', '--client-secret-file', file), /--client-secret-file and --public contradict/);
  assertFailure(await add('--name', 'other', '--issuer', `${base}/good`, '--client-secret-file', `${file}.missing`), /cannot read --client-secret-file .*idp-secret\.missing \(ENOENT\)/);
  assertFailure(await add('--name', 'other', '--issuer', `${base}/good`, '--client-secret-file', secretFile(dir, ' \n')), /--client-secret-file .* is empty/);
  assertFailure(await add('--name', 'other', '--issuer', `${base}/good`, '--public', '--claims', 'user=upn'), /--claims: "user=upn" is not <attribute>=<claim>/);
  assertFailure(await add('--name', 'other', '--issuer', `${base}/good`, '--public', '--claims', 'email=a,email=b'), /--claims: email is given twice/);
  assertFailure(await add('--name', 'other', '--issuer', `${base}/good`, '--public', '--claims', 'name=full name'), /--claims: name=full name: a claim name is/);
  assertFailure(await add('--name', 'other', '--issuer', `${base}/good`, '--public', '--scope', 'email profile'), /scope must include openid/);
  assertFailure(await add('--issuer', `${base}/good`, '--public'), /idp add: missing --name/);
  assert.equal(requests(), fetched, 'none of them reached the provider');
  assert.deepEqual((await cliJson<{ identity_providers: IdpJson[] }>(dir, ['idp', 'list'])).identity_providers.map((p) => p.name), ['corp']);
});

interface PasswordJson extends EnvironmentJson {
  password_sign_in: boolean;
  device_defaults: { networks: string[] | null; scopes: string | null };
}

test('env update --password-sign-in off|on: env list shows it; an environment without providers gets a warning; a recorded change', async (t) => {
  const dir = await dataDir(t);
  const { base } = await upstream(t);
  await cliJson(dir, ['env', 'create', '--name', 'staging']);
  assert.deepEqual((await cliJson<{ environments: PasswordJson[] }>(dir, ['env', 'list'])).environments.map((e) => e.password_sign_in), [true, true]);

  const off = await runCli(dir, ['env', 'update', '--env', 'staging', '--password-sign-in', 'off', '--json']);
  assert.equal(off.code, 0, off.stderr);
  assert.equal((JSON.parse(off.stdout) as PasswordJson).password_sign_in, false);
  assert.match(off.stderr, /^warning: environment staging has no identity provider \(idp add\): nobody can sign in on the verification page$/m);
  assert.deepEqual((await cliJson<{ environments: PasswordJson[] }>(dir, ['env', 'list'])).environments.map((e) => [e.name, e.password_sign_in]),
    [['default', true], ['staging', false]]);

  // With a provider there is someone to sign in through: no warning. Device defaults and the switch in one update.
  await cliJson(dir, ['idp', 'add', '--name', 'corp', '--issuer', `${base}/good`, '--client-id', 'c', '--public']);
  const both = await runCli(dir, ['env', 'update', '--password-sign-in', 'off', '--device-scopes', 'openid']);
  assert.equal(both.code, 0, both.stderr);
  assert.equal(both.stderr, '');
  assert.match(both.stdout, /^device scopes: +openid$/m);
  assert.match(both.stdout, /^password sign-in: off$/m);
  const removed = await runCli(dir, ['idp', 'remove', 'corp']);
  assert.match(removed.stderr, /^warning: environment default has password sign-in off and no identity provider left/m);

  const on = await cliJson<PasswordJson>(dir, ['env', 'update', '--env', 'staging', '--password-sign-in', 'on']);
  assert.equal(on.password_sign_in, true);
  assertFailure(await runCli(dir, ['env', 'update', '--password-sign-in', 'maybe']), /env update: --password-sign-in must be on or off, got "maybe"/);
  assertFailure(await runCli(dir, ['env', 'update']), /env update: nothing to change \(give --device-networks, --device-scopes, --password-sign-in, --display-name, --logo-url, --primary-color or --support-url\)/);

  const events = await cliJson<{ events: { subject: string; details: Record<string, unknown> }[] }>(dir, ['audit', 'list', '--type', 'admin.changed', '--env', 'staging']);
  assert.deepEqual(events.events.filter((e) => e.details.action === 'environment.updated').map((e) => e.details),
    [{ action: 'environment.updated', password_sign_in: false }, { action: 'environment.updated', password_sign_in: true }]);
});

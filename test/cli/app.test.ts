import assert from 'node:assert/strict';
import { createPrivateKey, randomUUID } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SignJWT } from 'jose';
import type { Environment } from '../../src/model/records.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { assertFailure, cliJson, dataDir, runCli, type EnvironmentJson } from './run.ts';

const RSA_APP_ID = '1f00c62b-a5c0-49d3-9ffb-92314d717187';
const RSA_APP_NAME = 'RSA Authenticator (iOS and Android)';
const CODE_PATH = '/AdminInterface/restapi/v1/users/deviceRegistrationCode';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface AppJson {
  app_id: string;
  name: string;
  built_in: boolean;
  environment_id?: string;
}

type AppList = { apps: AppJson[] };

const builtIn: AppJson = { app_id: RSA_APP_ID, name: RSA_APP_NAME, built_in: true };

function storedAppIds(dir: string): { env_id: string; app_id: string; name: string }[] {
  const db = new Database(path.join(dir, 'device-code-server.db'), { readonly: true });
  try {
    return db.prepare('SELECT env_id, app_id, name FROM app_ids ORDER BY created_at, app_id').all() as { env_id: string; app_id: string; name: string }[];
  } finally {
    db.close();
  }
}

/** An admin JWT for a fresh helpdesk key of `env`, signed as an RSA client signs one. */
async function adminJwt(h: TestApp, env: Environment): Promise<string> {
  const { file } = await h.services.adminKeys.create(env, 'helpdesk_admin', 'app tests');
  const iat = Math.floor(h.clock.now() / 1000);
  return new SignJWT({}).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).setSubject(file.accessID).setAudience(file.adminRestApiUrl)
    .setIssuedAt(iat).setExpirationTime(iat + 3600).sign(createPrivateKey(file.accessKey));
}

function requestCode(h: TestApp, jwt: string, email: string, appId: string) {
  return h.inject({
    method: 'POST',
    url: CODE_PATH,
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ email, appId }),
  });
}

function assertAppIdRefused(res: Awaited<ReturnType<typeof requestCode>>): void {
  assert.equal(res.statusCode, 400, res.body);
  assert.equal(res.json<{ message: string }>().message, 'Invalid property specified: appId.');
}

test('app list shows the built-in RSA Authenticator first; app add prints a new UUID; --id is stored in lower case', async (t) => {
  const dir = await dataDir(t);
  const [fresh, freshJson] = await Promise.all([runCli(dir, ['app', 'list']), cliJson<AppList>(dir, ['app', 'list'])]);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.deepEqual(fresh.stdout.trimEnd().split('\n').map((l) => l.split(/ {2,}/)), [
    ['APP_ID', 'NAME', 'KIND'],
    [RSA_APP_ID, RSA_APP_NAME, 'built-in'],
  ]);
  assert.deepEqual(freshJson.apps, [builtIn]);

  const given = randomUUID();
  const [added, addedWithId] = await Promise.all([
    runCli(dir, ['app', 'add', '--name', 'Contoso Authenticator']),
    cliJson<AppJson>(dir, ['app', 'add', '--name', 'Fabrikam Token', '--id', given.toUpperCase()]),
  ]);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /^Added app "Contoso Authenticator" to environment default$/m);
  const generated = /^app_id: (\S+)$/m.exec(added.stdout)?.[1] ?? '';
  assert.match(generated, UUID_V4);
  assert.equal(added.stdout.trimEnd().split('\n').length, 2);

  assert.equal(addedWithId.app_id, given, 'an upper-case --id is stored in lower case');
  assert.equal(addedWithId.name, 'Fabrikam Token');
  assert.equal(addedWithId.built_in, false);
  assert.match(addedWithId.environment_id ?? '', /^[0-9a-f-]{36}$/);

  const [list, listJson] = await Promise.all([runCli(dir, ['app', 'list']), cliJson<AppList>(dir, ['app', 'list'])]);
  const rows = list.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/ {2,}/));
  assert.deepEqual(rows[0], [RSA_APP_ID, RSA_APP_NAME, 'built-in'], 'the built-in app comes first');
  assert.deepEqual(rows.slice(1).sort(), [[generated, 'Contoso Authenticator', 'added'], [given, 'Fabrikam Token', 'added']].sort());
  assert.deepEqual(listJson.apps[0], builtIn);
  assert.deepEqual(listJson.apps.slice(1).sort((a, b) => a.name.localeCompare(b.name)), [
    { app_id: generated, name: 'Contoso Authenticator', built_in: false },
    { app_id: given, name: 'Fabrikam Token', built_in: false },
  ]);
  assert.deepEqual(storedAppIds(dir).map((a) => a.app_id).sort(), [generated, given].sort(), 'the built-in app is not a row');
});

test('app add refuses a duplicate, the built-in id and a non-UUID id (exit 1)', async (t) => {
  const dir = await dataDir(t);
  const id = randomUUID();
  await cliJson(dir, ['app', 'add', '--name', 'Contoso', '--id', id]);
  const [dup, dupUpper, rsa, rsaUpper, notUuid, braces, noName] = await Promise.all([
    runCli(dir, ['app', 'add', '--name', 'Contoso again', '--id', id]),
    runCli(dir, ['app', 'add', '--name', 'Contoso shouting', '--id', id.toUpperCase()]),
    runCli(dir, ['app', 'add', '--name', 'Fake RSA', '--id', RSA_APP_ID]),
    runCli(dir, ['app', 'add', '--name', 'Fake RSA', '--id', RSA_APP_ID.toUpperCase()]),
    runCli(dir, ['app', 'add', '--name', 'Bad', '--id', 'not-a-uuid']),
    runCli(dir, ['app', 'add', '--name', 'Bad', '--id', `{${id}}`]),
    runCli(dir, ['app', 'add', '--id', randomUUID()]),
  ]);
  assertFailure(dup, new RegExp(`app id ${id} is already known`));
  assertFailure(dupUpper, new RegExp(`app id ${id} is already known`));
  assertFailure(rsa, /that is the built-in RSA Authenticator app id/);
  assertFailure(rsaUpper, /that is the built-in RSA Authenticator app id/);
  assertFailure(notUuid, /an app id is a UUID/);
  assertFailure(braces, /an app id is a UUID/);
  assertFailure(noName, /app add: missing --name/);
  assert.deepEqual(storedAppIds(dir).map((a) => [a.app_id, a.name]), [[id, 'Contoso']], 'nothing else was stored');
});

test('deviceRegistrationCode accepts an added app id and refuses unknown ones; app ids are per environment', async (t) => {
  const dir = await dataDir(t);
  const staging = await cliJson<EnvironmentJson>(dir, ['env', 'create', '--name', 'staging']);
  const shared = randomUUID();
  const [own, stagingOwn, sharedDefault, sharedStaging] = await Promise.all([
    cliJson<AppJson>(dir, ['app', 'add', '--name', 'Default app']),
    cliJson<AppJson>(dir, ['app', 'add', '--name', 'Staging app', '--env', 'staging']),
    cliJson<AppJson>(dir, ['app', 'add', '--name', 'Shared', '--id', shared]),
    cliJson<AppJson>(dir, ['app', 'add', '--name', 'Shared', '--id', shared, '--env', staging.id]),
  ]);
  assert.equal(stagingOwn.environment_id, staging.id);
  assert.equal(sharedStaging.environment_id, staging.id);
  assert.notEqual(sharedDefault.environment_id, staging.id, 'the same id may be added to each environment');

  const h = await build(t, { dir });
  const stagingEnv = await h.services.admin.resolveEnvironment(staging.id);
  await h.user('alice');
  await h.user('bob', undefined, staging.id);
  const [defaultJwt, stagingJwt] = await Promise.all([adminJwt(h, h.services.defaultEnv), adminJwt(h, stagingEnv)]);

  const ok = await requestCode(h, defaultJwt, 'alice@example.test', own.app_id);
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal((await requestCode(h, defaultJwt, 'alice@example.test', own.app_id.toUpperCase())).statusCode, 200, 'app ids are case-insensitive');
  assert.equal((await requestCode(h, defaultJwt, 'alice@example.test', shared)).statusCode, 200);
  assert.equal((await requestCode(h, defaultJwt, 'alice@example.test', RSA_APP_ID)).statusCode, 200);
  assertAppIdRefused(await requestCode(h, defaultJwt, 'alice@example.test', randomUUID()));
  assertAppIdRefused(await requestCode(h, defaultJwt, 'alice@example.test', stagingOwn.app_id));

  assert.equal((await requestCode(h, stagingJwt, 'bob@example.test', shared)).statusCode, 200);
  assertAppIdRefused(await requestCode(h, stagingJwt, 'bob@example.test', own.app_id));
  // Last, as a new code replaces the user's unused one.
  const inStaging = await requestCode(h, stagingJwt, 'bob@example.test', stagingOwn.app_id);
  assert.equal(inStaging.statusCode, 200, inStaging.body);

  // The app redeems a code issued for it and registers the device under its id.
  const code = inStaging.json<{ deviceRegistrationCode: string }>().deviceRegistrationCode;
  const redeemed = await h.inject({
    method: 'POST', url: '/api/v1/devices/registrations', headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ deviceRegistrationCode: code, appId: stagingOwn.app_id, deviceName: "Bob's phone", platform: 'Android' }),
  });
  assert.equal(redeemed.statusCode, 201, redeemed.body);
  assert.equal(redeemed.json<{ appId: string }>().appId, stagingOwn.app_id);

  // An app added while the server runs is accepted from the next request on.
  const [late, defaultList, stagingList] = await Promise.all([
    cliJson<AppJson>(dir, ['app', 'add', '--name', 'Late app']),
    cliJson<AppList>(dir, ['app', 'list']),
    cliJson<AppList>(dir, ['app', 'list', '--env', 'staging']),
  ]);
  assert.equal((await requestCode(h, defaultJwt, 'alice@example.test', late.app_id)).statusCode, 200);
  assertAppIdRefused(await requestCode(h, stagingJwt, 'bob@example.test', late.app_id));

  const names = (l: AppList) => [l.apps[0]?.name, ...l.apps.slice(1).map((a) => a.name).sort()];
  assert.deepEqual(names(stagingList), [RSA_APP_NAME, 'Shared', 'Staging app']);
  assert.ok(names(defaultList).includes('Default app') && !names(defaultList).includes('Staging app'), JSON.stringify(defaultList));
  assert.equal(defaultList.apps[0]?.built_in, true);
});

// kill -9 under a write load (issue 9 §3): a real `serve` process on a file database, clients
// asking for device codes, approving them (the flow API over HTTP, and the CLI beside the server),
// asking for registration codes and refreshing tokens, all at once. At a random moment the process
// is SIGKILLed; it is started again on the same file, and every answer a client received before the
// kill must still be true. Three rounds. WAL with synchronous=NORMAL is durable against a crash of
// the process (not of the machine), which is what is claimed and tested here.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { AdminKeyFile } from '../../src/core/admin-keys.ts';
import { SecretKeys } from '../../src/crypto/secret.ts';
import { openServices } from '../../src/services.ts';
import { cliJson, dataDir, runCli } from '../cli/run.ts';
import { startServe, type ServeProcess } from '../cli/serve-process.ts';
import { testConfig } from '../helpers/build.ts';
import {
  adminJwt, approveThroughFlow, assertStatus, deviceAuthorization, loop, PASSWORD, pollToken, redeem, refresh, registrationCode,
  type DeviceCode,
} from './_load.ts';
import { assertDatabaseIntact, UNLIMITED } from './_support.ts';

const ROUNDS = 3;
/**
 * The grace lets a refresh whose answer was lost (committed, then the process died) be retried
 * with the token the client has; without it that retry is reuse and ends the grant, so "the token
 * the client was given works" would only hold when the kill missed every refresh in flight.
 */
const ENV = { ...UNLIMITED, PUBLIC_URL: 'http://issuer.test', REFRESH_REUSE_GRACE_SECONDS: '300' };
const USERS = 400;

interface Acknowledged {
  deviceCodes: string[];
  approved: string[];
  registrationCodes: string[];
  refreshes: number;
}

test('SIGKILL under load, three times: every answer given before the kill is still true after a restart', async (t) => {
  const dir = await dataDir(t);
  const db = path.join(dir, 'device-code-server.db');
  const client = await cliJson<{ client_id: string; environment_id: string }>(dir, ['client', 'create', '--name', 'TV', '--refresh'], { env: ENV });
  const keyFile = path.join(dir, 'admin-key.json');
  const [user] = await Promise.all([
    runCli(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: `${PASSWORD}\n`, env: ENV }),
    cliJson(dir, ['admin-key', 'create', '--role', 'super_admin', '--out', keyFile], { env: ENV }),
  ]);
  assert.equal(user.code, 0, user.stderr);
  const key = JSON.parse(readFileSync(keyFile, 'utf8')) as AdminKeyFile;
  // People to issue registration codes for, one code each (a second would replace the first):
  // copies of alice made through the engine's store before the server starts, with no password hashing.
  const setup = await openServices(testConfig(dir, ENV));
  const usernames: string[] = [];
  try {
    const alice = await setup.store.users.getByUsername(setup.defaultEnv.id, 'alice');
    assert.ok(alice);
    for (let i = 0; i < USERS; i++) {
      usernames.push(`person${i}`);
      await setup.store.users.create({ ...alice, id: randomUUID(), username: `person${i}`, email: `person${i}@example.test` });
    }
  } finally {
    await setup.close();
  }
  const secrets = new SecretKeys(readFileSync(path.join(dir, 'server-secret'), 'utf8').trim());
  const { client_id: clientId, environment_id: envId } = client;

  let server: ServeProcess = await startServe(t, dir, ENV);
  // Refresh chains: device logins with offline_access; each chain's newest token is what its client holds.
  const chains: string[] = [];
  for (let i = 0; i < 3; i++) {
    const started = await deviceAuthorization(server.url, clientId, 'openid offline_access');
    assertStatus(started, 200, 'device authorization');
    assertStatus(await approveThroughFlow(server.url, envId, started.body.user_code, 'alice'), 200, 'approval');
    const token = await pollToken(server.url, clientId, started.body.device_code);
    assert.ok(token.body.refresh_token !== undefined, JSON.stringify(token.body));
    chains.push(token.body.refresh_token);
  }

  const everyDeviceCode: string[] = [];
  let cliApprovals = 0;
  let previous: Acknowledged | undefined;
  for (let round = 0; round <= ROUNDS; round++) {
    // After a kill: the file is sound, and everything acknowledged before it is still true.
    if (previous !== undefined) {
      assertDatabaseIntact(db);
      await checkDurable(server.url, previous);
    }
    if (round === ROUNDS) break;
    const acked = await underLoad(server, round);
    t.diagnostic(`round ${round + 1}: killed after ${acked.deviceCodes.length} device codes, ${acked.approved.length} approvals, `
      + `${acked.registrationCodes.length} registration codes, ${acked.refreshes} refreshes`);
    assert.ok(acked.deviceCodes.length > 0 && acked.approved.length > 0 && acked.registrationCodes.length > 0 && acked.refreshes > 0,
      'every kind of write was acknowledged before the kill');
    everyDeviceCode.push(...acked.deviceCodes);
    previous = acked;
    server = await startServe(t, dir, ENV);
  }
  assert.equal(await server.stop(), 0);
  assert.ok(cliApprovals > 0, 'the CLI approved beside the server');

  // Every device code ever handed out is in the file (read by another connection, as a backup would).
  const file = new Database(db, { readonly: true });
  try {
    const has = file.prepare('SELECT 1 FROM device_authorizations WHERE device_code_hash = ?');
    const lost = everyDeviceCode.filter((c) => has.get(secrets.hashCode('device', c)) === undefined);
    assert.deepEqual(lost, [], `${lost.length} of ${everyDeviceCode.length} acknowledged device codes were lost`);
  } finally {
    file.close();
  }

  /** One round: every kind of client at once until a SIGKILL at a random moment; what they were told. */
  async function underLoad(s: ServeProcess, round: number): Promise<Acknowledged> {
    const acked: Acknowledged = { deviceCodes: [], approved: [], registrationCodes: [], refreshes: 0 };
    const waiting: DeviceCode[] = [];
    const errors: unknown[] = [];
    let killed = false;
    const stop = () => killed;
    // A request cut off by the kill has no answer; a wrong answer is a failure whenever it came.
    const noAnswer = (err: unknown) => { if (!killed || err instanceof assert.AssertionError) errors.push(err); };
    const jwt = await adminJwt(key);
    const people = usernames.splice(0, USERS / ROUNDS);
    const workers = [
      // Devices asking for codes.
      ...Array.from({ length: 3 }, () => loop(stop, async () => {
        const res = await deviceAuthorization(s.url, clientId);
        assertStatus(res, 200, 'device authorization');
        acked.deviceCodes.push(res.body.device_code);
        waiting.push(res.body);
      }, noAnswer)),
      // People approving them through the flow API (each a sign-in, a code and a consent).
      ...Array.from({ length: 2 }, () => loop(stop, async () => {
        const code = waiting.shift();
        if (code === undefined) return new Promise((r) => setTimeout(r, 10));
        const res = await approveThroughFlow(s.url, envId, code.user_code, 'alice');
        assertStatus(res, 200, 'consent');
        assert.equal(res.body.status, 'COMPLETED');
        acked.approved.push(code.device_code);
      }, noAnswer)),
      // An admin at the command line, approving beside the server: its writes do not die with it.
      loop(stop, async () => {
        const code = waiting.shift();
        if (code === undefined) return new Promise((r) => setTimeout(r, 10));
        const res = await runCli(dir, ['approve', code.user_code, '--user', 'alice'], { env: ENV });
        assert.equal(res.code, 0, res.stderr);
        acked.approved.push(code.device_code);
        cliApprovals += 1;
      }, (err) => { errors.push(err); }),
      // An admin handing out registration codes, one per person.
      loop(stop, async () => {
        const person = people.shift();
        if (person === undefined) return new Promise((r) => setTimeout(r, 10));
        const res = await registrationCode(s.url, jwt, person);
        assertStatus(res, 200, 'registration code');
        assert.ok(res.body.deviceRegistrationCode !== undefined);
        acked.registrationCodes.push(res.body.deviceRegistrationCode);
      }, noAnswer),
      // Clients refreshing, each with the newest token it was given.
      ...chains.map((_, i) => loop(stop, async () => {
        const res = await refresh(s.url, clientId, chains[i] ?? '');
        assertStatus(res, 200, 'refresh');
        assert.ok(res.body.refresh_token !== undefined);
        chains[i] = res.body.refresh_token;
        acked.refreshes += 1;
      }, noAnswer)),
    ];
    // Kill at a random moment, after the load has got going (the first round's later, so every kind is seen).
    await new Promise((r) => setTimeout(r, (round === 0 ? 1500 : 1000) + Math.random() * 2000));
    const exited = once(s.child, 'exit');
    killed = true;
    s.child.kill('SIGKILL');
    const [code, signal] = (await exited) as [number | null, string | null];
    assert.equal(signal, 'SIGKILL', `the server died of the kill (exit ${String(code)})`);
    await Promise.all(workers);
    // Before the kill every request was answered as it should be (after it, only transport errors).
    assert.deepEqual(errors.map(String), [], 'no failure before the kill');
    return acked;
  }

  async function checkDurable(base: string, acked: Acknowledged): Promise<void> {
    // An acknowledged approval is approved: its poll gets a token (or invalid_grant, had it been
    // consumed), never authorization_pending.
    for (const deviceCode of acked.approved) {
      const res = await pollToken(base, clientId, deviceCode);
      assert.ok(res.status === 200 || res.body.error === 'invalid_grant', `an acknowledged approval polled: ${res.status} ${JSON.stringify(res.body)}`);
    }
    // An acknowledged registration code is redeemable, once.
    for (const [i, code] of acked.registrationCodes.entries()) {
      assertStatus(await redeem(base, code), 201, 'redeeming an acknowledged registration code');
      if (i === 0) assertStatus(await redeem(base, code), 400, 'a second redemption');
    }
    // The newest refresh token each client was given works (and the chain goes on from the new one).
    for (const [i, token] of chains.entries()) {
      const res = await refresh(base, clientId, token);
      assertStatus(res, 200, 'the newest acknowledged refresh token');
      chains[i] = res.body.refresh_token ?? '';
    }
  }
});

// Graceful shutdown of a real `serve` process under load (README "Operations"): on SIGTERM every request that
// was answered is true afterwards, nothing is answered with a broken body, new requests are
// refused (503 or no connection), the database closes cleanly and the process exits 0.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SecretKeys } from '../../src/crypto/secret.ts';
import { cliJson, dataDir } from './run.ts';
import { startServe } from './serve-process.ts';

test('SIGTERM under load: in-flight requests finish, acknowledged writes are kept, exit 0', async (t) => {
  const dir = await dataDir(t);
  const { client_id: clientId } = await cliJson<{ client_id: string }>(dir, ['client', 'create', '--name', 'TV']);
  const server = await startServe(t, dir, { RATE_LIMIT_DEVICE_AUTHORIZATION: '1000000', SHUTDOWN_GRACE_SECONDS: '10' });
  const acknowledged: string[] = [];
  const outcomes = new Map<string, number>();
  let stopping = false;
  // Twenty clients asking for device codes back to back until the server is gone.
  const worker = async () => {
    for (;;) {
      try {
        const res = await fetch(`${server.url}/oauth/device_authorization`, {
          method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${clientId}`,
        });
        const key = String(res.status);
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        if (res.status === 200) acknowledged.push(((await res.json()) as { device_code: string }).device_code);
        else await res.arrayBuffer();
      } catch {
        // Refused or reset once the server stops listening: not an answer, so nothing to keep.
        outcomes.set('no answer', (outcomes.get('no answer') ?? 0) + 1);
        if (stopping) return;
      }
    }
  };
  const workers = Array.from({ length: 20 }, worker);
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(acknowledged.length > 20, `under load before the signal: ${acknowledged.length} answered`);
  stopping = true;
  const code = await server.stop();
  await Promise.all(workers);
  assert.equal(code, 0, `exit code; outcomes ${JSON.stringify([...outcomes])}`);
  for (const status of outcomes.keys()) assert.ok(['200', '503', 'no answer'].includes(status), `unexpected answer ${status}`);

  // Every device code the clients were given is in the database, which is intact.
  const secrets = new SecretKeys(readFileSync(path.join(dir, 'server-secret'), 'utf8').trim());
  const db = new Database(path.join(dir, 'device-code-server.db'), { readonly: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const has = db.prepare('SELECT 1 FROM device_authorizations WHERE device_code_hash = ?');
    const missing = acknowledged.filter((c) => has.get(secrets.hashCode('device', c)) === undefined);
    assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.length} acknowledged codes were lost`);
  } finally {
    db.close();
  }
});

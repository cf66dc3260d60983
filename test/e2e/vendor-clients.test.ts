// Both vendor clients, unchanged, against the server as the README starts it (`serve`, a real
// process on a real port) and administered with the real CLI: a Veeam client signs in, asks for a
// device code and the device redeems it; an RSA client signs an admin JWT from its key file, gets a
// registration code, and the authenticator app registers the device.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { cliJson, runCli } from '../cli/run.ts';
import { tempDir } from '../helpers/build.ts';
import { freePort } from '../../scripts/net.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PASSWORD = 'correct horse battery';


test('a Veeam client and an RSA client work unchanged against `device-code-server serve`', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { PORT: String(port), HOST: '127.0.0.1', SWEEP_INTERVAL_SECONDS: '0' };
  // The CLI and the server share the data directory (and so the database and the secret).
  await cliJson(dir, ['migrate'], { env });
  await runCli(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: `${PASSWORD}\n`, env });
  const keyFile = path.join(dir, 'admin-key.json');
  await cliJson(dir, ['admin-key', 'create', '--role', 'helpdesk_admin', '--description', 'e2e', '--out', keyFile], { env });

  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['DATABASE_PATH', 'SERVER_SECRET', 'SERVER_SECRET_FILE', 'PUBLIC_URL'].includes(k)));
  const server = spawn(process.execPath, ['bin/device-code-server.js', 'serve'], {
    cwd: ROOT, env: { ...inherited, ...env, DATA_DIR: dir, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => server.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { reject(new Error(`the server did not start: ${out}`)); }, 15_000);
    server.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('device-code-server listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });

  // --- Veeam: the password grant, getDeviceCode, then the device polls the standard endpoint.
  const session = await fetch(`${base}/api/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=Password&Username=alice&Password=${encodeURIComponent(PASSWORD)}`,
  });
  assert.equal(session.status, 200);
  const { access_token: sessionToken } = (await session.json()) as { access_token: string };
  const dcRes = await fetch(`${base}/api/v1/accounts/created/getDeviceCode`, { headers: { Authorization: `Bearer ${sessionToken}` } });
  assert.equal(dcRes.status, 200);
  assert.equal(dcRes.headers.get('content-type'), 'application/json; charset=utf-8');
  const dc = (await dcRes.json()) as { userCode: string; deviceCode: string; verificationUrl: string; clientId: string; resource: string };
  assert.equal(dc.verificationUrl, `${base}/device`);
  // The person approves (here with the CLI, as a support desk would); the device's first poll gets the token.
  const approved = await runCli(dir, ['approve', dc.userCode, '--user', 'alice'], { env });
  assert.equal(approved.code, 0, approved.stderr);
  const token = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: dc.deviceCode, client_id: dc.clientId }),
  });
  assert.equal(token.status, 200);

  // --- RSA: an admin JWT from the key file, the registration code, the app's redemption.
  const file = JSON.parse(readFileSync(keyFile, 'utf8')) as { accessID: string; accessKey: string; adminRestApiUrl: string };
  assert.equal(file.adminRestApiUrl, `${base}/AdminInterface/restapi/`);
  const iat = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setSubject(file.accessID)
    .setAudience(file.adminRestApiUrl)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(createPrivateKey(file.accessKey));
  // As RSA's own sample client does: the path appended to adminRestApiUrl.
  const codeRes = await fetch(`${file.adminRestApiUrl}v1/users/deviceRegistrationCode`, {
    method: 'POST',
    headers: { Accept: 'application/json', Authorization: `Bearer ${jwt}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'alice@example.test', appId: '1f00c62b-a5c0-49d3-9ffb-92314d717187' }),
  });
  assert.equal(codeRes.status, 200);
  const { deviceRegistrationCode } = (await codeRes.json()) as { deviceRegistrationCode: string };
  const redeemed = await fetch(`${base}/api/v1/devices/registrations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ deviceRegistrationCode, appId: '1f00c62b-a5c0-49d3-9ffb-92314d717187', deviceName: "Alice's iPhone", platform: 'iOS' }),
  });
  assert.equal(redeemed.status, 201);

  const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  assert.equal(await exited, 0);
});

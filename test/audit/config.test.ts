// AUDIT_WEBHOOK_URL and its secret (src/config.ts): https anywhere, plain http on loopback only, a
// secret of at least 16 characters required; a bad value stops the start with one line naming the
// variable (docs/architecture.md: config.ts is where every variable is parsed once) and never
// repeating a secret or a password.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { assertFailure, runCli } from '../cli/run.ts';
import { startServe } from '../cli/serve-process.ts';
import { tempDir } from '../helpers/build.ts';
import { SECRET } from './_support.ts';

const DATA_DIR = '/nonexistent/dcs-config-test';

function refused(env: Record<string, string>, pattern: RegExp): void {
  assert.throws(() => loadConfig({ DATA_DIR, ...env }), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, pattern);
    for (const value of [SECRET, 'hunter2-password']) assert.ok(!err.message.includes(value), `the message repeats no secret: ${err.message}`);
    return true;
  });
}

test('AUDIT_WEBHOOK_URL: not http(s), plain http off loopback, credentials in it, or no secret of 16 characters stop the configuration, naming the variable', (t) => {
  refused({ AUDIT_WEBHOOK_URL: 'ftp://audit.example.com/hook', AUDIT_WEBHOOK_SECRET: SECRET }, /AUDIT_WEBHOOK_URL: expected an http\(s\) URL/);
  refused({ AUDIT_WEBHOOK_URL: 'not a url', AUDIT_WEBHOOK_SECRET: SECRET }, /AUDIT_WEBHOOK_URL: expected an http\(s\) URL/);
  for (const url of ['http://example.com/hook', 'http://10.0.0.8:8080/hook', 'http://127.0.0.1.example.com/hook', 'http://[2001:db8::1]/hook']) {
    refused({ AUDIT_WEBHOOK_URL: url, AUDIT_WEBHOOK_SECRET: SECRET }, /AUDIT_WEBHOOK_URL: plain http is allowed on loopback only/);
  }
  refused({ AUDIT_WEBHOOK_URL: 'https://audit:hunter2-password@audit.example.com/hook', AUDIT_WEBHOOK_SECRET: SECRET }, /AUDIT_WEBHOOK_URL: must not hold a user or password/);
  refused({ AUDIT_WEBHOOK_URL: 'https://audit@audit.example.com/hook', AUDIT_WEBHOOK_SECRET: SECRET }, /AUDIT_WEBHOOK_URL: must not hold a user or password/);
  refused({ AUDIT_WEBHOOK_URL: 'https://audit.example.com/hook' }, /AUDIT_WEBHOOK_URL: set AUDIT_WEBHOOK_SECRET/);
  refused({ AUDIT_WEBHOOK_URL: 'https://audit.example.com/hook', AUDIT_WEBHOOK_SECRET: 'too-short' }, /AUDIT_WEBHOOK_SECRET: must be at least 16 characters/);
  const dir = tempDir(t);
  const file = path.join(dir, 'webhook-secret');
  writeFileSync(file, 'short\n');
  refused({ AUDIT_WEBHOOK_URL: 'https://audit.example.com/hook', AUDIT_WEBHOOK_SECRET_FILE: file }, /AUDIT_WEBHOOK_SECRET_FILE: the secret must be at least 16 characters/);
  refused({ AUDIT_WEBHOOK_URL: 'https://audit.example.com/hook', AUDIT_WEBHOOK_SECRET_FILE: path.join(dir, 'missing') }, /AUDIT_WEBHOOK_SECRET_FILE: cannot read/);
  refused({ AUDIT_WEBHOOK_URL: 'https://audit.example.com/hook', AUDIT_WEBHOOK_SECRET: SECRET, AUDIT_WEBHOOK_SECRET_FILE: file }, /set one, not both/);
});

test('AUDIT_WEBHOOK_URL: https anywhere and http on loopback are accepted, with the secret from the variable or a file; unset, there is no webhook', (t) => {
  for (const url of ['https://audit.example.com/hook', 'https://10.0.0.8:8443/hook', 'http://127.0.0.1:8080/hook', 'http://localhost:8080/hook', 'http://[::1]:8080/hook']) {
    assert.deepEqual(loadConfig({ DATA_DIR, AUDIT_WEBHOOK_URL: url, AUDIT_WEBHOOK_SECRET: SECRET }).auditWebhook, { url, secret: SECRET }, url);
  }
  const file = path.join(tempDir(t), 'webhook-secret');
  writeFileSync(file, `${SECRET}\n`);
  assert.deepEqual(loadConfig({ DATA_DIR, AUDIT_WEBHOOK_URL: 'https://audit.example.com/hook', AUDIT_WEBHOOK_SECRET_FILE: file }).auditWebhook,
    { url: 'https://audit.example.com/hook', secret: SECRET }, 'the file, without its newline');
  assert.equal(loadConfig({ DATA_DIR }).auditWebhook, undefined);
  assert.equal(loadConfig({ DATA_DIR, AUDIT_WEBHOOK_SECRET: SECRET }).auditWebhook, undefined, 'a secret alone turns nothing on');
});

test('`serve` with a bad AUDIT_WEBHOOK_URL or no secret does not start: exit 1, one line naming the variable', async (t) => {
  const dir = tempDir(t);
  assertFailure(await runCli(dir, ['serve'], { env: { PORT: '0', AUDIT_WEBHOOK_URL: 'ftp://audit.example.com/hook', AUDIT_WEBHOOK_SECRET: SECRET } }),
    /invalid configuration: AUDIT_WEBHOOK_URL: expected an http\(s\) URL/);
  assertFailure(await runCli(dir, ['serve'], { env: { PORT: '0', AUDIT_WEBHOOK_URL: 'http://example.com/hook', AUDIT_WEBHOOK_SECRET: SECRET } }),
    /AUDIT_WEBHOOK_URL: plain http is allowed on loopback only/);
  assertFailure(await runCli(dir, ['serve'], { env: { PORT: '0', AUDIT_WEBHOOK_URL: 'https://audit.example.com/hook' } }),
    /AUDIT_WEBHOOK_URL: set AUDIT_WEBHOOK_SECRET/);
});

test('`serve` starts with an https AUDIT_WEBHOOK_URL and with a loopback http one', async (t) => {
  // Nothing listens at either: the server starts all the same, and events wait in the outbox.
  for (const url of ['https://127.0.0.1:9/hook', 'http://127.0.0.1:9/hook']) {
    const server = await startServe(t, tempDir(t), { AUDIT_WEBHOOK_URL: url, AUDIT_WEBHOOK_SECRET: SECRET });
    const res = await fetch(`${server.url}/readyz`);
    assert.equal(res.status, 200, await res.text());
    assert.equal(await server.stop(), 0);
  }
});

// `audit list`: the trail as an operator reads it, newest last, filtered by type, user and time;
// `--json` is one object `{"events": [...]}`; a filter that cannot be read is a usage error (exit 1).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build, TestClock } from '../helpers/build.ts';
import { decide, startAuthorization } from '../oauth/_support.ts';
import { assertFailure, cliJson, dataDir, runCli } from './run.ts';

interface Listed {
  events: { id: string; time: string; type: string; actor: string | null; subject: string | null; outcome: string; details: Record<string, unknown> }[];
}

test('audit list --json: the events of a device login and of the CLI itself, filtered by type, user and time', async (t) => {
  const dir = await dataDir(t);
  assert.equal((await runCli(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: 'correct horse battery\n' })).code, 0);
  // The CLI runs on the wall clock, so the server here does too.
  const h = await build(t, { dir, clock: new TestClock('real') });
  const client = await h.publicClient();
  const alice = await h.services.admin.users.getByUsername(h.services.defaultEnv.id, 'alice');
  const started = await startAuthorization(h, client);
  await decide(h, started.user_code, alice, true);

  const all = await cliJson<Listed>(dir, ['audit', 'list']);
  const types = all.events.map((e) => e.type);
  assert.deepEqual(types.filter((x) => x !== 'admin.changed'), ['device.requested', 'device.approved']);
  assert.ok(types.indexOf('device.requested') < types.indexOf('device.approved'), 'newest last');
  const times = all.events.map((e) => Date.parse(e.time));
  assert.deepEqual(times, [...times].sort((a, b) => a - b));

  const requested = await cliJson<Listed>(dir, ['audit', 'list', '--type', 'device.requested']);
  assert.deepEqual(requested.events.map((e) => e.type), ['device.requested']);
  const both = await cliJson<Listed>(dir, ['audit', 'list', '--type', 'device.requested,device.approved']);
  assert.equal(both.events.length, 2);

  const aliceOnly = await cliJson<Listed>(dir, ['audit', 'list', '--user', 'alice']);
  assert.ok(aliceOnly.events.length >= 1);
  assert.ok(aliceOnly.events.every((e) => e.actor === `user:${alice.id}` || e.subject === `user:${alice.id}` || e.details.user_id === alice.id));
  assert.ok(aliceOnly.events.some((e) => e.type === 'admin.changed' && e.details.action === 'user.created'));

  assert.equal((await cliJson<Listed>(dir, ['audit', 'list', '--since', '1h'])).events.length, all.events.length);
  assert.equal((await cliJson<Listed>(dir, ['audit', 'list', '--since', '2999-01-01T00:00:00Z'])).events.length, 0);
  assert.deepEqual((await cliJson<Listed>(dir, ['audit', 'list', '--limit', '1'])).events.map((e) => e.id), [all.events.at(-1)?.id]);

  const text = await runCli(dir, ['audit', 'list', '--type', 'device.approved']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /device\.approved/);
});

test('audit list refuses filters it cannot read, naming the flag (exit 1)', async (t) => {
  const dir = await dataDir(t);
  assertFailure(await runCli(dir, ['audit', 'list', '--type', 'device.stolen']), /--type must be one or more of .*unknown: device\.stolen/);
  assertFailure(await runCli(dir, ['audit', 'list', '--since', 'yesterday']), /--since must be an ISO 8601 time or a duration/);
  assertFailure(await runCli(dir, ['audit', 'list', '--limit', '0']), /--limit must be 1-10000/);
  assertFailure(await runCli(dir, ['audit', 'list', '--user', 'nobody']), /no user nobody/);
});

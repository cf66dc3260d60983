// The CLI and the server writing one database at once (issue 9 §3; README: "the CLI reads the same
// variables, so DATA_DIR=… device-code-server client create … acts on the server's database"). A
// `serve` process under a write load (device codes, polls, approvals through the flow API,
// refreshes) while commands that write run back to back beside it: no one may see SQLITE_BUSY or
// "database is locked": no 5xx from the server, every command exits 0.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cliJson, dataDir, runCli, type CliResult } from '../cli/run.ts';
import { startServe } from '../cli/serve-process.ts';
import {
  approveThroughFlow, deviceAuthorization, loop, PASSWORD, pollToken, refresh, type Answer, type DeviceCode,
} from './_load.ts';
import { assertDatabaseIntact, UNLIMITED } from './_support.ts';

const ENV = { ...UNLIMITED, PUBLIC_URL: 'http://issuer.test' };
const LOAD_MS = 9000;
/** Each kind of command at least once (there are seven), whatever the machine's speed. */
const MIN_COMMANDS = 8;

test('CLI commands that write, back to back beside a serve process under write load: no SQLITE_BUSY anywhere', async (t) => {
  const dir = await dataDir(t);
  const { client_id: clientId, environment_id: envId } = await cliJson<{ client_id: string; environment_id: string }>(
    dir, ['client', 'create', '--name', 'TV', '--refresh'], { env: ENV });
  const alice = await runCli(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: `${PASSWORD}\n`, env: ENV });
  assert.equal(alice.code, 0, alice.stderr);
  const server = await startServe(t, dir, ENV);

  const statuses = new Map<string, number>();
  const failures: string[] = [];
  const note = (what: string, a: Answer<unknown>, ok: readonly number[]) => {
    statuses.set(`${what} ${a.status}`, (statuses.get(`${what} ${a.status}`) ?? 0) + 1);
    if (!ok.includes(a.status)) failures.push(`${what}: ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`);
  };
  const waiting: DeviceCode[] = [];
  const forCli: DeviceCode[] = [];
  let stopping = false;
  const stop = () => stopping;
  const transport = (err: unknown) => { failures.push(`no answer: ${String(err)}`); };

  // The first refresh chain, then the server's load.
  const login = await deviceAuthorization(server.url, clientId, 'openid offline_access');
  note('login', await approveThroughFlow(server.url, envId, login.body.user_code, 'alice'), [200]);
  let token = (await pollToken(server.url, clientId, login.body.device_code)).body.refresh_token ?? '';
  const load = [
    ...Array.from({ length: 2 }, () => loop(stop, async () => {
      const res = await deviceAuthorization(server.url, clientId);
      note('device authorization', res, [200]);
      if (res.status !== 200) return;
      (waiting.length % 4 === 0 ? forCli : waiting).push(res.body);
    }, transport)),
    // Devices polling (each poll writes: its time, and a grown interval on slow_down).
    loop(stop, async () => {
      const code = waiting[Math.floor(Math.random() * waiting.length)];
      if (code === undefined) return new Promise((r) => setTimeout(r, 5));
      note('poll', await pollToken(server.url, clientId, code.device_code), [200, 400]);
    }, transport),
    loop(stop, async () => {
      const code = waiting.shift();
      if (code === undefined) return new Promise((r) => setTimeout(r, 5));
      // The code may have been polled to a token or decided meanwhile: a 400 is an answer too.
      note('approval', await approveThroughFlow(server.url, envId, code.user_code, 'alice'), [200, 400]);
    }, transport),
    loop(stop, async () => {
      const res = await refresh(server.url, clientId, token);
      note('refresh', res, [200]);
      token = res.body.refresh_token ?? token;
    }, transport),
  ];

  // Commands an operator runs while the server is busy; each one opens the database, migrates,
  // writes, and closes, as the CLI always does.
  const results: { args: string[]; result: CliResult }[] = [];
  let n = 0;
  const command = async (): Promise<void> => {
    const i = n++;
    const code = forCli.shift();
    const choices: [string[], string?][] = [
      [['client', 'create', '--name', `app ${i}`, '--json']],
      [['user', 'create', '--username', `user${i}`, '--email', `user${i}@example.test`, '--json'], `${PASSWORD}\n`],
      [code === undefined ? ['env', 'create', '--name', `env${i}`, '--json'] : ['approve', code.user_code, '--user', 'alice', '--json']],
      [['env', 'create', '--name', `env${i}`, '--json']],
      [['app', 'add', '--name', `Authenticator ${i}`, '--json']],
      [['keys', 'rotate', '--json']],
      [['sweep', '--json']],
    ];
    const [args, stdin] = choices[i % choices.length] ?? [['sweep']];
    const result = await runCli(dir, args, { env: ENV, ...(stdin === undefined ? {} : { stdin }) });
    results.push({ args, result });
  };
  const started = Date.now();
  const cli = Array.from({ length: 2 }, async () => {
    // At least MIN_COMMANDS in all, however slow a loaded machine makes each one.
    while (Date.now() - started < LOAD_MS || results.length < MIN_COMMANDS) await command();
  });
  await Promise.all(cli);
  stopping = true;
  await Promise.all(load);
  assert.equal(await server.stop(), 0);

  t.diagnostic(`${results.length} CLI commands; server answers ${JSON.stringify([...statuses].sort())}`);
  for (const { args, result } of results) {
    assert.doesNotMatch(result.stderr, /SQLITE_BUSY|database is locked/i, args.join(' '));
    assert.equal(result.code, 0, `${args.join(' ')} exited ${String(result.code)}: ${result.stderr}`);
  }
  assert.deepEqual(failures, [], 'every request answered, and never with a 5xx');
  assert.ok(results.length >= MIN_COMMANDS, `the commands ran (${results.length})`);
  assert.ok(results.some((r) => r.args[0] === 'approve'), 'the CLI approved codes the server handed out');
  assert.ok((statuses.get('device authorization 200') ?? 0) > 50, 'the server was under load');
  assertDatabaseIntact(`${dir}/device-code-server.db`);
});

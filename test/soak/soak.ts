// The soak (issue 9 §3, `npm run test:soak`; not part of `npm test`): thousands of simulated devices
// poll a real `serve` process at their interval for minutes while people approve and deny their
// codes through the flow API. It holds when nothing answers 5xx or fails to answer, the server's
// memory stays flat, and every approved device gets exactly one token (a second poll of a redeemed
// code is refused), every denied one access_denied and never a token.
//
//   SOAK_SECONDS (default 600), SOAK_DEVICES (default 3000), SOAK_APPROVERS (default 4)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cliJson, dataDir, runCli } from '../cli/run.ts';
import { startServe } from '../cli/serve-process.ts';
import { freePort } from '../../scripts/net.ts';
import { assertDatabaseIntact, UNLIMITED } from '../reliability/_support.ts';
import { approveThroughFlow, deviceAuthorization, PASSWORD, pollToken, type DeviceCode } from '../reliability/_load.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const DEVICES = Number(process.env.SOAK_DEVICES ?? 3000);
const APPROVERS = Number(process.env.SOAK_APPROVERS ?? 4);
const PEOPLE = ['alice', 'bob', 'carol', 'dave'];
/** Sweeping as a real server does, so the table holds what a long-running one would. */
const ENV = { ...UNLIMITED, SWEEP_INTERVAL_SECONDS: '30' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

interface Session { code: DeviceCode; expiresAt: number; decided?: 'approved' | 'denied'; tokens: number; outcome?: string }

test(`soak: ${DEVICES} devices polling for ${SECONDS} s while ${APPROVERS} people approve`, { timeout: (SECONDS + 300) * 1000 }, async (t) => {
  const dir = await dataDir(t);
  const { client_id: clientId, environment_id: envId } = await cliJson<{ client_id: string; environment_id: string }>(
    dir, ['client', 'create', '--name', 'Soak TV'], { env: ENV });
  for (const name of PEOPLE) {
    const r = await runCli(dir, ['user', 'create', '--username', name, '--email', `${name}@example.test`], { stdin: `${PASSWORD}\n`, env: ENV });
    assert.equal(r.code, 0, r.stderr);
  }
  // warn: at info every request is logged, and the log's pipe would be measured with the server.
  const server = await startServe(t, dir, { ...ENV, LOG_LEVEL: 'warn', PORT: String(await freePort()) });
  const pid = server.child.pid ?? 0;

  const failures: string[] = [];
  const answers = new Map<string, number>();
  const count = (what: string) => answers.set(what, (answers.get(what) ?? 0) + 1);
  const sessions: Session[] = [];
  const pending: Session[] = [];
  let polling = true;
  let approving = true;
  const started = Date.now();

  // One device: a code, then a poll every interval until it ends; then the next code.
  const device = async (): Promise<void> => {
    await sleep(Math.random() * 5000); // spread the first requests over one interval
    while (polling) {
      const start = await deviceAuthorization(server.url, clientId);
      if (start.status !== 200) { failures.push(`device authorization ${start.status}`); await sleep(1000); continue; }
      const s: Session = { code: start.body, expiresAt: Date.now() + start.body.expires_in * 1000, tokens: 0 };
      sessions.push(s);
      pending.push(s);
      let interval = start.body.interval;
      while (polling) {
        await sleep(interval * 1000 + Math.random() * 200);
        const res = await pollToken(server.url, clientId, s.code.device_code);
        const what = res.status === 200 ? 'token' : res.body.error ?? String(res.status);
        count(`poll ${what}`);
        if (res.status >= 500) failures.push(`poll ${res.status}`);
        if (what === 'authorization_pending') continue;
        if (what === 'slow_down') { interval += 5; continue; }
        if (what === 'token') {
          s.tokens++;
          // The code is spent: polling it again must not yield a second token.
          const again = await pollToken(server.url, clientId, s.code.device_code);
          if (again.status === 200) s.tokens++;
          else count(`repoll ${again.body.error ?? again.status}`);
        }
        s.outcome = what;
        break;
      }
    }
  };
  // One person: takes a waiting code and approves it (nine times in ten) or denies it.
  const person = async (i: number): Promise<void> => {
    while (approving) {
      const s = pending.splice(Math.floor(Math.random() * pending.length), 1)[0];
      if (s === undefined) { await sleep(50); continue; }
      // A person approves a code while it has time left for the device's next poll; one approved
      // in its last seconds expires before that poll, rightly (expired_token), and is left alone.
      if (Date.now() > s.expiresAt - 30_000) continue;
      const accept = Math.random() < 0.9;
      const res = await approveThroughFlow(server.url, envId, s.code.user_code, PEOPLE[i % PEOPLE.length] ?? 'alice', accept);
      count(`consent ${res.status} ${res.body.status ?? ''}`.trim());
      // A refused consent ends the flow FAILED (PingOne's shape) and denies the device.
      if (res.status === 200 && res.body.status === (accept ? 'COMPLETED' : 'FAILED')) s.decided = accept ? 'approved' : 'denied';
      else if (res.status >= 500) failures.push(`consent ${res.status}`);
      await sleep(100);
    }
  };

  const rss: { s: number; mb: number }[] = [];
  const sampler = setInterval(() => { rss.push({ s: (Date.now() - started) / 1000, mb: rssMb(pid) }); }, 5000);
  const guard = (p: Promise<void>) => p.catch((err: unknown) => { failures.push(`no answer: ${String(err)}`); });
  const devices = Array.from({ length: DEVICES }, () => guard(device()));
  const people = Array.from({ length: APPROVERS }, (_, i) => guard(person(i)));

  await sleep(SECONDS * 1000);
  approving = false;
  await Promise.all(people);
  // Two more intervals, so every device approved near the end has polled its token.
  await sleep(12_000);
  polling = false;
  await Promise.all(devices);
  clearInterval(sampler);
  assert.equal(await server.stop(), 0);

  const approved = sessions.filter((s) => s.decided === 'approved');
  const denied = sessions.filter((s) => s.decided === 'denied');
  const quarter = Math.max(1, Math.floor(rss.length / 4));
  const early = median(rss.slice(quarter, 2 * quarter).map((r) => r.mb));
  const late = median(rss.slice(-quarter).map((r) => r.mb));
  const summary = {
    seconds: SECONDS, devices: DEVICES, sessions: sessions.length, approved: approved.length, denied: denied.length,
    answers: Object.fromEntries([...answers].sort()),
    rssMb: { first: rss[0]?.mb, secondQuarterMedian: early, lastQuarterMedian: late, max: Math.max(...rss.map((r) => r.mb)) },
  };
  t.diagnostic(JSON.stringify(summary));
  console.log(JSON.stringify(summary, null, 2));

  assert.deepEqual(failures.slice(0, 20), [], 'every request answered, none with a 5xx');
  assert.ok(approved.length > 0 && denied.length > 0, 'people approved and denied codes');
  for (const s of approved) assert.equal(s.tokens, 1, `approved ${s.code.user_code}: exactly one token (${s.outcome ?? 'no outcome'})`);
  for (const s of denied) {
    assert.equal(s.tokens, 0, `denied ${s.code.user_code}: no token`);
    assert.equal(s.outcome, 'access_denied', `denied ${s.code.user_code}`);
  }
  assert.ok(sessions.every((s) => s.tokens <= 1), 'never two tokens for one code');
  assert.ok(late <= early * 1.2 + 10, `memory flat: ${early.toFixed(0)} MB after warm-up, ${late.toFixed(0)} MB at the end`);
  assertDatabaseIntact(`${dir}/device-code-server.db`);
});

// The soak (issue 9 §3, issue 19; `npm run test:soak`; not part of `npm test`): thousands of
// simulated devices poll a real `serve` process at their interval for minutes while people approve
// and deny their codes through the flow API. The devices ask for `openid offline_access`, so every
// token comes with an ID token and a refresh token, and half the devices refresh theirs a few
// times before polling its spent code once more; the audit trail goes to a webhook receiver this
// test runs on 127.0.0.1. It holds when nothing answers 5xx or fails to answer, the server's memory
// stays flat, every approved device gets exactly one token (a second poll of a redeemed code is
// refused, and ends the grant: a refresh after it is refused too), every denied one
// access_denied and never a token, every refresh rotates, and every audit event in the store
// reaches the receiver exactly once, correctly signed (no event id twice, none missing, none it
// does not know).
//
//   SOAK_SECONDS (default 600), SOAK_DEVICES (default 3000), SOAK_APPROVERS (default 4)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { cliJson, runCli } from '../cli/run.ts';
import { tempDir } from '../helpers/build.ts';
import { startServe } from '../cli/serve-process.ts';
import { isOk, SECRET, startReceiver, verifySignature } from '../audit/_support.ts';
import { freePort } from '../../scripts/net.ts';
import { assertDatabaseIntact, UNLIMITED } from '../reliability/_support.ts';
import { approveThroughFlow, deviceAuthorization, PASSWORD, pollToken, refresh, type DeviceCode } from '../reliability/_load.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const DEVICES = Number(process.env.SOAK_DEVICES ?? 3000);
const APPROVERS = Number(process.env.SOAK_APPROVERS ?? 4);
const PEOPLE = ['alice', 'bob', 'carol', 'dave'];
/** An ID token (openid) and a refresh token (offline_access) with every token. */
const SCOPE = 'openid offline_access';
/** The share of devices that, once signed in, refresh their token (one to three times, an interval apart). */
const REFRESHING = 0.5;
/** How long the receiver may take to have every event once the load is over (a bound, not a speed). */
const DRAIN_MS = 180_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const tally = (xs: readonly string[]) => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
};

interface Session { code: DeviceCode; expiresAt: number; decided?: 'approved' | 'denied'; tokens: number; outcome?: string }

test(`soak: ${DEVICES} devices polling for ${SECONDS} s while ${APPROVERS} people approve, with ID tokens, refreshes and the audit webhook`, { timeout: (SECONDS + 600) * 1000 }, async (t) => {
  const dir = tempDir(t);
  const dbFile = `${dir}/device-code-server.db`;
  const receiver = await startReceiver(t);
  let badSignatures = 0;
  // Checked as it arrives, as a real receiver does (the signature's time must be recent).
  receiver.onArrival = (a) => {
    if (!verifySignature(SECRET, a.signature, a.raw, Math.floor(Date.now() / 1000))) badSignatures++;
  };
  // Sweeping as a real server does, so the table holds what a long-running one would. The CLI gets
  // the webhook too, from the database's creation on (--init): its events (the environment, the
  // client, the people) go to the outbox like the server's. An event made while no webhook is
  // configured has no outbox row and is never delivered, by design.
  const ENV = { ...UNLIMITED, SWEEP_INTERVAL_SECONDS: '30', AUDIT_WEBHOOK_URL: receiver.url, AUDIT_WEBHOOK_SECRET: SECRET };
  const { client_id: clientId, environment_id: envId } = await cliJson<{ client_id: string; environment_id: string }>(
    dir, ['client', 'create', '--init', '--name', 'Soak TV', '--refresh'], { env: ENV });
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
  let refreshed = 0;
  let polling = true;
  let approving = true;
  const started = Date.now();

  // A signed-in device refreshing its token now and then: each refresh answers a new refresh token
  // (rotation) and an ID token, and the one it replaced is never presented again. Returns the last.
  const refreshes = async (first: string, interval: number): Promise<string> => {
    let token = first;
    const n = 1 + Math.floor(Math.random() * 3);
    for (let i = 0; i < n && polling; i++) {
      await sleep(interval * 1000 + Math.random() * 200);
      const res = await refresh(server.url, clientId, token);
      count(`refresh ${res.status === 200 ? 'token' : res.body.error ?? String(res.status)}`);
      const next = res.body.refresh_token;
      if (res.status !== 200 || next === undefined || next === token || res.body.id_token === undefined) {
        failures.push(`refresh ${res.status} ${res.body.error ?? ''}: ${next === undefined ? 'no' : next === token ? 'the same' : 'a new'} refresh token, ${res.body.id_token === undefined ? 'no' : 'an'} ID token`);
        break;
      }
      refreshed++;
      token = next;
    }
    return token;
  };

  // One device: a code, then a poll every interval until it ends (and maybe some refreshes); then the next code.
  const device = async (): Promise<void> => {
    await sleep(Math.random() * 5000); // spread the first requests over one interval
    while (polling) {
      const start = await deviceAuthorization(server.url, clientId, SCOPE);
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
        s.outcome = what;
        if (what === 'token') {
          s.tokens++;
          if (res.body.id_token === undefined || res.body.refresh_token === undefined) failures.push(`a token without an ID token or a refresh token (scope ${SCOPE})`);
          const refreshing = res.body.refresh_token !== undefined && Math.random() < REFRESHING;
          const last = refreshing ? await refreshes(res.body.refresh_token ?? '', interval) : undefined;
          // The code is spent: polling it again must not yield a second token. A spent code
          // presented again was copied, so it also ends the grant it opened (device-flow.ts).
          const again = await pollToken(server.url, clientId, s.code.device_code);
          if (again.status === 200) s.tokens++;
          else count(`repoll ${again.body.error ?? again.status}`);
          if (last !== undefined) {
            const after = await refresh(server.url, clientId, last);
            count(`refresh after the repoll ${after.status === 200 ? 'token' : after.body.error ?? String(after.status)}`);
            if (after.status !== 400 || after.body.error !== 'invalid_grant') failures.push(`a refresh of a grant its code's replay ended answered ${after.status}`);
          }
        }
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

  // The load is over: the deliverer empties the outbox (batches of 100, back to back), then the
  // server stops. Bounded, never timed: if it does not drain, the comparison below says what is missing.
  const outbox = new Database(dbFile, { readonly: true });
  const outboxLeft = () => (outbox.prepare('SELECT count(*) AS n FROM audit_outbox').get() as { n: number }).n;
  const drainUntil = Date.now() + DRAIN_MS;
  while (outboxLeft() > 0 && Date.now() < drainUntil) await sleep(500);
  const leftInOutbox = outboxLeft();
  outbox.close();
  assert.equal(await server.stop(), 0);

  const db = new Database(dbFile, { readonly: true });
  const stored = db.prepare('SELECT id, type FROM audit_events').all() as { id: string; type: string }[];
  db.close();
  const storedIds = new Set(stored.map((e) => e.id));
  const storedTypes = tally(stored.map((e) => e.type));
  const received = tally(receiver.delivered().map((e) => e.id));
  const duplicates = [...received].filter(([, n]) => n > 1).map(([id]) => id);
  const missing = stored.filter((e) => !received.has(e.id)).map((e) => `${e.type} ${e.id}`);
  const unknown = [...received.keys()].filter((id) => !storedIds.has(id));
  const refused = receiver.arrivals.filter((a) => !isOk(a.answer)).length;

  const approved = sessions.filter((s) => s.decided === 'approved');
  const denied = sessions.filter((s) => s.decided === 'denied');
  const tokens = sessions.reduce((n, s) => n + s.tokens, 0);
  const quarter = Math.max(1, Math.floor(rss.length / 4));
  const early = median(rss.slice(quarter, 2 * quarter).map((r) => r.mb));
  const late = median(rss.slice(-quarter).map((r) => r.mb));
  const summary = {
    seconds: SECONDS, devices: DEVICES, sessions: sessions.length, approved: approved.length, denied: denied.length, tokens, refreshed,
    answers: Object.fromEntries([...answers].sort()),
    audit: {
      stored: stored.length, delivered: receiver.delivered().length, posts: receiver.arrivals.length, leftInOutbox,
      duplicates: duplicates.length, missing: missing.slice(0, 5), unknown: unknown.length, badSignatures,
      byType: Object.fromEntries([...storedTypes].sort()),
    },
    rssMb: { first: rss[0]?.mb, secondQuarterMedian: early, lastQuarterMedian: late, max: Math.max(...rss.map((r) => r.mb)) },
  };
  t.diagnostic(JSON.stringify(summary));
  console.log(JSON.stringify(summary, null, 2));

  assert.deepEqual(failures.slice(0, 20), [], 'every request answered, none with a 5xx; every token with an ID token and a refresh token; every refresh rotated');
  assert.ok(approved.length > 0 && denied.length > 0, 'people approved and denied codes');
  for (const s of approved) assert.equal(s.tokens, 1, `approved ${s.code.user_code}: exactly one token (${s.outcome ?? 'no outcome'})`);
  for (const s of denied) {
    assert.equal(s.tokens, 0, `denied ${s.code.user_code}: no token`);
    assert.equal(s.outcome, 'access_denied', `denied ${s.code.user_code}`);
  }
  assert.ok(sessions.every((s) => s.tokens <= 1), 'never two tokens for one code');
  assert.ok(refreshed > 0, 'devices refreshed their tokens');
  assert.ok(late <= early * 1.2 + 10, `memory flat: ${early.toFixed(0)} MB after warm-up, ${late.toFixed(0)} MB at the end`);

  // The trail: one event per change the answers reported, each delivered once.
  assert.equal(storedTypes.get('device.requested'), sessions.length, 'one device.requested per device authorization answered');
  assert.equal(storedTypes.get('token.issued'), tokens, 'one token.issued per token answered');
  assert.equal(storedTypes.get('token.refreshed') ?? 0, refreshed, 'one token.refreshed per refresh answered');
  assert.equal(storedTypes.get('grant.revoked'), tokens, 'one grant.revoked per spent code polled again');
  assert.equal(badSignatures, 0, 'every delivery signed with the secret');
  assert.equal(refused, 0, 'the receiver answered every delivery 2xx');
  assert.deepEqual(duplicates.slice(0, 20), [], 'no audit event delivered twice');
  assert.deepEqual(missing.slice(0, 20), [], `every stored audit event delivered (${leftInOutbox} left in the outbox)`);
  assert.deepEqual(unknown.slice(0, 20), [], 'no delivered event the store does not hold');
  assertDatabaseIntact(dbFile);
});

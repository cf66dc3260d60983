// Property tests of the two state machines (issue 9 §3), driven through the engine with the test
// clock: fast-check generates sequences of creates, polls, decisions, refreshes, flow steps and
// clock jumps, and a small model of RFC 8628 §3.5 and docs/protocol.md predicts every answer. Beside the
// model, the invariants are asserted on their own: one token per device code at most, none after a
// deny or after expiry, an interval that never shrinks, terminal states that never change, no
// refresh with a rotated-out token, and a grant that ends on reuse, of a refresh token or of the
// device code that opened it.
//
// One app per property (building one costs more than a run), fresh codes and flows for every run.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { isCoreError } from '../../src/core/errors.ts';
import { FLOW_IDLE_MS, MAX_CODE_ATTEMPTS } from '../../src/core/verification.ts';
import type { Client, DeviceStatus, FlowStatus, User } from '../../src/model/records.ts';
import { build, type TestApp } from '../helpers/build.ts';

const PASSWORD = 'correct horse battery';

/** What an engine call ended with: `ok`, or the CoreError's code (anything else is a bug and throws). */
async function outcome<T>(call: () => Promise<T>): Promise<{ code: string; value?: T }> {
  try {
    return { code: 'ok', value: await call() };
  } catch (err) {
    if (isCoreError(err)) return { code: err.code };
    throw err;
  }
}

interface DeviceModel {
  code: string;
  userCode: string;
  expiresAt: number;
  interval: number;
  lastPolledAt: number | null;
  status: DeviceStatus;
  tokens: number;
  /** The refresh-token family its redemption opened, if it had one. */
  chain?: Chain;
  /** Polled again after its redemption: the grant it opened has ended (RFC 6749 §4.1.2). */
  replayed?: boolean;
}

interface Chain {
  tokens: string[];
  revoked: boolean;
}

/** RFC 8628 §3.5 and the README's choices: the answer a poll must get, and the device after it. */
function expectedPoll(d: DeviceModel, now: number): string {
  // A redeemed code presented again ends the grant it opened, expired or not.
  if (d.status === 'consumed') d.replayed = true;
  if (now >= d.expiresAt) return 'expired_token';
  switch (d.status) {
    case 'consumed':
      return 'invalid_grant';
    case 'denied':
      return 'access_denied';
    case 'approved':
      d.status = 'consumed';
      d.tokens += 1;
      return 'ok';
    case 'pending': {
      const tooSoon = d.lastPolledAt !== null && now - d.lastPolledAt < d.interval * 1000;
      d.lastPolledAt = now;
      if (tooSoon) d.interval += 5;
      return tooSoon ? 'slow_down' : 'authorization_pending';
    }
  }
}

/** A person deciding a code (page, flow API or CLI): only a pending, unexpired code can be decided. */
function expectedDecision(d: DeviceModel, now: number, approve: boolean): string {
  if (now >= d.expiresAt) return 'user_code_expired';
  if (d.status !== 'pending') return 'user_code_used';
  d.status = approve ? 'approved' : 'denied';
  return 'ok';
}

/** A mix of clock jumps: within an interval, past one, and past a code's lifetime. */
const clockJump = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 12 }), weight: 6 },
  { arbitrary: fc.integer({ min: 30, max: 90 }), weight: 2 },
  { arbitrary: fc.integer({ min: 150, max: 400 }), weight: 1 },
);

type DeviceAction =
  | { kind: 'create'; offline: boolean }
  | { kind: 'login' }
  | { kind: 'poll'; device: number; concurrent: number }
  | { kind: 'decide'; device: number; approve: boolean }
  | { kind: 'refresh'; grant: number; token: 'latest' | 'older' }
  | { kind: 'advance'; seconds: number };

const deviceAction: fc.Arbitrary<DeviceAction> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('create' as const), offline: fc.boolean() }), weight: 2 },
  // A whole device login with offline_access (create, approve, poll): the start of a refresh chain.
  { arbitrary: fc.constant({ kind: 'login' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('poll' as const), device: fc.nat(), concurrent: fc.constantFrom(1, 1, 1, 3) }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('decide' as const), device: fc.nat(), approve: fc.constantFrom(true, true, false) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('refresh' as const), grant: fc.nat(), token: fc.constantFrom('latest' as const, 'latest' as const, 'older' as const) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds: clockJump }), weight: 3 },
);

interface Fixture {
  h: TestApp;
  client: Client;
  alice: User;
}

async function fixture(t: Parameters<typeof build>[0], codeLifetime: number): Promise<Fixture> {
  // Wrong codes and passwords are part of the sequences: no budget may end a run early.
  const h = await build(t, { env: { CODE_GUESS_BUDGET: '1000', ACCOUNT_SIGN_IN_FAILURES: '1000' } });
  const { client } = await h.services.admin.createClient({
    envId: h.services.defaultEnv.id, name: 'TV', scope: 'openid profile', refreshTokens: true, codeLifetime, pollInterval: 5,
  });
  return { h, client, alice: await h.user('alice', PASSWORD) };
}

test('device flow: at most one token per code, none after a deny or expiry, the interval never shrinks, terminal states stay', async (t) => {
  const { h, client, alice } = await fixture(t, 120);
  const { deviceFlow: flow, grants, store, secrets, defaultEnv: env, urls } = h.services;
  const issuer = urls.of(env, true).issuer;
  const seen = new Map<string, number>();
  const saw = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

  // Every run starts with a device or two, so that the actions after them have something to act on.
  const run = fc.tuple(fc.array(fc.record({ kind: fc.constant('create' as const), offline: fc.boolean() }), { minLength: 1, maxLength: 2 }),
    fc.array(deviceAction, { minLength: 5, maxLength: 40, size: 'max' }));
  await fc.assert(fc.asyncProperty(run, async ([first, rest]) => {
    const actions: DeviceAction[] = [...first, ...rest];
    const devices: DeviceModel[] = [];
    const chains: Chain[] = [];
    /** Tokens the engine really handed out, per device code (the model's count is its prediction). */
    const issued = new Map<string, number>();
    const stored = async (d: DeviceModel) => {
      const row = await store.deviceAuthorizations.getByDeviceCodeHash(secrets.hashCode('device', d.code));
      assert.ok(row, 'the device authorization is stored');
      return row;
    };
    const pick = <T>(list: T[], i: number): T | undefined => list[i % Math.max(1, list.length)];

    for (const a of actions) {
      const now = h.clock.now();
      switch (a.kind) {
        case 'create': {
          const s = await flow.start(env, client, a.offline ? 'openid offline_access' : 'openid');
          devices.push({ code: s.deviceCode, userCode: s.userCode, expiresAt: s.expiresAt, interval: s.interval, lastPolledAt: null, status: 'pending', tokens: 0 });
          break;
        }
        case 'login': {
          const s = await flow.start(env, client, 'openid offline_access');
          const d: DeviceModel = { code: s.deviceCode, userCode: s.userCode, expiresAt: s.expiresAt, interval: s.interval, lastPolledAt: null, status: 'pending', tokens: 0 };
          devices.push(d);
          await flow.decide(await flow.findPendingByUserCode(env, d.userCode), alice, true);
          d.status = 'approved';
          const token = await flow.poll(env, client, d.code, issuer);
          assert.equal(expectedPoll(d, now), 'ok');
          issued.set(d.code, 1);
          assert.ok(token.refreshToken !== undefined, 'offline_access was approved: a refresh token');
          d.chain = { tokens: [token.refreshToken], revoked: false };
          chains.push(d.chain);
          break;
        }
        case 'poll': {
          const d = pick(devices, a.device);
          if (!d) break;
          const before = d.status;
          const intervalBefore = (await stored(d)).interval;
          const results = await Promise.all(Array.from({ length: a.concurrent }, () => outcome(() => flow.poll(env, client, d.code, issuer))));
          const codes = results.map((r) => r.code);
          for (const c of codes) saw(`poll ${c}`);
          const tokens = results.filter((r) => r.code === 'ok');
          // Concurrent polls of one approved code: exactly one token, whatever the interleaving.
          if (a.concurrent === 1 || before !== 'pending' || now >= d.expiresAt) {
            const expected = [expectedPoll(d, now)];
            for (let i = 1; i < a.concurrent; i++) expected.push(expectedPoll(d, now));
            assert.deepEqual([...codes].sort(), [...expected].sort(), `polls of a ${before} code`);
          } else {
            for (const c of codes) assert.ok(c === 'authorization_pending' || c === 'slow_down', `a pending code answered ${c}`);
            // Which of the racing polls counted is the engine's to choose: follow the store.
            const row = await stored(d);
            d.interval = row.interval;
            d.lastPolledAt = row.lastPolledAt;
          }
          issued.set(d.code, (issued.get(d.code) ?? 0) + tokens.length);
          assert.ok((issued.get(d.code) ?? 0) <= 1, 'never two tokens for one device code');
          if (tokens.length > 0) {
            assert.equal(before, 'approved', 'a token only for an approved code');
            assert.ok(now < d.expiresAt, 'never a token after expiry');
            for (const tk of tokens) {
              if (tk.value?.refreshToken === undefined) continue;
              d.chain = { tokens: [tk.value.refreshToken], revoked: false };
              chains.push(d.chain);
            }
          }
          // A second presentation (a concurrent loser included) ended the grant: its refresh tokens are dead.
          if (d.replayed === true && d.chain !== undefined) {
            d.chain.revoked = true;
            const latest = d.chain.tokens.at(-1);
            assert.equal(latest === undefined ? undefined : await grants.liveByRefreshToken(env.id, latest), undefined, 'the grant ended on the code\'s reuse');
          }
          // RFC 8628 §3.5: the interval grows by 5 on slow_down and never shrinks.
          const intervalAfter = (await stored(d)).interval;
          assert.ok(intervalAfter >= intervalBefore, `the interval shrank from ${intervalBefore} to ${intervalAfter}`);
          assert.equal(intervalAfter, d.interval);
          break;
        }
        case 'decide': {
          const d = pick(devices, a.device);
          if (!d) break;
          const r = await outcome(async () => flow.decide(await flow.findPendingByUserCode(env, d.userCode), alice, a.approve));
          assert.equal(r.code, expectedDecision(d, now, a.approve), `deciding a ${d.status} code`);
          saw(`decide ${r.code}`);
          break;
        }
        case 'refresh': {
          const chain = pick(chains, a.grant);
          if (!chain) break;
          const older = a.token === 'older' && chain.tokens.length > 1;
          const presented = older ? chain.tokens[a.grant % (chain.tokens.length - 1)] : chain.tokens.at(-1);
          assert.ok(presented !== undefined);
          const r = await outcome(() => grants.refresh(env, client, presented, undefined, 'device'));
          saw(older ? 'refresh reuse' : `refresh ${r.code}`);
          if (chain.revoked || older) {
            assert.equal(r.code, 'invalid_grant', older ? 'a rotated-out token never refreshes' : 'an ended grant never refreshes');
            chain.revoked = true;
            // A reuse ends the whole grant: the newest token is dead too.
            const latest = chain.tokens.at(-1);
            assert.equal(latest === undefined ? undefined : await grants.liveByRefreshToken(env.id, latest), undefined, 'the grant ended on reuse');
          } else {
            assert.equal(r.code, 'ok', 'the newest token of a live grant refreshes');
            const next = r.value?.refreshToken;
            assert.ok(next !== undefined && !chain.tokens.includes(next), 'a new token on every refresh');
            chain.tokens.push(next);
          }
          break;
        }
        case 'advance':
          h.clock.advance(a.seconds);
          break;
      }
      // Terminal states never change, whatever else happened: the store agrees with the model.
      for (const d of devices) {
        const row = await stored(d);
        assert.equal(row.status, d.status, 'the stored status is the model\'s');
        assert.equal(issued.get(d.code) ?? 0, d.tokens);
      }
    }
  }), {
    numRuns: 100,
    // Run first, so that every invariant meets its case whatever the random runs reach: a token's
    // refresh token rotated, reused (the grant ends) and tried again, and its code polled after it
    // expired; a code polled three times at once (one token, and the grant ends with the losers);
    // and a code polled too fast, denied, decided again, and polled after it expired.
    examples: [
      [[[{ kind: 'create', offline: true }], [
        { kind: 'decide', device: 0, approve: true }, { kind: 'poll', device: 0, concurrent: 1 },
        { kind: 'refresh', grant: 0, token: 'latest' }, { kind: 'refresh', grant: 0, token: 'older' }, { kind: 'refresh', grant: 0, token: 'latest' },
        { kind: 'advance', seconds: 400 }, { kind: 'poll', device: 0, concurrent: 1 },
      ]]],
      [[[{ kind: 'create', offline: true }], [
        { kind: 'decide', device: 0, approve: true }, { kind: 'poll', device: 0, concurrent: 3 }, { kind: 'refresh', grant: 0, token: 'latest' },
      ]]],
      [[[{ kind: 'create', offline: false }], [
        { kind: 'poll', device: 0, concurrent: 1 }, { kind: 'poll', device: 0, concurrent: 1 }, { kind: 'advance', seconds: 5 },
        { kind: 'poll', device: 0, concurrent: 3 }, { kind: 'decide', device: 0, approve: false }, { kind: 'poll', device: 0, concurrent: 1 },
        { kind: 'decide', device: 0, approve: true }, { kind: 'advance', seconds: 200 }, { kind: 'decide', device: 0, approve: true },
        { kind: 'poll', device: 0, concurrent: 1 },
      ]]],
    ],
  });
  // The sequences did reach every state the invariants are about (or the test proves nothing).
  for (const what of ['poll ok', 'poll slow_down', 'poll authorization_pending', 'poll expired_token', 'poll access_denied', 'poll invalid_grant',
    'decide ok', 'decide user_code_used', 'decide user_code_expired', 'refresh ok', 'refresh reuse', 'refresh invalid_grant']) {
    assert.ok((seen.get(what) ?? 0) > 0, `no run reached ${what}: ${JSON.stringify([...seen])}`);
  }
});

interface FlowModel {
  id: string;
  secret: string;
  status: FlowStatus;
  failed: number;
  expiresAt: number;
  device: number | null;
}

type FlowAction =
  | { kind: 'start' }
  | { kind: 'device' }
  | { kind: 'signIn'; flow: number; right: boolean }
  | { kind: 'verify'; flow: number; code: { device: number } | { wrong: number; malformed: boolean } }
  | { kind: 'consent'; flow: number; accept: boolean }
  | { kind: 'decide'; device: number; approve: boolean }
  | { kind: 'advance'; seconds: number }
  /** The step the flow waits for (a person going through the page), resolved against the model. */
  | { kind: 'next'; flow: number; device: number; accept: boolean };

const flowAction: fc.Arbitrary<FlowAction> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('next' as const), flow: fc.nat(), device: fc.nat(), accept: fc.constantFrom(true, true, false) }), weight: 8 },
  { arbitrary: fc.constant({ kind: 'start' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'device' as const }), weight: 1 },
  // Sign-ins hash a password (scrypt): a few per run are enough.
  { arbitrary: fc.record({ kind: fc.constant('signIn' as const), flow: fc.nat(), right: fc.boolean() }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('verify' as const), flow: fc.nat(),
      // A code of one of the run's devices, or a few wrong ones in a row (a typo, or someone guessing).
      code: fc.oneof(fc.record({ device: fc.nat() }), fc.record({ wrong: fc.constantFrom(1, 2, 5, 5), malformed: fc.boolean() })),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ kind: fc.constant('consent' as const), flow: fc.nat(), accept: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('decide' as const), device: fc.nat(), approve: fc.boolean() }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      // Mostly a person's pace; now and then long enough for a code (20 min) or a flow (15 idle) to expire.
      seconds: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 60 }), weight: 8 }, fc.integer({ min: 300, max: 700 }), fc.integer({ min: 900, max: 1300 })),
    }),
    weight: 2,
  },
);

const TERMINAL: readonly FlowStatus[] = ['COMPLETED', 'FAILED'];

test('verification flow: every step as the model says; COMPLETED and FAILED never change; a device is decided once', async (t) => {
  const { h, client, alice } = await fixture(t, 1200);
  const { deviceFlow, verification: v, store, defaultEnv: env } = h.services;
  let run = 0;
  const seen = new Map<string, number>();
  const saw = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

  // Two flows from the start, often for one device: two people (or tabs) racing for one code.
  const runs = fc.tuple(fc.constantFrom<FlowAction[]>([{ kind: 'start' }, { kind: 'start' }, { kind: 'device' }], [{ kind: 'start' }, { kind: 'device' }, { kind: 'start' }, { kind: 'device' }]),
    fc.array(flowAction, { minLength: 5, maxLength: 30, size: 'max' }));
  await fc.assert(fc.asyncProperty(runs, async ([first, rest]) => {
    const actions: FlowAction[] = [...first, ...rest];
    // Wrong codes count per source: each run is its own source, so runs never share a budget.
    const source = `203.0.113.${++run % 250}|${run}`;
    const flows: FlowModel[] = [];
    const devices: DeviceModel[] = [];
    const terminal = new Map<string, FlowStatus>();
    const decided = new Map<string, number | null>();
    const pick = <T>(list: T[], i: number): T | undefined => list[i % Math.max(1, list.length)];

    /** A `next` as the concrete step its flow waits for; other actions as they are. */
    const resolve = (a: FlowAction): Exclude<FlowAction, { kind: 'next' }> => {
      if (a.kind !== 'next') return a;
      const f = pick(flows, a.flow);
      switch (f?.status) {
        case 'USERNAME_PASSWORD_REQUIRED':
          return { kind: 'signIn', flow: a.flow, right: true };
        case 'DAG_CONSENT_REQUIRED':
          return { kind: 'consent', flow: a.flow, accept: a.accept };
        default:
          return { kind: 'verify', flow: a.flow, code: { device: a.device } };
      }
    };

    for (const next of actions) {
      const a = resolve(next);
      const now = h.clock.now();
      const live = (f: FlowModel) => now < f.expiresAt;
      switch (a.kind) {
        case 'start': {
          const secret = randomBytes(16).toString('base64url');
          const flow = await v.start(env, secret);
          flows.push({ id: flow.id, secret, status: flow.status, failed: 0, expiresAt: flow.expiresAt, device: null });
          break;
        }
        case 'device': {
          const s = await deviceFlow.start(env, client, 'openid');
          devices.push({ code: s.deviceCode, userCode: s.userCode, expiresAt: s.expiresAt, interval: s.interval, lastPolledAt: null, status: 'pending', tokens: 0 });
          break;
        }
        case 'signIn': {
          const f = pick(flows, a.flow);
          if (!f) break;
          const r = await outcome(() => v.signIn(env, f.id, f.secret, 'alice', a.right ? PASSWORD : 'wrong password', null));
          let expected = 'ok';
          // Sent again (its answer lost): the right password repeats the answer and changes nothing.
          const repeat = f.status === 'DAG_USER_CODE_REQUIRED' && a.right;
          if (!live(f)) expected = 'flow_not_found';
          else if (f.status !== 'USERNAME_PASSWORD_REQUIRED' && !repeat) expected = 'flow_wrong_state';
          else if (!a.right) expected = 'invalid_credentials';
          else if (!repeat) Object.assign(f, { status: 'DAG_USER_CODE_REQUIRED', expiresAt: now + FLOW_IDLE_MS });
          assert.equal(r.code, expected, `sign-in on a ${f.status} flow`);
          if (r.code === 'ok') assert.equal(r.value?.flow.status, 'DAG_USER_CODE_REQUIRED');
          saw(`signIn ${r.code}${repeat && r.code === 'ok' ? ' repeated' : ''}`);
          break;
        }
        case 'verify': {
          const f = pick(flows, a.flow);
          if (!f) break;
          const target = 'device' in a.code ? pick(devices, a.code.device) : undefined;
          const wrong = 'wrong' in a.code ? a.code : { wrong: 1, malformed: false };
          for (let i = 0; i < (target === undefined ? wrong.wrong : 1); i++) {
            const input = target?.userCode ?? (wrong.malformed ? 'not a code!' : 'BBBB-BBBB');
            const r: { code: string } = await outcome(() => v.verifyUserCode(env, f.id, f.secret, input, source, null));
            let expected: string;
            const repeat = f.status === 'DAG_CONSENT_REQUIRED' && target !== undefined && f.device === devices.indexOf(target);
            if (!live(f)) expected = 'flow_not_found';
            else if (repeat) expected = 'ok'; // the code this flow verified, sent again
            else if (f.status !== 'DAG_USER_CODE_REQUIRED') expected = 'flow_wrong_state';
            else if (target === undefined) {
              // RFC 8628 §5.1: wrong codes are counted; the fifth fails the flow.
              f.failed += 1;
              if (f.failed >= MAX_CODE_ATTEMPTS) f.status = 'FAILED';
              expected = f.failed >= MAX_CODE_ATTEMPTS ? 'too_many_attempts' : 'invalid_user_code';
            } else if (now >= target.expiresAt) expected = 'user_code_expired';
            else if (target.status !== 'pending') expected = 'user_code_used';
            else {
              Object.assign(f, { status: 'DAG_CONSENT_REQUIRED', expiresAt: now + FLOW_IDLE_MS, device: devices.indexOf(target) });
              expected = 'ok';
            }
            assert.equal(r.code, expected, `code ${target?.status ?? 'wrong'} on a ${f.status} flow`);
            saw(`verify ${r.code}${repeat && r.code === 'ok' ? ' repeated' : ''}`);
          }
          break;
        }
        case 'consent': {
          const f = pick(flows, a.flow);
          if (!f) break;
          const r = await outcome(() => v.consent(env, f.id, f.secret, a.accept ? 'approve' : 'deny', null));
          const d = f.device === null ? undefined : devices[f.device];
          const repeat = f.status === 'COMPLETED' && a.accept;
          let expected: string;
          if (!live(f)) expected = 'flow_not_found';
          else if (repeat) expected = 'ok'; // an approval sent again
          else if (f.status !== 'DAG_CONSENT_REQUIRED' || !d) expected = 'flow_wrong_state';
          else {
            // One transaction: the flow ends and its device is decided, or (the device went) the flow fails.
            const device = expectedDecision(d, now, a.accept);
            f.status = device === 'ok' && a.accept ? 'COMPLETED' : 'FAILED';
            expected = device;
          }
          assert.equal(r.code, expected, `consent on a ${f.status} flow`);
          if (r.code === 'ok') assert.equal(r.value?.flow.status, f.status);
          saw(`consent ${r.code}${r.code === 'ok' ? ` ${f.status}${repeat ? ' repeated' : ''}` : ''}`);
          break;
        }
        case 'decide': {
          // Another channel (a second flow, the CLI) deciding the same code.
          const d = pick(devices, a.device);
          if (!d) break;
          const r = await outcome(async () => deviceFlow.decide(await deviceFlow.findPendingByUserCode(env, d.userCode), alice, a.approve));
          assert.equal(r.code, expectedDecision(d, now, a.approve));
          break;
        }
        case 'advance':
          h.clock.advance(a.seconds);
          break;
      }
      for (const f of flows) {
        // Read whatever the expiry: a terminal state must not change even unseen.
        const stored = await store.flows.get(env.id, f.id, 0);
        assert.equal(stored?.status, f.status, 'the stored flow is the model\'s');
        const was = terminal.get(f.id);
        if (was !== undefined) assert.equal(stored.status, was, `${was} is terminal`);
        else if (TERMINAL.includes(stored.status)) terminal.set(f.id, stored.status);
      }
      for (const d of devices) {
        const row = await store.deviceAuthorizations.getByDeviceCodeHash(h.services.secrets.hashCode('device', d.code));
        assert.equal(row?.status, d.status, 'the stored device is the model\'s');
        // Decided once: the moment of the decision never moves.
        if (decided.has(d.code)) assert.equal(row.decidedAt, decided.get(d.code));
        else if (row.decidedAt !== null) decided.set(d.code, row.decidedAt);
      }
    }
  }), {
    numRuns: 50,
    // Run first (see above): two people racing for one code, then a wrong password, five wrong
    // codes, a flow that expired, and a refusal followed by another channel's decision; each step sent again.
    examples: [
      [[[{ kind: 'start' }, { kind: 'start' }, { kind: 'device' }], [
        { kind: 'next', flow: 0, device: 0, accept: true }, { kind: 'next', flow: 1, device: 0, accept: true },
        { kind: 'next', flow: 0, device: 0, accept: true }, { kind: 'next', flow: 1, device: 0, accept: true },
        { kind: 'next', flow: 0, device: 0, accept: true }, { kind: 'next', flow: 1, device: 0, accept: true },
        { kind: 'verify', flow: 0, code: { device: 0 } },
      ]]],
      [[[{ kind: 'start' }, { kind: 'device' }, { kind: 'start' }, { kind: 'device' }], [
        { kind: 'signIn', flow: 0, right: false }, { kind: 'signIn', flow: 0, right: true }, { kind: 'signIn', flow: 0, right: true },
        { kind: 'verify', flow: 0, code: { wrong: 5, malformed: false } }, { kind: 'advance', seconds: 1000 },
        { kind: 'signIn', flow: 1, right: true }, { kind: 'start' }, { kind: 'next', flow: 2, device: 1, accept: false },
        { kind: 'next', flow: 2, device: 1, accept: false }, { kind: 'next', flow: 2, device: 1, accept: false },
        { kind: 'consent', flow: 2, accept: true }, { kind: 'decide', device: 1, approve: true },
      ]]],
      // Each step sent again after its answer was lost: the sign-in, the code, the approval.
      [[[{ kind: 'start' }, { kind: 'start' }, { kind: 'device' }], [
        { kind: 'signIn', flow: 0, right: true }, { kind: 'signIn', flow: 0, right: true },
        { kind: 'verify', flow: 0, code: { device: 0 } }, { kind: 'verify', flow: 0, code: { device: 0 } },
        { kind: 'consent', flow: 0, accept: true }, { kind: 'consent', flow: 0, accept: true },
      ]]],
    ],
  });
  for (const what of ['signIn ok', 'signIn ok repeated', 'verify ok repeated', 'consent ok COMPLETED repeated', 'signIn invalid_credentials', 'signIn flow_not_found', 'signIn flow_wrong_state', 'verify ok', 'verify invalid_user_code',
    'verify too_many_attempts', 'verify user_code_used', 'verify flow_wrong_state', 'consent ok COMPLETED', 'consent ok FAILED', 'consent user_code_used',
    'consent flow_wrong_state']) {
    assert.ok((seen.get(what) ?? 0) > 0, `no run reached ${what}: ${JSON.stringify([...seen])}`);
  }
});

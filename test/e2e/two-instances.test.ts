// Several instances behind one address (issue 10 §4, README "Scaling out"): two `serve` processes on one
// PostgreSQL and one Redis, each with its own data directory and nothing shared but the stores and
// the configuration README "Scaling out" says must be equal. A device authorized through A is
// approved through the flow API with its steps spread over A and B, its polls alternate between
// them (one shared interval: a poll on B right after one on A is slow_down), exactly one of them
// gets the token; rate limits are one budget across both; when A is killed mid-flow B carries the
// flow to its token; and a third instance that joins shares the wrong-code budget with B.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { cliJson, runCli } from '../cli/run.ts';
import { startServe, type ServeProcess } from '../cli/serve-process.ts';
import { tempDir } from '../helpers/build.ts';
import { postgresDatabase } from '../helpers/postgres.ts';
import { startRedis } from '../helpers/redis.ts';
import { deviceAuthorization, PASSWORD, pollToken, type Answer, type DeviceCode } from '../reliability/_load.ts';
import { CHECK, CONSENT, cookieOf, flowIdOf, UNLIMITED, VERIFY } from '../reliability/_support.ts';

const DISCOVERY_LIMIT = 6;
const GUESS_BUDGET = 3;

/** One browser's flow: started on one instance, each step sent to whichever instance is named. */
async function startFlow(on: ServeProcess, envId: string): Promise<{ id: string; cookie: string }> {
  const res = await fetch(`${on.url}/${envId}/device`, { redirect: 'manual' });
  await res.arrayBuffer();
  assert.equal(res.status, 302);
  return { id: flowIdOf(res.headers.get('location') ?? undefined), cookie: cookieOf(res.headers.getSetCookie()) };
}

async function step(on: ServeProcess, envId: string, flow: { id: string; cookie: string }, type: string, body: object): Promise<Answer<{ status?: string; code?: string }>> {
  const res = await fetch(`${on.url}/${envId}/flows/${flow.id}`, {
    method: 'POST', headers: { 'content-type': type, cookie: flow.cookie }, body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as { status?: string; code?: string }) };
}

test('two instances on one PostgreSQL and one Redis serve one device flow, share budgets, and survive each other', { timeout: 120_000 }, async (t) => {
  const redis = await startRedis(t);
  const env = {
    ...UNLIMITED,
    DATABASE_URL: await postgresDatabase(),
    REDIS_URL: redis.url,
    SERVER_SECRET: randomBytes(32).toString('base64url'),
    PUBLIC_URL: 'http://auth.example.test',
    RATE_LIMIT_DISCOVERY: String(DISCOVERY_LIMIT),
    CODE_GUESS_BUDGET: String(GUESS_BUDGET),
  };
  // The CLI acts on the shared database from a directory of its own, as an operator's shell would.
  const admin = tempDir(t);
  const { client_id: clientId, environment_id: envId } = await cliJson<{ client_id: string; environment_id: string }>(
    admin, ['client', 'create', '--name', 'TV'], { env });
  const alice = await runCli(admin, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: `${PASSWORD}\n`, env });
  assert.equal(alice.code, 0, alice.stderr);

  const a = await startServe(t, tempDir(t), env);
  const b = await startServe(t, tempDir(t), env);

  // A device code from A; the person signs in on B, enters the code on A and consents on B.
  const started = await deviceAuthorization(a.url, clientId);
  assert.equal(started.status, 200);
  const code: DeviceCode = started.body;
  // Polls alternate: the interval is one, wherever the poll lands.
  assert.equal((await pollToken(a.url, clientId, code.device_code)).body.error, 'authorization_pending');
  assert.equal((await pollToken(b.url, clientId, code.device_code)).body.error, 'slow_down', 'B knows A was just polled');
  const flow = await startFlow(b, envId);
  assert.equal((await step(b, envId, flow, CHECK, { username: 'alice', password: PASSWORD })).status, 200);
  assert.equal((await step(a, envId, flow, VERIFY, { userCode: code.user_code })).body.status, 'DAG_CONSENT_REQUIRED');
  assert.equal((await step(b, envId, flow, CONSENT, { accept: true })).body.status, 'COMPLETED');
  // Both ask at once for the token: exactly one gets it.
  const [fromA, fromB] = await Promise.all([pollToken(a.url, clientId, code.device_code), pollToken(b.url, clientId, code.device_code)]);
  const answers = [fromA, fromB].map((r) => (r.status === 200 ? 'token' : r.body.error));
  assert.equal(answers.filter((x) => x === 'token').length, 1, `one token: ${JSON.stringify(answers)}`);
  // The token verifies with either instance's JWKS: the signing keys are shared.
  const token = (fromA.status === 200 ? fromA : fromB).body.access_token ?? '';
  for (const on of [a, b]) {
    const intro = await fetch(`${on.url}/oauth/jwks`).then((r) => r.json() as Promise<{ keys: { kid: string }[] }>);
    const kid = (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid;
    assert.ok(intro.keys.some((k) => k.kid === kid), 'the token\'s key is in every instance\'s JWKS');
  }

  // One rate-limit budget: discovery requests spread over A and B run out together.
  const discovery = (on: ServeProcess) => fetch(`${on.url}/.well-known/openid-configuration`).then(async (r) => { await r.arrayBuffer(); return r; });
  // Two JWKS fetches above spent two of the discovery budget.
  let spent = 2;
  while (spent < DISCOVERY_LIMIT) assert.equal((await discovery(spent++ % 2 === 0 ? a : b)).status, 200);
  for (const on of [a, b]) {
    const refused = await discovery(on);
    assert.equal(refused.status, 429, 'the shared budget is spent on both');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  }

  // A dies mid-flow: the device started on A and the person signed in on A; B carries on.
  const second = (await deviceAuthorization(a.url, clientId)).body;
  const halfway = await startFlow(a, envId);
  assert.equal((await step(a, envId, halfway, CHECK, { username: 'alice', password: PASSWORD })).status, 200);
  a.child.kill('SIGKILL');
  await new Promise((resolve) => a.child.once('exit', resolve));
  assert.equal((await step(b, envId, halfway, VERIFY, { userCode: second.user_code })).body.status, 'DAG_CONSENT_REQUIRED');
  assert.equal((await step(b, envId, halfway, CONSENT, { accept: true })).body.status, 'COMPLETED');
  const last = await pollToken(b.url, clientId, second.device_code);
  assert.equal(last.status, 200, JSON.stringify(last.body));

  // A new instance C joins; one wrong-code budget: wrong codes on B and C add up.
  const c = await startServe(t, tempDir(t), env);
  const guessAnswers: number[] = [];
  for (const [i, userCode] of ['BBBB-BBBB', 'CCCC-CCCC', 'DDDD-DDDD', 'FFFF-FFFF'].entries()) {
    const on = i % 2 === 0 ? b : c;
    const guesser = await startFlow(on, envId);
    assert.equal((await step(on, envId, guesser, CHECK, { username: 'alice', password: PASSWORD })).status, 200);
    guessAnswers.push((await step(on, envId, guesser, VERIFY, { userCode })).status);
  }
  assert.deepEqual(guessAnswers.slice(0, GUESS_BUDGET), Array<number>(GUESS_BUDGET).fill(400), 'wrong codes within the budget');
  assert.equal(guessAnswers[GUESS_BUDGET], 429, `the budget spent over B and C is spent on both: ${JSON.stringify(guessAnswers)}`);
  assert.equal(await b.stop(), 0);
  assert.equal(await c.stop(), 0);
});

// A person who signs in through an identity provider (README "Command line") has no password: their
// user is the pair (issuer, upstream sub) and its password_hash is '', which no password
// verifies. Neither the page nor the engine's password sign-in (PasswordSignIn.signIn, behind the
// page, the flow API and the Veeam password grant) lets anyone in as them with a password, an
// empty one included; the refusal is the one every wrong password gets.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { isCoreError } from '../../src/core/errors.ts';
import { FixedWindowLimiter } from '../../src/core/limiter.ts';
import { PasswordSignIn } from '../../src/core/sign-in.ts';
import type { User } from '../../src/model/records.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { alertText, assertHtmlPage, flowStatus, PageBrowser } from './_support.ts';

/** A federated user as the sign-in through a provider creates one: no password. */
async function federated(h: TestApp, username: string): Promise<User> {
  const now = h.clock.now();
  const user: User = {
    id: randomUUID(), envId: h.services.defaultEnv.id, username, email: `${username}@corp.example.test`, passwordHash: '', disabled: false,
    name: 'Alice Liddell', givenName: null, familyName: null, emailVerified: true, createdAt: now, updatedAt: now, idpIssuer: 'https://idp.corp.example.test', idpSubject: '00u1alice',
  };
  await h.services.store.users.create(user);
  return user;
}

const ATTEMPTS = ['', 'correct horse battery', 'scrypt$16384$8$1$AAAA$AAAA'];

test('PasswordSignIn.signIn refuses a federated user whatever the password, as a wrong password, and records why', async (t) => {
  const h = await build(t);
  const alice = await federated(h, 'alice');
  const { services, clock } = h;
  const signIn = new PasswordSignIn(services.store.users, new FixedWindowLimiter({ max: 100, windowSeconds: 900 }, clock), services.config.passwordCost,
    clock, services.audit);
  for (const password of ATTEMPTS) {
    await assert.rejects(signIn.signIn(services.defaultEnv.id, 'alice', password),
      (err: unknown) => isCoreError(err) && err.code === 'invalid_credentials' && err.message === 'the username or password is not correct');
  }
  const failed = await services.store.audit.list({ envId: services.defaultEnv.id, types: ['signin.failed'], limit: 10 });
  assert.deepEqual(failed.map((e) => [e.actor, e.details]), ATTEMPTS.map(() => [`user:${alice.id}`, { username: 'alice', reason: 'federated_user', method: 'password' }]));
  assert.equal((await services.store.users.get(services.defaultEnv.id, alice.id))?.passwordHash, '', 'no hash was written for them');
});

test('the verification page refuses a federated user\'s password sign-in like a wrong password; the flow stays at sign-in', async (t) => {
  const h = await build(t);
  await federated(h, 'alice');
  const b = new PageBrowser(h);
  assertHtmlPage(await b.open('/device'), 200);
  const flowId = b.field('flowId') ?? '';
  for (const password of ATTEMPTS.filter((p) => p !== '')) {
    const body = assertHtmlPage(await b.submit({ username: 'alice', password }), 400);
    assert.equal(alertText(body), 'That username or password is not correct.');
  }
  assert.equal(await flowStatus(h, flowId), 'USERNAME_PASSWORD_REQUIRED');
});

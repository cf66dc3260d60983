// The contract for sign-in through an identity provider (README "Command line"): the providers of
// each environment, federated users (the pair issuer and upstream `sub`, OpenID Connect Core
// §5.7, never an email alone), whose emails need not be unique, and the environment's switch for
// password sign-in.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { StoreConflictError } from '../../../src/store/store.ts';
import { basics, environment, federatedUser, identityProvider, MINUTE, NOW, one, user, type OpenStores } from './fixtures.ts';

const conflict = (err: unknown): boolean => err instanceof StoreConflictError;
// Federated users are known by their issuer, whatever the provider is called here.
const OKTA = 'https://contoso.okta.example.test';
const AZURE = 'https://login.microsoftonline.example.test/contoso/v2.0';

export function identityContract(open: OpenStores): void {
  test('identity providers: create, get, list by name, delete once; a taken name conflicts in its environment only', async (t) => {
    const store = await one(open, t);
    const { env } = await basics(store);
    const other = environment();
    await store.environments.create(other);
    const okta = identityProvider(env.id, { name: 'okta' });
    // A public client (PKCE only) has no secret; names and claims round-trip as given, non-BMP characters included.
    const azure = identityProvider(env.id, {
      name: 'azure-ad', displayName: 'Contoso 𝒜 Entra ID', clientSecretEnc: null, scope: 'openid email',
      claims: { username: 'upn', email: 'https://example.test/claims/mail', name: 'displayName' },
    });
    await store.identityProviders.create(okta);
    await store.identityProviders.create(azure);
    assert.deepEqual(await store.identityProviders.get(env.id, 'okta'), okta);
    assert.deepEqual(await store.identityProviders.get(env.id, 'azure-ad'), azure);
    assert.deepEqual(await store.identityProviders.list(env.id), [azure, okta]);
    assert.equal(await store.identityProviders.get(other.id, 'okta'), undefined, 'a provider belongs to one environment');
    assert.deepEqual(await store.identityProviders.list(other.id), []);
    await assert.rejects(store.identityProviders.create(identityProvider(env.id, { name: 'okta' })), conflict);
    const elsewhere = identityProvider(other.id, { name: 'okta' });
    await store.identityProviders.create(elsewhere);
    assert.equal(await store.identityProviders.delete(env.id, 'okta'), true);
    assert.equal(await store.identityProviders.delete(env.id, 'okta'), false);
    assert.equal(await store.identityProviders.get(env.id, 'okta'), undefined);
    assert.deepEqual(await store.identityProviders.list(env.id), [azure]);
    assert.deepEqual(await store.identityProviders.get(other.id, 'okta'), elsewhere, 'the other environment keeps its own');
    // The name is free again.
    await store.identityProviders.create(okta);
    assert.deepEqual(await store.identityProviders.list(env.id), [azure, okta]);
  });

  test('environments: password sign-in round-trips from create; setPasswordSignIn turns it off and on and returns the environment', async (t) => {
    const store = await one(open, t);
    const off = environment({ passwordSignIn: false });
    const on = environment();
    await store.environments.create(off);
    await store.environments.create(on);
    assert.deepEqual(await store.environments.get(off.id), off);
    assert.deepEqual(await store.environments.setPasswordSignIn(on.id, false), { ...on, passwordSignIn: false });
    assert.deepEqual(await store.environments.getByName(on.name), { ...on, passwordSignIn: false });
    assert.deepEqual(await store.environments.setPasswordSignIn(off.id, true), { ...off, passwordSignIn: true });
    assert.deepEqual((await store.environments.list()).map((e) => e.passwordSignIn), [true, false]);
    assert.equal(await store.environments.setPasswordSignIn(randomUUID(), true), undefined);
  });

  test('environments: branding round-trips from create, text outside ASCII included; setBranding replaces it and returns the environment', async (t) => {
    const store = await one(open, t);
    const full = { displayName: 'Ærø Kommune · 東京支社 🏢', logoUrl: 'https://cdn.example.test/logo.svg?v=2', primaryColor: '#0a7cff', supportUrl: 'https://help.example.test/' };
    const branded = environment({ branding: full });
    const plain = environment();
    await store.environments.create(branded);
    await store.environments.create(plain);
    assert.deepEqual(await store.environments.get(branded.id), branded);
    assert.deepEqual((await store.environments.get(plain.id))?.branding, { displayName: null, logoUrl: null, primaryColor: null, supportUrl: null });
    const partly = { ...plain.branding, primaryColor: '#fff', supportUrl: 'http://127.0.0.1:8080/help' };
    assert.deepEqual(await store.environments.setBranding(plain.id, partly), { ...plain, branding: partly });
    assert.deepEqual(await store.environments.getByName(plain.name), { ...plain, branding: partly });
    const cleared = { displayName: null, logoUrl: null, primaryColor: null, supportUrl: null };
    assert.deepEqual(await store.environments.setBranding(branded.id, cleared), { ...branded, branding: cleared });
    assert.deepEqual((await store.environments.list()).map((e) => e.branding), [cleared, partly]);
    // The other settings stay as they were.
    assert.deepEqual(await store.environments.get(plain.id), { ...plain, branding: partly });
    assert.equal(await store.environments.setBranding(randomUUID(), full), undefined);
    // The table refuses what no check lets through: a colour that is not #rgb or #rrggbb.
    await assert.rejects(store.environments.setBranding(plain.id, { ...cleared, primaryColor: 'red' }));
  });

  test('users: a federated user is found by (provider, sub); the same pair again conflicts, the same sub at another provider does not', async (t) => {
    const store = await one(open, t);
    const { env } = await basics(store);
    const alice = federatedUser(env.id, OKTA, { name: 'Alice Liddell', emailVerified: true });
    await store.users.create(alice);
    assert.deepEqual(await store.users.get(env.id, alice.id), alice);
    assert.deepEqual(await store.users.getByUsername(env.id, alice.username), alice);
    assert.deepEqual(await store.users.getByIdentity(env.id, OKTA, alice.idpSubject ?? ''), alice);
    assert.equal(await store.users.getByIdentity(env.id, AZURE, alice.idpSubject ?? ''), undefined);
    assert.equal(await store.users.getByIdentity(env.id, OKTA, 'someone-else'), undefined);
    assert.equal(await store.users.getByIdentity(env.id, OKTA, (alice.idpSubject ?? '').toUpperCase()), undefined, 'subjects are exact');
    await assert.rejects(store.users.create(federatedUser(env.id, OKTA, { idpSubject: alice.idpSubject })), conflict);
    const atAzure = federatedUser(env.id, AZURE, { idpSubject: alice.idpSubject });
    await store.users.create(atAzure);
    assert.deepEqual(await store.users.getByIdentity(env.id, AZURE, alice.idpSubject ?? ''), atAzure);
    // Another environment's provider of the same name is another provider.
    const other = environment();
    await store.environments.create(other);
    assert.equal(await store.users.getByIdentity(other.id, OKTA, alice.idpSubject ?? ''), undefined);
    await store.users.create(federatedUser(other.id, OKTA, { idpSubject: alice.idpSubject }));
    // Usernames stay unique whoever holds them.
    await assert.rejects(store.users.create(federatedUser(env.id, OKTA, { username: alice.username })), conflict);
    await assert.rejects(store.users.create(user(env.id, { username: alice.username })), conflict);
    // A provider without a subject (or the reverse) is no identity.
    await assert.rejects(store.users.create(user(env.id, { idpIssuer: OKTA, idpSubject: null })));
    await assert.rejects(store.users.create(user(env.id, { idpIssuer: null, idpSubject: 'sub' })));
  });

  test('users: emails are unique among password users only; federated users share one, and getByEmail finds the password user', async (t) => {
    const store = await one(open, t);
    const { env, user: first } = await basics(store);
    const email = 'Alice@Example.test';
    const atOkta = federatedUser(env.id, OKTA, { email });
    const atAzure = federatedUser(env.id, AZURE, { email: email.toLowerCase() });
    await store.users.create(atOkta);
    await store.users.create(atAzure);
    assert.equal(await store.users.getByEmail(env.id, email), undefined, 'federated users are not found by email');
    const local = user(env.id, { email: email.toUpperCase() });
    await store.users.create(local);
    assert.deepEqual(await store.users.getByEmail(env.id, email), local);
    await assert.rejects(store.users.create(user(env.id, { email })), conflict, 'a password user\'s email is still unique among password users');
    // A password user may take (or leave for) an address federated users have, and not another password user's.
    const bob = user(env.id);
    await store.users.create(bob);
    await assert.rejects(store.users.updateProfile(env.id, bob.id, { email }, NOW + MINUTE), conflict);
    assert.equal((await store.users.updateProfile(env.id, local.id, { email: 'alice@elsewhere.test' }, NOW + MINUTE))?.email, 'alice@elsewhere.test');
    assert.equal((await store.users.updateProfile(env.id, bob.id, { email }, NOW + 2 * MINUTE))?.email, email);
    // A federated user's profile update never conflicts on email.
    assert.equal((await store.users.updateProfile(env.id, atOkta.id, { email: bob.email }, NOW + 3 * MINUTE))?.email, bob.email);
    assert.deepEqual((await store.users.list(env.id)).map((u) => u.id), [first.id, atOkta.id, atAzure.id, local.id, bob.id]);
  });

  test('users: updateFederated writes the upstream attributes and updated_at, keeps the username; password users and unknown ids are undefined', async (t) => {
    const store = await one(open, t);
    const { env, user: local } = await basics(store);
    const alice = federatedUser(env.id, OKTA, { name: 'Alice', givenName: 'Alice', familyName: null, emailVerified: true });
    await store.users.create(alice);
    const attrs = { email: 'alice.liddell@example.test', emailVerified: false, name: 'Alice Liddell 𝒜', givenName: null, familyName: 'Liddell' };
    const expected = { ...alice, ...attrs, updatedAt: NOW + MINUTE };
    assert.deepEqual(await store.users.updateFederated(env.id, alice.id, attrs, NOW + MINUTE), expected);
    assert.deepEqual(await store.users.getByIdentity(env.id, OKTA, alice.idpSubject ?? ''), expected);
    // An address a password user holds is no conflict: federated emails are not unique.
    assert.equal((await store.users.updateFederated(env.id, alice.id, { ...attrs, email: local.email }, NOW + 2 * MINUTE))?.email, local.email);
    assert.equal(await store.users.updateFederated(env.id, local.id, attrs, NOW + 3 * MINUTE), undefined, 'a password user\'s attributes are the operator\'s');
    assert.deepEqual(await store.users.get(env.id, local.id), local);
    assert.equal(await store.users.updateFederated(env.id, randomUUID(), attrs, NOW), undefined);
    const other = environment();
    await store.environments.create(other);
    assert.equal(await store.users.updateFederated(other.id, alice.id, attrs, NOW), undefined, 'another environment\'s user is not found');
  });
}

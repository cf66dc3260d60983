// Client authentication (RFC 6749 §2.3.1): none, client_secret_basic, client_secret_post.
//
// Secrets the server generated are stored as keyed hashes (SecretKeys.hashClientSecret) and checked
// in constant time: as cheap per poll as a public client's lookup. Clients created before that
// still hold a scrypt hash; it is checked once and replaced by the keyed hash at the first
// success. An unknown client with a secret is checked against a decoy of the same kind, so neither
// the answer nor its time says which confidential client ids exist; an unknown client without one
// is told so.
import { verifyPassword } from '../crypto/passwords.ts';
import { CLIENT_SECRET_PREFIX, type SecretKeys } from '../crypto/secret.ts';
import type { Client } from '../model/records.ts';
import type { ClientStore } from '../store/store.ts';
import { CoreError } from './errors.ts';

export interface ClientCredentials {
  /** Decoded `Authorization: Basic` credentials, when the header was sent. */
  basic?: { clientId: string; secret: string };
  /** `client_id` and `client_secret` from the form body. */
  clientId?: string;
  clientSecret?: string;
}

/**
 * The caller's budget of failed authentications (per source) and the named client's request
 * budget, as the front end keys them. A request that presents a secret `take`s one failure before
 * the secret is checked and `giveBack`s it when the secret was right, so a concurrent burst cannot
 * all pass one look at the count (each take is one atomic step of the counter); a request without
 * a secret costs no hashing, so it only `check`s and, when it fails, counts the failure (`failed`).
 * Each throws rate_limited when the budget is spent. The engine decides what a failure is; the
 * front end decides whose budget it is.
 */
export interface CallerBudget {
  take(): Promise<void>;
  giveBack(): Promise<void>;
  check(): Promise<void>;
  failed(): Promise<void>;
  /** Refuses a client that has spent its own request budget, before its secret is checked. */
  beforeSecret(client: Client): Promise<void>;
}

export interface ClientAuthDeps {
  clients: ClientStore;
  secrets: SecretKeys;
}

export const TOKEN_ENDPOINT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;

/** One answer for an unknown client and a wrong secret, so neither reveals which confidential client ids exist. */
const REFUSED = 'client authentication failed';

/** Compared against when the client is unknown: a well-formed keyed hash that no secret matches. */
const DECOY = CLIENT_SECRET_PREFIX + Buffer.alloc(32).toString('base64url');

export async function authenticateClient(deps: ClientAuthDeps, envId: string, creds: ClientCredentials, budget: CallerBudget): Promise<Client> {
  const usedBasic = creds.basic !== undefined;
  if (creds.basic && creds.clientSecret !== undefined) {
    throw new CoreError('invalid_request', 'use one client authentication method, not two');
  }
  if (creds.basic && creds.clientId !== undefined && creds.clientId !== creds.basic.clientId) {
    throw new CoreError('invalid_request', 'client_id does not match the Authorization header');
  }
  const clientId = creds.basic?.clientId ?? creds.clientId;
  if (clientId === undefined || clientId === '') throw new CoreError('invalid_client', 'client authentication is required', { usedBasic });
  const secret = creds.basic?.secret ?? creds.clientSecret;
  // Only a non-empty secret is ever hashed: that is the work the budget is taken for.
  const reserved = secret !== undefined && secret !== '';

  if (reserved) await budget.take();
  else await budget.check();
  let authenticated = false;
  try {
    const client = await verify(deps, envId, clientId, secret, usedBasic, budget);
    authenticated = true;
    return client;
  } catch (err) {
    if (!reserved && err instanceof CoreError && err.code === 'invalid_client') await budget.failed();
    throw err;
  } finally {
    if (authenticated && reserved) await budget.giveBack();
  }
}

async function verify(deps: ClientAuthDeps, envId: string, clientId: string, secret: string | undefined, usedBasic: boolean, budget: CallerBudget): Promise<Client> {
  const refused = (description = REFUSED) => new CoreError('invalid_client', description, { usedBasic });
  const client = await deps.clients.get(envId, clientId);
  if (!client) {
    if (secret !== undefined && secret !== '') {
      deps.secrets.matchesClientSecret(secret, DECOY);
      throw refused();
    }
    // Without a secret there is nothing to guess: a public client's id ships in every copy of its
    // app, and an existing confidential client asked without its secret says so itself. Naming the
    // mistake (a typo, another environment's client) is what helps the integrator.
    throw refused(`unknown client_id: ${clientId.slice(0, 200)} (no client has this id in this environment)`);
  }
  if (client.type === 'public') {
    if (secret !== undefined && secret !== '') throw refused('this client is public and has no secret');
    return client;
  }
  const stored = client.secretHash;
  if (secret === undefined || stored === null) throw refused('this client must authenticate with its secret');
  if (secret === '') throw refused();
  await budget.beforeSecret(client);
  if (stored.startsWith(CLIENT_SECRET_PREFIX)) {
    if (!deps.secrets.matchesClientSecret(secret, stored)) throw refused();
    return client;
  }
  // A hash from before keyed hashes (scrypt): checked this once, then replaced. Only a change from
  // this very hash is written, so a concurrent rewrite (or a secret changed meanwhile) wins.
  if (!(await verifyPassword(secret, stored))) throw refused();
  const rehashed = deps.secrets.hashClientSecret(secret);
  await deps.clients.setSecretHash(envId, clientId, stored, rehashed);
  return { ...client, secretHash: rehashed };
}

// Client authentication (RFC 6749 §2.3.1): none, client_secret_basic, client_secret_post.
import { decoyHash, SECRET_COST, verifyPassword } from '../crypto/passwords.ts';
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
 * The caller's budgets (docs/architecture.md), consulted before any secret is hashed: `beforeAttempt` throws
 * when the source has failed too often, `beforeSecret` when the named client has spent its own
 * budget; `failed` counts an unknown client or a wrong secret. The engine decides what a failure
 * is; the front end decides whose budget it is.
 */
export interface CallerBudget {
  beforeAttempt(): Promise<void>;
  beforeSecret(client: Client): Promise<void>;
  failed(): Promise<void>;
}

export const TOKEN_ENDPOINT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;

/** One answer for an unknown client and a wrong secret, so neither reveals which client ids exist. */
const REFUSED = 'client authentication failed';

export async function authenticateClient(clients: ClientStore, envId: string, creds: ClientCredentials, budget: CallerBudget): Promise<Client> {
  const usedBasic = creds.basic !== undefined;
  const fail = async (description = REFUSED) => {
    await budget.failed();
    return new CoreError('invalid_client', description, { usedBasic });
  };
  if (creds.basic && creds.clientSecret !== undefined) {
    throw new CoreError('invalid_request', 'use one client authentication method, not two');
  }
  if (creds.basic && creds.clientId !== undefined && creds.clientId !== creds.basic.clientId) {
    throw new CoreError('invalid_request', 'client_id does not match the Authorization header');
  }
  const clientId = creds.basic?.clientId ?? creds.clientId;
  if (clientId === undefined || clientId === '') throw new CoreError('invalid_client', 'client authentication is required', { usedBasic });
  const secret = creds.basic?.secret ?? creds.clientSecret;

  await budget.beforeAttempt();
  const client = await clients.get(envId, clientId);
  if (!client) {
    // Spend the same time as a real secret check so the response time does not reveal client ids.
    if (secret !== undefined) await verifyPassword(secret, await decoyHash(SECRET_COST));
    throw await fail();
  }
  if (client.type === 'public') {
    if (secret !== undefined && secret !== '') throw await fail('this client is public and has no secret');
    return client;
  }
  if (secret === undefined || client.secretHash === null) throw await fail('this client must authenticate with its secret');
  await budget.beforeSecret(client);
  if (!(await verifyPassword(secret, client.secretHash))) throw await fail();
  return client;
}

// Client authentication (RFC 6749 §2.3.1): none, client_secret_basic, client_secret_post.
import { decoyHash, verifyPassword } from '../crypto/passwords.ts';
import type { ClientStore } from '../store/store.ts';
import { CoreError } from './errors.ts';
import type { Client } from '../model/records.ts';

export interface ClientCredentials {
  /** Decoded `Authorization: Basic` credentials, when the header was sent. */
  basic?: { clientId: string; secret: string };
  /** `client_id` and `client_secret` from the form body. */
  clientId?: string;
  clientSecret?: string;
}

export const TOKEN_ENDPOINT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;

export async function authenticateClient(clients: ClientStore, envId: string, creds: ClientCredentials): Promise<Client> {
  const usedBasic = creds.basic !== undefined;
  const fail = (description: string) => new CoreError('invalid_client', description, { usedBasic });
  if (creds.basic && creds.clientSecret !== undefined) {
    throw new CoreError('invalid_request', 'use one client authentication method, not two');
  }
  if (creds.basic && creds.clientId !== undefined && creds.clientId !== creds.basic.clientId) {
    throw new CoreError('invalid_request', 'client_id does not match the Authorization header');
  }
  const clientId = creds.basic?.clientId ?? creds.clientId;
  if (clientId === undefined || clientId === '') throw fail('client authentication is required');
  const secret = creds.basic?.secret ?? creds.clientSecret;

  const client = await clients.get(envId, clientId);
  if (!client) {
    // Spend the same time as a real secret check so the response time does not reveal client ids.
    if (secret !== undefined) await verifyPassword(secret, await decoyHash());
    throw fail('unknown client');
  }
  if (client.type === 'public') {
    if (secret !== undefined && secret !== '') throw fail('this client is public and has no secret');
    return client;
  }
  if (secret === undefined || client.secretHash === null) throw fail('this client must authenticate with its secret');
  if (!(await verifyPassword(secret, client.secretHash))) throw fail('client authentication failed');
  return client;
}

// The canonical caller of an OAuth request and its budgets (docs/architecture.md). The client is identified
// after its credentials are decoded, however they were sent (form body, Basic in any spelling or
// percent-encoding), so every spelling is the same caller; the key holds the environment, not the
// path, so the root and /{envID}/as/… share one budget. Confidential clients are one caller
// wherever they call from; public clients share their id with every device, so the source counts
// too. Unknown clients and wrong secrets are counted per source, and refused before any hashing.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticateClient } from '../../core/client-auth.ts';
import type { RateLimiter } from '../../core/limiter.ts';
import { mustHaveBudget, sourceKey, spend } from '../../http/rate-limit.ts';
import type { Client, Environment } from '../../model/records.ts';
import type { Services } from '../../services.ts';
import { clientCredentials } from './credentials.ts';

export function callerKey(client: Client, source: string): string {
  return client.type === 'confidential' ? `${client.envId}|${client.clientId}` : `${client.envId}|${client.clientId}|${source}`;
}

export async function authenticatedCaller(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  env: Environment,
  body: { client_id?: string | undefined; client_secret?: string | undefined },
  limiter: RateLimiter,
): Promise<Client> {
  const source = sourceKey(request);
  const failures = services.limits.clientAuthFailures;
  const client = await authenticateClient(services.store.clients, env.id, clientCredentials(request, body), {
    beforeAttempt: () => mustHaveBudget(reply, failures, source),
    // A spent client is refused before its secret is hashed; peeking does not let others spend it.
    beforeSecret: (named) => mustHaveBudget(reply, limiter, callerKey(named, source)),
    failed: async () => { await failures.hit(source); },
  });
  await spend(reply, limiter, callerKey(client, source));
  return client;
}

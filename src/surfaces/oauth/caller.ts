// The canonical caller of an OAuth request and its budgets. The client is identified after its
// credentials are decoded, however they were sent (form body, Basic in any spelling or
// percent-encoding), so every spelling is the same caller; the key holds the environment, not the
// path, so the root and /{envID}/as/… share one budget. Confidential clients are one caller
// wherever they call from; public clients share their id with every device, so the source counts
// too. Unknown clients and wrong secrets are counted per source, and refused before any hashing:
// a request with a secret takes its failure up front and gives it back on success.
//
// `authenticateCaller` is a route preHandler: it runs after the body is parsed and before the
// route's rate limit (`callerLimit`), whose key is the caller it found (request.oauthClient).
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { authenticateClient } from '../../core/client-auth.ts';
import type { RateLimiter } from '../../core/limiter.ts';
import { limitBy, mustHaveBudget, reserve, sourceKey, type RouteLimit } from '../../http/rate-limit.ts';
import type { Client } from '../../model/records.ts';
import type { Services } from '../../services.ts';
import { clientCredentials } from './credentials.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated OAuth client (routes with `authenticateCaller` only). */
    oauthClient: Client | null;
  }
}

export function callerKey(client: Client, source: string): string {
  return client.type === 'confidential' ? `${client.envId}|${client.clientId}` : `${client.envId}|${client.clientId}|${source}`;
}

/** Declares request.oauthClient (once, in the OAuth plugin). */
export function decorateCaller(app: FastifyInstance): void {
  app.decorateRequest('oauthClient', null);
}

/** The client `authenticateCaller` found for this request. */
export function callerOf(request: FastifyRequest): Client {
  const client = request.oauthClient;
  if (client === null) throw new Error(`no client was authenticated for ${request.routeOptions.url ?? request.url}`);
  return client;
}

/**
 * Authenticates the client of a form-bodied OAuth request in the request's environment. A client
 * that has spent `limiter` (the route's request limit) is refused before its secret is checked.
 */
export function authenticateCaller(services: Services, limiter: RateLimiter): preHandlerAsyncHookHandler {
  const failures = services.limits.clientAuthFailures;
  const deps = { clients: services.store.clients, secrets: services.secrets };
  return async (request, reply) => {
    const source = sourceKey(request);
    const body = request.body as { client_id?: string | undefined; client_secret?: string | undefined };
    request.oauthClient = await authenticateClient(deps, request.env.id, clientCredentials(request, body), {
      take: () => reserve(reply, failures, source),
      giveBack: () => failures.refund(source),
      check: () => mustHaveBudget(reply, failures, source),
      failed: async () => { await failures.hit(source); },
      // A spent client is refused before its secret is checked; peeking does not let others spend it.
      beforeSecret: (named) => mustHaveBudget(reply, limiter, callerKey(named, source)),
    });
  };
}

/** The route's request limit, per authenticated caller (after `authenticateCaller`). */
export function callerLimit(limiter: RateLimiter): RouteLimit {
  return limitBy(limiter, (request) => callerKey(callerOf(request), sourceKey(request)), 'preHandler');
}

// Liveness, readiness, metrics, the OpenAPI document and its UI (docs.ts), and the landing page (landing.ts).
import { timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CoreError } from '../../core/errors.ts';
import { described, errorResponses, security } from '../../http/api-doc.ts';
import { bearerToken } from '../../http/bearer.ts';
import { limitBy, sourceKey } from '../../http/rate-limit.ts';
import { ownWireFormat, type ErrorSender } from '../../http/wire-format.ts';
import type { Services } from '../../services.ts';
import { oauthError } from '../oauth/schemas.ts';
import { docsRoutes } from './docs.ts';
import { landingRoutes } from './landing.ts';

export interface Lifecycle {
  /** Set by the launcher on SIGTERM/SIGINT: readiness fails so load balancers drain this instance. */
  shuttingDown: boolean;
}

/** The checked-in document `npm run openapi` writes (scripts/openapi.ts). */
export const OPENAPI_FILE = fileURLToPath(new URL('../../../openapi.yaml', import.meta.url));

/** Errors here are in the server's native format, the OAuth one. */
const nativeErrors = (statuses: Parameters<typeof errorResponses>[1], says: Parameters<typeof errorResponses>[2] = {}) =>
  errorResponses(described(oauthError), statuses, says);

/** Constant-time comparison of a presented bearer token with the configured one. */
function sameToken(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const status = z
  .object({
    status: z.enum(['ok', 'ready', 'degraded', 'not ready']),
    checks: z.record(z.string(), z.boolean()).optional().describe('database, migrations, keys, accepting; with REDIS_URL, redis'),
  })
  .meta({ id: 'Health', description: 'The state of this instance' });

/** Health, readiness and docs: they answer errors in the server's native format, which app.ts hands in. */
export const opsPlugin: FastifyPluginAsync<{ services: Services; lifecycle: Lifecycle; sendError: ErrorSender }> = async (app, { services, lifecycle, sendError }) => {
  await ownWireFormat(app, sendError, []);
  const r = app.withTypeProvider<ZodTypeProvider>();

  // Probes and scrapes come every few seconds: they are logged at debug, not info (app.ts).
  r.get('/healthz', {
    schema: {
      tags: ['ops'], operationId: 'getHealth', summary: 'Liveness: the process answers',
      response: { 200: status.meta({ description: 'Alive: {"status": "ok"}' }) },
    },
    config: { probe: true },
    handler: () => ({ status: 'ok' as const }),
  });

  r.get('/readyz', {
    schema: {
      tags: ['ops'],
      operationId: 'getReadiness',
      summary: 'Readiness: database reachable, migrations applied, keys loaded (and, with REDIS_URL, whether Redis answers)',
      description: 'With REDIS_URL, an unreachable Redis is reported (checks.redis false, status degraded) without failing readiness: '
        + 'every instance shares it, so taking them all out of rotation would only turn a degraded service into none.',
      response: {
        200: status.meta({ description: 'Ready (status ready, or degraded when Redis is unreachable)' }),
        503: status.meta({ description: 'Not ready: a check failed, or the server is shutting down (accepting false)' }),
      },
    },
    config: { probe: true },
    handler: async (_request, reply) => {
      const checks: Record<string, boolean> = { database: false, migrations: false, keys: false, accepting: !lifecycle.shuttingDown };
      const redis = services.redis === undefined ? undefined : services.redis.ping();
      try {
        await services.store.ping();
        checks.database = true;
        checks.migrations = await services.store.isMigrated();
        checks.keys = (await services.keys.jwks(services.defaultEnv.id)).keys.length > 0;
      } catch (err) {
        reply.log.warn({ err }, 'readiness check failed');
      }
      const ok = Object.values(checks).every(Boolean);
      if (redis !== undefined) checks.redis = await redis;
      reply.header('cache-control', 'no-store');
      const state = !ok ? 'not ready' : checks.redis === false ? 'degraded' : 'ready';
      return reply.code(ok ? 200 : 503).send({ status: state, checks });
    },
  });

  // Health probes are not rate-limited (an orchestrator must never be throttled); the documentation is.
  await docsRoutes(app, services);
  landingRoutes(app, services);

  // Prometheus scrapes; with METRICS_TOKEN set only a bearer of that token may. Limited per source
  // like discovery, which also bounds guessing the token.
  r.get('/metrics', {
    schema: {
      tags: ['ops'],
      operationId: 'getMetrics',
      summary: 'Prometheus metrics (text exposition format); Authorization: Bearer <METRICS_TOKEN> when one is configured',
      security: security(['metricsToken'], { optional: true }),
      response: {
        200: { description: 'The metrics', content: { 'text/plain': { schema: z.string().describe('Prometheus text format 0.0.4') } } },
        ...nativeErrors([401, 429], { 401: 'invalid_token: METRICS_TOKEN is configured, and the request does not carry it' }),
      },
    },
    config: { rateLimit: limitBy(services.limits.discovery, sourceKey), probe: true },
    handler: async (request, reply) => {
      const expected = services.config.metricsToken;
      if (expected !== undefined && !sameToken(bearerToken(request), expected)) {
        throw new CoreError('invalid_token', 'a valid metrics token is required');
      }
      reply.header('cache-control', 'no-store');
      return reply.type(services.metrics.contentType).send(await services.metrics.render());
    },
  });
};

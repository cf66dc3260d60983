// Liveness, readiness, metrics and the OpenAPI document.
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CoreError } from '../../core/errors.ts';
import { bearerToken } from '../../http/bearer.ts';
import { limitBy, sourceKey } from '../../http/rate-limit.ts';
import { ownWireFormat, type ErrorSender } from '../../http/wire-format.ts';
import type { Services } from '../../services.ts';

export interface Lifecycle {
  /** Set by the launcher on SIGTERM/SIGINT: readiness fails so load balancers drain this instance. */
  shuttingDown: boolean;
}

export const OPENAPI_FILE = fileURLToPath(new URL('../../../openapi.yaml', import.meta.url));

/** The native error body, as the OAuth front end sends it. */
const nativeError = z.object({ error: z.string(), error_description: z.string().optional() });

/** Constant-time comparison of a presented bearer token with the configured one. */
function sameToken(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const status = z.object({ status: z.string(), checks: z.record(z.string(), z.boolean()).optional() }).meta({ id: 'Health' });

/** Health, readiness and docs: they answer errors in the server's native format, which app.ts hands in. */
export const opsPlugin: FastifyPluginAsync<{ services: Services; lifecycle: Lifecycle; sendError: ErrorSender }> = async (app, { services, lifecycle, sendError }) => {
  await ownWireFormat(app, sendError, []);
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/healthz', {
    schema: { tags: ['Operations'], summary: 'Liveness: the process answers', response: { 200: status } },
    handler: () => ({ status: 'ok' }),
  });

  r.get('/readyz', {
    schema: {
      tags: ['Operations'],
      summary: 'Readiness: database reachable, migrations applied, keys loaded (and, with REDIS_URL, whether Redis answers)',
      description: 'With REDIS_URL, an unreachable Redis is reported (checks.redis false, status degraded) without failing readiness: '
        + 'every instance shares it, so taking them all out of rotation would only turn a degraded service into none.',
      response: { 200: status, 503: status },
    },
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

  // Health probes are not rate-limited (an orchestrator must never be throttled); /docs is.
  r.get('/docs', {
    schema: {
      tags: ['Operations'],
      summary: 'This OpenAPI document (YAML)',
      response: { 200: { content: { 'application/yaml': { schema: z.string().describe('openapi.yaml') } } }, 429: nativeError },
    },
    config: { rateLimit: limitBy(services.limits.discovery, sourceKey) },
    handler: async (_request, reply) => {
      const yaml = await readFile(OPENAPI_FILE, 'utf8');
      return reply.type('application/yaml; charset=utf-8').send(yaml);
    },
  });

  // Prometheus scrapes; with METRICS_TOKEN set only a bearer of that token may. Limited per source
  // like discovery, which also bounds guessing the token.
  r.get('/metrics', {
    schema: {
      tags: ['Operations'],
      summary: 'Prometheus metrics (text exposition format); Authorization: Bearer <METRICS_TOKEN> when one is configured',
      response: {
        200: { content: { 'text/plain': { schema: z.string().describe('Prometheus text format 0.0.4') } } },
        401: nativeError,
        429: nativeError,
      },
    },
    config: { rateLimit: limitBy(services.limits.discovery, sourceKey) },
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

// buildApp: the one factory for production and tests. It wires the HTTP plumbing and the front ends
// around already-opened services; it never listens, reads the environment or handles signals.
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import {
  jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler,
} from 'fastify-type-provider-zod';
import { nanoid } from 'nanoid';
import { CoreError } from './core/errors.ts';
import { clientErrorHandler } from './http/client-error.ts';
import { toCoreError } from './http/errors.ts';
import { registerRateLimit } from './http/rate-limit.ts';
import type { Surface } from './http/surface.ts';
import type { Services } from './services.ts';
import { sendFlowError } from './surfaces/flows/errors.ts';
import { flowRoutes } from './surfaces/flows/routes.ts';
import { sendOAuthError } from './surfaces/oauth/errors.ts';
import { oauthRoutes } from './surfaces/oauth/routes.ts';
import { opsRoutes, type Lifecycle } from './surfaces/ops/routes.ts';
import { pageRoutes, sendPageError } from './surfaces/pages/routes.ts';

export interface AppOptions {
  services: Services;
  logger?: FastifyServerOptions['logger'];
  lifecycle?: Lifecycle;
}

export const APP_VERSION = '0.1.0';

/** The surface whose error format a request gets when no route matched. */
function surfaceForUrl(url: string): Surface {
  const path = url.split('?')[0] ?? '';
  if (/^\/[^/]+\/flows(\/|$)/.test(path)) return 'flows';
  if (/^(\/[^/]+)?\/(device|signon)(\/|$)/.test(path)) return 'page';
  return 'oauth';
}

function sendError(request: FastifyRequest, reply: FastifyReply, err: CoreError, services: Services): FastifyReply {
  if (err.details.retryAfter !== undefined) reply.header('retry-after', String(err.details.retryAfter));
  const surface = request.routeOptions.config.surface ?? surfaceForUrl(request.url);
  switch (surface) {
    case 'oauth':
    case 'ops':
      return sendOAuthError(reply, err, services.config.publicUrl);
    case 'flows':
      return sendFlowError(request, reply, err);
    case 'page':
      return sendPageError(request, reply, err);
  }
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { services } = opts;
  const config = services.config;
  const lifecycle = opts.lifecycle ?? { shuttingDown: false };
  const hops = config.trustProxy;
  const app: FastifyInstance = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: config.bodyLimit,
    // A hop count trusts that many proxies nearest to us (proxy-addr's numeric form).
    trustProxy: typeof hops === 'number' ? (_addr: string, i: number) => i < hops : hops,
    genReqId: () => nanoid(12),
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    clientErrorHandler,
    // A malformed or oversized path is refused before routing; without this Fastify answers in its own format.
    frameworkErrors: (error, request, reply) => {
      void sendError(request, reply, toCoreError(error), services);
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(formbody, { bodyLimit: config.bodyLimit });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'device-code-server',
        version: APP_VERSION,
        description: 'OAuth 2.0 Device Authorization Grant (RFC 8628) server. Errors on OAuth endpoints use the RFC 6749 §5.2 format.',
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await registerRateLimit(app);

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const err = toCoreError(error);
    if (err.code === 'server_error') request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: err.code }, 'request refused');
    return sendError(request, reply, err, services);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new CoreError('route_not_found', `no such endpoint: ${request.method} ${request.url.split('?')[0] ?? ''}`), services),
  );

  oauthRoutes(app, services);
  flowRoutes(app, services);
  pageRoutes(app, services);
  opsRoutes(app, services, lifecycle);
  return app;
}

// buildApp: the one factory for production and tests. It wires the HTTP plumbing and the front ends
// around already-opened services; it never listens, reads the environment or handles signals.
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import {
  jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler,
} from 'fastify-type-provider-zod';
import { nanoid } from 'nanoid';
import { API_TAGS, describeResponses, SECURITY_SCHEMES } from './http/api-doc.ts';
import { browserFacing } from './http/browser.ts';
import { clientErrorHandler } from './http/client-error.ts';
import { decorateEnvironment } from './http/environment.ts';
import { RequestLog } from './http/logging.ts';
import { registerRateLimits } from './http/rate-limit.ts';
import { answerError, notFoundError, WireFormats } from './http/wire-format.ts';
import type { Services } from './services.ts';
import { flowApiPlugin } from './surfaces/flows/routes.ts';
import { oauthErrorSender } from './surfaces/oauth/errors.ts';
import { oauthPlugin } from './surfaces/oauth/routes.ts';
import { opsPlugin, type Lifecycle } from './surfaces/ops/routes.ts';
import { pagePlugin } from './surfaces/pages/routes.ts';
import { rsaPlugin } from './surfaces/rsa/routes.ts';
import { veeamPlugin } from './surfaces/veeam/routes.ts';

export interface AppOptions {
  services: Services;
  logger?: FastifyServerOptions['logger'];
  lifecycle?: Lifecycle;
}

export const APP_VERSION = '0.1.0';

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { services } = opts;
  const config = services.config;
  const lifecycle = opts.lifecycle ?? { shuttingDown: false };
  const hops = config.trustProxy;
  // The RFC 6749 format answers whatever no front end claims: unknown paths, framework errors.
  const native = oauthErrorSender(config.publicUrl);
  // Filled by the front ends as they register: which prefix answers in which shape.
  const formats = new WireFormats(native);
  const app: FastifyInstance = Fastify({
    logger: opts.logger ?? false,
    // One line per request, at debug for probes (http/logging.ts).
    logController: new RequestLog(),
    bodyLimit: config.bodyLimit,
    // A hop count trusts that many proxies nearest to us (proxy-addr's numeric form).
    trustProxy: typeof hops === 'number' ? (_addr: string, i: number) => i < hops : hops,
    genReqId: () => nanoid(12),
    return503OnClosing: true,
    // Duplicate slashes are ignored: RSA key files end adminRestApiUrl with one, and clients add another.
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 200 },
    clientErrorHandler: clientErrorHandler(formats),
    // A malformed or oversized path is refused before routing: it gets the shape of the front end
    // whose prefix it names, else the server's native format (Fastify would answer in its own).
    frameworkErrors: (error, request, reply) => {
      void answerError(request, reply, error, formats.sender(request.url));
    },
  });
  app.decorate('wireFormats', formats);
  decorateEnvironment(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'device-code-server',
        version: APP_VERSION,
        description: 'OAuth 2.0 Device Authorization Grant (RFC 8628) server, with PingOne-, Veeam- and RSA-compatible front ends. '
          + 'Each front end is a tag and answers errors in its own format; OAuth endpoints use RFC 6749 §5.2.',
      },
      // The server as PUBLIC_URL names it: the checked-in openapi.yaml carries the default, /openapi.yaml this server's.
      servers: [{ url: config.publicUrl, description: 'PUBLIC_URL' }],
      tags: API_TAGS.map((t) => ({ ...t })),
      components: { securitySchemes: structuredClone(SECURITY_SCHEMES) },
    },
    transform: jsonSchemaTransform,
    transformObject: (doc) => describeResponses(jsonSchemaTransformObject(doc)),
  });

  const hsts = config.publicUrl.startsWith('https:');
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    // Served over https (as PUBLIC_URL says), browsers must keep to https (RFC 6797).
    if (hsts) reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
    done();
  });
  // Requests by route template (bounded labels: unknown paths are one `unmatched` route).
  app.addHook('onResponse', (request, reply, done) => {
    services.metrics.request(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  // Fastify picks a prefix's not-found handler (and so its error handler, for the body of a request
  // to nowhere) by the raw URL, so one with duplicate slashes, which the router ignores
  // (`///device/x`), lands here: it still gets the shape of the front end whose path it names.
  app.setErrorHandler((error, request, reply) => answerError(request, reply, error, formats.sender(request.url)));
  app.setNotFoundHandler((request, reply) => answerError(request, reply, notFoundError(request), formats.sender(request.url)));

  const redis = services.redis;
  if (redis) {
    // An outage is logged when it starts and when it ends, not once per request. Only the message
    // of Redis's error: ioredis attaches the failed command, arguments and all (AUTH's password).
    const unsubscribe = redis.onChange((up, err) => {
      if (up) app.log.info({ redis: redis.address }, 'redis answers: rate limits and the wrong-code budget are shared');
      else app.log.error({ redis: redis.address, reason: err?.message }, 'redis unreachable: rate limits count per instance, and user and registration codes are refused (503) until it is back');
    });
    app.addHook('onClose', (_instance, done) => { unsubscribe(); done(); });
    // Commands are not queued while the connection is down, so it is made before the first request.
    app.addHook('onReady', () => redis.connect());
  }

  // Routes opt in with config.rateLimit (http/rate-limit.ts); refusals reach each front end's error handler.
  // A refusal is a limit.exhausted audit event (sampled), filed under the default environment: most
  // limits are checked before a route has resolved its own. It never fails the request.
  await registerRateLimits(app, (_request, limiter, caller) => {
    void services.audit.limitExhausted(services.defaultEnv.id, limiter.rule.name ?? 'request_rate', caller, limiter.rule.windowSeconds, null);
  });

  // One encapsulated plugin per front end: each owns its routes, parsers and wire format.
  await app.register(oauthPlugin, { services });
  // The page and the flow API share the browser-binding cookie (http/browser.ts).
  await app.register(browserFacing(config.publicUrl, async (scope) => {
    await scope.register(pagePlugin, { services });
    await scope.register(flowApiPlugin, { services });
  }));
  await app.register(veeamPlugin, { services });
  await app.register(rsaPlugin, { services });
  await app.register(opsPlugin, { services, lifecycle, sendError: native });
  return app;
}

// The API contract, served: /openapi.yaml and /openapi.json are the document generated from the
// route schemas (the checked-in openapi.yaml, with this server's PUBLIC_URL as its server), and
// /docs renders it with Swagger UI (@fastify/swagger-ui), whose scripts and styles this server
// serves itself under /docs/static/. All of it is limited per source like discovery.
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { described, errorResponses } from '../../http/api-doc.ts';
import { limitBy, sourceKey } from '../../http/rate-limit.ts';
import type { Services } from '../../services.ts';
import { oauthError } from '../oauth/schemas.ts';

export const DOCS_PATH = '/docs';

/**
 * Swagger UI needs its own scripts, styles and images (its icons are data: URIs), and fetches the
 * document from /docs/json; "Try it out" calls the server PUBLIC_URL names. Nothing inline runs,
 * nothing loads from elsewhere, no page may frame it.
 */
export function docsCsp(publicUrl: string): string {
  const api = new URL(publicUrl).origin;
  return [
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", `connect-src 'self' ${api}`,
    "font-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join('; ');
}

const openApiDocument = z
  .looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) })
  .meta({ id: 'OpenApiDocument', description: 'This OpenAPI 3.1 document' });

export async function docsRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const limited = limitBy(services.limits.discovery, sourceKey);
  const tooMany = () => errorResponses(described(oauthError), [429]);
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/openapi.yaml', {
    schema: {
      tags: ['ops'],
      operationId: 'getOpenApiYaml',
      summary: 'This OpenAPI document (YAML)',
      response: { 200: { description: 'openapi.yaml, with this server\'s PUBLIC_URL under servers', content: { 'application/yaml': { schema: z.string() } } }, ...tooMany() },
    },
    config: { rateLimit: limited },
    handler: async (_request, reply) => reply.type('application/yaml; charset=utf-8').send(app.swagger({ yaml: true })),
  });

  // Untyped: the body is the document already serialised, not an object for the serialiser to walk again.
  app.get('/openapi.json', {
    schema: {
      tags: ['ops'],
      operationId: 'getOpenApiJson',
      summary: 'This OpenAPI document (JSON)',
      response: { 200: { description: 'The document of /openapi.yaml as JSON', content: { 'application/json': { schema: openApiDocument } } }, ...tooMany() },
    },
    config: { rateLimit: limited },
    handler: async (_request, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(app.swagger())),
  });

  await app.register(async (docs) => {
    // Swagger UI's own routes, its static files included, share the budget.
    docs.addHook('onRequest', docs.rateLimit(limited));
    // The plugin hides its routes from the document; its page is an operation of the document all the same.
    docs.addHook('onRoute', (route) => {
      if (route.method !== 'GET' || route.url !== DOCS_PATH) return;
      route.schema = {
        tags: ['ops'],
        operationId: 'getApiDocs',
        summary: 'API documentation: this document rendered by Swagger UI',
        description: 'Swagger UI, served from this server (no third party); its assets are under /docs/static/ and it reads the document from /docs/json.',
        response: {
          200: { description: 'HTML: Swagger UI', content: { 'text/html': { schema: z.string() } } },
          ...tooMany(),
        },
      };
    });
    await docs.register(swaggerUi, {
      routePrefix: DOCS_PATH,
      staticCSP: docsCsp(services.config.publicUrl),
      // The operationIds are what generated clients call; the validator badge would call a third party. No top bar:
      // its box loads other documents, and its logo is an SVG with an inline style this CSP refuses.
      uiConfig: { layout: 'BaseLayout', displayOperationId: true, deepLinking: true, defaultModelsExpandDepth: 0 },
      validatorUrl: false,
      theme: { title: 'device-code-server API' },
    });
  });
}

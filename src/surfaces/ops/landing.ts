// GET /: what this server is and where to go. A browser (Accept naming text/html) gets the landing
// page in the verification page's style; anything else gets the same links as JSON.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, described } from '../../http/api-doc.ts';
import { limitBy, sourceKey } from '../../http/rate-limit.ts';
import type { Services } from '../../services.ts';
import { DatabaseUnavailableError } from '../../store/store.ts';
import { environmentFor } from '../../http/environment.ts';
import { pageContext } from '../pages/context.ts';
import { sendPage } from '../pages/errors.ts';
import { landingPage, type LandingLinks } from '../pages/landing.ts';
import { oauthError } from '../oauth/schemas.ts';

const landing = z
  .object({
    issuer: z.string().describe('PUBLIC_URL: the default environment\'s issuer'),
    links: z.object({
      device: z.string().describe('The verification page, where people enter a code'),
      openidConfiguration: z.string().describe('OpenID Connect Discovery'),
      authorizationServerMetadata: z.string().describe('RFC 8414 metadata'),
      docs: z.string().describe('The API documentation (HTML)'),
      openapiYaml: z.string(),
      openapiJson: z.string(),
    }) satisfies z.ZodType<LandingLinks>,
  })
  .meta({
    id: 'Landing',
    description: 'Where to go: the verification page, discovery and the API documentation',
    examples: [{
      issuer: 'http://127.0.0.1:3000',
      links: {
        device: 'http://127.0.0.1:3000/device',
        openidConfiguration: 'http://127.0.0.1:3000/.well-known/openid-configuration',
        authorizationServerMetadata: 'http://127.0.0.1:3000/.well-known/oauth-authorization-server',
        docs: 'http://127.0.0.1:3000/docs',
        openapiYaml: 'http://127.0.0.1:3000/openapi.yaml',
        openapiJson: 'http://127.0.0.1:3000/openapi.json',
      },
    }],
  });

/**
 * Whether Accept (RFC 9110 §12.5.1) ranks text/html above application/json. Browsers name text/html;
 * programs name JSON, or nothing, or anything (a wildcard chooses neither).
 */
export function prefersHtml(accept: string | undefined): boolean {
  let html = 0;
  let json = 0;
  for (const range of (accept ?? '').toLowerCase().split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim());
    const q = params.find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (!Number.isFinite(weight)) continue;
    if (type === 'text/html') html = Math.max(html, weight);
    else if (type === 'application/json') json = Math.max(json, weight);
  }
  return html > json;
}

export function landingRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const base = services.config.publicUrl;
  const links: LandingLinks = {
    device: `${base}/device`,
    openidConfiguration: `${base}/.well-known/openid-configuration`,
    authorizationServerMetadata: `${base}/.well-known/oauth-authorization-server`,
    docs: `${base}/docs`,
    openapiYaml: `${base}/openapi.yaml`,
    openapiJson: `${base}/openapi.json`,
  };
  const body = { issuer: base, links };

  r.get('/', {
    schema: {
      tags: ['ops'],
      operationId: 'getLanding',
      summary: 'Landing page: links to the verification page, discovery and the API documentation',
      description: 'HTML when Accept ranks text/html above application/json (a browser); JSON otherwise. Vary: Accept.',
      response: {
        200: {
          description: 'The links, as a page in the verification page\'s style or as JSON',
          content: { 'text/html': { schema: z.string().describe('HTML') }, 'application/json': { schema: landing } },
        },
        ...errorResponses(described(oauthError), [429]),
      },
    },
    config: { rateLimit: limitBy(services.limits.discovery, sourceKey) },
    handler: async (request, reply) => {
      reply.header('vary', 'Accept');
      if (prefersHtml(request.headers.accept)) {
        // The root belongs to the default environment: its branding, read now like the page reads it.
        // While the database cannot answer, the branding read at start: the page only points elsewhere.
        const env = await environmentFor(services, undefined, true).catch((err: unknown) => {
          if (err instanceof DatabaseUnavailableError) return services.defaultEnv;
          throw err;
        });
        const c = { ...pageContext(request, services.clock.now()), brand: env.branding };
        return sendPage(c, reply, 200, landingPage(c, links));
      }
      return reply.type('application/json; charset=utf-8').send(body);
    },
  });
}

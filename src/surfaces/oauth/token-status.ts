// RFC 7009 revocation and RFC 7662 introspection, at /oauth/revoke and /oauth/introspect (and per
// environment under /{envID}/as/). Clients authenticate as at the token endpoint, on its budget.
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CoreError } from '../../core/errors.ts';
import { security } from '../../http/api-doc.ts';
import { FORM, requireFormBody } from '../../http/form.ts';
import type { Services } from '../../services.ts';
import { callerLimit, callerOf } from './caller.ts';
import { CLIENT_ERRORS, envParams, formParam, oauthErrorResponses } from './schemas.ts';

const tokenStatusBody = z.object({
  token: formParam.optional().describe('The refresh token (rt_…) or access token'),
  token_type_hint: formParam.optional().describe('refresh_token or access_token; a hint only'),
  client_id: formParam.optional(),
  client_secret: formParam.optional(),
});

const introspection = z
  .object({
    active: z.boolean(),
    token_type: z.string().optional(),
    client_id: z.string().optional(),
    scope: z.string().optional(),
    sub: z.string().optional(),
    username: z.string().optional(),
    iat: z.number().int().optional(),
    exp: z.number().int().optional(),
    iss: z.string().optional(),
    aud: z.array(z.string()).optional(),
    jti: z.string().optional(),
  })
  .meta({
    id: 'Introspection',
    description: 'RFC 7662 §2.2: {active: false} alone for anything inactive, unknown or not this client\'s to ask about',
    examples: [{ active: true, token_type: 'refresh_token', client_id: '0c8f1e2a-7b3d-4c5e-a6f9-1d2e3b4c5a6f', scope: 'openid offline_access', sub: '6d0f8a3e-2c4b-4a1d-9e7f-5b3c1a2d4e6f', username: 'alice', exp: 1767268800 }],
  });

function noStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  return Promise.resolve();
}

/** `authenticate`: the token endpoint's caller hook: revocation and introspection share its request limit. */
export function tokenStatusRoutes(
  app: FastifyInstance, services: Services, v: { prefix: string; suffix: string; params: boolean; authenticate: preHandlerAsyncHookHandler },
): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const errors = oauthErrorResponses([400, 401, 404, 413, 415, 429, 503], { ...CLIENT_ERRORS, 400: 'invalid_request: no token, or a malformed request' });
  const present = (token: string | undefined): string => {
    if (token === undefined || token === '') throw new CoreError('invalid_request', 'missing required parameter: token');
    return token;
  };

  r.post(`${v.prefix}/revoke`, {
    schema: {
      tags: ['oauth'],
      operationId: `revokeToken${v.suffix}`,
      summary: 'Token revocation (RFC 7009): a refresh token ends its grant; an access token is refused until it expires',
      security: security(['clientBasic'], { optional: true }),
      consumes: [FORM],
      ...(v.params ? { params: envParams } : {}),
      body: tokenStatusBody,
      // type null: no body at all (OpenAPI: no content).
      response: { 200: z.void().meta({ type: 'null', description: 'Always 200 with an empty body, whether or not the token was known (RFC 7009 §2.2)' }), ...errors },
    },
    onRequest: noStore,
    preValidation: requireFormBody,
    preHandler: v.authenticate,
    config: { rateLimit: callerLimit(services.limits.token) },
    handler: async (request, reply) => {
      const env = request.env;
      await services.tokenStatus.revoke(env, callerOf(request), present(request.body.token), services.urls.issuers(env));
      return reply.code(200).send();
    },
  });

  r.post(`${v.prefix}/introspect`, {
    schema: {
      tags: ['oauth'],
      operationId: `introspectToken${v.suffix}`,
      summary: 'Token introspection (RFC 7662), for confidential clients (resource servers)',
      // Confidential clients only: Basic, or client_secret_post in the body.
      security: security(['clientBasic'], { optional: true }),
      consumes: [FORM],
      ...(v.params ? { params: envParams } : {}),
      body: tokenStatusBody,
      response: { 200: introspection, ...errors },
    },
    onRequest: noStore,
    preValidation: requireFormBody,
    preHandler: v.authenticate,
    config: { rateLimit: callerLimit(services.limits.token) },
    handler: async (request) => {
      const env = request.env;
      return services.tokenStatus.introspect(env, callerOf(request), present(request.body.token), services.urls.issuers(env));
    },
  });
}

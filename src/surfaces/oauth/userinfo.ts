// UserInfo (OpenID Connect Core §5.3) at /oauth/userinfo and /{envID}/as/userinfo: the person an
// access token of this environment speaks for, with the claims its scope releases. A bearer
// resource (RFC 6750): the token comes in the Authorization header, or for POST in the form body,
// never both and never in the URL; every refusal carries a Bearer challenge. Limited per token
// subject (a failed authentication per source address).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CoreError } from '../../core/errors.ts';
import { security } from '../../http/api-doc.ts';
import { bearerGuard, bearerToken } from '../../http/bearer.ts';
import { FORM, optionalFormBody } from '../../http/form.ts';
import { limitBy } from '../../http/rate-limit.ts';
import type { Services } from '../../services.ts';
import { envParams, formParam, oauthErrorResponses } from './schemas.ts';

const userInfoResponse = z
  .object({
    sub: z.string().describe('The user id, as in the ID token and the access token'),
    name: z.string().optional(),
    given_name: z.string().optional(),
    family_name: z.string().optional(),
    preferred_username: z.string().optional(),
    updated_at: z.number().int().optional(),
    email: z.string().optional(),
    email_verified: z.boolean().optional(),
  })
  .meta({
    id: 'UserInfo',
    description: 'The claims of the scopes the token was granted: profile → name, given_name, family_name, preferred_username, updated_at; email → email, email_verified',
    examples: [{ sub: '6d0f8a3e-2c4b-4a1d-9e7f-5b3c1a2d4e6f', name: 'Alice Example', preferred_username: 'alice', email: 'alice@example.com', email_verified: true }],
  });

const userInfoBody = z.object({ access_token: formParam.optional().describe('The access token, when not sent in the Authorization header (RFC 6750 §2.2)') });

/** RFC 6750 §2: one way of sending the token, the header or (POST) the form body, never both. */
function userInfoToken(request: FastifyRequest): string {
  const inBody = (request.body as { access_token?: string } | undefined)?.access_token;
  if (inBody === undefined) return bearerToken(request);
  if (request.headers.authorization !== undefined) {
    throw new CoreError('invalid_request', 'send the access token in the Authorization header or the body, not both', { bearer: true });
  }
  if (inBody === '') throw new CoreError('invalid_token', 'an access token is required');
  return inBody;
}

export function userInfoRoutes(app: FastifyInstance, services: Services, v: { prefix: string; suffix: string; params: boolean }): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const guard = bearerGuard(
    (token, request) => services.tokenStatus.userInfo(request.env, token, services.urls.issuers(request.env)),
    (claims) => claims.sub,
    userInfoToken,
  );
  const route = {
    preHandler: guard.authenticate,
    config: { rateLimit: limitBy(services.limits.userInfo, guard.rateLimitKey, 'preHandler') },
    handler: (request: FastifyRequest, reply: FastifyReply) => {
      // The answer names a person: no cache may keep it (as token responses, RFC 6749 §5.1).
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return Promise.resolve(guard.principal(request));
    },
  };
  const says = {
    400: 'invalid_request: the token both in the header and in the body',
    401: 'invalid_token: no token, or one that is not active (expired, revoked, of an ended grant or a disabled user, of another environment, not an access token)',
    403: 'insufficient_scope: the token was not granted openid',
    404: 'No such environment',
  } as const;
  const errors = oauthErrorResponses(v.params ? [400, 401, 403, 404, 429, 503] : [400, 401, 403, 429, 503], says);
  const summary = 'UserInfo (OpenID Connect Core §5.3): the claims of the person the Bearer access token speaks for';
  const description = 'Authorization: Bearer <access token granted openid>. 401 invalid_token for anything inactive (expired, revoked, ended grant, disabled user, another environment\'s token, not an access token); 403 insufficient_scope without openid. Every refusal carries WWW-Authenticate: Bearer.';
  const params = v.params ? { params: envParams } : {};
  r.get(`${v.prefix}/userinfo`, {
    schema: { tags: ['oauth'], operationId: `getUserInfo${v.suffix}`, summary, description, security: security(['accessToken']), ...params, response: { 200: userInfoResponse, ...errors } },
    ...route,
  });
  r.post(`${v.prefix}/userinfo`, {
    schema: {
      tags: ['oauth'], operationId: `postUserInfo${v.suffix}`, summary, description: `${description} With POST the token may come in the form body instead (RFC 6750 §2.2).`,
      // The token in the body (RFC 6750 §2.2) needs no header.
      security: security(['accessToken'], { optional: true }), ...params, consumes: [FORM], body: userInfoBody.nullish(),
      response: { 200: userInfoResponse, ...errors, ...oauthErrorResponses([413, 415]) },
    },
    preValidation: optionalFormBody,
    ...route,
  });
}

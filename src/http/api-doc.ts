// What openapi.yaml holds besides each route's own schema: the front ends as tags, the ways callers
// authenticate as security schemes, and the words every error status shares. Each route names its
// tag, operationId, summary and security in its schema, so the document `npm run openapi` writes and
// the one the server serves at /openapi.yaml are generated from the same routes (README "API documentation").
import type { z } from 'zod';

/** One tag per front end: a code generator makes one client class of each. */
export const API_TAGS = [
  {
    name: 'oauth',
    description: 'Standard OAuth 2.0 and OpenID Connect: device authorization (RFC 8628), the token endpoint, revocation (RFC 7009), '
      + 'introspection (RFC 7662), UserInfo, JWKS and discovery (RFC 8414), at /oauth for the default environment and under /{envId}/as '
      + 'for every environment. Errors are RFC 6749 §5.2 JSON, which is also the format of paths no front end claims.',
  },
  {
    name: 'page',
    description: 'The verification page people open (RFC 8628 §3.3): /device starts a flow bound to the browser and redirects to /signon, '
      + 'which renders each step as HTML; sign-in through an identity provider; QR codes for device screens. Errors are HTML pages.',
  },
  {
    name: 'flows',
    description: 'The PingOne-compatible flow API for custom verification UIs: a flow started at /device is read and acted on by media type. '
      + 'Errors are PingOne\'s envelope.',
  },
  {
    name: 'veeam',
    description: 'The Veeam-compatible facade: session tokens by password grant, and getDeviceCode, whose device code polls the standard '
      + 'token endpoint. Errors are RFC 7807 application/problem+json with an OAuth error code.',
  },
  {
    name: 'rsa',
    description: 'The RSA-compatible admin API (bearer JWTs signed with an admin API key) and the authenticator app\'s redemption of a '
      + 'registration code. Errors are RSA\'s body {timestamp, status, error, message, path}.',
  },
  {
    name: 'ops',
    description: 'The landing page, liveness and readiness probes, Prometheus metrics, and this document (/docs, /openapi.yaml, /openapi.json).',
  },
] as const;

export type ApiTag = (typeof API_TAGS)[number]['name'];

/** How callers authenticate, as OpenAPI security schemes (components.securitySchemes). */
export const SECURITY_SCHEMES = {
  clientBasic: {
    type: 'http',
    scheme: 'basic',
    description: 'client_secret_basic (RFC 6749 §2.3.1): a confidential client\'s client_id and client_secret, each form-encoded. '
      + 'client_secret_post (both in the form body) is accepted instead; a public client sends only client_id in the body.',
  },
  accessToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from the token endpoint (a JWT of typ at+jwt), sent as RFC 6750 §2.1 says.',
  },
  veeamSession: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A Veeam session token (a JWT of typ session+jwt) from POST /api/oauth2/token of the same environment.',
  },
  rsaAdminJwt: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A short-lived RS256 JWT signed with an admin API key\'s private key: sub is the key\'s accessID, aud its adminRestApiUrl '
      + '(`device-code-server admin-key create` writes the key file).',
  },
  metricsToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'METRICS_TOKEN, when the server is configured with one; otherwise no authentication.',
  },
} as const;

export type SecurityScheme = keyof typeof SECURITY_SCHEMES;
type Requirement = Partial<Record<SecurityScheme, string[]>>;

/** An operation's security: any one of `schemes`; `optional` also allows none (a public client, an unset METRICS_TOKEN). */
export function security(schemes: readonly SecurityScheme[], o: { optional?: boolean } = {}): Requirement[] {
  return [...schemes.map((s) => ({ [s]: [] })), ...(o.optional === true ? [{}] : [])];
}

/** What an error status means wherever it is answered; a route says more where it knows more. */
const ERROR_MEANING: Record<number, string> = {
  400: 'The request is malformed or refused; the error body says why',
  401: 'Authentication is missing or failed',
  403: 'Authenticated, but not allowed',
  404: 'Not found: no such environment or resource',
  405: 'The path does not answer this method; Allow lists the methods it does',
  409: 'Conflict with the current state',
  413: 'The request body is too large',
  415: 'The request body is not of a media type this operation accepts',
  429: 'Too many requests; Retry-After says in how many seconds to try again (RateLimit-* headers)',
  500: 'An unexpected error, logged with the request id',
  503: 'Temporarily unavailable: the database cannot be reached (restarting, failing over) or is out of storage, or a code could '
    + 'not be checked (Redis unreachable); nothing changed; Retry-After',
};

export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 503;

/**
 * The error responses of a route: one entry per status, each described (`says` overrides the
 * shared meaning). `as` builds the response from its description: a zod schema (`schema.meta`),
 * or a content object for a media type other than JSON.
 */
export function errorResponses<R>(as: (description: string) => R, statuses: readonly ErrorStatus[], says: Partial<Record<ErrorStatus, string>> = {}): Record<number, R> {
  return Object.fromEntries(statuses.map((s) => [s, as(says[s] ?? ERROR_MEANING[s] ?? `HTTP ${s}`)]));
}

/** `as` for a JSON error schema: the schema with the response's description. */
export function described<S extends z.ZodType>(schema: S): (description: string) => S {
  return (description) => schema.meta({ description });
}

interface DocumentParts {
  paths?: Record<string, Record<string, { responses?: Record<string, { description?: string; content?: Record<string, { schema?: { $ref?: string } }> }> } | undefined> | undefined>;
  components?: { schemas?: Record<string, { description?: string } | boolean> };
}

const COMPONENT = '#/components/schemas/';

/**
 * Gives a response that names no description of its own the description of the component its body
 * is. @fastify/swagger means to do so itself, but the zod components join the document only after
 * it looked (in transformObject), so it writes "Default Response" instead.
 */
export function describeResponses<D>(doc: D): D {
  const parts = doc as DocumentParts;
  const schemas = parts.components?.schemas ?? {};
  for (const item of Object.values(parts.paths ?? {})) {
    for (const op of Object.values(item ?? {})) {
      for (const response of Object.values(op?.responses ?? {})) {
        if (response.description !== 'Default Response') continue;
        const ref = Object.values(response.content ?? {})[0]?.schema?.$ref;
        const component = ref?.startsWith(COMPONENT) === true ? schemas[ref.slice(COMPONENT.length)] : undefined;
        if (typeof component === 'object' && component.description !== undefined) response.description = component.description;
      }
    }
  }
  return doc;
}

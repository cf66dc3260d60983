// Request and response schemas of the OAuth surface: they validate input once at the edge, act as
// output allow-lists, and generate openapi.yaml.
import { z } from 'zod';
import { envIdParam, text } from '../../http/params.ts';

/** A form parameter: one value, bounded, no NUL bytes. Duplicates are refused before this runs. */
export const formParam = text(4096);

export const oauthError = z
  .object({
    error: z.string().describe('RFC 6749 §5.2 / RFC 8628 §3.5 error code'),
    error_description: z.string().optional(),
  })
  .meta({ id: 'OAuthError' });

export const deviceAuthorizationBody = z.object({
  client_id: formParam.optional().describe('Required unless the client authenticates with HTTP Basic'),
  client_secret: formParam.optional().describe('client_secret_post authentication (confidential clients)'),
  scope: formParam.optional().describe('Space-separated scopes; the client\'s allowed scopes when omitted'),
});

export const deviceAuthorizationResponse = z
  .object({
    device_code: z.string(),
    user_code: z.string().describe('Display form XXXX-XXXX'),
    verification_uri: z.string(),
    verification_uri_complete: z.string(),
    expires_in: z.number().int(),
    interval: z.number().int(),
  })
  .meta({ id: 'DeviceAuthorizationResponse' });

export const tokenBody = z.object({
  grant_type: formParam.describe('urn:ietf:params:oauth:grant-type:device_code or refresh_token'),
  device_code: formParam.optional().describe('device_code grant'),
  refresh_token: formParam.optional().describe('refresh_token grant'),
  scope: formParam.optional().describe('refresh_token grant: narrower than the grant\'s scope, or omitted'),
  client_id: formParam.optional(),
  client_secret: formParam.optional(),
});

export const tokenResponse = z
  .object({
    access_token: z.string().describe('JWT (typ at+jwt) signed with the environment\'s key'),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
    scope: z.string(),
    refresh_token: z.string().optional().describe('rt_…: when the client may use refresh tokens and offline_access was approved (or it always gets one)'),
    id_token: z.string().optional().describe('OpenID Connect ID token (typ JWT): when the scope holds openid; names the person who approved, with the claims of the approved scopes'),
  })
  .meta({ id: 'TokenResponse' });

export const metadataResponse = z
  .object({
    issuer: z.string(),
    device_authorization_endpoint: z.string(),
    token_endpoint: z.string(),
    jwks_uri: z.string(),
    revocation_endpoint: z.string(),
    introspection_endpoint: z.string(),
    revocation_endpoint_auth_methods_supported: z.array(z.string()),
    introspection_endpoint_auth_methods_supported: z.array(z.string()),
    grant_types_supported: z.array(z.string()),
    token_endpoint_auth_methods_supported: z.array(z.string()),
    scopes_supported: z.array(z.string()),
    response_types_supported: z.array(z.string()),
    token_endpoint_auth_signing_alg_values_supported: z.array(z.string()).optional(),
  })
  .meta({ id: 'AuthorizationServerMetadata' });

/** OpenID Connect Discovery 1.0 §3: the RFC 8414 metadata and what an OpenID Provider must say besides. */
export const openIdConfigurationResponse = metadataResponse
  .extend({
    userinfo_endpoint: z.string(),
    subject_types_supported: z.array(z.enum(['public'])),
    id_token_signing_alg_values_supported: z.array(z.string()),
    claims_supported: z.array(z.string()),
    acr_values_supported: z.array(z.string()),
    claims_parameter_supported: z.boolean(),
    request_parameter_supported: z.boolean(),
    request_uri_parameter_supported: z.boolean(),
  })
  .meta({ id: 'OpenIdConfiguration' });

export const jwksResponse = z
  .object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional() })) })
  .meta({ id: 'JSONWebKeySet' });

export const envParams = z.object({ envId: envIdParam });

export const oauthErrorResponses = {
  400: oauthError,
  401: oauthError,
  // insufficient_scope (RFC 6750 §3.1), at UserInfo.
  403: oauthError,
  404: oauthError,
  413: oauthError,
  415: oauthError,
  429: oauthError,
  // temporarily_unavailable with Retry-After: the database cannot store the write (a full disk).
  503: oauthError,
} as const;

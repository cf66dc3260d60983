// The RFC 6749 §5.2 wire format for every OAuth endpoint: {error, error_description} JSON. Also the
// server's native format, for paths no front end claims.
import type { CoreErrorCode } from '../../core/errors.ts';
import type { ErrorSender } from '../../http/wire-format.ts';

/** Every `error` this format answers (RFC 6749 §5.2, RFC 8628 §3.5, RFC 6750 §3.1): an enum in openapi.yaml. */
export const OAUTH_ERROR_CODES = [
  'invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type',
  'invalid_scope', 'authorization_pending', 'slow_down', 'access_denied', 'expired_token', 'invalid_token',
  'insufficient_scope', 'temporarily_unavailable', 'server_error',
] as const;
type OAuthError = (typeof OAUTH_ERROR_CODES)[number];

/** The error code on the wire, and the status where RFC 6749/8628 prescribe another than the default. */
const wire: Record<CoreErrorCode, OAuthError | [OAuthError, number]> = {
  invalid_request: 'invalid_request',
  invalid_client: 'invalid_client',
  invalid_grant: 'invalid_grant',
  unauthorized_client: 'unauthorized_client',
  unsupported_grant_type: 'unsupported_grant_type',
  invalid_scope: 'invalid_scope',
  authorization_pending: 'authorization_pending',
  slow_down: 'slow_down',
  // RFC 8628 §3.5: a token-endpoint error like the others.
  access_denied: ['access_denied', 400],
  expired_token: 'expired_token',
  invalid_token: 'invalid_token',
  insufficient_scope: 'insufficient_scope',
  forbidden: 'access_denied',
  not_found: 'invalid_request',
  conflict: 'invalid_request',
  invalid_credentials: 'invalid_request',
  sign_in_throttled: 'temporarily_unavailable',
  invalid_user_code: 'invalid_request',
  user_code_expired: 'invalid_request',
  user_code_used: 'invalid_request',
  too_many_attempts: 'invalid_request',
  network_mismatch: 'invalid_request',
  guess_budget_exhausted: 'temporarily_unavailable',
  flow_not_found: 'invalid_request',
  federation_failed: 'access_denied',
  flow_wrong_state: 'invalid_request',
  registration_refused: 'access_denied',
  invalid_registration_code: 'invalid_grant',
  route_not_found: 'invalid_request',
  method_not_allowed: 'invalid_request',
  unsupported_media_type: 'invalid_request',
  payload_too_large: 'invalid_request',
  rate_limited: 'temporarily_unavailable',
  storage_full: 'temporarily_unavailable',
  limits_unavailable: 'temporarily_unavailable',
  database_unavailable: 'temporarily_unavailable',
  server_error: 'server_error',
};

/** `realm` names this server in the Basic challenge of a failed client authentication. */
export function oauthErrorSender(realm: string): ErrorSender {
  return (_request, reply, err) => {
    const entry = wire[err.code];
    const [error, status] = typeof entry === 'string' ? [entry, err.status] : entry;
    if (err.code === 'invalid_client' && err.details.usedBasic) {
      // RFC 6749 §5.2: a failed Basic authentication answers 401 with a challenge for that scheme.
      reply.header('www-authenticate', `Basic realm="${realm}", charset="UTF-8"`);
    }
    // RFC 6750 §3: a bearer-protected resource names the scheme and the error (and the scope it needs).
    if (err.code === 'invalid_token' || err.code === 'insufficient_scope' || err.details.bearer === true) {
      const scope = err.details.requiredScope === undefined ? '' : `, scope="${err.details.requiredScope}"`;
      reply.header('www-authenticate', `Bearer realm="${realm}", error="${error}"${scope}`);
    }
    return reply.code(status).type('application/json; charset=utf-8').send({ error, error_description: err.message });
  };
}

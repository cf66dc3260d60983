// The Veeam facade's wire format: RFC 7807 application/problem+json ({type, title, status, detail}),
// with an `error` member naming the failure in OAuth terms so token clients can branch on it.
import { STATUS_CODES } from 'node:http';
import type { CoreErrorCode } from '../../core/errors.ts';
import type { ErrorSender, RawErrorRenderer } from '../../http/wire-format.ts';

/** Every `error` member this facade answers: an enum in openapi.yaml. */
export const VEEAM_ERROR_CODES = [
  'invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope',
  'authorization_pending', 'slow_down', 'access_denied', 'expired_token', 'invalid_token', 'insufficient_scope', 'not_found',
  'conflict', 'too_many_requests', 'method_not_allowed', 'unsupported_media_type', 'payload_too_large', 'temporarily_unavailable',
  'server_error',
] as const;
type VeeamError = (typeof VEEAM_ERROR_CODES)[number];

/** The `error` member, and the status where OAuth prescribes another than the default. */
const wire: Record<CoreErrorCode, VeeamError | [VeeamError, number]> = {
  invalid_request: 'invalid_request',
  invalid_client: 'invalid_client',
  invalid_grant: 'invalid_grant',
  unauthorized_client: 'unauthorized_client',
  unsupported_grant_type: 'unsupported_grant_type',
  invalid_scope: 'invalid_scope',
  authorization_pending: 'authorization_pending',
  slow_down: 'slow_down',
  access_denied: 'access_denied',
  expired_token: 'expired_token',
  invalid_token: 'invalid_token',
  forbidden: 'insufficient_scope',
  insufficient_scope: 'insufficient_scope',
  not_found: 'not_found',
  conflict: 'conflict',
  // RFC 6749 §5.2: wrong resource-owner credentials are invalid_grant.
  invalid_credentials: 'invalid_grant',
  sign_in_throttled: 'too_many_requests',
  invalid_user_code: 'invalid_request',
  user_code_expired: 'invalid_request',
  user_code_used: 'invalid_request',
  too_many_attempts: 'invalid_request',
  network_mismatch: 'invalid_request',
  guess_budget_exhausted: 'too_many_requests',
  flow_not_found: 'not_found',
  federation_failed: 'access_denied',
  flow_wrong_state: 'invalid_request',
  registration_refused: 'access_denied',
  invalid_registration_code: 'invalid_request',
  route_not_found: 'not_found',
  method_not_allowed: 'method_not_allowed',
  unsupported_media_type: 'unsupported_media_type',
  payload_too_large: 'payload_too_large',
  rate_limited: 'too_many_requests',
  storage_full: 'temporarily_unavailable',
  limits_unavailable: 'temporarily_unavailable',
  database_unavailable: 'temporarily_unavailable',
  server_error: 'server_error',
};

export const PROBLEM_JSON = 'application/problem+json; charset=utf-8';

/** A request the HTTP parser refused, as a problem (no route ran: the error is the request's). */
export const veeamRawError: RawErrorRenderer = (status, description) => ({
  contentType: PROBLEM_JSON,
  body: JSON.stringify({ type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail: description, error: 'invalid_request' }),
});

/** `realm` names this server in the Bearer challenge. */
export function veeamErrorSender(realm: string): ErrorSender {
  return (_request, reply, err) => {
    const entry = wire[err.code];
    const [error, status] = typeof entry === 'string' ? [entry, err.status] : entry;
    if (err.code === 'invalid_token') {
      // RFC 6750 §3: the challenge names the error; the description is ours, without quotes.
      reply.header('www-authenticate', `Bearer realm="${realm}", error="invalid_token", error_description="${err.message.replace(/["\\]/g, '')}"`);
    }
    reply.header('cache-control', 'no-store');
    return reply.code(status).type(PROBLEM_JSON).send({
      type: 'about:blank',
      title: STATUS_CODES[status] ?? 'Error',
      status,
      detail: err.message,
      error,
    });
  };
}

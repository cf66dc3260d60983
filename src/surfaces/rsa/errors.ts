// The RSA facade's wire format (docs/vendors.md): Spring Boot's error body
// {timestamp (epoch ms), status, error (reason phrase), message, path}, with RSA's own messages.
// Every authentication failure is a 403, as RSA documents.
import { STATUS_CODES } from 'node:http';
import type { CoreError, CoreErrorCode, RegistrationRefusal } from '../../core/errors.ts';
import type { ErrorSender, RawErrorRenderer } from '../../http/wire-format.ts';
import type { Clock } from '../../model/clock.ts';

export const REGISTRATION_CODE_PATH = '/AdminInterface/restapi/v1/users/deviceRegistrationCode';
const INTERNAL = 'Cloud Access Service has an internal error and cannot generate the device registration code.';

const refusals: Record<RegistrationRefusal, (e: CoreError) => string> = {
  not_licensed: () => 'Your company is not licensed to use SecurID multifactor authentication methods.',
  user_not_found: (e) => `User ${e.details.subject ?? ''} not found.`,
  user_disabled: () => 'User is disabled.',
  device_registered: () => 'User already has a registered device.',
};

type Wire = string | ((e: CoreError) => string) | [message: string, status: number];

const wire: Record<CoreErrorCode, Wire> = {
  // RSA's body rules speak in sentences (body.ts); anything else is a transport error to name.
  invalid_request: (e) => e.details.target !== undefined ? `Invalid property specified: ${e.details.target}.`
    : e.message.endsWith('.') ? e.message : `Malformed request: ${e.message}.`,
  invalid_client: 'Not authorized to perform the request.',
  invalid_grant: 'Bad request.',
  unauthorized_client: 'Not authorized to perform the request.',
  unsupported_grant_type: 'Bad request.',
  invalid_scope: 'Bad request.',
  authorization_pending: 'Bad request.',
  slow_down: 'Too many requests.',
  access_denied: 'Not authorized to perform the request.',
  expired_token: 'Bad request.',
  invalid_token: ['Authentication failed: the JWT is missing, malformed, expired, or not signed by a valid admin API key.', 403],
  forbidden: 'Not authorized to perform the request.',
  insufficient_scope: 'Not authorized to perform the request.',
  not_found: (e) => e.message,
  conflict: 'User already has a registered device.',
  invalid_credentials: 'Not authorized to perform the request.',
  sign_in_throttled: 'Too many requests.',
  invalid_user_code: 'Bad request.',
  user_code_expired: 'Bad request.',
  user_code_used: 'Bad request.',
  too_many_attempts: 'Too many requests.',
  network_mismatch: 'Bad request.',
  guess_budget_exhausted: 'Too many requests.',
  flow_not_found: 'Not found.',
  federation_failed: 'Not authorized to perform the request.',
  flow_wrong_state: 'Bad request.',
  registration_refused: (e) => refusals[e.details.reason ?? 'user_not_found'](e),
  invalid_registration_code: 'The device registration code is invalid, expired or already used.',
  route_not_found: 'No such endpoint.',
  method_not_allowed: 'Request method not supported.',
  unsupported_media_type: 'The request body must be application/json.',
  // RSA documents 400 as the answer to a malformed body: a huge one is malformed too.
  payload_too_large: ['The request body is too large.', 400],
  rate_limited: 'Too many requests.',
  storage_full: 'The service is temporarily unavailable. Try again later.',
  limits_unavailable: 'The service is temporarily unavailable. Try again later.',
  database_unavailable: 'The service is temporarily unavailable. Try again later.',
  server_error: 'The service has an internal error.',
};

/** A request the HTTP parser refused, in Spring Boot's body like every other error of the facade. */
export function rsaRawError(clock: Clock): RawErrorRenderer {
  return (status, description, path) => ({
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify({ timestamp: clock.now(), status, error: STATUS_CODES[status] ?? 'Error', message: `The request could not be read: ${description}.`, path }),
  });
}

export function rsaErrorSender(clock: Clock): ErrorSender {
  return (request, reply, err) => {
    const entry = wire[err.code];
    const [message, status] = Array.isArray(entry) ? entry : [typeof entry === 'string' ? entry : entry(err), err.status];
    const path = request.url.split('?')[0] ?? '';
    return reply.code(status).type('application/json; charset=utf-8').header('cache-control', 'no-store').send({
      timestamp: clock.now(),
      status,
      error: STATUS_CODES[status] ?? 'Error',
      message: err.code === 'server_error' && path === REGISTRATION_CODE_PATH ? INTERNAL : message,
      path,
    });
  };
}

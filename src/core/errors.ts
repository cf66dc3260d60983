// The closed set of failures the engine can report. Front ends map each code to their own wire
// format in exactly one place (surfaces/*/errors.ts); anything else is a bug and becomes a generic 500.

export const coreErrorCodes = [
  // RFC 6749 §5.2 and RFC 8628 §3.5
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'authorization_pending',
  'slow_down',
  'access_denied',
  'expired_token',
  // resources and administration
  'not_found',
  'conflict',
  // verification (a person typing a code)
  'invalid_credentials',
  'invalid_user_code',
  'user_code_expired',
  'user_code_used',
  'too_many_attempts',
  'flow_not_found',
  'flow_wrong_state',
  // transport: raised at the HTTP edge, formatted by the same per-surface mappers
  'route_not_found',
  'unsupported_media_type',
  'payload_too_large',
  'rate_limited',
  'server_error',
] as const;

export type CoreErrorCode = (typeof coreErrorCodes)[number];

export interface CoreErrorDetails {
  /** The input field the error is about, when there is one. */
  target?: string;
  /** Wrong attempts left before the flow fails (verification). */
  failuresRemaining?: number;
  /** Seconds until a retry can succeed (rate limits, budgets). */
  retryAfter?: number;
  /** The client authenticated with HTTP Basic (decides 401 + WWW-Authenticate). */
  usedBasic?: boolean;
}

export class CoreError extends Error {
  override name = 'CoreError';
  readonly code: CoreErrorCode;
  readonly details: CoreErrorDetails;

  constructor(code: CoreErrorCode, description?: string, details: CoreErrorDetails = {}) {
    super(description ?? code);
    this.code = code;
    this.details = details;
  }
}

export function isCoreError(err: unknown): err is CoreError {
  return err instanceof CoreError;
}

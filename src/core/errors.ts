// The closed set of failures the engine can report, each with its default HTTP status (here and
// nowhere else). Front ends map each code to their own wire format in exactly one place
// (surfaces/*/errors.ts), overriding a status only where their protocol prescribes another;
// anything that is not a CoreError is a bug and becomes a generic 500.

const defaultStatus = {
  // RFC 6749 §5.2 and RFC 8628 §3.5
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  authorization_pending: 400,
  slow_down: 400,
  access_denied: 403,
  expired_token: 400,
  // bearer credentials (RFC 6750) and what they may do
  invalid_token: 401,
  /** RFC 6750 §3.1: the token is valid but was not granted the scope this resource needs (requiredScope). */
  insufficient_scope: 403,
  forbidden: 403,
  // resources and administration
  not_found: 404,
  conflict: 409,
  // verification (a person typing a code)
  invalid_credentials: 400,
  /** Too many wrong passwords for one account, whatever the source; retryAfter says when. */
  sign_in_throttled: 429,
  invalid_user_code: 400,
  user_code_expired: 400,
  user_code_used: 400,
  /** The flow failed after too many wrong codes. */
  too_many_attempts: 400,
  /** The client wants the approver on the device's network (README "Device policy"), and they are not. */
  network_mismatch: 400,
  /** The source address spent its wrong-code budget (RFC 8628 §5.1); retryAfter says when it refills. */
  guess_budget_exhausted: 429,
  flow_not_found: 404,
  /** A sign-in through an upstream identity provider did not complete; `reason` says why (federation). */
  federation_failed: 400,
  flow_wrong_state: 400,
  // device registration (the RSA facade)
  registration_refused: 403,
  invalid_registration_code: 400,
  // transport: raised at the HTTP edge, formatted by the same per-surface mappers
  route_not_found: 404,
  method_not_allowed: 405,
  unsupported_media_type: 415,
  payload_too_large: 413,
  rate_limited: 429,
  /** The database cannot grow (a full disk, or a size cap): the write was rolled back; retryAfter says when to try again. */
  storage_full: 503,
  /** The shared store of the wrong-code budget (Redis) cannot answer: codes are refused, not left uncounted; retryAfter says when to try again. */
  limits_unavailable: 503,
  /** The database cannot be reached (restarting, failing over): nothing more was done; retryAfter says when to try again. */
  database_unavailable: 503,
  server_error: 500,
} as const;

export type CoreErrorCode = keyof typeof defaultStatus;

/**
 * Why an upstream sign-in failed, for the page's message: the person cancelled or the provider
 * refused; the callback was not this browser's, was replayed or is stale; the provider could not be
 * reached or answered wrongly (a bad signature, nonce or issuer); the local account is disabled.
 */
export type FederationFailure = 'cancelled' | 'denied' | 'unknown_provider' | 'stale' | 'unreachable' | 'invalid_response' | 'disabled';

/** Why a registration code was not issued (RSA documents one message for each, docs/vendors.md). */
export type RegistrationRefusal = 'not_licensed' | 'user_not_found' | 'user_disabled' | 'device_registered';

export interface CoreErrorDetails {
  /** The input field the error is about, when there is one. */
  target?: string;
  /** The value a message names (the email or username of a refused registration). */
  subject?: string;
  /** Wrong attempts left before the flow fails (verification). */
  failuresRemaining?: number;
  /** Seconds until a retry can succeed (rate limits, budgets). */
  retryAfter?: number;
  /** The client authenticated with HTTP Basic (decides 401 + WWW-Authenticate). */
  usedBasic?: boolean;
  /** The methods a path does answer (405). */
  allow?: string;
  /** The scope a bearer-protected resource needs (insufficient_scope). */
  requiredScope?: string;
  /** The error concerns a bearer-token request (RFC 6750 §3): the answer carries a Bearer challenge. */
  bearer?: boolean;
  reason?: RegistrationRefusal;
  /** Why an upstream sign-in failed (federation_failed). */
  federation?: FederationFailure;
  /** The verification flow a failure concerns, when the browser holds it: the page's way back. */
  flowId?: string;
  /** Why a credential was refused, for the log only: never sent to the caller. */
  logReason?: string;
}

let stackTraceLimit = Error.stackTraceLimit;

/**
 * The message, with stack capture off for the Error constructor that follows: an expected answer
 * (a pending poll, a wrong code) is not a bug, and capturing its stack was a measurable share of
 * every poll (bench/RESULTS.md). Only server_error keeps its stack.
 */
function unstacked(code: CoreErrorCode, message: string): string {
  stackTraceLimit = Error.stackTraceLimit;
  if (code !== 'server_error') Error.stackTraceLimit = 0;
  return message;
}

export class CoreError extends Error {
  override name = 'CoreError';
  readonly code: CoreErrorCode;
  readonly details: CoreErrorDetails;

  constructor(code: CoreErrorCode, description?: string, details: CoreErrorDetails = {}) {
    super(unstacked(code, description ?? code));
    Error.stackTraceLimit = stackTraceLimit;
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return defaultStatus[this.code];
  }
}

export function isCoreError(err: unknown): err is CoreError {
  return err instanceof CoreError;
}

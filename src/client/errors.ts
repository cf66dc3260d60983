// The one error type of the device-login client. `code` is closed, so callers can switch on it; the
// message is one line meant for a person and never carries a secret (no device code, client secret
// or token), only what the server said about itself.

export type DeviceLoginErrorCode =
  // RFC 8628 §3.5 and RFC 6749 §5.2, as the server answered them
  | 'access_denied'
  | 'expired_token'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_request'
  | 'invalid_scope'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'server_error'
  | 'temporarily_unavailable'
  /** Another error code the server sent; it is in `oauthError`. */
  | 'oauth_error'
  // raised here
  /** No usable authorization server metadata at the issuer. */
  | 'discovery_failed'
  /** The metadata names another issuer than the one asked for (RFC 8414 §3.3): it must not be used. */
  | 'issuer_mismatch'
  /** A plain-http URL to another machine, without `allowHttp`. */
  | 'insecure_url'
  /** The server answered something that is not what the protocol prescribes. */
  | 'invalid_response'
  /** The token response carried an ID token that failed validation (OpenID Connect Core §3.1.3.7): a bad signature, another issuer or audience, expired… */
  | 'invalid_id_token'
  /** The server could not be reached, or did not answer in time. */
  | 'network'
  /** The caller's AbortSignal fired. */
  | 'aborted';

export interface DeviceLoginErrorOptions {
  /** The `error` value the server sent, verbatim. */
  oauthError?: string;
  /** The HTTP status of the answer, when there was one. */
  status?: number;
  cause?: unknown;
}

export class DeviceLoginError extends Error {
  override name = 'DeviceLoginError';
  readonly code: DeviceLoginErrorCode;
  readonly oauthError: string | undefined;
  readonly status: number | undefined;

  constructor(code: DeviceLoginErrorCode, message: string, opts: DeviceLoginErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.oauthError = opts.oauthError;
    this.status = opts.status;
  }
}

export function isDeviceLoginError(err: unknown): err is DeviceLoginError {
  return err instanceof DeviceLoginError;
}

// Whatever a server sends may end up on a terminal: no control characters, and not a novel.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Text from the server, made safe to put in a message or on a terminal. */
export function printable(text: string, max = 200): string {
  const clean = text.replace(CONTROL, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

// Generated from src/client by scripts/build-client.ts: do not edit.
export type DeviceLoginErrorCode = 'access_denied' | 'expired_token' | 'invalid_client' | 'invalid_grant' | 'invalid_request' | 'invalid_scope' | 'unauthorized_client' | 'unsupported_grant_type' | 'server_error' | 'temporarily_unavailable'
/** Another error code the server sent; it is in `oauthError`. */
 | 'oauth_error'
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
export declare class DeviceLoginError extends Error {
    name: string;
    readonly code: DeviceLoginErrorCode;
    readonly oauthError: string | undefined;
    readonly status: number | undefined;
    constructor(code: DeviceLoginErrorCode, message: string, opts?: DeviceLoginErrorOptions);
}
export declare function isDeviceLoginError(err: unknown): err is DeviceLoginError;
/** Text from the server, made safe to put in a message or on a terminal. */
export declare function printable(text: string, max?: number): string;

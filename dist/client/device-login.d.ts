// Generated from src/client by scripts/build-client.ts: do not edit.
export declare const DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";
/** RFC 8628 §3.2: the interval when the server names none. */
export declare const DEFAULT_INTERVAL_SECONDS = 5;
/** RFC 8628 §3.5: what every slow_down adds to the interval, for the rest of the login. */
export declare const SLOW_DOWN_SECONDS = 5;
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;
export interface Clock {
    /** Milliseconds, like Date.now(). */
    now(): number;
}
/** Waits `ms` milliseconds; should reject (or return early) when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;
/** What every request takes. */
export interface TransportOptions {
    fetch?: FetchLike;
    signal?: AbortSignal;
    /** Per request (default 30 s). */
    timeoutMs?: number;
    /**
     * Allow plain http:// to hosts other than this machine. Off by default: client secrets and tokens
     * would cross the network unencrypted. Loopback addresses (localhost, 127.0.0.0/8, ::1) are always allowed.
     */
    allowHttp?: boolean;
}
/** The RFC 8414 fields this client uses. */
export interface AuthorizationServerMetadata {
    issuer: string;
    device_authorization_endpoint: string;
    token_endpoint: string;
    jwks_uri?: string;
    token_endpoint_auth_methods_supported?: string[];
    grant_types_supported?: string[];
    scopes_supported?: string[];
}
/** RFC 8628 §3.2 response, `interval` defaulted, plus the local deadline. */
export interface DeviceAuthorization {
    device_code: string;
    user_code: string;
    verification_uri: string;
    verification_uri_complete: string | undefined;
    expires_in: number;
    interval: number;
    /** Clock time (ms) after which polling stops: when the response arrived plus expires_in. */
    expiresAt: number;
}
/** What to show the person: the device authorization without the device code. */
export type UserCodePrompt = Pick<DeviceAuthorization, 'user_code' | 'verification_uri' | 'verification_uri_complete' | 'expires_in' | 'interval'>;
/** RFC 6749 §5.1 token response (the fields this client knows). */
export interface TokenResponse {
    access_token: string;
    token_type: string;
    expires_in?: number;
    scope?: string;
    refresh_token?: string;
    id_token?: string;
}
export interface PollEvent {
    /** 1 for the first poll. */
    attempt: number;
    /** `retry`: a network failure, a 5xx or a 429, tried again after the interval. */
    outcome: 'authorization_pending' | 'slow_down' | 'retry';
    /** The interval now in force, in seconds (grown by 5 after each slow_down). */
    interval: number;
}
export interface ClientCredentials {
    clientId: string;
    /** For confidential clients: sent with client_secret_basic, or client_secret_post when that is all the server takes. */
    clientSecret?: string;
}
/**
 * Reads the authorization server metadata of `issuer`: RFC 8414 first
 * (`/.well-known/oauth-authorization-server` inserted before the issuer's path, so this server's
 * per-environment issuers `PUBLIC_URL/{envID}/as` work), then OpenID Connect Discovery
 * (`{issuer}/.well-known/openid-configuration`). The metadata must name the same issuer (a trailing
 * slash aside), else it is refused (RFC 8414 §3.3).
 */
export declare function discover(issuer: string, opts?: TransportOptions): Promise<AuthorizationServerMetadata>;
export interface StartOptions extends ClientCredentials, TransportOptions {
    metadata: AuthorizationServerMetadata;
    /** Space-separated; the server's default for the client when omitted. */
    scope?: string;
    clock?: Clock;
}
/** RFC 8628 §3.1: asks for a device code and a user code. */
export declare function startDeviceAuthorization(opts: StartOptions): Promise<DeviceAuthorization>;
export interface PollOptions extends ClientCredentials, TransportOptions {
    metadata: AuthorizationServerMetadata;
    authorization: DeviceAuthorization;
    /** After every poll that did not end the login. Awaited. */
    onPoll?: (event: PollEvent) => void | Promise<void>;
    clock?: Clock;
    sleep?: Sleep;
    /** Consecutive network failures, 5xx and 429 answers tolerated before giving up (default 3). */
    maxTransientFailures?: number;
}
/**
 * RFC 8628 §3.4–3.5: polls the token endpoint every `interval` seconds (the first poll after one
 * interval) until the person decides. `slow_down` adds 5 s to the interval for good. Stops with a
 * DeviceLoginError on access_denied, expired_token, any other error, and on the local deadline
 * (`expiresAt`), without a last poll after it.
 */
export declare function pollForToken(opts: PollOptions): Promise<TokenResponse>;
export interface DeviceLoginOptions extends ClientCredentials, TransportOptions {
    issuer: string;
    scope?: string;
    /** Skips discovery (its issuer is still the one reported). */
    metadata?: AuthorizationServerMetadata;
    /** Show the code to the person. Awaited before polling starts. */
    onCode?: (prompt: UserCodePrompt) => void | Promise<void>;
    onPoll?: PollOptions['onPoll'];
    clock?: Clock;
    sleep?: Sleep;
    maxTransientFailures?: number;
}
export interface DeviceLoginResult {
    token: TokenResponse;
    metadata: AuthorizationServerMetadata;
    /** Clock time (ms) the token arrived; `expires_in` counts from here. */
    obtainedAt: number;
}
/** Discovery, device authorization, the person's decision, and the token. */
export declare function deviceLogin(opts: DeviceLoginOptions): Promise<DeviceLoginResult>;
export declare const REFRESH_TOKEN_GRANT_TYPE = "refresh_token";
interface RefreshTokenCommon extends ClientCredentials, TransportOptions {
    /** The refresh token from the last token response. */
    refreshToken: string;
    /** Space-separated; may only narrow what was granted (RFC 6749 §6). The grant's scope when omitted. */
    scope?: string;
    clock?: Clock;
}
/** Either the issuer (its metadata is discovered) or the metadata itself (no discovery). */
export type RefreshTokenOptions = RefreshTokenCommon & ({
    issuer: string;
    metadata?: AuthorizationServerMetadata;
} | {
    metadata: AuthorizationServerMetadata;
    issuer?: string;
});
/** The new token and where it came from; `token.refresh_token` is always set (the one to keep). */
export type RefreshTokenResult = DeviceLoginResult;
/**
 * RFC 6749 §6: trades a refresh token for a new access token. A server that rotates refresh tokens
 * (this one always does for public clients) sends a new one and the presented one is dead from then
 * on: keep `token.refresh_token` in its place. When the answer carries none, the presented token
 * stays valid and is returned there. A dead, revoked, reused or expired token is `invalid_grant`.
 *
 * Never retried: with rotation, a request the server handled but whose answer was lost would,
 * repeated, present a rotated-out token, which counts as reuse and revokes the whole grant.
 */
export declare function refreshToken(opts: RefreshTokenOptions): Promise<RefreshTokenResult>;
export {};

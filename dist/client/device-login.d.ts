// Generated from src/client by scripts/build-client.ts: do not edit.
import { type AuthorizationServerMetadata } from "./discovery.js";
import { type IdTokenClaims, type ValidateIdTokenOptions } from "./id-token.js";
import { type Answer, type ClientCredentials, type Clock, type Sleep, type TransportOptions } from "./transport.js";
export declare const DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";
/** RFC 8628 §3.2: the interval when the server names none. */
export declare const DEFAULT_INTERVAL_SECONDS = 5;
/** RFC 8628 §3.5: what every slow_down adds to the interval, for the rest of the login. */
export declare const SLOW_DOWN_SECONDS = 5;
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
 * (`expiresAt`), without a last poll after it. A poll that failed at the network level may still
 * have reached the server: when the next answer is invalid_grant, that poll most likely redeemed
 * the code and its answer (the token) was lost, and the error says so. An ID token in the answer
 * is validated (validateIdToken) before the token is returned: `invalid_id_token` when it fails;
 * deviceLogin also returns its claims.
 */
export declare function pollForToken(opts: PollOptions): Promise<TokenResponse>;
/** The validated claims of the token's ID token; undefined when it has none (no openid scope, or an OAuth-only server). */
export declare function idTokenClaimsOf(token: TokenResponse, opts: ValidateIdTokenOptions): Promise<IdTokenClaims | undefined>;
/** A 200 token answer (RFC 6749 §5.1) as a TokenResponse; refused when it lacks what a token needs. */
export declare function tokenFrom(answer: Answer): TokenResponse;
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
    /**
     * Who signed in: the claims of `token.id_token`, validated (validateIdToken). Undefined when the
     * answer had no ID token (the scope did not hold `openid`, or the server is OAuth only).
     */
    idTokenClaims?: IdTokenClaims;
}
/** Discovery, device authorization, the person's decision, and the token. */
export declare function deviceLogin(opts: DeviceLoginOptions): Promise<DeviceLoginResult>;

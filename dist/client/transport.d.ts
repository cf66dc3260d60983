// Generated from src/client by scripts/build-client.ts: do not edit.
import type { AuthorizationServerMetadata } from "./discovery.js";
import { DeviceLoginError, type DeviceLoginErrorCode } from "./errors.js";
export declare const DEFAULT_TIMEOUT_MS = 30000;
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
export interface ClientCredentials {
    clientId: string;
    /** For confidential clients: sent with client_secret_basic, or client_secret_post when that is all the server takes. */
    clientSecret?: string;
}
export declare const realClock: Clock;
export declare const realSleep: Sleep;
/** A server's answer to one request. */
export interface Answer {
    status: number;
    /** The body when it is a JSON object, else undefined. */
    json: Record<string, unknown> | undefined;
    retryAfter: number | undefined;
}
/**
 * What callers read of a URL checkUrl returns (it is a URL). Spelled out so that the published
 * declarations name no DOM or Node type: consumers may compile with neither.
 */
export interface CheckedUrl {
    readonly href: string;
    readonly origin: string;
    readonly pathname: string;
    readonly search: string;
    readonly hash: string;
}
/** A URL the client may talk to: http(s), no credentials inside, https unless loopback or allowed. */
export declare function checkUrl(value: unknown, what: string, allowHttp: boolean, code?: DeviceLoginErrorCode): CheckedUrl;
export declare function aborted(): DeviceLoginError;
export declare function send(url: string, init: RequestInit, opts: TransportOptions): Promise<Answer>;
/** ECONNREFUSED, a timeout, a redirect: the gist of why fetch failed, without its stack. */
export declare function networkReason(err: unknown): string;
export declare function postForm(url: string, params: Record<string, string>, credentials: ClientCredentials, metadata: AuthorizationServerMetadata, opts: TransportOptions): Promise<Answer>;
/** An error answer (RFC 6749 §5.2) as a DeviceLoginError; `what` names the request, `texts` overrides the gists. */
export declare function oauthFailure(answer: Answer, what: string, texts?: Partial<Record<DeviceLoginErrorCode, string>>): DeviceLoginError;

// An OAuth 2.0 device authorization grant client (RFC 8628) for command-line programs: discovery
// (RFC 8414, then OpenID Connect Discovery), the device authorization request, polling that keeps
// to the server's pace, and the refresh_token grant (RFC 6749 §6) for later. Only node: built-ins
// and the global fetch: other packages import the JavaScript build of this directory
// (dist/client), so nothing here may reach into the server.
import { setTimeout as delay } from 'node:timers/promises';
import { DeviceLoginError, printable, type DeviceLoginErrorCode } from './errors.ts';

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8628 §3.2: the interval when the server names none. */
export const DEFAULT_INTERVAL_SECONDS = 5;
/** RFC 8628 §3.5: what every slow_down adds to the interval, for the rest of the login. */
export const SLOW_DOWN_SECONDS = 5;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_TRANSIENT_FAILURES = 3;

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

const realClock: Clock = { now: () => Date.now() };
const realSleep: Sleep = (ms, signal) => delay(ms, undefined, signal === undefined ? undefined : { signal });

// --- HTTP ------------------------------------------------------------------------------------

interface Answer {
  status: number;
  /** The body when it is a JSON object, else undefined. */
  json: Record<string, unknown> | undefined;
  retryAfter: number | undefined;
}

const LOOPBACK = /^(localhost|[^.]+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** A URL the client may talk to: http(s), no credentials inside, https unless loopback or allowed. */
function checkUrl(value: unknown, what: string, allowHttp: boolean, code: DeviceLoginErrorCode = 'invalid_response'): URL {
  if (typeof value !== 'string' || !URL.canParse(value)) throw new DeviceLoginError(code, `${what} is not a URL`);
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DeviceLoginError(code, `${what} must be an http(s) URL, got ${printable(url.protocol)}`);
  if (url.username !== '' || url.password !== '') throw new DeviceLoginError(code, `${what} must not contain credentials`);
  if (url.protocol === 'http:' && !allowHttp && !LOOPBACK.test(url.hostname)) {
    throw new DeviceLoginError('insecure_url', `${what} ${printable(url.origin)} is plain http to another machine; use https (or allow http explicitly)`);
  }
  return url;
}

function requestSignal(opts: TransportOptions): AbortSignal {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  return opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout]);
}

function aborted(): DeviceLoginError {
  return new DeviceLoginError('aborted', 'the login was cancelled');
}

async function send(url: string, init: RequestInit, opts: TransportOptions): Promise<Answer> {
  const fetchFn = opts.fetch ?? fetch;
  let res: Response;
  let text: string;
  try {
    // OAuth endpoints do not redirect; following one could carry the client's credentials elsewhere.
    res = await fetchFn(url, { ...init, redirect: 'error', signal: requestSignal(opts) });
    text = await res.text();
  } catch (err) {
    if (opts.signal?.aborted === true) throw aborted();
    throw new DeviceLoginError('network', `cannot reach ${printable(url)} (${networkReason(err)})`, { cause: err });
  }
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  const retry = Number(res.headers.get('retry-after') ?? Number.NaN);
  return { status: res.status, json, retryAfter: Number.isFinite(retry) && retry >= 0 ? retry : undefined };
}

/** ECONNREFUSED, a timeout, a redirect: the gist of why fetch failed, without its stack. */
function networkReason(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timed out';
  const cause = err instanceof Error ? err.cause : undefined;
  if (typeof cause === 'object' && cause !== null) {
    if ('code' in cause && typeof cause.code === 'string') return printable(cause.code, 60);
    if (cause instanceof Error) return printable(cause.message, 100);
  }
  return err instanceof Error ? printable(err.message, 100) : 'failed';
}

/** RFC 6749 §2.3.1: the client id and secret are form-encoded before they are joined for Basic. */
const formEncode = (s: string): string => new URLSearchParams([['', s]]).toString().slice(1);

function postForm(url: string, params: Record<string, string>, credentials: ClientCredentials, metadata: AuthorizationServerMetadata, opts: TransportOptions): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const body = new URLSearchParams(params);
  if (credentials.clientSecret === undefined) {
    body.set('client_id', credentials.clientId);
  } else {
    // RFC 8414 §2: a server that lists no methods takes client_secret_basic.
    const methods = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    if (methods.includes('client_secret_post') && !methods.includes('client_secret_basic')) {
      body.set('client_id', credentials.clientId);
      body.set('client_secret', credentials.clientSecret);
    } else {
      headers.authorization = `Basic ${Buffer.from(`${formEncode(credentials.clientId)}:${formEncode(credentials.clientSecret)}`).toString('base64')}`;
    }
  }
  return send(url, { method: 'POST', headers, body: body.toString() }, opts);
}

const KNOWN_ERRORS = new Set<string>([
  'access_denied', 'expired_token', 'invalid_client', 'invalid_grant', 'invalid_request', 'invalid_scope',
  'unauthorized_client', 'unsupported_grant_type', 'server_error', 'temporarily_unavailable',
]);

const ERROR_TEXT: Partial<Record<DeviceLoginErrorCode, string>> = {
  access_denied: 'sign-in was denied',
  expired_token: 'the code expired before it was approved',
  invalid_client: 'the server does not accept this client: unknown client id or wrong secret',
  invalid_scope: 'the server refused the requested scope',
  unauthorized_client: 'this client may not use the device flow',
};

/** An error answer (RFC 6749 §5.2) as a DeviceLoginError; `what` names the request, `texts` overrides the gists. */
function oauthFailure(answer: Answer, what: string, texts: Partial<Record<DeviceLoginErrorCode, string>> = {}): DeviceLoginError {
  const error = answer.json?.error;
  const description = typeof answer.json?.error_description === 'string' ? printable(answer.json.error_description) : '';
  if (typeof error !== 'string' || error === '') {
    const code = answer.status >= 500 ? 'server_error' : 'invalid_response';
    return new DeviceLoginError(code, `${what} failed: HTTP ${answer.status} without an OAuth error`, { status: answer.status });
  }
  const code: DeviceLoginErrorCode = KNOWN_ERRORS.has(error) ? (error as DeviceLoginErrorCode) : 'oauth_error';
  const gist = texts[code] ?? ERROR_TEXT[code] ?? `${what} failed`;
  const detail = [printable(error, 60), description].filter((s) => s !== '' && s !== code).join(': ');
  return new DeviceLoginError(code, detail === '' ? gist : `${gist} (${detail})`, { oauthError: error, status: answer.status });
}

// --- discovery -------------------------------------------------------------------------------

const optionalStrings = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;

/**
 * Reads the authorization server metadata of `issuer`: RFC 8414 first
 * (`/.well-known/oauth-authorization-server` inserted before the issuer's path, so this server's
 * per-environment issuers `PUBLIC_URL/{envID}/as` work), then OpenID Connect Discovery
 * (`{issuer}/.well-known/openid-configuration`). The metadata must name the same issuer (a trailing
 * slash aside), else it is refused (RFC 8414 §3.3).
 */
export async function discover(issuer: string, opts: TransportOptions = {}): Promise<AuthorizationServerMetadata> {
  const allowHttp = opts.allowHttp === true;
  const url = checkUrl(issuer, 'the issuer', allowHttp, 'discovery_failed');
  if (url.search !== '' || url.hash !== '') throw new DeviceLoginError('discovery_failed', 'the issuer must not have a query or fragment');
  const path = url.pathname.replace(/\/+$/, '');
  const candidates = [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
  const misses: string[] = [];
  for (const candidate of candidates) {
    const answer = await send(candidate, { method: 'GET', headers: { accept: 'application/json' } }, opts);
    if (answer.status !== 200 || answer.json === undefined) {
      misses.push(`${candidate}: ${answer.status === 200 ? 'not JSON' : `HTTP ${answer.status}`}`);
      continue;
    }
    return metadataFrom(answer.json, issuer, allowHttp);
  }
  throw new DeviceLoginError('discovery_failed', `no authorization server metadata for ${printable(issuer)} (${misses.map((m) => printable(m)).join('; ')})`);
}

function metadataFrom(json: Record<string, unknown>, requested: string, allowHttp: boolean): AuthorizationServerMetadata {
  const issuer = json.issuer;
  const strip = (s: string) => s.replace(/\/+$/, '');
  if (typeof issuer !== 'string' || strip(issuer) !== strip(requested)) {
    const named = typeof issuer === 'string' ? `"${printable(issuer)}"` : 'no issuer';
    throw new DeviceLoginError('issuer_mismatch', `the metadata at ${printable(requested)} names ${named}: refusing it (RFC 8414 §3.3)`);
  }
  if (json.device_authorization_endpoint === undefined) {
    throw new DeviceLoginError('discovery_failed', `${printable(issuer)} does not offer the device authorization grant (no device_authorization_endpoint)`);
  }
  const metadata: AuthorizationServerMetadata = {
    issuer,
    device_authorization_endpoint: checkUrl(json.device_authorization_endpoint, 'device_authorization_endpoint', allowHttp).href,
    token_endpoint: checkUrl(json.token_endpoint, 'token_endpoint', allowHttp).href,
  };
  if (typeof json.jwks_uri === 'string') metadata.jwks_uri = json.jwks_uri;
  const methods = optionalStrings(json.token_endpoint_auth_methods_supported);
  if (methods) metadata.token_endpoint_auth_methods_supported = methods;
  const grants = optionalStrings(json.grant_types_supported);
  if (grants) metadata.grant_types_supported = grants;
  const scopes = optionalStrings(json.scopes_supported);
  if (scopes) metadata.scopes_supported = scopes;
  return metadata;
}

// --- device authorization and polling --------------------------------------------------------

export interface StartOptions extends ClientCredentials, TransportOptions {
  metadata: AuthorizationServerMetadata;
  /** Space-separated; the server's default for the client when omitted. */
  scope?: string;
  clock?: Clock;
}

/** RFC 8628 §3.1: asks for a device code and a user code. */
export async function startDeviceAuthorization(opts: StartOptions): Promise<DeviceAuthorization> {
  const clock = opts.clock ?? realClock;
  const params: Record<string, string> = {};
  if (opts.scope !== undefined && opts.scope !== '') params.scope = opts.scope;
  const answer = await postForm(opts.metadata.device_authorization_endpoint, params, opts, opts.metadata, opts);
  if (answer.status !== 200) throw oauthFailure(answer, 'the device authorization request');
  const j = answer.json ?? {};
  const bad = (field: string) => new DeviceLoginError('invalid_response', `the device authorization response has no valid ${field}`);
  const str = (field: string): string => {
    const v = j[field];
    if (typeof v !== 'string' || v === '') throw bad(field);
    return v;
  };
  const expiresIn = j.expires_in;
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) throw bad('expires_in');
  const interval = j.interval;
  if (interval !== undefined && (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 0)) throw bad('interval');
  // Shown to the person and opened in a browser: only http(s).
  const verificationUri = checkUrl(str('verification_uri'), 'verification_uri', true).href;
  const complete = j.verification_uri_complete === undefined ? undefined : checkUrl(j.verification_uri_complete, 'verification_uri_complete', true).href;
  return {
    device_code: str('device_code'),
    user_code: str('user_code'),
    verification_uri: verificationUri,
    verification_uri_complete: complete,
    expires_in: expiresIn,
    // A zero interval would be a busy loop; RFC 8628 §3.2 gives 5 s when it is missing.
    interval: interval === undefined || interval === 0 ? DEFAULT_INTERVAL_SECONDS : interval,
    expiresAt: clock.now() + expiresIn * 1000,
  };
}

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
export async function pollForToken(opts: PollOptions): Promise<TokenResponse> {
  const clock = opts.clock ?? realClock;
  const sleep = opts.sleep ?? realSleep;
  const { authorization, metadata } = opts;
  const maxTransient = opts.maxTransientFailures ?? DEFAULT_MAX_TRANSIENT_FAILURES;
  let interval = authorization.interval;
  let wait = interval;
  let transient = 0;
  for (let attempt = 1; ; attempt++) {
    const remaining = authorization.expiresAt - clock.now();
    if (remaining > 0) {
      try {
        await sleep(Math.min(wait * 1000, remaining), opts.signal);
      } catch (err) {
        if (opts.signal?.aborted === true) throw aborted();
        throw err;
      }
    }
    if (opts.signal?.aborted === true) throw aborted();
    if (clock.now() >= authorization.expiresAt) {
      throw new DeviceLoginError('expired_token', `the code expired before it was approved (after ${authorization.expires_in} s)`);
    }
    let answer: Answer;
    try {
      answer = await postForm(metadata.token_endpoint, { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: authorization.device_code }, opts, metadata, opts);
    } catch (err) {
      if (!(err instanceof DeviceLoginError && err.code === 'network' && ++transient <= maxTransient)) throw err;
      wait = interval;
      await opts.onPoll?.({ attempt, outcome: 'retry', interval });
      continue;
    }
    if (answer.status === 200) return tokenFrom(answer);
    const error = answer.json?.error;
    let outcome: PollEvent['outcome'];
    if (error === 'authorization_pending') {
      outcome = 'authorization_pending';
      wait = interval;
      transient = 0;
    } else if (error === 'slow_down') {
      interval += SLOW_DOWN_SECONDS;
      outcome = 'slow_down';
      wait = interval;
      transient = 0;
    } else if ((answer.status >= 500 || answer.status === 429 || error === 'temporarily_unavailable') && ++transient <= maxTransient) {
      outcome = 'retry';
      wait = Math.max(interval, answer.retryAfter ?? 0);
    } else {
      throw oauthFailure(answer, 'the token request');
    }
    await opts.onPoll?.({ attempt, outcome, interval });
  }
}

function tokenFrom(answer: Answer): TokenResponse {
  const j = answer.json ?? {};
  if (typeof j.access_token !== 'string' || j.access_token === '' || typeof j.token_type !== 'string') {
    throw new DeviceLoginError('invalid_response', 'the token response has no access_token or token_type');
  }
  // RFC 6749 Appendix A.12: printable ASCII only. Callers print the token as it is; it must not carry escape codes.
  if (!/^[\x20-\x7e]+$/.test(j.access_token)) throw new DeviceLoginError('invalid_response', 'the access_token has characters RFC 6749 does not allow');
  const token: TokenResponse = { access_token: j.access_token, token_type: j.token_type };
  if (typeof j.expires_in === 'number' && Number.isFinite(j.expires_in)) token.expires_in = j.expires_in;
  if (typeof j.scope === 'string') token.scope = j.scope;
  if (typeof j.refresh_token === 'string') token.refresh_token = j.refresh_token;
  if (typeof j.id_token === 'string') token.id_token = j.id_token;
  return token;
}

// --- all of it -------------------------------------------------------------------------------

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
export async function deviceLogin(opts: DeviceLoginOptions): Promise<DeviceLoginResult> {
  const clock = opts.clock ?? realClock;
  const metadata = opts.metadata ?? (await discover(opts.issuer, opts));
  const authorization = await startDeviceAuthorization({ ...opts, metadata, clock });
  await opts.onCode?.({
    user_code: authorization.user_code,
    verification_uri: authorization.verification_uri,
    verification_uri_complete: authorization.verification_uri_complete,
    expires_in: authorization.expires_in,
    interval: authorization.interval,
  });
  const token = await pollForToken({ ...opts, metadata, authorization, clock });
  return { token, metadata, obtainedAt: clock.now() };
}

// --- refresh ---------------------------------------------------------------------------------

export const REFRESH_TOKEN_GRANT_TYPE = 'refresh_token';

interface RefreshTokenCommon extends ClientCredentials, TransportOptions {
  /** The refresh token from the last token response. */
  refreshToken: string;
  /** Space-separated; may only narrow what was granted (RFC 6749 §6). The grant's scope when omitted. */
  scope?: string;
  clock?: Clock;
}

/** Either the issuer (its metadata is discovered) or the metadata itself (no discovery). */
export type RefreshTokenOptions = RefreshTokenCommon & (
  | { issuer: string; metadata?: AuthorizationServerMetadata }
  | { metadata: AuthorizationServerMetadata; issuer?: string }
);

/** The new token and where it came from; `token.refresh_token` is always set (the one to keep). */
export type RefreshTokenResult = DeviceLoginResult;

const REFRESH_ERROR_TEXT: Partial<Record<DeviceLoginErrorCode, string>> = {
  invalid_grant: 'the refresh token is no longer valid: it expired, was revoked or was already used',
  invalid_scope: 'the server refused the requested scope (a refresh may only narrow the scope that was granted)',
  unauthorized_client: 'this client may not use refresh tokens',
};

/**
 * RFC 6749 §6: trades a refresh token for a new access token. A server that rotates refresh tokens
 * (this one always does for public clients) sends a new one and the presented one is dead from then
 * on: keep `token.refresh_token` in its place. When the answer carries none, the presented token
 * stays valid and is returned there. A dead, revoked, reused or expired token is `invalid_grant`.
 *
 * Never retried: with rotation, a request the server handled but whose answer was lost would,
 * repeated, present a rotated-out token, which counts as reuse and revokes the whole grant.
 */
export async function refreshToken(opts: RefreshTokenOptions): Promise<RefreshTokenResult> {
  const clock = opts.clock ?? realClock;
  // JavaScript callers pass whatever their token file held.
  if (typeof (opts.refreshToken as unknown) !== 'string' || opts.refreshToken === '') throw new DeviceLoginError('invalid_request', 'there is no refresh token to present');
  const metadata = opts.metadata ?? (await discover(opts.issuer ?? '', opts));
  const params: Record<string, string> = { grant_type: REFRESH_TOKEN_GRANT_TYPE, refresh_token: opts.refreshToken };
  if (opts.scope !== undefined && opts.scope.trim() !== '') params.scope = opts.scope;
  const answer = await postForm(metadata.token_endpoint, params, opts, metadata, opts);
  if (answer.status !== 200) throw oauthFailure(answer, 'the refresh', REFRESH_ERROR_TEXT);
  const token = tokenFrom(answer);
  token.refresh_token ??= opts.refreshToken;
  return { token, metadata, obtainedAt: clock.now() };
}

// The OAuth 2.0 device authorization grant (RFC 8628) for command-line programs: the device
// authorization request, polling that keeps to the server's pace, the token response (its ID
// token validated, OpenID Connect Core §3.1.3.7), and deviceLogin, which runs discovery and both
// steps in order.
import { discover, type AuthorizationServerMetadata } from './discovery.ts';
import { DeviceLoginError } from './errors.ts';
import { validateIdToken, type IdTokenClaims, type ValidateIdTokenOptions } from './id-token.ts';
import {
  aborted, checkUrl, oauthFailure, postForm, realClock, realSleep,
  type Answer, type ClientCredentials, type Clock, type Sleep, type TransportOptions,
} from './transport.ts';

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8628 §3.2: the interval when the server names none. */
export const DEFAULT_INTERVAL_SECONDS = 5;
/** RFC 8628 §3.5: what every slow_down adds to the interval, for the rest of the login. */
export const SLOW_DOWN_SECONDS = 5;
const DEFAULT_MAX_TRANSIENT_FAILURES = 3;
const LOST_ANSWER = 'the answer to a poll was lost (the connection failed), and the server will not take the code again; start the login again';

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
 * (`expiresAt`), without a last poll after it. A poll that failed at the network level may still
 * have reached the server: when the next answer is invalid_grant, that poll most likely redeemed
 * the code and its answer (the token) was lost, and the error says so. An ID token in the answer
 * is validated (validateIdToken) before the token is returned: `invalid_id_token` when it fails;
 * deviceLogin also returns its claims.
 */
export async function pollForToken(opts: PollOptions): Promise<TokenResponse> {
  return (await pollForValidatedToken(opts)).token;
}

/** A token answer whose ID token, if it has one, passed validateIdToken. */
interface ValidatedToken {
  token: TokenResponse;
  idTokenClaims: IdTokenClaims | undefined;
  /** Clock time (ms) the answer arrived. */
  obtainedAt: number;
}

async function pollForValidatedToken(opts: PollOptions): Promise<ValidatedToken> {
  const clock = opts.clock ?? realClock;
  const token = await pollUntilDecided(opts);
  const obtainedAt = clock.now();
  return { token, obtainedAt, idTokenClaims: await idTokenClaimsOf(token, { ...opts, clock }) };
}

/** The validated claims of the token's ID token; undefined when it has none (no openid scope, or an OAuth-only server). */
export async function idTokenClaimsOf(token: TokenResponse, opts: ValidateIdTokenOptions): Promise<IdTokenClaims | undefined> {
  return token.id_token === undefined ? undefined : validateIdToken(token.id_token, opts);
}

async function pollUntilDecided(opts: PollOptions): Promise<TokenResponse> {
  const clock = opts.clock ?? realClock;
  const sleep = opts.sleep ?? realSleep;
  const { authorization, metadata } = opts;
  const maxTransient = opts.maxTransientFailures ?? DEFAULT_MAX_TRANSIENT_FAILURES;
  let interval = authorization.interval;
  let wait = interval;
  let transient = 0;
  // Since the last answer about a pending code, a poll failed without an answer: it may have been the one that redeemed the code.
  let answerLost = false;
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
      answerLost = true;
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
      answerLost = false;
    } else if (error === 'slow_down') {
      interval += SLOW_DOWN_SECONDS;
      outcome = 'slow_down';
      wait = interval;
      transient = 0;
      answerLost = false;
    } else if ((answer.status >= 500 || answer.status === 429 || error === 'temporarily_unavailable') && ++transient <= maxTransient) {
      outcome = 'retry';
      wait = Math.max(interval, answer.retryAfter ?? 0);
    } else {
      // The server redeems a code once: after a lost answer, its "already used" reads as if someone else had used the code.
      throw oauthFailure(answer, 'the token request', answerLost ? { invalid_grant: LOST_ANSWER } : {});
    }
    await opts.onPoll?.({ attempt, outcome, interval });
  }
}

/** A 200 token answer (RFC 6749 §5.1) as a TokenResponse; refused when it lacks what a token needs. */
export function tokenFrom(answer: Answer): TokenResponse {
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
  const { token, obtainedAt, idTokenClaims } = await pollForValidatedToken({ ...opts, metadata, authorization, clock });
  return idTokenClaims === undefined ? { token, metadata, obtainedAt } : { token, metadata, obtainedAt, idTokenClaims };
}

// Identity providers (README "Command line"): the upstream OpenID Providers the people of an
// environment may sign in with on the verification page, this server being their relying party
// (OpenID Connect Core §3.1). What a provider's settings must be, and the one look at its discovery
// document (OpenID Connect Discovery 1.0 §4) that `idp add` makes before storing it, so a typo in
// the issuer is found by the operator, not by the first person who presses the button.
import type { IdentityProvider } from '../model/records.ts';
import { CoreError } from './errors.ts';
import { isValidScopeToken, parseScopeList } from './scopes.ts';

/** A provider's name: it goes into the redirect URI and /device?idp=<name>, so it is a URL-safe slug. */
export const IDP_NAME = /^[a-z0-9-]{1,40}$/;
export const DEFAULT_IDP_SCOPE = 'openid email profile';
/** The standard claims of OpenID Connect Core §5.1 that fill our username, email and name. */
export const DEFAULT_IDP_CLAIMS: Readonly<IdentityProvider['claims']> = { username: 'preferred_username', email: 'email', name: 'name' };
export const DISCOVERY_TIMEOUT_MS = 10_000;

const DISPLAY_NAME_MAX = 100;
const CLIENT_ID_MAX = 255;
const CLIENT_SECRET_MAX = 1024;
/** A claim name: printable ASCII without spaces (collision-resistant names are URIs, OpenID Connect Core §5.1.2). */
const CLAIM_NAME = /^[\x21-\x7e]{1,200}$/;
const CONTROL = /\p{Cc}/u;
/** 1-100 code points (the `u` flag counts a character outside the BMP once). */
const DISPLAY_NAME_LENGTH = new RegExp(`^.{1,${DISPLAY_NAME_MAX}}$`, 'su');
/** Plain http only to this machine: localhost, 127.0.0.0/8, ::1 (as a URL's hostname spells them). */
const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** Plain http is allowed to this machine only (a provider run for development, or a test's). */
export function isLoopback(url: URL): boolean {
  return LOOPBACK_HOST.test(url.hostname);
}

export function checkIdpName(name: string): string {
  if (!IDP_NAME.test(name)) {
    throw new CoreError('invalid_request', `identity provider name: 1-40 lowercase letters, digits or dashes (it goes into the redirect URI), got "${printable(name)}"`,
      { target: 'name' });
  }
  return name;
}

/**
 * An issuer as OpenID Connect Discovery 1.0 §3 has it: an https URL with no query or fragment,
 * here also without credentials; plain http only on loopback (a provider run for development or a
 * test). Returned as given: the discovery document must name exactly this string.
 */
export function checkIssuer(issuer: string): string {
  if (!URL.canParse(issuer)) throw new CoreError('invalid_request', `issuer: "${printable(issuer)}" is not a URL`, { target: 'issuer' });
  const url = new URL(issuer);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CoreError('invalid_request', `issuer must be an https URL, got ${printable(url.protocol)}`, { target: 'issuer' });
  }
  if (url.protocol === 'http:' && !isLoopback(url)) {
    throw new CoreError('invalid_request', `issuer ${printable(url.origin)} is plain http to another machine; use https (http only on loopback: localhost, 127.0.0.0/8, ::1)`,
      { target: 'issuer' });
  }
  if (url.username !== '' || url.password !== '') throw new CoreError('invalid_request', 'issuer must not contain credentials', { target: 'issuer' });
  if (url.search !== '' || url.hash !== '' || issuer.includes('?') || issuer.includes('#')) {
    throw new CoreError('invalid_request', 'issuer must have no query or fragment (OpenID Connect Discovery 1.0 §3)', { target: 'issuer' });
  }
  return issuer;
}

/** A label people read on the page: trimmed, 1-100 characters, no control characters. */
export function checkDisplayName(input: string): string {
  const label = input.trim();
  if (CONTROL.test(label) || !DISPLAY_NAME_LENGTH.test(label)) {
    throw new CoreError('invalid_request', `display name: 1-${DISPLAY_NAME_MAX} characters without control characters`, { target: 'display_name' });
  }
  return label;
}

export function checkClientId(input: string): string {
  const id = input.trim();
  if (CONTROL.test(id) || id.length === 0 || id.length > CLIENT_ID_MAX) {
    throw new CoreError('invalid_request', `client id: 1-${CLIENT_ID_MAX} characters without control characters`, { target: 'client_id' });
  }
  return id;
}

/** The upstream client secret as read (a file, trimmed); never echoed in a message. */
export function checkClientSecret(secret: string): string {
  if (secret.length === 0 || secret.length > CLIENT_SECRET_MAX || CONTROL.test(secret)) {
    throw new CoreError('invalid_request', `client secret: 1-${CLIENT_SECRET_MAX} characters without control characters`, { target: 'client_secret' });
  }
  return secret;
}

/** The scopes asked of the upstream: well-formed, and openid among them (OpenID Connect Core §3.1.2.1). */
export function checkIdpScope(input: string): string {
  const scopes = parseScopeList(input.trim());
  const bad = scopes.find((s) => !isValidScopeToken(s));
  if (bad !== undefined) throw new CoreError('invalid_scope', `scope: "${printable(bad)}" is not a scope (RFC 6749 §3.3)`, { target: 'scope' });
  if (!scopes.includes('openid')) throw new CoreError('invalid_scope', 'scope must include openid (OpenID Connect Core §3.1.2.1)', { target: 'scope' });
  return scopes.join(' ');
}

/** The claims that fill a user's attributes: the defaults for those not given. */
export function checkClaims(input: Partial<IdentityProvider['claims']> = {}): IdentityProvider['claims'] {
  const claims = { ...DEFAULT_IDP_CLAIMS, ...input };
  for (const [attribute, claim] of Object.entries(claims)) {
    if (!CLAIM_NAME.test(claim)) {
      throw new CoreError('invalid_request', `claims: ${attribute}=${printable(claim)}: a claim name is 1-200 printable characters without spaces`, { target: 'claims' });
    }
  }
  return claims;
}

/** What `idp add` needs of a provider's discovery document (OpenID Connect Discovery 1.0 §3). */
export interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

export interface DiscoveryOptions {
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Fetches `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4.1) and checks
 * it: JSON whose `issuer` is exactly the issuer asked for (§4.3, against a document that names
 * another provider) with the endpoints the relying party uses. Any failure is invalid_request
 * saying what was wrong. Redirects are not followed: the document lives at the issuer's own URL.
 */
export async function discoverProvider(issuer: string, opts: DiscoveryOptions = {}): Promise<ProviderMetadata> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const timeoutMs = opts.timeoutMs ?? DISCOVERY_TIMEOUT_MS;
  const refuse = (why: string): CoreError => new CoreError('invalid_request', `the discovery document ${url} ${why}`, { target: 'issuer' });
  let status: number;
  let text: string;
  try {
    const res = await (opts.fetch ?? fetch)(url, { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    status = res.status;
    text = await res.text();
  } catch (err) {
    throw new CoreError('invalid_request', `cannot fetch the discovery document ${url} (${networkReason(err, timeoutMs)})`, { target: 'issuer' });
  }
  if (status !== 200) throw refuse(`answered HTTP ${status}${status >= 300 && status < 400 ? ' (a redirect: give the issuer as the provider names it)' : ''}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw refuse('is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw refuse('is not a JSON object');
  const fields = doc as Record<string, unknown>;
  if (fields.issuer !== issuer) {
    const named = typeof fields.issuer === 'string' ? `"${printable(fields.issuer)}"` : 'no issuer';
    throw refuse(`names ${named}, not "${issuer}" (OpenID Connect Discovery 1.0 §4.3: they must be identical)`);
  }
  for (const name of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
    const value = fields[name];
    if (typeof value !== 'string' || !URL.canParse(value)) throw refuse(`has no ${name}`);
    const endpoint = new URL(value);
    if (endpoint.protocol !== 'https:' && !(endpoint.protocol === 'http:' && isLoopback(endpoint))) {
      throw refuse(`has a ${name} that is not https: ${printable(endpoint.origin)}`);
    }
  }
  return { issuer, authorization_endpoint: String(fields.authorization_endpoint), token_endpoint: String(fields.token_endpoint), jwks_uri: String(fields.jwks_uri) };
}

/** ECONNREFUSED, a timeout, a DNS failure: the gist of why fetch failed, without its stack. */
function networkReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = err instanceof Error ? err.cause : undefined;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? cause.code : undefined;
  if (typeof code === 'string') return code;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** At most 200 characters of text from outside, with control characters shown as '?'. */
export function printable(text: string): string {
  return text.slice(0, 200).replace(/\p{Cc}/gu, '?');
}
